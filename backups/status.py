"""What the admin sees of the backups: the list, the marks, free space and the problems
the director and deputy must know about (the backups page, `zhurnal backup list`, the
home page's alert)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from server import clock
from server.config import Settings
from server.timeutil import parse_stored

from . import archive, keys, state
from .errors import BackupError

KIND_LABELS = {"nightly": "ночная", "manual": "вручную", "safety": "перед восстановлением", "": "—"}


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".", ",")


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
        return _mb(self.size)

    @property
    def files(self) -> int | None:
        """How many of the school's files the backup holds; None when not known (an older
        backup, or one this server did not make)."""
        return self.meta.get("files")

    @property
    def files_mb(self) -> str:
        return _mb(self.meta.get("files_size") or 0)


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


def set_keep(settings: Settings, name: str, keep: bool) -> None:
    # The name is checked first: an over-long one would make is_file() raise (ENAMETOOLONG).
    if archive.parse_name(name) is None or not (state.folder(settings) / name).is_file():
        raise BackupError(f"Резервной копии {name[:80]} нет.")
    with state.update(settings.data_dir) as s:
        s["backups"].setdefault(name, {})["keep"] = keep


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def free_mb(settings: Settings) -> int:
    where = state.folder(settings)
    probe = where if where.exists() else settings.data_dir if settings.data_dir.exists() else Path(".")
    return free_bytes(probe) // 1_000_000


def _age(at: str | None) -> timedelta | None:
    if not at:
        return None
    try:
        return clock.now() - parse_stored(at)
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
    free = free_mb(settings)
    if free < settings.backup_min_free_mb:
        found.append(f"Мало места на диске для резервных копий: свободно {free} МБ.")
    return found
