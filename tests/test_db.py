"""The SQLite file: migrations, pragmas, refusing a newer database, whole transactions."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3

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


def test_connections_enforce_foreign_keys_and_full_sync(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=2)
        await db.open()
        try:
            assert await db.fetchval("PRAGMA foreign_keys") == 1
            assert await db.fetchval("PRAGMA synchronous") == 2  # FULL
            with pytest.raises(sqlite3.IntegrityError):
                await db.execute_write(
                    "INSERT INTO account(person_id, login, password_hash, created_at) VALUES (12345, 'x', 'h', 'now')"
                )
            # Read connections cannot write, even by mistake.
            with pytest.raises(sqlite3.OperationalError):
                async with db.read() as conn:
                    await conn.execute("DELETE FROM setting")
        finally:
            await db.close()

    asyncio.run(run())


def test_concurrent_write_transactions_never_interleave(tmp_path):
    path = tmp_path / "zhurnal.sqlite3"
    migrate(path)

    async def run():
        db = Database(path, read_connections=2)
        await db.open()
        await db.execute_write("INSERT INTO setting(key, value) VALUES ('counter', '0')")

        async def increment(conn):
            value = int((await (await conn.execute("SELECT value FROM setting WHERE key = 'counter'")).fetchone())[0])
            await asyncio.sleep(0)  # give other tasks every chance to interleave
            await conn.execute("UPDATE setting SET value = ? WHERE key = 'counter'", (str(value + 1),))

        async def failing(conn):
            await conn.execute("UPDATE setting SET value = '-100' WHERE key = 'counter'")
            raise RuntimeError("boom")

        tasks = [db.write(increment) for _ in range(50)] + [db.write(failing) for _ in range(5)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(r, RuntimeError) for r in results) == 5
        value = await db.fetchval("SELECT value FROM setting WHERE key = 'counter'")
        await db.close()
        return value

    assert asyncio.run(run()) == "50"
