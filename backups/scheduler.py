"""The backups' part of the running server: the nightly backup with catch-up, and the
restores waiting for confirmation (restore.PendingRestores), both ended with the server.

Every night at `backup_time`, and whenever the newest backup is older than the last
scheduled time (the machine was off at 02:00) or older than 24 h: a backup runs as
soon as the server notices, at start and then every `backup_check_seconds`. A failed
attempt is retried after `backup_retry_minutes`. The heavy work runs in a worker
thread so that pages stay responsive. At start, what a crash left is removed: hidden
files of an unfinished backup and decrypted copies of an unfinished restore.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, time, timedelta

import anyio.to_thread

from server import clock
from server.config import Settings
from server.timeutil import parse_stored

from . import create, keys, restore, state
from .errors import BackupError, Cancelled
from .status import Entry

log = logging.getLogger("zhurnal.backups")

DEFAULT_TIME = time(2, 0)
# How long shutdown waits for a running backup to notice the stop and clean up.
STOP_TIMEOUT_S = 30


def parse_time(text: str) -> time:
    """`HH:MM` from the settings; a wrong value falls back to 02:00 (and is logged)."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        log.error("Настройка backup_time «%s» не в формате ЧЧ:ММ; копии делаются в 02:00.", text)
        return DEFAULT_TIME


def last_slot(now: datetime, at: time) -> datetime:
    """The most recent scheduled moment at or before `now`."""
    slot = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return slot if slot <= now else slot - timedelta(days=1)


def backup_due(now: datetime, last_success: datetime | None, last_failure: datetime | None,
               at: time, retry: timedelta) -> bool:
    """Whether a backup should start now (all datetimes timezone-aware)."""
    if last_failure and (last_success is None or last_failure > last_success) and now - last_failure < retry:
        return False
    if last_success is None or now - last_success >= timedelta(hours=24):
        return True
    return last_success < last_slot(now, at)


def seconds_to_next_check(now: datetime, at: time, check_seconds: int) -> float:
    """Sleep until the next check or the next scheduled moment, whichever comes first."""
    until_slot = (last_slot(now, at) + timedelta(days=1) - now).total_seconds()
    return max(1.0, min(float(check_seconds), until_slot + 1))


def _stored(entry: dict | None, key: str = "at") -> datetime | None:
    try:
        return parse_stored(entry[key]) if entry and entry.get(key) else None
    except ValueError:
        return None


def due_now(settings: Settings, now: datetime | None = None) -> bool:
    if not keys.is_set_up(settings.data_dir) or not settings.db_path.exists():
        return False
    st = state.read(settings.data_dir)
    failure = st.get("last_failure")
    unresolved = failure and failure.get("what", "backup") == "backup" and not failure.get("resolved_at")
    failed_at = _stored(failure) if unresolved else None
    return backup_due(now or clock.local_now(), _stored(st.get("last_success")), failed_at,
                      parse_time(settings.backup_time), timedelta(minutes=settings.backup_retry_minutes))


class BackupScheduler:
    """Started from the app's lifespan; `stop()` interrupts a running backup cleanly."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._stop = threading.Event()  # seen by the worker thread between chunks
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._server_lock = state.BackupLock(settings.data_dir, state.SERVER_LOCK_FILE)
        self.running = False
        self.pending = restore.PendingRestores()

    def start(self) -> None:
        # Held while the server runs: `zhurnal backup restore` at the console refuses then.
        if not self._server_lock.acquire(blocking=False):
            log.warning("Папку данных %s уже обслуживает другой сервер Журнала.", self.settings.data_dir)
        if state.folder(self.settings).is_dir():
            restore.remove_abandoned(self.settings)
            create.remove_stale_if_idle(self.settings)
        if self.settings.backup_auto:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="zhurnal-backups")

    async def stop(self) -> None:
        # Not task.cancel() first: cancelling the await of a worker thread does not stop
        # the thread, and the process would exit under it mid-write. The thread sees
        # `_stop` within one chunk, removes its temp files and returns.
        self._stop.set()
        await self.pending.close()
        if self._task is not None:
            self._wake.set()
            done, _ = await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_S)
            if not done:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    pass
        self._server_lock.release()

    async def _run(self) -> None:
        at = parse_time(self.settings.backup_time)
        while not self._stop.is_set():
            try:
                if due_now(self.settings):
                    await self.run_backup("nightly")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Ошибка планировщика резервных копий")
            now = clock.local_now()
            try:
                await asyncio.wait_for(self._wake.wait(),
                                       seconds_to_next_check(now, at, self.settings.backup_check_seconds))
            except asyncio.TimeoutError:
                pass

    async def run_backup(self, kind: str) -> Entry | None:
        """One backup in a worker thread; failures are recorded in the state and logged."""
        self.running = True
        try:
            entry = await anyio.to_thread.run_sync(
                lambda: create.create_backup(self.settings, kind, cancelled=self._stop.is_set))
            log.info("Резервная копия создана: %s", entry.name)
            return entry
        except Cancelled:
            return None
        except BackupError as e:
            log.error("Резервная копия не создана: %s", e)
            return None
        finally:
            self.running = False
