"""robots.txt rules as Google reads them (Protego), and how an unusable robots.txt is read.

Cases marked "stdlib:" are ones ``urllib.robotparser`` (the parser before Protego) gets wrong: it
matches ``*`` and ``$`` literally, lets the first matching line win instead of the longest, and
reads neither a fractional Crawl-delay nor a Request-rate with a unit (it returns None for all four
delay cases below). The unmarked rule cases check that the wildcards do not over-match.
"""

import pytest
from http_fixtures import Reply

from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import make_session, transport_of

SITE = "http://site.test"


@pytest.fixture
def policy_for(tmp_path):
    """``policy_for(server, robots_txt=None, **reply)`` -> (RobotsPolicy, session) over ``server``."""
    sessions = []

    def make(server, robots_txt: str | None = None, **reply):
        if robots_txt is not None:
            server.route("/robots.txt", Reply(body=robots_txt.encode(), content_type="text/plain", **reply))
        session = make_session(user_agent="neta/0.1", contact="tests@example.invalid",
                               cache_path=tmp_path / f"http{len(sessions)}.sqlite", retries=1, backoff=0.05,
                               timeout=(2, 2), origin_map={SITE: server.origin})
        sessions.append(session)
        return RobotsPolicy(session, user_agent="neta/0.1 (+https://neta.test)"), session

    yield make
    for session in sessions:
        session.close()


@pytest.mark.parametrize(("rules", "path", "allowed"), [
    ("Disallow: /*.json$", "/data/odai.json", False),          # stdlib: allowed
    ("Disallow: /*.json$", "/data/odai.json?page=2", True),    # $ anchors the end
    ("Disallow: /*.json$", "/data/odai.jsonp", True),
    ("Disallow: /boke/*/edit", "/boke/123/edit", False),       # stdlib: allowed
    ("Disallow: /boke/*/edit", "/boke/123", True),
    ("Disallow: /\nAllow: /boke/", "/boke/hot", True),         # stdlib: disallowed (first match)
    ("Disallow: /\nAllow: /boke/", "/odai/1", False),
    ("Allow: /odai/1$\nDisallow: /odai/", "/odai/12", False),
])
def test_wildcards_end_anchor_and_longest_match(http_server, policy_for, rules, path, allowed):
    policy, _ = policy_for(http_server, f"User-agent: *\n{rules}\n")
    assert policy.allowed(SITE + path) is allowed


@pytest.mark.parametrize(("rules", "seconds"), [
    ("Crawl-delay: 0.5", 0.5),                          # stdlib: None
    ("Crawl-delay: 2.5\nRequest-rate: 1/1s", 2.5),      # stdlib: None; the larger interval applies
    ("Request-rate: 1/2m", 120.0),                      # stdlib: None
    ("Request-rate: 3/1s", 1 / 3),                      # stdlib: None
])
def test_fractional_crawl_delay_and_request_rate_reach_the_session(http_server, policy_for, rules, seconds):
    policy, session = policy_for(http_server, f"User-agent: neta\n{rules}\nAllow: /\n")
    assert policy.allowed(SITE + "/boke/hot")
    assert policy.crawl_delay(SITE + "/x") == pytest.approx(seconds)
    assert transport_of(session).crawl_delays == {f"127.0.0.1:{http_server.port}": pytest.approx(seconds)}


def test_the_group_naming_our_product_token_applies(http_server, policy_for):
    policy, _ = policy_for(http_server, "User-agent: netabot\nDisallow: /\n\n"
                                                  "User-agent: neta\nDisallow: /odai/\n\nUser-agent: *\nDisallow: /\n")
    assert policy.allowed(SITE + "/boke/hot") and not policy.allowed(SITE + "/odai/1")


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (403, True), (429, False),
                                                 (500, False), (503, False)])
def test_unusable_robots_txt_status_and_the_decision_is_kept(http_server, policy_for, status, allowed):
    policy, _ = policy_for(http_server, "", status=status)
    assert policy.allowed(SITE + "/a") is allowed and policy.allowed(SITE + "/b") is allowed
    # once per origin, however the answer was (the session's one retry may repeat a 429/5xx)
    assert http_server.hits("/robots.txt") == (1 if status < 429 else 2)


def test_network_error_means_disallow_all(http_server, policy_for):
    http_server.route("/robots.txt", Reply(reset=True))
    policy, _ = policy_for(http_server)
    assert not policy.allowed(SITE + "/a")


def test_same_origin_redirects_are_followed(http_server, policy_for):
    http_server.route("/robots.txt", Reply(status=301, headers={"Location": "/moved/robots.txt"}))
    http_server.route("/moved/robots.txt",
                      Reply(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    policy, _ = policy_for(http_server)
    assert policy.allowed(SITE + "/public") and not policy.allowed(SITE + "/private/x")


def test_cross_origin_redirect_and_redirect_loop_mean_no_rules(http_server, foreign_server, policy_for):
    foreign_server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    http_server.route("/robots.txt", Reply(status=302, headers={"Location": f"{foreign_server.origin}/robots.txt"}))
    policy, _ = policy_for(http_server)
    assert policy.allowed(SITE + "/a")
    assert foreign_server.requests == []  # the other origin is not even asked

    http_server.route("/robots.txt", Reply(status=302, headers={"Location": "/r1"}))
    for hop in range(1, 7):
        http_server.route(f"/r{hop}", Reply(status=302, headers={"Location": f"/r{hop + 1}"}))
    policy, _ = policy_for(http_server)
    assert policy.allowed(SITE + "/a")
    assert http_server.hits("/r5") == 1 and http_server.hits("/r6") == 0  # 5 hops followed, no more


def test_robots_txt_expires_after_a_day_and_pages_never(http_server, policy_for):
    http_server.route("/page", Reply(body=b"<html></html>"))
    policy, session = policy_for(http_server, "User-agent: *\nAllow: /\n")
    assert policy.allowed(SITE + "/page")
    page = session.get(SITE + "/page")
    robots = session.get(SITE + "/robots.txt")
    assert robots.from_cache and robots.expires is not None
    assert 23.9 * 3600 < (robots.expires - robots.created_at).total_seconds() <= 24 * 3600
    assert page.expires is None
