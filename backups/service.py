"""Backups as the admin sees them: create, check, copy to USB, prune, test and restore.

Every function here is blocking (it reads and writes big files): the server calls them
in a worker thread, the CLI directly. Failures raise BackupError with a Russian message
and leave nothing behind that passes for a backup: a backup is written as a hidden
`.tmp-…` file, fsynced, verified with the server key and only then renamed; the folder
listing shows only the final names.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Callable

from server.config import Settings
from server.db import DatabaseError, connect_sync, drop_aside, migrate, swap_database_file, undo_swap
from server.timeutil import parse_stored

from . import archive, keys, retention, state, usb
from .archive import Progress, _no_progress
from .errors import BackupError, Cancelled, from_os_error

log = logging.getLogger("zhurnal.backups")

LOCK_FILE = ".lock"
SERVER_LOCK_FILE = ".server.lock"
STALE_PREFIXES = (".tmp-", ".snap-", ".verify-")
RESTORE_PREFIX = ".restore-"
# A pending restore (decrypted, waiting for the admin's confirmation) is dropped after this.
PENDING_TTL = timedelta(hours=2)
KIND_LABELS = {"nightly": "ночная", "manual": "вручную", "safety": "перед восстановлением", "": "—"}
# Table row counts the admin recognises, for the confirmation of a restore.
TABLE_LABELS = [
    ("person", "людей"), ("account", "учётных записей"), ("student", "учащихся"),
    ("class", "классов"), ("journal", "журналов"), ("lesson", "уроков"), ("grade", "отметок"),
]
NEVER = lambda: False  # noqa: E731


def folder(settings: Settings) -> Path:
    return state.backups_dir(settings.data_dir)


class BackupLock:
    """One backup or restore at a time per data folder, across the server and the CLI."""

    def __init__(self, data_dir: Path, name: str = LOCK_FILE):
        self.path = state.backups_dir(data_dir) / name
        self._cm = None

    def acquire(self, blocking: bool = True) -> bool:
        cm = state.locked(self.path, blocking)
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


# --- Listing -------------------------------------------------------------------------


@dataclass
class Entry:
    name: str
    path: Path
    size: int
    created_at: datetime  # UTC
    meta: dict = field(default_factory=dict)

    @property
    def local_time(self) -> datetime:
        return self.created_at.astimezone()

    @property
    def kind(self) -> str:
        return self.meta.get("kind", "safety" if "-prerestore" in self.name else "")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def verified_at(self) -> str | None:
        return self.meta.get("verified_at")

    @property
    def keep(self) -> bool:
        return bool(self.meta.get("keep"))

    @property
    def size_mb(self) -> str:
        return f"{self.size / 1_000_000:.1f}".replace(".", ",")


def list_backups(where: Path, st: dict | None = None) -> list[Entry]:
    """Backups in a folder, newest first: files with our final names only."""
    known = (st or {}).get("backups") or {}
    found = []
    try:
        names = os.listdir(where)
    except FileNotFoundError:
        return []
    for name in names:
        parsed = archive.parse_name(name)
        path = where / name
        if parsed is None or not path.is_file():
            continue
        found.append((parsed[0], parsed[2], Entry(name, path, path.stat().st_size, parsed[0], known.get(name, {}))))
    found.sort(key=lambda t: t[:2], reverse=True)
    return [t[2] for t in found]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (vfat on a USB stick) refuse to fsync a folder
    finally:
        os.close(fd)


def _cleanup(where: Path, prefixes=STALE_PREFIXES) -> None:
    """Remove what an interrupted run left (called with the backup lock held)."""
    for p in where.glob(".*"):
        if p.name.startswith(prefixes):
            p.unlink(missing_ok=True)


def cleanup_pending_restores(settings: Settings, older_than: timedelta = timedelta(0)) -> None:
    limit = time.time() - older_than.total_seconds()
    for p in folder(settings).glob(RESTORE_PREFIX + "*"):
        try:
            if p.stat().st_mtime <= limit:
                p.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


# --- Creating ------------------------------------------------------------------------


def create_backup(settings: Settings, kind: str = "manual", progress: Progress = _no_progress,
                  cancelled: Callable[[], bool] = NEVER, usb_copy: bool = True) -> Entry:
    """Make, check and keep one backup; prune old ones; copy to USB if one is configured."""
    recipients = keys.require_set_up(settings.data_dir)  # no failure recorded: nothing to fix but set-up
    try:
        with BackupLock(settings.data_dir):
            entry, periods = _create(settings, recipients, kind, progress, cancelled)
            _prune(settings, folder(settings), periods, {entry.name})
    except Cancelled:
        raise
    except BackupError as e:
        state.record_failure(settings.data_dir, str(e))
        raise
    except OSError as e:
        err = from_os_error(e, "создании резервной копии")
        state.record_failure(settings.data_dir, str(err))
        raise err from None
    if usb_copy and usb_configured(settings):
        try:
            copy_to_usb(settings, entry.name, progress, cancelled)
        except BackupError as e:
            log.warning("Копия на USB не сделана: %s", e)
    return entry


def _free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def _create(settings: Settings, recipients: list[str], kind: str, progress: Progress,
            cancelled: Callable[[], bool]) -> tuple[Entry, list]:
    """One backup; returns it and the study periods of the database (for retention)."""
    where = folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    _cleanup(where)
    identity = keys.server_identity(settings.data_dir)
    if not settings.db_path.exists():
        raise BackupError(f"Базы данных {settings.db_path} нет: копировать нечего.")
    db_size = settings.db_path.stat().st_size
    wal = settings.db_path.with_name(settings.db_path.name + "-wal")
    db_size += wal.stat().st_size if wal.exists() else 0
    # At the peak the folder holds the archive and an unpacked copy being verified.
    need = 2 * db_size + 8 * 1024 * 1024
    free = _free_bytes(where)
    if free < need:
        raise BackupError(f"Недостаточно места на диске для резервной копии: свободно {free // 1_000_000} МБ, "
                          f"нужно около {need // 1_000_000} МБ. Освободите место и повторите.")
    name = archive.new_name(where, datetime.now(timezone.utc), "prerestore" if kind == "safety" else "")
    snap, tmp = where / f".snap-{name}.sqlite3", where / f".tmp-{name}"
    try:
        snapshot = archive.take_snapshot(settings.db_path, snap, progress, cancelled)
        level = archive.GZIP_LEVEL_FAST if kind == "safety" else archive.GZIP_LEVEL
        with open(tmp, "xb", buffering=archive.COPY_CHUNK) as f:
            archive.write_backup(f, recipients, snapshot.manifest, snap, progress, cancelled, level)
            f.flush()
            os.fsync(f.fileno())
        snap.unlink()
        # Checked before it gets its final name: a file that fails is never listed.
        _verify_file(tmp, [identity], where, progress, cancelled)
        os.replace(tmp, where / name)
        _fsync_dir(where)
    finally:
        snap.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    manifest = snapshot.manifest
    now = state.stamp()
    meta = {
        "created_at": manifest["created_at"], "kind": kind, "size": (where / name).stat().st_size,
        "keep": kind == "safety", "verified_at": now, "school_name": manifest["school_name"],
        "schema_version": manifest["schema_version"], "app_version": manifest["app_version"],
        "db_sha256": manifest["database"]["sha256"], "rows": sum(manifest["tables"].values()),
        "audit_head": manifest.get("audit_head"),
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


def _prune(settings: Settings, where: Path, periods, extra_keep: set[str] = frozenset()) -> list[str]:
    """Delete backups the retention plan no longer needs; returns their names."""
    st = state.read(settings.data_dir)
    entries = list_backups(where, st)
    items = [retention.Item(e.name, e.local_time.replace(tzinfo=None), e.keep or e.name in extra_keep)
             for e in entries]
    keep = retention.to_keep(items, settings.backup_keep_daily, settings.backup_keep_weekly,
                             settings.backup_keep_monthly, periods)
    gone = [e.name for e in entries if e.name not in keep]
    for name in gone:
        (where / name).unlink(missing_ok=True)
    if gone:
        _fsync_dir(where)
        if where == folder(settings):
            with state.update(settings.data_dir) as s:
                for name in gone:
                    s["backups"].pop(name, None)
    return gone


# --- Checking ------------------------------------------------------------------------


def _open_backup_file(path: Path) -> BinaryIO:
    try:
        return open(path, "rb", buffering=archive.COPY_CHUNK)
    except FileNotFoundError:
        raise BackupError(f"Файл {path} не найден.") from None
    except IsADirectoryError:
        raise BackupError(f"{path} — это папка, а не файл резервной копии.") from None
    except OSError as e:
        raise from_os_error(e, "чтении файла резервной копии") from None


def _verify_file(path: Path, identities: list, workdir: Path, progress: Progress = _no_progress,
                 cancelled: Callable[[], bool] = NEVER) -> tuple[dict, dict]:
    """Decrypt, compare the hash with the manifest, integrity_check the result."""
    extract = workdir / f".verify-{secrets.token_hex(8)}.sqlite3"
    try:
        with _open_backup_file(path) as f:
            manifest = archive.read_backup(f, identities, extract, progress, "verify", cancelled)
        checked = archive.check_extracted(extract, manifest)
    finally:
        extract.unlink(missing_ok=True)
    return manifest, checked


def verify_backup(settings: Settings, path: Path, identities: list | None = None,
                  progress: Progress = _no_progress) -> dict:
    """Full check of one backup file (by default with the server key); returns its manifest."""
    path = Path(path)
    identities = identities or [keys.server_identity(settings.data_dir)]
    where = folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    try:
        with BackupLock(settings.data_dir):  # a backup starting meanwhile would clean up our temp file
            manifest, _ = _verify_file(path, identities, where, progress)
    except OSError as e:
        raise from_os_error(e, "проверке резервной копии") from None
    now = state.stamp()
    with state.update(settings.data_dir) as s:
        s["last_verified"] = {"at": now, "file": path.name}
        if path.name in s["backups"] and path.resolve().parent == where.resolve():
            s["backups"][path.name]["verified_at"] = now
    return manifest


# --- Restoring -----------------------------------------------------------------------


@dataclass
class Prepared:
    """A backup decrypted and checked into a temporary file, waiting for confirmation."""

    token: str
    db_path: Path
    manifest: dict
    source: str
    created: float = field(default_factory=time.time)
    current_school: dict | None = None

    @property
    def created_at(self) -> datetime:
        return parse_stored(self.manifest["created_at"])

    @property
    def school_name(self) -> str:
        return self.manifest.get("school_name") or "—"

    @property
    def other_school(self) -> bool:
        """The backup is of another school than the database it would replace."""
        cur = self.current_school
        return bool(cur and self.manifest.get("school_uid") and cur["uid"] != self.manifest["school_uid"])

    @property
    def counts(self) -> list[tuple[str, int]]:
        tables = self.manifest["tables"]
        return [(label, tables[t]) for t, label in TABLE_LABELS if t in tables]

    @property
    def total_rows(self) -> int:
        return sum(self.manifest["tables"].values())

    def discard(self) -> None:
        self.db_path.unlink(missing_ok=True)
        self.db_path.with_name(self.db_path.name + "-journal").unlink(missing_ok=True)


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
                    progress: Progress = _no_progress, cancelled: Callable[[], bool] = NEVER) -> Prepared:
    """Decrypt into a temporary file, check hash and database; the live database is not touched."""
    where = folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    cleanup_pending_restores(settings, PENDING_TTL)
    token = secrets.token_urlsafe(16)
    dest = where / f"{RESTORE_PREFIX}{token}.sqlite3"
    try:
        if isinstance(source, (str, Path)):
            source_name = source_name or Path(source).name
            with _open_backup_file(Path(source)) as f:
                manifest = archive.read_backup(f, identities, dest, progress, "decrypt", cancelled)
        else:
            manifest = archive.read_backup(source, identities, dest, progress, "decrypt", cancelled)
        archive.check_extracted(dest, manifest)
    except BaseException as e:
        dest.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise from_os_error(e, "расшифровке резервной копии") from None
        raise
    return Prepared(token, dest, manifest, source_name or "загруженный файл",
                    current_school=_current_school(settings))


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


def safety_copy(settings: Settings) -> str | None:
    """A copy of the current database before it is replaced; returns its file name.

    An encrypted backup when keys are set up and the database passes its checks. A
    damaged database (the usual reason to restore) or a server without keys gets a raw
    copy of its files instead: the same data, as unprotected as the live file beside it.
    """
    if not settings.db_path.exists():
        return None
    where = folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    if keys.is_set_up(settings.data_dir):
        try:
            return _create(settings, keys.require_set_up(settings.data_dir), "safety", _no_progress, NEVER)[0].name
        except BackupError as e:
            log.warning("Зашифрованная копия перед восстановлением не удалась (%s); делаю простую копию файла.", e)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = where / f"zhurnal-{stamp}-prerestore.sqlite3"
    try:
        for suffix in ("", "-wal"):
            src = settings.db_path.with_name(settings.db_path.name + suffix)
            if src.exists():
                dst = target.with_name(target.name + suffix)
                with open(src, "rb") as fi, open(dst, "xb") as fo:
                    shutil.copyfileobj(fi, fo, archive.COPY_CHUNK)
                    fo.flush()
                    os.fsync(fo.fileno())
        _fsync_dir(where)
    except OSError as e:
        raise from_os_error(e, "копировании текущей базы перед восстановлением") from None
    return target.name


def install_offline(settings: Settings, prepared: Prepared, user: str = "консоль") -> dict:
    """Restore at the console (the server is stopped): safety copy, swap, migrate."""
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if server_running(data):
        raise BackupError("Сервер Журнала запущен с этой папкой данных. Остановите его "
                          "(sudo systemctl stop zhurnal) или восстановите копию на странице «Резервные копии».")
    lock = BackupLock(data)
    if not lock.acquire(blocking=False):
        raise BackupError("Сейчас выполняется другое резервное копирование или восстановление. Повторите позже.")
    try:
        finish_prepared(prepared)
        safety = safety_copy(settings)
        try:
            aside = swap_database_file(settings.db_path, prepared.db_path)
            try:
                migrate(settings.db_path)
            except BaseException:
                undo_swap(settings.db_path, aside)
                raise
            drop_aside(aside)
        except OSError as e:
            raise from_os_error(e, "замене базы данных") from None
        except DatabaseError as e:
            raise BackupError(str(e)) from None
    finally:
        lock.release()
        prepared.discard()
    entry = restore_record(prepared, safety, user)
    state.record_restore(data, entry)
    return entry


def restore_record(prepared: Prepared, safety: str | None, user: str) -> dict:
    return {"file": prepared.source, "backup_created_at": prepared.manifest["created_at"],
            "school_name": prepared.manifest.get("school_name"), "safety_copy": safety, "by": user}


def test_restore(settings: Settings, path: Path | None, identities: list,
                 progress: Progress = _no_progress) -> Prepared:
    """A full restore into a temporary file with the recovery key, and nothing swapped."""
    if path is None:
        entries = list_backups(folder(settings))
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
                                  "rows": prepared.total_rows}
    return prepared


# --- USB -----------------------------------------------------------------------------


# The desktop mounts a stick for the person logged in at the screen (/media/USER/LABEL,
# writable by that person only); the service runs as the system user `zhurnal`.
USB_NO_PERMISSION = (
    "Нет права записи на USB-накопитель ({target}): его подключил рабочий стол для своего "
    "пользователя, а Журнал работает от имени «{user}». Подключайте накопитель для копий так, "
    "как описано в README, раздел «USB-накопитель для копий» (одна строка в /etc/fstab), "
    "или укажите в zhurnal.toml папку backup_usb_dir, куда у «{user}» есть право записи.")


def _service_user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return "zhurnal"


def usb_configured(settings: Settings) -> bool:
    return bool(settings.backup_usb_dir or settings.backup_usb_label)


def usb_target(settings: Settings) -> Path:
    """The folder on the USB drive; BackupError in Russian if not configured or not plugged in."""
    if settings.backup_usb_dir:
        target = Path(settings.backup_usb_dir)
        if not target.is_dir():
            raise BackupError(f"Папка для копий {target} недоступна: вставьте USB-накопитель.")
        return target
    if settings.backup_usb_label:
        mount = usb.find_labeled_volume(settings.backup_usb_label)
        if mount is None:
            raise BackupError(f"USB-накопитель с меткой «{settings.backup_usb_label}» не подключён.")
        return mount / usb.SUBFOLDER
    raise BackupError("Копирование на USB не настроено: укажите backup_usb_label (метку накопителя) "
                      "или backup_usb_dir (папку) в файле настроек zhurnal.toml.")


def copy_to_usb(settings: Settings, name: str | None = None, progress: Progress = _no_progress,
                cancelled: Callable[[], bool] = NEVER) -> Path:
    """Copy one backup (the newest by default) to the USB drive: temp name, fsync, verify, rename."""
    target_desc = settings.backup_usb_dir or f"метка {settings.backup_usb_label}"
    try:
        target = usb_target(settings)
        entries = list_backups(folder(settings))
        chosen = next((e for e in entries if name is None or e.name == name), None)
        if chosen is None:
            raise BackupError("Резервных копий ещё нет: копировать на USB нечего." if name is None
                              else f"Резервной копии {name} нет.")
        dest = _copy_verified(settings, chosen, target, progress, cancelled)
    except BackupError as e:
        with state.update(settings.data_dir) as s:
            s["last_usb"] = {"at": state.stamp(), "ok": False, "target": target_desc, "reason": str(e)}
        raise
    with state.update(settings.data_dir) as s:
        s["last_usb"] = {"at": state.stamp(), "ok": True, "target": str(target), "file": chosen.name}
    return dest


def _copy_verified(settings: Settings, entry: Entry, target: Path, progress: Progress,
                   cancelled: Callable[[], bool]) -> Path:
    identity = keys.server_identity(settings.data_dir)
    tmp, final = target / f".tmp-{entry.name}", target / entry.name
    try:
        target.mkdir(parents=True, exist_ok=True)
        with _open_backup_file(entry.path) as src, open(tmp, "wb") as dst:
            done = 0
            while data := src.read(archive.COPY_CHUNK):
                if cancelled():
                    raise Cancelled()
                dst.write(data)
                done += len(data)
                progress("copy", done, entry.size)
            dst.flush()
            os.fsync(dst.fileno())
            # Read the copy back from the drive, not from the page cache.
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(dst.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        with open(tmp, "rb", buffering=archive.COPY_CHUNK) as f:
            manifest = archive.read_backup(f, [identity], None, progress, "verify", cancelled)
        known = entry.meta.get("db_sha256")
        if known and manifest["database"]["sha256"] != known:
            raise BackupError("Копия на USB-накопителе не совпадает с исходной.")
        os.replace(tmp, final)
        _fsync_dir(target)
    except PermissionError as e:
        raise BackupError(USB_NO_PERMISSION.format(target=target, user=_service_user())) from e
    except OSError as e:
        raise from_os_error(e, "копировании на USB-накопитель (не извлечён ли он?)") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the drive is gone; the hidden temp name does not pass for a backup
    try:
        _prune(settings, target, (), {entry.name} | _kept_names(settings))
    except OSError as e:
        log.warning("Старые копии на USB не удалены: %s", e)
    return final


def _kept_names(settings: Settings) -> set[str]:
    return {n for n, m in state.read(settings.data_dir)["backups"].items() if m.get("keep")}


# --- Marks and status --------------------------------------------------------------


def set_keep(settings: Settings, name: str, keep: bool) -> None:
    # The name is checked first: an over-long one would make is_file() raise (ENAMETOOLONG).
    if archive.parse_name(name) is None or not (folder(settings) / name).is_file():
        raise BackupError(f"Резервной копии {name[:80]} нет.")
    with state.update(settings.data_dir) as s:
        s["backups"].setdefault(name, {})["keep"] = keep


def free_mb(settings: Settings) -> int:
    where = folder(settings)
    probe = where if where.exists() else settings.data_dir if settings.data_dir.exists() else Path(".")
    return _free_bytes(probe) // 1_000_000


def _age(at: str | None) -> timedelta | None:
    if not at:
        return None
    try:
        return datetime.now(timezone.utc) - parse_stored(at)
    except ValueError:
        return None


def problems(settings: Settings, st: dict | None = None) -> list[str]:
    """What the director and deputy must know about backups (Russian), [] when all is well."""
    st = st if st is not None else state.read(settings.data_dir)
    if not keys.is_set_up(settings.data_dir):
        return ["Резервное копирование не настроено: администратор АСУ должен выполнить настройку."]
    found = []
    success, failure = st.get("last_success"), st.get("last_failure")
    if failure and failure.get("what", "backup") == "backup" and not failure.get("resolved_at"):
        when = parse_stored(failure["at"]).astimezone().strftime("%d.%m.%Y %H:%M")
        found.append(f"Резервная копия не создана ({when}): {failure['reason']}")
    age_ = _age(success["at"]) if success else None
    if success is None:
        found.append("Ещё нет ни одной резервной копии.")
    elif age_ is not None and age_ > timedelta(hours=36):
        found.append(f"Последняя резервная копия сделана {age_.days or 1} сут. назад.")
    test = st.get("last_restore_test")
    if test and not test.get("ok"):
        found.append(f"Проверка восстановления не прошла: {test.get('reason')}")
    if free_mb(settings) < settings.backup_min_free_mb:
        found.append(f"Мало места на диске для резервных копий: свободно {free_mb(settings)} МБ.")
    return found
