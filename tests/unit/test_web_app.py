"""`neta serve`'s app in-process (``app.test_client()``) over a small results/ folder built here.

The folder holds the real artifact formats, tiny: the bokete crawl of tests/caption_fixtures.py (three
photos, one boke holding markup), its caption table made by the real preparation stage, a Show-and-Tell
checkpoint with RANDOM weights on the real backbone's vector size, synthetic ETL8G characters converted
as the workflow does with an untrained small CNN, and the pizza data of tests/pizza_fixtures.py with four
untrained generators (the DCGAN unconditioned). Random weights are enough: these tests check the app's
plumbing, limits and errors, not what the models say.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caption_fixtures import write_bokete  # noqa: E402
from picture_fixtures import blank_png  # noqa: E402
from pizza_fixtures import PIZZAS, write_pizza_data  # noqa: E402

from neta.atomic import file_sha256  # noqa: E402
from neta.boke.checkpoint import save_captioner  # noqa: E402
from neta.boke.config import SplitSettings  # noqa: E402
from neta.boke.dataset import FEATURE_ATTRS  # noqa: E402
from neta.boke.model import ShowAndTell  # noqa: E402
from neta.boke.prepare import prepare_captions  # noqa: E402
from neta.boke.table import read_captions  # noqa: E402
from neta.boke.vocab import Vocabulary  # noqa: E402
from neta.cli import main  # noqa: E402
from neta.features.backbones import build_extractor  # noqa: E402
from neta.fonts import ipaexgothic_path  # noqa: E402
from neta.h5io import write_h5  # noqa: E402
from neta.hiragana.checkpoint import save_checkpoint  # noqa: E402
from neta.hiragana.etl.convert import convert_etl  # noqa: E402
from neta.hiragana.etl.synth import synth_etl  # noqa: E402
from neta.hiragana.model import BatchNormCNN, HiraganaCNN, SoftmaxRegression  # noqa: E402
from neta.hiragana.predict import predict_images  # noqa: E402
from neta.images import ImageLimits  # noqa: E402
from neta.layout import Layout  # noqa: E402
from neta.pizza.checkpoint import save_pizza_model  # noqa: E402
from neta.pizza.models import build_pizza_model  # noqa: E402
from neta.ratings.store import SOURCES, RatingStore  # noqa: E402
from neta.web.app import create_app  # noqa: E402

HOSTILE = "<script>alert(1)</script>"
PAGES = ("/data", "/boke", "/hiragana", "/pizza", "/rate", "/rate/results")
WEB = Path(__file__).resolve().parents[2] / "src" / "neta" / "web"
TRACEBACK = re.compile(r"Traceback|File \"|line \d+, in ")


# --- a small results/ folder ----------------------------------------------------------------------------------


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _bokete(results: Path) -> None:
    folder = results / "bokete"
    files = write_bokete(folder)
    with open(files["bokes_csv"], encoding="utf-8", newline="") as handle:
        first = next(csv.DictReader(handle))
    with open(files["bokes_csv"], "a", encoding="utf-8", newline="") as handle:  # a scraped boke holding markup
        csv.DictWriter(handle, fieldnames=list(first)).writerow(
            {**first, "boke_id": 999, "text": HOSTILE, "stars": 7, "source_url": "http://snapshot.bokete.test/boke/999"})
    prepare_captions("bokete", folder / "captions.csv", bokes_csv=files["bokes_csv"],
                     bokete_manifest=files["bokete_manifest"], language="ja",
                     split=SplitSettings(val_fraction=0.34, test_fraction=0.34), seed=0, max_images=0,
                     max_missing_ratio=0.5)
    table = read_captions(folder / "captions.csv")
    vocab = Vocabulary.build((tokens.split() for tokens in table["tokens"]), min_count=1)
    vocab.save(folder / "vocab.json")
    _, _, info = build_extractor("mobilenet_v2", "pooled", weights_file=None)
    attrs = info.attrs()
    photos = list(dict.fromkeys(table["image_id"]))
    rng = np.random.default_rng(0)
    write_h5(folder / "features.h5", {"features": rng.random((len(photos), info.dim), dtype=np.float32),
                                      "image_ids": np.array(photos, dtype=str)}, stage="test", attrs=attrs)
    torch.manual_seed(0)
    model = ShowAndTell(feature_dim=info.dim, vocab_size=len(vocab), embed_size=16, hidden_size=32, layers=1,
                        dropout=0.0, image_input="t0", pad_id=vocab.pad_id).eval()
    save_captioner(folder / "captioner.pt", model, model_config={}, vocab=vocab.to_json(),
                   features={key: attrs[key] for key in FEATURE_ATTRS},
                   settings={"language": "ja", "max_len": 30}, history=[])


def _hiragana(results: Path, scratch: Path) -> list[str]:
    folder = results / "hiragana"
    folder.mkdir(parents=True)
    synth_etl(scratch / "ETL8G", fmt="ETL8G", writers=2, seed=3, writers_per_file=2)
    convert_etl(scratch / "ETL8G", "ETL8G", folder / "etl_28.h5", size=28, classes=71, test_fraction=0.5, seed=0,
                normalise="ink_box")
    import h5py

    with h5py.File(folder / "etl_28.h5", "r") as h5:
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in h5["classes"][:]]
    torch.manual_seed(0)
    cnn = HiraganaCNN(n_classes=len(classes), size=28, init_std=0.1, bias_init=0.1, conv1=4, conv2=8, hidden=16)
    baseline = SoftmaxRegression(n_inputs=28 * 28, n_classes=len(classes))
    save_checkpoint(folder / "model.pt", network="cnn", cnn=cnn, baseline=baseline, classes=classes, size=28,
                    normalise="ink_box", params={}, history={}, baseline_history={}, train={})
    # the recognizer the app uses by default (hiragana.model: bn_cnn)
    bn_cnn = BatchNormCNN(n_classes=len(classes), size=28, stride=1, widths=[4, 4, 8], pool=2, dropout=0.2)
    save_checkpoint(folder / "bn_cnn.pt", network="bn_cnn", cnn=bn_cnn, baseline=None, classes=classes, size=28,
                    normalise="ink_box", params={}, history={}, baseline_history=None, train={})
    return classes


def _pizza(results: Path) -> None:
    folder = results / "pizza"
    data = write_pizza_data(folder, size=32, angles=4)
    recipes = data["recipes"]
    _write_csv(folder / "menu.csv", ["pizza_id", "name", "ingredients", "image_url", "price", "custom", "city",
                                     "layout", "source_url"],
               [[pid, name, ", ".join(names), f"http://snapshot.dodo.test/{pid}.jpg", 400, "False", "Kaliningrad",
                 "dodo2017", f"http://snapshot.dodo.test/{pid}"] for pid, name, names in PIZZAS])
    _write_csv(folder / "images" / "manifest.csv", ["url", "sha256", "path", "bytes", "width", "height", "status",
                                                    "error"],
               [[f"http://snapshot.dodo.test/{pid}.jpg", "ab" * 32, "x.jpg", 1000, 710, 380, "ok", ""]
                for pid, _, _ in PIZZAS])
    slots, classes = recipes["slots"], len(recipes["vocabulary"])
    for kind, conditioned in (("cvae_a", True), ("cvae_b", True), ("cvae_original", True), ("gan", False),
                              ("cvae_gan", True)):
        torch.manual_seed(0)
        model = build_pizza_model(kind, image_size=32, slots=slots, classes=classes, latent=8, dense=32, z_dim=8,
                                  conditioned=conditioned, adversarial_weight=0.01, width=4, embedding=4,
                                  pixel_sigma=0.1, discriminator_width=4).eval()
        save_pizza_model(folder / f"{kind}.pt", model, kind=kind, arch=dict(model.arch),
                         vocabulary=recipes["vocabulary"], slots=slots, history=[], settings={})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A results/ folder with every artifact the app reads."""
    root = tmp_path_factory.mktemp("served")
    results = root / "results"
    _bokete(results)
    classes = _hiragana(results, root / "scratch")
    _pizza(results)
    table = read_captions(results / "bokete" / "captions.csv")
    return {"results": results, "classes": classes, "table": table,
            "photos": list(dict.fromkeys(table["image_id"])),
            "hostile_photo": table.loc[table["caption"] == HOSTILE, "image_id"].iloc[0]}


