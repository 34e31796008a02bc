"""The crawl loop and the scrape stage: frontier, dedup, limits, CSV, failure ratio, kill-and-resume."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from http_fixtures import Reply, ScriptedServer, build_tiny_site, tiny_adapter, tiny_page, tiny_parse

from neta.boke.site.adapter import write_bokes_csv
from neta.boke.site.records import BOKE_COLUMNS, Boke
from neta.errors import NetaError
from neta.scrape.adapter import ParsedPage, SiteAdapter
from neta.scrape.crawl import crawl, run_scrape
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import make_session

SITE = "http://site.test"
REPO = Path(__file__).resolve().parents[2]


def scrape(server, tmp_path, out_name="bokes.csv", cache="http.sqlite", min_stars=0, start="/list?page=1",
           **overrides):
    options = dict(base_origin_map={SITE: server.origin}, user_agent="neta/0.1", contact="tests@example.invalid",
                   cache_path=tmp_path / cache, rate_limit=0, allowed_hosts=["site.test"], max_pages=None,
                   max_items=None, max_failure_ratio=0.1, adapter=tiny_adapter(min_stars), retries=1,
                   backoff=0.05, timeout=(2, 2), progress=False)
    options.update(overrides)
    return run_scrape([SITE + start], tmp_path / out_name, **options)


def test_full_crawl_keeps_every_boke_once_and_skips_private(http_server, tmp_path):
    expected = build_tiny_site(http_server, pages=8)
    summary = scrape(http_server, tmp_path)
    frame = pd.read_csv(tmp_path / "bokes.csv", dtype={"text": str})
    assert list(frame.columns) == BOKE_COLUMNS
    assert frame["boke_id"].tolist() == sorted(expected)
    assert dict(zip(frame["boke_id"], frame["text"], strict=True)) == expected
    assert frame["source_url"].str.startswith(SITE + "/").all()
    assert summary["pages_fetched"] == 16 and summary["failed"] == 0 and summary["items_kept"] == len(expected)
    assert summary["disallowed"] == 1  # /private/secret: linked from every page, checked once
    assert "/private/secret" not in http_server.requests
    # fragments and repeated links do not cause refetches
    assert all(http_server.hits(f"/odai/{n}") == 1 for n in range(1, 9))
    assert http_server.hits("/list?page=1") == 1


def test_limits_min_stars_max_pages_max_items(http_server, tmp_path):
    expected = build_tiny_site(http_server, pages=8)
    scrape(http_server, tmp_path, "stars.csv", min_stars=30)
    stars = pd.read_csv(tmp_path / "stars.csv")
    assert (stars["stars"] >= 30).all()
    assert len(stars) == sum(1 for i in expected if (i * 7) % 50 >= 30)

    summary = scrape(http_server, tmp_path, "pages.csv", max_pages=3)
    assert summary["pages_fetched"] == 3

    summary = scrape(http_server, tmp_path, "few.csv", max_items=5)
    assert summary["items_kept"] == 5 and len(pd.read_csv(tmp_path / "few.csv")) == 5


def test_duplicate_boke_keeps_the_record_with_more_information(http_server, tmp_path):
    http_server.page("/", tiny_page([(1, 1, 5, "")], ["/boke/1"]))
    http_server.page("/boke/1", tiny_page([(1, 1, 7, "full text")]))
    session = make_session(user_agent="neta/0.1", contact="t@example.invalid", cache_path=None,
                           origin_map={SITE: http_server.origin})
    result = crawl([SITE + "/"], adapter=tiny_adapter(), session=session,
                   robots=RobotsPolicy(session, user_agent="neta"), allowed_hosts=["site.test"], progress=False)
    assert [(b.boke_id, b.text, b.stars) for b in result.items] == [(1, "full text", 7)]


def test_any_item_type_through_a_site_adapter(http_server, tmp_path):
    # Another site's records: one per odai, listing its boke ids; pages each show part of an odai,
    # so the adapter merges the records of one odai instead of choosing one.
    def parse(text, url):
        page = tiny_parse(text, url)
        odais = {}
        for boke in page.items:
            odais.setdefault(boke.odai_id, set()).add(boke.boke_id)
        return ParsedPage(items=[(odai, frozenset(ids)) for odai, ids in odais.items()], links=page.links)

    def write(items, path):
        path.write_text("".join(f"{odai} {sorted(ids)}\n" for odai, ids in items), encoding="utf-8")

    odais = SiteAdapter(name="odais", parse=parse, key=lambda item: item[0], write=write,
                        merge=lambda kept, new: (kept[0], kept[1] | new[1]), keep=lambda item: len(item[1]) > 1,
                        keep_rule="at least two bokes")
    http_server.page("/", tiny_page([(1, 7, 5, "a"), (2, 8, 5, "b")], ["/more"]))
    http_server.page("/more", tiny_page([(3, 7, 5, "c"), (3, 7, 5, "c again")]))
    summary = scrape(http_server, tmp_path, "odais.txt", adapter=odais, start="/")
    assert summary["items_seen"] == 3 and summary["items_kept"] == 1
    assert (tmp_path / "odais.txt").read_text(encoding="utf-8") == "7 [1, 3]\n"


def test_failed_pages_are_recorded_and_too_many_fail_the_stage(http_server, tmp_path):
    http_server.page("/list?page=1", tiny_page([(1, 1, 5, "a")], ["/broken", "/gone", "/ok"]))
    http_server.route("/broken", Reply(status=500, body=b"x"))
    http_server.route("/gone", Reply(body=b"no html here", content_type="text/plain"))  # parser error
    http_server.page("/ok", tiny_page([(2, 1, 5, "b")]))
    with pytest.raises(NetaError, match=r"2 of 4 pages failed") as caught:
        scrape(http_server, tmp_path)
    assert "/broken" in str(caught.value)
    assert not (tmp_path / "bokes.csv").exists()
    summary = scrape(http_server, tmp_path, max_failure_ratio=0.6)
    assert summary["failed"] == 2 and summary["items_kept"] == 2


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_site_is_named_with_the_reason_not_blamed_on_robots_or_keep_rule(tmp_path):
    origin = f"http://127.0.0.1:{closed_port()}"
    # a live crawl (no origin map): the contact must look real; nothing is sent anywhere
    with pytest.raises(NetaError) as caught:
        run_scrape([origin + "/list?page=1"], tmp_path / "bokes.csv", adapter=tiny_adapter(), base_origin_map={},
                   user_agent="neta/0.1", contact="crawler@neta-tests.org", cache_path=tmp_path / "http.sqlite",
                   rate_limit=0, allowed_hosts=None, max_pages=None, max_items=None, max_failure_ratio=0.1,
                   retries=1, backoff=0.01, timeout=(1, 1), progress=False)
    message = str(caught.value)
    assert f"{origin.removeprefix('http://')} could not be reached" in message
    assert "Connection refused" in message
    assert "keep rule" not in message and "disallowed by robots.txt" not in message
    assert not (tmp_path / "bokes.csv").exists()


def test_robots_txt_that_disallows_still_says_so(http_server, tmp_path):
    http_server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    with pytest.raises(NetaError, match=r"disallowed by robots.txt: 1\)") as caught:
        scrape(http_server, tmp_path)
    assert "could not be reached" not in str(caught.value)


def test_write_bokes_csv_is_sorted_utf8_with_missing_votes_empty(tmp_path):
    bokes = [Boke(5, 1, "二番目", 3, None, "http://x.test/a.jpg", None, "http://x.test/", "tiny"),
             Boke(2, 1, 'quote "and", comma', 10, 4, "http://x.test/a.jpg", "2013-01-02", "http://x.test/", "tiny")]
    write_bokes_csv(bokes, tmp_path / "b.csv")
    text = (tmp_path / "b.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == ",".join(BOKE_COLUMNS)
    assert lines[1].startswith('2,1,"quote ""and"", comma",10,4,')
    assert lines[2] == "5,1,二番目,3,,http://x.test/a.jpg,,http://x.test/,tiny"


_RUNNER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from http_fixtures import tiny_adapter
from neta.scrape.crawl import run_scrape
args = json.loads(sys.argv[3])
summary = run_scrape(["http://site.test/list?page=1"], args["out"], adapter=tiny_adapter(),
                     base_origin_map={"http://site.test": args["origin"]}, user_agent="neta/0.1",
                     contact="tests@example.invalid", cache_path=args["cache"], rate_limit=args["rate"],
                     allowed_hosts=["site.test"], max_pages=None, max_items=None, max_failure_ratio=0.0,
                     progress=False)
print(json.dumps(summary))
"""


