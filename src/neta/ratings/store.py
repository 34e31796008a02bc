"""The ratings database: one SQLite file, one row a judgement.

A judgement is what one rater said about one photo shown with two candidates side by side (their
sources hidden, their sides drawn at random): the left one is funnier, the right one, ``neither``, or
``skip``. Rows are only ever added; nothing here updates or deletes one.

Durability and concurrency. The file is in WAL mode with ``synchronous=FULL``: a call to
:meth:`RatingStore.record` returns only after its transaction is in the write-ahead log and fsynced,
so a judgement the app has acknowledged survives the process being killed and the machine losing
power. Writers in other processes (two ``neta serve``, a command reading the file) wait for each
other through SQLite's file locks and ``busy_timeout`` instead of failing at once.

The schema is versioned: ``schema_migrations`` lists the migrations applied to a file, and opening it
applies the missing ones in order, one transaction each. A file written by a newer neta (a version
this code does not know) is refused rather than guessed at.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from neta.errors import NetaError

log = logging.getLogger(__name__)

SOURCES = ("model_top1", "model_sample", "real", "baseline", "most_frequent")
CHOICES = ("left", "right", "neither", "skip")

BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's transaction before failing

# Numbered migrations: MIGRATIONS[0] is version 1. Each is a tuple of statements run in one
# transaction together with its row in schema_migrations. Never edit one that has shipped; add the
# next instead.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE judgements (
            id INTEGER PRIMARY KEY,
            rater TEXT NOT NULL CHECK (rater <> ''),
            kind TEXT NOT NULL CHECK (kind <> ''),
            photo TEXT NOT NULL,
            left_text TEXT NOT NULL,
            left_source TEXT NOT NULL,
            right_text TEXT NOT NULL,
            right_source TEXT NOT NULL,
            checkpoint TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ({", ".join(f"'{c}'" for c in CHOICES)})),
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX judgements_by_kind ON judgements (kind, id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
OUR_TABLES = {"schema_migrations", "judgements"}

COLUMNS = ("id", "rater", "kind", "photo", "left_text", "left_source", "right_text", "right_source",
           "checkpoint", "choice", "created_at")


@dataclass(frozen=True)
class Candidate:
    """One text shown to the rater and where it came from (one of :data:`SOURCES`)."""

    text: str
    source: str


@dataclass(frozen=True)
class Judgement:
    """One row of the database."""

    id: int
    rater: str
    kind: str
    photo: str
    left: Candidate
    right: Candidate
    checkpoint: str
    choice: str
    created_at: str

    def winner(self) -> Candidate | None:
        """The candidate chosen as funnier; None for ``neither`` and ``skip``."""
        return {"left": self.left, "right": self.right}.get(self.choice)

    def row(self) -> dict[str, object]:
        """The judgement as the database's columns (:data:`COLUMNS`), e.g. for a CSV export."""
        return {"id": self.id, "rater": self.rater, "kind": self.kind, "photo": self.photo,
                "left_text": self.left.text, "left_source": self.left.source, "right_text": self.right.text,
                "right_source": self.right.source, "checkpoint": self.checkpoint, "choice": self.choice,
                "created_at": self.created_at}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise NetaError(f"a judgement's {what} must be text, not {type(value).__name__}")
    return value


def _check_candidate(candidate: object, side: str) -> Candidate:
    if not isinstance(candidate, Candidate):
        raise NetaError(f"the {side} candidate must be a neta.ratings.store.Candidate, not {type(candidate).__name__}")
    _check_text(candidate.text, f"{side} text")
    if candidate.source not in SOURCES:
        raise NetaError(f"unknown source {candidate.source!r} of the {side} candidate; "
                        f"one of {', '.join(SOURCES)}")
    return candidate


