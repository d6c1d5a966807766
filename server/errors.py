"""The one base of every refusal a user sees.

Raise `UserError` (or an area's subclass: SchoolError, JournalError, AccountError,
BackupError …) with a Russian message that says what is wrong and what to do. Raising it
means nothing was changed: the write's transaction rolls back. `server/web/errors.py`
turns it into a 4xx page, an htmx fragment or a JSON error in one place, and the console
into exit status 2. Anything else that escapes is a 500 (a bug), logged for the admin.

Framework exceptions (Litestar's HTTPException and its kin) are never ours: their English
details are replaced by the Russian text of their status.
"""

from __future__ import annotations


class UserError(Exception):
    """A request, command or file the program refuses; `message` is Russian."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field  # the form field the message is about, if one
        if status_code is not None:
            self.status_code = status_code


class NotFound(UserError):
    """Nothing there for this user — also what a stranger gets for someone else's id."""

    status_code = 404

    def __init__(self, message: str = "Такой страницы нет. Проверьте адрес или вернитесь на главную."):
        super().__init__(message)


class Forbidden(UserError):
    """This user may not do this here."""

    status_code = 403

    def __init__(self, message: str = "У вас нет доступа к этой странице."):
        super().__init__(message)


class Conflict(UserError):
    """The data changed under the request (a stale form): look again."""

    status_code = 409
