"""Making a backup, and checking one: snapshot, pack, encrypt, verify, name, prune, USB.

Blocking functions (they read and write big files): the server calls them in a worker
thread, the CLI directly. Failures raise BackupError with a Russian message and leave
nothing behind that passes for a backup: a backup is written as a hidden `.tmp-…` file,
fsynced, verified with the server key and only then renamed; the folder listing shows
only the final names.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Callable

from server import clock
from server.config import Settings
from server.fsutil import fsync_dir

from . import archive, keys, retention, state, status, usb
from .archive import Progress, no_progress
from .errors import BackupError, Cancelled, from_os_error
from .status import Entry

log = logging.getLogger("zhurnal.backups")

# Hidden files of an unfinished backup or check: removed with the lock held (the next
# backup, or the server's start), never listed. The `.snap-` and `.verify-` ones are
# decrypted databases, mode 0600.
STALE_PREFIXES = (".tmp-", ".snap-", ".verify-")
NEVER = lambda: False  # noqa: E731


def remove_stale(where: Path) -> None:
    """Remove what an interrupted run left (called with the backup lock held)."""
    for p in where.glob(".*"):
        if p.name.startswith(STALE_PREFIXES):
            p.unlink(missing_ok=True)


def remove_stale_if_idle(settings: Settings) -> None:
    """At the server's start: what a crash left, unless a backup at the console is running."""
    lock = state.BackupLock(settings.data_dir)
    if lock.acquire(blocking=False):
        try:
            remove_stale(state.folder(settings))
        finally:
            lock.release()


def create_backup(settings: Settings, kind: str = "manual", progress: Progress = no_progress,
                  cancelled: Callable[[], bool] = NEVER, usb_copy: bool = True) -> Entry:
    """Make, check and keep one backup; prune old ones; copy to USB if one is configured."""
    recipients = keys.require_set_up(settings.data_dir)  # no failure recorded: nothing to fix but set-up
    try:
        with state.BackupLock(settings.data_dir):
            entry, periods = make(settings, recipients, kind, progress, cancelled)
            retention.prune(settings, state.folder(settings), periods, {entry.name})
    except Cancelled:
        raise
    except BackupError as e:
        state.record_failure(settings.data_dir, str(e))
        raise
    except OSError as e:
        err = from_os_error(e, "создании резервной копии")
        state.record_failure(settings.data_dir, str(err))
        raise err from None
    if usb_copy and usb.configured(settings):
        try:
            usb.copy_to_usb(settings, entry.name, progress, cancelled)
        except BackupError as e:
            log.warning("Копия на USB не сделана: %s", e)
    return entry


def _school_files_size(settings: Settings) -> int:
    return sum(size for _, _, size in archive.list_school_files(settings.data_dir))


def make(settings: Settings, recipients: list[str], kind: str, progress: Progress,
         cancelled: Callable[[], bool]) -> tuple[Entry, list]:
    """One backup (the lock held); returns it and the study periods of the database (for retention)."""
    where = state.folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    remove_stale(where)
    identity = keys.server_identity(settings.data_dir)
    if not settings.db_path.exists():
        raise BackupError(f"Базы данных {settings.db_path} нет: копировать нечего.")
    db_size = settings.db_path.stat().st_size
    wal = settings.db_path.with_name(settings.db_path.name + "-wal")
    db_size += wal.stat().st_size if wal.exists() else 0
    # At the peak the folder holds the archive (the database and the files, compressed a
    # little at best) and an unpacked copy of the database being verified.
    need = 2 * db_size + _school_files_size(settings) + 8 * 1024 * 1024
    free = status.free_bytes(where)
    if free < need:
        raise BackupError(f"Недостаточно места на диске для резервной копии: свободно {free // 1_000_000} МБ, "
                          f"нужно около {need // 1_000_000} МБ. Освободите место и повторите.")
    name = archive.new_name(where, clock.now(), "prerestore" if kind == "safety" else "")
    snap, tmp = where / f".snap-{name}.sqlite3", where / f".tmp-{name}"
    try:
        snapshot = archive.take_snapshot(settings.db_path, snap, progress, cancelled, files_from=settings.data_dir)
        level = archive.GZIP_LEVEL_FAST if kind == "safety" else archive.GZIP_LEVEL
        with open(tmp, "xb", buffering=archive.COPY_CHUNK) as f:
            archive.write_backup(f, recipients, snapshot.manifest, snap, progress, cancelled, level,
                                 files_root=settings.data_dir)
            f.flush()
            os.fsync(f.fileno())
        snap.unlink()
        # Checked before it gets its final name: a file that fails is never listed.
        verify_file(tmp, [identity], where, progress, cancelled)
        os.replace(tmp, where / name)
        fsync_dir(where)
    finally:
        snap.unlink(missing_ok=True)
        snap.with_name(snap.name + "-journal").unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    manifest = snapshot.manifest
    now = state.stamp()
    meta = {
        "created_at": manifest["created_at"], "kind": kind, "size": (where / name).stat().st_size,
        "keep": kind == "safety", "verified_at": now, "school_name": manifest["school_name"],
        "schema_version": manifest["schema_version"], "app_version": manifest["app_version"],
        "db_sha256": manifest["database"]["sha256"], "rows": sum(manifest["tables"].values()),
        "audit_head": manifest.get("audit_head"),
        "files": len(archive.files_of(manifest)), "files_size": archive.files_size(manifest),
    }
    with state.update(settings.data_dir) as s:
        s["backups"][name] = meta
        s["last_verified"] = {"at": now, "file": name}
        if kind != "safety":
            s["last_success"] = {"at": now, "file": name}
            s["last_attempt"] = now
            if s.get("last_failure") and not s["last_failure"].get("resolved_at"):
                s["last_failure"]["resolved_at"] = now
    return Entry(name, where / name, meta["size"], archive.parse_name(name)[0], dict(meta)), snapshot.periods


def verify_file(path: Path, identities: list, workdir: Path, progress: Progress = no_progress,
                cancelled: Callable[[], bool] = NEVER) -> tuple[dict, dict]:
    """Decrypt, compare the hashes of the database and every file with the manifest,
    integrity_check the database (unpacked into `workdir`, mode 0600, removed after)."""
    extract = workdir / f".verify-{secrets.token_hex(8)}.sqlite3"
    try:
        with archive.open_backup(path) as f:
            manifest = archive.read_backup(f, identities, extract, progress, "verify", cancelled)
        checked = archive.check_extracted(extract, manifest)
    finally:
        extract.unlink(missing_ok=True)
    return manifest, checked


def verify_backup(settings: Settings, path: Path, identities: list | None = None,
                  progress: Progress = no_progress) -> dict:
    """Full check of one backup file (by default with the server key); returns its manifest."""
    path = Path(path)
    identities = identities or [keys.server_identity(settings.data_dir)]
    where = state.folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    try:
        with state.BackupLock(settings.data_dir):  # a backup starting meanwhile would clean up our temp file
            manifest, _ = verify_file(path, identities, where, progress)
    except OSError as e:
        raise from_os_error(e, "проверке резервной копии") from None
    now = state.stamp()
    with state.update(settings.data_dir) as s:
        s["last_verified"] = {"at": now, "file": path.name}
        known = s["backups"].get(path.name)
        if known is not None and path.resolve().parent == where.resolve():
            known["verified_at"] = now
            known["files"] = len(archive.files_of(manifest))
            known["files_size"] = archive.files_size(manifest)
    return manifest
