"""The kiosk: a shared terminal in the school hall where a parent or a student logs in with the
login and password from their slip and reads the diary (§1.4.6, §4).

- Only parents and students log in here (authenticate(kiosk=True) refuses staff), and not
  with a one-time password: it must first be changed at home or on a school PC, since
  choosing a password on a screen in the hall is not private. A family with no device at
  home logs in with a kiosk PIN from a slip instead (server/accounts/kiosk_pins.py): it opens
  only kiosk sessions and never needs changing.
- The session is marked kiosk=1: the guard lets it reach only routes marked kiosk=True
  (the diary, reading messages, this page and the logout), and it ends after
  kiosk_idle_seconds without a request (server/web/access.py); static/kiosk.js logs out
  after the same time without input and keeps the browser's history short.
- A browser that has opened /kiosk is marked as a terminal (a session cookie): when its
  session has ended, /login sends it back here instead of offering the normal login, which
  would give an 8-hour session on a shared screen. `/kiosk?terminal=off` takes the mark away
  (for the administrator who tried the kiosk on an office PC).
See deploy/kiosk.md for the browser set-up and what a browser can and cannot guarantee.
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from .accounts import store as accounts
from .accounts.auth import LoginRefused, authenticate
from .accounts.routes import (cleared_cookie, presession_token, session_cookie, start_session,
                              with_presession_cookie)
from .diary.access import family_students
from .messages import store as messages
from .web.access import KIOSK_COOKIE, PRESESSION_COOKIE, SESSION_COOKIE, client_ip, current_user, load_user
from .web.templating import page

ONE_TIME_PASSWORD = ("Пароль с листка — временный. Сначала смените его дома или на школьном компьютере "
                     "(войдите на странице входа, и журнал сам предложит придумать свой пароль), "
                     "а потом входите здесь со своим паролем. Нет телефона и компьютера дома — попросите "
                     "у классного руководителя листок с ПИН-кодом для киоска.")
ENDED = {"idle": "Сеанс завершён: долго не было действий. Ваши данные с экрана убраны.",
         "1": "Вы вышли. Ваши данные с экрана убраны."}


def terminal_cookie() -> Cookie:
    # No max-age: it goes when the browser closes (the kiosk's --incognito browser restarts clean).
    return Cookie(key=KIOSK_COOKIE, value="1", httponly=True, samesite="strict", path="/")


def _login_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = presession_token(request)
    ended = ENDED.get(request.query_params.get("ended", ""))
    return with_presession_cookie(
        page("kiosk/login.html", status_code=status, csrf_token=token, error=error, ended=ended), token)


@get("/kiosk", opt={"public": True, "kiosk": True})
async def kiosk_page(request: Request) -> Response:
    """The login form, or — for a kiosk session — the big buttons of the diary."""
    if request.query_params.get("terminal") == "off":
        return Redirect("/login", status_code=303, cookies=[cleared_cookie(KIOSK_COOKIE)])
    user = await load_user(request)
    if user is None:
        response = _login_form(request)
        response.set_cookie(terminal_cookie())
        return response
    if not user.kiosk:
        # Someone is logged in normally in this browser: the kiosk must not borrow that session.
        return page("kiosk/busy.html")
    db = request.app.state.db
    return page("kiosk/menu.html", students=await family_students(db, user),
                unread=await db.read(messages.unread_count, user.person_id))


@post("/kiosk/login", opt={"public": True, "kiosk": True})
async def kiosk_login(request: Request) -> Response:
    form = await request.form()
    db = request.app.state.db
    try:
        user = await authenticate(db, request.app.state.settings, str(form.get("login", ""))[:200],
                                  str(form.get("password", "")), client_ip(request), kiosk=True)
        if user.must_change_password:
            raise LoginRefused(ONE_TIME_PASSWORD, status_code=403)
    except LoginRefused as e:
        # The typed login is not shown again: nothing of one visitor stays for the next.
        return _login_form(request, error=e.message, status=e.status_code)
    token, _ = await start_session(request, user, kiosk=True)
    return Redirect("/kiosk", status_code=303,
                    cookies=[session_cookie(token), cleared_cookie(PRESESSION_COOKIE), terminal_cookie()])


@post("/kiosk/logout", opt={"any_user": True, "kiosk": True, "password_change": True})
async def kiosk_logout(request: Request) -> Response:
    """«Выход» on the kiosk, or the idle timer of static/kiosk.js (reason=idle)."""
    user = current_user(request)
    await request.app.state.db.write(accounts.end_session, user, client_ip(request))
    reason = "idle" if (await request.form()).get("reason") == "idle" else "1"
    return Redirect(f"/kiosk?ended={reason}", status_code=303, cookies=[cleared_cookie(SESSION_COOKIE)])


@post("/kiosk/ping", opt={"any_user": True, "kiosk": True}, status_code=204)
async def kiosk_ping(request: Request) -> None:
    """Someone is touching the screen: the guard's load_user has just renewed the session."""
    return None


ROUTES = [kiosk_page, kiosk_login, kiosk_logout, kiosk_ping]