@pytest.fixture(scope="module")
def client(built):
    return create_app(built["results"], preload=False).test_client()


def drawing(char: str = "く", *, size: int = 280) -> bytes:
    """A PNG of a hiragana drawn black on white with Pillow, as the canvas exports it."""
    image = Image.new("RGB", (size, size), "white")
    font = ImageFont.truetype(str(ipaexgothic_path()), int(size * 0.7))
    ImageDraw.Draw(image).text((size * 0.15, size * 0.1), char, font=font, fill="black", stroke_width=3,
                               stroke_fill="black")
    return png_bytes(image)


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def upload(data: bytes, name: str, content_type: str | None = None):
    return (io.BytesIO(data), name, content_type) if content_type else (io.BytesIO(data), name)


def assert_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, (response.status_code, response.data[:300])
    body = response.get_json()
    assert isinstance(body, dict) and body["error"], response.data
    for word in words:
        assert word in body["error"], body
    assert not TRACEBACK.search(response.get_data(as_text=True))
    return body


# --- pages ----------------------------------------------------------------------------------------------------


def test_every_page_renders_with_built_artifacts(client, built):
    assert client.get("/").status_code == 302 and client.get("/").headers["Location"].endswith("/data")
    for url in PAGES:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "missing-stage" not in html, url
        for nav in ("nav-data", "nav-boke", "nav-hiragana", "nav-pizza", "nav-rate", "nav-results"):
            assert f'id="{nav}"' in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "no external resource"
        assert "Content-Security-Policy" in response.headers
    data = client.get("/data").get_data(as_text=True)
    for section in ("data-bokete", "data-pizza", "data-hiragana"):
        assert f'id="{section}"' in data
    assert "<svg" in data and "<table" in data and "пепперони" in data
    boke = client.get("/boke").get_data(as_text=True)
    assert sorted(re.findall(r'<option value="([0-9a-f]{64})"', boke)) == sorted(built["photos"])
    assert "<optgroup" in boke and 'id="photo-preview"' in boke
    pizza = client.get("/pizza").get_data(as_text=True)
    ticks = re.findall(r'<input type="checkbox" name="ingredient" value="([^"]+)"', pizza)
    assert ticks == json.loads((built["results"] / "pizza" / "recipes.json").read_text())["vocabulary"][1:]
    assert 'id="pad"' in client.get("/hiragana").get_data(as_text=True)


