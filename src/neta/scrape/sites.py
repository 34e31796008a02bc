"""Where a crawl goes: the live site, or the bundled offline snapshot served on loopback.

The snapshot's server gets a new ephemeral port every run, so every URL is recorded under the
reserved host ``snapshot.<site>.test`` (``.test`` never resolves) and mapped to the server only at
request time. A resumed crawl on another port therefore hits the same cache entries, and the
image URLs in ``bokes.csv`` stay valid for the download stage, which serves the snapshot again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from neta.errors import NetaError


@dataclass(frozen=True)
class Site:
    origin: str                                    # recorded origin: what outputs and the cache hold
    origin_map: dict[str, str] = field(default_factory=dict)  # recorded -> where it is fetched
    snapshot: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.origin).hostname or ""

    def url(self, path: str) -> str:
        return self.origin + ("" if path.startswith("/") else "/") + path

    def allowed_hosts(self, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
        return [self.host, *extra]


_RANGE = re.compile(r"^(?P<prefix>.*?)(?P<first>\d+)\.\.(?P<last>\d+)$")
MAX_RANGE = 100_000


def expand_start_paths(paths: Iterable[str]) -> list[str]:
    """Expand id ranges: ``/odai/100..103`` is /odai/100, /odai/101, /odai/102 and /odai/103."""
    expanded: list[str] = []
    for path in paths:
        match = _RANGE.match(path)
        if match is None:
            expanded.append(path)
            continue
        first, last = int(match["first"]), int(match["last"])
        if last < first or last - first >= MAX_RANGE:
            raise NetaError(
                f"start path {path!r}: a range runs from a smaller to a larger id, at most {MAX_RANGE} ids"
            )
        expanded.extend(f"{match['prefix']}{number}" for number in range(first, last + 1))
    return list(dict.fromkeys(expanded))


def snapshot_origin(name: str) -> str:
    return f"http://snapshot.{name}.test"


@contextmanager
def open_site(name: str, *, base_url: str | None = None, snapshot_dir: str | Path | None = None) -> Iterator[Site]:
    """Yield the :class:`Site` to crawl; a snapshot is served for exactly the duration of the block."""
    if (base_url is None) == (snapshot_dir is None):
        raise NetaError("give exactly one of --base-url (live site) and --snapshot (offline snapshot dir)")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NetaError(f"--base-url {base_url!r}: expected e.g. https://bokete.jp")
        yield Site(origin=f"{parts.scheme}://{parts.netloc}")
        return
    root = Path(snapshot_dir)
    if not (root / "robots.txt").is_file():
        raise NetaError(f"{root}: not a site snapshot (no robots.txt); build it with `neta snapshot {name}`")
    from neta.scrape.snapshot_server import SnapshotServer

    origin = snapshot_origin(name)
    with SnapshotServer(root) as server:
        yield Site(origin=origin, origin_map={origin: server.origin}, snapshot=True)
