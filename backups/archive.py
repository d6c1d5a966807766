"""The backup file: age( gzip( tar[ manifest.json, zhurnal.sqlite3, files/…, messages/…, archive/… ] ) ).

Nothing of our own in the format: `age -d -i KEY FILE | tar xz` opens it on any Linux
machine. The manifest comes first so that a reader knows what it holds (and refuses a
backup from a newer version) before it extracts anything; it carries the SHA-256 of the
database and of every file of the school that follows it. Everything streams, one chunk
at a time: memory stays flat whatever the size of the database and the files.

Format 1 (before the school's files were included) held the manifest and the database
only; it is still read, verified and restored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import logging
import re
import sqlite3
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterable

from server import __version__, clock, ledger
from server.db import latest_version, schema_version
from server.fsutil import fsync_dir

from . import age
from .errors import BackupError, Cancelled, from_age, from_os_error

log = logging.getLogger("zhurnal.backups")

FORMAT = "zhurnal-backup"
# 2: the school's files follow the database (1: the database only — still read).
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
DB_MEMBER = "zhurnal.sqlite3"
# The folders of the data folder that hold the school's files, each kept whole in a backup:
# homework files, message attachments, the archive (PDFs of closed years).
FILE_FOLDERS = ("files", "messages", "archive")
SUFFIX = ".tar.gz.age"
NAME_RE = re.compile(r"^zhurnal-(\d{8}T\d{6}Z)(?:-([a-z]+))?(?:-(\d+))?\.tar\.gz\.age$")
# The manifest lists every file (~150 bytes each): 32 MB is some 200 000 files.
MAX_MANIFEST = 32 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
COPY_CHUNK = 1024 * 1024
# Pages per step of the online backup: small steps keep the progress bar moving.
SNAPSHOT_PAGES = 2048
# gzip level 6 (gzip's own default) for the nightly copies that are kept for months;
# level 1 (twice as fast, ~10 % bigger) for the safety copy taken while writes are paused
# for a restore. Figures: bench/run.py backup.
GZIP_LEVEL = 6
GZIP_LEVEL_FAST = 1

NOT_A_BACKUP = "Файл не является резервной копией Журнала или повреждён."

# (stage, done, total): stages are snapshot, check, files (hashing the school's files),
# write, verify, decrypt, copy.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Snapshot:
    path: Path
    manifest: dict
    periods: list[tuple[date, date]]
    files_root: Path | None = None  # the data folder the manifest's files are read from


def files_of(manifest: dict) -> list[dict]:
    """The school's files a backup holds ({"path", "size", "sha256"} each); [] for format 1."""
    return manifest.get("files") or []


def files_size(manifest: dict) -> int:
    return sum(f["size"] for f in files_of(manifest))


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
    return ledger.head(conn)


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


def sha256_file(path: Path, progress: Progress = no_progress, stage: str = "check") -> str:
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as f:
        while data := f.read(COPY_CHUNK):
            h.update(data)
            done += len(data)
            progress(stage, done, total)
    return h.hexdigest()


# --- The school's files --------------------------------------------------------------


def member_path_ok(path: str) -> bool:
    """A file's name inside a backup: relative, under one of FILE_FOLDERS, no `.`/`..`.

    What a restore writes is decided by the manifest, so a hostile backup cannot put a file
    anywhere but into these folders of the staging copy."""
    if not isinstance(path, str) or not path or "\\" in path or "\0" in path:
        return False
    parts = path.split("/")
    return (len(parts) >= 2 and parts[0] in FILE_FOLDERS
            and all(p and p not in (".", "..") for p in parts) and PurePosixPath(path).as_posix() == path)


def list_school_files(data_dir: Path) -> list[tuple[str, Path, int]]:
    """(name in the backup, path, size) of every file in the data folder's FILE_FOLDERS, sorted.

    Hidden files (a temporary `.x.tmp` being written) and symbolic links are not the
    school's files and are left out; so is a name that cannot be written into a manifest
    (not UTF-8), with a line in the log."""
    found = []
    for top in FILE_FOLDERS:
        root = Path(data_dir) / top
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                path = Path(dirpath) / name
                rel = path.relative_to(data_dir).as_posix()
                try:
                    rel.encode("utf-8")
                    st = os.lstat(path)
                except UnicodeEncodeError:
                    log.warning("Файл с именем не в UTF-8 не попадёт в резервную копию: %r", rel)
                    continue
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode) and member_path_ok(rel):
                    found.append((rel, path, st.st_size))
    return sorted(found)


