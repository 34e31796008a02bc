"""The offline bokete snapshot: contents, layouts, a crawl over the real local server, determinism."""

from __future__ import annotations

import hashlib
import io
import re
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import requests
from PIL import Image

from neta.boke.site import parse_bokete
from neta.boke.site.adapter import bokete_adapter
from neta.boke.site.records import BOKE_COLUMNS
from neta.boke.snapshot.build import build_bokete_snapshot, expected_bokes, load_bokete_data, site_model
from neta.errors import NetaError
from neta.scrape.crawl import run_scrape
from neta.scrape.sites import open_site
from neta.scrape.snapshot_server import SnapshotServer, resolve_request


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("snap") / "bokete"
    return root, build_bokete_snapshot(root, seed=0)


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _url_of(rel: str) -> str:
    """Inverse of the server's mapping: odai/1/page-2.html → /odai/1?page=2."""
    directory, _, name = rel.rpartition("/")
    path = "/" + directory if directory else "/"
    match = re.fullmatch(r"page-(\d+)\.html", name)
    return f"{path}?page={match.group(1)}" if match else path


def test_counts_photos_and_bokes(snapshot):
    root, summary = snapshot
    assert summary["photos"] >= 12 and summary["bokes"] >= 150
    assert set(summary["odai_layouts"]) == {"nextjs", "classic2016", "xhtml2013"}
    layouts = summary["odai_layouts"]
    assert layouts["nextjs"] > layouts["classic2016"] + layouts["xhtml2013"]
    per_odai = {}
    for boke in expected_bokes(0):
        per_odai[boke["odai_id"]] = per_odai.get(boke["odai_id"], 0) + 1
    assert len(per_odai) == summary["photos"] and min(per_odai.values()) >= 5
    stars = sorted(b["stars"] for b in expected_bokes(0))
    assert stars[len(stars) // 2] < 100 and stars[-1] >= 1000  # skewed like the real site
    robots = (root / "robots.txt").read_text()
    assert "Disallow: /login" in robots and "Disallow: /api/" in robots


def test_photos_are_distinct_real_jpegs(snapshot):
    root, summary = snapshot
    photos = sorted((root / "photo").rglob("*.jpg"))
    assert len(photos) == summary["photos"]
    digests = set()
    for path in photos:
        data = path.read_bytes()
        digests.add(hashlib.sha256(data).hexdigest())
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert max(image.size) <= 600 and min(image.size) >= 100
            image.load()
    assert len(digests) == len(photos)


def test_bokes_are_japanese_and_written_once():
    data = load_bokete_data()
    texts = [b["text"] for p in data["photos"] for b in p["bokes"]]
    assert len(texts) == len(set(texts))
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    assert all(japanese.search(t) for t in texts)


def test_every_page_parses_with_its_layout(snapshot):
    root, _ = snapshot
    model = site_model(0)
    layout_of_odai = {o["id"]: o["layout"] for o in model["odais"]}
    odai_of_boke = {b["id"]: b["odai_id"] for b in model["bokes"]}
    truth = {b["boke_id"]: b for b in expected_bokes(0)}
    origin = "http://127.0.0.1:8000"
    seen = set()
    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))
    for rel in pages:
        url = origin + _url_of(rel)
        page = parse_bokete((root / rel).read_bytes(), url)
        kind, _, ident = _url_of(rel).split("?")[0].strip("/").partition("/")
        if kind == "odai":
            assert page.layout == layout_of_odai[int(ident)], rel
        elif kind == "boke" and ident.isdigit():
            assert page.layout == layout_of_odai[odai_of_boke[int(ident)]], rel
            assert [b.boke_id for b in page.items] == [int(ident)]
        else:
            assert page.layout == "nextjs", rel
        assert page.items, rel
        for boke in page.items:
            want = truth[boke.boke_id]
            assert (boke.odai_id, boke.text, boke.stars, boke.image_url) == (
                want["odai_id"], want["text"], want["stars"], origin + want["image_path"]), rel
            assert boke.votes in (None, want["votes"])
            assert boke.date is None or boke.date[:10] == want["date"][:10]
            seen.add(boke.boke_id)
    assert seen == set(truth)


