"""Benchmark: crawl the offline bokete snapshot over real HTTP, then re-crawl it from the caches.

Run from the repo root:  .venv/bin/python benchmarks/crawl.py [--seed 0] [--repeat 3]

Three crawls of the same pages with the same code (crawl + PageStore, as ``run_scrape`` does), in turn,
each repeat with fresh caches:

1. first crawl: empty HTTP cache and parsed-page store; every page is a real request to the snapshot
   server on 127.0.0.1 (rate limit off), decoded, parsed by the real bokete parsers and stored. This
   is the anchor the speedup is measured against.
2. cached re-crawl: unchanged parser; pages come from the parsed-page store, and where its journal
   vouches for the HTTP-cache entry that entry is not read at all.
3. re-crawl after a parser change (a different parser key, which is what editing the parser's source
   gives): every page is read from the HTTP cache and parsed again, no network request.

Floors (issue 3): >= 100 pages/s for the first crawl on 2 cores, cached re-crawl >= 5x faster.
All repeats are printed; the summary uses the median.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from neta.scrape.bokete import parse_bokete  # noqa: E402
from neta.scrape.crawl import crawl  # noqa: E402
from neta.scrape.pagestore import PageStore, page_store_path, parser_key  # noqa: E402
from neta.scrape.ratelimit import RateLimiter  # noqa: E402
from neta.scrape.robots import RobotsPolicy  # noqa: E402
from neta.scrape.session import make_session, transport_of  # noqa: E402
from neta.snapshot.bokete import build_bokete_snapshot  # noqa: E402
from neta.snapshot.server import SnapshotServer  # noqa: E402

RECORDED = "http://snapshot.bokete.test"
START = [f"{RECORDED}/", f"{RECORDED}/boke/hot", f"{RECORDED}/boke/legend"]


class TimedParser:
    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        self.__wrapped__ = parse_bokete  # the parser key is that of the bokete parsers

    def __call__(self, text, url):
        started = time.perf_counter()
        self.calls += 1
        try:
            return parse_bokete(text, url)
        finally:
            self.seconds += time.perf_counter() - started


def one_crawl(origin: str, cache: Path, key: str) -> dict:
    session = make_session(user_agent="neta-bench/0.1", contact="benchmark", cache_path=cache,
                           origin_map={RECORDED: origin}, limiter=RateLimiter(0))
    parser = TimedParser()
    store = PageStore(page_store_path(cache), parser_key=key)
    try:
        started = time.perf_counter()
        result = crawl(START, parse=parser, session=session, robots=RobotsPolicy(session, user_agent="neta-bench"),
                       allowed_hosts=["snapshot.bokete.test"], page_store=store, progress=False)
        seconds = time.perf_counter() - started
        network = transport_of(session).network_requests
    finally:
        store.close()
        session.close()
    stats = result.stats
    return {"pages": stats["pages_fetched"], "from_cache": stats["from_cache"], "failed": stats["failed"],
            "bokes": stats["bokes_kept"], "seconds": seconds, "parse_seconds": parser.seconds,
            "parser_calls": parser.calls, "journal_hits": stats["journal_hits"],
            "parse_reused": stats["parse_reused"], "network_requests": network,
            "pages_per_s": stats["pages_fetched"] / seconds,
            "boke_rows": sorted((b.boke_id, b.stars, b.text) for b in result.bokes)}


KINDS = (("first", "first crawl (HTTP)"), ("cached", "re-crawl (cached)"),
         ("reparse", "re-crawl, parser changed"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="independent runs (fresh caches each)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    key = parser_key(parse_bokete)

    runs: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="neta-bench-crawl-") as tmp:
        tmp = Path(tmp)
        summary = build_bokete_snapshot(tmp / "snapshot", seed=args.seed)
        print(f"snapshot: {summary['pages']} pages, {summary['photos']} photos, {summary['bokes']} bokes")
        with SnapshotServer(tmp / "snapshot") as server:
            for run in range(args.repeat):
                cache = tmp / f"cache-{run}.sqlite"
                runs.append({"first": one_crawl(server.origin, cache, key),
                             "cached": one_crawl(server.origin, cache, key),
                             "reparse": one_crawl(server.origin, cache, key + "-edited")})

    for run, crawls in enumerate(runs, 1):
        first, cached, reparse = crawls["first"], crawls["cached"], crawls["reparse"]
        assert first["failed"] == 0 and first["from_cache"] == 0 and first["parser_calls"] == first["pages"], first
        assert cached["network_requests"] == 0 and cached["parser_calls"] == 0, cached
        assert reparse["network_requests"] == 0 and reparse["parser_calls"] == reparse["pages"], reparse
        assert first["boke_rows"] == cached["boke_rows"] == reparse["boke_rows"], "re-crawls disagree"
        for kind, name in KINDS:
            r = crawls[kind]
            print(f"run {run} {name:25s}: {r['pages']} pages, {r['bokes']} bokes in {r['seconds']:.3f} s = "
                  f"{r['pages_per_s']:6.0f} pages/s ({r['parser_calls']} parsed in {r['parse_seconds']:.3f} s, "
                  f"{r['parse_reused']} parses reused, {r['journal_hits']} without an HTTP-cache read, "
                  f"{r['network_requests']} network requests)")
        print(f"run {run} speedup over the first crawl: cached {first['seconds'] / cached['seconds']:.2f}x, "
              f"parser changed {first['seconds'] / reparse['seconds']:.2f}x")

    def median(kind, field):
        return statistics.median(r[kind][field] for r in runs)

    speedups = [r["first"]["seconds"] / r["cached"]["seconds"] for r in runs]
    reparse_speedups = [r["first"]["seconds"] / r["reparse"]["seconds"] for r in runs]
    print(json.dumps({"bench": "crawl", "runs": len(runs), "pages": runs[0]["first"]["pages"],
                      "first_pages_per_s": [round(r["first"]["pages_per_s"], 1) for r in runs],
                      "cached_pages_per_s": [round(r["cached"]["pages_per_s"], 1) for r in runs],
                      "cache_speedup": [round(x, 2) for x in speedups],
                      "reparse_speedup": [round(x, 2) for x in reparse_speedups],
                      "median_first_pages_per_s": round(median("first", "pages_per_s"), 1),
                      "median_cache_speedup": round(statistics.median(speedups), 2),
                      "parse_share_first": round(median("first", "parse_seconds") / median("first", "seconds"), 3)}))


if __name__ == "__main__":
    main()
