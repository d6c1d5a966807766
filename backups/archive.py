"""The backup file: age( gzip( tar[ manifest.json, zhurnal.sqlite3 ] ) ).

Nothing of our own in the format: `age -d -i KEY FILE | tar xz` opens it on any Linux
machine. The manifest comes first so that a reader knows what it holds (and refuses a
backup from a newer version) before it extracts the database. Everything streams, one
64 KiB chunk at a time: memory stays flat whatever the size of the database.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import sqlite3
import tarfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from server import __version__
from server.db import latest_version, schema_version

from . import age
from .errors import BackupError, Cancelled, from_age

FORMAT = "zhurnal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = "zhurnal.sqlite3"
SUFFIX = ".tar.gz.age"
NAME_RE = re.compile(r"^zhurnal-(\d{8}T\d{6}Z)(?:-([a-z]+))?(?:-(\d+))?\.tar\.gz\.age$")
MAX_MANIFEST = 1024 * 1024
COPY_CHUNK = 1024 * 1024
# Pages per step of the online backup: small steps keep the progress bar moving.
SNAPSHOT_PAGES = 2048
# gzip level 6 (gzip's own default) for the nightly copies that are kept for months;
# level 1 (twice as fast, ~10 % bigger) for the safety copy taken while writes are paused
# for a restore. Figures: bench/run.py backup.
GZIP_LEVEL = 6
GZIP_LEVEL_FAST = 1

NOT_A_BACKUP = "Файл не является резервной копией Журнала или повреждён."

# (stage, done, total): stages are snapshot, check, write, verify, decrypt, copy.
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Snapshot:
    path: Path
    manifest: dict
    periods: list[tuple[date, date]]


# --- Names --------------------------------------------------------------------------


def parse_name(name: str) -> tuple[datetime, str, int] | None:
    """(created at, UTC aware; kind suffix or ''; number within the second) of a backup
    file name, None if the name is not one of ours."""
    m = NAME_RE.match(name)
    if not m:
        return None
    when = datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return when, m.group(2) or "", int(m.group(3) or 1)


def new_name(folder: Path, when: datetime, suffix: str = "") -> str:
    """A fresh name; the UTC time sorts and never repeats an hour when clocks change."""
    base = f"zhurnal-{when.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}" + (f"-{suffix}" if suffix else "")
    name, n = base + SUFFIX, 2
    while (folder / name).exists() or (folder / f".tmp-{name}").exists():
        name, n = f"{base}-{n}{SUFFIX}", n + 1
    return name


# --- Checking a database -------------------------------------------------------------


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def check_database(conn: sqlite3.Connection) -> dict:
    """integrity_check and foreign_key_check; returns schema version, school and row counts."""
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError("База данных повреждена (integrity_check: " + "; ".join(problems[:3]) + ").")
        violations = conn.execute("PRAGMA foreign_key_check").fetchall()
        if violations:
            tables = sorted({r[0] for r in violations})
            raise BackupError(f"В базе данных нарушены связи между таблицами ({len(violations)} строк; "
                              f"таблицы: {', '.join(tables[:5])}).")
        school = None
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='school'").fetchone():
            row = conn.execute("SELECT uid, name FROM school WHERE id = 1").fetchone()
            school = {"uid": row[0], "name": row[1]} if row else None
        return {
            "schema_version": schema_version(conn),
            "school": school,
            "tables": {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(conn)},
        }
    except sqlite3.DatabaseError as e:
        raise BackupError(f"База данных повреждена или это не база Журнала ({e}).") from None


def audit_head(conn: sqlite3.Connection) -> dict | None:
    """The last entry of the journal's audit log: {"id", "hash"}, or None."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='audit_log'").fetchone():
        return None
    row = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return {"id": row[0], "hash": row[1]} if row else None


