"""Parsed pages kept beside the HTTP cache, so a re-crawl does not decode and parse every page again.

Two tables in ``<cache stem>.parsed.sqlite`` (a file of its own: requests-cache owns its database,
may unlink it on ``clear()``, and "delete the cache file to re-crawl" must stay true):

``parsed``  (url, body_sha256, parser_key) -> the ParsedPage as JSON.
    Valid for as long as those three are equal: the same bytes of the same URL through the same
    parser give the same page. ``parser_key`` hashes the source files of the parser's package (plus
    the record schema, the charset decoder and this file's format), so editing the parser re-parses
    from the HTTP cache without a single request, and an unchanged parser reuses the stored parse.

``journal`` (url, parser_key) -> (cache_key, entry_sha256, body_sha256).
    Lets a re-crawl skip even the HTTP-cache read: the page is taken from ``parsed`` when the HTTP
    cache still holds, under the key this session computes for the URL, a non-expired entry whose
    stored bytes hash to ``entry_sha256``, i.e. exactly the entry whose body was parsed. That is the
    response ``session.get`` would have returned (pages never expire and a cache hit is never
    revalidated, see neta.scrape.session), so the result cannot differ from the slow path. A row is
    written only for a 200 answer to a GET of that very URL (a redirect's target, never the redirecting
    URL, whose 3xx is not cached), without ``Vary``, whose cache key
    requests-cache itself used and whose stored entry was read back and holds the parsed body.
    Anything else - a deleted or replaced cache entry, a changed key, an unreadable row - falls
    back to the ordinary fetch-and-parse path, which rewrites the row.

Each page's rows are written in one transaction (WAL, synchronous=NORMAL), so a SIGKILL loses at most
the page in flight and never leaves a half-written row. A row that does not decode into a
ParsedPage is ignored (and replaced on the next parse); a store that cannot be opened or queried is
switched off for the run with a warning, since it only ever saves work.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import sqlite3
import time
from dataclasses import fields
from pathlib import Path

import requests
import requests_cache

from neta.scrape import charset, records
from neta.scrape.records import Boke, ParsedPage

log = logging.getLogger(__name__)

# Part of every parser key: bump it when the JSON layout of a stored page changes.
FORMAT = "neta.pagestore/1"
_BOKE_FIELDS = tuple(f.name for f in fields(Boke))
_INT_FIELDS = {"boke_id", "odai_id", "stars"}
_OPTIONAL_FIELDS = {"votes": int, "date": str}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS parsed (
    url TEXT NOT NULL, body_sha256 TEXT NOT NULL, parser_key TEXT NOT NULL, page TEXT NOT NULL,
    PRIMARY KEY (url, body_sha256, parser_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
    url TEXT NOT NULL, parser_key TEXT NOT NULL, cache_key TEXT NOT NULL, entry_sha256 TEXT NOT NULL,
    body_sha256 TEXT NOT NULL, PRIMARY KEY (url, parser_key)) WITHOUT ROWID;
"""


def page_store_path(cache_path: str | Path) -> Path:
    """``results/http.sqlite`` -> ``results/http.parsed.sqlite``."""
    cache_path = Path(cache_path)
    return cache_path.with_name(f"{cache_path.stem}.parsed.sqlite")


def parser_key(parse) -> str | None:
    """Hash of what decides a parse: the source files of ``parse``'s package (its own file for a
    top-level module), its qualified name, the record schema, the charset decoder and ``FORMAT``.

    Wrappers are followed through ``__wrapped__`` and ``functools.partial`` (whose arguments join
    the key). None when the source cannot be found (then nothing is stored or reused).
    """
    extra = []
    target = parse
    for _ in range(10):
        target = inspect.unwrap(target)
        if not isinstance(target, functools.partial):
            break
        extra.append(repr((target.args, sorted(target.keywords.items()))))
        target = target.func
    module = inspect.getmodule(target)
    source = getattr(module, "__file__", None)
    if module is None or not source:
        return None
    source = Path(source)
    # A parser imports its siblings (the bokete adapters), so a package's files all count.
    files = sorted(source.parent.glob("*.py")) if module.__package__ else [source]
    files += [Path(records.__file__), Path(charset.__file__)]
    qualname = getattr(target, "__qualname__", type(target).__qualname__)
    digest = hashlib.sha256(f"{FORMAT}\0{module.__name__}:{qualname}\0{chr(0).join(extra)}".encode())
    try:
        for path in files:
            digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    except OSError as exc:
        log.warning("parser source %s unreadable (%s): parsed pages will not be stored", exc.filename, exc)
        return None
    return digest.hexdigest()


