"""One normalisation for every ETL layout and for pictures; the relayout of test writers; voicing errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from neta.errors import NetaError
from neta.fonts import ipaexgothic_path
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import char_to_jis0208
from neta.hiragana.etl.reader import read_etl_dir
from neta.hiragana.etl.relayout import b_type, read_picture_labels, write_layouts
from neta.hiragana.etl.writer import build_records, write_etl_file
from neta.hiragana.evaluate import voiced_twins, voicing_errors
from neta.hiragana.normalise import (
    ETL_FRAME,
    PEN_RANGE,
    PEN_TARGET,
    SUPERSAMPLE,
    _pen_width,
    etl_frame,
    framed_pen_width,
    ink_map,
    normalise_grey,
    normalise_pen,
    normalise_records,
    normalise_records_sizes,
    record_grey,
)
from neta.hiragana.predict import prepare_image, prepare_image_sizes

CHARS = ["て", "で", "る", "ろ", "ぱ", "ば", "は"]


def etl8g_cell(char: str, *, scale: float = 0.6, shift=(0, 0)) -> np.ndarray:
    """(127, 128) 4-bit levels: ``char`` drawn with a pen-like font inside a margin, as ETL8G sheets hold it."""
    font = ImageFont.truetype(str(ipaexgothic_path()), int(128 * scale))
    cell = Image.new("L", (128, 127), 0)
    draw = ImageDraw.Draw(cell)
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    x = (128 - (right - left)) / 2 - left + shift[0]
    y = (127 - (bottom - top)) / 2 - top + shift[1]
    draw.text((x, y), char, fill=255, font=font)
    return np.rint(np.asarray(cell, np.float32) / 255.0 * 13).astype(np.uint8)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """Two writers of CHARS as ETL8G files (one small, one large and off-centre), relaid out."""
    root = tmp_path_factory.mktemp("layouts")
    fmt = get_format("ETL8G")
    images = [etl8g_cell(c, scale=0.45) for c in CHARS] + [etl8g_cell(c, scale=0.7, shift=(9, -6)) for c in CHARS]
    codes = np.array([char_to_jis0208(c) for c in CHARS] * 2, np.uint16)
    writers = np.repeat([1, 2], len(CHARS))
    (root / "etl").mkdir()
    write_etl_file(root / "etl" / "ETL8G_01", fmt, build_records(fmt, codes, writers, np.stack(images)))
    summary = write_layouts(root / "etl", "ETL8G", root / "layouts", scan_every=1)  # every record in every set
    return root, summary


def test_relayout_writes_every_layout_of_the_same_records(layouts):
    root, summary = layouts
    out = root / "layouts"
    assert summary == {"out": str(out), "records": 14, "writers": 2}
    g = read_etl_dir(out / "ETL8G", get_format("ETL8G"), None)
    b = read_etl_dir(out / "ETL8B2", get_format("ETL8B2"), None)
    assert list(g.chars) == list(b.chars) == CHARS * 2
    assert b.images.shape == (14, 63, 64) and set(np.unique(b.images)) == {0, 1}
    # size-normalised as B-type files are: the ink touches all four edges of the cell
    for image in b.images:
        assert image[0].any() and image[-1].any() and image[:, 0].any() and image[:, -1].any()
    rows = read_picture_labels(out / "pictures")
    assert [char for _, char, _ in rows] == CHARS * 2 and [w for _, _, w in rows] == [1] * 7 + [2] * 7
    for file, _, _ in rows:
        b_picture = np.asarray(Image.open(out / "pictures" / "b64" / file))
        assert b_picture.shape == (63, 64) and set(np.unique(b_picture)) <= {0, 255}
        g_picture = np.asarray(Image.open(out / "pictures" / "g128" / file), np.float64)
        assert g_picture.shape == (127, 128)
        # the small grey picture is the grey one area-averaged to half its side
        small = np.asarray(Image.open(out / "pictures" / "g64" / file), np.float64)
        assert small.shape == (63, 64)
        blocks = g_picture[:126].reshape(63, 2, 64, 2).mean(axis=(1, 3))
        assert np.abs(small - blocks).mean() < 3.0


def test_relayout_reads_the_writer_table_without_importing_the_synthesis():
    """The synthesis loads fonts and strokes (its import alone held ~650 MB); the relayout, which a
    cluster runs in a 1 GB job, reads the writer table from its own small module."""
    import subprocess
    import sys

    probe = "import sys, neta.hiragana.etl.relayout; print('neta.hiragana.etl.synth' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_by_default_the_scan_sets_picture_every_other_record_and_are_scored_on_those(layouts, tmp_path,
                                                                                    monkeypatch):
    """The scan sets (dust, ruled lines, neighbours) hold half the records, by the parity of writer id
    plus code; the evaluation scores each set on the pictures it holds, with their own labels."""
    import torch

    from neta.hiragana import evaluate
    from neta.hiragana.checkpoint import LoadedModels
    from neta.hiragana.etl.relayout import SCAN_SETS

    root, _ = layouts
    write_layouts(root / "etl", "ETL8G", tmp_path / "layouts")
    pictures = tmp_path / "layouts" / "pictures"
    rows = read_picture_labels(pictures)
    held = [(file, char) for file, char, writer in rows if (writer + char_to_jis0208(char)) % 2 == 0]
    assert 0 < len(held) < len(rows)
    for name in SCAN_SETS:
        assert sorted(p.name for p in (pictures / name).iterdir()) == sorted(file for file, _ in held), name
    for name in ("b64", "g128", "g64"):
        assert len(list((pictures / name).iterdir())) == len(rows), name

    labels_seen = {}

    def right_on_every_picture(loaded, images, labels, device):
        labels_seen[len(labels_seen)] = [loaded.classes[i] for i in labels]
        cnn = {"accuracy": 1.0, "phantom_dakuten_rate": 0.0, "n_phantom_dakuten": 0, "n_base_with_twin": 0,
               "mark_swap_rate": 0.0}
        return {"metrics": {"n_test": len(labels), "cnn": cnn, "most_confused": []}, "cnn_pred": labels}

    monkeypatch.setattr(evaluate, "_score", right_on_every_picture)
    loaded = LoadedModels(cnn=torch.nn.Identity(), baseline=None, network="cnn", classes=sorted(set(CHARS)),
                          size=28, checkpoint={}, normalise="ink_square")
    paths = evaluate.score_layouts({"cnn": loaded}, tmp_path / "layouts", device=torch.device("cpu"))["cnn"]
    assert paths["pictures_g128_predict"]["n"] == paths["pictures_g64_predict"]["n"] == len(rows)
    for name in SCAN_SETS:
        assert paths[f"pictures_{name}_predict"]["n"] == len(held), name
    assert [char for _, char in held] in labels_seen.values()  # each picture with its own label


def test_a_picture_set_whose_inputs_are_a_record_layouts_is_scored_once(layouts, tmp_path, monkeypatch):
    """g128 pictures reach the model as the ETL8G records do, byte for byte, and b64 as the ETL8B2
    records: each pair is scored once and reported under both names; every other set on its own."""
    import torch

    from neta.hiragana import evaluate
    from neta.hiragana.checkpoint import LoadedModels

    root, _ = layouts
    write_layouts(root / "etl", "ETL8G", tmp_path / "layouts")
    scored = []
    real_score = evaluate._score

    def counted(loaded, images, labels, device):
        scored.append(images.copy())
        return real_score(loaded, images, labels, device)

    monkeypatch.setattr(evaluate, "_score", counted)
    classes = sorted(set(CHARS))
    loaded = LoadedModels(cnn=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, len(classes))),
                          baseline=None, network="cnn", classes=classes, size=28, checkpoint={},
                          normalise="ink_square")
    paths = evaluate.score_layouts({"cnn": loaded}, tmp_path / "layouts", device=torch.device("cpu"))["cnn"]
    assert len(paths) == 8 and len(scored) == 6
    assert paths["pictures_g128_predict"] == paths["ETL8G_eval"]
    assert paths["pictures_b64_predict"] == paths["ETL8B2_eval"]
    # no two of the inputs scored are the same
    assert all(not np.array_equal(a, b) for i, a in enumerate(scored) for b in scored[i + 1 :])


def test_a_record_and_a_picture_of_it_are_the_same_grey_bit_for_bit(layouts):
    """A 4-bit level l drawn in a picture as 255 - 17 l, and a 1-bit one as 0 or 255, reads back as the
    record's own grey, bit for bit: one correctly rounded division each (1 - l / 15 is two roundings,
    and differs in the last bit)."""
    from neta.hiragana.predict import read_grey

    levels = np.arange(16, dtype=np.uint8)
    assert np.array_equal(record_grey(levels, 4), (255 - 17 * levels).astype(np.float32) / 255.0)
    assert np.array_equal(record_grey(np.array([0, 1], np.uint8), 1), np.array([1.0, 0.0], np.float32))
    root, _ = layouts
    out = root / "layouts"
    rows = read_picture_labels(out / "pictures")
    for fmt, name in (("ETL8G", "g128"), ("ETL8B2", "b64")):
        records = read_etl_dir(out / fmt, get_format(fmt), None)
        for (file, _, _), raw in zip(rows, records.images, strict=True):
            assert np.array_equal(read_grey(out / "pictures" / name / file), record_grey(raw, get_format(fmt).bits))


def test_pictures_of_the_records_take_the_records_inputs_without_being_framed_again(layouts, monkeypatch):
    """The report frames relayout's g128 and b64 pictures no more: each is a record's grey, so it
    takes that record's inputs, which are what framing it would give (by one process and by two)."""
    from neta.hiragana import evaluate, predict

    root, _ = layouts
    out = root / "layouts"
    rows = read_picture_labels(out / "pictures")
    classes, sizes = sorted(set(CHARS)), (28, 56)
    known = {}
    for fmt in ("ETL8G", "ETL8B2"):
        evaluate.read_etl_inputs(out / fmt, fmt, classes, sizes, "ink_square", known=known)
    files = [out / "pictures" / name / file for name in ("g128", "b64", "g64") for file, _, _ in rows]
    whole = evaluate._prepare_many(files, sizes, "ink_square", 1)
    framed = []
    frame = predict.normalise_grey_sizes
    monkeypatch.setattr(predict, "normalise_grey_sizes", lambda grey, *args: framed.append(1) or frame(grey, *args))
    looked_up = evaluate._prepare_many(files, sizes, "ink_square", 1, known)
    assert len(framed) == len(rows)  # the g64 pictures only
    pooled = evaluate._prepare_many(files, sizes, "ink_square", 2, known)
    for size in sizes:
        assert np.array_equal(looked_up[size], whole[size]) and np.array_equal(pooled[size], whole[size]), size


