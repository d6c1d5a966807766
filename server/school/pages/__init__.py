"""The school's pages, one module per family: the school and its years (`years`), classes
and groups (`classes`), subjects and the teaching load (`load`), bells and the timetable
(`timetable`), staff, roles and class access (`staff`), a class's list and its students
(`students`). The import pages are server/school/import_routes.py.

A handler parses, calls the area's function — reads in one `db.read` hop, writes in one
`db.write` transaction with the acting account — and renders; `submit` is the form pattern
they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request, Response

from ...web.access import current_user
from ...web.forms import form_dict, ok_message
from ...web.templating import page
from ..errors import SchoolError

T = TypeVar("T")


async def read(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """`fn(conn, *args)` in one read snapshot."""
    return await request.app.state.db.read(fn, *args)


async def write(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """`fn(conn, actor, *args)` as one transaction, the acting account being the request's user."""
    return await request.app.state.db.write(fn, current_user(request).account_id, *args)


def render(request: Request, template: str, error: str | None = None, form: dict | None = None,
           **context: Any) -> Response:
    """A page of the family: 400 when it shows an error, the typed values (`form`) kept."""
    return page(template, status_code=400 if error else 200, ok=ok_message(request), error=error,
                form=form or {}, **context)


async def submit(request: Request, act: Callable[[dict], Awaitable[T]],
                 again: Callable[[str, dict], Awaitable[Response]], done: Callable[[T], Response]) -> Response:
    """The form pattern: read the form; `act(form)` parses it and writes; a SchoolError shows
    the page again with the message and what was typed (`again(message, form)`, 400) and
    nothing is changed; otherwise `done(result)` — the redirect of post/redirect/get."""
    form = await form_dict(request)
    try:
        result = await act(form)
    except SchoolError as e:
        return await again(e.message, form)
    return done(result)