def hash_school_files(data_dir: Path, progress: Progress = no_progress,
                      cancelled: Callable[[], bool] = lambda: False) -> list[dict]:
    """The manifest's list of files: {"path", "size", "sha256"} of each, read once.

    The files are written once under random names and never changed (a replaced homework
    file is a new file), so what is hashed here is what the archive then holds; a file
    removed meanwhile (an upload the server refused) is left out."""
    listed = list_school_files(data_dir)
    total = sum(size for _, _, size in listed)
    done = 0
    found = []
    for rel, path, _ in listed:
        h, size = hashlib.sha256(), 0
        try:
            with open(path, "rb") as f:
                while data := f.read(COPY_CHUNK):
                    if cancelled():
                        raise Cancelled()
                    h.update(data)
                    size += len(data)
                    done += len(data)
                    progress("files", done, max(total, done))
        except FileNotFoundError:
            continue
        found.append({"path": rel, "size": size, "sha256": h.hexdigest()})
    return found


# --- Snapshot ------------------------------------------------------------------------


def _create_private(path: Path) -> None:
    """An empty file only its owner may read: a decrypted copy of the database is never 0644."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def take_snapshot(db_path: Path, dest: Path, progress: Progress = no_progress,
                  cancelled: Callable[[], bool] = lambda: False, files_from: Path | None = None) -> Snapshot:
    """Copy the live database to `dest` with SQLite's online backup, then check the copy;
    with `files_from` (the data folder) also list and hash the school's files.

    The source connection holds one read transaction for the whole copy: with WAL the
    server's writers never wait for it, and the copy is the database as of that moment
    (without it, every write by the server would restart the backup from page one). The
    files are listed after it: a file is written before the row that names it, and never
    removed, so every file the copy names is there.
    """
    if not db_path.exists():
        raise BackupError(f"Базы данных {db_path} нет: копировать нечего.")
    _create_private(dest)
    src = sqlite3.connect(str(db_path), isolation_level=None, timeout=30)
    dst = sqlite3.connect(str(dest), isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot starts here
        created = clock.now()

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
    try:
        files = hash_school_files(files_from, progress, cancelled) if files_from is not None else []
    except OSError as e:
        raise from_os_error(e, "чтении файлов школы") from None
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
        # The school's files, in the order they follow the database in the archive.
        "files": files,
    }
    return Snapshot(dest, manifest, periods, files_from)


# --- Writing -------------------------------------------------------------------------


class _ProgressReader(io.RawIOBase):
    """Reads a file for tarfile, reporting progress and honouring cancellation."""

    def __init__(self, f: BinaryIO, done: int, total: int, progress: Progress, stage: str,
                 cancelled: Callable[[], bool]):
        self._f, self._total, self._progress, self._stage, self._cancelled = f, total, progress, stage, cancelled
        self.done = done

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._cancelled():
            raise Cancelled()
        data = self._f.read(n)
        self.done += len(data)
        self._progress(self._stage, self.done, self._total)
        return data


def write_tar(out: BinaryIO, manifest: dict, db_path: Path, progress: Progress = no_progress,
              cancelled: Callable[[], bool] = lambda: False, level: int = GZIP_LEVEL,
              files_root: Path | None = None) -> None:
    """The compressed tar (manifest.json, the database, the school's files) into `out`.

    The manifest's files are read from `files_root` (the data folder)."""
    files = files_of(manifest)
    if files and files_root is None:
        raise ValueError("the manifest lists files but no folder to read them from")
    mtime = int(clock.timestamp())
    total = manifest["database"]["size"] + files_size(manifest)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=mtime, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), mtime, 0o600
            tar.addfile(info, io.BytesIO(data))
            done = 0
            for name, path, size in [(DB_MEMBER, db_path, manifest["database"]["size"])] + [
                    (f["path"], files_root / f["path"], f["size"]) for f in files]:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = size, mtime, 0o600
                try:
                    f = open(path, "rb")
                except FileNotFoundError:
                    raise BackupError(f"Файл {name} удалён во время резервного копирования: "
                                      "копия будет сделана заново.") from None
                with f:
                    reader = _ProgressReader(f, done, total, progress, "write", cancelled)
                    tar.addfile(info, reader)
                    done = reader.done


def write_backup(out: BinaryIO, recipients: Iterable[str], manifest: dict, db_path: Path,
                 progress: Progress = no_progress, cancelled: Callable[[], bool] = lambda: False,
                 level: int = GZIP_LEVEL, files_root: Path | None = None) -> None:
    """Encrypt the archive to every recipient; on any error the age stream stays unfinished."""
    with age.AgeWriter(out, list(recipients)) as enc:
        write_tar(enc, manifest, db_path, progress, cancelled, level, files_root)


# --- Reading -------------------------------------------------------------------------


def open_backup(path: Path) -> BinaryIO:
    """A backup file for reading; BackupError in Russian if it is missing or not a file."""
    try:
        return open(path, "rb", buffering=COPY_CHUNK)
    except FileNotFoundError:
        raise BackupError(f"Файл {path} не найден.") from None
    except IsADirectoryError:
        raise BackupError(f"{path} — это папка, а не файл резервной копии.") from None
    except OSError as e:
        raise from_os_error(e, "чтении файла резервной копии") from None


