"""The copy on a USB drive: where it goes, and copying one backup there, verified.

Where: a folder the admin configured (`backup_usb_dir`), or a drive mounted with a label
(`backup_usb_label`). A labelled drive is looked for where desktops and admins mount drives (/media/USER/LABEL,
/media/LABEL, /run/media/USER/LABEL, /mnt/LABEL) and through /dev/disk/by-label and
/proc/mounts. Only a real mount point counts: an empty /mnt/LABEL left behind after the
stick was pulled is a folder on the SD card, and a "USB copy" there would be a lie.

Each copy: a hidden temp name, fsync, drop the page cache, read back and decrypt with the
server key, compare the hash, rename; then the USB folder is pruned by the same plan.
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path
from typing import Callable

from server.config import Settings
from server.fsutil import fsync_dir

from . import archive, keys, retention, state, status
from .archive import Progress, no_progress
from .errors import BackupError, Cancelled, from_os_error

log = logging.getLogger("zhurnal.backups")

SUBFOLDER = "zhurnal-backups"
MEDIA_PATTERNS = ["/media/*/{label}", "/media/{label}", "/run/media/*/{label}", "/mnt/{label}"]
BY_LABEL = "/dev/disk/by-label"
MOUNTS = "/proc/mounts"


def _unescape_mount(path: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def find_labeled_volume(label: str, patterns: list[str] | None = None, by_label: str = BY_LABEL,
                        mounts: str = MOUNTS, require_mount: bool = True) -> Path | None:
    """The mount point of the drive called `label`, or None if it is not mounted."""
    if not label or "/" in label or label in (".", ".."):
        return None
    for pattern in patterns if patterns is not None else MEDIA_PATTERNS:
        for candidate in sorted(glob.glob(pattern.format(label=glob.escape(label)))):
            if os.path.isdir(candidate) and (not require_mount or os.path.ismount(candidate)):
                return Path(candidate)
    device = Path(by_label) / label
    if device.exists():
        real = os.path.realpath(device)
        try:
            with open(mounts, encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 2 and os.path.realpath(_unescape_mount(parts[0])) == real:
                        return Path(_unescape_mount(parts[1]))
        except OSError:
            return None
    return None


# The desktop mounts a stick for the person logged in at the screen (/media/USER/LABEL,
# writable by that person only); the service runs as the system user `zhurnal`.
NO_PERMISSION = (
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


def configured(settings: Settings) -> bool:
    return bool(settings.backup_usb_dir or settings.backup_usb_label)


def target(settings: Settings) -> Path:
    """The folder on the USB drive; BackupError in Russian if not configured or not plugged in."""
    if settings.backup_usb_dir:
        where = Path(settings.backup_usb_dir)
        if not where.is_dir():
            raise BackupError(f"Папка для копий {where} недоступна: вставьте USB-накопитель.")
        return where
    if settings.backup_usb_label:
        mount = find_labeled_volume(settings.backup_usb_label)
        if mount is None:
            raise BackupError(f"USB-накопитель с меткой «{settings.backup_usb_label}» не подключён.")
        return mount / SUBFOLDER
    raise BackupError("Копирование на USB не настроено: укажите backup_usb_label (метку накопителя) "
                      "или backup_usb_dir (папку) в файле настроек zhurnal.toml.")


def copy_to_usb(settings: Settings, name: str | None = None, progress: Progress = no_progress,
                cancelled: Callable[[], bool] = lambda: False) -> Path:
    """Copy one backup (the newest by default) to the USB drive: temp name, fsync, verify, rename."""
    target_desc = settings.backup_usb_dir or f"метка {settings.backup_usb_label}"
    try:
        where = target(settings)
        entries = status.list_backups(state.folder(settings))
        chosen = next((e for e in entries if name is None or e.name == name), None)
        if chosen is None:
            raise BackupError("Резервных копий ещё нет: копировать на USB нечего." if name is None
                              else f"Резервной копии {name} нет.")
        dest = _copy_verified(settings, chosen, where, progress, cancelled)
    except BackupError as e:
        with state.update(settings.data_dir) as s:
            s["last_usb"] = {"at": state.stamp(), "ok": False, "target": target_desc, "reason": str(e)}
        raise
    with state.update(settings.data_dir) as s:
        s["last_usb"] = {"at": state.stamp(), "ok": True, "target": str(where), "file": chosen.name}
    return dest


def _copy_verified(settings: Settings, entry: status.Entry, where: Path, progress: Progress,
                   cancelled: Callable[[], bool]) -> Path:
    identity = keys.server_identity(settings.data_dir)
    tmp, final = where / f".tmp-{entry.name}", where / entry.name
    try:
        where.mkdir(parents=True, exist_ok=True)
        with archive.open_backup(entry.path) as src, open(tmp, "wb") as dst:
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
        fsync_dir(where)
    except PermissionError as e:
        raise BackupError(NO_PERMISSION.format(target=where, user=_service_user())) from e
    except OSError as e:
        raise from_os_error(e, "копировании на USB-накопитель (не извлечён ли он?)") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the drive is gone; the hidden temp name does not pass for a backup
    try:
        retention.prune(settings, where, (), {entry.name} | retention.kept_names(settings))
    except OSError as e:
        log.warning("Старые копии на USB не удалены: %s", e)
    return final