def test_crawl_over_the_server_reaches_every_boke(snapshot):
    root, _ = snapshot
    truth = {b["boke_id"]: b for b in expected_bokes(0)}
    found = {}
    with SnapshotServer(root) as server:
        assert urlsplit(server.origin).hostname == "127.0.0.1"
        queue = deque([server.origin + "/boke/hot", server.origin + "/boke/legend"])
        visited = set(queue)
        with requests.Session() as session:
            while queue:
                url = queue.popleft()
                response = session.get(url, timeout=5)
                assert response.status_code == 200, url
                assert response.headers["Content-Type"] == "text/html; charset=utf-8"
                page = parse_bokete(response.content, url)
                for boke in page.items:
                    found.setdefault(boke.boke_id, boke)
                for link in page.links:
                    assert link.startswith(server.origin), link
                    if link not in visited:
                        visited.add(link)
                        queue.append(link)
            photo = session.get(next(iter(found.values())).image_url, timeout=5)
            assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
            Image.open(io.BytesIO(photo.content)).verify()
    assert set(found) == set(truth)
    assert all(found[i].text == truth[i]["text"] and found[i].stars == truth[i]["stars"] for i in truth)


def test_server_mapping_and_errors(snapshot):
    root, _ = snapshot
    odai = site_model(0)["odais"][0]["id"]
    assert resolve_request(root, f"/odai/{odai}") == root / "odai" / str(odai) / "index.html"
    assert resolve_request(root, f"/odai/{odai}/?page=1&sort=new") == root / "odai" / str(odai) / "index.html"
    assert resolve_request(root, "/boke/hot?page=2") == root / "boke" / "hot" / "page-2.html"
    for missing in ("/boke/hot?page=999", "/boke/hot?page=x", "/boke/hot?page=0", "/odai/1", "/../etc/passwd",
                    "/%2e%2e/x", "/robots.txt?page=2"):
        assert resolve_request(root, missing) is None, missing
    with SnapshotServer(root) as server:
        assert requests.get(server.origin + "/odai/1", timeout=5).status_code == 404
        robots = requests.get(server.origin + "/robots.txt", timeout=5)
        assert robots.headers["Content-Type"] == "text/plain; charset=utf-8"
        head = requests.head(server.origin + "/boke/legend", timeout=5)
        assert head.status_code == 200 and int(head.headers["Content-Length"]) > 1000
        again = requests.get(server.origin + "/boke/legend", headers={"If-None-Match": head.headers["ETag"]}, timeout=5)
        assert again.status_code == 304
    with pytest.raises(requests.ConnectionError):
        requests.get(server.origin + "/", timeout=2)  # stopped on exit


def test_server_refuses_non_loopback_hosts(tmp_path):
    for host in ("0.0.0.0", "192.168.1.10", "example.org", "::1"):
        with pytest.raises(NetaError, match="loopback"):
            SnapshotServer(tmp_path, host=host)
    with pytest.raises(NetaError, match="does not exist"):
        SnapshotServer(tmp_path / "missing")


def test_same_seed_same_bytes_and_rebuild_replaces_tree(snapshot, tmp_path):
    root, summary = snapshot
    again = tmp_path / "again"
    again.mkdir()
    (again / "stale.html").write_text("old")
    assert build_bokete_snapshot(again, seed=0) == {**summary, "out_dir": str(again)}
    assert _tree_digest(again) == _tree_digest(root)
    other = tmp_path / "other"
    build_bokete_snapshot(other, seed=1)
    assert _tree_digest(other) != _tree_digest(root)
    assert sorted(b["text"] for b in expected_bokes(1)) == sorted(b["text"] for b in expected_bokes(0))
    assert not list(tmp_path.glob(".*"))  # no staging directories left behind


def test_scrape_stage_with_the_bokete_adapter_writes_every_boke_once(snapshot, tmp_path):
    root, _ = snapshot
    truth = {b["boke_id"]: b for b in expected_bokes(0)}
    with open_site("bokete", snapshot_dir=root) as site:
        summary = run_scrape([site.url("/boke/hot"), site.url("/boke/legend")], tmp_path / "bokes.csv",
                             adapter=bokete_adapter(min_stars=0), base_origin_map=site.origin_map,
                             user_agent="neta/0.1",
                             contact="set-your-email@example.invalid", cache_path=tmp_path / "http.sqlite",
                             rate_limit=0, allowed_hosts=None, max_pages=None, max_items=None,
                             max_failure_ratio=0.0, progress=False)
    bokes = pd.read_csv(tmp_path / "bokes.csv", dtype={"text": str}, keep_default_na=False)
    assert list(bokes.columns) == BOKE_COLUMNS and bokes["boke_id"].is_monotonic_increasing
    assert summary["items_kept"] == len(bokes) and set(bokes["boke_id"]) == set(truth)
    assert all(row.text == truth[row.boke_id]["text"] for row in bokes.itertuples())