@pytest.mark.parametrize("side", [3, 5])
def test_a_lone_speck_of_dust_outside_the_character_is_not_ink(layouts, monkeypatch, side):
    """A dot of dust in a scan's margin would set the crop's box (and read as a voicing mark at the
    frame's edge): dropped, the picture reads as the clean one. Without the rule it does not. A
    5-pixel speck is thicker than a fine pen and more than two pens squared of ink: a blot."""
    import neta.hiragana.normalise as normalise

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    pens, specked = [], []
    for file, _, _ in read_picture_labels(pictures):
        grey = np.asarray(Image.open(pictures / "g128" / file)).copy()
        clean = prepare_image(Image.fromarray(grey), 56, "ink_square")
        pens.append(normalise._pen_width(normalise.ink_map(grey / 255.0, file).mask))
        rows, cols = np.nonzero(grey < 128)
        # the corner farthest outside the character's box
        y = 2 if rows.min() > grey.shape[0] - rows.max() else grey.shape[0] - 2 - side
        x = 2 if cols.min() > grey.shape[1] - cols.max() else grey.shape[1] - 2 - side
        grey[y : y + side, x : x + side] = 30
        assert np.array_equal(prepare_image(Image.fromarray(grey), 56, "ink_square"), clean), file
        specked.append((grey, clean))
    if side == 5:  # some of these pens are fine enough that the speck is a blot, not a small dot
        assert min(pens) < side / np.sqrt(normalise.STRAY_DOT)
    monkeypatch.setattr(normalise, "STRAY_ALONE", -1.0)  # no dot is alone: none is dust
    kept = [not np.array_equal(prepare_image(Image.fromarray(grey), 56, "ink_square"), clean)
            for grey, clean in specked]
    # every speck beside the small writer's strokes is ink then (beside the large writer's 7-pixel
    # strokes a 3-pixel speck is smaller than a quarter of the pen squared: a speck, dropped anyway)
    assert all(kept[: len(CHARS)]), kept


