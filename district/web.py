"""The district server: schools upload chunks here; district users see every school.

Routes (who: `school` = a school's program, signed; `admin`/`inspector` = district users):
- POST /api/v1/sync/chunks — a chunk (school; its signature is the credential);
- GET  /api/v1/sync/mark?school=&t=&sig= — the school's mark (school, signed), with the offered
  update's metadata (`update`) when the district offers one;
- GET  /api/v1/sync/update?school=&t=&sig= — the release bundle the district offers, if any:
  version, schema version, sha256, size (school, signed; district/updates.py);
- GET  /api/v1/sync/update/bundle?offer=&school=&t=&sig= — that bundle's file (school, signed);
- GET  /login, POST /login, POST /logout — district users (Argon2 hashes, sessions in PostgreSQL);
- GET  / — every school; GET /schools/{code} — one school by period;
- GET  /schools/{code}/lost.json — the changes a restored school lost, as a file (admin);
- POST /schools/{code}/lost/handed — those changes were handed back (admin);
- GET  /api/v1/district/schools — the dashboard as JSON (district users).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import re
import secrets
import threading
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime

import anyio.to_thread
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Stream, Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from server.accounts import passwords
from server.errors import UserError
from server.paths import resource_dir
from server.web.templating import make_environment

from . import store
from . import updates as offers

log = logging.getLogger("zhurnal.district")

COOKIE = "zhurnal_district"
PRE_COOKIE = "zhurnal_district_csrf"
IDLE_MINUTES = 8 * 60
MAX_CHUNK = 1_000_000
VIEWERS = {"admin", "inspector"}


class Pool:
    """A few psycopg connections; `run(fn, *args)` runs `fn(conn, *args)` in a worker
    thread inside one transaction (`raw=True`: outside one, the function makes its own)."""

    def __init__(self, url: str, size: int = 4):
        self.url = url
        self._free: queue.Queue = queue.Queue()
        self._all = []
        for _ in range(size):
            conn = store.connect(url, autocommit=True)
            self._all.append(conn)
            self._free.put(conn)
        self._lock = threading.Lock()

    @contextmanager
    def conn(self):
        c = self._free.get()
        try:
            if c.closed or c.broken:
                c = store.connect(self.url, autocommit=True)
            yield c
        finally:
            self._free.put(c)

    def run_sync(self, fn, *args, raw: bool = False):
        with self.conn() as c:
            if raw:
                return fn(c, *args)
            with c.transaction():
                return fn(c, *args)

    async def run(self, fn, *args, raw: bool = False):
        return await anyio.to_thread.run_sync(lambda: self.run_sync(fn, *args, raw=raw))

    def close(self) -> None:
        for c in self._all:
            c.close()


# --- access ---------------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def load_user(connection: ASGIConnection):
    if "duser" in connection.state:
        return connection.state.duser
    user = None
    token = connection.cookies.get(COOKIE)
    if token and len(token) < 100:
        user = await connection.app.state.pool.run(store.session_user, _hash(token), IDLE_MINUTES)
    connection.state.duser = user
    return user


async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    opt = handler.opt
    user = await load_user(connection)
    if opt.get("public") or opt.get("school"):
        if isinstance(connection, Request) and connection.method == "POST" and not opt.get("school"):
            await _check_csrf(connection, None)
        return
    if user is None:
        raise NotAuthorizedException("Войдите в систему.")
    if user["role"] not in opt.get("roles", ()):
        raise PermissionDeniedException("Это может только администратор района.")
    if isinstance(connection, Request) and connection.method == "POST":
        await _check_csrf(connection, user)


async def _check_csrf(request: Request, user) -> None:
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise PermissionDeniedException("Запрос с чужого сайта отклонён.")
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        sent = (await request.form()).get("csrf_token")
    expected = user["csrf_token"] if user else request.cookies.get(PRE_COOKIE)
    if not expected or not sent or not hmac.compare_digest(str(sent), expected):
        raise PermissionDeniedException("Страница устарела. Обновите её и повторите.")


def fmt_time(value) -> str:
    if not value:
        return "никогда"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone().strftime("%d.%m.%Y %H:%M")


def fmt_lag(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = max(int(seconds), 0)
    if seconds < 3600:
        return f"{seconds // 60} мин"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} ч"
    return f"{seconds // 86400} дн."


def _page(request: Request, name: str, status_code: int = 200, cookies=None, **ctx) -> Template:
    user = request.state.duser if "duser" in request.state else None
    return Template(template_name=name, context={"duser": user, "t": fmt_time, "lag": fmt_lag, **ctx},
                    status_code=status_code,
                    cookies=cookies or [])


# --- schools' programs ------------------------------------------------------------------------------

def _json(data: dict, status: int = 200) -> Response:
    return Response(content=data, status_code=status, media_type=MediaType.JSON)


@post("/api/v1/sync/chunks", opt={"school": True}, status_code=200, include_in_schema=False)
async def receive_chunk(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_CHUNK:
        return _json({"error": "Пакет слишком большой.", "code": "too_big"}, 413)
    pool: Pool = request.app.state.pool
    try:
        result = await pool.run(store.ingest, body, "http", request.app.state.age_keys, raw=True)
    except store.DistrictError as e:
        return _json({"error": str(e), "code": e.code, **({"mark": e.mark} if e.mark else {})}, e.status_code or 409)
    return _json(result)


def _mark_and_offer(conn, school: str, t: int, sig: bytes) -> dict:
    # The offered update rides on the mark, which every round asks for anyway: a round with
    # nothing to send stays one request.
    mark = store.mark(conn, school, t, sig, 0.0)
    offer = offers.current(conn)
    return {**mark, "update": offers.as_json(offer)} if offer else mark


@get("/api/v1/sync/mark", opt={"school": True}, include_in_schema=False)
async def school_mark(request: Request, school: FromQuery[str] = "", t: FromQuery[int] = 0,
                      sig: FromQuery[str] = "") -> Response:
    try:
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    except ValueError:
        raw = b""
    try:
        mark = await request.app.state.pool.run(_mark_and_offer, school, t, raw)
    except store.DistrictError as e:
        return _json({"error": str(e), "code": e.code}, e.status_code or 409)
    return _json(mark)


def _signature(sig: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    except ValueError:
        return b""


def _offer_for(conn, school: str, t: int, sig: bytes):
    store.signed_school(conn, school, "update", t, sig)
    return offers.current(conn)


@get("/api/v1/sync/update", opt={"school": True}, include_in_schema=False)
async def update_offer(request: Request, school: FromQuery[str] = "", t: FromQuery[int] = 0,
                       sig: FromQuery[str] = "") -> Response:
    try:
        offer = await request.app.state.pool.run(_offer_for, school, t, _signature(sig))
    except store.DistrictError as e:
        return _json({"error": str(e), "code": e.code}, e.status_code or 409)
    return _json({"offer": offers.as_json(offer)})


@get("/api/v1/sync/update/bundle", opt={"school": True}, include_in_schema=False)
async def update_bundle(request: Request, offer: FromQuery[int] = 0, school: FromQuery[str] = "",
                        t: FromQuery[int] = 0, sig: FromQuery[str] = "") -> Response:
    pool: Pool = request.app.state.pool
    try:
        current = await pool.run(_offer_for, school, t, _signature(sig))
    except store.DistrictError as e:
        return _json({"error": str(e), "code": e.code}, e.status_code or 409)
    if current is None or current["id"] != offer:
        return _json({"error": "Район больше не предлагает этот пакет обновления.", "code": "no_offer"}, 404)
    size = current["size"]
    # `Range: bytes=N-` only: a school goes on with a download cut short (sync/offer.py).
    m = re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", "").strip())
    start = int(m.group(1)) if m else 0
    if start >= size and m:
        return Response(content=b"", status_code=416, headers={"Content-Range": f"bytes */{size}"})

    async def pieces():
        n, skip = divmod(start, offers.PIECE)
        while True:
            data = await pool.run(offers.piece, current["id"], n)
            if data is None:
                return
            yield data[skip:]
            n, skip = n + 1, 0

    headers = {"Content-Length": str(size - start), "Accept-Ranges": "bytes",
               "Content-Disposition": f'attachment; filename="{current["file_name"]}"'}
    if m:
        headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
    return Stream(pieces(), media_type="application/x-tar", status_code=206 if m else 200, headers=headers)


# --- district users ------------------------------------------------------------------------------

@get("/login", opt={"public": True})
async def login_page(request: Request) -> Template:
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    return _page(request, "district/login.html", csrf=token, error=None, cookies=[_cookie(PRE_COOKIE, token)])


def _cookie(key: str, value: str, max_age: int | None = None):
    from litestar.datastructures import Cookie

    return Cookie(key=key, value=value, httponly=True, samesite="strict", path="/", max_age=max_age)


@post("/login", opt={"public": True})
async def login(request: Request) -> Response:
    form = await request.form()
    login_name, password = str(form.get("login", ""))[:64], str(form.get("password", ""))[:256]
    pool: Pool = request.app.state.pool
    account = await pool.run(store.account_by_login, login_name)
    ok = account is not None and await passwords.verify_password_async(account["password_hash"], password)
    if account is None:
        await passwords.burn_time()
    if not ok:
        token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
        return _page(request, "district/login.html", status_code=400, csrf=token, error="Неверный логин или пароль.",
                     cookies=[_cookie(PRE_COOKIE, token)])
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    await pool.run(store.new_session, account["id"], _hash(token), csrf)
    r = Redirect("/", status_code=303)
    r.cookies.append(_cookie(COOKIE, token))
    return r


@post("/logout", opt={"roles": VIEWERS})
async def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    await request.app.state.pool.run(store.end_session, _hash(token))
    r = Redirect("/login", status_code=303)
    r.cookies.append(_cookie(COOKIE, "", max_age=0))
    return r


def _school_json(s: dict) -> dict:
    def iso(v):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if v else None
    return {"code": s["code"], "name": s["name"], "epoch": s["epoch"], "seq": s["seq"],
            "last_contact": iso(s["last_contact"]), "last_chunk_at": iso(s["last_chunk_at"]),
            "lag_seconds": s["lag_s"], "changes_received": s["changes_received"],
            "chunks_received": s["chunks_received"], "receiving_snapshot": s["in_snapshot"],
            "lost_changes": s["lost"], "last_error": s["last_error"], "last_error_at": iso(s["last_error_at"])}


@get("/", opt={"roles": VIEWERS})
async def dashboard(request: Request) -> Template:
    rows = await request.app.state.pool.run(store.schools)
    offer = await request.app.state.pool.run(offers.current)
    return _page(request, "district/dashboard.html", schools=rows, offer=offer)


@get("/schools/{code:str}", opt={"roles": VIEWERS})
async def school_page(request: Request, code: FromPath[str]) -> Template:
    detail = await request.app.state.pool.run(store.school_detail, code)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"Школы «{code}» нет в районе.")
    return _page(request, "district/school.html", s=detail)


@get("/schools/{code:str}/lost.json", opt={"roles": {"admin"}})
async def lost_download(request: Request, code: FromPath[str]) -> Response:
    try:
        data = await request.app.state.pool.run(store.lost_file, code)
    except UserError as e:
        raise HTTPException(status_code=404, detail=str(e)) from None
    return Response(content=json.dumps(data, ensure_ascii=False, indent=1, default=str).encode(),
                    media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="zhurnal-lost-{code}.json"'})


@post("/schools/{code:str}/lost/handed", opt={"roles": {"admin"}})
async def lost_handed(request: Request, code: FromPath[str]) -> Response:
    form = await request.form()
    ids = [int(x) for x in form.getall("id") if str(x).isdigit()] if hasattr(form, "getall") else []
    if not ids:
        data = await request.app.state.pool.run(store.lost_file, code)
        ids = [i["id"] for i in data["items"]]
    await request.app.state.pool.run(store.mark_handed_back, code, ids)
    return Redirect(f"/schools/{code}", status_code=303)


@get("/api/v1/district/schools", opt={"roles": VIEWERS})
async def api_schools(request: Request) -> Response:
    """Every school of the district: last contact, lag, changes received, epoch, errors."""
    rows = await request.app.state.pool.run(store.schools)
    return _json({"schools": [_school_json(s) for s in rows]})


# --- errors ----------------------------------------------------------------------------------------

TITLES = {400: "Неверный запрос", 401: "Нужно войти", 403: "Доступ запрещён", 404: "Не найдено",
          405: "Так нельзя", 409: "Конфликт", 413: "Слишком большой запрос", 500: "Ошибка сервера"}


def _error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500) or 500
    detail = getattr(exc, "detail", "") or str(exc)
    if status == 500 and not isinstance(exc, UserError):
        log.exception("Ошибка на сервере района", exc_info=exc)
        detail = "Что-то пошло не так. Повторите; если ошибка повторится, посмотрите журнал сервера."
    if isinstance(exc, UserError):
        status = exc.status_code or 400
    if request.url.path.startswith("/api/"):
        return _json({"error": detail}, status)
    if status == 401:
        return Redirect("/login", status_code=303)
    return Response(content=request.app.template_engine.get_template("district/error.html").render(
        title=TITLES.get(status, "Ошибка"), detail=detail, duser=None, t=fmt_time, lag=fmt_lag), status_code=status, media_type=MediaType.HTML)


def create_app(url: str, pool_size: int = 4) -> Litestar:
    jinja = make_environment()

    @asynccontextmanager
    async def lifespan(app: Litestar):
        pool = Pool(url, pool_size)
        app.state.pool = pool
        app.state.age_keys = await pool.run(store.identities)
        try:
            yield
        finally:
            pool.close()

    static = create_static_files_router(path="/static", directories=[resource_dir("static")], opt={"public": True},
                                        include_in_schema=False, name="static")
    return Litestar(
        route_handlers=[static, receive_chunk, school_mark, update_offer, update_bundle, login_page, login, logout, dashboard, school_page,
                        lost_download, lost_handed, api_schools],
        guards=[guard],
        lifespan=[lifespan],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja)),
        exception_handlers={Exception: _error},
        request_max_body_size=MAX_CHUNK + 1024,
        openapi_config=None,
        debug=False,
    )
