"""The one error type of the backups area: its text is the Russian message for the user."""

from __future__ import annotations

import errno

from server.errors import UserError

from .age import AgeError


class BackupError(UserError):
    """A backup, check or restore that cannot go on; `str()` is Russian and says what to do.

    Raising it means nothing was changed: no half-written file passes for a backup and
    the current database is untouched.
    """


class Cancelled(BackupError):
    """The server is shutting down in the middle of a backup."""

    def __init__(self) -> None:
        super().__init__("Резервное копирование прервано: сервер останавливается.")


NOT_SET_UP = (
    "Резервное копирование ещё не настроено: нет ключей шифрования. Выполните "
    "«zhurnal backup setup --recovery-key-out ФАЙЛ» или откройте страницу «Резервные копии» "
    "и нажмите «Настроить»."
)


def from_age(e: AgeError) -> BackupError:
    """The Russian message the age module carries, without its English detail."""
    return BackupError(e.message.rstrip(".") + ".")


def from_os_error(e: OSError, doing: str) -> BackupError:
    """A Russian message for a disk error while `doing` (e.g. «записи копии»)."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return BackupError(f"Недостаточно места на диске для {doing}. Освободите место и повторите.")
    if e.errno in (errno.EIO, errno.ENODEV, errno.ENXIO, errno.EROFS):
        return BackupError(f"Ошибка устройства при {doing} ({e.strerror}): проверьте диск или USB-накопитель.")
    if e.errno == errno.ENOENT:
        return BackupError(f"Файл или папка не найдены при {doing}: {e.filename or ''}".rstrip(": ") + ".")
    if e.errno in (errno.EACCES, errno.EPERM):
        return BackupError(f"Нет прав доступа при {doing}: {e.filename or ''}".rstrip(": ") + ".")
    return BackupError(f"Ошибка при {doing}: {e.strerror or e}.")