def test_a_filled_handakuten_beside_the_character_is_ink(layouts):
    """A quick handakuten can be a filled blot, as a speck of dust is: one written beside the
    character (within the dust rule's reach) stays ink; the same blot in the far corner does not."""
    import neta.hiragana.normalise as normalise

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    tried = 0
    for file, _, _ in read_picture_labels(pictures):
        grey = np.asarray(Image.open(pictures / "g128" / file)).copy()
        pen = normalise._pen_width(normalise.ink_map(grey / 255.0, file).mask)
        rows, cols = np.nonzero(grey < 128)
        y, x = rows.min(), cols.max() + 1 + round(1.5 * pen)
        if x + 5 >= grey.shape[1]:  # no room beside it: the picture's edge would cut the blot
            continue
        tried += 1
        beside = grey.copy()
        beside[y : y + 5, x : x + 5] = 30
        assert normalise.ink_map(beside / 255.0, file).mask[y : y + 5, x : x + 5].all(), file
        far = grey.copy()
        far[-7:-2, -7:-2] = 30
        assert not normalise.ink_map(far / 255.0, file).mask[-7:-2, -7:-2].any(), file
    assert tried >= 7


@pytest.mark.parametrize("rule_off", [("STRAY_ALONE", -1.0), ("RULE_COVER", 2.0)], ids=["dust", "ruled_lines"])
def test_the_dust_and_ruled_line_rules_leave_every_mark_of_a_clean_character_alone(layouts, monkeypatch,
                                                                                     rule_off):
    """て/で, ぱ/ば/は, る/ろ as records of both layouts and as pictures: the same inputs with each rule
    and without it. The B-type ones fill their cell, where a stretched dakuten can lie far from a
    narrow body and a long stroke runs along a side; neither rule applies there."""
    import neta.hiragana.normalise as normalise

    root, _ = layouts
    out = root / "layouts"
    pictures = out / "pictures"
    rows = read_picture_labels(pictures)
    g = read_etl_dir(out / "ETL8G", get_format("ETL8G"), None)
    b = read_etl_dir(out / "ETL8B2", get_format("ETL8B2"), None)
    names = [str(i) for i in range(len(rows))]

    def inputs():
        return (normalise_records(g.images, 4, 56, "ink_square", names=names),
                normalise_records(b.images, 1, 56, "ink_square", names=names),
                [prepare_image(pictures / name / file, 56, "ink_square") for file, _, _ in rows
                 for name in ("b64", "g128")])

    with_rule = inputs()
    monkeypatch.setattr(normalise, *rule_off)
    without = inputs()
    assert np.array_equal(with_rule[0], without[0]) and np.array_equal(with_rule[1], without[1])
    assert all(np.array_equal(a, b) for a, b in zip(with_rule[2], without[2], strict=True))


