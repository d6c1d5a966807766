"""Restoring a backup: decrypt into a private folder, check, show, confirm, swap.

Both ways (the running server's page, `zhurnal backup restore` at the console) decrypt
into `DATA/backups/.restore-<token>/` (mode 0700; the database and the school's files in
it 0600), check every hash against the manifest, open the database and run
`integrity_check`/`foreign_key_check`, compare row counts, and refuse a backup from a
newer program before anything changes. Then the admin confirms; then a safety copy of
the current state, migrate the restored database, start a new feed epoch, and swap the
database and the file folders.

A decrypted copy never outlives its use: the process that made it holds an flock on its
`.lock` while it waits for the confirmation, so a copy whose process died (a crash, a
kill, a power cut) is found unlocked and removed by the next start or the next restore;
in the running server a pending copy is removed when the preview is cancelled, when it
expires (PENDING_TTL on the program's clock) and when the server stops.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Callable

import anyio.to_thread

from server import clock
from server.config import Settings
from server.db import DatabaseError, connect_sync, drop_aside, migrate, swap_database_file, undo_swap
from server.fsutil import fsync_dir
from server.timeutil import parse_stored

from . import archive, create, keys, state, status
from .archive import Progress, no_progress
from .errors import BackupError, from_os_error

log = logging.getLogger("zhurnal.backups")

RESTORE_PREFIX = ".restore-"
_MAKING_PREFIX = ".restoring-"  # a staging folder before its lock is taken
ASIDE_PREFIX = ".files-before-restore-"
LOCK_NAME = ".lock"
# A decrypted backup waiting for the admin's confirmation is removed after this.
PENDING_TTL = timedelta(minutes=10)
# How often the running server looks for expired ones while any are waiting.
SWEEP_SECONDS = 1.0
# Table row counts the admin recognises, for the confirmation of a restore.
TABLE_LABELS = [
    ("person", "людей"), ("account", "учётных записей"), ("student", "учащихся"),
    ("class", "классов"), ("journal", "журналов"), ("lesson", "уроков"), ("grade", "отметок"),
]
NEVER = create.NEVER
SERVER_RUNS = ("Сервер Журнала запущен с этой папкой данных. Остановите его (sudo systemctl stop zhurnal) "
               "или восстановите копию на странице «Резервные копии».")


@dataclass
class Prepared:
    """A backup decrypted and checked into a private folder, waiting for confirmation."""

    token: str
    folder: Path
    manifest: dict
    source: str
    current_school: dict | None = None
    lock: BinaryIO | None = field(default=None, repr=False)

    @property
    def db_path(self) -> Path:
        return self.folder / archive.DB_MEMBER

    @property
    def has_files(self) -> bool:
        """A backup of format 2 or later: it holds the school's files (maybe none), which
        replace the current ones. A format-1 backup knows nothing of them: they stay."""
        return "files" in self.manifest

    @property
    def files_count(self) -> int:
        return len(archive.files_of(self.manifest))

    @property
    def files_mb(self) -> str:
        return f"{archive.files_size(self.manifest) / 1_000_000:.1f}".replace(".", ",")

    @property
    def created_at(self) -> datetime:
        return parse_stored(self.manifest["created_at"])

    @property
    def school_name(self) -> str:
        return self.manifest.get("school_name") or "—"

    @property
    def other_school(self) -> bool:
        return bool(self.current_school and self.manifest.get("school_uid")
                    and self.current_school["uid"] != self.manifest["school_uid"])

    @property
    def counts(self) -> list[tuple[str, int]]:
        tables = self.manifest["tables"]
        return [(label, tables[t]) for t, label in TABLE_LABELS if t in tables]

    @property
    def total_rows(self) -> int:
        return sum(self.manifest["tables"].values())

    def discard(self) -> None:
        """Remove the decrypted copy (the database and the files)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.lock is not None:
            self.lock.close()  # releases the flock
            self.lock = None


# --- The decrypted copies ------------------------------------------------------------


