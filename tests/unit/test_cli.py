"""The `neta` command line: help, inspect and error handling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from neta.cli import main
from neta.h5io import write_h5


def test_every_subcommand_has_help():
    for argv in (["--help"], ["inspect", "--help"], ["etl", "synth", "--help"], ["etl", "convert", "--help"],
                 ["hiragana", "train", "--help"], ["hiragana", "evaluate", "--help"], ["hiragana", "eval", "--help"]):
        proc = subprocess.run([sys.executable, "-m", "neta", *argv], capture_output=True, text=True)
        assert proc.returncode == 0, (argv, proc.stderr)
        assert "usage: neta" in proc.stdout


def test_inspect_prints_datasets(tmp_path, capsys):
    path = tmp_path / "x.h5"
    write_h5(path, {"images": np.zeros((4, 28, 28), np.uint8)}, stage="demo")
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "/images  shape=(4, 28, 28) dtype=uint8" in out and "@stage = 'demo'" in out


def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err
    assert "neta: error:" in err and "nope.h5" in err and "Traceback" not in err


def test_bad_schedule_is_a_usage_error(capsys):
    proc = subprocess.run(
        [sys.executable, "-m", "neta", "hiragana", "train", "--etl", "x", "--out", "y", "--lr-schedule", "0=1"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "STEP:VALUE" in proc.stderr
