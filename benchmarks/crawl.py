"""Benchmark: crawl a site's offline snapshot over real HTTP, then re-crawl it from the HTTP cache.

Run from the repo root:  .venv/bin/python benchmarks/crawl.py [--site bokete|dodo] [--seed 0] [--repeat 3]

Per repeat, with a fresh cache, the same code as ``run_scrape`` (crawl + the site's adapter):

1. first crawl (the anchor): empty HTTP cache, every page a real request to the snapshot server on
   127.0.0.1 (rate limit off), decoded and parsed;
2. cached re-crawl (what a resumed or repeated scrape costs): every page from the HTTP cache, no
   network request, decoded and parsed again.

It also times decode + parse of each real saved page in tests/data/<site> and of every page the crawl
parsed, against the 1000 ms a live page costs at 1 request/s: that share is why parsed pages are not
stored (a parsed-page store saved about 2 ms a page and was removed).

Floors: >= 100 pages/s for the first crawl on 2 cores over loopback; the cached re-crawl faster than
the first. All repeats are printed; the JSON summary uses the median.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from neta.boke.site import parse_bokete  # noqa: E402
from neta.boke.site.adapter import bokete_adapter  # noqa: E402
from neta.boke.snapshot.build import build_bokete_snapshot  # noqa: E402
from neta.pizza.site import parse_dodo  # noqa: E402
from neta.pizza.site.adapter import dodo_adapter  # noqa: E402
from neta.pizza.snapshot.build import build_dodo_snapshot  # noqa: E402
from neta.scrape.charset import decode_html  # noqa: E402
from neta.scrape.crawl import crawl  # noqa: E402
from neta.scrape.ratelimit import RateLimiter  # noqa: E402
from neta.scrape.robots import RobotsPolicy  # noqa: E402
from neta.scrape.session import make_session, transport_of  # noqa: E402
from neta.scrape.sites import snapshot_origin  # noqa: E402
from neta.scrape.snapshot_server import SnapshotServer  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Bench:
    """What differs between the sites: their snapshot, start pages, adapter and real saved pages."""

    build: object
    start_paths: tuple[str, ...]
    adapter: object          # start URLs -> SiteAdapter
    parse: object
    real_pages: str          # glob under tests/data
    real_url: str            # the URL a real page is parsed as
    row: object              # item -> comparable tuple


SITES = {
    "bokete": Bench(build_bokete_snapshot, ("/", "/boke/hot", "/boke/legend"),
                    lambda _start: bokete_adapter(min_stars=0), parse_bokete, "bokete/*.html",
                    "https://bokete.jp/boke/hot", lambda b: (b.boke_id, b.stars, b.text)),
    "dodo": Bench(build_dodo_snapshot, ("/Kaliningrad", "/moscow"),
                  lambda start: dodo_adapter(start_urls=start), parse_dodo, "dodopizza/*.html",
                  "https://dodopizza.ru/moscow", lambda p: (p.pizza_id, p.name, p.ingredients, p.image_url)),
}
LIVE_PAGE_MS = 1000.0  # one page at the default 1 request/s to a live host
FIRST_CRAWL_FLOOR = 100.0  # pages/s


class TimedParse:
    """A site parser, counting calls and the seconds spent in it."""

    def __init__(self, parse):
        self.parse = parse
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, text, url):
        started = time.perf_counter()
        try:
            return self.parse(text, url)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


def one_crawl(site: str, origin: str, cache: Path) -> dict:
    bench, recorded = SITES[site], snapshot_origin(site)
    start = [recorded + path for path in bench.start_paths]
    session = make_session(user_agent="neta-bench/0.1", contact="benchmark", cache_path=cache,
                           origin_map={recorded: origin}, limiter=RateLimiter(0))
    base = bench.adapter(start)
    parse = TimedParse(base.parse)
    adapter = dataclasses.replace(base, parse=parse)
    try:
        started = time.perf_counter()
        result = crawl(start, adapter=adapter, session=session, robots=RobotsPolicy(session, user_agent="neta-bench"),
                       allowed_hosts=[recorded.split("//")[1]], progress=False)
        seconds = time.perf_counter() - started
        network = transport_of(session).network_requests
    finally:
        session.close()
    stats = result.stats
    return {"pages": stats["pages_fetched"], "from_cache": stats["from_cache"], "failed": stats["failed"],
            "items": stats["items_kept"], "seconds": seconds, "parse_seconds": parse.seconds,
            "parse_calls": parse.calls, "network_requests": network, "pages_per_s": stats["pages_fetched"] / seconds,
            "rows": sorted(bench.row(item) for item in result.items)}


def real_page_parse_ms(site: str, repeat: int = 5) -> dict[str, float]:
    """Best-of-``repeat`` decode + parse time of each saved real page, in ms."""
    bench = SITES[site]
    times = {}
    for path in sorted((REPO / "tests" / "data").glob(bench.real_pages)):
        body = path.read_bytes()
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            try:
                bench.parse(decode_html(body, "text/html"), bench.real_url)
            except Exception:  # noqa: BLE001 (the unknown-layout page is timed up to its error)
                pass
            best = min(best, time.perf_counter() - started)
        times[path.name] = 1000 * best
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", choices=sorted(SITES), default="bokete")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="independent runs (fresh cache each)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    runs: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="neta-bench-crawl-") as tmp:
        tmp = Path(tmp)
        summary = SITES[args.site].build(tmp / "snapshot", seed=args.seed)
        print(f"{args.site} snapshot: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.items())
                                                     if isinstance(v, int)))
        with SnapshotServer(tmp / "snapshot") as server:
            for run in range(args.repeat):
                cache = tmp / f"cache-{run}.sqlite"
                runs.append({"first": one_crawl(args.site, server.origin, cache),
                             "cached": one_crawl(args.site, server.origin, cache)})

    for run, crawls in enumerate(runs, 1):
        first, cached = crawls["first"], crawls["cached"]
        assert first["failed"] == 0 and first["from_cache"] == 0, first
        assert cached["network_requests"] == 0 and cached["from_cache"] == cached["pages"], cached
        assert first["rows"] == cached["rows"], "the cached re-crawl found other items"
        for kind, name in (("first", "first crawl (HTTP)"), ("cached", "re-crawl (HTTP cache)")):
            r = crawls[kind]
            print(f"run {run} {name:22s}: {r['pages']} pages, {r['items']} items in {r['seconds']:.3f} s = "
                  f"{r['pages_per_s']:6.0f} pages/s; parse {1000 * r['parse_seconds'] / r['parse_calls']:.2f} ms/page; "
                  f"{r['network_requests']} network requests")
        print(f"run {run} cached re-crawl speedup: {first['seconds'] / cached['seconds']:.2f}x")

    def median(kind: str, key: str) -> float:
        return statistics.median(r[kind][key] for r in runs)

    parse_ms = statistics.median(1000 * r["cached"]["parse_seconds"] / r["cached"]["parse_calls"] for r in runs)
    cached_ms = 1000 * median("cached", "seconds") / median("cached", "pages")
    real = real_page_parse_ms(args.site)
    for name, ms in real.items():
        print(f"saved page {name:26s}: decode + parse {ms:6.2f} ms = {ms / LIVE_PAGE_MS:.2%} of a live page")
    print(f"snapshot pages: parse {parse_ms:.2f} ms/page, whole cached re-crawl {cached_ms:.2f} ms/page, "
          f"vs {LIVE_PAGE_MS:.0f} ms/page live at 1 request/s")

    first_rate, cached_rate = median("first", "pages_per_s"), median("cached", "pages_per_s")
    speedup = statistics.median(r["first"]["seconds"] / r["cached"]["seconds"] for r in runs)
    print(f"floors: first crawl {first_rate:.0f} pages/s (>= {FIRST_CRAWL_FLOOR:.0f}: "
          f"{'ok' if first_rate >= FIRST_CRAWL_FLOOR else 'BELOW'}), cached re-crawl {speedup:.2f}x the first "
          f"(> 1: {'ok' if speedup > 1 else 'BELOW'})")
    print(json.dumps({"bench": "crawl", "site": args.site, "runs": len(runs), "pages": runs[0]["first"]["pages"],
                      "first_pages_per_s": round(first_rate, 1), "cached_pages_per_s": round(cached_rate, 1),
                      "speedup": round(speedup, 2), "parse_ms_per_page": round(parse_ms, 3),
                      "cached_ms_per_page": round(cached_ms, 3),
                      "real_page_parse_ms_max": round(max(real.values()), 2),
                      "live_ms_per_page": LIVE_PAGE_MS,
                      "parse_share_of_live_page": round(parse_ms / LIVE_PAGE_MS, 5)}))


if __name__ == "__main__":
    main()