def test_an_empty_results_folder_shows_the_commands_that_build_each_stage(tmp_path):
    client = create_app(tmp_path / "results", preload=False).test_client()
    for url, target in (("/boke", "results/bokete/captioner.pt"), ("/hiragana", "results/hiragana/bn_cnn.pt"),
                        ("/pizza", "results/pizza/recipes.json"), ("/data", "results/hiragana/etl_28.h5")):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert 'class="missing-stage"' in html
        assert re.search(r"<code>snakemake --cores 2 [^<]*" + re.escape(target), html), (url, html)
    data = client.get("/data").get_data(as_text=True)
    assert data.count('class="missing-stage"') == 5  # each figure block says what builds it
    for url, form in (("/api/boke/generate", {"image_id": "ab" * 32}), ("/api/boke/score", {"text": "x"}),
                      ("/api/hiragana/predict", {}), ("/api/pizza/generate", {"ingredient": "x"})):
        body = assert_error(client.post(url, data=form), 503, "not built")
        assert body["command"].startswith("snakemake --cores 2 results/")
    assert_error(client.get("/photos/" + "ab" * 32), 404)


def test_the_app_looks_for_the_caption_generator_where_the_configured_dataset_puts_it(tmp_path):
    # with captioner.dataset coco the workflow writes results/captions/coco/captioner.pt (neta.layout)
    client = create_app(tmp_path / "results", settings={"captioner": {"dataset": "coco"}},
                        preload=False).test_client()
    html = client.get("/boke").get_data(as_text=True)
    assert "results/captions/coco/captioner.pt" in html and "results/bokete/captioner.pt" not in html
    body = assert_error(client.post("/api/boke/score", data={"text": "x"}), 503, "not built")
    assert "results/captions/coco/captioner.pt" in body["command"]
    assert Layout.of({"captioner": {"dataset": "coco"}, "hiragana": {"model": "cnn"}}).captioner == \
        "results/captions/coco/captioner.pt"


