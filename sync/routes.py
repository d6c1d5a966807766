"""The sysadmin's page «Синхронизация с районом» (/admin/sync): set-up, status, «send now»,
the USB stick, and the changes the district hands back after a restore.

Sync settings are the sysadmin's (DESIGN.md, roles); the director and the deputy may look."""

from __future__ import annotations

import base64
import logging
import sqlite3

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from backups import usb as backup_usb
from backups.errors import BackupError
from server.errors import UserError
from server.web.access import current_user
from server.web.templating import page

from . import lost, school

log = logging.getLogger("zhurnal.sync")

VIEWERS = {"director", "deputy", "sysadmin"}
OPERATORS = {"sysadmin"}
LOST_MAX_BYTES = 20_000_000


def unsealed(conn: sqlite3.Connection, after: int | None) -> int:
    """Ledger entries not sealed into a chunk yet."""
    if after is None:
        return conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    return conn.execute("SELECT count(*) FROM audit_log WHERE id > ?", (after,)).fetchone()[0]


async def _context(request: Request) -> dict:
    settings = request.app.state.settings
    data = settings.data_dir

    def files() -> dict:
        cfg = school.config(data)
        st = school.read_state(data)
        in_chunks = 0
        for e, s, f in school.outbox(data):
            try:
                in_chunks += int(school.chunks.parse(f.read_bytes(), f.name)[0].header.get("n", 0))
            except UserError:
                pass
        return {"cfg": cfg, "st": st, "in_chunks": in_chunks, "chunks_pending": len(school.outbox(data)),
                "set_up": school.is_set_up(data),
                "public_key": school.chunks.public_text(school.signing_key(data)) if school.key_path(data).exists()
                else ""}

    ctx = await anyio.to_thread.run_sync(files)
    sealed = ctx["st"].get("sealed") or {}
    ctx["changes_pending"] = ctx["in_chunks"] + await request.app.state.db.read(unsealed, sealed.get("last"))
    uploader = getattr(request.app.state, "uploader", None)
    user = current_user(request)
    ctx.update(ru_time=school.ru_time, running=bool(uploader and uploader.running), can_operate=user.has(*OPERATORS),
               usb_configured=backup_usb.configured(settings), interval=settings.sync_interval,
               ok=None, error=None, review=None)
    return ctx


async def _page(request: Request, status: int = 200, **extra) -> Response:
    ctx = await _context(request)
    ctx.update(extra)
    return page("admin/sync.html", status_code=status, **ctx)


@get("/admin/sync", opt={"roles": VIEWERS})
async def sync_page(request: Request) -> Response:
    return await _page(request)


@post("/admin/sync/setup", opt={"roles": OPERATORS})
async def sync_setup(request: Request) -> Response:
    form = await request.form()
    data = request.app.state.settings.data_dir
    try:
        public = await anyio.to_thread.run_sync(lambda: school.setup(
            data, str(form.get("district", ""))[:300], str(form.get("district_key", ""))[:200],
            str(form.get("school", ""))[:60]))
    except UserError as e:
        return await _page(request, 400, error=str(e))
    log.info("Синхронизация с районом настроена (%s)", current_user(request).login)
    return await _page(request, ok=f"Синхронизация настроена. Передайте в район открытый ключ школы: {public}")


@post("/admin/sync/now", opt={"roles": OPERATORS})
async def sync_now(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        r = await anyio.to_thread.run_sync(school.run_round, settings)
    except UserError as e:
        return await _page(request, 409, error=str(e))
    msg = f"Отправлено пакетов: {r.chunks_sent}, изменений: {r.changes_sent}."
    msg += " У района есть все изменения школы." if r.complete else " Отправлено не всё — повторим позже."
    return await _page(request, ok=msg)


@post("/admin/sync/usb", opt={"roles": OPERATORS})
async def sync_usb(request: Request) -> Response:
    """Write the pending chunks to the USB stick the backups use (reading the district's
    acknowledgement from it first, when the stick has been to the district)."""
    settings = request.app.state.settings
    try:
        target = await anyio.to_thread.run_sync(backup_usb.target, settings)
        folder = target / "zhurnal-sync"
        folder.mkdir(exist_ok=True)
        written = await anyio.to_thread.run_sync(school.export, settings, folder)
    except (UserError, BackupError) as e:
        return await _page(request, 409, error=str(e))
    except OSError as e:
        return await _page(request, 409, error=f"Не удалось записать на USB-накопитель: {e.strerror}.")
    return await _page(request, ok=f"На USB-накопитель записано пакетов: {len(written)} (папка {folder}). "
                                   "Отвезите его в район; привезённое обратно подтверждение будет прочитано при "
                                   "следующей записи.")


@post("/admin/sync/lost", opt={"roles": OPERATORS})
async def sync_lost(request: Request) -> Response:
    """Upload the district's file: first a review, then (confirm=1) the re-apply."""
    form = await request.form()
    cfg = school.config(request.app.state.settings.data_dir)
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(LOST_MAX_BYTES + 1)
    else:
        try:
            raw = base64.b64decode(str(form.get("payload", "")), validate=True)
        except ValueError:
            raw = b""
    if not raw or len(raw) > LOST_MAX_BYTES:
        return await _page(request, 400, error="Выберите файл с изменениями из района (zhurnal-lost-КОД.json).")
    try:
        data = lost.read(raw, cfg.get("school_code", ""))
    except UserError as e:
        return await _page(request, 400, error=str(e))
    if form.get("confirm") == "1":
        done, problems = await request.app.state.db.write(lost.apply, current_user(request).account_id, data["items"])
        request.app.state.uploader.wake() if getattr(request.app.state, "uploader", None) else None
        msg = f"Возвращено изменений: {done}. Они уйдут в район со следующей отправкой."
        return await _page(request, ok=msg, error=" ".join(problems) or None)
    items = await request.app.state.db.read(lost.review, data["items"])
    return await _page(request, review={"items": items, "summary": lost.summary(items), "labels": lost.LABELS,
                                        "payload": base64.b64encode(raw).decode(), "as_text": lost.as_text})


ROUTES = [sync_page, sync_setup, sync_now, sync_usb, sync_lost]