def run_crawler_process(tmp_path, origin, out, cache, rate):
    script = tmp_path / "runner.py"
    script.write_text(_RUNNER)
    args = json.dumps({"origin": origin, "out": str(out), "cache": str(cache), "rate": rate})
    return subprocess.Popen([sys.executable, str(script), str(REPO / "src"), str(REPO / "tests"), args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})


def test_sigkill_mid_crawl_then_resume_gives_the_same_csv(tmp_path):
    pages = 25  # 51 requests (robots + 25 lists + 25 odai pages) at 20/s: about 2.5 s
    with ScriptedServer() as reference:
        build_tiny_site(reference, pages=pages)
        proc = run_crawler_process(tmp_path, reference.origin, tmp_path / "reference.csv", tmp_path / "ref.sqlite", 0)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    cache = tmp_path / "resume.sqlite"
    with ScriptedServer() as first:
        build_tiny_site(first, pages=pages)
        proc = run_crawler_process(tmp_path, first.origin, tmp_path / "resumed.csv", cache, 20)
        deadline = time.monotonic() + 30
        while len(first.requests) < 20 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL, "the crawl finished before the kill; slow it down"
        before_kill = set(first.requests)
    assert not (tmp_path / "resumed.csv").exists()
    assert 20 <= len(before_kill) < 2 * pages + 1

    with ScriptedServer() as second:  # restarted on a new port, as the snapshot is every run
        build_tiny_site(second, pages=pages)
        proc = run_crawler_process(tmp_path, second.origin, tmp_path / "resumed.csv", cache, 20)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        refetched = before_kill & set(second.requests)
    # at most the page in flight at the kill is fetched again; everything else came from the cache
    assert len(refetched) <= 1, refetched
    assert summary["from_cache"] >= len(before_kill) - 2
    assert summary["pages_fetched"] == 2 * pages
    assert (tmp_path / "resumed.csv").read_bytes() == (tmp_path / "reference.csv").read_bytes()
