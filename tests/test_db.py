"""The SQLite file: migrations, pragmas, refusing a newer database, whole transactions."""

from __future__ import annotations

import asyncio
import os
import hashlib
import sqlite3
import threading
import time

import pytest

from server import db as dbmod
from server.db import Database, DatabaseTooNew, latest_version, migrate


def test_a_new_database_gets_every_migration_and_wal(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    assert migrate(path) == (0, latest_version())
    assert migrate(path) == (latest_version(), latest_version())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, latest_version() + 1))
    conn.close()


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("INSERT INTO schema_version VALUES (999, 'future', '2030-01-01T00:00:00Z')")
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DatabaseTooNew, match="более новой версией"):
        migrate(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not (tmp_path / "zhurnal.sqlite3-wal").exists()


def test_a_file_that_is_not_a_database_is_refused_with_a_message(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(dbmod.DatabaseError, match="не является базой данных"):
        migrate(path)


def test_a_failing_migration_applies_nothing(tmp_path, monkeypatch):
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)
    good = dbmod.migrations()
    bad_sql = "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(dbmod, "migrations", lambda: good + [(len(good) + 1, "broken", bad_sql)])
    with pytest.raises(sqlite3.OperationalError):
        migrate(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(good)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    conn.close()


async def value_of(db: Database, sql: str, params=()):
    """One value, read through the database's one read path."""
    row = await db.read(lambda conn: conn.execute(sql, params).fetchone())
    return row[0] if row else None


async def rows_of(db: Database, sql: str, params=()) -> list:
    return await db.read(lambda conn: conn.execute(sql, params).fetchall())


async def run_sql(db: Database, sql: str, params=()) -> None:
    await db.write(lambda conn: conn.execute(sql, params))


def test_connections_enforce_foreign_keys_and_full_sync(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=2)
        await db.open()
        try:
            assert await value_of(db, "PRAGMA foreign_keys") == 1
            assert await value_of(db, "PRAGMA synchronous") == 2  # FULL
            with pytest.raises(sqlite3.IntegrityError):
                await run_sql(db,
                    "INSERT INTO account(person_id, login, password_hash, created_at) VALUES (12345, 'x', 'h', 'now')"
                )
            # Read connections cannot write, even by mistake.
            with pytest.raises(sqlite3.OperationalError):
                await db.read(lambda conn: conn.execute("DELETE FROM setting"))
        finally:
            await db.close()

    asyncio.run(run())


def test_concurrent_write_transactions_never_interleave(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=2)
        await db.open()
        await run_sql(db, "INSERT INTO setting(key, value) VALUES ('counter', '0')")

        def increment(conn):
            value = int(conn.execute("SELECT value FROM setting WHERE key = 'counter'").fetchone()[0])
            time.sleep(0.001)  # give the other jobs every chance to interleave
            conn.execute("UPDATE setting SET value = ? WHERE key = 'counter'", (str(value + 1),))

        def failing(conn):
            conn.execute("UPDATE setting SET value = '-100' WHERE key = 'counter'")
            raise RuntimeError("boom")

        tasks = [db.write(increment) for _ in range(50)] + [db.write(failing) for _ in range(5)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(r, RuntimeError) for r in results) == 5
        value = await value_of(db, "SELECT value FROM setting WHERE key = 'counter'")
        # An `async def` job would never run its statements: it is refused before anything starts.

        async def coroutine_job(conn):
            conn.execute("UPDATE setting SET value = '-1' WHERE key = 'counter'")

        with pytest.raises(TypeError):
            await db.write(coroutine_job)
        assert await value_of(db, "SELECT value FROM setting WHERE key = 'counter'") == value
        await db.close()
        return value

    assert asyncio.run(run()) == "50"


def test_plain_write_jobs_run_in_the_writer_thread_with_group_commit(tmp_path):
    """A plain `def job(conn)` runs on the writer's own sqlite3 connection, in its thread
    (aiosqlite's private Connection._execute/_conn: this test fails if an aiosqlite upgrade
    changes them). A batch of plain jobs is one transaction; a failing job rolls back alone,
    and a result is answered only once it is committed."""
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=2)
        await db.open()
        await run_sql(db, "INSERT INTO setting(key, value) VALUES ('counter', '0')")
        loop_thread = threading.get_ident()
        seen = []

        def increment(conn):
            assert isinstance(conn, sqlite3.Connection)
            assert conn.in_transaction
            seen.append((threading.get_ident(), conn.total_changes))
            value = int(conn.execute("SELECT value FROM setting WHERE key = 'counter'").fetchone()["value"])
            conn.execute("UPDATE setting SET value = ? WHERE key = 'counter'", (str(value + 1),))
            return value + 1

        def failing(conn):
            conn.execute("UPDATE setting SET value = '-100' WHERE key = 'counter'")
            raise RuntimeError("boom")

        async def increment_and_read():
            written = await db.write(increment)
            # Acknowledged means committed: a read connection already sees it.
            assert int(await value_of(db, "SELECT value FROM setting WHERE key = 'counter'")) >= written
            return written

        results = await asyncio.gather(*[increment_and_read() for _ in range(50)],
                                       *[db.write(failing) for _ in range(5)], return_exceptions=True)
        assert sum(isinstance(r, RuntimeError) for r in results) == 5
        assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 51))
        assert all(ident != loop_thread for ident, _ in seen)
        assert len({ident for ident, _ in seen}) == 1
        # A single plain job that fails leaves nothing behind.
        with pytest.raises(RuntimeError):
            await db.write(failing)
        value = await value_of(db, "SELECT value FROM setting WHERE key = 'counter'")
        # A job that is a coroutine in disguise is refused, not half run.
        with pytest.raises(TypeError):
            await db.write(lambda conn: asyncio.sleep(0))
        await db.close()
        return value

    assert asyncio.run(run()) == "50"


