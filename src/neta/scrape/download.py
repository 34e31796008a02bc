"""Concurrent, polite, checked image download into a content-addressed directory with a manifest.

Every URL gets one manifest row (``MANIFEST_COLUMNS``), whatever happened to it. A file is kept only
when all checks pass: HTTP 200, an ``image/*`` Content-Type, at most ``max_bytes`` (declared length
and streamed count, the stream is abandoned past the cap), dimensions within the ``images`` section's
``max_side`` per side and ``max_pixels`` in total (:mod:`neta.images`: checked from the header, before
any pixel is decoded, as for every picture neta takes), and a full decode by
Pillow (``verify()``, then a fresh ``open`` + ``load()``, which catches truncated files). Files are
named ``<sha256>.<ext>``, the extension from the decoded format, never from the URL, so identical
content from two URLs is stored once.

The side limit exists because the pixel limit alone misses thin bombs: a 1 x 50,000 PNG is only
50,000 pixels yet no photo; ``max_side`` (default 20,000) rejects it.

On failure of the stage (more than ``max_failure_ratio`` of URLs failed) the manifest is *not* written
to ``manifest_path`` (a failed stage leaves no output file); each failed URL is logged at WARNING with
its status and error, the NetaError lists the first ones, and the full manifest goes to
``failed_manifest_path`` when the caller gives one (e.g. in the rule's log directory). Image files
already verified stay in ``out_dir``: they are complete, checked and content-addressed, and a rerun
reuses them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
import requests

from neta.atomic import atomic_path, file_sha256, write_csv
from neta.errors import NetaError
from neta.images import ImageLimits, ImageRefused, checked_image, open_image
from neta.progress import progress as progress_bar
from neta.scrape.fetch import TRANSFER_ERRORS, Robots, describe_error, polite_get
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import bind, make_session
from neta.scrape.urls import netloc_of, normalize_url
from neta.tables import read_table

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["url", "sha256", "path", "bytes", "width", "height", "status", "error"]
OK = "ok"
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp",
               "TIFF": "tif"}
_CHUNK = 64 * 1024


class ImageRejected(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def download_images(urls: Iterable[str], out_dir: str | Path, manifest_path: str | Path, *,
                    session: requests.Session, robots: Robots | None, allowed_hosts: Iterable[str],
                    limiter: RateLimiter | None = None, origin_map: Mapping[str, str] | None = None,
                    limits: ImageLimits, max_bytes: int = 20 * 2**20,
                    workers: int = 4, max_failure_ratio: float = 0.1,
                    failed_manifest_path: str | Path | None = None, progress: bool = True) -> dict:
    """Download each distinct URL (recorded form) once; return a summary dict.

    Manifest ``path`` values are relative to the manifest's directory (``<sha256>.<ext>`` when the
    manifest sits in ``out_dir``), so the results tree can move. A URL already listed as ok in an
    existing manifest whose file still has that sha256 is not requested again; anything else is
    requested through the session, whose HTTP cache answers without network for files fetched before.
    """
    if origin_map is not None or limiter is not None:
        bind(session, origin_map=origin_map, limiter=limiter)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    manifest_path = Path(manifest_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    unique = list(dict.fromkeys(u for u in urls if isinstance(u, str) and u.strip()))
    allowed_hosts = tuple(allowed_hosts)
    previous = _reusable_rows(manifest_path)

    def job(url: str) -> dict:
        reused = previous.get(url)
        if reused is not None:
            return {**reused, "_reused": True}
        return _download_one(url, out_dir, manifest_path.parent, session=session, robots=robots,
                             allowed_hosts=allowed_hosts, max_bytes=max_bytes, limits=limits)

    rows: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="download") as pool:
        futures = {pool.submit(job, url): url for url in unique}
        for future in progress_bar(as_completed(futures), total=len(futures), unit="img", desc="download",
                                   disable=not progress):
            url = futures[future]
            row = future.result()
            rows[url] = row
            if row["status"] != OK:
                log.warning("image failed: %s: %s: %s", url, row["status"], row["error"])

    ordered = [rows[url] for url in unique]
    by_status = Counter(row["status"] for row in ordered)
    failed = len(ordered) - by_status.get(OK, 0)
    ratio = failed / len(ordered) if ordered else 0.0
    manifest = pd.DataFrame([{c: row.get(c) for c in MANIFEST_COLUMNS} for row in ordered], columns=MANIFEST_COLUMNS)
    for column in ("bytes", "width", "height"):
        manifest[column] = manifest[column].astype("Int64")
    summary = {
        "urls": len(ordered), "ok": by_status.get(OK, 0), "failed": failed, "failure_ratio": round(ratio, 4),
        "by_status": dict(sorted(by_status.items())),
        "distinct_files": len({row["sha256"] for row in ordered if row["status"] == OK}),
        "files_written": sum(bool(row.get("_written")) for row in ordered),
        "reused_from_manifest": sum(bool(row.get("_reused")) for row in ordered),
        "from_cache": sum(bool(row.get("_from_cache")) for row in ordered),
        "seconds": round(time.perf_counter() - started, 3), "manifest": str(manifest_path),
    }
    if ratio > max_failure_ratio:
        if failed_manifest_path is not None:
            write_csv(failed_manifest_path, manifest)
        first = "; ".join(f"{r['url']}: {r['status']} ({r['error']})" for r in ordered if r["status"] != OK)
        raise NetaError(
            f"download: {failed} of {len(ordered)} images failed ({ratio:.1%} > max_failure_ratio "
            f"{max_failure_ratio:.1%}); {manifest_path} not written"
            + (f", full manifest in {failed_manifest_path}" if failed_manifest_path else "")
            + f". By status: {summary['by_status']}. Failures: {first[:1500]}"
        )
    write_csv(manifest_path, manifest)
    log.info("images: %d URLs, %d ok (%d distinct files, %d written, %d reused from the manifest, %d from "
             "the HTTP cache), %d failed %s in %.1f s; wrote %s", summary["urls"], summary["ok"],
             summary["distinct_files"], summary["files_written"], summary["reused_from_manifest"],
             summary["from_cache"], failed, summary["by_status"], summary["seconds"], manifest_path)
    return summary


def _download_one(url: str, out_dir: Path, manifest_dir: Path, *, session, robots, allowed_hosts,
                  max_bytes: int, limits: ImageLimits) -> dict:
    row = {"url": url, "sha256": "", "path": "", "bytes": None, "width": None, "height": None,
           "status": OK, "error": ""}
    try:
        request_url = normalize_url(url)
    except ValueError as exc:
        return {**row, "status": "bad_url", "error": str(exc)}
    result = polite_get(session, request_url, robots=robots, allowed_hosts=allowed_hosts, stream=True)
    if not result.ok:
        return {**row, "status": result.status, "error": result.error}
    response = result.response
    try:
        data = _read_body(response, max_bytes)
        image = check_image(data, limits)
    except ImageRejected as exc:
        return {**row, "status": exc.status, "error": str(exc)}
    finally:
        response.close()
    digest = hashlib.sha256(data).hexdigest()
    target = out_dir / f"{digest}.{image['ext']}"
    written = False
    if not (target.exists() and file_sha256(target) == digest):
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        written = True
    return {**row, "sha256": digest, "path": Path(os.path.relpath(target, manifest_dir)).as_posix(),
            "bytes": len(data), "width": image["width"], "height": image["height"],
            "_written": written, "_from_cache": result.from_cache}


def _read_body(response: requests.Response, max_bytes: int) -> bytes:
    content_type = response.headers.get("Content-Type", "")
    if not content_type.lower().startswith("image/"):
        raise ImageRejected("not_image", f"Content-Type {content_type or 'missing'!r} is not image/*")
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ImageRejected("too_large", f"Content-Length {int(declared):,} bytes > cap {max_bytes:,}")
    chunks: list[bytes] = []
    received = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            received += len(chunk)
            if received > max_bytes:
                raise ImageRejected("too_large", f"body exceeds the cap of {max_bytes:,} bytes (stream abandoned)")
            chunks.append(chunk)
    except TRANSFER_ERRORS as exc:
        raise ImageRejected("network_error", f"body not received completely: {describe_error(exc)}") from exc
    return b"".join(chunks)


def check_image(data: bytes, limits: ImageLimits) -> dict:
    """Decode ``data`` fully; return width, height, format and file extension, or raise ImageRejected."""
    try:
        with checked_image(data, limits, name="the file") as probe:  # the size is checked from the header
            width, height = probe.size
            fmt = probe.format or ""
            probe.verify()  # checksums (PNG's CRCs) that load() skips
        open_image(data, limits, name="the file")  # a verified file can still be cut short
    except ImageRefused as exc:
        status = "too_many_pixels" if exc.reason == "too_large" else "undecodable"
        raise ImageRejected(status, str(exc)) from exc
    return {"width": width, "height": height, "format": fmt, "ext": _EXTENSIONS.get(fmt, fmt.lower() or "img")}


def _reusable_rows(manifest_path: Path) -> dict[str, dict]:
    """Rows of an earlier manifest whose file is still there with the recorded sha256."""
    if not manifest_path.exists():
        return {}
    try:
        frame = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        log.warning("%s unreadable; downloading everything again", manifest_path)
        return {}
    if list(frame.columns) != MANIFEST_COLUMNS:
        return {}
    reusable = {}
    for record in frame[frame["status"] == OK].to_dict("records"):
        path = manifest_path.parent / record["path"]
        if path.is_file() and file_sha256(path) == record["sha256"]:
            reusable[record["url"]] = {**record, "bytes": int(record["bytes"]), "width": int(record["width"]),
                                       "height": int(record["height"])}
    log.info("%s: %d earlier downloads reused", manifest_path, len(reusable))
    return reusable


def image_urls_from_csv(path: str | Path, column: str = "image_url") -> list[str]:
    """Distinct non-empty URLs of ``column`` in a CSV such as bokes.csv, in first-seen order."""
    frame = read_table(path, (column,), "the scrape stage (`neta scrape <site>`)")
    return list(dict.fromkeys(url for url in frame[column] if url.strip()))


def run_download(urls: Iterable[str], out_dir: str | Path, manifest_path: str | Path, *,
                 base_origin_map: Mapping[str, str] | None, user_agent: str, contact: str,
                 cache_path: str | Path, rate_limit: float | None,
                 host_rate_limits: Mapping[str, float | None] | None = None,
                 allowed_hosts: Iterable[str] | None = None, max_bytes: int = 20 * 2**20,
                 limits: ImageLimits, workers: int = 4,
                 max_failure_ratio: float = 0.1, failed_manifest_path: str | Path | None = None,
                 retries: int = 5, backoff: float = 0.5, timeout: tuple[float, float] = (5, 20),
                 progress: bool = True, site: str = "<site>") -> dict:
    """The download stage with its own session (same politeness as the crawl); see download_images.

    ``allowed_hosts`` defaults to the hosts named by the URLs themselves (they come from pages the
    crawl trusted); redirects are still checked against it. ``site`` is the config section (e.g.
    ``bokete``) that errors name; without ``base_origin_map`` the ``contact`` must be a real one.
    """
    urls = list(urls)
    if allowed_hosts is None:
        allowed_hosts = sorted({netloc_of(u) for u in urls if _valid(u)})
    limiter = RateLimiter(rate_limit, host_rates=host_rate_limits)
    session = make_session(user_agent=user_agent, contact=contact, cache_path=cache_path, retries=retries,
                           backoff=backoff, timeout=timeout, origin_map=base_origin_map, limiter=limiter,
                           max_cached_bytes=max_bytes, pool_maxsize=max(10, workers), site=site)
    try:
        summary = download_images(urls, out_dir, manifest_path, session=session,
                                  robots=RobotsPolicy(session, user_agent=user_agent), allowed_hosts=allowed_hosts,
                                  max_bytes=max_bytes, limits=limits, workers=workers,
                                  max_failure_ratio=max_failure_ratio, failed_manifest_path=failed_manifest_path,
                                  progress=progress)
    finally:
        session.close()
    summary["rate_limit_wait_s"] = round(limiter.waited_s, 3)
    return summary


def _valid(url: str) -> bool:
    try:
        normalize_url(url)
    except ValueError:
        return False
    return True
