"""`zhurnal serve --workers N`: one process per core on the same SQLite database.

One Python process uses one core (the server showed ~105 % CPU under load); a Raspberry Pi
has four. uvicorn's supervisor binds the port once and starts N worker processes that
accept on it; it restarts a worker that dies and stops them all on SIGTERM (exit 0). Each
worker is the whole app on its own connections: WAL readers run in parallel, writes are
serialised by SQLite across processes (busy_timeout) while group commit still batches
inside each. Nothing a request needs lives in one process's memory — sessions with their
CSRF token and last request (the kiosk's idle logout), failed-login throttling, login
records: all in the database — so any worker answers any request. Background duties run in
one of them (server/duties.py).

The workers get the settings the command resolved (file, environment, flags) as JSON in
ZHURNAL_WORKER_SETTINGS: the command's flags reach them too.

Default number (`workers = 0`): the cores this process may run on, at most one per
MEMORY_PER_WORKER_MB of available memory, at least one.

Not with HTTPS yet: `zhurnal tls setup` serves HTTPS and plain HTTP from one process
(server/appliance/tls.py), so with TLS the server stays at one worker and says so.
Restoring a backup from the web page replaces the database under the running process;
with several workers the others would keep the old file open, so the web restore is
refused there and done at the console (`zhurnal backup restore` with the server stopped).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from .config import Settings

ENV = "ZHURNAL_WORKER_SETTINGS"
MEMORY_PER_WORKER_MB = 150  # a worker's peak (~85 MB) with room for the rest of the board
WORKER_HEADER = b"x-zhurnal-worker"
DUTIES_HEADER = b"x-zhurnal-duties"  # 1 from the worker that runs the background duties


def available_memory_mb(meminfo: str = "/proc/meminfo") -> int | None:
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_workers(cores: int | None = None, memory_mb: int | None = None) -> int:
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))  # what `taskset` leaves us
        except AttributeError:
            cores = os.cpu_count() or 1
    if memory_mb is None:
        memory_mb = available_memory_mb()
    by_memory = cores if memory_mb is None else memory_mb // MEMORY_PER_WORKER_MB
    return max(1, min(cores, by_memory))


def resolved(settings: Settings) -> int:
    return settings.workers if settings.workers > 0 else default_workers()


def to_env(settings: Settings) -> str:
    return json.dumps({f.name: str(v) if isinstance(v := getattr(settings, f.name), Path) else v
                       for f in dataclasses.fields(settings)})


def from_env() -> Settings:
    values = json.loads(os.environ[ENV])
    values["data_dir"] = Path(values["data_dir"])
    return Settings(**values)


def app():
    """The app of one worker (uvicorn's factory, in each spawned process)."""
    from .app import create_app

    inner = create_app(from_env(), warm=True, worker=True)
    # Which process answered and whether it runs the duties: for the tests and for reading a
    # load test; a pid says nothing about the school.
    mark = (WORKER_HEADER, str(os.getpid()).encode())

    async def marked(scope, receive, send):
        if scope["type"] != "http":
            return await inner(scope, receive, send)

        async def send_marked(message):
            if message["type"] == "http.response.start":
                duties = inner.state.get("duties")
                message["headers"] = [*message.get("headers", ()), mark,
                                      (DUTIES_HEADER, b"1" if duties is not None and duties.running else b"0")]
            await send(message)

        return await inner(scope, receive, send_marked)

    marked.state = inner.state  # type: ignore[attr-defined]
    return marked
