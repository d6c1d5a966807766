"""The SQLite file: pragmas, numbered migrations, one write connection, read connections.

Every write is one transaction run as a whole on the single write connection
(`BEGIN IMMEDIATE` … `COMMIT`, serialised by a lock), so two teachers saving grades at
the same moment never interleave. Reads use their own read-only connections; with WAL
they never wait for the writer.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import os
import re
import shutil
import sqlite3
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from .errors import UserError
from . import collation, ledger
from .fsutil import fsync_dir
from .timeutil import now_text

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000


class DatabaseError(UserError):
    """A database the server cannot use; the message is Russian and says what to do."""


class DatabaseTooNew(DatabaseError):
    pass


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migrations shipped with the package: (version, name, sql), in order."""
    found = []
    for entry in resources.files("server.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    assert [v for v, _, _ in found] == list(range(1, len(found) + 1)), "migration numbers must be 1..N"
    return found


def latest_version() -> int:
    return len(migrations())


def _set_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    # A Pi loses power: an acknowledged grade must survive it.
    conn.execute("PRAGMA synchronous=FULL")


def schema_version(conn: sqlite3.Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def connect_sync(path: Path | str) -> sqlite3.Connection:
    """A plain sqlite3 connection with our pragmas, in autocommit mode (for CLI and tools)."""
    conn = collation.register(sqlite3.connect(str(path), isolation_level=None))
    conn.row_factory = sqlite3.Row
    _set_pragmas(conn)
    return conn


def migrate(path: Path | str) -> tuple[int, int]:
    """Bring the database at `path` to the latest schema; returns (from, to).

    A database made by a newer Zhurnal is refused before anything is written to it.
    """
    path = Path(path)
    # Children's personal data: a new data folder and database are for the owner only.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    recover_interrupted_swap(path)
    new = not path.exists()
    try:
        # The pragmas already read the file: a file that is not SQLite fails here.
        conn = connect_sync(path)
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"Файл {path} не является базой данных Журнала или повреждён ({e}).") from e
    if new:
        os.chmod(path, 0o600)
    try:
        try:
            current = schema_version(conn)
        except sqlite3.DatabaseError as e:
            raise DatabaseError(f"Файл {path} не является базой данных Журнала или повреждён ({e}).") from e
        known = migrations()
        if current > len(known):
            raise DatabaseTooNew(
                f"База данных {path} создана более новой версией Журнала (версия схемы {current}, "
                f"эта программа знает только до {len(known)}). Установите новую версию программы. "
                "База не изменена."
            )
        conn.execute("PRAGMA journal_mode=WAL")
        for version, name, sql in known[current:]:
            # executescript runs our explicit BEGIN …; on error the open transaction is
            # rolled back, so a migration applies whole or not at all.
            try:
                conn.executescript("BEGIN IMMEDIATE;\n" + sql + "\n;")
                if "writable_schema" in sql:  # the schema text was edited (0017): every connection re-reads it
                    v = conn.execute("PRAGMA schema_version").fetchone()[0]
                    conn.execute(f"PRAGMA schema_version = {int(v) + 1}")
                conn.execute("INSERT INTO schema_version(version, name, applied_at) VALUES (?, ?, ?)",
                             (version, name, now_text()))
                conn.execute("COMMIT")
            except Exception:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if ledger.uncovered(conn):
            # Tables that joined the ledger in this release: their rows as they stand, once.
            conn.execute("BEGIN IMMEDIATE")
            try:
                ledger.extend_coverage(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return current, len(known)
    finally:
        conn.close()


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def refuse_newer(path: Path | str) -> None:
    """Raise DatabaseTooNew (before anything is written) if `path` has a newer schema."""
    conn = collation.register(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    try:
        current = schema_version(conn)
    except sqlite3.DatabaseError as e:
        raise DatabaseError(f"Файл {path} не является базой данных Журнала или повреждён ({e}).") from e
    finally:
        conn.close()
    known = latest_version()
    if current > known:
        raise DatabaseTooNew(
            f"База данных {path} создана более новой версией Журнала (версия схемы {current}, "
            f"эта программа знает только до {known}). Установите новую версию программы. "
            "База не изменена."
        )


def swap_database_file(path: Path, new_file: Path) -> Path:
    """Put `new_file` in the place of the database `path`; no connection may be open.

    The old file and its WAL move aside (returned, for undo_swap/drop_aside). A stale
    -shm or -wal must not stay beside the new file: SQLite would apply the old WAL to it.
    """
    path, new_file = Path(path), Path(new_file)
    aside = path.with_name(path.name + ".before-restore")
    for p in [aside, *_sidecars(aside)]:
        p.unlink(missing_ok=True)
    if path.exists():
        os.replace(path, aside)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        os.replace(wal, aside.with_name(aside.name + "-wal"))
    for p in _sidecars(path):
        p.unlink(missing_ok=True)
    try:
        try:
            os.replace(new_file, path)
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
            # Another file system: copy beside the database first, so the final step is a rename.
            incoming = path.with_name(f".{path.name}.incoming")
            with open(new_file, "rb") as src, open(incoming, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(incoming, path)
            new_file.unlink()
        fsync_dir(path.parent)
    except BaseException:
        undo_swap(path, aside)
        raise
    return aside


def recover_interrupted_swap(path: Path) -> bool:
    """A restore cut between moving the old database aside and putting the new one in place
    leaves no database at all: put the old one back rather than start an empty school."""
    aside = path.with_name(path.name + ".before-restore")
    if path.exists() or not aside.exists():
        return False
    undo_swap(path, aside)
    return True


def undo_swap(path: Path, aside: Path) -> None:
    """Put the database that swap_database_file moved aside back in place."""
    for p in _sidecars(path):
        p.unlink(missing_ok=True)
    if aside.exists():
        os.replace(aside, path)
        aside_wal = aside.with_name(aside.name + "-wal")
        if aside_wal.exists():
            os.replace(aside_wal, path.with_name(path.name + "-wal"))
    else:
        path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def drop_aside(aside: Path) -> None:
    for p in [aside, *_sidecars(aside)]:
        p.unlink(missing_ok=True)


class Database:
    """The server's connections to one SQLite file."""

    def __init__(self, path: Path | str, read_connections: int = 4):
        self.path = Path(path)
        self._n_readers = read_connections
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self._pending: list[tuple[Callable, tuple, asyncio.Future]] = []  # fn, args, answer

    async def open(self) -> None:
        self._writer = await self._connect(readonly=False)
        for _ in range(self._n_readers):
            conn = await self._connect(readonly=True)
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)

    async def _connect(self, readonly: bool) -> aiosqlite.Connection:
        target = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        conn = await aiosqlite.connect(target, uri=True, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await _on_thread(conn, collation.register)
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=FULL")
        return conn

    async def close(self) -> None:
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn: sqlite3.Connection, *args)` on a read connection, in one hop to its thread
        and one read transaction: every query of `fn` sees the same snapshot (a grid read
        while a teacher saves shows the cell before or after the save, in all its parts), and
        N queries cost one hop, not N. The connection is read-only: a write in `fn` fails."""
        conn = await self._readers.get()
        try:
            return await _on_thread(conn, _in_snapshot, fn, args)
        finally:
            self._readers.put_nowait(conn)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` as one whole transaction on the write connection.

        Group commit: writes that arrive while another transaction is running are queued,
        and the next one to get the lock runs the whole queue in one transaction, each
        job inside its own SAVEPOINT (a failing job rolls back alone and gets its own
        exception). One fsync then covers many writes: 30 teachers saving grades after
        the bell wait for one disk flush, not thirty. Results are delivered only after
        COMMIT, so an acknowledged write is on disk.

        `fn` is a plain `def fn(conn: sqlite3.Connection, …)` and runs inside the writer
        thread: the whole batch — BEGIN, every SAVEPOINT, the jobs, COMMIT — is a single hop.
        A coroutine function is refused (it would never run): every store function is plain.
        """
        assert self._writer is not None, "database is not open"
        if inspect.iscoroutinefunction(fn):
            raise TypeError(f"{fn!r} is `async def`: write jobs are plain functions of a sqlite3 connection")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((fn, args, future))
        async with self._write_lock:
            if not future.done():
                batch, self._pending = self._pending, []
                await self._run_batch(batch)
        return future.result()

    async def _run_batch(self, batch: list) -> None:
        """The whole transaction of a batch in one hop to the writer thread."""
        hop = asyncio.ensure_future(_on_thread(self._writer, _transaction, batch, len(batch) > 1))
        cancelled = False
        while not hop.done():
            try:
                await asyncio.shield(hop)
            except asyncio.CancelledError:
                # The writer thread runs the transaction to its end (COMMIT or ROLLBACK)
                # whatever happens here. Wait for it with the lock held, so every job of the
                # batch is answered with what really happened before anyone else writes.
                cancelled = True
            except BaseException:  # noqa: B036 — the hop's own failure: _deliver gives it to every job
                pass
        _deliver(batch, hop)
        if cancelled:
            raise asyncio.CancelledError

    async def replace_file(self, new_file: Path | str,
                           before_swap: Callable[[], Awaitable[None]] | None = None) -> tuple[int, int]:
        """Swap the database for `new_file` (a checked SQLite file) while the server runs.

        A newer schema is refused before anything changes. Then writes pause (the write
        lock), `before_swap` runs (the safety backup), in-flight reads finish, connections
        close, the file is replaced, migrated (an older backup is brought up to date) and
        the connections reopen. If the swap or the migration fails, the old file goes back.
        Returns migrate()'s (from, to).
        """
        await asyncio.to_thread(refuse_newer, new_file)
        async with self._write_lock:
            if before_swap is not None:
                await before_swap()
            for _ in range(len(self._all_readers)):
                await self._readers.get()  # each in-flight read gives its connection back first
            await self.close()
            try:
                aside = await asyncio.to_thread(swap_database_file, self.path, Path(new_file))
                try:
                    result = await asyncio.to_thread(migrate, self.path)
                except BaseException:
                    await asyncio.to_thread(undo_swap, self.path, aside)
                    raise
            finally:
                await self.open()
            await asyncio.to_thread(drop_aside, aside)
            return result


# --- plain functions, run on a connection's own thread ------------------------------------------

async def _on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(sqlite3_connection, *args)` on the thread that owns `conn`, in one hop.

    The one use of aiosqlite's private API (`_execute`, `_conn`): aiosqlite has no public
    way to run a function on its connection's thread, and one hop per plain function is what
    makes a grid page (a dozen queries) or a batch of grade saves cheap — an await per
    statement costs ~50 µs of CPU and a GIL hand-over. aiosqlite is pinned <0.23 in
    pyproject.toml for this; tests/test_db.py runs this path, so an upgrade that breaks it
    fails there. Every statement stays on the connection's one thread, as sqlite3 requires.
    """
    return await conn._execute(fn, conn._conn, *args)


def _in_snapshot(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple) -> T:
    conn.execute("BEGIN")
    try:
        return fn(conn, *args)
    finally:
        if conn.in_transaction:  # a failing ROLLBACK must not hide fn's own error
            conn.execute("ROLLBACK")


def _jobs(conn: sqlite3.Connection, jobs: list, savepoints: bool) -> list[tuple[bool, Any]]:
    """Run plain jobs inside the open transaction; (True, result) or (False, exception) each.

    With `savepoints` each job is in its own SAVEPOINT, so a failing one rolls back alone.
    Without (a batch of one), a failure is left for the caller to roll back whole.
    """
    outcomes = []
    for fn, args, _ in jobs:
        if savepoints:
            conn.execute("SAVEPOINT job")
        try:
            result = fn(conn, *args)
            if inspect.isawaitable(result):  # an async job that the check did not recognise
                if hasattr(result, "close"):
                    result.close()
                raise TypeError(f"{fn!r} returned an awaitable: write jobs are plain functions")
        except Exception as e:  # this job only; the others go on
            if savepoints:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            outcomes.append((False, e))
            continue
        if savepoints:
            conn.execute("RELEASE job")
        outcomes.append((True, result))
    return outcomes


def _transaction(conn: sqlite3.Connection, jobs: list, savepoints: bool) -> list[tuple[bool, Any]]:
    """BEGIN IMMEDIATE, the jobs, COMMIT — all in the writer thread (Database._run_batch)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = _jobs(conn, jobs, savepoints)
        if savepoints or outcomes[0][0]:
            conn.execute("COMMIT")
        else:
            conn.execute("ROLLBACK")  # the only job failed: nothing to keep
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _deliver(batch: list, hop: asyncio.Future) -> None:
    """Answer every job of a plain batch from the writer thread's outcome (after COMMIT)."""
    if hop.cancelled():
        error: BaseException | None = asyncio.CancelledError()
    else:
        error = hop.exception()
    for i, (_, _, future) in enumerate(batch):
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
            continue
        ok, value = hop.result()[i]
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