def test_jobs_queued_together_run_in_one_transaction_in_order_each_failure_alone(tmp_path):
    """Jobs that arrive while another transaction runs queue together: one transaction, in
    arrival order, a failing job rolled back alone (its SAVEPOINT)."""
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=1)
        await db.open()
        await run_sql(db, "CREATE TABLE t (n INTEGER)")
        gate = threading.Event()

        def holder(conn):  # keeps the writer busy until every other job is queued
            gate.wait(5)
            conn.execute("INSERT INTO t VALUES (0)")

        def job(conn, n):
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            if n in (3, 6):
                raise ValueError(n)
            return n

        first = asyncio.ensure_future(db.write(holder))
        await asyncio.sleep(0.05)
        tasks = [asyncio.ensure_future(db.write(job, n)) for n in (1, 2, 4, 3, 5, 6, 7, 8)]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert [type(r).__name__ if isinstance(r, Exception) else r for r in results] == \
            [1, 2, 4, "ValueError", 5, "ValueError", 7, 8]
        rows = [r[0] for r in await rows_of(db, "SELECT n FROM t ORDER BY rowid")]
        await db.close()
        return rows

    assert asyncio.run(run()) == [0, 1, 2, 4, 5, 7, 8]


def test_a_cancelled_writer_still_answers_the_batch_it_was_running(tmp_path):
    """The task that runs a batch of plain jobs is cancelled while the writer thread is at it:
    the thread finishes the transaction anyway, so the other jobs get their real answers and
    the next batch starts only after that."""
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=1)
        await db.open()
        await run_sql(db, "CREATE TABLE t (n INTEGER)")
        started = threading.Event()

        def slow(conn, n):
            started.set()
            time.sleep(0.3)
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            return n

        def quick(conn, n):
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            return n

        first = asyncio.ensure_future(db.write(quick, 0))
        await asyncio.sleep(0)  # `first` holds the lock: the next three queue into one batch
        holder = asyncio.ensure_future(db.write(slow, 1))
        others = [asyncio.ensure_future(db.write(quick, n)) for n in (2, 3)]
        await first
        await asyncio.to_thread(started.wait, 5)
        holder.cancel()
        later = await db.write(quick, 4)
        results = await asyncio.gather(*others)
        with pytest.raises(asyncio.CancelledError):
            await holder
        rows = sorted(r[0] for r in await rows_of(db, "SELECT n FROM t"))
        await db.close()
        return later, results, rows

    assert asyncio.run(run()) == (4, [2, 3], [0, 1, 2, 3, 4])


def test_a_read_runs_in_one_snapshot_on_a_reader_thread(tmp_path):
    """`Database.read(fn)`: all of fn's queries in one hop and one read transaction —
    a write committed while fn runs is not half seen (the journal grid reads this way)."""
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=1)
        await db.open()
        await run_sql(db, "INSERT INTO setting(key, value) VALUES ('counter', '1')")
        loop_thread = threading.get_ident()

        def read_twice(conn):
            first = conn.execute("SELECT value FROM setting WHERE key = 'counter'").fetchone()["value"]
            other = dbmod.connect_sync(path)  # another writer commits in between
            other.execute("UPDATE setting SET value = '2' WHERE key = 'counter'")
            other.close()
            second = conn.execute("SELECT value FROM setting WHERE key = 'counter'").fetchone()["value"]
            return first, second, threading.get_ident(), conn.in_transaction

        first, second, thread, in_tx = await db.read(read_twice)
        assert (first, second) == ("1", "1") and in_tx and thread != loop_thread
        # The snapshot ends with the call: the next read sees the committed write.
        assert await value_of(db, "SELECT value FROM setting WHERE key = 'counter'") == "2"
        with pytest.raises(sqlite3.OperationalError):  # read connections stay read-only
            await db.read(lambda conn: conn.execute("DELETE FROM setting"))
        assert await value_of(db, "SELECT count(*) FROM setting") >= 1
        await db.close()

    asyncio.run(run())


def test_a_restore_cut_before_the_new_file_arrived_brings_the_old_database_back(tmp_path):
    """Power cut between the two renames of swap_database_file: no zhurnal.sqlite3, the old one
    aside. The next start must not create an empty school over it."""
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)
    conn = dbmod.connect_sync(path)
    conn.execute("INSERT INTO setting(key, value) VALUES ('marker', 'old school')")
    conn.close()
    os.replace(path, path.with_name(path.name + ".before-restore"))  # what the cut leaves
    migrate(path)
    conn = dbmod.connect_sync(path)
    assert conn.execute("SELECT value FROM setting WHERE key = 'marker'").fetchone()[0] == "old school"
    conn.close()
    assert not path.with_name(path.name + ".before-restore").exists()
