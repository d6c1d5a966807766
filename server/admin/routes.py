"""The login record for the administration."""

from __future__ import annotations

from litestar import Request, Response, get
from typing import Annotated

from litestar.params import QueryParameter

from ..accounts import store
from ..web.templating import page

OUTCOME_LABELS = {
    "ok": "вход",
    "bad_password": "неверный пароль",
    "unknown_login": "неизвестный логин",
    "disabled": "вход запрещён",
    "no_consent": "нет согласия родителя",
    "throttled": "заблокировано: много попыток",
    "logout": "выход",
    "password_changed": "пароль изменён",
}


@get("/admin/logins", opt={"roles": {"director", "deputy", "sysadmin"}})
async def login_record(request: Request, failures: Annotated[bool, QueryParameter(name="failures")] = False) -> Response:
    events = await request.app.state.db.read(store.login_events, 300, failures)
    return page("admin/logins.html", events=events, failures=failures, labels=OUTCOME_LABELS)


ROUTES = [login_record]
