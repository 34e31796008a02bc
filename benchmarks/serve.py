"""Benchmark: `neta serve`'s Generate (beam 20) and hiragana prediction against loading the model per request.

Run from the repository root:  .venv/bin/python benchmarks/serve.py [results] [--requests 50] [--threads 2]

Over a finished results/ folder (default ``results``; nothing in it is written), on the CPU:

* app: ``create_app(results, preload=True)`` loads every built model once (its time and the process
  RSS after it are reported; most of the RSS before loading is the torch and torchvision libraries
  themselves, so USS, the memory of the process alone, is given too), then, in-process through
  Flask's test client, so the figures are the app's own work without network or waitress:
  - ``--requests`` Generate requests (``POST /api/boke/generate``, beam 20, top 5) on the photos of
    the list, round-robin: the app takes their vectors from the training run's features.h5;
  - ``--uploads`` Generate requests with the same photos uploaded: the backbone runs every time;
  - ``--requests`` hiragana predictions (``POST /api/hiragana/predict``) of characters drawn here
    with Pillow in IPAexGothic on a 280 x 280 white canvas (as the page's canvas sends them), the
    model's own classes round-robin;
* anchor (naive, the same run): what a request costs when the model is loaded for it, as the command
  line does: ``caption_photos()`` (loads the captioner, builds the backbone, checks its weights,
  computes the photo's vector, beam search) and ``predict_images()`` (loads the CNN, prepares the
  picture, predicts) once a request, ``--anchor-repeats`` times each, spread over the app's requests
  so that the app and its anchor see the same load of the machine.

Latencies are per request in ms (median and p95); "x" is the anchor's median over the app's. The first
request of each kind after loading is timed apart (warm-up) and not in the figures.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.boke.caption_photos import caption_photos  # noqa: E402
from neta.boke.config import DecodeSettings  # noqa: E402
from neta.fonts import ipaexgothic_path  # noqa: E402
from neta.hiragana.predict import predict_images  # noqa: E402
from neta.images import ImageLimits  # noqa: E402
from neta.settings import validate_config  # noqa: E402
from neta.web.app import create_app  # noqa: E402

CANVAS = 280  # the Hiragana page's canvas
LIMITS = ImageLimits.of(validate_config({}))  # the schema's, as `neta caption` and the app have them


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def uss_mb() -> float:
    """Memory of this process alone (shared library pages it maps but does not own left out)."""
    return psutil.Process().memory_full_info().uss / 2**20


def figures(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000.0
    return {"median": round(float(np.median(ms)), 1), "p95": round(float(np.percentile(ms, 95)), 1),
            "n": len(seconds)}


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def drawn(char: str) -> bytes:
    """PNG of ``char`` in black on a white canvas, as the page's canvas exports a drawing."""
    image = Image.new("RGB", (CANVAS, CANVAS), "white")
    font = ImageFont.truetype(str(ipaexgothic_path()), int(CANVAS * 0.7))
    ImageDraw.Draw(image).text((CANVAS * 0.15, CANVAS * 0.1), char, font=font, fill="black", stroke_width=4,
                               stroke_fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def post(client, url: str, data: dict) -> dict:
    response = client.post(url, data=data)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return response.get_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default="results", help="a finished results/ folder")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--uploads", type=int, default=20, help="Generate requests with an uploaded photo")
    parser.add_argument("--anchor-repeats", type=int, default=5)
    parser.add_argument("--beam", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    results = Path(args.results)
    decode = {"beam": args.beam, "top": 5, "max_len": 30, "length_norm": False, "no_repeat": False,
              "prefer_complete": False}

    rss_before = rss_mb()
    load_s, app = timed(lambda: create_app(results, preload=True, device="cpu", **decode))
    server = app.extensions["neta"]
    rss_loaded, uss_loaded = rss_mb(), uss_mb()
    loaded = server.registry.loaded()
    client = app.test_client()
    data = server.boke_data()
    photos = [photo["id"] for group in data.groups for photo in group["photos"]]
    with server.hiragana() as predictor:
        classes = list(predictor.classes)
    print(f"{results}: {len(photos)} photos, {len(classes)} hiragana classes; CPU, {args.threads} threads; "
          f"beam {args.beam}, top 5")
    print(f"loaded {len(loaded)} objects in {load_s:.1f} s ({', '.join(loaded)}); RSS {rss_before:.0f} MB before, "
          f"{rss_loaded:.0f} MB after loading every model (USS {uss_loaded:.0f} MB)")

    # --- the app, with the anchor (a model loaded a request) interleaved so both see the same machine load ------
    captioner = results / "bokete" / "captioner.pt"
    model = results / "hiragana" / "model.pt"
    every = max(1, args.requests // args.anchor_repeats)

    def anchor_turn(i: int, done: list) -> bool:
        return i % every == every // 2 and len(done) < args.anchor_repeats

    warm = {"generate": timed(lambda: post(client, "/api/boke/generate", {"image_id": photos[0]}))[0]}
    generate, anchor_generate = [], []
    for i in range(args.requests):
        photo = photos[i % len(photos)]
        seconds, body = timed(lambda photo=photo: post(client, "/api/boke/generate", {"image_id": photo}))
        assert len(body["bokes"]) == 5
        generate.append(seconds)
        if anchor_turn(i, anchor_generate):
            anchor_generate.append(timed(lambda photo=photo: caption_photos(
                captioner, [data.files[photo]], decoding=DecodeSettings(**decode), device="cpu", limits=LIMITS))[0])
    files = [data.files[photo].read_bytes() for photo in photos]
    uploads = []
    for i in range(args.uploads):
        content = files[i % len(files)]
        seconds, body = timed(lambda content=content: post(
            client, "/api/boke/generate", {"photo": (io.BytesIO(content), "photo.jpg")}))
        uploads.append(seconds)
    pictures = [(char, drawn(char)) for char in classes]
    warm["hiragana"] = timed(lambda: post(client, "/api/hiragana/predict",
                                          {"image": (io.BytesIO(pictures[0][1]), "drawing.png")}))[0]
    hiragana, anchor_hiragana, right = [], [], 0
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.requests):
            char, png = pictures[i % len(pictures)]
            seconds, body = timed(lambda png=png: post(client, "/api/hiragana/predict",
                                                       {"image": (io.BytesIO(png), "drawing.png")}))
            right += body["top5"][0]["char"] == char
            hiragana.append(seconds)
            if anchor_turn(i, anchor_hiragana):
                path = Path(folder) / f"drawing{i}.png"
                path.write_bytes(png)
                anchor_hiragana.append(timed(lambda path=path: predict_images(model, [path], top=5,
                                                                              device="cpu", limits=LIMITS))[0])
    rss_end = rss_mb()

    found = {"generate": figures(generate), "generate_upload": figures(uploads), "hiragana": figures(hiragana),
             "generate_anchor": figures(anchor_generate), "hiragana_anchor": figures(anchor_hiragana)}
    labels = {"generate": "Generate, photo of the list (app)", "generate_upload": "Generate, uploaded photo (app)",
              "generate_anchor": "Generate anchor: caption_photos() a request",
              "hiragana": "hiragana predict (app)", "hiragana_anchor": "hiragana anchor: predict_images() a request"}
    for key, label in labels.items():
        print(f"{label:45s} median {found[key]['median']:8.1f} ms   p95 {found[key]['p95']:8.1f} ms   "
              f"({found[key]['n']} requests)")
    speedup = {kind: round(found[f"{kind}_anchor"]["median"] / found[kind]["median"], 1)
               for kind in ("generate", "hiragana")}
    print(f"first request after loading: Generate {warm['generate'] * 1000:.0f} ms, hiragana "
          f"{warm['hiragana'] * 1000:.0f} ms")
    upload_speedup = round(found["generate_anchor"]["median"] / found["generate_upload"]["median"], 1)
    print(f"app vs anchor (median): Generate {speedup['generate']} x faster, hiragana {speedup['hiragana']} x faster "
          f"(Generate on an upload, backbone included as in the anchor: {upload_speedup} x)")
    print(f"hiragana: the drawn character is the top-1 answer on {right}/{args.requests} "
          "(IPAexGothic, not handwriting)")
    print(f"RSS after loading every model {rss_loaded:.0f} MB, after the requests {rss_end:.0f} MB")
    print(json.dumps({"bench": "serve", "results": str(results), "requests": args.requests, "beam": args.beam,
                      "top": 5, "threads": args.threads, "device": "cpu", "load_s": round(load_s, 2),
                      "rss_mb_loaded": round(rss_loaded), "uss_mb_loaded": round(uss_loaded),
                      "rss_mb_after": round(rss_end),
                      "rss_mb_before_load": round(rss_before), **{f"{k}_ms": v for k, v in found.items()},
                      "generate_speedup": speedup["generate"], "generate_upload_speedup": upload_speedup,
                      "hiragana_speedup": speedup["hiragana"],
                      "hiragana_top1_drawn": f"{right}/{args.requests}"}))


if __name__ == "__main__":
    main()
