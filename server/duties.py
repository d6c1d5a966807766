"""The server's background duties — the backup scheduler, the year roll, district sync, the
mDNS advertisement — in exactly one process of the school's server.

`zhurnal serve --workers N` runs N processes on the same data folder; each would otherwise
start its own nightly backup and its own sync round. The first to take an exclusive
`flock` on `DATA/duties.lock` runs them (and writes its pid into the file, for people and
tests); the others try again every TAKEOVER_SECONDS, so when that process dies — the kernel
drops its lock with it — another takes the duties over within seconds. A single process
(the default on one core, the tests' apps) simply takes the lock at start.

The lock is per open file, not per process: two apps in one process on the same folder
(tests) behave as two processes would.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os

from .config import Settings
from .db import Database
from .netinfo import Advertiser
from .school.store import school as load_school
from .years.tasks import YearRoll

log = logging.getLogger("zhurnal")
LOCK_FILE = "duties.lock"
TAKEOVER_SECONDS = 2.0


class Duties:
    def __init__(self, settings: Settings, db: Database, backups, uploader) -> None:
        self.settings = settings
        self.db = db
        self.backups = backups
        self.uploader = uploader
        self.year_roll = YearRoll(db)
        self.advertiser = Advertiser()
        self.running = False
        self._fd: int | None = None
        self._watcher: asyncio.Task | None = None

    def _take_lock(self) -> bool:
        fd = os.open(self.settings.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def begin(self) -> None:
        """Take the duties now if no other process has them; otherwise wait to take them over."""
        if self._take_lock():
            await self._start()
        else:
            self._watcher = asyncio.create_task(self._watch(), name="zhurnal-duties-takeover")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(TAKEOVER_SECONDS)
            if self._take_lock():
                log.info("Фоновые задачи (резервные копии, синхронизация) перешли к процессу %d", os.getpid())
                await self._start()
                return

    async def _start(self) -> None:
        self.running = True
        self.backups.start()
        # Years due to open, graduates' logins due to end (server/years/tasks.py).
        await self.year_roll.start()
        self.uploader.start()
        if self.settings.mdns:
            school = await self.db.read(load_school)
            await self.advertiser.start(self.settings, school["name"] if school else "Журнал")

    async def end(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            try:
                await self._watcher
            except (asyncio.CancelledError, Exception):
                pass
        if self.running:
            await self.backups.stop()
            await self.year_roll.stop()
            await self.uploader.stop()
            await self.advertiser.stop()
            self.running = False
        else:
            await self.backups.pending.close()  # restore previews this process showed
        if self._fd is not None:
            os.close(self._fd)  # the lock goes with it
            self._fd = None