def test_the_dusty_pictures_are_the_grey_ones_with_a_few_specks_in_the_margin(layouts):
    """pictures/dust128: a scanner's dust, one to three dark dots 3 or 5 pixels across, away from the
    ink; every other pixel is the grey picture's."""
    from scipy import ndimage

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    for file, _, _ in read_picture_labels(pictures):
        grey = np.asarray(Image.open(pictures / "g128" / file))
        dust = np.asarray(Image.open(pictures / "dust128" / file))
        assert dust.shape == grey.shape
        changed = dust != grey
        specks, count = ndimage.label(changed)
        assert 1 <= count <= 3, file
        # dots, not strokes: at most two 5 x 5 specks run together
        assert all(max(s[0].stop - s[0].start, s[1].stop - s[1].start) <= 10 for s in ndimage.find_objects(specks))
        assert changed.sum() <= 3 * 25
        ink = grey < 128
        near_ink = ndimage.binary_dilation(ink, iterations=6)
        assert not (changed & near_ink).any() and (dust[changed] < 100).all()


def test_the_ruled_pictures_are_the_grey_ones_with_a_boxs_line_along_one_side_or_a_corner(layouts):
    """pictures/ruled128: the line of the box a character was written in, kept by a loose crop: along
    one side or two meeting at a corner, end to end, 1 or 2 pixels wide, within 6 of the edge (a
    turned scan's line drifts); every other pixel is the grey picture's."""
    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    for file, _, _ in read_picture_labels(pictures):
        grey = np.asarray(Image.open(pictures / "g128" / file))
        ruled = np.asarray(Image.open(pictures / "ruled128" / file))
        assert ruled.shape == grey.shape and (ruled <= grey).all()
        changed = ruled != grey
        # a line reaches every place along its side (away from the corners, where two lines cross)
        above, below = (bool(band[:, 10:-10].any(axis=0).all()) for band in (changed[:5], changed[-5:]))
        left, right = (bool(band[10:-10].any(axis=1).all()) for band in (changed[:, :5], changed[:, -5:]))
        assert 1 <= above + below + left + right <= 2 and not (above and below) and not (left and right), file
        near_edge = np.zeros(grey.shape, bool)
        near_edge[:6], near_edge[-6:], near_edge[:, :6], near_edge[:, -6:] = True, True, True, True
        assert not (changed & ~near_edge).any(), file
        assert changed.sum() <= 2 * 2 * 128  # two lines at most, 2 pixels wide at most


def test_the_neighbour_pictures_are_the_grey_ones_with_a_strip_of_another_character_at_a_side(layouts):
    """pictures/neighbour128: a loose crop from a line of writing keeps the last few columns of the
    character beside it, at the left or the right edge; every other pixel is the grey picture's."""
    from neta.hiragana.etl.relayout import NEIGHBOUR_REACH

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    sides = set()
    for file, _, _ in read_picture_labels(pictures):
        grey = np.asarray(Image.open(pictures / "g128" / file))
        neighboured = np.asarray(Image.open(pictures / "neighbour128" / file))
        assert neighboured.shape == grey.shape and (neighboured <= grey).all()
        changed = np.flatnonzero((neighboured != grey).any(axis=0))
        assert changed.size, file
        left = changed.max() < NEIGHBOUR_REACH[1]
        assert left or changed.min() >= grey.shape[1] - NEIGHBOUR_REACH[1], file
        assert changed.min() == 0 if left else changed.max() == grey.shape[1] - 1, file  # cut by the crop
        sides.add(left)
    assert sides == {True, False}


