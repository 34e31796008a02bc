"""One polite GET: allowed host, crawl scope, robots.txt, then the request, following redirects hop by hop.

Redirects are never left to requests/urllib3: each hop's target is checked against the allowed hosts,
the crawl's scope and robots.txt *before* it is requested, so a redirect to a foreign host (or to
another city of the same host) is recorded, not fetched. This is the only redirect loop: robots.txt
itself is fetched through it too (with ``robots=None``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import requests
import urllib3

from neta.scrape.urls import host_allowed, normalize_url

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
OK, HTTP_ERROR, DISALLOWED, OFF_HOST, OFF_SCOPE, NETWORK_ERROR, REDIRECT_LOOP = (
    "ok", "http_error", "disallowed", "off_host", "off_scope", "network_error", "too_many_redirects")
# Not requested because the origin's robots.txt could not be read (network error, 429, 5xx): kept
# apart from DISALLOWED so that a site that cannot be reached is not reported as one that says no.
ROBOTS_UNREACHABLE = "robots_unreachable"
# requests-cache reads a streamed body through urllib3 directly, so urllib3's own errors can surface
# unwrapped (e.g. ProtocolError for a body shorter than its Content-Length).
TRANSFER_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)


class Robots(Protocol):
    """What polite_get asks of a robots.txt policy (neta.scrape.robots.RobotsPolicy)."""

    def allowed(self, url: str) -> bool: ...

    def unreachable(self, url: str) -> str:
        """Why the robots.txt of ``url``'s origin could not be read ("" when it could)."""
        ...


@dataclass
class FetchResult:
    url: str                      # the URL asked for (recorded form)
    final_url: str                # the URL of the last hop (recorded form)
    status: str                   # one of the constants above
    response: requests.Response | None = None   # set when status is OK
    error: str = ""
    from_cache: bool = False
    http_status: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


def polite_get(session: requests.Session, url: str, *, robots: Robots | None, allowed_hosts: Iterable[str],
               stream: bool = False, max_redirects: int = 5, headers: Mapping[str, str] | None = None,
               in_scope: Callable[[str], bool] | None = None) -> FetchResult:
    """GET ``url`` (recorded form). Network and HTTP problems come back as a FetchResult, not raised.

    ``headers`` are sent with every hop on top of the session's (e.g. X-Requested-With for a page
    that a site serves only to its own scripts), and the HTTP cache keys on them. ``in_scope(url)``,
    when given, must accept every hop (see SiteAdapter.in_scope).
    """
    allowed_hosts = tuple(allowed_hosts)
    if headers:
        key_cache_on(session, headers)
    current = url
    for _hop in range(max_redirects + 1):
        if not host_allowed(current, allowed_hosts):
            return FetchResult(url, current, OFF_HOST, error=f"host of {current} not in allowed_hosts")
        if in_scope is not None and not in_scope(current):
            return FetchResult(url, current, OFF_SCOPE, error=f"{current} is outside the crawl's scope")
        if robots is not None and not robots.allowed(current):
            reason = robots.unreachable(current)
            if reason:
                return FetchResult(url, current, ROBOTS_UNREACHABLE, error=f"{current} not requested: {reason}")
            return FetchResult(url, current, DISALLOWED, error=f"{current} disallowed by robots.txt")
        try:
            response = session.get(current, allow_redirects=False, stream=stream, headers=headers)
        except TRANSFER_ERRORS as exc:
            return FetchResult(url, current, NETWORK_ERROR, error=describe_error(exc))
        from_cache = bool(getattr(response, "from_cache", False))
        if response.status_code in REDIRECT_STATUSES and response.headers.get("Location"):
            target = normalize_url(response.headers["Location"], base=current)
            response.close()
            current = target
            continue
        if response.status_code != 200:
            response.close()
            return FetchResult(url, current, HTTP_ERROR, error=f"HTTP {response.status_code}",
                               from_cache=from_cache, http_status=response.status_code)
        return FetchResult(url, current, OK, response=response, from_cache=from_cache, http_status=200)
    return FetchResult(url, current, REDIRECT_LOOP, error=f"more than {max_redirects} redirects")


def key_cache_on(session: requests.Session, headers: Mapping[str, str]) -> None:
    """Make the session's HTTP cache (requests-cache) tell requests apart by these header names.

    A header sent on top of the session's changes what the server answers (Dodo's product URL gives a
    popup fragment with ``X-Requested-With`` and a full page without), and requests-cache keys on the
    method and URL only unless told otherwise; a site need not send ``Vary`` either. A request without
    the header keeps the key it always had (requests-cache adds only headers present in the request),
    so existing caches stay valid. A session without a cache is left alone.
    """
    settings = getattr(session, "settings", None)
    matched = getattr(settings, "match_headers", None)
    if settings is None or matched is True:
        return
    known = {name.lower() for name in (matched or ())}
    missing = [name for name in headers if name.lower() not in known]
    if missing:
        settings.match_headers = [*(matched or ()), *missing]


def describe_error(exc: BaseException) -> str:
    """A one-line description of a network error, innermost cause first (urllib3 wraps a lot)."""
    text = str(exc)
    reason = getattr(exc, "args", [None])[0]
    inner = getattr(reason, "reason", None)
    if inner is not None:
        text = f"{inner}"
    text = " ".join(text.split())
    return f"{type(exc).__name__}: {text[:300]}"
