"""URL normalisation, host allow-lists and the recorded-origin <-> fetch-origin map.

Every URL the crawler keeps, caches, deduplicates or writes is in *recorded* form (for the offline
snapshot e.g. ``http://snapshot.bokete.test/boke/hot``). An origin map ``{recorded: fetch}`` such as
``{"http://snapshot.bokete.test": "http://127.0.0.1:43817"}`` says where a recorded origin physically
lives this run; a URL is translated only at the moment of the HTTP request and translated back in the
response. That keeps cache keys and output files identical although the snapshot server gets a new
ephemeral port every run. ``.test`` is a reserved TLD that never resolves, so an unmapped recorded URL
can never reach a real host by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from neta.errors import NetaError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str, base: str | None = None) -> str:
    """Resolve ``url`` against ``base`` and return one canonical spelling of it.

    Scheme and host are lower-cased, a default port is dropped, the fragment is dropped (it never
    reaches the server) and the query parameters are sorted so ``?b=1&a=2`` and ``?a=2&b=1`` are one
    page. An empty path becomes ``/``.
    """
    absolute = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"URL without a host: {url!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, in the normalised spelling."""
    parts = urlsplit(normalize_url(url))
    return f"{parts.scheme}://{parts.netloc}"


def netloc_of(url: str) -> str:
    return urlsplit(normalize_url(url)).netloc


def host_allowed(url: str, allowed_hosts: Iterable[str]) -> bool:
    """True when the URL's host is in ``allowed_hosts``.

    An entry ``host`` allows that host on any port and scheme (``bokete.jp`` covers http and https);
    an entry ``host:port`` allows that port only, which is how two servers on one loopback address
    are told apart.
    """
    parts = urlsplit(normalize_url(url))
    host = parts.hostname or ""
    netloc = parts.netloc
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if entry == netloc or entry == host:
            return True
    return False


def check_origin_map(origin_map: Mapping[str, str] | None) -> dict[str, str]:
    """Validate and normalise an origin map; both sides must be bare origins."""
    checked: dict[str, str] = {}
    for recorded, fetch in (origin_map or {}).items():
        for side in (recorded, fetch):
            parts = urlsplit(side)
            if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") \
                    or parts.query or parts.fragment:
                raise NetaError(
                    f"origin map entry {recorded!r} -> {fetch!r}: both sides must be origins like "
                    "'http://snapshot.bokete.test' and 'http://127.0.0.1:43817' (scheme, host, optional port)"
                )
        checked[origin_of(recorded)] = origin_of(fetch)
    if len(set(checked.values())) != len(checked):
        raise NetaError(f"origin map {dict(origin_map or {})}: two recorded origins map to one fetch origin, "
                        "so responses could not be mapped back; give each its own server")
    return checked


def _swap_origin(url: str, table: Mapping[str, str]) -> str:
    if not table:
        return url
    try:
        normalized = normalize_url(url)
    except ValueError:
        return url
    parts = urlsplit(normalized)
    target = table.get(f"{parts.scheme}://{parts.netloc}")
    if target is None:
        return url
    new = urlsplit(target)
    return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, ""))


def to_fetch_url(url: str, origin_map: Mapping[str, str]) -> str:
    """Recorded URL -> the URL actually requested this run (unchanged when its origin is not mapped)."""
    return _swap_origin(url, origin_map)


def to_recorded_url(url: str, origin_map: Mapping[str, str]) -> str:
    """Fetched URL (e.g. a response URL or redirect target) -> its recorded form."""
    return _swap_origin(url, {fetch: recorded for recorded, fetch in origin_map.items()})