def test_a_neighbours_strip_cut_by_the_crop_is_not_ink(layouts, monkeypatch):
    """The strip sets no box: most neighboured pictures reach the model as the clean ones do, which
    without the rule (its length limit below zero) they do not."""
    from neta.hiragana import normalise

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    files = [file for file, _, _ in read_picture_labels(pictures)]

    def as_clean() -> int:
        return sum(np.array_equal(prepare_image(pictures / "neighbour128" / file, 56, "ink_square"),
                                  prepare_image(pictures / "g128" / file, 56, "ink_square")) for file in files)

    with_rule = as_clean()
    monkeypatch.setattr(normalise, "FRAGMENT_LONG", -1.0)
    # without it, a few strips go all the same: pieces smaller than the pen are specks
    assert with_rule >= 0.6 * len(files) and as_clean() <= 0.3 * len(files), (with_rule, as_clean())


@pytest.mark.parametrize("side", ["right", "top"])
def test_a_crop_tight_at_a_voicing_mark_keeps_the_mark(side, monkeypatch):
    """A crop tight on one side leaves the dakuten or handakuten touching the edge: the edge only
    grazes the mark's rounded end, so it is not a cut-off strip of a neighbour."""
    from neta.hiragana import normalise

    for char in ("で", "ば", "ぱ", "ぐ"):
        grey = 1.0 - etl8g_cell(char, scale=0.45).astype(np.float32) / 15
        ink = np.argwhere(grey < 0.8)
        grey = grey[:, : ink[:, 1].max() + 1] if side == "right" else grey[ink[:, 0].min():]
        with_rule = normalise_grey(grey, 56, char, "ink_square")
        monkeypatch.setattr(normalise, "FRAGMENT_LONG", -1.0)
        assert np.array_equal(with_rule, normalise_grey(grey, 56, char, "ink_square")), char
        monkeypatch.undo()


def test_a_ruled_line_kept_by_the_crop_is_not_ink(layouts, monkeypatch):
    """A box's line along the picture's side would set the crop's box and shrink the character (and,
    darker than pencil, take Otsu's threshold): taken out, the picture reads as the clean one. Without
    the rule it does not. B-type pictures, whose long strokes run along a side, keep them."""
    import neta.hiragana.normalise as normalise

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    files = [file for file, _, _ in read_picture_labels(pictures)]
    clean = [prepare_image(pictures / "g128" / f, 56, "ink_square") for f in files]
    ruled = [prepare_image(pictures / "ruled128" / f, 56, "ink_square") for f in files]
    for file, a, b in zip(files, clean, ruled, strict=True):
        assert np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() < 0.01 * a.astype(np.float32).mean(), file
    monkeypatch.setattr(normalise, "RULE_COVER", 2.0)
    unruled = [prepare_image(pictures / "ruled128" / f, 56, "ink_square") for f in files]
    assert all(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() > 0.1 * a.astype(np.float32).mean()
               for a, b in zip(clean, unruled, strict=True))


def test_a_line_turned_with_a_large_scan_is_taken_out_too(layouts):
    """A 384-pixel crop of a sheet scanned turned by a degree: its box's line drifts 7 pixels across
    the picture, more than a small picture's 3 rows, and is still taken out."""
    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    for file, _, _ in read_picture_labels(pictures)[:4]:
        large = Image.open(pictures / "g128" / file).resize((384, 381), Image.BICUBIC)
        clean = prepare_image(large, 56, "ink_square").astype(np.float32)
        turned = large.copy()
        ImageDraw.Draw(turned).line([(0, 3), (383, 10)], fill=40, width=3)
        ImageDraw.Draw(turned).line([(3, 0), (10, 380)], fill=40, width=3)
        ruled = prepare_image(turned, 56, "ink_square").astype(np.float32)
        assert np.abs(clean - ruled).mean() < 0.01 * clean.mean(), file


def test_a_line_the_character_nearly_touches_is_taken_out_when_it_runs_end_to_end(layouts, monkeypatch):
    """A character written up to a pixel from its box's line: the line runs to both ends of the
    side, as the crop cut it, so it goes, and the character keeps its ink but for the odd soft edge
    pixel joined to the line. The picture reads as the clean one, unlike with the line kept."""
    import neta.hiragana.normalise as normalise

    def correlation(x, y):
        x, y = x - x.mean(), y - y.mean()
        return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))

    root, _ = layouts
    pictures = root / "layouts" / "pictures"
    taken, kept = [], []
    for file, _, _ in read_picture_labels(pictures):
        grey = np.asarray(Image.open(pictures / "g128" / file))
        top = int(np.flatnonzero((grey < 128).any(axis=1))[0])
        # the character moved up to row 5 of its picture, and the line along the top a row above it
        grey = np.concatenate([grey[top - 5 :], np.full((top - 5, grey.shape[1]), 255, np.uint8)])
        touched = grey.copy()
        touched[2:4, :] = 40
        clean = prepare_image(Image.fromarray(grey), 56, "ink_square").astype(np.float32)
        taken.append(correlation(clean, prepare_image(Image.fromarray(touched), 56, "ink_square").astype(np.float32)))
        monkeypatch.setattr(normalise, "RULE_COVER", 2.0)
        kept.append(correlation(clean, prepare_image(Image.fromarray(touched), 56, "ink_square").astype(np.float32)))
        monkeypatch.undo()
    assert np.median(taken) > 0.95 and np.median(kept) < 0.4, (taken, kept)
    assert all(t > k for t, k in zip(taken, kept, strict=True)), (taken, kept)