def study_periods(conn: sqlite3.Connection) -> list[tuple[date, date]]:
    """The study periods (quarters, halves, years) for retention: one backup of each is kept."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='study_period'").fetchone():
        return []
    found = []
    for start, end in conn.execute("SELECT starts_on, ends_on FROM study_period"):
        try:
            found.append((date.fromisoformat(start), date.fromisoformat(end)))
        except (TypeError, ValueError):
            continue
    return found


def sha256_file(path: Path, progress: Progress = _no_progress, stage: str = "check") -> str:
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as f:
        while data := f.read(COPY_CHUNK):
            h.update(data)
            done += len(data)
            progress(stage, done, total)
    return h.hexdigest()


# --- Snapshot ------------------------------------------------------------------------


def take_snapshot(db_path: Path, dest: Path, progress: Progress = _no_progress,
                  cancelled: Callable[[], bool] = lambda: False) -> Snapshot:
    """Copy the live database to `dest` with SQLite's online backup, then check the copy.

    The source connection holds one read transaction for the whole copy: with WAL the
    server's writers never wait for it, and the copy is the database as of that moment
    (without it, every write by the server would restart the backup from page one).
    """
    if not db_path.exists():
        raise BackupError(f"Базы данных {db_path} нет: копировать нечего.")
    src = sqlite3.connect(str(db_path), isolation_level=None, timeout=30)
    dst = sqlite3.connect(str(dest), isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot starts here
        created = datetime.now(timezone.utc)

        def step(status: int, remaining: int, total: int) -> None:
            if cancelled():
                raise Cancelled()
            progress("snapshot", total - remaining, total)

        src.backup(dst, pages=SNAPSHOT_PAGES, progress=step)
        src.execute("COMMIT")
        # One self-contained file: no -wal beside it inside the archive.
        dst.execute("PRAGMA journal_mode=DELETE")
        checked = check_database(dst)
        periods = study_periods(dst)
        head = audit_head(dst)
    except sqlite3.DatabaseError as e:
        raise BackupError(f"Не удалось снять копию базы данных ({e}).") from None
    finally:
        dst.close()
        src.close()
    digest = sha256_file(dest, progress)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "schema_version": checked["schema_version"],
        "school_uid": checked["school"]["uid"] if checked["school"] else None,
        "school_name": checked["school"]["name"] if checked["school"] else None,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": {"file": DB_MEMBER, "size": dest.stat().st_size, "sha256": digest},
        "tables": checked["tables"],
        # The journal's audit chain as far as this copy goes: `zhurnal audit verify` finds its
        # last entries cut off (with the data they describe) by comparing with this.
        "audit_head": head,
    }
    return Snapshot(dest, manifest, periods)


# --- Writing -------------------------------------------------------------------------


class _ProgressReader(io.RawIOBase):
    """Reads a file for tarfile, reporting progress and honouring cancellation."""

    def __init__(self, f: BinaryIO, total: int, progress: Progress, stage: str, cancelled: Callable[[], bool]):
        self._f, self._total, self._progress, self._stage, self._cancelled = f, total, progress, stage, cancelled
        self._done = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._cancelled():
            raise Cancelled()
        data = self._f.read(n)
        self._done += len(data)
        self._progress(self._stage, self._done, self._total)
        return data


def write_tar(out: BinaryIO, manifest: dict, db_path: Path, progress: Progress = _no_progress,
              cancelled: Callable[[], bool] = lambda: False, level: int = GZIP_LEVEL) -> None:
    """The compressed tar (manifest.json, then the database) into the file object `out`."""
    mtime = int(datetime.now(timezone.utc).timestamp())
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=mtime, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), mtime, 0o600
            tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(DB_MEMBER)
            info.size, info.mtime, info.mode = db_path.stat().st_size, mtime, 0o600
            with open(db_path, "rb") as f:
                tar.addfile(info, _ProgressReader(f, info.size, progress, "write", cancelled))


def write_backup(out: BinaryIO, recipients: Iterable[str], manifest: dict, db_path: Path,
                 progress: Progress = _no_progress, cancelled: Callable[[], bool] = lambda: False,
                 level: int = GZIP_LEVEL) -> None:
    """Encrypt the archive to every recipient; on any error the age stream stays unfinished."""
    with age.AgeWriter(out, list(recipients)) as enc:
        write_tar(enc, manifest, db_path, progress, cancelled, level)


# --- Reading -------------------------------------------------------------------------


def _parse_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(NOT_A_BACKUP) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(NOT_A_BACKUP)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(f"Резервная копия сделана более новой версией Журнала (формат копии {version}). "
                          "Установите новую версию программы. База не изменена.")
    db = manifest.get("database")
    if (not isinstance(db, dict) or not isinstance(db.get("sha256"), str) or not isinstance(db.get("size"), int)
            or not isinstance(manifest.get("schema_version"), int) or not isinstance(manifest.get("tables"), dict)):
        raise BackupError(NOT_A_BACKUP)
    return manifest


def refuse_newer_schema(found: int) -> None:
    known = latest_version()
    if found > known:
        raise BackupError(
            f"Резервная копия создана более новой версией Журнала (версия схемы {found}, эта программа "
            f"знает только до {known}). Установите новую версию программы. База не изменена."
        )


def read_backup(src: BinaryIO, identities: list, extract_to: Path | None = None,
                progress: Progress = _no_progress, stage: str = "decrypt",
                cancelled: Callable[[], bool] = lambda: False) -> dict:
    """Decrypt and unpack; returns the manifest once the database matched its hash.

    With `extract_to` the database is written there (a new file, removed again on any
    error); without it the database is only hashed. Every byte up to the end of the age
    file is authenticated, so a truncated or altered file is refused even after the tar.
    """
    try:
        manifest, digest = _read(src, identities, extract_to, progress, stage, cancelled)
        if digest != manifest["database"]["sha256"]:
            raise BackupError("Контрольная сумма базы не совпадает с описанием копии: файл повреждён.")
    except BaseException:
        if extract_to is not None:
            extract_to.unlink(missing_ok=True)
        raise
    return manifest


def _read(src, identities, extract_to, progress, stage, cancelled) -> tuple[dict, str]:
    try:
        reader = age.AgeReader(src, identities)
        gz = gzip.GzipFile(fileobj=reader, mode="rb")
        tar = tarfile.open(fileobj=gz, mode="r|")
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile() or first.size > MAX_MANIFEST:
            raise BackupError(NOT_A_BACKUP)
        manifest = _parse_manifest(tar.extractfile(first).read())
        refuse_newer_schema(manifest["schema_version"])
        member = tar.next()
        if member is None or member.name != DB_MEMBER or not member.isfile():
            raise BackupError(NOT_A_BACKUP)
        if member.size != manifest["database"]["size"]:
            raise BackupError("Размер базы в копии не совпадает с её описанием: файл повреждён.")
        h = hashlib.sha256()
        body = tar.extractfile(member)
        out = open(extract_to, "xb") if extract_to is not None else None
        try:
            done = 0
            while data := body.read(COPY_CHUNK):
                if cancelled():
                    raise Cancelled()
                h.update(data)
                if out is not None:
                    out.write(data)
                done += len(data)
                progress(stage, done, member.size)
            if tar.next() is not None:
                raise BackupError(NOT_A_BACKUP)
            while gz.read(COPY_CHUNK):  # the tar's padding, gzip's CRC and age's last chunk
                pass
            if out is not None:
                out.flush()
                os.fsync(out.fileno())
        finally:
            if out is not None:
                out.close()
    except age.AgeError as e:
        raise from_age(e) from None
    except (gzip.BadGzipFile, EOFError, zlib.error, tarfile.TarError):
        raise BackupError(NOT_A_BACKUP) from None
    return manifest, h.hexdigest()


def check_extracted(path: Path, manifest: dict) -> dict:
    """Open the unpacked database and check it against the manifest; returns check_database()."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        checked = check_database(conn)
    finally:
        conn.close()
    refuse_newer_schema(checked["schema_version"])
    if checked["schema_version"] != manifest["schema_version"] or checked["tables"] != manifest["tables"]:
        raise BackupError("База в копии не совпадает с описанием копии (версия схемы или число строк).")
    return checked
