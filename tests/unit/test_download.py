"""The image downloader against a real local server serving good, broken and hostile files."""

import io

import numpy as np
import pandas as pd
import pytest
from http_fixtures import Reply
from PIL import Image

from neta.atomic import file_sha256
from neta.errors import NetaError
from neta.images import ImageLimits
from neta.scrape.download import MANIFEST_COLUMNS, download_images
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import make_session

SITE = "http://img.test"
MB = 2**20
LIMITS = ImageLimits(max_pixels=50_000_000, max_side=20_000)


def image_bytes(fmt="JPEG", size=(64, 48), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def thin_bomb_png():
    buffer = io.BytesIO()
    Image.new("L", (1, 50_000)).save(buffer, format="PNG")
    return buffer.getvalue()


def serve_images(server, foreign_origin):
    jpeg, png = image_bytes("JPEG"), image_bytes("PNG", seed=1)
    server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    routes = {
        "/a.jpg": Reply(body=jpeg, content_type="image/jpeg"),
        "/a-copy.jpg": Reply(body=jpeg, content_type="image/jpeg"),
        "/png-named.jpg": Reply(body=png, content_type="image/jpeg"),
        "/flaky.jpg": [Reply(status=500, body=b"x"), Reply(body=image_bytes(seed=2), content_type="image/jpeg")],
        "/page.jpg": Reply(body=b"<html>login</html>", content_type="text/html"),
        "/html-as-jpeg.jpg": Reply(body=b"<html>not really</html>", content_type="image/jpeg"),
        "/truncated.jpg": Reply(body=image_bytes(seed=3)[: len(image_bytes(seed=3)) // 2], content_type="image/jpeg"),
        "/cut.jpg": Reply(body=image_bytes(seed=4)[:500], declared_length=len(image_bytes(seed=4)),
                          content_type="image/jpeg"),
        "/bomb.png": Reply(body=thin_bomb_png(), content_type="image/png"),
        "/huge.jpg": Reply(body=bytes(30 * MB), content_type="image/jpeg"),
        "/huge-stream.jpg": Reply(body=bytes(30 * MB), content_type="image/jpeg", send_length=False),
        "/private/x.jpg": Reply(body=jpeg, content_type="image/jpeg"),
    }
    for path, replies in routes.items():
        server.route(path, *(replies if isinstance(replies, list) else [replies]))
    expected = {
        "/a.jpg": "ok", "/a-copy.jpg": "ok", "/png-named.jpg": "ok", "/flaky.jpg": "ok",
        "/page.jpg": "not_image", "/html-as-jpeg.jpg": "undecodable", "/truncated.jpg": "undecodable",
        "/cut.jpg": "network_error", "/bomb.png": "too_many_pixels", "/huge.jpg": "too_large",
        "/huge-stream.jpg": "too_large", "/missing.jpg": "http_error", "/private/x.jpg": "disallowed",
    }
    urls = [SITE + path for path in expected] + [f"{foreign_origin}/z.jpg", SITE + "/a.jpg"]
    statuses = {SITE + path: status for path, status in expected.items()} | {f"{foreign_origin}/z.jpg": "off_host"}
    return urls, statuses, jpeg, png


def download(server, tmp_path, urls, *, cache="http.sqlite", manifest=None, limiter=None, **kwargs):
    session = make_session(user_agent="neta/0.1", contact="tests@example.invalid", cache_path=tmp_path / cache,
                           retries=1, backoff=0.05, timeout=(2, 2), origin_map={SITE: server.origin}, limiter=limiter)
    options = dict(max_failure_ratio=1.0, workers=4, progress=False, limits=LIMITS)
    options.update(kwargs)
    try:
        return download_images(urls, tmp_path / "images", manifest or tmp_path / "images" / "manifest.csv",
                               session=session, robots=RobotsPolicy(session, user_agent="neta/0.1"),
                               allowed_hosts=["img.test"], **options)
    finally:
        session.close()


def test_every_fault_ends_as_designed_and_every_url_has_a_row(http_server, foreign_server, tmp_path):
    urls, statuses, jpeg, png = serve_images(http_server, foreign_server.origin)
    summary = download(http_server, tmp_path, urls)
    manifest = pd.read_csv(tmp_path / "images" / "manifest.csv", keep_default_na=False)
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert manifest["url"].tolist() == list(dict.fromkeys(urls))  # one row per distinct URL, input order
    assert dict(zip(manifest["url"], manifest["status"], strict=True)) == statuses
    failed = manifest[manifest["status"] != "ok"]
    assert (failed["error"] != "").all() and (failed["path"] == "").all()

    ok = manifest[manifest["status"] == "ok"].set_index("url")
    assert ok.loc[SITE + "/a.jpg", "sha256"] == ok.loc[SITE + "/a-copy.jpg", "sha256"]
    assert ok.loc[SITE + "/png-named.jpg", "path"].endswith(".png")  # extension from the content
    assert (int(ok.loc[SITE + "/a.jpg", "width"]), int(ok.loc[SITE + "/a.jpg", "height"])) == (64, 48)
    stored = sorted(p.name for p in (tmp_path / "images").iterdir() if p.name != "manifest.csv")
    assert stored == sorted(set(ok["path"]))  # duplicates stored once, nothing half-written left behind
    for row in ok.itertuples():
        path = tmp_path / "images" / row.path
        assert file_sha256(path) == row.sha256 and path.stat().st_size == int(row.bytes)
    assert (tmp_path / "images" / ok.loc[SITE + "/a.jpg", "path"]).read_bytes() == jpeg
    assert foreign_server.requests == [] and "/private/x.jpg" not in http_server.requests
    assert summary["ok"] == 4 and summary["distinct_files"] == 3 and summary["failed"] == 10


def test_rerun_reuses_files_and_cache_without_network(http_server, foreign_server, tmp_path):
    urls, statuses, _, _ = serve_images(http_server, foreign_server.origin)
    good = [u for u in urls if statuses.get(u) == "ok"]
    download(http_server, tmp_path, good)
    manifest = tmp_path / "images" / "manifest.csv"
    first_manifest = manifest.read_bytes()
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "images").iterdir()}
    seen = len(http_server.requests)

    summary = download(http_server, tmp_path, good)
    assert len(http_server.requests) == seen and summary["reused_from_manifest"] == 4
    assert manifest.read_bytes() == first_manifest

    manifest.unlink()  # no manifest (e.g. the previous run was killed): the HTTP cache still answers
    summary = download(http_server, tmp_path, good)
    assert len(http_server.requests) == seen and summary["from_cache"] == 4 and summary["files_written"] == 0
    assert manifest.read_bytes() == first_manifest
    assert all(p.stat().st_mtime_ns == mtimes[p.name] for p in (tmp_path / "images").iterdir()
               if p.name != "manifest.csv")


def test_too_many_failures_fail_the_stage_without_a_manifest(http_server, foreign_server, tmp_path):
    urls, _, _, _ = serve_images(http_server, foreign_server.origin)
    failed_manifest = tmp_path / "logs" / "manifest.failed.csv"
    with pytest.raises(NetaError, match=r"10 of 14 images failed") as caught:
        download(http_server, tmp_path, urls, max_failure_ratio=0.1, failed_manifest_path=failed_manifest)
    assert "too_many_pixels" in str(caught.value)
    assert not (tmp_path / "images" / "manifest.csv").exists()
    assert len(pd.read_csv(failed_manifest)) == 14


def test_pool_stays_within_the_rate_limit(http_server, tmp_path):
    # robots.txt + 8 images = 9 requests from 4 workers at 5/s: the server must see them start at
    # least 0.2 s apart, not in bursts of four. A request may start late (thread scheduling), never
    # early, so the k-th is also no sooner than k intervals after the first.
    interval = 0.2
    for n in range(8):
        http_server.route(f"/{n}.png", Reply(body=image_bytes("PNG", seed=n), content_type="image/png"))
    summary = download(http_server, tmp_path, [f"{SITE}/{n}.png" for n in range(8)],
                       limiter=RateLimiter(1 / interval), workers=4)
    assert summary["ok"] == 8 and len(http_server.arrivals) == 9
    starts = sorted(http_server.arrivals)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    # The server stamps a request when it has read it, which scheduling can shift by tens of ms; a
    # burst would show gaps of about 1 ms.
    slack = interval / 2
    assert min(gaps) >= interval - slack, f"requests started too close together: {gaps}"
    assert all(start - starts[0] >= k * interval - slack for k, start in enumerate(starts)), starts


def test_run_download_reads_image_urls_from_bokes_csv(http_server, tmp_path):
    from neta.scrape.download import image_urls_from_csv, run_download

    http_server.route("/p.png", Reply(body=image_bytes("PNG"), content_type="image/png"))
    bokes = tmp_path / "bokes.csv"
    bokes.write_text(f"boke_id,image_url\n1,{SITE}/p.png\n2,{SITE}/p.png\n3,\n", encoding="utf-8")
    urls = image_urls_from_csv(bokes)
    assert urls == [f"{SITE}/p.png"]
    summary = run_download(urls, tmp_path / "img", tmp_path / "img" / "manifest.csv",
                           base_origin_map={SITE: http_server.origin}, user_agent="neta/0.1",
                           contact="t@example.invalid",
                           cache_path=tmp_path / "c.sqlite", rate_limit=None, progress=False, limits=LIMITS)
    assert summary["ok"] == 1 and (tmp_path / "img" / "manifest.csv").exists()
    with pytest.raises(NetaError, match="no column photo"):
        image_urls_from_csv(bokes, column="photo")
