"""One polite HTTP session per site: retries, timeouts, User-Agent, HTTP cache, rate limit, origin map.

Layering (outermost first)::

    requests_cache.CachedSession      cache lookup by *recorded* URL; a hit returns here
      PoliteTransport (HTTPAdapter)   only reached on a cache miss:
                                        1. rate limiter wait for the fetch host
                                        2. recorded URL -> fetch URL (origin map)
                                        3. urllib3 with Retry (backoff, Retry-After) and timeouts
                                        4. response URL and Location header -> recorded form

Putting the rate limiter and the origin map in the transport means a cache hit never waits, every
real request (robots.txt, pages, redirects, images) waits, and the cache never sees a fetch origin.
A robots.txt ``Crawl-delay`` (see :func:`set_crawl_delay`) is kept by the transport per fetch host, so
the interval between requests to a host is max(configured interval, Crawl-delay), rate limit off or not.
The one request the limiter does not space are urllib3's own retries, which are spaced by the
exponential backoff / ``Retry-After`` instead.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from neta.scrape.contact import check_live_contact
from neta.scrape.ratelimit import RateLimiter
from neta.scrape.urls import check_origin_map, netloc_of, to_fetch_url, to_recorded_url

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
# A site may change its robots.txt; pages are kept for good, its rules for a day.
ROBOTS_TXT = re.compile(r"^https?://[^/]+/robots\.txt$")
ROBOTS_EXPIRE_S = 24 * 3600
# Bodies bigger than this are never buffered into the cache (see cacheable_response).
DEFAULT_MAX_CACHED_BYTES = 20 * 2**20


class PoliteRetry(Retry):
    """urllib3 Retry whose ``Retry-After`` wait is capped, so a server answering
    ``Retry-After: 86400`` costs one failed page instead of a stalled crawl."""

    def __init__(self, *args, max_retry_after: float = 120.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.max_retry_after)


class PoliteTransport(HTTPAdapter):
    """HTTPAdapter that rate-limits, maps origins and applies default timeouts (see module doc)."""

    def __init__(self, *, retry: Retry, timeout: tuple[float, float],
                 origin_map: Mapping[str, str] | None = None, limiter: RateLimiter | None = None,
                 pool_maxsize: int = 10):
        super().__init__(max_retries=retry, pool_maxsize=pool_maxsize)
        self.default_timeout = timeout
        self.origin_map = check_origin_map(origin_map)
        # Without a configured limit there is still a limiter, for the hosts whose robots.txt sets a delay.
        self.limiter = limiter if limiter is not None else RateLimiter(0)
        self.crawl_delays: dict[str, float] = {}  # fetch netloc -> seconds between requests (robots.txt)
        self._count_lock = threading.Lock()
        self.network_requests = 0  # sends that reached the network (cache misses), for summaries

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        recorded_url = request.url
        fetch_url = to_fetch_url(recorded_url, self.origin_map)
        mapped = fetch_url != recorded_url
        outgoing = request
        if mapped:
            outgoing = request.copy()
            outgoing.url = fetch_url
            # Environment proxies were chosen for the recorded host; a mapped origin is a server this
            # process was told about directly (the local snapshot), so it is reached without a proxy.
            proxies = {}
        netloc = netloc_of(fetch_url)
        self.limiter.wait(netloc, self.crawl_delays.get(netloc, 0.0))
        with self._count_lock:
            self.network_requests += 1
        response = super().send(outgoing, stream=stream, timeout=timeout or self.default_timeout,
                                verify=verify, cert=cert, proxies=proxies)
        if mapped:
            response.request = request
            response.url = to_recorded_url(response.url, self.origin_map)
            location = response.headers.get("Location")
            if location:
                response.headers["Location"] = to_recorded_url(location, self.origin_map)
        return response


def cacheable_response(response: requests.Response, max_cached_bytes: int = DEFAULT_MAX_CACHED_BYTES) -> bool:
    """Cache 200 responses only, and only bodies that are safe to buffer.

    requests-cache reads the whole body to store it, before the caller sees a streamed response. A
    streamed download enforces its own size cap, so a body is cached only when its declared length is
    within ``max_cached_bytes``; an undeclared length is accepted for text (pages, which are read whole
    anyway) and refused for anything else, which the caller then streams under its cap.
    """
    if response.status_code != 200:
        return False
    encoding = response.headers.get("Content-Encoding", "identity").lower()
    length = response.headers.get("Content-Length")
    if length is not None and encoding == "identity":
        try:
            return 0 <= int(length) <= max_cached_bytes
        except ValueError:
            return False
    content_type = response.headers.get("Content-Type", "").lower()
    return content_type.startswith(("text/", "application/json", "application/xhtml"))


def user_agent_string(user_agent: str, contact: str, project_url: str | None = None) -> str:
    """``neta/0.1 (+https://…; contact: …)`` from the config's user agent, project URL and contact."""
    if "contact:" in user_agent:
        return user_agent
    details = ([f"+{project_url}"] if project_url else []) + ([f"contact: {contact}"] if contact else [])
    return f"{user_agent} ({'; '.join(details)})" if details else user_agent


def make_session(*, user_agent: str, contact: str, cache_path: str | Path | None,
                 retries: int = 5, backoff: float = 0.5, timeout: tuple[float, float] = (5, 20),
                 origin_map: Mapping[str, str] | None = None, limiter: RateLimiter | None = None,
                 max_retry_after: float = 120.0, max_cached_bytes: int = DEFAULT_MAX_CACHED_BYTES,
                 pool_maxsize: int = 10, project_url: str | None = None, site: str = "<site>") -> requests.Session:
    """Build the session for one site (``site`` is its config section, named in errors).

    ``cache_path`` is the SQLite file of the HTTP cache (``None``: no cache). Responses never expire
    (a resumed crawl must not fetch a page twice; delete the file to re-crawl), except robots.txt,
    which expires after a day. Only 200 responses are stored.
    ``origin_map`` and ``limiter`` are held by the transport; see :func:`bind`. Without an origin map
    the session reaches a live site, so ``contact`` must be a real address (neta.scrape.contact).
    """
    if not origin_map:
        check_live_contact(contact, site=site)
    if cache_path is None:
        session: requests.Session = requests.Session()
    else:
        cache_path = Path(cache_path)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        session = requests_cache.CachedSession(
            str(cache_path),
            backend="sqlite",
            # WAL with synchronous=NORMAL: a commit survives the process being killed (what resuming
            # needs) without an fsync per page, which cost ~20 ms a page on ext4 (10x the request).
            wal=True,
            allowable_codes=(200,),
            allowable_methods=("GET", "HEAD"),
            expire_after=requests_cache.NEVER_EXPIRE,
            urls_expire_after={ROBOTS_TXT: ROBOTS_EXPIRE_S},
            cache_control=False,  # a site's no-cache must not make a resumed crawl refetch
            stale_if_error=False,
            filter_fn=lambda response: cacheable_response(response, max_cached_bytes),
        )
    retry = PoliteRetry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        redirect=0,  # redirects are followed by neta.scrape.fetch, host by host
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # after the last retry the caller sees the real status and records it
        raise_on_redirect=False,
        max_retry_after=max_retry_after,
    )
    transport = PoliteTransport(retry=retry, timeout=timeout, origin_map=origin_map, limiter=limiter,
                                pool_maxsize=pool_maxsize)
    session.mount("http://", transport)
    session.mount("https://", transport)
    session.headers["User-Agent"] = user_agent_string(user_agent, contact, project_url)
    session.headers["Accept-Language"] = "ja,en;q=0.5"
    log.info("HTTP session: UA %r, cache %s, retries %d (backoff %.2fs), timeout %s, origin map %s",
             session.headers["User-Agent"], cache_path or "off", retries, backoff, timeout,
             dict(origin_map or {}) or "none")
    return session


