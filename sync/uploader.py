"""The server's background upload: a round every `sync_interval` minutes; while the district
is unreachable, retries from `sync_retry_seconds` doubling up to the interval, with jitter
(a region's schools coming back online together do not knock at the same second), so a
connection coming back is noticed within the current retry. The page's «Отправить сейчас»
wakes it at once. The round itself is blocking I/O and SQLite reads: it runs in a worker
thread with its own read-only connection, never on the event loop."""

from __future__ import annotations

import asyncio
import logging
import random

import anyio.to_thread

from server.config import Settings

from . import school

log = logging.getLogger("zhurnal.sync")


def next_delay(settings: Settings, failures: int, rng: random.Random | None = None) -> float:
    interval = max(settings.sync_interval, 1) * 60
    if failures <= 0:
        return interval
    base = min(interval, settings.sync_retry_seconds * 2 ** (failures - 1))
    return base * (rng or random).uniform(0.5, 1.0)


class Uploader:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.failures = 0
        self.running = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="district-sync")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _loop(self) -> None:
        delay = 10.0  # soon after start: the machine was off, the district may be waiting
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if not school.is_set_up(self.settings.data_dir):
                delay = self.settings.sync_interval * 60
                continue
            self.running = True
            try:
                await anyio.to_thread.run_sync(school.run_round, self.settings, abandon_on_cancel=True)
                self.failures = 0
            except school.SyncError as e:
                self.failures += 1
                log.warning("Синхронизация с районом: %s", e)
            except Exception:
                self.failures += 1
                log.exception("Синхронизация с районом: непредвиденная ошибка")
            finally:
                self.running = False
            delay = next_delay(self.settings, self.failures)
