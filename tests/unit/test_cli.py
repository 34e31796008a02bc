"""The `neta` command line: help, inspect and error handling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neta.cli import command_modules, main
from neta.h5io import write_h5


def test_every_subcommand_has_help():
    for argv in (["--help"], ["inspect", "--help"], ["etl", "synth", "--help"], ["etl", "convert", "--help"],
                 ["etl", "convert-bn-cnn", "--help"], ["hiragana", "train", "--help"], ["hiragana", "report", "--help"],
                 ["hiragana", "eval", "--help"]):
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


def test_inspect_of_a_file_that_is_not_hdf5_says_so_without_workflow_advice(tmp_path, capsys):
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("RGB", (4, 4)).save(photo)
    notes = tmp_path / "my notes.txt"
    notes.write_text("mine, not the workflow's\n", encoding="utf-8")
    for path in (photo, notes):
        assert main(["inspect", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path} is not an HDF5 file (file signature not found)" in err
        assert "delete" not in err and "make run" not in err and "snakemake" not in err
    assert photo.exists() and notes.exists()


def test_a_stage_reading_a_broken_artifact_is_told_how_to_rebuild_it(tmp_path):
    from neta.errors import NetaError
    from neta.h5io import read_h5

    broken = tmp_path / "out dir" / "etl.h5"
    broken.parent.mkdir()
    broken.write_bytes(b"not hdf5")
    with pytest.raises(NetaError, match="is not an HDF5 file") as caught:
        read_h5(broken)
    assert f"`snakemake --cores 2 '{broken}'`" in str(caught.value)  # quoted: the path has a space


def test_bad_schedule_is_a_usage_error(capsys):
    proc = subprocess.run(
        [sys.executable, "-m", "neta", "hiragana", "train", "--etl", "x", "--out", "y", "--train-lr-schedule", "0=1"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "is not JSON" in proc.stderr and "[[0, 0.001]" in proc.stderr


def test_parse_bokete_prints_one_json_line_a_boke(capsys):
    import json
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "data" / "bokete" / "boke_hot_2013.html"
    assert main(["parse", "bokete", str(page), "--url", "http://bokete.jp/boke/hot"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 10
    assert records[0]["boke_id"] == 11141771 and records[0]["stars"] == 1324
    assert {r["layout"] for r in records} == {"xhtml2013"}


def test_parse_of_an_unknown_layout_names_the_page(tmp_path, capsys):
    page = tmp_path / "other.html"
    page.write_text("<html><body><p>not bokete</p></body></html>", encoding="utf-8")
    assert main(["parse", "bokete", str(page), "--url", "http://example.test/x"]) == 2
    assert "http://example.test/x" in capsys.readouterr().err


def test_convert_of_a_truncated_file_exits_2_and_writes_nothing(tmp_path, capsys):
    etl_dir = tmp_path / "etl"
    etl_dir.mkdir()
    (etl_dir / "ETL8G_01").write_bytes(b"\0" * (8199 * 2 + 100))
    out = tmp_path / "etl_28.h5"
    assert main(["etl", "convert", "--format", "ETL8G", "--input", str(etl_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ETL8G_01" in err and "8199" in err
    assert list(tmp_path.glob("etl_28.h5*")) == [] and list(tmp_path.glob(".etl_28*")) == []


def test_convert_of_an_unknown_format_exits_2(tmp_path, capsys):
    out = tmp_path / "etl_28.h5"
    assert main(["etl", "convert", "--format", "ETL99", "--input", str(tmp_path), "--out", str(out)]) == 2
    assert "ETL99" in capsys.readouterr().err and not out.exists()


def test_a_command_imports_only_its_own_area():
    """So a stage runs (and its rule tracks) its own command module, not the others'."""
    code = ("import sys; from neta.cli import build_parser; build_parser(['etl', 'synth', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith('neta.commands.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['neta.commands.etl']"


@pytest.mark.parametrize("argv, modules", [
    (["report", "metric-tables", "--table", "a", "b", "c"], ["neta.commands.report"]),
    (["caption", "--model", "m.pt", "photo.jpg"], ["neta.commands.captioner"]),
    (["-q", "serve", "--port", "8001"], ["neta.commands.serve"]),
    (["parse", "dodo", "menu.html"], ["neta.commands.dodo"]),
    (["export", "oogiri-go", "--out", "x.jsonl"], ["neta.commands.export"]),
    (["inspect", "x.h5"], []),
])
def test_a_command_line_finds_its_module_by_name(argv, modules):
    """A new area is the module neta.commands.<word>: adding one edits no file every stage tracks."""
    assert command_modules(argv) == modules


def test_help_imports_every_command_module():
    everything = command_modules(["--help"])
    expected = {"neta.commands.etl", "neta.commands.report", "neta.commands.serve", "neta.commands.bokete"}
    assert expected <= set(everything)
    assert command_modules(["no-such-area"]) == everything


def test_help_lists_every_area():
    proc = subprocess.run([sys.executable, "-m", "neta", "parse", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "bokete" in proc.stdout


def run_neta(*argv: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neta", *argv], capture_output=True, text=True, cwd=cwd)


def test_parse_dodo_prints_the_real_2023_menu_as_the_readme_shows():
    import json
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "data" / "dodopizza" / "menu_moscow_2023-11.html"
    proc = run_neta("parse", "dodo", str(page))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    pizzas = [r for r in records if not r["custom"]]
    assert len(pizzas) == 29 and sum(r["custom"] for r in records) == 2
    assert all(r["name"] and r["ingredients"] and r["image_url"].startswith("https://") for r in pizzas)


def test_features_of_a_folder_of_photos_as_the_readme_shows(tmp_path):
    import h5py
    from PIL import Image
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("coffee", "astronaut", "chelsea"):
        Image.fromarray(getattr(data, name)()).save(photos / f"{name}.jpg")
    proc = run_neta("features", "--images", "photos", "--out", "photos_features.h5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "photos_features.h5", "r") as handle:
        assert handle["features"].shape == (3, 1280)
        assert handle.attrs["backbone"] == "mobilenet_v2"


def test_train_by_hand_from_a_configfile_and_a_flag(tmp_path):
    """`neta hiragana train … --configfile config.yaml --train-steps N`, as the README shows."""
    import h5py
    import torch
    import yaml

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"hiragana": {"synth": {"writers": 3}, "baseline": {"steps": 3},
                                                   "train": {"lr_schedule": [[0, 0.001]]}}}), encoding="utf-8")
    assert run_neta("etl", "synth", "--format", "ETL8G", "--out", "etl", "--configfile", str(config),
                    cwd=tmp_path).returncode == 0
    assert run_neta("etl", "convert", "--format", "ETL8G", "--input", "etl", "--out", "etl_28.h5",
                    "--configfile", str(config), cwd=tmp_path).returncode == 0
    proc = run_neta("hiragana", "train", "--etl", "etl_28.h5", "--out", "model.pt", "--configfile", str(config),
                    "--train-steps", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    checkpoint = torch.load(tmp_path / "model.pt", weights_only=True)
    params = checkpoint["params"]
    assert params["steps"] == 4 and params["baseline_steps"] == 3  # the flag, then the config file
    assert params["lr_schedule"] == [[0, 0.001]]
    # the batch-normalised CNN by hand: the same records at its own size, then its training
    assert run_neta("etl", "convert-bn-cnn", "--format", "ETL8G", "--input", "etl", "--out", "etl_bn_cnn.h5",
                    "--configfile", str(config), cwd=tmp_path).returncode == 0
    with h5py.File(tmp_path / "etl_bn_cnn.h5", "r") as fine, h5py.File(tmp_path / "etl_28.h5", "r") as coarse:
        assert fine["images"].shape[1:] == (56, 56) and coarse["images"].shape[1:] == (28, 28)
        assert np.array_equal(fine["split"][()], coarse["split"][()])
    proc = run_neta("hiragana", "train-bn-cnn", "--etl", "etl_bn_cnn.h5", "--out", "bn_cnn.pt", "--configfile",
                    str(config), "--bn-cnn-steps", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    checkpoint = torch.load(tmp_path / "bn_cnn.pt", weights_only=True)
    assert checkpoint["size"] == 56 and checkpoint["params"]["steps"] == 4
    # the tutorial CNN's file is refused by the BN-CNN's training, saying which command makes its own
    proc = run_neta("hiragana", "train-bn-cnn", "--etl", "etl_28.h5", "--out", "wrong.pt", "--configfile",
                    str(config), "--bn-cnn-steps", "4", cwd=tmp_path)
    assert proc.returncode != 0 and "neta etl convert-bn-cnn" in proc.stderr
    assert not (tmp_path / "wrong.pt").exists()
