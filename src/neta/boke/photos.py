"""The photos of a caption dataset on disk: checked, hashed and listed in a download-style manifest.

``neta features --images MANIFEST`` then reads exactly these photos (rows with status ok, paths
relative to the manifest's folder), and their sha256 is the ``image_id`` of the caption table.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pandas as pd

from neta.errors import NetaError
from neta.images import ImageLimits, ImageRefused, checked_image
from neta.progress import progress

log = logging.getLogger(__name__)

# The columns neta.scrape.download writes; not imported from there, which pulls in the whole crawler.
MANIFEST_COLUMNS = ["url", "sha256", "path", "bytes", "width", "height", "status", "error"]
OK, MISSING, ERROR = "ok", "missing", "error"


def check_photo(path: Path, limits: ImageLimits) -> dict:
    """Manifest fields of one photo file: sha256, bytes, width, height, status (ok | missing | error), error."""
    row = {"sha256": "", "bytes": None, "width": None, "height": None, "status": OK, "error": ""}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {**row, "status": MISSING, "error": f"no file {path}"}
    except OSError as exc:
        return {**row, "status": ERROR, "error": f"cannot read {path}: {exc}"}
    try:
        with checked_image(data, limits, name=str(path)) as image:
            width, height = image.size
            # A reduced-size JPEG decode still reads every scan, so it catches a truncated file at
            # a fraction of the full decode's cost; the feature stage decodes in full later.
            image.draft("RGB", (64, 64))
            image.load()
    except ImageRefused as exc:
        return {**row, "status": ERROR, "error": str(exc)}
    return {**row, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "width": width, "height": height}


def resolve_photos(frame: pd.DataFrame, *, manifest_out: str | os.PathLike, max_missing_ratio: float,
                   source: str, limits: ImageLimits) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Check every distinct ``frame.photo`` (an absolute path) once, against ``limits`` too; give each
    row its ``image_id``.

    Returns the rows whose photo is ok (with ``image_id``), the manifest (one row a photo, paths
    relative to ``manifest_out``'s folder) and counts. More than ``max_missing_ratio`` of the photos
    missing or unreadable is a NetaError naming them (``source`` says which input listed them).
    """
    if frame.empty:
        raise NetaError(f"{source}: no captions with a photo to read")
    manifest_dir = Path(os.path.abspath(Path(manifest_out).parent))
    photos = list(dict.fromkeys(frame["photo"]))
    urls = dict(zip(frame["photo"], frame["url"], strict=True))
    rows = []
    for photo in progress(photos, unit="photo", desc="check photos", disable=len(photos) < 100):
        checked = check_photo(Path(photo), limits)
        relative = Path(os.path.relpath(photo, manifest_dir)).as_posix() if checked["status"] == OK else ""
        rows.append({"url": urls[photo], **checked, "path": relative})
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    for column in ("bytes", "width", "height"):
        manifest[column] = manifest[column].astype("Int64")
    failed = manifest[manifest["status"] != OK]
    counts = {"photos_listed": len(photos), "photos_ok": len(photos) - len(failed),
              "photos_missing": int((failed["status"] == MISSING).sum()),
              "photos_error": int((failed["status"] == ERROR).sum())}
    if len(failed):
        for error in failed["error"]:
            log.warning("photo left out: %s", error)
        ratio = len(failed) / len(photos)
        if ratio > max_missing_ratio:
            listed = "; ".join(failed["error"].head(5))
            raise NetaError(f"{source}: {len(failed)} of {len(photos)} photos missing or unreadable ({ratio:.1%} > "
                            f"{max_missing_ratio:.1%} allowed), e.g. {listed}. Point the config at the folder "
                            "that holds the photos, or restore the files")
    ids = {photo: sha for photo, sha, status in zip(photos, manifest["sha256"], manifest["status"], strict=True)
           if status == OK}
    kept = frame[frame["photo"].isin(list(ids))]
    counts["captions_dropped_no_photo"] = len(frame) - len(kept)
    if counts["captions_dropped_no_photo"]:
        log.warning("%s: %d captions dropped: their photo is missing or unreadable (%d photos)", source,
                    counts["captions_dropped_no_photo"], len(failed))
    return kept.assign(image_id=kept["photo"].map(ids)).reset_index(drop=True), manifest, counts
