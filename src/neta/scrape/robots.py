"""robots.txt, obeyed per origin with Protego and fetched through the site's session.

Protego reads robots.txt as Google does (RFC 9309): ``*`` and ``$`` in paths are wildcards, the
longest matching rule wins over an earlier shorter one, and ``Crawl-delay: 0.5`` is half a second;
``urllib.robotparser`` gets all three wrong.

How an unusable robots.txt is read (RFC 9309 §2.3.1, and what Google documents):

* 200              -> the rules in it.
* 3xx              -> followed up to 5 hops on the same origin; elsewhere -> treated as 4xx.
* 4xx (not 429)    -> "unavailable": no rules, everything allowed (404 is the common case).
* 429, 5xx, network error after the session's retries -> "unreachable": everything disallowed,
  because a server that cannot serve robots.txt may be the one asking us to stay away.

The decision is kept for the rest of the run (per origin), so an unreachable robots.txt is not
re-requested before every page. A 200 robots.txt stays in the HTTP cache for one day (see
neta.scrape.session). An unreachable robots.txt is told apart from one that disallows:
``unreachable(url)`` says why the origin's robots.txt could not be read, so a crawl that requested
nothing says "host could not be reached (connection refused)", not "disallowed by robots.txt".

``Crawl-delay`` (and ``Request-rate``) of the group that applies to our agent is handed to the
session: its requests to that host are then spaced by max(configured interval, the delay).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import requests
from protego import Protego

from neta.scrape.fetch import HTTP_ERROR, NETWORK_ERROR, OFF_HOST, REDIRECT_LOOP, polite_get
from neta.scrape.session import set_crawl_delay
from neta.scrape.urls import netloc_of, normalize_url, origin_of

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class _Rules:
    """One origin's answer: the parsed file, or without one, allow or refuse everything."""

    parser: Protego | None
    allow_all: bool = True
    unreachable: str = ""  # why robots.txt could not be read (everything then disallowed); "" otherwise

    def allowed(self, url: str, agent: str) -> bool:
        return self.parser.can_fetch(url, agent) if self.parser is not None else self.allow_all


class RobotsPolicy:
    """``allowed(url)`` answers from the robots.txt of the URL's (recorded) origin."""

    def __init__(self, session: requests.Session, *, user_agent: str):
        self._session = session
        # robots.txt groups name a product token ("neta"), not the full User-Agent header
        self.agent = user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"
        self._rules: dict[str, _Rules] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        origin = origin_of(url)
        with self._lock:
            rules = self._rules.get(origin)
            if rules is None:
                rules = self._rules[origin] = self._load(origin)
        return rules.allowed(normalize_url(url), self.agent)

    def unreachable(self, url: str) -> str:
        """Why the robots.txt of ``url``'s origin could not be read, e.g. ``example.org could not be
        reached for its robots.txt (ConnectionError: ... Connection refused)`` or ``robots.txt of
        example.org answered HTTP 503``; "" when it was read, was absent (4xx) or not asked for yet."""
        with self._lock:
            rules = self._rules.get(origin_of(url))
        return rules.unreachable if rules is not None else ""

    def crawl_delay(self, url: str) -> float | None:
        """Seconds between requests the robots.txt of ``url``'s origin asks of us (None: not read or
        asks nothing)."""
        with self._lock:
            rules = self._rules.get(origin_of(url))
        return robots_interval(rules.parser, self.agent) if rules and rules.parser else None

    def _load(self, origin: str) -> _Rules:
        url = f"{origin}/robots.txt"
        result = polite_get(self._session, url, robots=None, allowed_hosts=[netloc_of(origin)],
                            max_redirects=MAX_REDIRECTS)
        if result.ok and origin_of(result.final_url) == origin:
            return self._read(origin, result.response.content)
        if result.ok or result.status == OFF_HOST:
            log.warning("%s redirects to another origin (%s): no rules applied", url, result.final_url)
            return _Rules(None, allow_all=True)
        if result.status == REDIRECT_LOOP:
            log.warning("%s: robots.txt redirects more than %d times: no rules applied", origin, MAX_REDIRECTS)
            return _Rules(None, allow_all=True)
        if result.status == HTTP_ERROR and 400 <= result.http_status < 500 and result.http_status != 429:
            log.info("%s: robots.txt HTTP %d, no rules (everything allowed)", origin, result.http_status)
            return _Rules(None, allow_all=True)
        host = netloc_of(origin)
        if result.status == NETWORK_ERROR:
            reason = f"{host} could not be reached for its robots.txt ({result.error})"
        else:  # 429, 5xx: the server is there but cannot (or will not) serve robots.txt
            reason = f"robots.txt of {host} answered {result.error}"
        log.warning("%s: %s; treating every URL of %s as disallowed", url, reason, origin)
        return _Rules(None, allow_all=False, unreachable=reason)

    def _read(self, origin: str, body: bytes) -> _Rules:
        parser = Protego.parse(body.decode("utf-8", errors="replace"))  # RFC 9309: robots.txt is UTF-8
        log.info("%s: robots.txt read (%d bytes)", origin, len(body))
        delay = robots_interval(parser, self.agent)
        if delay and set_crawl_delay(self._session, origin, delay):
            log_at = logging.WARNING if delay > 10 else logging.INFO
            log.log(log_at, "%s: robots.txt asks %r for %.3g s between requests; applied", origin, self.agent, delay)
        return _Rules(parser)


def robots_interval(parser: Protego, agent: str) -> float | None:
    """Seconds between requests that the group for ``agent`` asks for (Crawl-delay, or Request-rate
    n/s as s/n seconds, the larger), None when it asks for nothing."""
    delay = parser.crawl_delay(agent)
    rate = parser.request_rate(agent)
    candidates = [float(delay)] if delay is not None else []
    if rate is not None and rate.requests > 0:
        candidates.append(rate.seconds / rate.requests)
    return max(candidates) if candidates else None
