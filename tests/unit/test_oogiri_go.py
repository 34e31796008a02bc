"""Oogiri-GO both ways: its JSON lines read as the caption dataset oogiri_go, and the crawled bokes
written in that format (`neta export oogiri-go`) and read back."""

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from caption_fixtures import CAN_BOKES, oogiri_photo, photo_jpeg, write_bokete, write_oogiri_go

from neta.boke.config import OogiriGoSettings, SplitSettings
from neta.boke.prepare import prepare_captions
from neta.boke.sources.oogiri import KEYS, export_oogiri_go
from neta.boke.table import read_captions
from neta.boke.tokens import Tokenizer
from neta.cli import main
from neta.errors import NetaError
from neta.features.inputs import images_from
from neta.images import ImageLimits
from neta.settings import validate_config

SETTINGS = dict(language="auto", split=SplitSettings(val_fraction=0.2, test_fraction=0.2), seed=7, max_images=0,
                max_missing_ratio=0.1, limits=ImageLimits(max_pixels=50_000_000, max_side=20_000))


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def items_of(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def prepare(tmp_path, file, images, *, types=("I2T",), min_star=0, **overrides):
    out = tmp_path / "out"
    section = OogiriGoSettings(file=str(file), images=str(images), types=tuple(types), min_star=min_star)
    summary = prepare_captions("oogiri_go", out / "captions.csv", manifest_out=out / "manifest.csv",
                               oogiri_go=section, **{**SETTINGS, **overrides})
    return read_captions(out / "captions.csv"), summary


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_the_i2t_answers_with_their_stars_photos_and_tokens(tmp_path, caplog):
    inputs = write_oogiri_go(tmp_path / "data")
    with caplog.at_level(logging.INFO, logger="neta.boke.sources.oogiri"):
        table, summary = prepare(tmp_path, **inputs)
    i2t = [item for item in items_of(inputs["file"]) if item["type"] == "I2T"]
    assert list(table["caption"]) == [item["text"] for item in i2t]  # file order
    assert list(table["stars"]) == [item["star"] or 0 for item in i2t]  # null as 0, like a dataset without stars
    picture = {str(5651380 + n): sha256(oogiri_photo(inputs["images"], n)) for n in range(len(CAN_BOKES))}
    picture["5651380.jpg"] = picture["5651380"]  # the whole file name and the bare id are one picture
    assert list(table["image_id"]) == [picture[item["image"]] for item in i2t]
    row = table[table["caption"] == "ＮＡＳＡ　から　電話が　来た"].iloc[0]
    assert row["tokens"] == " ".join(Tokenizer("ja")("ＮＡＳＡ　から　電話が　来た")) == "NASA から 電話 が 来 た"
    assert summary["language"] == "ja" and summary["photos"] == len(CAN_BOKES)
    assert summary["captions_read"] == len(i2t) + 2
    assert summary["captions_by_type"] == {"I2T": len(i2t), "IT2T": 1, "T2T": 1}
    assert summary["captions_other_type"] == 2 and summary["captions_without_star"] == 1
    assert "2 items of other games left out (IT2T 1, T2T 1)" in caplog.text
    # the features stage reads exactly these pictures through the manifest, checked like every dataset's
    assert {image_id for image_id, _ in images_from(tmp_path / "out" / "manifest.csv")} == set(picture.values())
    for image_id, path in zip(table["image_id"], table["path"], strict=True):
        assert sha256(tmp_path / "out" / path) == image_id


def test_it2t_on_request_with_its_question_counted_and_min_star(tmp_path):
    inputs = write_oogiri_go(tmp_path / "data")
    table, summary = prepare(tmp_path / "both", **inputs, types=("I2T", "IT2T"))
    it2t = table[table["caption"] == "プリンです"]
    assert len(it2t) == 1 and it2t["image_id"].item() == sha256(inputs["images"] / "7100001.png")
    assert it2t["stars"].item() == 11 and summary["questions_not_used"] == 1
    assert summary["captions_other_type"] == 1  # the T2T item

    table, summary = prepare(tmp_path / "starred", **inputs, min_star=20)
    i2t = [item for item in items_of(inputs["file"]) if item["type"] == "I2T"]
    assert list(table["caption"]) == [item["text"] for item in i2t if (item["star"] or 0) >= 20]
    assert summary["captions_below_min_star"] == sum((item["star"] or 0) < 20 for item in i2t)


def test_split_by_picture_never_by_answer(tmp_path):
    inputs = write_oogiri_go(tmp_path / "data")
    table, summary = prepare(tmp_path, **inputs)
    assert (table.groupby("image_id")["split"].nunique() == 1).all()
    assert set(table["split"]) == {"train", "val", "test"} and summary["split_source"] == "seeded"
    assert summary["split_photos"] == {"train": 3, "val": 1, "test": 1}
    again, _ = prepare(tmp_path / "again", **inputs)
    assert list(again["split"]) == list(table["split"])


def test_max_images_keeps_the_first_pictures_answers_wherever_they_are(tmp_path):
    inputs = write_oogiri_go(tmp_path / "data")
    table, summary = prepare(tmp_path, **inputs, max_images=3)
    first = [item["image"].removesuffix(".jpg") for item in items_of(inputs["file"]) if item["type"] == "I2T"]
    chosen = list(dict.fromkeys(first))[:3]
    assert table["image_id"].nunique() == 3 and summary["photos_listed"] == 3
    assert len(table) == sum(image in chosen for image in first)


GOOD = json.dumps({"type": "I2T", "question": None, "image": "5651380", "text": "よし", "star": 3})


@pytest.mark.parametrize("bad, words", [
    ('{"type": "I2T", "image": "5651380", ', "not valid JSON"),
    ('["I2T", "5651380"]', "a JSON list, not an object"),
    ('{"type": "I2T", "question": null, "image": "5651380", "text": "x"}', "no key star"),
    ('{"type": "V2T", "question": null, "image": "5651380", "text": "x", "star": 1}', "type 'V2T' is not one of"),
    ('{"type": "I2T", "question": null, "image": "5651380", "text": null, "star": 1}', "text None is not a string"),
    ('{"type": "I2T", "question": null, "image": "5651380", "text": "x", "star": "many"}', "star 'many'"),
    ('{"type": "I2T", "question": null, "image": "5651380", "text": "x", "star": -2}', "star -2"),
    ('{"type": "I2T", "question": null, "image": "5651380", "text": "x", "star": 1.5}', "star 1.5"),
    ('{"type": "I2T", "question": null, "image": null, "text": "x", "star": 1}', "image None"),
    ('{"type": "I2T", "question": null, "image": "../../secret", "text": "x", "star": 1}', "not inside the image"),
])
def test_a_bad_line_is_an_error_naming_the_file_and_line(tmp_path, bad, words):
    inputs = write_oogiri_go(tmp_path / "data")
    write_lines(inputs["file"], [GOOD, "", bad, GOOD])  # the blank line 2 still counts
    with pytest.raises(NetaError, match=r"jp\.jsonl:3: .*" + words.replace("(", r"\(")):
        prepare(tmp_path, **inputs)
    assert not (tmp_path / "out").exists()


def test_a_line_not_utf8_an_absent_file_and_a_file_without_pictures(tmp_path):
    inputs = write_oogiri_go(tmp_path / "data")
    inputs["file"].write_bytes(GOOD.encode() + b"\n" + '{"text": "な"}'.encode("shift_jis") + b"\n")
    with pytest.raises(NetaError, match=r"jp\.jsonl:2: not UTF-8"):
        prepare(tmp_path, **inputs)
    with pytest.raises(NetaError, match=r"nowhere\.jsonl: cannot read an Oogiri-GO file"):
        prepare(tmp_path, tmp_path / "nowhere.jsonl", inputs["images"])
    with pytest.raises(NetaError, match=r"no such folder of Oogiri-GO images"):
        prepare(tmp_path, inputs["file"], tmp_path / "no_images")
    t2t = json.dumps({"type": "T2T", "question": "お題", "image": None, "text": "答え", "star": 5})
    write_lines(inputs["file"], [t2t, t2t])
    with pytest.raises(NetaError, match=r"jp\.jsonl: no I2T answer to read \(2 items: I2T 0, IT2T 0, T2T 2"):
        prepare(tmp_path, **inputs)


def test_a_missing_picture_is_counted_and_an_ambiguous_one_is_an_error(tmp_path):
    inputs = write_oogiri_go(tmp_path / "data")
    gone = oogiri_photo(inputs["images"], 2)
    gone.unlink()
    table, summary = prepare(tmp_path, **inputs, max_missing_ratio=0.25)
    assert summary["photos_missing"] == 1 and summary["captions_dropped_no_photo"] == len(CAN_BOKES[2][1])
    manifest = pd.read_csv(tmp_path / "out" / "manifest.csv", dtype=str, keep_default_na=False)
    assert "5651382" in manifest.loc[manifest["status"] == "missing", "error"].item()

    (inputs["images"] / "5651383.png").write_bytes(photo_jpeg("rocket", 64))
    with pytest.raises(NetaError, match=r"jp\.jsonl:\d+: image '5651383' could be any of 5651383\.jpg, 5651383\.png"):
        prepare(tmp_path / "again", **inputs, max_missing_ratio=0.25)


@pytest.mark.parametrize("section, key", [({"types": ["T2T"]}, "types"), ({"types": []}, "types"),
                                          ({"min_star": -1}, "min_star"), ({"lang": "ja"}, "lang")])
def test_the_schema_refuses_a_bad_oogiri_go_section_naming_the_key(section, key):
    with pytest.raises(NetaError, match=r"config key captioner\.oogiri_go"):
        validate_config({"captioner": {"dataset": "oogiri_go", "oogiri_go": section}})
    settings = validate_config({"captioner": {"dataset": "oogiri_go"}})
    assert OogiriGoSettings.of(settings) == OogiriGoSettings(file="", images="", types=("I2T",), min_star=0)


def test_the_dataset_needs_its_file_and_images(tmp_path):
    with pytest.raises(NetaError, match="captioner.oogiri_go: file and images must both be given"):
        prepare_captions("oogiri_go", tmp_path / "captions.csv", manifest_out=tmp_path / "manifest.csv",
                         oogiri_go=OogiriGoSettings(file="", images="", types=("I2T",), min_star=0), **SETTINGS)


def test_the_crawled_bokes_exported_and_read_back_are_the_same_triples(tmp_path, capsys):
    inputs = write_bokete(tmp_path / "crawl")
    out = tmp_path / "bokes_oogiri.jsonl"
    assert main(["export", "oogiri-go", "--bokes", str(inputs["bokes_csv"]), "--images-manifest",
                 str(inputs["bokete_manifest"]), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    bokes = pd.read_csv(inputs["bokes_csv"], dtype=str, keep_default_na=False)
    assert summary["bokes_read"] == len(bokes) and summary["bokes_dropped_no_photo"] > 0

    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") and "社長が淹れたので飲むしかない" in text  # UTF-8, not \\u escapes
    items = items_of(out)
    assert len(items) == summary["bokes_written"] == len(bokes) - summary["bokes_dropped_no_photo"]
    for item in items:
        assert tuple(item) == KEYS and item["type"] == "I2T" and item["question"] is None
        assert isinstance(item["star"], int) and (inputs["bokete_manifest"].parent / item["image"]).is_file()

    crawled = read_captions_of("bokete", tmp_path / "a", bokes_csv=inputs["bokes_csv"],
                               bokete_manifest=inputs["bokete_manifest"])
    back, _ = prepare(tmp_path / "b", out, inputs["bokete_manifest"].parent)
    assert triples(back) == triples(crawled) and len(back) == len(items)
    # the same table: the crawl's order, the same pictures, so the same seeded split
    assert list(back["caption"].fillna("")) == list(crawled["caption"].fillna(""))
    assert list(back["split"]) == list(crawled["split"])


def read_captions_of(dataset, folder, **inputs):
    prepare_captions(dataset, folder / "captions.csv", **inputs, **SETTINGS)
    return read_captions(folder / "captions.csv")


def triples(table) -> Counter:
    return Counter(zip(table["image_id"], table["caption"].fillna(""), table["stars"].astype(int), strict=True))


def test_export_refuses_a_crawl_without_photos_naming_it(tmp_path):
    inputs = write_bokete(tmp_path / "crawl")
    manifest = pd.read_csv(inputs["bokete_manifest"], dtype=str, keep_default_na=False)
    manifest.assign(status="http_error").to_csv(inputs["bokete_manifest"], index=False)
    out = tmp_path / "bokes_oogiri.jsonl"
    with pytest.raises(NetaError, match=r"bokes\.csv: no boke has a downloaded photo"):
        export_oogiri_go(inputs["bokes_csv"], inputs["bokete_manifest"], out)
    assert not out.exists()
