"""Pages and API of accounts: log in and out, change own password, first set-up."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from typing import Annotated

from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect

from ..errors import NotFound
from ..school.structure import set_up_school
from ..web.access import KIOSK_COOKIE, PRESESSION_COOKIE, SESSION_COOKIE, client_ip, current_user, load_user
from ..web.templating import page
from . import store
from .auth import LoginRefused, authenticate, refuse_if_throttled
from .passwords import hash_password_async, password_problem, verify_password_async
from .store import User


def safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def session_cookie(token: str) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", path="/")


def cleared_cookie(key: str) -> Cookie:
    return Cookie(key=key, value="", httponly=True, samesite="lax", path="/", max_age=0, expires=0)


def presession_token(request: Request) -> str:
    token = request.cookies.get(PRESESSION_COOKIE)
    return token if token and 20 <= len(token) <= 64 else secrets.token_urlsafe(32)


def with_presession_cookie(response: Response, token: str) -> Response:
    response.set_cookie(PRESESSION_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


async def start_session(request: Request, user: User, kiosk: bool = False) -> tuple[str, str]:
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    return await request.app.state.db.write(store.start_session, user.account_id, client_ip(request), idle, kiosk)


# --- HTML pages ---------------------------------------------------------------

@get("/login", opt={"public": True}, name="login")
async def login_page(request: Request, next_: Annotated[str | None, QueryParameter(name="next")] = None) -> Response:
    if await request.app.state.db.read(store.account_count) == 0:
        return Redirect("/setup", status_code=303)
    if await load_user(request):
        return Redirect(safe_next(next_), status_code=303)
    if request.cookies.get(KIOSK_COOKIE) == "1":
        # The hall kiosk: its ended session comes back to /kiosk, never to the normal login
        # (which would give a shared screen an 8-hour session; see server/kiosk.py).
        return Redirect("/kiosk", status_code=303)
    token = presession_token(request)
    return with_presession_cookie(
        page("accounts/login.html", csrf_token=token, next=safe_next(next_), login="", error=None), token
    )


@post("/login", opt={"public": True})
async def login_submit(request: Request) -> Response:
    form = await request.form()
    login = str(form.get("login", ""))[:200]
    next_ = safe_next(form.get("next"))
    try:
        user = await authenticate(request.app.state.db, request.app.state.settings, login,
                                  str(form.get("password", "")), client_ip(request))
    except LoginRefused as e:
        token = presession_token(request)
        return with_presession_cookie(
            page("accounts/login.html", status_code=e.status_code, csrf_token=token, next=next_,
                 login=login[:64], error=e.message),
            token,
        )
    token, _ = await start_session(request, user)
    target = "/password" if user.must_change_password else next_
    return Redirect(target, status_code=303, cookies=[session_cookie(token), cleared_cookie(PRESESSION_COOKIE)])


@post("/logout", opt={"any_user": True, "password_change": True, "kiosk": True})
async def logout(request: Request) -> Response:
    user = current_user(request)
    await request.app.state.db.write(store.end_session, user, client_ip(request))
    return Redirect("/kiosk?ended=1" if user.kiosk else "/login", status_code=303,
                    cookies=[cleared_cookie(SESSION_COOKIE)])


@get("/password", opt={"any_user": True, "password_change": True})
async def password_page(request: Request) -> Response:
    return page("accounts/password.html", error=None, done=False)


@post("/password", opt={"any_user": True, "password_change": True})
async def password_submit(request: Request) -> Response:
    user = current_user(request)
    db = request.app.state.db
    form = await request.form()
    current, new, repeat = (str(form.get(k, "")) for k in ("current", "new", "repeat"))
    row, key = await db.read(_account_and_key, user.login)
    error = None
    try:
        # The current password is a password guess like a login: the same limits apply.
        await refuse_if_throttled(db, request.app.state.settings, key, client_ip(request))
    except LoginRefused as e:
        return page("accounts/password.html", status_code=e.status_code, error=e.message, done=False,
                    field="current")
    # The field the error is about: the page marks it invalid and ties the message to it.
    field = "new"
    if not await verify_password_async(row["password_hash"], current[:256]):
        await db.write(store.record_login_event, key, user.account_id, client_ip(request), "bad_password")
        error, field = "Текущий пароль введён неверно.", "current"
    elif new != repeat:
        error, field = "Новый пароль и повтор не совпадают.", "repeat"
    elif new == current:
        error = "Новый пароль должен отличаться от текущего."
    else:
        error = password_problem(new, user.login)
    if error:
        return page("accounts/password.html", status_code=400, error=error, done=False, field=field)
    request.state.user = await db.write(_change_password, user, await hash_password_async(new), key,
                                        client_ip(request))
    return page("accounts/password.html", error=None, done=True)


def _account_and_key(conn: sqlite3.Connection, login: str) -> tuple[sqlite3.Row, str]:
    return store.find_account(conn, login), store.login_key(conn, login)


def _change_password(conn: sqlite3.Connection, user: User, password_hash: str, key: str, ip: str) -> User:
    """The new password, the other sessions ended, the login record; the user as they now are."""
    store.set_password(conn, user.account_id, password_hash, must_change=False, keep_session=user.session_hash)
    store.record_login_event(conn, key, user.account_id, ip, "password_changed")
    return store.user_by_account(conn, user.account_id)


@get("/setup", opt={"public": True})
async def setup_page(request: Request) -> Response:
    if await request.app.state.db.read(store.account_count) > 0:
        raise NotFound()
    token = presession_token(request)
    return with_presession_cookie(page("accounts/setup.html", csrf_token=token, form={}, error=None), token)


SETUP_REASON = "первоначальная настройка сервера"
SETUP_FIELDS = ("school_name", "last_name", "first_name", "middle_name", "login", "password", "repeat")


@post("/setup", opt={"public": True})
async def setup_submit(request: Request) -> Response:
    """The one-time set-up of an empty server: the school's name and the first sysadmin."""
    db = request.app.state.db
    if await db.read(store.account_count) > 0:
        raise NotFound()
    raw = await request.form()
    form = {k: str(raw.get(k, "")).strip()[:200] for k in SETUP_FIELDS}
    error = None
    if not all(form[k] for k in ("school_name", "last_name", "first_name", "login")):
        error = "Заполните название школы, фамилию, имя и логин."
    elif not valid_login(form["login"]):
        error = LOGIN_RULE
    elif form["password"] != form["repeat"]:
        error = "Пароль и повтор не совпадают."
    else:
        error = password_problem(form["password"], form["login"])
    token = presession_token(request)
    if error:
        form.pop("password"), form.pop("repeat")
        return with_presession_cookie(
            page("accounts/setup.html", status_code=400, csrf_token=token, form=form, error=error), token
        )
    password_hash = await hash_password_async(form["password"])

    def create(conn) -> None:
        # Checked again inside the write transaction: two browsers may submit at once.
        if conn.execute("SELECT count(*) FROM account").fetchone()[0]:
            raise NotFound()
        # School data, so ledger entries: no account acts yet (the first one is being made).
        set_up_school(conn, None, form["school_name"], reason=SETUP_REASON)
        person_id = store.create_person(conn, None, form["last_name"], form["first_name"], form["middle_name"],
                                        position="Администратор АСУ", reason=SETUP_REASON)
        store.create_account(conn, None, person_id, form["login"], password_hash, {"sysadmin"}, False, SETUP_REASON)

    await db.write(create)
    user = await db.read(_user_by_login, form["login"])
    token, _ = await start_session(request, user)
    return Redirect("/", status_code=303, cookies=[session_cookie(token), cleared_cookie(PRESESSION_COOKIE)])


