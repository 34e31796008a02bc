"""The polite session against a real local server with injected faults."""

import time

import pytest
from http_fixtures import Reply, ScriptedServer

from neta.errors import NetaError
from neta.scrape.fetch import NETWORK_ERROR, polite_get
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.session import make_session, transport_of

SITE = "http://site.test"


def session_for(server, tmp_path, **kwargs):
    options = dict(user_agent="neta/0.1", contact="tests@example.invalid", cache_path=tmp_path / "http.sqlite",
                   retries=2, backoff=0.05, timeout=(2, 2), origin_map={SITE: server.origin})
    options.update(kwargs)
    return make_session(**options)


def get(session, path):
    return polite_get(session, SITE + path, robots=None, allowed_hosts=["site.test"])


def test_500_then_200_is_retried(http_server, tmp_path):
    http_server.route("/flaky", Reply(status=500, body=b"oops"), Reply(body=b"<html>fine</html>"))
    result = get(session_for(http_server, tmp_path), "/flaky")
    assert result.ok and result.response.text == "<html>fine</html>"
    assert http_server.hits("/flaky") == 2


def test_persistent_500_ends_as_recorded_http_error(http_server, tmp_path):
    http_server.route("/down", Reply(status=503, body=b"down"))
    result = get(session_for(http_server, tmp_path, retries=2), "/down")
    assert result.status == "http_error" and result.http_status == 503
    assert http_server.hits("/down") == 3  # first try + 2 retries


def test_429_retry_after_is_waited(http_server, tmp_path):
    http_server.route("/busy", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"<html>ok</html>"))
    started = time.perf_counter()
    result = get(session_for(http_server, tmp_path), "/busy")
    elapsed = time.perf_counter() - started
    assert result.ok
    assert elapsed >= 1.0, f"Retry-After: 1 not honoured ({elapsed:.2f} s)"
    assert http_server.hits("/busy") == 2


def test_read_timeout_is_retried_then_recorded(http_server, tmp_path):
    http_server.route("/slow", Reply(body=b"late", delay=1.0))
    result = get(session_for(http_server, tmp_path, retries=1, timeout=(2, 0.3)), "/slow")
    assert result.status == NETWORK_ERROR
    assert "timed out" in result.error.lower()
    assert http_server.hits("/slow") == 2


def test_connection_reset_is_retried(http_server, tmp_path):
    http_server.route("/reset", Reply(reset=True), Reply(body=b"<html>after reset</html>"))
    result = get(session_for(http_server, tmp_path), "/reset")
    assert result.ok and result.response.text == "<html>after reset</html>"
    assert http_server.hits("/reset") == 2


def test_truncated_body_is_a_failure_and_not_cached(http_server, tmp_path):
    http_server.route("/cut", Reply(body=b"<html>only half", declared_length=5000))
    session = session_for(http_server, tmp_path)
    first = get(session, "/cut")
    assert first.status == NETWORK_ERROR
    assert "IncompleteRead" in first.error or "incomplete" in first.error.lower() or "Chunked" in first.error
    second = get(session, "/cut")
    assert second.status == NETWORK_ERROR and not second.from_cache


def test_only_200_is_cached_and_cache_is_stable_across_ports(tmp_path):
    cache = tmp_path / "http.sqlite"
    with ScriptedServer() as first:
        first.route("/page", Reply(body=b"<html>page</html>"))
        session = session_for(first, tmp_path, cache_path=cache)
        assert get(session, "/page").response.url == SITE + "/page"  # recorded form, not 127.0.0.1
        assert get(session, "/missing").status == "http_error"
        again = get(session, "/page")
        assert again.from_cache and first.hits("/page") == 1
        get(session, "/missing")
        assert first.hits("/missing") == 2  # a 404 is never cached
        session.close()
    with ScriptedServer() as second:  # the snapshot comes back on another port: still a cache hit
        assert second.port != first.port
        session = session_for(second, tmp_path, cache_path=cache)
        result = get(session, "/page")
        assert result.ok and result.from_cache and result.response.text == "<html>page</html>"
        assert second.requests == []
        assert transport_of(session).network_requests == 0


def test_user_agent_names_contact(http_server, tmp_path):
    http_server.route("/ua", Reply(body=b"<html></html>"))
    get(session_for(http_server, tmp_path, project_url="https://example.invalid/neta"), "/ua")
    agent = http_server.headers_seen[-1]["User-Agent"]
    assert agent == "neta/0.1 (+https://example.invalid/neta; contact: tests@example.invalid)"


def test_live_session_without_contact_is_refused(tmp_path):
    with pytest.raises(NetaError, match="contact"):
        make_session(user_agent="neta/0.1", contact="", cache_path=None)


def test_rate_limiter_spaces_requests_per_host_with_a_fake_clock():
    now = [0.0]
    limiter = RateLimiter(2.0, host_rates={"127.0.0.1": 0}, clock=lambda: now[0],
                          sleep=lambda s: now.__setitem__(0, now[0] + s))
    starts = []
    for _ in range(5):
        limiter.wait("bokete.jp")
        starts.append(now[0])
    assert starts == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert limiter.wait("127.0.0.1:8000") == 0.0  # override: local host unthrottled
    assert limiter.wait("other.example") == 0.0   # another host has its own schedule


def test_headers_of_one_request_go_with_every_hop(http_server, tmp_path):
    # e.g. a product popup that a site serves only to its own scripts
    http_server.route("/popup", Reply(status=302, headers={"Location": "/popup/1"}))
    http_server.route("/popup/1", Reply(body=b"<html>pizza</html>"))
    result = polite_get(session_for(http_server, tmp_path), SITE + "/popup", robots=None, allowed_hosts=["site.test"],
                        headers={"X-Requested-With": "XMLHttpRequest"})
    assert result.ok and result.final_url == SITE + "/popup/1"
    assert [h.get("X-Requested-With") for h in http_server.headers_seen] == ["XMLHttpRequest"] * 2
    assert "neta/0.1" in http_server.headers_seen[-1]["User-Agent"]  # on top of the session's headers