def test_a_stroke_along_a_tight_canvas_edge_is_not_a_ruled_line():
    """て drawn up to a canvas's top edge: its top stroke inks 92 % of the width there, as a line
    would, and the rest is joined to it. It stops short of the canvas's ends, as a ruled line cut by
    the crop does not, so it stays."""
    from neta.hiragana.normalise import _ruled_lines, paper_brightness

    canvas = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(canvas).line([(8, 6), (191, 6)], fill=0, width=6)
    ImageDraw.Draw(canvas).line([(120, 8), (70, 90), (100, 170)], fill=0, width=6, joint="curve")
    grey = np.asarray(canvas, np.float32)
    ink = 1.0 - np.clip(grey / paper_brightness(grey), 0.0, 1.0)
    ruled = _ruled_lines(ink)
    assert ruled is not None and not ruled.end_to_end  # a line's candidate ...
    assert np.array_equal(ink_map(grey, "て").mask, grey < 128)  # ... and all of it stays ink


def test_a_b_type_pictures_long_stroke_along_its_side_is_not_a_ruled_line():
    """A B-type cell stretches its character to fill it: a て's or こ's top stroke, or both of a 二's,
    spans the cell's width at its edge, as a ruled line would. What remains touches the stroke or
    the other edges, or nothing remains, so the strokes stay."""
    from neta.hiragana.normalise import _ruled_lines, paper_brightness

    te, ko, ni = (Image.new("L", (64, 63), 255) for _ in range(3))
    for picture in (te, ko, ni):
        ImageDraw.Draw(picture).line([(0, 1), (63, 1)], fill=0, width=3)
    ImageDraw.Draw(te).line([(40, 2), (22, 30), (30, 62)], fill=0, width=3)  # joined to the stroke
    ImageDraw.Draw(ko).line([(8, 61), (56, 61)], fill=0, width=3)  # apart from it, on the bottom edge
    ImageDraw.Draw(ni).line([(0, 61), (63, 61)], fill=0, width=3)  # a line too: nothing remains
    for name, picture in (("て", te), ("こ", ko), ("二", ni)):
        grey = np.asarray(picture, np.float32)
        ink = 1.0 - np.clip(grey / paper_brightness(grey), 0.0, 1.0)
        assert _ruled_lines(ink) is not None, name  # the strokes look like lines ...
        assert np.array_equal(ink_map(grey, name).mask, grey < 128), name  # ... and stay ink


def test_an_etl8b2_record_and_its_picture_reach_the_model_as_one_image(layouts):
    root, _ = layouts
    out = root / "layouts"
    b = read_etl_dir(out / "ETL8B2", get_format("ETL8B2"), None)
    from_records = normalise_records(b.images, 1, 28, "ink_box", names=[str(i) for i in range(14)])
    from_pictures = np.stack([prepare_image(out / "pictures" / "b64" / f, 28, "ink_box")
                              for f, _, _ in read_picture_labels(out / "pictures")])
    assert np.array_equal(from_records, from_pictures)


def test_ink_box_makes_layouts_agree_where_the_whole_cell_resize_does_not(layouts):
    """The issue's first fault: ETL8G cells (margin) and B-type cells (edge to edge) came out at different sizes."""
    root, _ = layouts
    g = read_etl_dir(root / "layouts" / "ETL8G", get_format("ETL8G"), None)
    b = read_etl_dir(root / "layouts" / "ETL8B2", get_format("ETL8B2"), None)
    names = [str(i) for i in range(14)]

    def ink_extent(images):
        return np.array([max(np.ptp(np.flatnonzero(i.any(1))), np.ptp(np.flatnonzero(i.any(0)))) + 1
                         for i in images > 64])

    framed_g, framed_b = (normalise_records(x.images, bits, 28, "ink_box", names=names) for x, bits in ((g, 4), (b, 1)))
    cell_g, cell_b = (normalise_records(x.images, bits, 28, "cell", names=names) for x, bits in ((g, 4), (b, 1)))
    assert np.abs(ink_extent(framed_g) - ink_extent(framed_b)).max() <= 2
    assert np.abs(ink_extent(cell_g) - ink_extent(cell_b)).mean() >= 6
    # a writer's small and large characters come out the same size too
    assert np.abs(ink_extent(framed_g[:7]) - ink_extent(framed_g[7:])).max() <= 2