def _user_by_login(conn: sqlite3.Connection, login: str) -> User:
    return store.user_by_account(conn, store.find_account(conn, login)["account_id"])


LOGIN_RULE = "Логин: от 3 до 32 латинских букв, цифр, точек, дефисов или подчёркиваний."


def valid_login(login: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9._-]{3,32}", login) is not None


# --- JSON API -------------------------------------------------------------------

@dataclass
class LoginRequest:
    login: str
    password: str


class Child(msgspec.Struct):
    """Ребёнок родителя: id учащегося, ФИО, класс."""

    id: int
    name: str
    class_name: str | None = msgspec.field(name="class")


class Me(msgspec.Struct, omit_defaults=True):
    """Кто вошёл. `children` — только у родителя, `student_id` — только у учащегося."""

    id: int
    login: str
    name: str
    last_name: str
    first_name: str
    middle_name: str
    roles: list[str]
    must_change_password: bool
    children: list[Child] | None = None
    student_id: int | None = None


class LoginAnswer(msgspec.Struct):
    """Вход выполнен: CSRF-токен для запросов на изменение (заголовок X-CSRF-Token) и кто вошёл."""

    csrf_token: str
    me: Me


class LogoutAnswer(msgspec.Struct):
    ok: bool


async def me_json(request: Request, user: User) -> dict:
    from ..school import store as school

    db = request.app.state.db
    me: dict = {
        "id": user.person_id,
        "login": user.login,
        "name": user.name,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "middle_name": user.middle_name,
        "roles": sorted(user.roles),
        "must_change_password": user.must_change_password,
    }
    if "parent" in user.roles:
        me["children"] = [
            {"id": c["id"], "name": f"{c['last_name']} {c['first_name']} {c['middle_name']}".strip(),
             "class": c["class_name"]}
            for c in await db.read(school.children_of, user.person_id)
        ]
    if "student" in user.roles:
        me["student_id"] = user.person_id
    return me


@post("/api/v1/auth/login", opt={"public": True}, tags=["Вход"], status_code=200)
async def api_login(request: Request, data: JSONBody[LoginRequest]) -> Response[LoginAnswer]:
    """Вход по логину и паролю: ставит cookie сессии, возвращает CSRF-токен для запросов на изменение."""
    # A refusal (LoginRefused) is answered as every API error is: {"error": …, "status": …}.
    user = await authenticate(request.app.state.db, request.app.state.settings, data.login, data.password,
                              client_ip(request))
    token, csrf = await start_session(request, user)
    me = msgspec.convert(await me_json(request, user), Me)
    return Response(LoginAnswer(csrf_token=csrf, me=me), cookies=[session_cookie(token)])


@post("/api/v1/auth/logout", opt={"any_user": True, "password_change": True}, tags=["Вход"], status_code=200)
async def api_logout(request: Request) -> Response[LogoutAnswer]:
    """Выход: завершает сессию (нужен заголовок X-CSRF-Token)."""
    user = current_user(request)
    await request.app.state.db.write(store.delete_session, user.session_hash)
    return Response(LogoutAnswer(ok=True), cookies=[cleared_cookie(SESSION_COOKIE)])


@get("/api/v1/me", opt={"any_user": True, "password_change": True}, tags=["Вход"])
async def api_me(request: Request) -> Me:
    """Кто вошёл: человек, роли; для родителя — дети, для учащегося — student_id."""
    return msgspec.convert(await me_json(request, current_user(request)), Me)


ROUTES = [login_page, login_submit, logout, password_page, password_submit, setup_page, setup_submit,
          api_login, api_logout, api_me]
