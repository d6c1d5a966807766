"""The running server's part of the year lifecycle: `lifecycle.roll` at start and every
CHECK_SECONDS — a planned year opens on its day, graduates' and leavers' logins end after the
grace period the order set. Each run is one short write; nothing due, nothing written."""

from __future__ import annotations

import asyncio
import logging

from .. import clock
from ..db import Database
from . import lifecycle

log = logging.getLogger("zhurnal.years")
CHECK_SECONDS = 600


async def roll_once(db: Database) -> dict:
    return await db.write(lifecycle.roll, clock.today().isoformat())


class YearRoll:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        try:
            done = await roll_once(self.db)
            if done["opened"] or done["disabled"]:
                log.info("Смена учебного года: открыт %s, отключено входов: %d", done["opened"], done["disabled"])
        except Exception:  # a failed check must not stop the server; it is tried again later
            log.exception("Проверка смены учебного года не удалась")
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                await roll_once(self.db)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Проверка смены учебного года не удалась")

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
