"""robots.txt, foreign hosts and charsets, through the real crawl path and a real local server."""

import time

import pytest
from http_fixtures import FakeClock, Reply, tiny_adapter, tiny_page

from neta.scrape.crawl import crawl
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import make_session

SITE = "http://site.test"


def run(server, tmp_path, start="/", *, limiter=None, cache="http.sqlite", **kwargs):
    session = make_session(user_agent="neta/0.1", contact="tests@example.invalid", cache_path=tmp_path / cache,
                           retries=1, backoff=0.05, timeout=(2, 2), origin_map={SITE: server.origin},
                           limiter=limiter)
    robots = RobotsPolicy(session, user_agent="neta/0.1")
    try:
        return crawl([SITE + start], adapter=tiny_adapter(), session=session, robots=robots,
                     allowed_hosts=["site.test"], progress=False, **kwargs)
    finally:
        session.close()


def test_robots_disallowed_page_is_never_requested(http_server, tmp_path):
    http_server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    http_server.page("/", tiny_page([(1, 1, 5, "a")], ["/private/x", "/public"]))
    http_server.page("/public", tiny_page([(2, 1, 5, "b")]))
    http_server.page("/private/x", tiny_page([(3, 1, 5, "secret")]))
    result = run(http_server, tmp_path)
    assert "/private/x" not in http_server.requests
    assert http_server.hits("/public") == 1
    assert result.stats["disallowed"] == 1
    assert sorted(b.boke_id for b in result.items) == [1, 2]


def test_robots_group_for_our_agent_applies(http_server, tmp_path):
    http_server.route("/robots.txt", Reply(body=b"User-agent: neta\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
                                           content_type="text/plain"))
    http_server.page("/", tiny_page([(1, 1, 5, "a")]))
    result = run(http_server, tmp_path)
    assert http_server.requests == ["/robots.txt"]
    assert result.stats["disallowed"] == 1 and result.items == []


def test_unreachable_robots_means_disallow_all_and_404_means_allow_all(http_server, tmp_path):
    http_server.route("/robots.txt", Reply(status=500, body=b"broken"))
    http_server.page("/", tiny_page([(1, 1, 5, "a")]))
    result = run(http_server, tmp_path)
    assert "/" not in http_server.requests
    # not requested because robots.txt could not be read: counted apart from a real Disallow
    assert result.stats["robots_unreachable"] == 1 and result.stats["disallowed"] == 0
    assert result.unreachable == {"site.test": "robots.txt of site.test answered HTTP 500"}
    http_server.route("/robots.txt", Reply(status=404, body=b"none"))
    result = run(http_server, tmp_path, cache="other.sqlite")
    assert http_server.hits("/") == 1 and [b.boke_id for b in result.items] == [1]


def test_redirect_and_link_to_foreign_host_are_not_followed(http_server, foreign_server, tmp_path):
    foreign_server.page("/trap", tiny_page([(99, 9, 50, "foreign")]))
    http_server.page("/", tiny_page([(1, 1, 5, "a")], ["/go", f"{foreign_server.origin}/trap", "/moved"]))
    http_server.route("/go", Reply(status=302, headers={"Location": f"{foreign_server.origin}/trap"}, body=b""))
    http_server.route("/moved", Reply(status=301, headers={"Location": f"{http_server.origin}/here"}, body=b""))
    http_server.page("/here", tiny_page([(2, 1, 5, "moved here")]))
    result = run(http_server, tmp_path)
    assert foreign_server.requests == []  # not even its robots.txt
    assert result.stats["off_host"] == 2  # the link and the redirect
    assert sorted(b.boke_id for b in result.items) == [1, 2]
    # a same-site redirect is followed and recorded under the recorded origin, not the port
    assert {b.source_url for b in result.items} == {SITE + "/", SITE + "/here"}


def test_shift_jis_and_euc_jp_pages_are_decoded(http_server, tmp_path):
    sjis_text = "ボケて～①　面白い写真"
    euc_text = "お題：猫が踊る"
    http_server.route("/", Reply(body=tiny_page([(1, 1, 5, sjis_text)], ["/euc"]).encode("cp932"),
                                 content_type="text/html; charset=Shift_JIS"))
    euc_page = tiny_page([(2, 1, 5, euc_text)]).replace("<head>", '<head><meta charset="EUC-JP">')
    http_server.route("/euc", Reply(body=euc_page.encode("euc_jp"), content_type="text/html"))
    result = run(http_server, tmp_path)
    assert {b.boke_id: b.text for b in result.items} == {1: sjis_text, 2: euc_text}


def test_rate_limit_2_per_second_and_cache_hits_do_not_wait(http_server, tmp_path):
    # robots.txt + 19 pages = 20 real requests at 2 requests/s: on the limiter's (fake) clock each
    # request after the first waits 0.5 s, so the 20th starts at t = 9.5 s; nothing really sleeps.
    for n in range(19):
        http_server.page(f"/p{n}", tiny_page([(n, 1, 1, f"b{n}")], [f"/p{n + 1}"] if n < 18 else []))
    http_server.route("/robots.txt", Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    fake = FakeClock()
    first = run(http_server, tmp_path, "/p0", limiter=RateLimiter(2.0, clock=fake.clock, sleep=fake.sleep))
    assert len(http_server.requests) == 20 and first.stats["pages_fetched"] == 19
    assert fake.sleeps == [0.5] * 19 and fake.now == 9.5

    fake = FakeClock()
    again = run(http_server, tmp_path, "/p0", limiter=RateLimiter(2.0, clock=fake.clock, sleep=fake.sleep))
    assert again.stats["from_cache"] == 19 and len(http_server.requests) == 20
    assert fake.sleeps == [], "a cached re-crawl waited on the rate limiter"


def test_crawl_delay_for_our_agent_spaces_requests_even_with_rate_limit_off(http_server, tmp_path):
    # robots.txt (not yet delayed), then 3 pages at least 1 s apart on the limiter's (fake) clock. The
    # other group's 30 s does not apply to us, and the configured 100/s is the smaller interval, so
    # Crawl-delay wins.
    http_server.route("/robots.txt", Reply(body=b"User-agent: other\nCrawl-delay: 30\n\n"
                                                b"User-agent: neta\nCrawl-delay: 1\nAllow: /\n",
                                           content_type="text/plain"))
    for n in range(3):
        http_server.page(f"/p{n}", tiny_page([(n, 1, 1, f"b{n}")], [f"/p{n + 1}"] if n < 2 else []))
    fake = FakeClock()
    result = run(http_server, tmp_path, "/p0", limiter=RateLimiter(100.0, clock=fake.clock, sleep=fake.sleep))
    assert http_server.requests == ["/robots.txt", "/p0", "/p1", "/p2"] and result.stats["pages_fetched"] == 3
    assert fake.sleeps[-2:] == pytest.approx([1.0, 1.0]) and fake.now == pytest.approx(2.01)

    started = time.perf_counter()  # a cached re-crawl sends nothing, so it waits for nothing
    again = run(http_server, tmp_path, "/p0")
    assert again.stats["from_cache"] == 3 and time.perf_counter() - started < 1.0


def test_no_crawl_delay_and_rate_limit_off_means_no_wait(http_server, tmp_path):
    http_server.route("/robots.txt", Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    for n in range(3):
        http_server.page(f"/p{n}", tiny_page([(n, 1, 1, f"b{n}")], [f"/p{n + 1}"] if n < 2 else []))
    started = time.perf_counter()
    result = run(http_server, tmp_path, "/p0")
    assert result.stats["pages_fetched"] == 3 and time.perf_counter() - started < 1.0