class RatingStore:
    """The judgements in the SQLite file at ``path`` (created, with its folder, when missing).

    One store may be shared by the threads of a web server. It holds ONE connection, opened with
    ``check_same_thread=False`` and used only under a lock, rather than a connection a thread: a
    sqlite3 connection must never be used by two threads at once, and with one lock every call sees
    a connection in a known state (no transaction left open by another thread), ``close()`` can
    reach the only connection there is, and no thread-local connection outlives its thread
    unclosed. Serialising costs nothing that matters here: a judgement is one small INSERT, and
    SQLite admits one writer at a time anyway. Other processes are kept in order by SQLite's own
    locking (WAL, ``busy_timeout``).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise NetaError(f"{self.path} is a folder, not a ratings database; give the path of a .sqlite file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NetaError(f"cannot create the folder of the ratings database {self.path}: {exc}") from exc
        self._conn: sqlite3.Connection | None = None
        try:
            # isolation_level=None: no implicit transactions; each is opened and closed explicitly below
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._enter_wal()
            if str(mode).lower() != "wal":
                log.warning("%s: SQLite kept journal_mode=%s (WAL not supported here)", self.path, mode)
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            if "not a database" in str(exc) or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
                raise NetaError(f"{self.path} is not a SQLite database; give the ratings database's path "
                                f"(or move that file away and a new one is made)") from exc
            raise NetaError(f"cannot open the ratings database {self.path}: {exc}") from exc
        except BaseException:
            self._close_quietly()
            raise

    def _enter_wal(self) -> str:
        """``PRAGMA journal_mode = WAL``, the mode it left the file in. Switching needs the file to
        itself, and while another connection holds the write lock SQLite answers "locked" at once,
        without waiting out ``busy_timeout``, because waiting could deadlock (two processes opening
        the same new file). So it is retried here, with backoff, for as long as the timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay = 0.005
        while True:
            try:
                return self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 0.1)

    # --- schema --------------------------------------------------------------------------------------
    def _version(self) -> int:
        return self._conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]

    def _migrate(self) -> None:
        tables = {name for (name,) in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "schema_migrations" not in tables and not tables <= OUR_TABLES:
            raise NetaError(f"{self.path} is a SQLite database of something else (tables: "
                            f"{', '.join(sorted(tables))}), not a ratings database; give another path")
        self._conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                           "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        if self._version() > SCHEMA_VERSION:
            raise NetaError(f"{self.path} was written by a newer neta (schema version {self._version()}, this "
                            f"one knows up to {SCHEMA_VERSION}); update neta to read it")
        for version, statements in enumerate(MIGRATIONS, start=1):
            with self._transaction():
                if self._version() >= version:  # applied before, or by another process meanwhile
                    continue
                for statement in statements:
                    self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                   (version, _now()))
                log.info("%s: applied ratings schema migration %d", self.path, version)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock at BEGIN, so the busy timeout applies there and a transaction
        # never has to upgrade a read lock halfway (which SQLite may refuse without waiting)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- judgements ----------------------------------------------------------------------------------
    def record(self, *, rater: str, photo: str, left: Candidate, right: Candidate, checkpoint: str, choice: str,
               kind: str = "boke") -> int:
        """Add one judgement in one transaction and return its id (after it is on disk)."""
        if not isinstance(rater, str) or not rater.strip():
            raise NetaError("a judgement needs a rater: a non-empty name or id")
        if not isinstance(kind, str) or not kind.strip():
            raise NetaError("a judgement needs a kind (e.g. 'boke')")
        if choice not in CHOICES:
            raise NetaError(f"unknown choice {choice!r}; one of {', '.join(CHOICES)}")
        _check_text(photo, "photo")
        _check_text(checkpoint, "checkpoint")
        left = _check_candidate(left, "left")
        right = _check_candidate(right, "right")
        row = (rater, kind, photo, left.text, left.source, right.text, right.source, checkpoint, choice, _now())
        with self._lock:
            conn = self._connection()
            try:
                with self._transaction():
                    cursor = conn.execute(
                        f"INSERT INTO judgements ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(row))})",
                        row)
                    return int(cursor.lastrowid)
            except sqlite3.Error as exc:
                raise NetaError(f"could not record a judgement in {self.path}: {exc}") from exc

    def judgements(self, kind: str | None = None) -> list[Judgement]:
        """Every judgement (of ``kind``, when given) in the order they were recorded."""
        query = f"SELECT {', '.join(COLUMNS)} FROM judgements"
        params: tuple = ()
        if kind is not None:
            query += " WHERE kind = ?"
            params = (kind,)
        with self._lock:
            try:
                rows = self._connection().execute(query + " ORDER BY id", params).fetchall()
            except sqlite3.Error as exc:
                raise NetaError(f"could not read the judgements of {self.path}: {exc}") from exc
        return [Judgement(id=r[0], rater=r[1], kind=r[2], photo=r[3], left=Candidate(r[4], r[5]),
                          right=Candidate(r[6], r[7]), checkpoint=r[8], choice=r[9], created_at=r[10])
                for r in rows]

    # --- lifetime ------------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise NetaError(f"the ratings database {self.path} was closed")
        return self._conn

    def _close_quietly(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        """Close the connection; a second close does nothing."""
        with self._lock:
            self._close_quietly()

    def __enter__(self) -> RatingStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RatingStore({str(self.path)!r})"