def test_templates_and_scripts_never_insert_text_as_markup():
    for template in (WEB / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template
    for script in (WEB / "static").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (script, sink)
    python = "".join(path.read_text(encoding="utf-8") for path in WEB.glob("*.py"))
    assert "Markup" not in python and "render_template_string" not in python


# --- Boke -----------------------------------------------------------------------------------------------------


def test_generate_returns_the_top_five_bokes_and_the_real_ones(client, built):
    photo = built["hostile_photo"]
    body = client.post("/api/boke/generate", data={"image_id": photo}).get_json()
    assert len(body["bokes"]) == 5
    for boke in body["bokes"]:
        assert isinstance(boke["text"], str) and boke["score"] <= 0 and boke["logprob"] <= boke["score"]
    # complete bokes first, each group ranked by log-probability a token (length_norm, the schema's default)
    complete = [b["complete"] for b in body["bokes"]]
    assert complete == sorted(complete, reverse=True)
    for group in (True, False):
        scores = [b["score"] for b in body["bokes"] if b["complete"] is group]
        assert scores == sorted(scores, reverse=True)
    training = {tuple(tokens.split()) for tokens in built["table"].query("split == 'train'")["tokens"]}
    assert [b["copied"] for b in body["bokes"]] == [tuple(b["tokens"]) in training for b in body["bokes"]]
    table = built["table"]
    rows = table[(table["image_id"] == photo) & (table["caption"] != "")].sort_values("stars", ascending=False,
                                                                                          kind="stable")
    assert [r["text"] for r in body["real"]] == list(rows["caption"])
    assert HOSTILE in [r["text"] for r in body["real"]]  # data in JSON; the page inserts it as text
    assert HOSTILE not in client.get("/boke").get_data(as_text=True)


def test_generate_again_draws_bokes_reproducibly_by_seed(client, built):
    photo = built["hostile_photo"]
    first = client.post("/api/boke/sample", data={"image_id": photo, "seed": "3"}).get_json()
    again = client.post("/api/boke/sample", data={"image_id": photo, "seed": "3"}).get_json()
    assert first == again and first["seed"] == 3 and 1 <= len(first["bokes"]) <= 5
    assert len({tuple(b["tokens"]) for b in first["bokes"]}) == len(first["bokes"])  # distinct draws
    for boke in first["bokes"]:
        assert isinstance(boke["text"], str) and boke["logprob"] <= 0 and isinstance(boke["copied"], bool)
    assert_error(client.post("/api/boke/sample", data={"image_id": photo, "seed": "x"}), 400, "seed")
    page = client.get("/boke").get_data(as_text=True)
    assert 'id="generate-again"' in page


def test_an_uploaded_photo_goes_through_the_backbone(client, built):
    photo = built["results"] / "bokete" / "images" / f"{built['photos'][0]}.jpg"
    response = client.post("/api/boke/generate", data={"photo": upload(photo.read_bytes(), "mine.jpg")})
    body = response.get_json()
    assert response.status_code == 200 and len(body["bokes"]) == 5 and body["real"] == [] and body["image_id"] is None


def test_an_own_boke_with_markup_comes_back_as_data(client, built):
    response = client.post("/api/boke/score", data={"image_id": built["photos"][1], "text": HOSTILE})
    body = response.get_json()
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert body["text"] == HOSTILE
    assert body["score"] <= 0 and len(body["tokens"]) >= 1
    assert body["logprob"] == pytest.approx(body["score"] * (len(body["tokens"]) + 1), abs=1e-3)
    unknown = client.post("/api/boke/score", data={"image_id": built["photos"][1], "text": "qwertyの"}).get_json()
    assert unknown["tokens"][0] == "<unk>" and unknown["unknown"] == ["qwerty"]


def test_photos_are_served_by_id_only(client, built):
    photo = built["photos"][0]
    response = client.get(f"/photos/{photo}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data == (built["results"] / "bokete" / "images" / f"{photo}.jpg").read_bytes()
    for bad in ("0" * 64, photo.upper(), photo[:-1], "..%2F..%2Fcaptions.csv", "../../etc/passwd",
                "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "manifest.csv"):
        assert client.get(f"/photos/{bad}").status_code == 404, bad
    for bad in ("0" * 64, "../images/manifest.csv", "/etc/passwd", photo + "/.."):
        assert_error(client.post("/api/boke/generate", data={"image_id": bad}), 404, "unknown photo")
        assert_error(client.post("/api/boke/score", data={"image_id": bad, "text": "猫"}), 404)


# --- Rate ------------------------------------------------------------------------------------------------------


@pytest.fixture
def rating(built, tmp_path):
    """An app over a copy of the caption generator's files, with a ratings database of its own."""
    results = tmp_path / "results"
    shutil.copytree(built["results"] / "bokete", results / "bokete")
    return {"app": create_app(results, preload=False), "results": results,
            "test_photos": list(dict.fromkeys(built["table"].query("split == 'test'")["image_id"]))}


def _rater(client) -> str | None:
    cookie = client.get_cookie("neta_rater")
    return cookie.value if cookie else None


def _judge(client, token: str, choice: str):
    return client.post("/api/rate/judge", data={"token": token, "choice": choice})


def test_the_rater_gets_a_random_id_in_a_cookie_once(rating):
    client = rating["app"].test_client()
    page = client.get("/rate")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="pair"' in html and "rate.js" in html
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("neta_rater=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    rater = _rater(client)
    assert re.fullmatch(r"[0-9a-f]{32}", rater)
    assert "Set-Cookie" not in client.get("/rate").headers  # kept, not made again
    assert "Set-Cookie" not in client.get("/api/rate/pair").headers and _rater(client) == rater
    other = rating["app"].test_client()
    other.get("/api/rate/pair")  # a first visit straight to the API gets one too
    assert _rater(other) not in (None, rater)
    forged = rating["app"].test_client()
    forged.set_cookie("neta_rater", "<script>")  # not an id the app made: replaced
    forged.get("/rate")
    assert re.fullmatch(r"[0-9a-f]{32}", _rater(forged))


def test_a_pair_is_a_test_photo_and_two_texts_and_never_says_their_sources(rating):
    client = rating["app"].test_client()
    for _ in range(12):
        response = client.get("/api/rate/pair")
        body = response.get_json()
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        assert set(body) == {"token", "photo", "left", "right"}
        assert body["left"] != body["right"] and body["left"].strip() and body["right"].strip()
        assert body["photo"] in [f"/photos/{photo}" for photo in rating["test_photos"]]
        raw = response.get_data(as_text=True)
        for word in (*SOURCES, "source", "stars", "checkpoint"):
            assert word not in raw, word
    page = client.get("/rate").get_data(as_text=True)
    for word in ("model_top1", "model_sample", "most_frequent"):
        assert word not in page


def test_a_judgement_is_stored_with_both_sources_the_checkpoint_and_the_rater(rating):
    client = rating["app"].test_client()
    pair = client.get("/api/rate/pair").get_json()
    answer = _judge(client, pair["token"], "left")
    assert answer.status_code == 200 and answer.get_json()["ok"] is True and answer.get_json()["counted"] is True
    database = rating["results"] / "ratings.sqlite"
    with RatingStore(database) as store:
        (judgement,) = store.judgements()
    assert (judgement.left.text, judgement.right.text) == (pair["left"], pair["right"])
    assert judgement.left.source in SOURCES and judgement.right.source in SOURCES
    assert judgement.left.source != judgement.right.source
    assert judgement.choice == "left" and judgement.kind == "boke" and judgement.rater == _rater(client)
    assert judgement.photo == pair["photo"].rsplit("/", 1)[1]
    assert judgement.checkpoint == file_sha256(rating["results"] / "bokete" / "captioner.pt")
    assert answer.get_json()["judgement"] == judgement.id
    # JSON works as well as form fields
    second = client.get("/api/rate/pair").get_json()
    assert client.post("/api/rate/judge", json={"token": second["token"], "choice": "neither"}).get_json()["counted"]


def test_a_token_submitted_twice_counts_once_and_a_bad_one_is_refused(rating):
    client = rating["app"].test_client()
    pair = client.get("/api/rate/pair").get_json()
    assert _judge(client, pair["token"], "right").get_json()["counted"] is True
    again = _judge(client, pair["token"], "left")
    assert again.status_code == 200 and again.get_json()["counted"] is False
    with RatingStore(rating["results"] / "ratings.sqlite") as store:
        assert [j.choice for j in store.judgements()] == ["right"]
    assert_error(_judge(client, "x" * 32, "left"), 404, "unknown or expired")
    assert_error(_judge(client, "../../etc/passwd", "left"), 404)
    fresh = client.get("/api/rate/pair").get_json()
    assert_error(_judge(client, fresh["token"], "funnier"), 400, "choice")
    assert_error(client.post("/api/rate/judge", data={"choice": "left"}), 400, "token")
    assert_error(client.post("/api/rate/judge", json=["left"]), 400)
    stranger = rating["app"].test_client()
    assert_error(_judge(stranger, fresh["token"], "left"), 403, "another rater")
    assert _judge(client, fresh["token"], "skip").get_json()["counted"] is True  # still the owner's to judge
    assert_error(client.get("/api/rate/judge"), 405)


def test_results_show_the_counts_and_the_win_rates(rating):
    client = rating["app"].test_client()
    empty = client.get("/rate/results")
    assert empty.status_code == 200 and 'id="no-judgements"' in empty.get_data(as_text=True)
    assert not (rating["results"] / "ratings.sqlite").exists()  # reading makes no database
    for choice in ("left", "right", "neither", "skip"):
        _judge(client, client.get("/api/rate/pair").get_json()["token"], choice)
    other = rating["app"].test_client()
    _judge(other, other.get("/api/rate/pair").get_json()["token"], "left")
    html = client.get("/rate/results").get_data(as_text=True)
    assert re.search(r'id="count-judgements">4<', html) and re.search(r'id="count-skips">1<', html)
    assert re.search(r'id="count-raters">2<', html) and re.search(r'id="count-mine">4<', html)
    assert 'id="win-rates"' in html and 'id="source-rates"' in html and "%" in html
    assert "Krippendorff" in html and 'id="no-judgements"' not in html


def test_rate_without_a_captioner_shows_the_command(tmp_path):
    client = create_app(tmp_path / "results", preload=False).test_client()
    page = client.get("/rate").get_data(as_text=True)
    assert 'class="missing-stage"' in page and "results/bokete/captioner.pt" in page
    body = assert_error(client.get("/api/rate/pair"), 503, "not built")
    assert body["command"].startswith("snakemake --cores 2 results/")
    assert "No judgement yet" in client.get("/rate/results").get_data(as_text=True)


# --- Hiragana and Pizza ---------------------------------------------------------------------------------------


def test_hiragana_predict_returns_five_characters_as_the_command_does(client, built, tmp_path):
    picture = drawing("く")
    response = client.post("/api/hiragana/predict", data={"image": upload(picture, "drawing.png")})
    top = response.get_json()["top5"]
    assert response.status_code == 200 and len(top) == 5
    assert [t["p"] for t in top] == sorted((t["p"] for t in top), reverse=True) and sum(t["p"] for t in top) <= 1
    assert {t["char"] for t in top} <= set(built["classes"])
    path = tmp_path / "drawing.png"
    path.write_bytes(picture)
    limits = ImageLimits(max_pixels=50_000_000, max_side=20_000)
    same = predict_images(built["results"] / "hiragana" / "bn_cnn.pt", [path], top=5, device="cpu",
                          limits=limits)[0]["top5"]
    assert top == same  # one code path: the same preprocessing and model as `neta hiragana predict`
    # hiragana.model: cnn serves the tutorial CNN of model.pt instead
    tutorial = create_app(built["results"], settings={"hiragana": {"model": "cnn"}}, preload=False).test_client()
    by_tutorial = tutorial.post("/api/hiragana/predict", data={"image": upload(picture, "drawing.png")})
    assert by_tutorial.get_json()["top5"] == predict_images(built["results"] / "hiragana" / "model.pt", [path], top=5,
                                                            device="cpu", limits=limits)[0]["top5"] != top
    jpeg = png_bytes(Image.open(io.BytesIO(picture)).convert("RGB"), "JPEG")
    assert client.post("/api/hiragana/predict", data={"image": upload(jpeg, "d.jpg")}).status_code == 200


def test_an_upload_over_the_pixel_limit_is_refused_unread(client, built):
    huge = blank_png(20000, 20000)  # 400 Mpx in a few kilobytes: within the body limit, refused by its header
    started = time.perf_counter()
    for url, field in (("/api/hiragana/predict", "image"), ("/api/boke/generate", "photo")):
        assert_error(client.post(url, data={field: upload(huge, "a.png")}), 413, "the upload: the picture is "
                     "400,000,000 pixels, over the limit of 50,000,000 (images.max_pixels)")
    assert time.perf_counter() - started < 2.0
    small = create_app(built["results"], preload=False, max_pixels=280 * 280 - 1).test_client()
    assert_error(small.post("/api/hiragana/predict", data={"image": upload(drawing(), "a.png")}), 413,
                 "280x280 = 78,400 pixels")


def test_pizza_gives_one_image_from_each_generator(client, built):
    response = client.post("/api/pizza/generate", data={"ingredient": ["пепперони", "моцарелла"]})
    body = response.get_json()
    assert response.status_code == 200
    assert [image["model"] for image in body["images"]] == ["cvae_a", "cvae_b", "cvae_original", "gan", "cvae_gan"]
    assert [image["conditioned"] for image in body["images"]] == [True, True, True, False, True]
    for image in body["images"]:
        prefix = "data:image/png;base64,"
        assert image["png"].startswith(prefix) and image["label"]
        with Image.open(io.BytesIO(base64.b64decode(image["png"][len(prefix):]))) as png:
            assert png.format == "PNG" and png.width > 32
            # the configured number of pizzas, each from its own draw of z: no two tiles alike
            tiles = [np.asarray(png.convert("RGB"))[:, i * png.width // 4:(i + 1) * png.width // 4]
                     for i in range(4)]
            assert all(np.abs(tiles[i].astype(int) - tiles[j]).max() > 0 for i in range(4) for j in range(i))
    assert body["missing"] == []
    again = client.post("/api/pizza/generate", data={"ingredient": ["пепперони", "моцарелла"]}).get_json()
    assert again["images"] == body["images"]  # seeded
    assert_error(client.post("/api/pizza/generate", data={"ingredient": ["трюфель"]}), 400, "unknown ingredient")
    assert_error(client.post("/api/pizza/generate", data={"ingredient": ["бекон"] * 10}), 400, "slots")


# --- limits and errors ----------------------------------------------------------------------------------------


def test_missing_fields_and_bad_uploads_are_4xx_with_a_message(client, built):
    photo = built["photos"][0]
    assert_error(client.post("/api/boke/generate", data={}), 400, "image_id")
    assert_error(client.post("/api/boke/score", data={"image_id": photo}), 400, "text")
    assert_error(client.post("/api/boke/score", data={"image_id": photo, "text": "   "}), 400, "empty")
    assert_error(client.post("/api/boke/score", data={"image_id": photo, "text": "猫" * 301}), 400, "300")
    assert_error(client.post("/api/hiragana/predict", data={}), 400, "image")
    assert_error(client.post("/api/pizza/generate", data={}), 400, "ingredient")
    text = b"just some text, not a picture"
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(text, "a.txt")}), 415)
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(text, "a.png", "image/png")}), 415)
    assert_error(client.post("/api/boke/generate", data={"photo": upload(text, "a.jpg", "image/jpeg")}), 415)
    gif = png_bytes(Image.new("RGB", (50, 50), "white"), "GIF")
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(gif, "a.gif")}), 415, "GIF")
    broken = drawing()[:300]  # a PNG cut short: the header is fine, the pixels are not there
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(broken, "a.png")}), 400, "decode")
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(b"", "a.png")}), 400, "empty")
    blank = png_bytes(Image.new("RGB", (200, 200), "white"))  # a NetaError of the predictor: no ink
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(blank, "a.png")}), 400, "no writing")
    assert_error(client.post("/api/boke/generate", data={"image_id": photo, "photo": upload(gif, "a.gif")}), 400)
    assert_error(client.get("/api/boke/generate"), 405)
    assert_error(client.get("/api/nothing/here"), 404)
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "no such page" in page.get_data(as_text=True)
    assert not TRACEBACK.search(page.get_data(as_text=True))


