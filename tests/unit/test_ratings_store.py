"""The ratings database on real SQLite files: round trip, schema, bad input, concurrent writers in
threads and processes, and a writer killed mid-burst."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

import neta
from neta.errors import NetaError
from neta.ratings.store import CHOICES, COLUMNS, SCHEMA_VERSION, SOURCES, Candidate, Judgement, RatingStore

SRC = str(Path(neta.__file__).resolve().parents[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}


def record(store: RatingStore, n: int, *, rater: str = "ann", choice: str = "left", kind: str = "boke") -> int:
    return store.record(rater=rater, photo=f"photos/{n}.jpg", left=Candidate(f"左のボケ {n}", "model_top1"),
                        right=Candidate(f"right {n}", "real"), checkpoint="ab" * 32, choice=choice, kind=kind)


def test_a_judgement_comes_back_as_it_was_recorded_after_reopening(tmp_path):
    path = tmp_path / "new folder" / "ratings.sqlite"
    with RatingStore(path) as store:
        first = record(store, 1)
        second = store.record(rater="bob", photo="p.jpg", left=Candidate("a", "baseline"),
                              right=Candidate("b", "most_frequent"), checkpoint="", choice="neither", kind="caption")
        assert second > first
    assert path.is_file()
    with RatingStore(path) as store:
        judgements = store.judgements()
        assert [j.id for j in judgements] == [first, second]
        j = judgements[0]
        assert j == Judgement(id=first, rater="ann", kind="boke", photo="photos/1.jpg",
                              left=Candidate("左のボケ 1", "model_top1"), right=Candidate("right 1", "real"),
                              checkpoint="ab" * 32, choice="left", created_at=j.created_at)
        assert datetime.fromisoformat(j.created_at).utcoffset().total_seconds() == 0  # UTC
        assert [j.id for j in store.judgements("caption")] == [second]
        assert store.judgements("nothing") == []
        assert j.winner() == j.left and judgements[1].winner() is None
        assert list(j.row()) == list(COLUMNS)


def test_the_file_is_in_wal_mode_synchronous_full_and_at_the_current_schema(tmp_path):
    path = tmp_path / "ratings.sqlite"
    with RatingStore(path) as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    RatingStore(path).close()  # reopening applies nothing twice
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file
        versions = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
        assert [v for v, _ in versions] == list(range(1, SCHEMA_VERSION + 1))
        columns = {row[1]: row for row in conn.execute("PRAGMA table_info(judgements)")}
        assert list(columns) == list(COLUMNS)
        assert columns["id"][5] == 1  # the primary key
        with pytest.raises(sqlite3.IntegrityError):  # the CHECK holds for any writer, not just ours
            conn.execute("INSERT INTO judgements (rater, kind, photo, left_text, left_source, right_text, "
                         "right_source, checkpoint, choice, created_at) VALUES "
                         "('x', 'boke', 'p', 'a', 'real', 'b', 'baseline', '', 'both', 'now')")
    finally:
        conn.close()


@pytest.mark.parametrize("change, message", [
    ({"choice": "both"}, "unknown choice 'both'"),
    ({"rater": ""}, "needs a rater"),
    ({"rater": "   "}, "needs a rater"),
    ({"left": Candidate("x", "gpt")}, "unknown source 'gpt' of the left candidate"),
    ({"right": Candidate("x", "REAL")}, "unknown source 'REAL' of the right candidate"),
    ({"right": ("x", "real")}, "right candidate must be"),
    ({"kind": ""}, "needs a kind"),
    ({"photo": None}, "photo must be text"),
])
def test_bad_input_is_a_neta_error_and_records_nothing(tmp_path, change, message):
    arguments = {"rater": "ann", "photo": "p.jpg", "left": Candidate("a", "real"),
                 "right": Candidate("b", "baseline"), "checkpoint": "c", "choice": "left", **change}
    with RatingStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(NetaError, match=message):
            store.record(**arguments)
        assert store.judgements() == []
    assert set(CHOICES) == {"left", "right", "neither", "skip"} and len(SOURCES) == 5


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("my notes, not a database\n" * 100, encoding="utf-8")
    with pytest.raises(NetaError, match=f"{path} is not a SQLite database"):
        RatingStore(path)
    assert path.read_text(encoding="utf-8").startswith("my notes")  # left as it was


def test_a_database_of_something_else_is_refused(tmp_path):
    path = tmp_path / "cache.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE responses (url TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(NetaError, match=f"{path} is a SQLite database of something else"):
        RatingStore(path)


def test_a_database_of_a_newer_schema_is_refused_by_name(tmp_path):
    path = tmp_path / "ratings.sqlite"
    with RatingStore(path) as store:
        record(store, 1)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(NetaError, match=f"{path} was written by a newer neta"):
        RatingStore(path)


def test_a_closed_store_says_so(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    store.close()
    store.close()
    with pytest.raises(NetaError, match="was closed"):
        record(store, 1)


def test_threads_sharing_one_store_lose_no_judgement(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    ids: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(9)

    def write(thread: int) -> None:
        try:
            start.wait()
            for i in range(50):
                ids.append(record(store, thread * 1000 + i, rater=f"thread {thread}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def read() -> None:
        try:
            start.wait()
            for _ in range(20):
                store.judgements()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert not errors, errors
    with RatingStore(tmp_path / "r.sqlite") as store:
        rows = store.judgements()
    assert len(rows) == 400 and sorted(ids) == [j.id for j in rows]
    assert {j.photo for j in rows} == {f"photos/{t * 1000 + i}.jpg" for t in range(8) for i in range(50)}


WRITER = """
import sys
from neta.ratings.store import Candidate, RatingStore
path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with RatingStore(path) as store:
    for i in range(count):
        n = store.record(rater=name, photo=f"{name}/{i}.jpg", left=Candidate(f"{name} left {i}", "model_sample"),
                         right=Candidate(f"{name} right {i}", "baseline"), checkpoint=f"{name}-{i}",
                         choice=("left", "right", "neither", "skip")[i % 4])
        print(n, flush=True)
