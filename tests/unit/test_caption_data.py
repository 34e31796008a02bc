"""Every caption dataset format into the one caption table: ids, stars, splits by photo, pairing, errors."""

import csv
import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from caption_fixtures import CAN_BOKES, can_photo, write_boke_can, write_bokete, write_coco, write_karpathy

import neta.boke.sources.bokete as can_reader
from neta.boke.config import CocoSettings, KarpathySettings, SplitSettings
from neta.boke.prepare import prepare_captions, split_photos
from neta.boke.table import read_captions, references, training_pairs, usable, write_captions
from neta.errors import NetaError
from neta.features.inputs import images_from
from neta.images import ImageLimits
from neta.settings import validate_config

SETTINGS = dict(language="auto", split=SplitSettings(val_fraction=0.2, test_fraction=0.2), seed=7, max_images=0,
                max_missing_ratio=0.1, limits=ImageLimits(max_pixels=50_000_000, max_side=20_000))


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sections(inputs: dict) -> dict:
    """The fixtures' COCO and Karpathy files as the captioner.coco and captioner.karpathy sections."""
    inputs = dict(inputs)
    if "coco_annotations" in inputs:
        inputs["coco"] = CocoSettings(annotations=tuple(map(str, inputs.pop("coco_annotations"))),
                                      images=str(inputs.pop("coco_images")))
    if "karpathy_file" in inputs:
        inputs["karpathy"] = KarpathySettings(file=str(inputs.pop("karpathy_file")),
                                              images=str(inputs.pop("karpathy_images")))
    return inputs


def prepare(dataset, tmp_path, **inputs):
    out = tmp_path / "out"
    manifest = None if dataset == "bokete" else out / "manifest.csv"
    summary = prepare_captions(dataset, out / "captions.csv", manifest_out=manifest,
                               **{**SETTINGS, **sections(inputs)})
    return read_captions(out / "captions.csv"), summary


def assert_split_by_photo(table):
    assert (table.groupby("image_id")["split"].nunique() == 1).all()


def test_boke_can_rows_photos_stars_and_manifest(tmp_path):
    can = write_boke_can(tmp_path)
    table, summary = prepare("bokete_can", tmp_path, cans=[can])
    texts = [text for _, bokes in CAN_BOKES for text, *_ in bokes]
    assert sorted(table["caption"]) == sorted(texts)
    expected_id = {text: sha256(can_photo(can, n)) for n, (_, bokes) in enumerate(CAN_BOKES) for text, *_ in bokes}
    assert [expected_id[c] for c in table["caption"]] == list(table["image_id"])
    rate_sum = {text: rate for _, bokes in CAN_BOKES for text, rate, *_ in bokes}
    assert [rate_sum[c] for c in table["caption"]] == list(table["stars"])
    row = table[table["caption"] == "ＮＡＳＡ　から　電話が　来た"].iloc[0]
    assert row["tokens"] == "NASA から 電話 が 来 た"
    for image_id, path in zip(table["image_id"], table["path"], strict=True):
        assert sha256(tmp_path / "out" / path) == image_id  # path is relative to captions.csv's folder
    # The features stage reads exactly the can's photos through the manifest.
    items = images_from(tmp_path / "out" / "manifest.csv")
    assert {image_id for image_id, _ in items} == set(table["image_id"])
    assert all(sha256(path) == image_id for image_id, path in items)
    assert summary["captions"] == len(texts) and summary["photos"] == len(CAN_BOKES)
    assert summary["language"] == "ja" and summary["split_source"] == "seeded"
    assert_split_by_photo(table)


def test_can_read_in_chunks_gives_the_same_table(tmp_path, monkeypatch):
    can = write_boke_can(tmp_path)
    whole, _ = prepare("bokete_can", tmp_path / "a", cans=[can])
    monkeypatch.setattr(can_reader, "CAN_CHUNK_ROWS", 2)
    chunked, _ = prepare("bokete_can", tmp_path / "b", cans=[can])
    pd.testing.assert_frame_equal(whole.drop(columns="path"), chunked.drop(columns="path"))


def test_two_cans_and_max_images(tmp_path):
    cans = [write_boke_can(tmp_path, "blue_000"), write_boke_can(tmp_path, "sp_000")]
    table, summary = prepare("bokete_can", tmp_path, cans=cans)
    assert summary["captions_read"] == 2 * sum(len(b) for _, b in CAN_BOKES)
    assert table["image_id"].nunique() == len(CAN_BOKES)  # the same photo files in both cans: one image_id each
    assert_split_by_photo(table)
    limited, summary = prepare("bokete_can", tmp_path / "limited", cans=cans, max_images=3)
    assert limited["image_id"].nunique() == 3 and summary["photos_listed"] == 3
    assert set(limited["image_id"]) == {sha256(can_photo(cans[0], n)) for n in range(3)}