def test_too_large_uploads_get_413(built):
    client = create_app(built["results"], preload=False, max_upload_mb=0.05, max_side=400).test_client()
    noise = np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8)
    big = png_bytes(Image.fromarray(noise))
    assert len(big) > 0.05 * 2**20
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(big, "a.png")}), 413, "MiB")
    assert_error(client.post("/api/boke/generate", data={"photo": upload(big, "a.png")}), 413)
    wide = png_bytes(Image.new("L", (401, 10), 255))  # small file, more pixels a side than allowed
    assert_error(client.post("/api/hiragana/predict", data={"image": upload(wide, "a.png")}), 413, "max_side")


def test_an_unexpected_error_is_a_500_without_a_traceback(built, monkeypatch):
    from neta.web.app import Server

    def explode(self):
        raise RuntimeError("secret internals /etc/shadow")

    app = create_app(built["results"], preload=False)
    monkeypatch.setattr(Server, "boke_data", explode)
    client = app.test_client()
    body = assert_error(client.post("/api/boke/generate", data={"image_id": built["photos"][0]}), 500)
    assert "secret" not in body["error"]
    page = client.get("/boke")
    assert page.status_code == 500 and "secret" not in page.get_data(as_text=True)


def test_a_broken_artifact_is_503_naming_the_rebuild(built, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(built["results"] / "hiragana", results / "hiragana")
    (results / "hiragana" / "bn_cnn.pt").write_bytes(b"not a checkpoint" * 10)
    client = create_app(results, preload=False).test_client()
    body = assert_error(client.post("/api/hiragana/predict", data={"image": upload(drawing(), "d.png")}), 503)
    assert body["command"] == "snakemake --cores 2 --force results/hiragana/bn_cnn.pt"
    assert str(tmp_path) not in body["error"] and "results/hiragana/bn_cnn.pt" in body["error"]


# --- models load once -----------------------------------------------------------------------------------------


@pytest.fixture
def predictors_made(monkeypatch) -> list:
    """The model paths of every HiraganaPredictor made while the test runs."""
    import neta.hiragana.predict as module

    made = []

    class Counted(module.HiraganaPredictor):
        def __init__(self, *args, **kwargs):
            made.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(module, "HiraganaPredictor", Counted)
    return made


def test_each_model_loads_once_and_again_only_when_its_file_changes(built, tmp_path, predictors_made):
    made = predictors_made
    results = tmp_path / "results"
    shutil.copytree(built["results"] / "hiragana", results / "hiragana")
    client = create_app(results, preload=False).test_client()
    picture = drawing()
    for _ in range(3):
        assert client.post("/api/hiragana/predict", data={"image": upload(picture, "d.png")}).status_code == 200
    assert len(made) == 1
    model = results / "hiragana" / "bn_cnn.pt"
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 10**9))  # the stage reran
    assert client.post("/api/hiragana/predict", data={"image": upload(picture, "d.png")}).status_code == 200
    assert len(made) == 2