"""


def test_processes_each_with_its_own_store_lose_no_judgement(tmp_path):
    path = tmp_path / "fresh" / "ratings.sqlite"  # made, and migrated, by whichever process comes first
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"p{k}", "50"], env=_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    printed = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        printed += [int(line) for line in out.split()]
    with RatingStore(path) as store:
        rows = store.judgements()
    assert len(rows) == 200 and sorted(printed) == [j.id for j in rows]
    assert {(j.rater, j.photo) for j in rows} == {(f"p{k}", f"p{k}/{i}.jpg") for k in range(4) for i in range(50)}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_store_opened_while_another_connection_holds_the_write_lock_waits_for_it(tmp_path):
    """Switching a new file to WAL needs it to itself, and SQLite refuses at once, without waiting out
    busy_timeout, while another connection holds the write lock: the race of several processes
    opening one new database (the test above, now and then). The store waits for the lock."""
    import time

    path = tmp_path / "ratings.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, holder.execute, ["COMMIT"])
    started = time.monotonic()
    release.start()
    try:
        with RatingStore(path) as store:
            assert store.judgements() == []
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 0.5  # it did wait for the holder
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_writer_killed_mid_burst_loses_no_committed_judgement_and_leaves_no_half_row(tmp_path):
    path = tmp_path / "ratings.sqlite"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "victim", "1000000"], env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    committed = []
    try:
        while len(committed) < 40:  # each id printed is a transaction that returned
            line = process.stdout.readline()
            assert line.endswith(b"\n"), process.stderr.read().decode()
            committed.append(int(line))
        os.kill(process.pid, signal.SIGKILL)  # mid-burst: it is writing the next ones
    finally:
        process.kill()
        rest = process.stdout.read()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    committed += [int(line) for line in rest.split(b"\n")[:-1]]  # whole lines only: printed before the kill

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM judgements ORDER BY id").fetchall()
    finally:
        conn.close()
    ids = [row[0] for row in rows]
    assert set(committed) <= set(ids) and len(ids) >= len(committed)
    for row in rows:
        assert all(value is not None for value in row), row
        i = int(row[COLUMNS.index("photo")].removeprefix("victim/").removesuffix(".jpg"))
        assert row[COLUMNS.index("left_text")] == f"victim left {i}"  # every column of the same judgement
        assert row[COLUMNS.index("right_text")] == f"victim right {i}"
        assert row[COLUMNS.index("checkpoint")] == f"victim-{i}"
        assert row[COLUMNS.index("choice")] == ("left", "right", "neither", "skip")[i % 4]
    with RatingStore(path) as store:  # and the store opens it again and goes on
        assert len(store.judgements()) == len(rows)
        record(store, 1)
