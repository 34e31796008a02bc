"""robots.txt, obeyed per origin with the stdlib parser and fetched through the site's session.

How an unusable robots.txt is read (RFC 9309 §2.3.1, and what Google documents):

* 200              -> the rules in it.
* 3xx              -> followed up to 5 hops on the same origin; elsewhere -> treated as 4xx.
* 4xx (not 429)    -> "unavailable": no rules, everything allowed (404 is the common case).
* 429, 5xx, network error after the session's retries -> "unreachable": everything disallowed,
  because a server that cannot serve robots.txt may be the one asking us to stay away.

The decision is kept for the rest of the run (per origin), so an unreachable robots.txt is not
re-requested before every page. A 200 robots.txt is in the HTTP cache for one day.

``Crawl-delay`` (and ``Request-rate``) of the group that applies to our agent is handed to the
session: its requests to that host are then spaced by max(configured interval, the delay).

Known limits of ``urllib.robotparser``: ``*`` and ``$`` inside paths (a Google extension) are matched
literally, not as wildcards, and only a whole number of seconds is read from ``Crawl-delay``.
"""

from __future__ import annotations

import logging
import threading
from urllib.robotparser import RobotFileParser

import requests
import requests_cache

from neta.scrape.session import set_crawl_delay
from neta.scrape.urls import normalize_url, origin_of

log = logging.getLogger(__name__)

ROBOTS_EXPIRE_S = 24 * 3600
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class RobotsPolicy:
    """``allowed(url)`` answers from the robots.txt of the URL's (recorded) origin."""

    def __init__(self, session: requests.Session, *, user_agent: str):
        self._session = session
        # robots.txt groups name a product token ("neta"), not the full User-Agent header
        self.agent = user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"
        self._parsers: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        origin = origin_of(url)
        with self._lock:
            parser = self._parsers.get(origin)
            if parser is None:
                parser = self._parsers[origin] = self._load(origin)
        return parser.can_fetch(self.agent, normalize_url(url))

    def crawl_delay(self, url: str) -> float | None:
        with self._lock:
            parser = self._parsers.get(origin_of(url))
        return robots_interval(parser, self.agent) if parser else None

    def _load(self, origin: str) -> RobotFileParser:
        parser = RobotFileParser(f"{origin}/robots.txt")
        url = f"{origin}/robots.txt"
        kwargs = {"expire_after": ROBOTS_EXPIRE_S} if isinstance(self._session, requests_cache.CachedSession) else {}
        for _hop in range(6):
            try:
                response = self._session.get(url, allow_redirects=False, **kwargs)
            except requests.RequestException as exc:
                log.warning("%s unreachable (%s): treating every URL of %s as disallowed", url, exc, origin)
                parser.disallow_all = True
                return _mark_read(parser)
            status = response.status_code
            if status in _REDIRECT_STATUSES and response.headers.get("Location"):
                target = normalize_url(response.headers["Location"], base=url)
                response.close()
                if origin_of(target) != origin:
                    log.warning("%s redirects to another origin (%s): no rules applied", url, target)
                    parser.allow_all = True
                    return _mark_read(parser)
                url = target
                continue
            if status == 200:
                parser.parse(response.content.decode("utf-8", errors="replace").splitlines())
                log.info("%s: robots.txt read (%d bytes)", origin, len(response.content))
                delay = robots_interval(parser, self.agent)
                if delay and set_crawl_delay(self._session, origin, delay):
                    log_at = logging.WARNING if delay > 10 else logging.INFO
                    log.log(log_at, "%s: robots.txt asks %r for %.3g s between requests; applied", origin,
                            self.agent, delay)
                return parser
            if 400 <= status < 500 and status != 429:
                log.info("%s: robots.txt HTTP %d, no rules (everything allowed)", origin, status)
                parser.allow_all = True
            else:
                log.warning("%s: robots.txt HTTP %d, treating every URL as disallowed", origin, status)
                parser.disallow_all = True
            return _mark_read(parser)
        log.warning("%s: robots.txt redirects more than 5 times: no rules applied", origin)
        parser.allow_all = True
        return _mark_read(parser)


def robots_interval(parser: RobotFileParser, agent: str) -> float | None:
    """Seconds between requests that the group for ``agent`` asks for (Crawl-delay, or Request-rate
    n/s as s/n seconds, the larger), None when it asks for nothing."""
    delay = parser.crawl_delay(agent)
    rate = parser.request_rate(agent)
    candidates = [float(delay)] if delay is not None else []
    if rate is not None and rate.requests > 0:
        candidates.append(rate.seconds / rate.requests)
    return max(candidates) if candidates else None


def _mark_read(parser: RobotFileParser) -> RobotFileParser:
    # can_fetch() refuses everything until the parser believes it has read a file
    parser.modified()
    return parser
