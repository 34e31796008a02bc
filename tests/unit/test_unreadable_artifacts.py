"""`make run` sets aside the results that no longer read (workflow/lib/unreadable_artifacts.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow" / "lib"))

from unreadable_artifacts import set_aside  # noqa: E402


def test_each_kind_of_damage_is_set_aside_and_whole_files_stay(tmp_path, capsys):
    results = tmp_path / "results"
    (results / "pizza").mkdir(parents=True)
    (results / "cache").mkdir()
    with h5py.File(results / "pizza" / "whole.h5", "w") as handle:
        handle["images"] = np.zeros((64, 32, 32), dtype=np.uint8)
    cut = (results / "pizza" / "whole.h5").read_bytes()
    (results / "pizza" / "cut.h5").write_bytes(cut[: len(cut) // 2])
    (results / "pizza" / "menu.csv").write_text("slug,name\na,b\n", encoding="utf-8")
    (results / "pizza" / "ragged.csv").write_text("slug,name\na,b\nc,d,e\n", encoding="utf-8")
    (results / "pizza" / "recipes.json").write_text('{"a": 1}', encoding="utf-8")
    (results / "pizza" / "metrics.json").write_text('{"a": ', encoding="utf-8")
    torch.save({"w": torch.zeros(100)}, results / "pizza" / "model.pt")
    good = (results / "pizza" / "model.pt").read_bytes()
    (results / "pizza" / "flipped.pt").write_bytes(good[:-200] + bytes(b ^ 0xFF for b in good[-200:]))
    (results / "cache" / "junk.json").write_text("not json", encoding="utf-8")  # a cache is not a result

    moved = set_aside(tmp_path)

    assert sorted(path.name for path in moved) == ["cut.h5.unreadable", "flipped.pt.unreadable",
                                                   "metrics.json.unreadable", "ragged.csv.unreadable"]
    left = sorted(path.name for path in (results / "pizza").iterdir() if path.suffix != ".unreadable")
    assert left == ["menu.csv", "model.pt", "recipes.json", "whole.h5"]
    err = capsys.readouterr().err
    assert f"{results / 'pizza' / 'ragged.csv'} does not read (ValueError: line 3 has 3 fields" in err
    assert err.count("this run rebuilds it from its inputs") == 4
    assert (results / "cache" / "junk.json").exists()


def test_no_results_folder_is_nothing_to_do(tmp_path):
    assert set_aside(tmp_path) == []