def test_coco_annotation_files_with_images_in_split_subfolders(tmp_path):
    inputs = write_coco(tmp_path)
    table, summary = prepare("coco", tmp_path, **inputs)
    images = {}
    for annotations in inputs["coco_annotations"]:
        obj = json.loads(Path(annotations).read_text(encoding="utf-8"))
        split = Path(annotations).stem.removeprefix("captions_")
        files = {e["id"]: inputs["coco_images"] / split / e["file_name"] for e in obj["images"]}
        images.update({n["caption"]: sha256(files[n["image_id"]]) for n in obj["annotations"]})
    assert sorted(table["caption"]) == sorted(images)
    assert [images[c] for c in table["caption"]] == list(table["image_id"])
    assert (table["stars"] == 0).all() and summary["language"] == "en" and summary["photos"] == 5
    row = table[table["caption"] == "A small cat's face close up"].iloc[0]
    assert row["tokens"] == "a small cat's face close up"
    manifest = pd.read_csv(tmp_path / "out" / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(manifest.columns) == ["url", "sha256", "path", "bytes", "width", "height", "status", "error"]
    assert manifest["url"].str.startswith("http://images.cocodataset.org/").all()
    assert (manifest["status"] == "ok").all() and manifest["width"].astype(int).max() == 96
    assert_split_by_photo(table)


def test_karpathy_split_and_tokens_as_given(tmp_path):
    inputs = write_karpathy(tmp_path)
    table, summary = prepare("karpathy", tmp_path, **inputs)
    entries = json.loads(Path(inputs["karpathy_file"]).read_text(encoding="utf-8"))["images"]
    expected = {"train": "train", "restval": "train", "val": "val", "test": "test"}
    for entry in entries:
        rows = table[table["image_id"] == sha256(inputs["karpathy_images"] / entry["filepath"] / entry["filename"])]
        assert list(rows["split"]) == [expected[entry["split"]]] * len(entry["sentences"])
        assert list(rows["tokens"]) == [" ".join(s["tokens"]) for s in entry["sentences"]]
        assert list(rows["caption"]) == [s["raw"] for s in entry["sentences"]]
    assert summary["split_source"] == "dataset"
    assert summary["split_photos"] == {"train": 3, "val": 1, "test": 1}
    # Another seed cannot move a photo: the file's own split is used.
    again, _ = prepare("karpathy", tmp_path / "again", **inputs, seed=99)
    assert list(again["split"]) == list(table["split"])


def test_karpathy_file_without_split_is_split_by_seed_and_a_partial_split_is_an_error(tmp_path):
    inputs = write_karpathy(tmp_path)
    obj = json.loads(Path(inputs["karpathy_file"]).read_text(encoding="utf-8"))
    for entry in obj["images"]:
        del entry["split"]
    Path(inputs["karpathy_file"]).write_text(json.dumps(obj), encoding="utf-8")
    table, summary = prepare("karpathy", tmp_path, **inputs)
    assert summary["split_source"] == "seeded" and summary["split_photos"] == {"train": 3, "val": 1, "test": 1}
    assert_split_by_photo(table)
    obj["images"][0]["split"] = "train"
    Path(inputs["karpathy_file"]).write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(NetaError, match=r"dataset_coco\.json: 1 of 5 images have a 'split'"):
        prepare("karpathy", tmp_path, **inputs)


def test_coco_file_names_found_directly_in_the_image_folder(tmp_path):
    inputs = write_coco(tmp_path)
    folder = inputs["coco_images"]
    for photo in sorted((folder / "val2014").iterdir()):
        photo.rename(folder / photo.name)
    table, summary = prepare("coco", tmp_path, **inputs)
    assert summary["photos_ok"] == 5 and summary["captions"] == summary["captions_read"]
    assert all((tmp_path / "out" / path).is_file() for path in table["path"])


def test_bokete_join_on_the_download_manifest(tmp_path):
    inputs = write_bokete(tmp_path)
    table, summary = prepare("bokete", tmp_path, **inputs)
    manifest = pd.read_csv(inputs["bokete_manifest"], dtype=str, keep_default_na=False)
    bokes = pd.read_csv(inputs["bokes_csv"], dtype=str, keep_default_na=False)
    ok = manifest[manifest["status"] == "ok"]
    kept = bokes[bokes["image_url"].isin(ok["url"])]
    assert list(table["caption"].fillna("")) == list(kept["text"])
    assert list(table["image_id"]) == list(kept["image_url"].map(dict(zip(ok["url"], ok["sha256"], strict=True))))
    assert list(table["stars"]) == [int(s) for s in kept["stars"]]
    assert summary["captions_dropped_no_photo"] == len(bokes) - len(kept) > 0
    assert summary["manifest"] is None and not (tmp_path / "out" / "manifest.csv").exists()
    for image_id, path in zip(table["image_id"], table["path"], strict=True):
        assert sha256(tmp_path / "out" / path) == image_id


def test_seeded_split_by_photo():
    photos = [f"{n:064x}" for n in range(50)]
    split = SplitSettings(val_fraction=0.1, test_fraction=0.2)
    first = split_photos(photos, split=split, seed=3)
    assert first == split_photos(list(reversed(photos)), split=split, seed=3)
    assert first != split_photos(photos, split=split, seed=4)
    counts = pd.Series(first).value_counts()
    assert (counts["train"], counts["val"], counts["test"]) == (35, 5, 10)
    none = SplitSettings(val_fraction=0, test_fraction=0)
    assert set(split_photos(photos, split=none, seed=3).values()) == {"train"}
    with pytest.raises(NetaError, match="too few"):
        split_photos(photos[:2], split=SplitSettings(val_fraction=0.1, test_fraction=0.1), seed=0)


@pytest.mark.parametrize("key, value", [("val_fraction", 0.6), ("test_fraction", -0.1), ("test_fraction", "0.2")])
def test_the_schema_rejects_a_bad_split_fraction_naming_the_key(key, value):
    with pytest.raises(NetaError, match=rf"config key captioner\.split\.{key}"):
        validate_config({"captioner": {"split": {key: value}}})


def test_same_seed_same_table(tmp_path):
    can = write_boke_can(tmp_path)
    first, _ = prepare("bokete_can", tmp_path / "a", cans=[can])
    second, _ = prepare("bokete_can", tmp_path / "b", cans=[can])
    assert list(first["split"]) == list(second["split"])
    assert set(first["split"]) == {"train", "val", "test"}


def frame(rows):
    """rows: (image_id, tokens, stars, split)."""
    return pd.DataFrame([{"image_id": i, "caption": t, "tokens": t, "stars": s, "split": sp, "path": f"{i}.jpg"}
                         for i, t, s, sp in rows])


def test_pairing_all_top1_topk_with_ties_in_table_order():
    table = frame([("p", "a", 5, "train"), ("p", "b", 9, "train"), ("p", "c", 9, "train"), ("p", "d", 1, "train"),
                   ("q", "e", 2, "train"), ("r", "f", 50, "test")])
    assert list(training_pairs(table, pairing="all", top_k=1)["tokens"]) == ["a", "b", "c", "d", "e"]
    assert list(training_pairs(table, pairing="top1", top_k=99)["tokens"]) == ["b", "e"]  # b before c on a tie
    assert list(training_pairs(table, pairing="topk", top_k=3)["tokens"]) == ["a", "b", "c", "e"]


@pytest.mark.parametrize("config, key", [({"pairing": "best"}, "pairing"), ({"top_k": 0}, "top_k")])
def test_the_schema_rejects_an_unknown_pairing_or_top_k_below_1(config, key):
    with pytest.raises(NetaError, match=rf"config key captioner\.{key}:"):
        validate_config({"captioner": config})


def test_usable_drops_empty_and_over_long_captions_with_counts(caplog):
    table = frame([("p", "a b c", 1, "train"), ("p", "", 1, "train"), ("q", "w " * 5, 1, "train"),
                   ("q", "x y", 1, "val")])
    with caplog.at_level(logging.INFO, logger="neta.boke.table"):
        kept, counts = usable(table, max_len=4)
    assert counts == {"empty": 1, "too_long": 1}
    assert list(kept["tokens"]) == ["a b c", "x y"]
    assert "1 with no tokens and 1 with more than max_len 4" in caplog.text


def test_references_hold_every_caption_of_a_splits_photos():
    table = frame([("p", "a cat", 1, "test"), ("q", "a dog", 1, "train"), ("p", "the cat", 1, "test")])
    assert references(table, "test") == {"p": [["a", "cat"], ["the", "cat"]]}
    assert references(table, "val") == {}


def test_caption_table_round_trip_keeps_empty_tokens(tmp_path):
    table = frame([("p", "", 3, "train"), ("q", "猫 だ", 7, "test")])
    write_captions(tmp_path / "captions.csv", table)
    back = read_captions(tmp_path / "captions.csv")
    assert list(back["tokens"]) == ["", "猫 だ"] and list(back["stars"]) == [3, 7]
    path = tmp_path / "bad.csv"
    write_captions(path, table.assign(split=["train", "holdout"]))
    with pytest.raises(NetaError, match=r"bad\.csv.*holdout"):
        read_captions(path)


def test_a_missing_photo_drops_its_captions_and_is_listed(tmp_path):
    can = write_boke_can(tmp_path)
    gone = can_photo(can, 2)
    gone.unlink()
    table, summary = prepare("bokete_can", tmp_path, cans=[can], max_missing_ratio=0.25)
    n_gone = len(CAN_BOKES[2][1])
    assert summary["photos_missing"] == 1 and summary["captions_dropped_no_photo"] == n_gone
    assert len(table) == sum(len(b) for _, b in CAN_BOKES) - n_gone
    manifest = pd.read_csv(tmp_path / "out" / "manifest.csv", dtype=str, keep_default_na=False)
    missing = manifest[manifest["status"] == "missing"]
    assert len(missing) == 1 and gone.name in missing["error"].iloc[0]
    assert len(images_from(tmp_path / "out" / "manifest.csv")) == len(CAN_BOKES) - 1
    # Past the bound (the default 10 %) it is an error naming the file, and nothing is written.
    with pytest.raises(NetaError, match=gone.name):
        prepare("bokete_can", tmp_path / "strict", cans=[can])
    assert not (tmp_path / "strict" / "out").exists()


def test_an_undecodable_photo_is_an_error_row(tmp_path):
    can = write_boke_can(tmp_path)
    broken = can_photo(can, 0)
    broken.write_bytes(broken.read_bytes()[:200])
    _, summary = prepare("bokete_can", tmp_path, cans=[can], max_missing_ratio=0.5)
    manifest = pd.read_csv(tmp_path / "out" / "manifest.csv", dtype=str, keep_default_na=False)
    assert summary["photos_error"] == 1 and list(manifest["status"]).count("error") == 1
    assert broken.name in manifest.loc[manifest["status"] == "error", "error"].iloc[0]


def test_can_without_a_column_names_file_and_column(tmp_path):
    can = write_boke_can(tmp_path)
    with open(can / "boke.csv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("rate_sum")
    with open(can / "boke.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([row[:column] + row[column + 1:] for row in rows])
    with pytest.raises(NetaError, match=r"boke\.csv: no column rate_sum"):
        prepare("bokete_can", tmp_path, cans=[can])
    with pytest.raises(NetaError, match=r"nowhere/boke\.csv: no such file"):
        prepare("bokete_can", tmp_path, cans=[tmp_path / "nowhere"])


def test_malformed_coco_and_karpathy_files_are_named(tmp_path):
    inputs = write_coco(tmp_path / "coco")
    bad = Path(inputs["coco_annotations"][0])
    bad.write_text(bad.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    with pytest.raises(NetaError, match=r"captions_train2014\.json.*not valid JSON"):
        prepare("coco", tmp_path, **inputs)
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": []}), encoding="utf-8")
    with pytest.raises(NetaError, match=r"captions_train2014\.json: images\[0\] has no file_name"):
        prepare("coco", tmp_path, **inputs)

    inputs = write_karpathy(tmp_path / "karpathy")
    obj = json.loads(Path(inputs["karpathy_file"]).read_text(encoding="utf-8"))
    del obj["images"][1]["sentences"]
    Path(inputs["karpathy_file"]).write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(NetaError, match=r"dataset_coco\.json: images\[1\] has no sentences"):
        prepare("karpathy", tmp_path, **inputs)
    obj = json.loads(Path(inputs["karpathy_file"]).read_text(encoding="utf-8"))
    obj["images"][1]["sentences"] = []
    obj["images"][2]["split"] = "holdout"
    Path(inputs["karpathy_file"]).write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(NetaError, match=r"dataset_coco\.json: images\[2\]\.split 'holdout'"):
        prepare("karpathy", tmp_path, **inputs)
