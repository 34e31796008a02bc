"""Benchmark: batched beam search of the Show-and-Tell captioner against one photo at a time, same run.

Run from the repository root:  .venv/bin/python benchmarks/captioner_decode.py [--photos 64] [--threads 2]

The model is ShowAndTell at the default sizes (embedding and LSTM 512, one layer, image input t0) on
mobilenet_v2-sized features (1280), with a vocabulary of 3,000 words. Its weights are RANDOM (seeded),
and so are the feature vectors: throughput does not depend on what the weights say, except that an
untrained model almost never picks <eos>, so every hypothesis runs the full max_len steps. That is the
worst case; a trained model ends most captions early and decodes faster.

"A caption" below is one photo's whole beam search (beam 20, its top 5 returned), so captions/s is
photos decoded a second. Measured, each the best of ``--repeats`` runs:

* batched: ``ShowAndTell.beam_search`` on all photos in one call, and in chunks of ``--batch-sizes``;
* one at a time: the same call once a photo (the naive anchor: hypotheses batched, photos not);
* per hypothesis: a plain Python loop over each photo's live hypotheses, one LSTM step on one state
  at a time (how beam search reads in pseudo-code), on ``--naive-photos`` photos; its captions are
  compared with the batched ones.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.boke.model import ShowAndTell  # noqa: E402

PAD, BOS, EOS = 0, 1, 2
FEATURE_DIM, EMBED, HIDDEN = 1280, 512, 512


def best_rate(fn, photos: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        rates.append(photos / (time.perf_counter() - started))
    return max(rates)


@torch.no_grad()
def per_hypothesis(model: ShowAndTell, feature: torch.Tensor, *, beam: int, top: int, max_len: int):
    """The same search as ``beam_search`` (no length normalisation), one hypothesis a step at a time."""
    _, state = model.lstm(model.image(feature).view(1, 1, -1))
    live = [(0.0, [], state, model.embed(torch.tensor([BOS])))]
    finished = []
    for step in range(max_len + 1):
        candidates = []
        for score, words, state, x in live:
            hidden, new_state = model.lstm(x.view(1, 1, -1), state)
            logp = F.log_softmax(model.out(hidden.view(1, -1)), dim=-1)[0]
            logp[[PAD, BOS]] = float("-inf")
            if step == max_len:
                candidates.append((score + float(logp[EOS]), words + [EOS], new_state))
                continue
            values, tokens = logp.topk(beam)
            candidates += [(score + v, words + [t], new_state) for v, t in zip(values.tolist(), tokens.tolist(),
                                                                               strict=True)]
        candidates.sort(key=lambda c: c[0], reverse=True)
        live = []
        for score, words, state in candidates[:beam]:
            if words[-1] == EOS:
                finished.append((words[:-1], score))
            else:
                live.append((score, words, state, model.embed(torch.tensor([words[-1]]))))
        finished.sort(key=lambda c: c[1], reverse=True)
        if not live or (len(finished) >= top and finished[top - 1][1] >= max(s for s, *_ in live)):
            break
    return finished[:top]


def same_captions(a, b) -> bool:
    """Same words in the same order, log-probabilities equal up to float summation order."""
    return [w for w, _ in a] == [w for w, _ in b] and all(
        abs(x - y) < 1e-3 for (_, x), (_, y) in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=3000)
    parser.add_argument("--beam", type=int, default=20)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--max-len", type=int, default=20)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16])
    parser.add_argument("--naive-photos", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each measurement; the best is kept")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ShowAndTell(feature_dim=FEATURE_DIM, vocab_size=args.vocab, embed_size=EMBED, hidden_size=HIDDEN,
                        layers=1, dropout=0.5, image_input="t0", pad_id=PAD).eval()
    features = torch.randn(args.photos, FEATURE_DIM)
    decode = {"bos_id": BOS, "eos_id": EOS, "beam": args.beam, "top": args.top, "max_len": args.max_len,
              "length_norm": False}
    print(f"{args.photos} photos, RANDOM weights and features (an untrained model never ends early: the worst "
          f"case); embed/hidden {EMBED}, vocabulary {args.vocab}, features {FEATURE_DIM}; beam {args.beam}, top "
          f"{args.top}, max_len {args.max_len}; CPU, {args.threads} threads, best of {args.repeats} runs")
    print("a caption = one photo's beam search (its top 5): captions/s = photos decoded a second")

    model.beam_search(features[:2], **decode)  # warm-up: first-call allocations
    figures: dict[str, float] = {}
    figures[f"batched_{args.photos}"] = best_rate(lambda: model.beam_search(features, **decode), args.photos,
                                                  args.repeats)
    for size in args.batch_sizes:
        figures[f"batched_{size}"] = best_rate(
            lambda size=size: [model.beam_search(features[i : i + size], **decode)
                               for i in range(0, args.photos, size)], args.photos, args.repeats)
    figures["one_at_a_time"] = best_rate(
        lambda: [model.beam_search(features[i : i + 1], **decode) for i in range(args.photos)], args.photos,
        args.repeats)
    naive = features[: args.naive_photos]
    started = time.perf_counter()
    naive_out = [per_hypothesis(model, f, beam=args.beam, top=args.top, max_len=args.max_len) for f in naive]
    figures["per_hypothesis"] = len(naive) / (time.perf_counter() - started)  # one run: it is the slow one
    for key, rate in figures.items():
        label = {"one_at_a_time": "one photo a call", "per_hypothesis": f"per-hypothesis loop ({len(naive)} photos)"}
        print(f"{label.get(key, 'batched, ' + key.split('_')[1] + ' photos a call'):38s} {rate:8.2f} captions/s")

    batched_out = model.beam_search(naive, **decode)
    same = sum(same_captions(a, b) for a, b in zip(batched_out, naive_out, strict=True))
    print(f"per-hypothesis loop gives the same top {args.top} (words, log-probabilities) on {same}/{len(naive)} photos")
    batched = max(v for k, v in figures.items() if k.startswith("batched_"))
    speedup = batched / figures["one_at_a_time"]
    print(f"batched {batched:.2f} captions/s = {speedup:.1f} x one photo a call, "
          f"{batched / figures['per_hypothesis']:.0f} x the per-hypothesis loop")
    print(json.dumps({"bench": "captioner_decode", "beam": args.beam, "top": args.top, "max_len": args.max_len,
                      "photos": args.photos, "vocab": args.vocab, "threads": args.threads, "random_weights": True,
                      "batched_captions_per_s": round(batched, 2),
                      "one_at_a_time_captions_per_s": round(figures["one_at_a_time"], 2),
                      "per_hypothesis_captions_per_s": round(figures["per_hypothesis"], 2),
                      "speedup": round(speedup, 1), "same_as_per_hypothesis": f"{same}/{len(naive)}",
                      "captions_per_s": {k: round(v, 2) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
