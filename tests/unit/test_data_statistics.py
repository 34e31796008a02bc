"""neta.stats.data: the numbers of the Data page and the report's data figures, on small real-format files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neta.boke.table import write_captions
from neta.boke.vocab import Vocabulary
from neta.errors import NetaError
from neta.h5io import write_h5
from neta.pizza.config import RecipeSettings
from neta.pizza.recipes import encode_recipes
from neta.scrape.download import MANIFEST_COLUMNS
from neta.stats.data import (
    bokete_statistics,
    crawl_statistics,
    etl_statistics,
    pizza_statistics,
    star_bins,
)

BOKES_COLUMNS = ["boke_id", "odai_id", "text", "stars", "votes", "image_url", "date", "source_url", "layout"]

NO_ALIASES = RecipeSettings(slots=9, truncate=False, aliases={})


@pytest.fixture
def bokete_files(tmp_path):
    # Photo A: 3 bokes, photo B: 1 boke, photo C: 3 bokes; stars 0..1200.
    rows = [("1", "a", "ねこ が いる", "0"), ("2", "a", "いぬ", "3"), ("3", "a", "ねこ", "12"),
            ("4", "b", "そら", "150"), ("5", "c", "うみ", "1200"), ("6", "c", "やま", "7"), ("7", "c", "かわ", "")]
    bokes = pd.DataFrame(
        [{"boke_id": boke_id, "odai_id": photo, "text": text, "stars": stars, "votes": "1",
          "image_url": f"http://snapshot.bokete.test/photo/{photo}.jpg", "date": "2019-04-14T01:17:00+09:00",
          "source_url": "http://snapshot.bokete.test/boke/hot", "layout": "nextjs"}
         for boke_id, photo, text, stars in rows], columns=BOKES_COLUMNS)
    bokes_csv = tmp_path / "bokes.csv"
    bokes.to_csv(bokes_csv, index=False)
    split = {"a": "train", "b": "val", "c": "test"}
    captions = pd.DataFrame({
        "image_id": [photo * 64 for _, photo, _, _ in rows],
        "caption": [text.replace(" ", "") for _, _, text, _ in rows],
        "tokens": [text for _, _, text, _ in rows],
        "stars": [int(stars or 0) for *_, stars in rows],
        "split": [split[photo] for _, photo, _, _ in rows],
        "path": [f"images/{photo}.jpg" for _, photo, _, _ in rows],
    })
    captions_csv = tmp_path / "captions.csv"
    write_captions(captions_csv, captions)
    vocab_json = tmp_path / "vocab.json"
    Vocabulary.build((t.split() for t in captions["tokens"]), min_count=1).save(vocab_json)
    return bokes_csv, captions_csv, vocab_json


def test_bokete_statistics(bokete_files):
    stats = bokete_statistics(*bokete_files)
    assert stats["bokes"] == 7 and stats["photos"] == 3
    assert stats["bokes_per_photo"] == {"min": 1, "median": 3, "max": 3, "histogram": [[1, 1], [3, 2]]}
    # stars 0 (twice: "" is 0), 3, 7, 12, 150, 1200 in 1-2-5 bins [lo, hi)
    assert stats["stars"]["median"] == 7 and stats["stars"]["max"] == 1200
    assert stats["stars"]["histogram"] == [
        [0, 1, 2], [1, 2, 0], [2, 5, 1], [5, 10, 1], [10, 20, 1], [20, 50, 0], [50, 100, 0], [100, 200, 1],
        [200, 500, 0], [500, 1000, 0], [1000, 2000, 1]]
    # 8 distinct tokens + <pad> <bos> <eos> <unk>
    assert stats["vocabulary_size"] == 4 + 8
    assert stats["caption_length"] == {"median": 1, "max": 3, "histogram": [[1, 6], [3, 1]]}
    assert stats["splits"] == {"train": 1, "val": 1, "test": 1}
    json.dumps(stats)  # JSON-able: no numpy numbers


def test_star_bins_cover_the_maximum():
    assert star_bins(0) == [0, 1]
    assert star_bins(4) == [0, 1, 2, 5]
    assert star_bins(5) == [0, 1, 2, 5, 10]
    assert star_bins(20000)[-1] == 50000


def test_bokete_statistics_name_a_bad_file(bokete_files, tmp_path):
    bokes_csv, captions_csv, vocab_json = bokete_files
    with pytest.raises(NetaError, match="nope.csv"):
        bokete_statistics(tmp_path / "nope.csv", captions_csv, vocab_json)
    bad = tmp_path / "bad_bokes.csv"
    bad.write_text(bokes_csv.read_text(encoding="utf-8").replace(",150,", ",many,"), encoding="utf-8")
    with pytest.raises(NetaError, match="bad_bokes.csv.*many"):
        bokete_statistics(bad, captions_csv, vocab_json)
    broken = tmp_path / "broken_vocab.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(NetaError, match="broken_vocab.json"):
        bokete_statistics(bokes_csv, captions_csv, broken)
    with pytest.raises(NetaError, match="captions.csv: no column boke_id"):  # files swapped
        bokete_statistics(captions_csv, bokes_csv, vocab_json)


@pytest.fixture
def pizza_files(tmp_path):
    menu = pd.DataFrame([
        {"pizza_id": "pepperoni", "name": "Пепперони",
         "ingredients": "Томатный соус, двойная порция пепперони, моцарелла"},
        {"pizza_id": "margarita", "name": "Маргарита", "ingredients": "Томатный соус, моцарелла, томаты, орегано"},
        {"pizza_id": "cheese", "name": "Сырная", "ingredients": "Моцарелла"},
        {"pizza_id": "own", "name": "Собери сам", "ingredients": ""},
    ]).assign(image_url="http://snapshot.dodo.test/p.jpg", price="395", custom=["False", "False", "False", "True"],
              city="Kaliningrad", layout="dodo2017", source_url="http://snapshot.dodo.test/Kaliningrad")
    menu_csv, recipes_json = tmp_path / "menu.csv", tmp_path / "recipes.json"
    menu.to_csv(menu_csv, index=False)
    encode_recipes(menu_csv, recipes_json, settings=NO_ALIASES, max_failure_ratio=0.0)
    return menu_csv, recipes_json


def test_pizza_statistics(pizza_files):
    stats = pizza_statistics(*pizza_files)
    assert stats["pizzas"] == 3  # the build-your-own card has no recipe
    assert stats["ingredients"] == [["моцарелла", 3], ["томатный соус", 2], ["орегано", 1], ["пепперони", 1],
                                    ["томат", 1]]
    assert stats["vocabulary_size"] == 5
    # the double pepperoni is one ingredient of its pizza
    assert stats["ingredients_per_pizza"] == {"min": 1, "median": 3, "max": 4}
    json.dumps(stats)


def test_pizza_statistics_name_a_bad_file(pizza_files, tmp_path):
    menu_csv, recipes_json = pizza_files
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"slots": 9}), encoding="utf-8")
    with pytest.raises(NetaError, match="broken.json"):
        pizza_statistics(menu_csv, broken)
    other = tmp_path / "other_menu.csv"
    pd.read_csv(menu_csv, dtype=str).iloc[1:].to_csv(other, index=False)
    with pytest.raises(NetaError, match="pepperoni.*other_menu.csv"):
        pizza_statistics(other, recipes_json)


def write_etl(path, labels, writers, split, classes=("あ", "い", "う")):
    n = len(labels)
    write_h5(path, {"images": np.zeros((n, 28, 28), np.uint8), "labels": np.asarray(labels, np.int16),
                    "writers": np.asarray(writers, np.int32), "codes": np.zeros(n, np.uint16),
                    "classes": np.asarray(classes), "split": np.asarray(split, np.uint8)}, stage="convert_etl")


def test_etl_statistics(tmp_path):
    path = tmp_path / "etl_28.h5"
    write_etl(path, labels=[0, 1, 2, 0, 1, 0], writers=[1, 1, 1, 2, 2, 3], split=[0, 0, 0, 0, 0, 1])
    assert etl_statistics(path) == {"classes": 3, "samples": 6, "writers": 3,
                                    "per_class": [["あ", 3], ["い", 2], ["う", 1]], "split": {"train": 5, "test": 1}}


def test_etl_statistics_name_a_bad_file(tmp_path):
    with pytest.raises(NetaError, match="missing.h5"):
        etl_statistics(tmp_path / "missing.h5")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5")
    with pytest.raises(NetaError, match="garbage.h5"):
        etl_statistics(garbage)
    partial = tmp_path / "partial.h5"
    write_h5(partial, {"labels": np.zeros(3, np.int16)}, stage="convert_etl")
    with pytest.raises(NetaError, match="partial.h5"):
        etl_statistics(partial)
    wrong = tmp_path / "wrong_labels.h5"
    write_etl(wrong, labels=[0, 5], writers=[1, 1], split=[0, 0])
    with pytest.raises(NetaError, match="wrong_labels.h5"):
        etl_statistics(wrong)


def write_manifest(path, rows):
    pd.DataFrame([dict(zip(MANIFEST_COLUMNS, row, strict=True)) for row in rows], columns=MANIFEST_COLUMNS).to_csv(
        path, index=False)


def test_crawl_statistics(tmp_path):
    path = tmp_path / "manifest.csv"
    write_manifest(path, [
        ("http://x.test/1.jpg", "a" * 64, "a.jpg", 1000, 10, 10, "ok", ""),
        ("http://x.test/2.jpg", "b" * 64, "b.jpg", 500, 10, 10, "ok", ""),
        ("http://x.test/3.jpg", "", "", "", "", "", "http_error", "404"),
        ("http://x.test/4.jpg", "", "", 20, "", "", "rejected", "not an image"),
    ])
    assert crawl_statistics(path) == {"images": 4, "by_status": {"http_error": 1, "ok": 2, "rejected": 1},
                                      "bytes": 1500}


def test_crawl_statistics_name_a_bad_file(tmp_path):
    with pytest.raises(NetaError, match="none.csv"):
        crawl_statistics(tmp_path / "none.csv")
    path = tmp_path / "bad_manifest.csv"
    write_manifest(path, [("http://x.test/1.jpg", "a" * 64, "a.jpg", "big", 10, 10, "ok", "")])
    with pytest.raises(NetaError, match="bad_manifest.csv.*big"):
        crawl_statistics(path)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("url,sha256\nhttp://x.test/1.jpg,abc\n", encoding="utf-8")
    with pytest.raises(NetaError, match="wrong.csv"):
        crawl_statistics(wrong)


# The report's files made from these numbers: figures, metric tables, the inlined gallery.

def test_data_figures_are_pngs(bokete_files, pizza_files, tmp_path):
    from neta.figures import save_figure
    from neta.stats.figures import bokete_figure, hiragana_figure, pizza_figure

    crawl = {"images": 3, "by_status": {"ok": 2, "http_error": 1}, "bytes": 2_000_000}
    etl = tmp_path / "etl_28.h5"
    write_etl(etl, labels=[0, 1, 2], writers=[1, 1, 2], split=[0, 0, 1])
    for name, figure in (("b", bokete_figure(bokete_statistics(*bokete_files), crawl)),
                         ("p", pizza_figure(pizza_statistics(*pizza_files), crawl)),
                         ("h", hiragana_figure(etl_statistics(etl)))):
        save_figure(figure, tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metric_tables_escape_every_text_and_need_nothing_external():
    from neta.stats.metric_tables import metrics_html

    metrics = {
        "accuracy": 0.912345678, "model": "<script>alert(1)</script>", "writer_disjoint": True, "skipped": None,
        "models": {"cvae_a": {"epochs": 3, "per_pizza_f1": {"pepperoni": 0.5, "<b>": 1.0}},
                   "gan": {"epochs": 2, "per_pizza_f1": {"pepperoni": 0.25}}},
        "most_confused": [{"true": "ほ", "pred": "ぽ", "count": 10}],
        "heldout": {"n_images": 20, "cnn": {"accuracy": 0.5}},
    }
    page = metrics_html(metrics, title="T & <i>", source="results/x/metrics.json")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "T &amp; &lt;i&gt;" in page and "&lt;b&gt;" in page
    assert "http" not in page and "<link" not in page and 'src="' not in page
    assert '<td class="num">0.912346</td>' in page and "<td>yes</td>" in page and "<td>–</td>" in page
    # models down, their scalar fields across; per-pizza F1 swapped: pizzas down, models across
    assert "<thead><tr><th></th><th>epochs</th></tr></thead>" in page
    assert "<h3>models › per_pizza_f1</h3>" in page
    assert "<thead><tr><th></th><th>cvae_a</th><th>gan</th></tr></thead>" in page
    assert "<tr><th>pepperoni</th><td class=\"num\">0.5</td><td class=\"num\">0.25</td></tr>" in page
    assert "<tr><th>1</th><td>ほ</td><td>ぽ</td><td class=\"num\">10</td></tr>" in page
    assert "<h3>heldout › cnn</h3>" in page


def test_the_inline_gallery_embeds_its_photos(tmp_path):
    from PIL import Image

    from neta.stats.gallery import write_inline_gallery

    (tmp_path / "images").mkdir()
    Image.new("RGB", (600, 400), (200, 30, 30)).save(tmp_path / "images" / "a.jpg")
    samples = [{"image_id": "a" * 64, "path": "images/a.jpg", "references": ["<script>x</script>"],
                "generated": [{"text": "ねこ", "logprob": -1.5, "tokens": ["ねこ"]}]}]
    (tmp_path / "samples.json").write_text(json.dumps(samples), encoding="utf-8")
    out = tmp_path / "report" / "gallery.html"
    shown = write_inline_gallery(tmp_path / "samples.json", tmp_path / "captions.csv",
                                 {"BLEU-1": 0.5, "beam": 4, "perplexity": 12.0}, out)
    page = out.read_text(encoding="utf-8")
    assert shown == 1 and 'src="data:image/jpeg;base64,' in page and "images/a.jpg" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "beam 4; BLEU-1 0.500" in page
    samples[0]["path"] = "images/missing.jpg"
    (tmp_path / "samples.json").write_text(json.dumps(samples), encoding="utf-8")
    with pytest.raises(NetaError, match="missing.jpg"):
        write_inline_gallery(tmp_path / "samples.json", tmp_path / "captions.csv", {}, out)