def page_to_json(page: ParsedPage) -> str:
    return json.dumps({"layout": page.layout, "links": list(page.links), "fields": _BOKE_FIELDS,
                       "bokes": [[getattr(b, name) for name in _BOKE_FIELDS] for b in page.bokes]},
                      ensure_ascii=False, separators=(",", ":"))


def page_from_json(text: str) -> ParsedPage:
    """The page stored by :func:`page_to_json`; ValueError for anything else (a foreign or damaged row)."""
    try:
        data = json.loads(text)
        layout, links, names, rows = data["layout"], data["links"], data["fields"], data["bokes"]
    except (TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stored page: {exc}") from None
    if not isinstance(layout, str) or tuple(names) != _BOKE_FIELDS or not isinstance(rows, list) \
            or not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise ValueError("not a stored page of this format")
    bokes = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(_BOKE_FIELDS):
            raise ValueError("malformed boke row")
        record = dict(zip(_BOKE_FIELDS, row))
        for name, value in record.items():
            if name in _OPTIONAL_FIELDS:
                ok = value is None or (isinstance(value, _OPTIONAL_FIELDS[name]) and not isinstance(value, bool))
            elif name in _INT_FIELDS:
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ValueError(f"boke field {name} has a {type(value).__name__}")
        bokes.append(Boke(**record))
    return ParsedPage(layout=layout, bokes=bokes, links=links)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _HttpCacheView:
    """Read-only look into a requests-cache SQLite database: the key a GET of a URL is stored under,
    and that entry's raw bytes. Built only for a CachedSession on the SQLite backend."""

    def __init__(self, session: requests_cache.CachedSession):
        responses = session.cache.responses
        self._session = session
        self._table = responses.table_name
        self._db = sqlite3.connect(f"file:{Path(responses.db_path).resolve()}?mode=ro", uri=True,
                                   timeout=30, check_same_thread=False)

    @staticmethod
    def for_session(session) -> _HttpCacheView | None:
        if not isinstance(session, requests_cache.CachedSession) \
                or not isinstance(session.cache, requests_cache.SQLiteCache):
            return None
        try:
            return _HttpCacheView(session)
        except (sqlite3.Error, AttributeError) as exc:
            log.warning("HTTP cache not readable directly (%s): every page is read through the session", exc)
            return None

    def key_for(self, url: str) -> str | None:
        """The cache key ``session.get(url)`` looks up, or None when the cache would not be read."""
        settings = self._session.settings
        if settings.disabled:
            return None
        if settings.match_headers or settings.key_fn is not None:
            request = self._session.prepare_request(requests.Request("GET", url))
        else:
            # Without matched headers the key depends on method, URL, body and verify only;
            # session.prepare_request would also look up .netrc and merge cookies, 3x the cost.
            request = requests.PreparedRequest()
            request.prepare(method="GET", url=url, params=self._session.params)
        return self._session.cache.create_key(request, verify=bool(self._session.verify))

    def entry(self, key: str) -> bytes | None:
        """The stored bytes under ``key`` if that entry is present and not expired."""
        row = self._db.execute(f"SELECT value, expires FROM {self._table} WHERE key = ?", (key,)).fetchone()
        if row is None or (row[1] is not None and row[1] <= time.time()):
            return None
        return bytes(row[0])

    def close(self) -> None:
        self._db.close()


class PageStore:
    """The parsed-page store and crawl journal of one HTTP cache, for one parser (see module doc)."""

    def __init__(self, path: str | Path, *, parser_key: str):
        self.path = Path(path)
        self.parser_key = parser_key
        self._views: dict[int, _HttpCacheView | None] = {}
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a commit survives SIGKILL; no fsync per page
            db.executescript(_SCHEMA)
            self._db = db
        except sqlite3.Error as exc:
            log.warning("parsed-page store %s unusable (%s): pages are parsed every time; delete the file "
                        "to start it afresh", self.path, exc)

    @classmethod
    def for_parser(cls, path: str | Path, parse) -> PageStore | None:
        key = parser_key(parse)
        if key is None:
            log.info("no source found for parser %r: parsed pages are not stored", parse)
            return None
        return cls(path, parser_key=key)

    @property
    def usable(self) -> bool:
        return self._db is not None

    def _failed(self, exc: sqlite3.Error) -> None:
        log.warning("parsed-page store %s failed (%s): switched off for this run; delete the file if it "
                    "keeps failing", self.path, exc)
        self.close()

    def _view(self, session) -> _HttpCacheView | None:
        if id(session) not in self._views:
            self._views[id(session)] = _HttpCacheView.for_session(session)
        return self._views[id(session)]

    def recall(self, url: str, session) -> ParsedPage | None:
        """The parsed page of ``url`` when the journal proves the HTTP cache would answer with the
        very response it was parsed from; None otherwise (then fetch and parse as usual)."""
        if self._db is None:
            return None
        view = self._view(session)
        if view is None:
            return None
        try:
            row = self._db.execute(
                "SELECT j.cache_key, j.entry_sha256, p.page FROM journal j JOIN parsed p ON p.url = j.url "
                "AND p.body_sha256 = j.body_sha256 AND p.parser_key = j.parser_key "
                "WHERE j.url = ? AND j.parser_key = ?", (url, self.parser_key)).fetchone()
            if row is None:
                return None
            cache_key, entry_sha256, text = row
            if view.key_for(url) != cache_key:
                return None
            entry = view.entry(cache_key)
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        if entry is None or _sha256(entry) != entry_sha256:
            return None
        try:
            return page_from_json(text)
        except ValueError as exc:
            log.debug("journal row of %s ignored: %s", url, exc)
            return None

    def parsed(self, url: str, body_sha256: str) -> ParsedPage | None:
        """The stored parse of these exact bytes of ``url`` by this parser, if any."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT page FROM parsed WHERE url = ? AND body_sha256 = ? AND parser_key = ?",
                                   (url, body_sha256, self.parser_key)).fetchone()
        except sqlite3.Error as exc:
            self._failed(exc)
            return None
        if row is None:
            return None
        try:
            return page_from_json(row[0])
        except ValueError as exc:
            log.warning("stored parse of %s ignored (%s); parsing the page again", url, exc)
            return None

    def save(self, url: str, body_sha256: str, page: ParsedPage | None, *, session=None,
             response: requests.Response | None = None) -> None:
        """Store ``page`` (None: already stored) and, when ``response`` qualifies, the journal row.

        ``response`` is the 200 answer to a GET of ``url`` (the last hop when a redirect led there)
        whose body hashes to ``body_sha256``.
        """
        if self._db is None:
            return
        try:
            journal = self._journal_row(url, body_sha256, session, response) if response is not None else None
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if page is not None:
                    self._db.execute("INSERT OR REPLACE INTO parsed VALUES (?, ?, ?, ?)",
                                     (url, body_sha256, self.parser_key, page_to_json(page)))
                if journal is not None:
                    self._db.execute("INSERT OR REPLACE INTO journal VALUES (?, ?, ?, ?, ?)",
                                     (url, self.parser_key, *journal, body_sha256))
                else:
                    # whatever the journal said about this URL is no longer what the cache answers
                    self._db.execute("DELETE FROM journal WHERE url = ? AND parser_key = ?", (url, self.parser_key))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._failed(exc)

    def _journal_row(self, url, body_sha256, session, response) -> tuple[str, str] | None:
        view = self._view(session) if session is not None else None
        if view is None or response.headers.get("Vary"):
            return None
        # The key requests-cache used; recall() trusts the row only while the key it computes for the
        # URL is this one, so a key computed differently from requests-cache's can never give a hit.
        key = getattr(response, "cache_key", None)
        if not key:
            return None
        entry = view.entry(key)
        if entry is None:
            return None  # not stored (e.g. filtered out as too big)
        try:
            stored = session.cache.responses.deserialize(key, entry)
        except Exception as exc:  # noqa: BLE001 (whatever the serializer raises, the row is not written)
            log.debug("HTTP cache entry of %s not readable: %s", url, exc)
            return None
        if getattr(stored, "status_code", None) != 200 or _sha256(stored.content) != body_sha256:
            return None
        return key, _sha256(entry)

    def close(self) -> None:
        for view in self._views.values():
            if view is not None:
                view.close()
        self._views.clear()
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
