"""What the backups remember (`DATA/backups/state.json`), and the locks of the folder.

The list of backups with their checks, the last success and failure, the last restore
test and the restore history must survive a restore, so they live here and not in the
database (a restore would roll them back). The file is small, rewritten whole with
`server.fsutil.write_atomic` (temp file, fsync, rename, fsync of the folder: it holds the
audit chain's anchors, which must not vanish with a power cut) under an exclusive lock,
because the server and a `zhurnal backup …` command at the console may both write it.

The locks: `DATA/backups/.lock` — one backup or restore at a time, across the server and
the console; `.server.lock` — held while a server runs with this data folder.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from server import clock
from server.config import Settings
from server.fsutil import write_atomic

STATE_FILE = "state.json"
MAX_RESTORES = 100
LOCK_FILE = ".lock"
SERVER_LOCK_FILE = ".server.lock"


def backups_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "backups"


def folder(settings: Settings) -> Path:
    return backups_dir(settings.data_dir)


def empty() -> dict:
    return {"version": 1, "backups": {}, "last_success": None, "last_failure": None,
            "last_attempt": None, "last_verified": None, "last_restore_test": None,
            "last_usb": None, "restores": []}


def _path(data_dir: Path) -> Path:
    return backups_dir(data_dir) / STATE_FILE


def read(data_dir: Path) -> dict:
    """The state; an empty one if there is none yet or it cannot be read."""
    state = empty()
    try:
        loaded = json.loads(_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # A lost or damaged state file loses history only: the backups themselves
        # are the files in the folder, and they are listed from there.
        return state
    if isinstance(loaded, dict):
        state.update(loaded)
    return state


@contextmanager
def locked(path: Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive `flock` on `path` (created if missing); yields False if not blocking and busy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def update(data_dir: Path) -> Iterator[dict]:
    """Read, let the caller change, write back atomically; one writer at a time."""
    path = _path(data_dir)
    with locked(path.with_name(".state.lock")):
        state = read(data_dir)
        yield state
        write_atomic(path, json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True))


def stamp() -> str:
    """Now, as stored: UTC ISO 8601 with Z (what timeutil.parse_stored reads)."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def record_failure(data_dir: Path, reason: str, what: str = "backup") -> None:
    with update(data_dir) as s:
        s["last_failure"] = {"at": stamp(), "reason": reason, "what": what}
        if what == "backup":
            s["last_attempt"] = s["last_failure"]["at"]


def record_restore(data_dir: Path, entry: dict) -> None:
    with update(data_dir) as s:
        s["restores"] = ([{"at": stamp(), **entry}] + list(s.get("restores") or []))[:MAX_RESTORES]


class BackupLock:
    """One backup or restore at a time per data folder, across the server and the CLI."""

    def __init__(self, data_dir: Path, name: str = LOCK_FILE):
        self.path = backups_dir(data_dir) / name
        self._cm = None

    def acquire(self, blocking: bool = True) -> bool:
        cm = locked(self.path, blocking)
        if cm.__enter__():
            self._cm = cm
            return True
        cm.__exit__(None, None, None)
        return False

    def release(self) -> None:
        if self._cm is not None:
            cm, self._cm = self._cm, None
            cm.__exit__(None, None, None)

    def __enter__(self) -> "BackupLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def server_running(data_dir: Path) -> bool:
    """True while a `zhurnal serve` holds this data folder (its scheduler holds the lock)."""
    lock = BackupLock(data_dir, SERVER_LOCK_FILE)
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True