def _files_ok(files) -> bool:
    if not isinstance(files, list):
        return False
    paths = set()
    for f in files:
        if (not isinstance(f, dict) or not member_path_ok(f.get("path")) or not isinstance(f.get("size"), int)
                or f["size"] < 0 or not isinstance(f.get("sha256"), str) or not _SHA256.fullmatch(f["sha256"])
                or f["path"] in paths):
            return False
        paths.add(f["path"])
    # A name may not be both a file and a folder ("files/a" and "files/a/b").
    return not any(p.rsplit("/", i)[0] in paths for p in paths for i in range(1, p.count("/")))


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
            or not isinstance(manifest.get("schema_version"), int) or not isinstance(manifest.get("tables"), dict)
            or (version >= 2 and not _files_ok(manifest.get("files")))
            or (version < 2 and "files" in manifest)):
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
                progress: Progress = no_progress, stage: str = "decrypt",
                cancelled: Callable[[], bool] = lambda: False, files_to: Path | None = None) -> dict:
    """Decrypt and unpack; returns the manifest once the database and every file matched
    their hashes.

    With `extract_to` the database is written there (a new file, mode 0600, removed again
    on any error); with `files_to` (an existing folder) the school's files are written
    under it as they are named in the backup (`files/…`, `messages/…`): the caller removes
    that folder on error. Without them the contents are only hashed. Every byte up to the
    end of the age file is authenticated, so a truncated or altered file is refused even
    after the tar.
    """
    try:
        return _read(src, identities, extract_to, files_to, progress, stage, cancelled)
    except BaseException:
        if extract_to is not None:
            extract_to.unlink(missing_ok=True)
        raise


def _private_file(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


@dataclass
class _Copied:
    done: int = 0
    total: int = 0
    folders: set = field(default_factory=set)


def _member(tar: tarfile.TarFile, name: str, size: int, dest: Path | None, progress: Progress, stage: str,
            cancelled: Callable[[], bool], seen: _Copied) -> str:
    """The next member, which must be `name` of `size` bytes: written to `dest`, returns its sha256."""
    member = tar.next()
    if member is None or member.name != name or not member.isfile():
        raise BackupError(NOT_A_BACKUP)
    if member.size != size:
        raise BackupError("Размер базы в копии не совпадает с её описанием: файл повреждён." if name == DB_MEMBER
                          else f"Размер файла {name} в копии не совпадает с её описанием: копия повреждена.")
    h = hashlib.sha256()
    body = tar.extractfile(member)
    out = _private_file(dest) if dest is not None else None
    try:
        while data := body.read(COPY_CHUNK):
            if cancelled():
                raise Cancelled()
            h.update(data)
            if out is not None:
                out.write(data)
            seen.done += len(data)
            progress(stage, seen.done, seen.total)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    return h.hexdigest()


def _read(src, identities, extract_to, files_to, progress, stage, cancelled) -> dict:
    try:
        reader = age.AgeReader(src, identities)
        gz = gzip.GzipFile(fileobj=reader, mode="rb")
        tar = tarfile.open(fileobj=gz, mode="r|")
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile() or first.size > MAX_MANIFEST:
            raise BackupError(NOT_A_BACKUP)
        manifest = _parse_manifest(tar.extractfile(first).read())
        refuse_newer_schema(manifest["schema_version"])
        seen = _Copied(total=manifest["database"]["size"] + files_size(manifest))
        digest = _member(tar, DB_MEMBER, manifest["database"]["size"], extract_to, progress, stage, cancelled, seen)
        if digest != manifest["database"]["sha256"]:
            raise BackupError("Контрольная сумма базы не совпадает с описанием копии: файл повреждён.")
        for f in files_of(manifest):
            dest = None
            if files_to is not None:
                dest = files_to / f["path"]
                if dest.parent not in seen.folders:
                    for folder in reversed([dest.parent, *dest.parent.parents]):
                        if files_to in folder.parents and folder not in seen.folders:
                            folder.mkdir(mode=0o700, exist_ok=True)
                            seen.folders.add(folder)
            if _member(tar, f["path"], f["size"], dest, progress, stage, cancelled, seen) != f["sha256"]:
                raise BackupError(f"Контрольная сумма файла {f['path']} не совпадает с описанием копии: "
                                  "копия повреждена.")
        if tar.next() is not None:
            raise BackupError(NOT_A_BACKUP)
        while gz.read(COPY_CHUNK):  # the tar's padding, gzip's CRC and age's last chunk
            pass
        for folder in seen.folders:  # the files' names, on disk before they are swapped in
            fsync_dir(folder)
    except age.AgeError as e:
        raise from_age(e) from None
    except (gzip.BadGzipFile, EOFError, zlib.error, tarfile.TarError):
        raise BackupError(NOT_A_BACKUP) from None
    return manifest


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
