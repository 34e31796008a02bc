"""The caption generator through real snakemake runs: the default bokete run, then the public-dataset formats
set up the way the README says (config keys, `snakemake`, then `neta caption` on a new photo)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from caption_fixtures import photo_jpeg, write_boke_can, write_oogiri_go  # noqa: E402

from neta.boke.metrics import METRICS  # noqa: E402

pytestmark = pytest.mark.integration


def neta(flow, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neta", *args], cwd=flow.root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(flow.root / "src"), "PATH": str(Path(sys.executable).parent)},
                          timeout=300)


def check_outputs(folder: Path) -> dict:
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert set(METRICS) <= set(metrics) and all(0 <= metrics[name] for name in METRICS)
    assert metrics["perplexity"] > 1 and metrics["test_photos"] >= 1
    samples = json.loads((folder / "samples.json").read_text(encoding="utf-8"))
    assert len(samples) == metrics["test_photos"]
    for sample in samples:
        found = sample["generated"]
        assert 1 <= len(found) <= metrics["top"]
        complete = [c["complete"] for c in found]  # complete bokes first, each group in the beam's order
        assert complete == sorted(complete, reverse=True)
        for group in (True, False):
            scores = [c["logprob"] for c in found if c["complete"] is group]
            assert scores == sorted(scores, reverse=True)
        assert sample["references"] and (folder / sample["path"]).is_file()
    log = pd.read_csv(folder / "train_log.csv")
    assert list(log.columns[:3]) == ["epoch", "train_loss", "val_loss"] and log["train_loss"].iloc[-1] < \
        log["train_loss"].iloc[0]
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["words"][:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert (folder / "loss.png").stat().st_size > 1000 and "<figure>" in (folder / "gallery.html").read_text()
    return metrics


def test_the_default_run_trains_and_scores_the_boke_generator(finished_workflow):
    flow = finished_workflow
    bokete = flow.root / "results" / "bokete"
    table = pd.read_csv(bokete / "captions.csv", dtype=str, keep_default_na=False)
    assert table.groupby("image_id")["split"].nunique().max() == 1  # split by photo
    assert set(table["split"]) == {"train", "val", "test"}
    metrics = check_outputs(bokete)
    assert metrics["language"] == "ja" and metrics["beam"] == flow.config()["captioner"]["decode"]["beam"]
    # whole bokes about their photo for the photos it learnt from (issue: bokes worth reading)
    train = metrics["splits"]["train"]
    assert train["complete_rate"] >= 0.9 and train["grounding"]["ratio"] > 2, train
    assert set(metrics["splits"]) == {"train", "val", "test"}
    assert [row["beam"] for row in metrics["beam_sweep"]] == [1, 3, 5, 10, 20]
    log = pd.read_csv(bokete / "train_log.csv")
    assert log["kept"].sum() == 1 and log.loc[log["kept"], "epoch"].item() >= 20  # min_epochs
    assert log["val_complete"].notna().all()


# The boke cans go the whole way here; COCO and Karpathy files become the same caption table and
# manifest (tests/unit/test_caption_data.py), which these rules then read alike: a snakemake run each
# would add ~40 s to the suite for no path of its own.
def test_boke_cans_set_up_as_the_readme_says(workflow_copy, tmp_path):
    flow = workflow_copy
    dataset = "bokete_can"
    config = flow.config()
    config.setdefault("captioner", {}).update(dataset=dataset, cans=[str(write_boke_can(tmp_path / "data"))],
                                              split={"val_fraction": 0.2, "test_fraction": 0.2})
    flow.write_config(config)
    target = f"results/captions/{dataset}/metrics.json"
    folder = flow.root / target.rsplit("/", 1)[0]
    assert set(flow.planned_jobs(target)) == {
        "prepare_caption_dataset", "extract_caption_features", "train_captioner", "evaluate_captioner"}
    flow.snakemake(target)
    metrics = check_outputs(folder)
    assert metrics["language"] == "ja"
    assert flow.planned_jobs(target) == {}

    photo = tmp_path / "new.jpg"
    photo.write_bytes(photo_jpeg("coffee"))
    proc = neta(flow, "caption", "--model", str(folder / "captioner.pt"), str(photo))
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    result = json.loads(line)
    assert result["image"] == str(photo) and 1 <= len(result["captions"]) <= 5
    assert all(isinstance(c["text"], str) and c["logprob"] <= 0 for c in result["captions"])
    proc = neta(flow, "caption", "--model", str(folder / "captioner.pt"), str(tmp_path / "missing.jpg"))
    assert proc.returncode != 0 and "missing.jpg" in proc.stderr


def test_oogiri_go_from_a_config_override_plans_the_dataset_stages_on_its_own_paths(workflow_copy, tmp_path):
    """README: `captioner.dataset: oogiri_go` with the file and its image folder; a dry run only."""
    flow = workflow_copy
    inputs = write_oogiri_go(tmp_path / "data")
    override = (f"captioner={{dataset: oogiri_go, oogiri_go: {{file: '{inputs['file']}', "
                f"images: '{inputs['images']}', types: [I2T, IT2T], min_star: 2}}}}")
    target = "results/captions/oogiri_go/metrics.json"
    jobs, text = flow.dry_run("--printshellcmds", target, "--config", override)
    assert jobs == {"prepare_caption_dataset": 1, "extract_caption_features": 1, "train_captioner": 1,
                    "evaluate_captioner": 1}, text
    shells = [line.removeprefix("Shell command: ") for line in text.splitlines() if line.startswith("Shell command: ")]
    commands = {tuple(argv[1:3]): argv for argv in map(shlex.split, shells)}
    folder = "results/captions/oogiri_go"
    prepare = commands[("captioner", "prepare")]
    assert prepare[prepare.index("--out") + 1] == f"{folder}/captions.csv"
    assert prepare[prepare.index("--manifest-out") + 1] == f"{folder}/images/manifest.csv"
    section = json.loads(prepare[prepare.index("--settings") + 1])["captioner"]
    assert section["dataset"] == "oogiri_go"
    assert section["oogiri_go"] == {"file": str(inputs["file"]), "images": str(inputs["images"]),
                                    "types": ["I2T", "IT2T"], "min_star": 2}
    features = commands[("features", "--images")]
    assert features[features.index("--images") + 1] == f"{folder}/images/manifest.csv"
    assert features[features.index("--out") + 1] == f"{folder}/features.h5"
    train = commands[("captioner", "train")]
    assert train[train.index("--captions") + 1] == f"{folder}/captions.csv"
    assert train[train.index("--features") + 1] == f"{folder}/features.h5"
    assert train[train.index("--model") + 1] == f"{folder}/captioner.pt"
    evaluate = commands[("captioner", "evaluate")]
    assert evaluate[evaluate.index("--metrics") + 1] == f"{folder}/metrics.json"
    # the dataset's files are the prepare job's inputs: a new answer file reruns it
    assert str(inputs["file"]) in text and "results/bokete/" not in text