def test_ink_square_frames_a_character_alike_whether_its_file_stretched_it_or_not(layouts):
    """ETL8B2 stretches every character to fill its cell; ink_square stretches every input, so a G-type
    record and its B-type copy come out as nearly one image (ink_box keeps them apart for narrow ones)."""
    root, _ = layouts
    g = read_etl_dir(root / "layouts" / "ETL8G", get_format("ETL8G"), None)
    b = read_etl_dir(root / "layouts" / "ETL8B2", get_format("ETL8B2"), None)
    names = [str(i) for i in range(14)]

    def correlation(x, y):
        x, y = x.astype(np.float32) - x.mean(), y.astype(np.float32) - y.mean()
        return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))

    def agreement(method):
        framed_g = normalise_records(g.images, 4, 28, method, names=names)
        framed_b = normalise_records(b.images, 1, 28, method, names=names)
        return np.array([correlation(x, y) for x, y in zip(framed_g, framed_b, strict=True)])

    square, box = agreement("ink_square"), agreement("ink_box")
    assert square.min() > 0.7, square
    assert square.mean() > box.mean() + 0.05, (square, box)


def test_a_record_without_ink_is_an_error_naming_it():
    blank = np.zeros((1, 127, 128), np.uint8)
    with pytest.raises(NetaError, match="ETL8G record 0 \\(writer 3, あ\\)"):
        normalise_records(blank, 4, 28, "ink_box", names=["ETL8G record 0 (writer 3, あ)"])
    with pytest.raises(NetaError, match="hiragana.normalise"):
        normalise_records(blank, 4, 28, "stretch", names=["x"])


def test_workers_do_not_change_the_result(layouts):
    root, _ = layouts
    g = read_etl_dir(root / "layouts" / "ETL8G", get_format("ETL8G"), None)
    raw = np.concatenate([g.images] * 20)  # 280 records: enough to use the pool
    names = [str(i) for i in range(len(raw))]
    assert np.array_equal(normalise_records(raw, 4, 28, "ink_box", names=names, workers=1),
                          normalise_records(raw, 4, 28, "ink_box", names=names, workers=2))


@pytest.mark.parametrize("method", ["ink_square", "cell"])
def test_records_and_pictures_framed_once_for_two_sizes_are_what_each_size_alone_gives(layouts, method):
    """The report frames each record and picture once for the tutorial CNN's 28 pixels and the
    BN-CNN's 56: the same images as normalising twice, by records, with workers, and by pictures."""
    root, _ = layouts
    g = read_etl_dir(root / "layouts" / "ETL8G", get_format("ETL8G"), None)
    raw = np.concatenate([g.images] * 20)  # 280 records: enough to use the pool
    names = [str(i) for i in range(len(raw))]
    for workers in (1, 2):
        both = normalise_records_sizes(raw, 4, (28, 56), method, names=names, workers=workers)
        assert list(both) == [28, 56]
        for size in (28, 56):
            assert np.array_equal(both[size], normalise_records(raw, 4, size, method, names=names)), (workers, size)
    picture = root / "layouts" / "pictures" / "b64" / read_picture_labels(root / "layouts" / "pictures")[0][0]
    small, large = prepare_image_sizes(picture, (28, 56), "ink_square")
    assert np.array_equal(small, prepare_image(picture, 28, "ink_square"))
    assert np.array_equal(large, prepare_image(picture, 56, "ink_square"))


def pen_figure(pen: int) -> np.ndarray:
    """Grey (paper 1) 800 x 600 picture of a character-like figure (a bar, a hooked stem, an arc) about
    300 pixels across, drawn ``pen`` pixels wide: a hairline, a pen or a thick marker on a large canvas."""
    image = Image.new("L", (800, 600), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(250, 200), (550, 200)], fill=0, width=pen)
    draw.line([(400, 100), (400, 400), (330, 480)], fill=0, width=pen, joint="curve")
    draw.arc((300, 250, 560, 500), 200, 80, fill=0, width=pen)
    return np.asarray(image, np.float32) / 255.0


@pytest.mark.parametrize("method", ["ink_square", "ink_box"])
def test_a_thick_marker_and_a_hairline_are_brought_to_an_etl_writers_pen(method):
    square = method == "ink_square"
    widths = {pen: framed_pen_width(ink_map(pen_figure(pen), str(pen)), square=square) for pen in (4, 16, 60)}
    # the figure drawn 16 pixels wide is framed with a writer's pen; 60 (a marker) and 4 are not
    assert widths[60] > PEN_RANGE[1] and widths[4] < PEN_RANGE[0] <= widths[16] <= PEN_RANGE[1], widths
    ink = {pen: normalise_grey(pen_figure(pen), 28, str(pen), method).astype(np.float32).sum() for pen in widths}
    # as drawn, the marker's strokes would hold about three times the pen's ink at 28 pixels and the
    # hairline's a quarter; brought to the writers' pen, all three hold about as much (the marker a
    # little more: thinning leaves a blot where its strokes cross)
    assert 0.8 < ink[60] / ink[16] < 1.3, ink
    assert 0.8 < ink[4] / ink[16] < 1.25, ink


