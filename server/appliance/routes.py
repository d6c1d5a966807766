"""The appliance's pages: the server's health (/admin/health), updates (/admin/update), the
school's certificate for phones (/tls), and the guard that refuses school data on an
impossible date (wired once, in server/app.py)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect

from .. import __version__, clock, health
from ..errors import NotFound, UserError
from ..web.access import SAFE_METHODS, current_user
from ..web.errors import too_large
from ..web.templating import page
from . import release, tls, update as updates

VIEWERS = {"director", "deputy", "sysadmin"}
SYSADMIN = {"sysadmin"}
BUNDLE_MAX_BYTES = 1024**3
DONE = {
    "checked": "Проверка целостности базы выполнена.",
    "queued": "Пакет проверен, подпись верна. Обновление запущено: следите за ходом ниже.",
}


# --- the clock: one check for every state-changing request ---------------------------------------

class ImpossibleDate(UserError):
    # 4xx, not 503: the grid and the lesson panel show a refusal's own words (and keep what was
    # typed); for a 5xx they say only «ошибка на сервере».
    status_code = 409


# Requests that change no school data: logging in and out (the sysadmin must reach the health
# page to see why), the password, the kiosk's session, the server's own checks and updates.
CLOCK_FREE = frozenset({
    "/login", "/logout", "/password", "/kiosk/login", "/kiosk/logout", "/kiosk/ping",
    "/api/v1/auth/login", "/api/v1/auth/logout", "/admin/health/check-db", "/admin/update",
    "/admin/update/district",
})
FLOOR_SECONDS = 600  # the earliest possible date only grows; re-read it now and then


def with_clock_check(guard):
    """`guard`, then: a state-changing request to school data is refused while the server's
    clock shows a date before what has already happened (server/health.py, impossible_date).
    One guard, not two: Litestar copies the handler for each guard on every request."""

    async def checked(connection, handler) -> None:
        await guard(connection, handler)
        if connection.scope.get("method", "GET") in SAFE_METHODS or connection.scope["path"] in CLOCK_FREE:
            return
        await refuse_impossible_date(connection)

    return checked


async def refuse_impossible_date(connection) -> None:
    # Whatever the clock: one set by the `clock` setting (a demo shown on a chosen date) is as
    # bound by what has already happened as the machine's own.
    state = connection.app.state
    cached = getattr(state, "clock_floor", None)
    if cached is None or time.monotonic() - cached[0] > FLOOR_SECONDS:
        cached = state.clock_floor = (time.monotonic(), await state.db.read(health.earliest_possible))
    floor = cached[1]
    # The floor is read now and then; a write let through since is as much "already happened".
    seen = getattr(state, "clock_seen", None)
    if seen is not None and seen > floor[0]:
        floor = (seen, f"в журнале уже есть записи от {health.ru_time(seen)}")
    problem = health.impossible_date(floor)
    if problem:
        raise ImpossibleDate(problem)
    state.clock_seen = max(seen, clock.now()) if seen is not None else clock.now()


# --- health -------------------------------------------------------------------------------------

@get("/admin/health", opt={"roles": VIEWERS})
async def health_page(request: Request) -> Response:
    settings = request.app.state.settings
    checks = await anyio.to_thread.run_sync(lambda: health.run_all(settings, quick_check=None))
    return page("appliance/health.html", checks=checks, now=clock.local_now(),
                can_check=current_user(request).has(*SYSADMIN), ok=DONE.get(request.query_params.get("done", "")))


@post("/admin/health/check-db", opt={"roles": SYSADMIN})
async def check_db(request: Request) -> Response:
    settings = request.app.state.settings
    await anyio.to_thread.run_sync(lambda: health.run_quick_check(settings))
    health.forget_cached(settings)
    return Redirect("/admin/health?done=checked", status_code=303)


# --- updates ------------------------------------------------------------------------------------

def _update_context(request: Request) -> dict:
    settings = request.app.state.settings
    root = updates.app_root()
    st = updates.status(settings)
    info = release.build_info()
    from sync import offer as district_offer

    return {"st": st, "last": st.get("last"), "pending": st.get("pending"), "version": __version__,
            "offer": district_offer.ready(settings),
            "built_at": info.get("built_at"), "installed": root is not None,
            "previous": updates.linked(root, "previous") if root else None,
            "running": bool(st.get("pending")) or (st.get("last") or {}).get("state") == "running"}


@get("/admin/update", opt={"roles": SYSADMIN})
async def update_page(request: Request) -> Response:
    ctx = await anyio.to_thread.run_sync(lambda: _update_context(request))
    return page("appliance/update.html", ok=DONE.get(request.query_params.get("done", "")), error=None, **ctx)


@get("/admin/update/status", opt={"roles": SYSADMIN})
async def update_status(request: Request) -> Response:
    ctx = await anyio.to_thread.run_sync(lambda: _update_context(request))
    return page("appliance/_update_status.html", **ctx)


@post("/admin/update", opt={"roles": SYSADMIN}, request_max_body_size=BUNDLE_MAX_BYTES,
      exception_handlers=too_large(f"Файл больше {BUNDLE_MAX_BYTES // 1024**3} ГБ: это не обновление Журнала. "
                                   "Проверьте, тот ли файл выбран."))
async def update_upload(request: Request) -> Response:
    """The sysadmin uploads a bundle: checked here at once, applied by zhurnal-update.service."""
    settings = request.app.state.settings
    user = current_user(request)
    form = await request.form()
    upload = form.get("bundle")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise UserError("Выберите файл пакета обновления (zhurnal-ВЕРСИЯ.tar).")
        if updates.app_root() is None:
            raise UserError("Эта копия Журнала установлена не через install.sh: обновление через страницу "
                            "невозможно.")
        folder = updates.updates_dir(settings)

        def keep_upload() -> Path:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".tar", dir=folder)
            with open(fd, "wb") as out:
                upload.file.seek(0)
                shutil.copyfileobj(upload.file, out, 1024 * 1024)
            return Path(name)

        saved = await anyio.to_thread.run_sync(keep_upload)
        try:
            await anyio.to_thread.run_sync(lambda: updates.queue(settings, saved, user.login))
        finally:
            saved.unlink(missing_ok=True)
    except UserError as e:
        ctx = await anyio.to_thread.run_sync(lambda: _update_context(request))
        return page("appliance/update.html", status_code=409, ok=None, error=e.message, **ctx)
    finally:
        if isinstance(upload, UploadFile):
            await upload.close()
    return Redirect("/admin/update?done=queued", status_code=303)


@post("/admin/update/district", opt={"roles": SYSADMIN})
async def update_from_district(request: Request) -> Response:
    """The sysadmin applies the bundle the district offered (sync/offer.py): queued exactly like
    an uploaded one, and checked again on the way."""
    from sync import offer as district_offer

    settings = request.app.state.settings
    user = current_user(request)
    try:
        if updates.app_root() is None:
            raise UserError("Эта копия Журнала установлена не через install.sh: обновление через страницу "
                            "невозможно.")
        await anyio.to_thread.run_sync(lambda: district_offer.queue(settings, user.login))
    except UserError as e:
        ctx = await anyio.to_thread.run_sync(lambda: _update_context(request))
        return page("appliance/update.html", status_code=409, ok=None, error=e.message, **ctx)
    return Redirect("/admin/update?done=queued", status_code=303)


# --- the school's certificate -----------------------------------------------------------------------

@get("/tls", opt={"public": True})
async def tls_page(request: Request) -> Response:
    settings = request.app.state.settings
    info = await anyio.to_thread.run_sync(lambda: tls.info(settings))
    urls = await anyio.to_thread.run_sync(lambda: tls.https_urls(settings)) if info else []
    return page("appliance/tls.html", info=info, urls=urls)


@get("/tls/ca.crt", opt={"public": True})
async def tls_ca(request: Request) -> Response:
    settings = request.app.state.settings
    if not tls.is_set_up(settings):
        raise NotFound("HTTPS на этом сервере не настроен: сертификата школы нет.")
    pem = await anyio.to_thread.run_sync(lambda: tls.ca_certificate_pem(settings))
    # application/x-x509-ca-cert: Android and iOS offer to install it as a CA certificate.
    return Response(pem, media_type="application/x-x509-ca-cert",
                    headers={"Content-Disposition": 'attachment; filename="zhurnal-school-ca.crt"'})


ROUTES = [health_page, check_db, update_page, update_status, update_upload, update_from_district, tls_page, tls_ca]