def _new_staging(where: Path) -> tuple[str, Path, BinaryIO]:
    """A private folder for one decrypted backup, locked by this process."""
    token = secrets.token_urlsafe(16)
    making = where / f"{_MAKING_PREFIX}{token}"
    os.mkdir(making, 0o700)
    lock = os.fdopen(os.open(making / LOCK_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
    path = where / f"{RESTORE_PREFIX}{token}"
    os.replace(making, path)  # only now may others see it: it is locked
    return token, path, lock


def _unowned(path: Path) -> bool:
    """True if no living process holds the staging folder's lock."""
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def remove_abandoned(settings: Settings) -> list[str]:
    """Remove the decrypted copies whose process is gone (a crash, a kill, a power cut);
    returns their names. Run at the server's start and before every restore."""
    where = state.folder(settings)
    removed = []
    for p in where.glob(".restor*"):
        if p.is_dir():
            if p.name.startswith((RESTORE_PREFIX, _MAKING_PREFIX)) and _unowned(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        elif p.name.startswith(RESTORE_PREFIX):  # `.restore-<token>.sqlite3` of an older version
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def _current_school(settings: Settings) -> dict | None:
    if not settings.db_path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT uid, name FROM school WHERE id = 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return {"uid": row[0], "name": row[1]} if row else None


def prepare_restore(settings: Settings, source: Path | BinaryIO, identities: list, source_name: str | None = None,
                    progress: Progress = no_progress, cancelled: Callable[[], bool] = NEVER) -> Prepared:
    """Decrypt into a private folder, check the hashes and the database; nothing live is touched."""
    where = state.folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    remove_abandoned(settings)
    token, folder, lock = _new_staging(where)
    try:
        if isinstance(source, (str, Path)):
            source_name = source_name or Path(source).name
            with archive.open_backup(Path(source)) as f:
                manifest = archive.read_backup(f, identities, folder / archive.DB_MEMBER, progress, "decrypt",
                                               cancelled, files_to=folder)
        else:
            manifest = archive.read_backup(source, identities, folder / archive.DB_MEMBER, progress, "decrypt",
                                           cancelled, files_to=folder)
        archive.check_extracted(folder / archive.DB_MEMBER, manifest)
    except BaseException as e:
        shutil.rmtree(folder, ignore_errors=True)
        lock.close()
        if isinstance(e, OSError):
            raise from_os_error(e, "расшифровке резервной копии") from None
        raise
    return Prepared(token, folder, manifest, source_name or "загруженный файл",
                    current_school=_current_school(settings), lock=lock)


def finish_prepared(prepared: Prepared) -> None:
    """Bring the decrypted database to this program's schema and start a new feed epoch in it."""
    try:
        migrate(prepared.db_path)
        conn = connect_sync(prepared.db_path)
        try:
            taken = prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M")
            conn.execute(
                "INSERT INTO feed_epoch(started_at, reason, source) VALUES (?, ?, ?)",
                (state.stamp(), f"восстановление из резервной копии от {taken}", prepared.source),
            )
            # The copy's sessions ended since (logout, new password, a student who left) must
            # not come back to life: after a restore everyone logs in again.
            conn.execute("DELETE FROM session")
            # One self-contained file to move into place.
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
    except (DatabaseError, sqlite3.Error) as e:
        raise BackupError(f"Не удалось подготовить базу из копии: {e}") from None


# --- The safety copy and the swap -----------------------------------------------------


def _raw_files_name(safety: str) -> str:
    return safety.removesuffix(".sqlite3") + "-files"


def safety_copy(settings: Settings) -> str | None:
    """A copy of the current database (and files) before they are replaced; returns its name.

    An encrypted backup when keys are set up and the database passes its checks. A
    damaged database (the usual reason to restore) or a server without keys gets a raw
    copy of its files instead, `zhurnal-…-prerestore.sqlite3`: the same data, as
    unprotected as the live file beside it; the school's files then stay beside it as
    `zhurnal-…-prerestore-files/` (moved there by the swap, not copied).
    """
    if not settings.db_path.exists():
        return None
    where = state.folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    if keys.is_set_up(settings.data_dir):
        try:
            return create.make(settings, keys.require_set_up(settings.data_dir), "safety", no_progress, NEVER)[0].name
        except BackupError as e:
            log.warning("Зашифрованная копия перед восстановлением не удалась (%s); делаю простую копию файла.", e)
    target = where / f"zhurnal-{clock.now():%Y%m%dT%H%M%SZ}-prerestore.sqlite3"
    try:
        for suffix in ("", "-wal"):
            src = settings.db_path.with_name(settings.db_path.name + suffix)
            if src.exists():
                dst = target.with_name(target.name + suffix)
                with open(src, "rb") as fi, open(dst, "xb") as fo:
                    shutil.copyfileobj(fi, fo, archive.COPY_CHUNK)
                    fo.flush()
                    os.fsync(fo.fileno())
        fsync_dir(where)
    except OSError as e:
        raise from_os_error(e, "копировании текущей базы перед восстановлением") from None
    return target.name


@dataclass
class FilesSwap:
    """The school's file folders exchanged for those of a backup; undo() puts them back."""

    data_dir: Path
    aside: Path
    put_aside: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)

    def undo(self) -> None:
        for top in self.installed:
            shutil.rmtree(self.data_dir / top, ignore_errors=True)
        for top in self.put_aside:
            os.replace(self.aside / top, self.data_dir / top)
        shutil.rmtree(self.aside, ignore_errors=True)
        fsync_dir(self.data_dir)

    def finish(self, safety: str | None) -> None:
        """After a good swap: the old files go, unless the safety copy is a raw one (the
        encrypted one holds them) — then they stay beside it."""
        if safety and safety.endswith(".sqlite3") and self.put_aside:
            os.replace(self.aside, self.aside.parent / _raw_files_name(safety))
            fsync_dir(self.aside.parent)
        else:
            shutil.rmtree(self.aside, ignore_errors=True)


def swap_files(settings: Settings, prepared: Prepared) -> FilesSwap | None:
    """Put the backup's file folders in the place of the current ones (renames in the data
    folder). A format-1 backup has none: the current files stay."""
    if not prepared.has_files:
        return None
    data, where = settings.data_dir, state.folder(settings)
    for old in where.glob(ASIDE_PREFIX + "*"):  # an interrupted restore's; the safety copy holds them
        shutil.rmtree(old, ignore_errors=True)
    swap = FilesSwap(data, where / f"{ASIDE_PREFIX}{prepared.token}")
    os.mkdir(swap.aside, 0o700)
    try:
        for top in archive.FILE_FOLDERS:
            if (data / top).exists():
                os.replace(data / top, swap.aside / top)
                swap.put_aside.append(top)
            if (prepared.folder / top).exists():
                os.replace(prepared.folder / top, data / top)
                swap.installed.append(top)
        fsync_dir(data)
        fsync_dir(swap.aside)
    except BaseException:
        swap.undo()
        raise
    return swap


def install_offline(settings: Settings, prepared: Prepared, user: str = "консоль") -> dict:
    """Restore at the console (the server is stopped): safety copy, swap, migrate."""
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if state.server_running(data):
        raise BackupError(SERVER_RUNS)
    lock = state.BackupLock(data)
    if not lock.acquire(blocking=False):
        raise BackupError("Сейчас выполняется другое резервное копирование или восстановление. Повторите позже.")
    try:
        finish_prepared(prepared)
        safety = safety_copy(settings)
        try:
            aside = swap_database_file(settings.db_path, prepared.db_path)
            files = None
            try:
                files = swap_files(settings, prepared)
                migrate(settings.db_path)
            except BaseException:
                if files is not None:
                    files.undo()
                undo_swap(settings.db_path, aside)
                raise
            drop_aside(aside)
            if files is not None:
                files.finish(safety)
        except OSError as e:
            raise from_os_error(e, "замене базы данных") from None
    finally:
        lock.release()
        prepared.discard()
    entry = restore_record(prepared, safety, user)
    state.record_restore(data, entry)
    return entry


async def install_running(db, settings: Settings, prepared: Prepared, by: str) -> dict:
    """Restore into the running server (`Database.replace_file`: writes pause, the safety
    copy and the swap of the files happen under its write lock); UserError and nothing
    changed on failure."""
    lock = state.BackupLock(settings.data_dir)
    # A nightly backup may be running: wait for it, in a thread (flock blocks).
    await anyio.to_thread.run_sync(lock.acquire)
    done: dict = {}
    try:
        await anyio.to_thread.run_sync(finish_prepared, prepared)

        async def before_swap() -> None:
            done["safety"] = await anyio.to_thread.run_sync(safety_copy, settings)
            done["files"] = await anyio.to_thread.run_sync(swap_files, settings, prepared)

        try:
            await db.replace_file(prepared.db_path, before_swap)
        except BaseException as e:
            if done.get("files") is not None:
                await anyio.to_thread.run_sync(done["files"].undo)
            if isinstance(e, OSError):
                raise from_os_error(e, "замене базы данных") from None
            raise
        if done["files"] is not None:
            await anyio.to_thread.run_sync(done["files"].finish, done["safety"])
    finally:
        lock.release()
    entry = restore_record(prepared, done.get("safety"), by)
    await anyio.to_thread.run_sync(state.record_restore, settings.data_dir, entry)
    return entry


def restore_record(prepared: Prepared, safety: str | None, user: str) -> dict:
    entry = {"file": prepared.source, "backup_created_at": prepared.manifest["created_at"],
             "school_name": prepared.manifest.get("school_name"), "safety_copy": safety, "by": user}
    if prepared.has_files:
        entry["files"] = prepared.files_count
    return entry


def trial_restore(settings: Settings, path: Path | None, identities: list,
                  progress: Progress = no_progress) -> Prepared:
    """A full restore (database and files) into a private folder with the recovery key,
    and nothing swapped; the result is remembered for the page and the home alert."""
    if path is None:
        entries = status.list_backups(state.folder(settings))
        if not entries:
            raise BackupError("Резервных копий ещё нет: проверять нечего.")
        path = entries[0].path
    try:
        prepared = prepare_restore(settings, Path(path), identities, progress=progress)
        try:
            finish_prepared(prepared)
        finally:
            prepared.discard()
    except BackupError as e:
        with state.update(settings.data_dir) as s:
            s["last_restore_test"] = {"at": state.stamp(), "file": Path(path).name, "ok": False, "reason": str(e)}
        raise
    with state.update(settings.data_dir) as s:
        s["last_restore_test"] = {"at": state.stamp(), "file": Path(path).name, "ok": True,
                                  "backup_created_at": prepared.manifest["created_at"],
                                  "rows": prepared.total_rows, "files": prepared.files_count}
    return prepared


# --- Waiting for the confirmation in the running server --------------------------------


@dataclass
class _Waiting:
    prepared: Prepared
    account_id: int
    expires: datetime


class PendingRestores:
    """The decrypted backups the running server shows for confirmation, one per preview.

    Each is removed when taken (confirmed or cancelled), when it expires — PENDING_TTL on
    the program's clock, looked at every SWEEP_SECONDS while any wait — and at close()
    (the server stops)."""

    def __init__(self, ttl: timedelta = PENDING_TTL):
        self.ttl = ttl
        self._waiting: dict[str, _Waiting] = {}
        self._sweeper: asyncio.Task | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    async def add(self, prepared: Prepared, account_id: int) -> None:
        await self.sweep()
        self._waiting[prepared.token] = _Waiting(prepared, account_id, clock.now() + self.ttl)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_while_waiting(), name="zhurnal-restore-expiry")

    async def take(self, token: str, account_id: int) -> Prepared:
        """The preview this person opened; BackupError if it expired or is not theirs."""
        await self.sweep()
        waiting = self._waiting.get(token)
        if waiting is None or waiting.account_id != account_id:
            raise BackupError("Подтверждение устарело или не найдено: начните восстановление заново.",
                              status_code=409)
        del self._waiting[token]
        return waiting.prepared

    async def sweep(self) -> None:
        now = clock.now()
        for token in [t for t, w in self._waiting.items() if w.expires <= now]:
            await anyio.to_thread.run_sync(self._waiting.pop(token).prepared.discard)

    async def _sweep_while_waiting(self) -> None:
        while self._waiting:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except OSError as e:  # pragma: no cover - a disk error; tried again next time
                log.warning("Расшифрованная копия не удалена: %s", e)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            try:
                await self._sweeper
            except (asyncio.CancelledError, Exception):
                pass
        waiting, self._waiting = self._waiting, {}
        for w in waiting.values():
            await anyio.to_thread.run_sync(w.prepared.discard)
