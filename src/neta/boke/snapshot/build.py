"""Build the offline bokete snapshot: a static site tree with the real site's URL scheme.

URL scheme (files as ``neta.scrape.snapshot_server`` maps them):

====================================  ==========================================  =====================
URL                                   file                                        layout
====================================  ==========================================  =====================
/robots.txt                           robots.txt                                  (disallows /login, /register, /api/, /search)
/                                     index.html                                  nextjs (pickup)
/boke/hot[?page=N]                    boke/hot/index.html, boke/hot/page-N.html   nextjs, newest first
/boke/legend[?page=N]                 boke/legend/…                               nextjs, most stars first
/odai/<id>[?page=N]                   odai/<id>/index.html, …/page-N.html         nextjs; a few classic2016 / xhtml2013
/boke/<id>                            boke/<id>/index.html                        same layout as its odai
/photo/odai/600/<md5>_600.jpg         photo/odai/600/<md5>_600.jpg                JPEG, long side ≤ 600 px
====================================  ==========================================  =====================

The odai photos are the sample photos shipped inside the scikit-image and scikit-learn wheels,
re-encoded at build time (no image bytes live in the repository). Bokes, star totals and dates come
from ``data/bokete.yaml``; the seed decides boke ids, rater counts, categories and which odai pages
use the older layouts. Same seed and same installed packages → byte-identical tree.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import io
import logging
import math
import random
import time
from pathlib import Path

import yaml
from PIL import Image

from neta.boke.snapshot import pages
from neta.errors import NetaError
from neta.progress import progress
from neta.scrape.snapshot_server import page_file, write_tree

log = logging.getLogger(__name__)

DATA_RESOURCE = "bokete.yaml"
ODAI_PAGE_SIZE = 8
LIST_PAGE_SIZE = 20
LEGEND_MIN_STARS = 100
PHOTO_SIDE = 600
CLASSIC_ODAIS = 3
XHTML_ODAIS = 2
CATEGORIES = ["バカ", "シュール", "お下劣", "ブラック", "身内", "例え", "その他"]
ROBOTS_TXT = """\
# Offline snapshot of bokete for the neta workflow (same URL scheme as the live site).
User-agent: *
Disallow: /login
Disallow: /register
Disallow: /api/
Disallow: /search
"""
# Where each package keeps the photos it ships.
_PHOTO_PACKAGES = {"skimage": ("skimage.data", ""), "sklearn": ("sklearn.datasets", "images")}


def load_bokete_data() -> dict:
    """The packaged odai photos and bokes (``data/bokete.yaml``), checked."""
    resource = importlib.resources.files("neta.boke.snapshot") / "data" / DATA_RESOURCE
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    photos = data.get("photos") if isinstance(data, dict) else None
    if not photos:
        raise NetaError(f"{resource}: no 'photos' list; the package data is damaged — reinstall neta")
    for i, photo in enumerate(photos):
        for key in ("key", "source", "odai_id", "posted", "by", "bokes"):
            if key not in photo:
                raise NetaError(f"{resource}: photos[{i}] lacks '{key}'")
        for j, boke in enumerate(photo["bokes"]):
            if not isinstance(boke.get("text"), str) or not isinstance(boke.get("stars"), int) or "date" not in boke:
                raise NetaError(f"{resource}: photos[{i}].bokes[{j}] needs text (string), stars (int) and date")
    return data


def load_photo(source: str) -> Image.Image:
    """An RGB image from ``package:file`` of a wheel-shipped sample photo (read from disk, no download)."""
    package, _, name = source.partition(":")
    if package not in _PHOTO_PACKAGES:
        raise NetaError(f"photo source {source!r}: package must be one of {sorted(_PHOTO_PACKAGES)}")
    module, subdir = _PHOTO_PACKAGES[package]
    path = importlib.resources.files(module)
    if subdir:
        path = path / subdir
    path = path / name
    if not path.is_file():
        raise NetaError(f"photo {source}: {path} is not installed; install scikit-image and scikit-learn wheels")
    with Image.open(path) as image:
        image.load()
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            canvas = Image.new("RGB", rgba.size, "white")
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            return canvas
        return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    image = image.copy()
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=False, progressive=False)
    return out.getvalue()


def _votes(stars: int, rng: random.Random) -> int:
    """Raters behind a star total: each gives 1–3 stars, so votes lie in [ceil(stars/3), stars]."""
    if stars == 0:
        return 0
    guess = round(stars / rng.uniform(1.5, 2.6))
    return min(stars, max(math.ceil(stars / 3), guess))


def site_model(seed: int = 0) -> dict:
    """Odais and bokes with ids, raters, categories and layouts as the snapshot shows them."""
    data = load_bokete_data()
    rng = random.Random(seed)
    odais, bokes = [], []
    for photo in data["photos"]:
        digest = hashlib.md5(f"neta-snapshot:{photo['source']}".encode()).hexdigest()
        odai = {
            "id": int(photo["odai_id"]),
            "key": photo["key"],
            "source": photo["source"],
            "photo_id": int(digest[:6], 16),
            "photo": f"/photo/odai/{PHOTO_SIDE}/{digest}_{PHOTO_SIDE}.jpg",
            "by": photo["by"],
            "posted": str(photo["posted"]),
            "boke_count": len(photo["bokes"]),
            "layout": "nextjs",
        }
        odais.append(odai)
        for boke in photo["bokes"]:
            bokes.append({"odai_id": odai["id"], "text": boke["text"], "stars": boke["stars"],
                          "date": str(boke["date"])})
    # Ids grow with posting time, as on the real site.
    bokes.sort(key=lambda b: (b["date"], b["odai_id"], b["text"]))
    next_id = 41_000_000 + rng.randrange(1_000_000)
    for boke in bokes:
        next_id += rng.randint(40, 9_000)
        boke["id"] = next_id
        boke["votes"] = _votes(boke["stars"], rng)
        boke["category"] = rng.choice(CATEGORIES)
    older = rng.sample(sorted(o["id"] for o in odais), CLASSIC_ODAIS + XHTML_ODAIS)
    for odai in odais:
        if odai["id"] in older[:CLASSIC_ODAIS]:
            odai["layout"] = "classic2016"
        elif odai["id"] in older[CLASSIC_ODAIS:]:
            odai["layout"] = "xhtml2013"
    return {"odais": odais, "bokes": bokes}


def expected_bokes(seed: int = 0) -> list[dict]:
    """What a complete crawl of the snapshot must find: one dict a boke, image as a root-relative path."""
    model = site_model(seed)
    photo = {o["id"]: o["photo"] for o in model["odais"]}
    return [
        {"boke_id": b["id"], "odai_id": b["odai_id"], "text": b["text"], "stars": b["stars"], "votes": b["votes"],
         "image_path": photo[b["odai_id"]], "date": b["date"]}
        for b in model["bokes"]
    ]


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def _site_files(model: dict) -> dict[str, str]:
    """Relative path → HTML text of every page."""
    odais = {o["id"]: o for o in model["odais"]}
    files: dict[str, str] = {}
    for odai in model["odais"]:
        mine = sorted((b for b in model["bokes"] if b["odai_id"] == odai["id"]), key=lambda b: (-b["stars"], b["id"]))
        chunks = _chunks(mine, ODAI_PAGE_SIZE)
        render = {"nextjs": pages.nextjs_odai, "classic2016": pages.classic_odai,
                  "xhtml2013": pages.xhtml_odai}[odai["layout"]]
        for n, chunk in enumerate(chunks, start=1):
            files[f"odai/{odai['id']}/{page_file(n)}"] = render(odai, chunk, n, len(chunks))
        render_boke = {"nextjs": pages.nextjs_boke, "classic2016": pages.classic_boke,
                       "xhtml2013": pages.xhtml_boke}[odai["layout"]]
        for boke in mine:
            files[f"boke/{boke['id']}/{page_file(1)}"] = render_boke(boke, odai)
    newest = sorted(model["bokes"], key=lambda b: (b["date"], b["id"]), reverse=True)
    legend = sorted((b for b in model["bokes"] if b["stars"] >= LEGEND_MIN_STARS), key=lambda b: (-b["stars"], b["id"]))
    for sort, title, chosen in (("hot", "注目のボケ", newest), ("legend", "殿堂入りボケ", legend)):
        chunks = _chunks(chosen, LIST_PAGE_SIZE)
        for n, chunk in enumerate(chunks, start=1):
            entries = [(b, odais[b["odai_id"]]) for b in chunk]
            files[f"boke/{sort}/{page_file(n)}"] = pages.nextjs_list(sort, title, entries, n, len(chunks))
    pickup = sorted(model["bokes"], key=lambda b: (-b["stars"], b["id"]))[:10]
    files[page_file(1)] = pages.nextjs_home([(b, odais[b["odai_id"]]) for b in pickup])
    files["robots.txt"] = ROBOTS_TXT
    return files


def build_bokete_snapshot(out_dir: Path, *, seed: int = 0) -> dict:
    """Write the snapshot tree to ``out_dir`` (replacing it) and return a summary of what it holds."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    model = site_model(seed)
    photos: dict[str, bytes] = {}
    for odai in progress(model["odais"], desc="snapshot photos", unit="photo", leave=False):
        data = _jpeg(load_photo(odai["source"]))
        with Image.open(io.BytesIO(data)) as encoded:
            odai["width"], odai["height"] = encoded.size
        photos[odai["photo"].lstrip("/")] = data
    files = _site_files(model)
    total_bytes = write_tree(out_dir, {rel: text.encode("utf-8") for rel, text in files.items()} | photos)
    layouts: dict[str, int] = {}
    for odai in model["odais"]:
        layouts[odai["layout"]] = layouts.get(odai["layout"], 0) + 1
    summary = {
        "out_dir": str(out_dir),
        "seed": seed,
        "photos": len(model["odais"]),
        "odais": len(model["odais"]),
        "bokes": len(model["bokes"]),
        "pages": sum(1 for rel in files if rel.endswith(".html")),
        "files": len(files) + len(photos),
        "bytes": total_bytes,
        "odai_layouts": dict(sorted(layouts.items())),
    }
    log.info("wrote bokete snapshot %s: %d photos, %d bokes, %d pages, %d bytes in %.2f s", out_dir,
             summary["photos"], summary["bokes"], summary["pages"], total_bytes, time.perf_counter() - started)
    return summary