def test_thinning_a_thick_pen_keeps_its_thin_strokes():
    """A marker's strokes are thinned to a writer's pen; a stroke already thinner than that pen (a
    brush's sweep, a stroke across a narrow character's stretch) is not thinned with them, where the
    median stroke's erosion would wipe it out."""
    frame = np.zeros((ETL_FRAME * SUPERSAMPLE,) * 2, np.float32)
    frame[60:100, 40:216] = 1.0  # a thick stroke, 40 frame pixels wide: the median one
    frame[160:166, 40:216] = 1.0  # a thin one, 6 pixels: thinner than the writers' pen already
    out = normalise_pen(frame, 40.0 / SUPERSAMPLE)
    assert out[161:165, 50:206].min() > 0.9  # the thin stroke is all there
    assert np.array_equal(out[140:190] > 0.5, frame[140:190] > 0.5)
    thick = (out[40:120, 70:186] > 0.5).sum(axis=0)  # the thick one is brought to the writers' pen
    assert np.all(np.abs(thick - PEN_TARGET * SUPERSAMPLE) <= 1.5), thick


def test_the_pen_width_read_before_framing_is_the_framed_strokes_width():
    """framed_pen_width stands in for _pen_width on the 256-pixel frame (too slow to take on every record)."""
    greys = [pen_figure(pen) for pen in (4, 16, 60)]
    greys += [1.0 - etl8g_cell(char, scale=scale).astype(np.float32) / 15 for char in CHARS for scale in (0.45, 0.7)]
    for grey in greys:
        ink = ink_map(grey, "figure")
        for square in (True, False):
            framed = _pen_width(etl_frame(ink.soft, ink.mask, square=square) > 0.5) / SUPERSAMPLE
            assert framed_pen_width(ink, square=square) == pytest.approx(framed, rel=0.15, abs=0.3)


def test_b_type_of_a_blank_record_is_blank_and_small_noise_is_not_ink():
    assert not b_type(np.zeros((127, 128), np.uint8), 4).any()
    cell = etl8g_cell("る")
    noisy = cell.copy()
    noisy[cell == 0] = 1  # scanner noise a level above the paper
    clean, with_noise = b_type(cell, 4).astype(bool), b_type(noisy, 4).astype(bool)
    # no speck of it is ink; the threshold moves a little with the mean level, so a stroke's edge
    # pixels may turn, and the box with them by a pixel
    assert abs(int(with_noise.sum()) - int(clean.sum())) <= 0.05 * clean.sum()
    assert (clean & with_noise).sum() >= 0.8 * (clean | with_noise).sum()


def test_b_type_keeps_a_faint_stroke_beside_a_dark_one():
    """AIST's threshold lies near the paper (0.4 of Otsu's and 0.6 of the mean level), so a stroke a
    pencil left at a third of the ink level is ink in the B-type image, as the dark one is."""
    cell = np.zeros((127, 128), np.uint8)
    cell[30:100, 40:44] = 13  # a dark upright stroke
    cell[30:34, 60:100] = 5  # a faint level one
    image = b_type(cell, 4)
    assert image[:, :10].any() and image[:3, 30:].any()  # both ends of the box hold ink ...
    assert image[:3, 30:].mean() > 0.9  # ... the faint stroke's whole length


def test_paper_noise_far_from_the_character_sets_no_b_type_box():
    cell = etl8g_cell("る", scale=0.45)
    speck = cell.copy()
    speck[3:5, 3:5] = 15  # a dark speck of paper noise in the cell's corner
    assert np.array_equal(b_type(cell, 4), b_type(speck, 4))
    assert b_type(cell, 4)[:, 0].any() and b_type(cell, 4)[0].any()  # the character fills the cell


def test_voicing_errors_count_phantom_marks_and_swaps():
    classes = ["か", "が", "て", "で", "は", "ば", "ぱ", "あ"]
    assert voiced_twins(classes) == {0: {1}, 2: {3}, 4: {5, 6}}
    idx = {c: i for i, c in enumerate(classes)}
    true = [idx[c] for c in "かかかててははあぱばぱ"]
    pred = [idx[c] for c in "がかあでてぱはがばぱぱ"]
    found = voicing_errors(np.array(true), np.array(pred), classes)
    # base characters with a twin: か か か て て は は (7); read as the twin: が で ぱ (3); あ→が is not one
    assert found["n_base_with_twin"] == 7 and found["n_phantom_dakuten"] == 3
    assert found["phantom_dakuten_rate"] == pytest.approx(3 / 7, abs=1e-6)
    # marked: ぱ ば ぱ; ぱ→ば and ば→ぱ swap marks, the last ぱ is right
    assert found["n_marked"] == 3 and found["n_mark_swap"] == 2
    json.dumps(found)  # goes into metrics.json as it is
