"""Small helpers for form pages: read a form, redirect after success with a message."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from ..errors import NotFound

# Messages a page shows after a successful POST (post/redirect/get keeps refreshes harmless).
OK_MESSAGES = {
    "saved": "Сохранено.",
    "created": "Добавлено.",
    "archived": "Перенесено в архив.",
    "restored": "Возвращено из архива.",
    "deleted": "Удалено.",
    "moved": "Учащийся переведён.",
    "left": "Выбытие оформлено.",
    "consent": "Согласие и форма дневника записаны.",
    "roles": "Роли изменены.",
    "access": "Доступ изменён.",
    "imported": "Импорт выполнен.",
}


async def form_dict(request: Request) -> dict[str, str]:
    """The submitted form as stripped strings (the first value of each field)."""
    form = await request.form()
    return {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}


async def form_list(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [str(v) for v in form.getall(name, [])] if hasattr(form, "getall") else []


def see_other(path: str, message: str | None = None) -> Redirect:
    if message:
        path += ("&" if "?" in path else "?") + "ok=" + quote(message)
    return Redirect(path, status_code=303)


def ok_message(request: Request) -> str | None:
    return OK_MESSAGES.get(request.query_params.get("ok", ""))


# SQLite's INTEGER is 64-bit: a larger id in an address or a form is no id at all (binding it
# would raise OverflowError, a 500).
SQLITE_MAX_INT = 2**63 - 1


def int_or_none(text: str | None) -> int | None:
    try:
        value = int(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or -SQLITE_MAX_INT <= value <= SQLITE_MAX_INT else None


def path_ids_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """An id in the address beyond SQLite's INTEGER names nothing: 404, before any query."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not -SQLITE_MAX_INT <= value <= SQLITE_MAX_INT:
            raise NotFound()