def test_preload_loads_every_built_model(built):
    app = create_app(built["results"], preload=True)
    loaded = app.extensions["neta"].registry.loaded()
    for key in ("captioner", "features", "boke data", "hiragana", "recipes", "pizza pizza/cvae_a.pt",
                "pizza pizza/gan.pt"):
        assert key in loaded, loaded


def test_serve_command_options_come_from_the_schema(capsys):
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--results", "--host", "--port", "--beam", "--top", "--max-upload-mb", "--device"):
        assert flag in out
    assert "127.0.0.1" in out and "8000" in out


def test_concurrent_requests_share_one_model(built, tmp_path, predictors_made):
    from concurrent.futures import ThreadPoolExecutor

    made = predictors_made
    app = create_app(built["results"], preload=False)
    pictures = [drawing(char) for char in "くしつのへ"] * 2

    def ask(picture):
        response = app.test_client().post("/api/hiragana/predict", data={"image": upload(picture, "d.png")})
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, pictures))
    assert len(made) == 1 and all(status == 200 for status, _ in answers)
    assert [body for _, body in answers[:5]] == [body for _, body in answers[5:]]


def test_a_generator_not_built_is_named_and_the_others_still_draw(built, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(built["results"] / "pizza", results / "pizza", ignore=shutil.ignore_patterns("cvae_b.pt"))
    client = create_app(results, preload=False).test_client()
    page = client.get("/pizza").get_data(as_text=True)
    assert 'class="missing-model"' in page and "snakemake --cores 2 results/pizza/cvae_b.pt" in page
    assert 'class="missing-stage"' not in page
    body = client.post("/api/pizza/generate", data={"ingredient": ["бекон"]}).get_json()
    assert [image["model"] for image in body["images"]] == ["cvae_a", "cvae_original", "gan", "cvae_gan"]
    assert body["missing"] == [{"model": "cvae_b", "command": "snakemake --cores 2 results/pizza/cvae_b.pt"}]
