"""Handwriting fonts of the synthetic writers: the installer (npm stood in for), font choice, rendering."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from neta.errors import NetaError
from neta.fonts import ipaexgothic_path
from neta.hiragana.etl.jis import HIRAGANA_75
from neta.hiragana.etl.synth import handfonts
from neta.hiragana.etl.synth.handfonts import (
    HANDFONTS,
    HandFont,
    covering_files,
    font_files,
    install,
    is_installed,
    training_fonts,
    usable_fonts,
    writer_font,
)

# two subsets split the hiragana as Fontsource's do (む onwards in another file), a third holds none
CSS = """/* fam-[119]-400-normal */
@font-face {
  font-family: 'Fam';
  src: url(./files/fam-119-400-normal.woff2) format('woff2'), url(./files/fam-119-400-normal.woff) format('woff');
  unicode-range: U+20,U+3001-3002,U+3041-307f,U+4e00;
}
/* fam-[115]-400-normal */
@font-face {
  font-family: 'Fam';
  src: url(./files/fam-115-400-normal.woff2) format('woff2'), url(./files/fam-115-400-normal.woff) format('woff');
  unicode-range: U+3080-309f,U+4??;
}
/* fam-[latin]-400-normal */
@font-face {
  font-family: 'Fam';
  src: url(./files/fam-latin-400-normal.woff2) format('woff2'), url(./files/fam-latin-400-normal.woff) format('woff');
  unicode-range: U+0000-00FF;
}
"""
NEEDED = {"LICENSE", "package.json", "400.css", "files/fam-115-400-normal.woff", "files/fam-119-400-normal.woff"}


def test_unicode_range_picks_the_subset_file_of_each_character():
    files = covering_files(CSS, "あみむんA")
    assert files == {"あ": "fam-119-400-normal.woff", "み": "fam-119-400-normal.woff",
                     "む": "fam-115-400-normal.woff", "ん": "fam-115-400-normal.woff",
                     "A": "fam-latin-400-normal.woff"}
    assert covering_files(CSS, "\u04ff") == {"\u04ff": "fam-115-400-normal.woff"}  # U+4?? is U+400-4FF
    with pytest.raises(NetaError, match=r"U\+30A2"):
        covering_files(CSS, "ア")


def _package(name: str = "fam", version: str = "5.3.0", license_text: str | None = "OFL") -> bytes:
    """A Fontsource-like tarball: the stylesheet above, IPAexGothic standing in for each subset woff."""
    font = ipaexgothic_path().read_bytes()
    members = {
        "package/package.json": json.dumps({"name": f"@fontsource/{name}", "version": version}).encode(),
        "package/400.css": CSS.replace("fam-", f"{name}-").encode(),
        "package/index.css": b"/* all weights */",
        "package/README.md": b"readme",
        f"package/files/{name}-119-400-normal.woff": font,
        f"package/files/{name}-115-400-normal.woff": font,
        f"package/files/{name}-119-400-normal.woff2": b"woff2",
        f"package/files/{name}-latin-400-normal.woff": b"latin",
    }
    if license_text is not None:
        members["package/LICENSE"] = license_text.encode()
    buffer = io.BytesIO()
    # compresslevel 1: the stand-in fonts are large, and a test has no use for a small tarball
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeNpm:
    """Stands in for `npm pack`: writes the tarball into the folder, as npm does, and counts the calls."""

    def __init__(self, tarball: bytes):
        self.tarball, self.calls = tarball, []

    def __call__(self, spec, into):
        self.calls.append(spec)
        path = into / (spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz")
        path.write_bytes(self.tarball)
        return path


def _tree(folder):
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_install_keeps_only_the_needed_members_and_is_idempotent(tmp_path):
    npm = FakeNpm(_package())
    dest = tmp_path / "fonts"
    fonts = [HandFont("fam", "5.3.0")]
    assert install(dest, fonts, pack=npm) == ["fam"]
    assert npm.calls == ["@fontsource/fam@5.3.0"]
    assert _tree(dest / "fam") == NEEDED
    assert (dest / "fam" / "LICENSE").read_text() == "OFL"
    assert install(dest, fonts, pack=npm) == [] and len(npm.calls) == 1  # nothing fetched again
    assert sorted(os.listdir(dest)) == ["fam"]
    # a new pinned version replaces the old one
    npm.tarball = _package(version="5.4.0")
    assert install(dest, [HandFont("fam", "5.4.0")], pack=npm) == ["fam"]
    assert json.loads((dest / "fam" / "package.json").read_text())["version"] == "5.4.0"


def test_a_failed_or_killed_install_leaves_nothing_half_written(tmp_path):
    dest = tmp_path / "fonts"
    fonts = [HandFont("fam", "5.3.0")]
    with pytest.raises(NetaError, match="no LICENSE"):
        install(dest, fonts, pack=FakeNpm(_package(license_text=None)))
    assert not dest.exists() or os.listdir(dest) == []
    with pytest.raises(NetaError, match="version 5.2.0"):
        install(dest, fonts, pack=FakeNpm(_package(version="5.2.0")))
    assert not (dest / "fam").exists()
    # a killed install leaves its temporary (named for a process that no longer runs): not an install,
    # and the next install removes it
    leftover = dest / ".fam.999999999-0a1b2c3d.part"
    (leftover / "files").mkdir(parents=True)
    (leftover / "400.css").write_text(CSS)
    assert not is_installed(fonts[0], dest)
    assert install(dest, fonts, pack=FakeNpm(_package())) == ["fam"]
    assert sorted(os.listdir(dest)) == ["fam"] and _tree(dest / "fam") == NEEDED


def test_font_files_name_each_characters_subset(tmp_path, monkeypatch):
    monkeypatch.setattr(handfonts, "HANDFONTS", (HandFont("yomogi", "5.3.0"),))
    install(tmp_path, pack=FakeNpm(_package("yomogi")))
    files = font_files("yomogi", ["あ", "む", "を"], tmp_path)
    assert [p.name for p in files] == ["yomogi-119-400-normal.woff", "yomogi-115-400-normal.woff",
                                       "yomogi-115-400-normal.woff"]
    assert font_files("yomogi", ["あ"], tmp_path / "elsewhere") is None
    assert font_files("ipaexgothic", ["あ"], tmp_path) == [ipaexgothic_path()]


def test_missing_npm_or_a_failing_npm_is_an_error_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(NetaError, match=r"npm not found.*@fontsource/yomogi@5\.3\.0"):
        handfonts.npm_pack("@fontsource/yomogi@5.3.0", tmp_path)
    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho 'npm error 404 Not Found' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(fake))
    with pytest.raises(NetaError, match=r"npm pack @fontsource/nope@1\.0\.0 failed \(exit 1\): npm error 404"):
        handfonts.npm_pack("@fontsource/nope@1.0.0", tmp_path)


def test_a_font_not_installed_is_skipped_with_the_install_command(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert usable_fonts(["ipaexgothic", "yomogi"], tmp_path) == ("ipaexgothic",)
    assert "yomogi" in caplog.text and "handfonts install" in caplog.text
    with pytest.raises(NetaError, match="comic-sans"):
        usable_fonts(["comic-sans"], tmp_path)


def test_heldout_fonts_are_never_a_training_writers_font():
    held = ["yuji-mai", "zen-kurenaido", "hachi-maru-pop"]
    train = training_fonts(held)
    assert train[0] == "ipaexgothic" and not set(held) & set(train)
    assert len(train) == len(HANDFONTS) + 1 - len(held)
    picks = [writer_font(7, i, train) for i in range(300)]
    assert picks == [writer_font(7, i, train) for i in range(300)]  # deterministic in (seed, index)
    assert set(picks) == set(train)  # every training font gets writers
    # in turn: the first len(train) font writers use every font once
    assert sorted(picks[: len(train)]) == sorted(train)
    assert any([writer_font(seed, i, train) for i in range(300)] != picks for seed in (8, 9))
    with pytest.raises(NetaError, match="always a training font"):
        training_fonts(["ipaexgothic"])
    with pytest.raises(NetaError, match="heldout_fonts.*papyrus"):
        training_fonts(["papyrus"])


def test_schema_names_the_fonts_the_code_knows():
    import neta
    from neta.settings import validate_config

    schema = yaml.safe_load((Path(neta.__file__).parent / "config.schema.yaml").read_text(encoding="utf-8"))
    spec = schema["properties"]["hiragana"]["properties"]["synth"]["properties"]["heldout_fonts"]
    assert spec["items"]["enum"] == [f.name for f in HANDFONTS]
    default = validate_config({})["hiragana"]["synth"]["heldout_fonts"]
    assert default and set(default) <= set(spec["items"]["enum"])


def test_heldout_style_set_gets_font_writers_of_the_heldout_fonts_only(tmp_path, monkeypatch):
    import neta.hiragana.etl.synth as synth
    from neta.cli import build_parser

    monkeypatch.setattr(handfonts, "HANDFONTS", (HandFont("yuji-mai", "5.3.0"), HandFont("yomogi", "5.3.0")))
    for font in handfonts.HANDFONTS:
        install(tmp_path / "fonts", [font], pack=FakeNpm(_package(font.name)))
    monkeypatch.setattr(handfonts, "fonts_dir", lambda: tmp_path / "fonts")
    calls = []
    monkeypatch.setattr(synth, "synth_etl", lambda out, **kw: calls.append(kw) or [])
    for extra in (["--heldout-styles"], []):
        argv = ["etl", "synth", "--format", "ETL8G", "--out", str(tmp_path / "out"), "--heldout-fonts", "yuji-mai",
                *extra]
        args = build_parser(argv).parse_args(argv)
        assert args.handler(args) == 0
    held, train = calls
    assert held["families"] == ("brush", "pencil", "font") and held["fonts"] == ("yuji-mai",)
    assert "font" in train["families"] and "yuji-mai" not in train["fonts"] and "yomogi" in train["fonts"]


# --- rendering ----------------------------------------------------------------------------------


def _installed(*names):
    missing = [n for n in names if not is_installed(next(f for f in HANDFONTS if f.name == n), handfonts.fonts_dir())]
    if missing:
        pytest.skip(f"handwriting fonts {missing} not installed; run make install")


def test_normal_pen_brings_thin_and_thick_strokes_to_one_width():
    from neta.hiragana.etl.synth.warp import NORMAL_PEN, normal_pen

    for width in (4, 16):  # px: a hairline font and a blob font, drawn at twice the resolution
        hires = np.zeros((1, 254, 256), dtype=np.float32)
        hires[0, 127 - width : 127 + width, 40:200] = 1.0
        out = normal_pen(hires, 2)
        assert out.shape == (1, 127, 128)
        across = out[0, :, 50:90].sum(axis=0).mean()  # ink across the middle of the stroke
        assert abs(across - NORMAL_PEN) < 0.8, (width, across)


def test_a_font_writer_writes_with_its_font(tmp_path):
    from neta.hiragana.etl.jis import decode_codes
    from neta.hiragana.etl.synth.glyphs import glyph_templates
    from neta.hiragana.etl.synth.paper import paper_noise
    from neta.hiragana.etl.synth.sheet import sheet_codes
    from neta.hiragana.etl.synth.warp import pen_variants
    from neta.hiragana.etl.synth.write import font_pens, synth_writer

    _installed("yomogi", "darumadrop-one")
    chars = list(HIRAGANA_75)
    pens = {name: font_pens(name, chars, handfonts.fonts_dir()) for name in ("yomogi", "darumadrop-one")}
    # brought to one pen: the blob font's ink comes close to the hairline font's; the shapes still differ
    ink = {name: (p[1] > 127).mean() for name, p in pens.items()}
    raw = {name: (glyph_templates(chars, font_files(name, chars, handfonts.fonts_dir())) > 0.5).mean()
           for name in pens}
    assert raw["darumadrop-one"] > 1.8 * raw["yomogi"], raw
    assert 0.6 < ink["darumadrop-one"] / ink["yomogi"] < 1.2, ink
    assert np.abs(pens["yomogi"][1].astype(float) - pens["darumadrop-one"][1]).mean() > 5

    codes = sheet_codes()[:77]  # the 75 hiragana come first on the sheet; two kanji keep the kanji path
    hira_mask = np.isin(decode_codes(codes, "jis0208"), np.asarray(chars))
    kanji = pen_variants(glyph_templates(list(decode_codes(codes[~hira_mask], "jis0208"))))
    noise = paper_noise(np.random.default_rng(0))
    images = {name: synth_writer(4, 1, codes, hira_mask, None, p, kanji, noise, "font")[0][hira_mask]
              for name, p in pens.items()}
    again = synth_writer(4, 1, codes, hira_mask, None, pens["yomogi"], kanji, noise, "font")[0][hira_mask]
    np.testing.assert_array_equal(images["yomogi"], again)
    assert np.abs(images["yomogi"].astype(float) - images["darumadrop-one"]).mean() > 0.3


def test_synth_records_each_font_writers_font(tmp_path):
    from neta.hiragana.etl.synth import read_writer_families, read_writer_fonts, synth_etl

    _installed("yomogi", "yuji-mai")
    train = training_fonts(["yuji-mai"])
    synth_etl(tmp_path, fmt="ETL8G", writers=1, seed=4, families=["font"], fonts=train, writers_per_file=1)
    assert read_writer_families(tmp_path) == {1: "font"}
    assert read_writer_fonts(tmp_path) == {1: writer_font(4, 0, train)} and "yuji-mai" not in train


def test_writer_tables_before_the_font_column_still_read(tmp_path):
    from neta.hiragana.etl.synth import WRITERS_TABLE, read_writer_families, read_writer_fonts

    (tmp_path / WRITERS_TABLE).write_text("writer,family\n1,ballpoint\n2,font\n")
    assert read_writer_families(tmp_path) == {1: "ballpoint", 2: "font"} and read_writer_fonts(tmp_path) == {}
    (tmp_path / WRITERS_TABLE).write_text("writer,family,font\n1,ballpoint,\n2,font,yomogi\n")
    assert read_writer_families(tmp_path) == {1: "ballpoint", 2: "font"}
    assert read_writer_fonts(tmp_path) == {2: "yomogi"}
    (tmp_path / WRITERS_TABLE).write_text("writer,family\nx,ballpoint\n")
    with pytest.raises(NetaError, match="malformed"):
        read_writer_families(tmp_path)


def test_a_writers_hand_is_its_font_or_else_its_family(tmp_path):
    from neta.hiragana.etl.synth import WRITERS_TABLE, read_writer_hands

    assert read_writer_hands(tmp_path) == {}  # real ETL files: no table
    (tmp_path / WRITERS_TABLE).write_text("writer,family,font\n1,ballpoint,\n2,font,slackside-one\n3,pencil,\n")
    assert read_writer_hands(tmp_path) == {1: "ballpoint", 2: "slackside-one", 3: "pencil"}
    (tmp_path / WRITERS_TABLE).write_text("writer,family\n1,brush\n")
    assert read_writer_hands(tmp_path) == {1: "brush"}
