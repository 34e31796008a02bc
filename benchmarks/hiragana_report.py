"""Benchmark: the report's scoring of a writer set in every layout, against how it was done before.

Run from the repository root:  .venv/bin/python benchmarks/hiragana_report.py [--layouts DIR] [--repeats N]

``evaluate_hiragana`` (``neta hiragana report``) scores the test and held-out writers in every layout a
reader accepts (``neta.hiragana.evaluate.score_layouts``), by the tutorial CNN and the BN-CNN, on one
thread; it is the default run's last job. Timed here on ``--layouts`` (default the workflow's
``results/hiragana/layouts_test``) with the default run's ``model.pt`` and ``bn_cnn.pt``, one
thread, as the rule runs it:

* now — pictures that are a record's grey bit for bit (relayout's g128 and b64) take that record's
  model inputs instead of being framed again, and the networks read channels-last;
* anchor — the previous way: every picture framed, the networks in the default (contiguous) layout;
* each change alone, so the ratio of each is seen.

The variants run in turn, ``--repeats`` times (the figure is each one's best), and their scores are
compared: the pictures' inputs are the same arrays, and the reading differs only in the order of
float sums, so a changed answer shows as a changed accuracy.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.hiragana import evaluate  # noqa: E402
from neta.hiragana.checkpoint import load_models  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "hiragana"


def _frame_every_picture(real):
    def prepare(paths, sizes, normalise, workers, known=None):
        return real(paths, sizes, normalise, workers)

    return prepare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", type=Path, default=RESULTS / "layouts_test")
    parser.add_argument("--models", type=Path, nargs=2, default=[RESULTS / "model.pt", RESULTS / "bn_cnn.pt"],
                        metavar=("MODEL_PT", "BN_CNN_PT"))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    missing = [p for p in (args.layouts, *args.models) if not p.exists()]
    if missing:
        print(f"missing {', '.join(map(str, missing))}: run the default workflow first (make run)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    models = {"cnn": load_models(args.models[0]), "bn_cnn": load_models(args.models[1])}
    real_prepare = evaluate._prepare_many
    variants = {
        "now": (real_prepare, torch.channels_last),
        "anchor": (_frame_every_picture(real_prepare), torch.contiguous_format),
        "lookup_only": (real_prepare, torch.contiguous_format),
        "channels_last_only": (_frame_every_picture(real_prepare), torch.channels_last),
    }
    seconds: dict[str, float] = {}
    scores: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, (prepare, layout) in variants.items():
            for loaded in models.values():
                loaded.cnn.to(memory_format=layout)
            evaluate._prepare_many = prepare
            try:
                start = time.perf_counter()
                scored = evaluate.score_layouts(models, args.layouts, device=torch.device("cpu"), workers=1)
                took = time.perf_counter() - start
            finally:
                evaluate._prepare_many = real_prepare
            seconds[name] = min(seconds.get(name, float("inf")), took)
            scores[name] = {f"{model}/{path}": row["accuracy"]
                            for model, paths in scored.items() for path, row in paths.items()}
            print(f"{name:>20}: {took:6.1f} s", flush=True)
    ratios = {name: round(seconds["anchor"] / s, 2) for name, s in seconds.items()}
    changed = {name: sorted(k for k, v in s.items() if v != scores["anchor"][k]) for name, s in scores.items()}
    for name in variants:
        print(f"{name:>20}: best {seconds[name]:6.1f} s, {ratios[name]:.2f}x the anchor's speed; "
              f"accuracies changed: {changed[name] or 'none'}")
    print(json.dumps({"layouts": str(args.layouts), "seconds": {k: round(v, 2) for k, v in seconds.items()},
                      "speedup_vs_anchor": ratios, "changed_accuracies": changed}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
