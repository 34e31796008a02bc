"""A per-host request rate limit shared by every thread of a crawl or download."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping


class RateLimiter:
    """At most ``requests_per_second`` requests start per host; ``0`` or ``None`` switches it off.

    ``host_rates`` overrides the rate for single hosts (keys are ``host`` or ``host:port`` of the
    URL actually requested), e.g. ``{"127.0.0.1": 0}`` to leave a local snapshot server unthrottled
    while live hosts keep 1 request/s.

    Each caller reserves the next free start slot under a lock and then sleeps outside it, so
    threads are served in arrival order and the lock is never held while waiting.
    """

    def __init__(self, requests_per_second: float | None = 1.0, *,
                 host_rates: Mapping[str, float | None] | None = None,
                 clock=time.monotonic, sleep=time.sleep):
        self._default = _interval(requests_per_second)
        self._overrides = {host.lower(): _interval(rate) for host, rate in (host_rates or {}).items()}
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.waited_s = 0.0  # total time callers slept, for the crawl summary

    def interval_for(self, netloc: str) -> float:
        netloc = netloc.lower()
        if netloc in self._overrides:
            return self._overrides[netloc]
        host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
        return self._overrides.get(host, self._default)

    def wait(self, netloc: str, min_interval: float = 0.0) -> float:
        """Block until a request to ``netloc`` may start; return the seconds waited.

        ``min_interval`` raises this host's spacing for this request (a robots.txt Crawl-delay):
        the interval used is the larger of it and the configured one.
        """
        interval = max(self.interval_for(netloc), min_interval)
        if interval <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(netloc, now))
            self._next_slot[netloc] = slot + interval
            delay = slot - now
            self.waited_s += delay
        if delay > 0:
            self._sleep(delay)
        return delay


def _interval(rate: float | None) -> float:
    if rate is None or rate <= 0:
        return 0.0
    return 1.0 / float(rate)