def transport_of(session: requests.Session) -> PoliteTransport:
    adapter = session.get_adapter("http://")
    if not isinstance(adapter, PoliteTransport):
        raise TypeError("session was not made by neta.scrape.session.make_session")
    return adapter


def set_crawl_delay(session: requests.Session, recorded_url: str, seconds: float) -> bool:
    """Space requests to the host serving ``recorded_url`` at least ``seconds`` apart (robots.txt
    ``Crawl-delay``), on top of the configured rate limit. False for a session not made by make_session."""
    adapters = {id(a): a for a in (session.get_adapter("http://"), session.get_adapter("https://"))}
    if not all(isinstance(a, PoliteTransport) for a in adapters.values()):
        return False
    for adapter in adapters.values():
        netloc = netloc_of(to_fetch_url(recorded_url, adapter.origin_map))
        adapter.crawl_delays[netloc] = max(float(seconds), 0.0)
    return True


def bind(session: requests.Session, *, origin_map: Mapping[str, str] | None = None,
         limiter: RateLimiter | None = None) -> None:
    """Give an existing session an origin map and/or rate limiter (``None`` leaves that part as is)."""
    for scheme in ("http://", "https://"):
        adapter = session.get_adapter(scheme)
        if not isinstance(adapter, PoliteTransport):
            raise TypeError("session was not made by neta.scrape.session.make_session")
        if origin_map is not None:
            adapter.origin_map = check_origin_map(origin_map)
        if limiter is not None:
            adapter.limiter = limiter
