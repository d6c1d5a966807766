"""Who may call which route, checked before every handler.

Every route handler declares its rule in `opt` (on the handler, controller or router):
- `public=True`: anyone, logged in or not (login page, static files);
- `roles={...}`: a logged-in user holding at least one of these roles;
- `any_user=True`: any logged-in user.
A handler with no rule is refused for everyone: forgetting a rule fails closed, and the
route×role test in tests/test_access.py names it. Row-level checks (this parent, this
child) are done by the areas' functions on top of this.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from ..accounts import store
from ..accounts.store import User
from ..errors import Forbidden
from ..timeutil import parse_stored, utcnow
from .forms import path_ids_guard

SESSION_COOKIE = "zhurnal_session"
PRESESSION_COOKIE = "zhurnal_csrf"
# Marks a browser as the hall kiosk (server/kiosk.py): its /login leads back to /kiosk.
KIOSK_COOKIE = "zhurnal_kiosk"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writing last_seen_at on every request would make every page view a write.
TOUCH_EVERY = timedelta(minutes=5)
# A kiosk session's idle limit is seconds, so its last request must be known to the second.
KIOSK_TOUCH_EVERY = timedelta(seconds=1)

KIOSK_REFUSED = ("На киоске в холле можно только смотреть дневник и читать сообщения. Написать сообщение, "
                 "изменить настройки или пароль можно дома или на школьном компьютере.")
STUDENT_REFUSED = "Учащимся доступ к электронному журналу и служебным страницам запрещён (п. 2.1 Регламента)."


class CsrfFailed(Forbidden):
    """An unsafe request that did not come from our own page (403)."""


class PasswordChangeRequired(Exception):
    """The user must set their own password before anything else."""


async def load_user(connection: ASGIConnection) -> User | None:
    """The session's user, cached on the connection for the rest of the request."""
    if "user" in connection.state:
        return connection.state.user
    user = None
    token = connection.cookies.get(SESSION_COOKIE)
    if token and len(token) < 100:
        app_state = connection.app.state
        idle = timedelta(minutes=app_state.settings.session_idle_minutes)
        found = await app_state.db.read(store.session_user, token, idle)
        if found:
            user, last_seen = found
            # The one clock (server/clock.py): a test moves it instead of waiting.
            elapsed = utcnow() - parse_stored(last_seen)
            # The hall kiosk: its session ends after kiosk_idle_seconds without a request,
            # whatever the page's script does (static/kiosk.js pings while someone touches the
            # screen). Stored times are whole seconds, hence the one second of grace.
            if user.kiosk and elapsed > timedelta(seconds=app_state.settings.kiosk_idle_seconds + 1):
                await app_state.db.write(store.delete_session, user.session_hash)
                user = None
            elif elapsed > (KIOSK_TOUCH_EVERY if user.kiosk else TOUCH_EVERY):
                await app_state.db.write(store.touch_session, user.session_hash)
    connection.state.user = user
    return user


async def check_csrf(request: Request, user: User | None) -> None:
    """Refuse an unsafe request that does not prove it came from our own page.

    With a session: the session's token, from the X-CSRF-Token header (htmx sends it via
    hx-headers on <body>; API clients get it from the login answer) or the form field.
    Without one (login, set-up): a form must echo the pre-session cookie; the JSON API
    accepts only application/json, which a cross-site form cannot send.
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfFailed("Запрос с чужого сайта отклонён.")
    content_type = request.content_type[0]
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.form()).get(CSRF_FIELD)
    if user is not None:
        expected = user.csrf_token
    elif request.url.path.startswith("/api/"):
        if content_type == "application/json":
            return
        expected = None
    else:
        expected = request.cookies.get(PRESESSION_COOKIE)
    if not expected or not sent or not hmac.compare_digest(str(sent), expected):
        raise CsrfFailed("Страница устарела или запрос не подтверждён. Обновите страницу и повторите.")


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    opt = handler.opt
    user = await load_user(connection)
    if not opt.get("public"):
        check_rule(user, opt)
    # CSRF after the rule: a refused request never has its (possibly large) body read.
    if isinstance(connection, Request) and connection.method not in SAFE_METHODS:
        await check_csrf(connection, user)
    # Here, not as a second guard: Litestar copies the handler for every guard, and ran a
    # plain-function guard in a worker thread — a thread hop on every request.
    path_ids_guard(connection, handler)


def check_rule(user: User | None, opt: dict) -> None:
    """The route's rule for this user: returns, or raises 401/403/a forced password change."""
    if user is None:
        raise NotAuthorizedException("Войдите в систему.")
    # A kiosk session (the shared terminal in the hall) reaches only routes marked kiosk=True.
    if user.kiosk and not opt.get("kiosk"):
        raise Forbidden(KIOSK_REFUSED)
    # A kiosk session never comes from a one-time password (server/kiosk.py refuses one; a
    # kiosk PIN needs no changing), and the kiosk has no password page.
    if user.must_change_password and not user.kiosk and not opt.get("password_change"):
        raise PasswordChangeRequired()
    if opt.get("any_user"):
        return
    allowed = opt.get("roles")
    if allowed and user.roles & allowed:
        return
    if user.roles <= {"student"} and not (allowed and "student" in allowed):
        raise Forbidden(STUDENT_REFUSED)
    raise Forbidden()


def current_user(request: Request) -> User:
    """The logged-in user of a handler that the guard let through."""
    return request.state.user


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
