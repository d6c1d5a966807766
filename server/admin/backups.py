"""The backups page: list, status, create now, USB copy, restore test, restore, set-up.

The deputy owns backups (§3.4.6) and the sysadmin does backups and restore (DESIGN.md,
roles); the director may look. The heavy work runs in a worker thread; the functions
are those of the CLI (backups/create.py, restore.py, status.py, usb.py). A refusal (a
UserError: BackupError, or DatabaseError from the swap) shows this page again with its
Russian message; nothing was changed then.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
from datetime import timedelta

import anyio.to_thread
import segno
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect

from backups import create, keys, restore, scheduler, state, status, usb
from backups.errors import BackupError
from backups.restore import Prepared

from .. import clock
from ..errors import UserError
from ..web.access import current_user
from ..web.errors import too_large
from ..web.templating import page

log = logging.getLogger("zhurnal")

VIEWERS = {"director", "deputy", "sysadmin"}
OPERATORS = {"deputy", "sysadmin"}
RESTORERS = {"sysadmin"}
# A backup file uploaded for a restore; every other request keeps the app's small limit.
UPLOAD_MAX_BYTES = 4 * 1024**3
KEY_MAX_BYTES = 64 * 1024
DONE = {
    "created": "Резервная копия создана и проверена.",
    "usb": "Копия записана на USB-накопитель и проверена.",
    "recipient": "Ключ добавлен: следующие копии будут зашифрованы и для него.",
    "kept": "Отметка «хранить всегда» изменена.",
    "cancelled": "Восстановление отменено, текущая база не изменялась.",
}


def _gather(settings) -> dict:
    """What the page shows, read from the backups folder and the keys (blocking)."""
    st = state.read(settings.data_dir)
    try:
        recipients = keys.recipients(settings.data_dir)
    except BackupError:
        recipients = []
    now = clock.local_now()
    return {
        "st": st,
        "entries": status.list_backups(state.folder(settings), st),
        "set_up": keys.is_set_up(settings.data_dir),
        "recipients": recipients,
        "problems": status.problems(settings, st),
        "free_mb": status.free_mb(settings),
        "min_free_mb": settings.backup_min_free_mb,
        "usb_configured": usb.configured(settings),
        "usb_desc": settings.backup_usb_dir or (f"накопитель с меткой «{settings.backup_usb_label}»"
                                                if settings.backup_usb_label else ""),
        "next_run": scheduler.last_slot(now, scheduler.parse_time(settings.backup_time)) + timedelta(days=1),
        "backup_time": settings.backup_time,
    }


async def _page(request: Request, status_code: int = 200, **extra) -> Response:
    ctx = await anyio.to_thread.run_sync(_gather, request.app.state.settings)
    user = current_user(request)
    ctx.update(
        running=request.app.state.backups.running,
        can_operate=user.has(*OPERATORS),
        can_restore=user.has(*RESTORERS),
        ok=DONE.get(request.query_params.get("done", "")),
        error=None,
    )
    ctx.update(extra)
    return page("admin/backups.html", status_code=status_code, **ctx)


async def _refused(request: Request, e: UserError, status_code: int = 409, prefix: str = "") -> Response:
    return await _page(request, status_code, error=prefix + e.message)


def _done(what: str) -> Redirect:
    return Redirect(f"/admin/backups?done={what}", status_code=303)


def _in_thread(fn, *args):
    return anyio.to_thread.run_sync(fn, *args)


@get("/admin/backups", opt={"roles": VIEWERS})
async def backups_page(request: Request) -> Response:
    return await _page(request)


@post("/admin/backups/create", opt={"roles": OPERATORS})
async def create_now(request: Request) -> Response:
    try:
        await _in_thread(create.create_backup, request.app.state.settings, "manual")
    except UserError as e:
        return await _refused(request, e)
    return _done("created")


@post("/admin/backups/usb", opt={"roles": OPERATORS})
async def usb_now(request: Request) -> Response:
    try:
        await _in_thread(usb.copy_to_usb, request.app.state.settings)
    except UserError as e:
        return await _refused(request, e)
    return _done("usb")


@post("/admin/backups/keep", opt={"roles": OPERATORS})
async def keep_mark(request: Request) -> Response:
    form = await request.form()
    try:
        await _in_thread(status.set_keep, request.app.state.settings, str(form.get("file", "")),
                         form.get("keep") == "1")
    except UserError as e:
        return await _refused(request, e, 400)
    return _done("kept")


@post("/admin/backups/recipients", opt={"roles": OPERATORS})
async def add_recipient(request: Request) -> Response:
    form = await request.form()
    try:
        await _in_thread(keys.add_recipient, request.app.state.settings.data_dir,
                         str(form.get("public_key", ""))[:200], str(form.get("label", "")))
    except UserError as e:
        return await _refused(request, e, 400)
    return _done("recipient")


def _school_name(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT name FROM school WHERE id = 1").fetchone()
    return row[0] if row else ""


@post("/admin/backups/setup", opt={"roles": OPERATORS})
async def set_up(request: Request) -> Response:
    """Make the keys and show the recovery key once: it is not stored anywhere."""
    form = await request.form()
    replace = form.get("replace") == "1"
    try:
        text, public = await _in_thread(keys.set_up, request.app.state.settings.data_dir, replace)
    except UserError as e:
        return await _refused(request, e)
    secret = next(line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    log.info("Ключи резервного копирования %s (%s)", "заменены" if replace else "созданы", current_user(request).login)
    return page(
        "admin/backup_recovery_key.html",
        secret=secret,
        grouped=_grouped(secret),
        public=public,
        key_file_b64=base64.b64encode(text.encode("utf-8")).decode("ascii"),
        qr_svg=segno.make(secret, error="m").svg_inline(scale=4, border=2),
        school_name=await request.app.state.db.read(_school_name),
        created=clock.local_now().strftime("%d.%m.%Y %H:%M"),
        replaced=replace,
    )


def _grouped(secret: str) -> str:
    """The key in groups of four after its prefix, easier to read aloud or retype."""
    prefix, body = secret[:16], secret[16:]
    return prefix + " " + " ".join(body[i:i + 4] for i in range(0, len(body), 4))


async def _identities_from_form(form) -> list:
    """The recovery key from an uploaded key file or pasted text."""
    upload = form.get("key_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(KEY_MAX_BYTES + 1)
        if len(data) > KEY_MAX_BYTES:
            raise BackupError("Это не файл ключа: он слишком большой.")
        try:
            return keys.load_key_text(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise BackupError("Это не файл ключа восстановления.") from None
    return keys.load_key_text(str(form.get("key_text", "")))


def _local_backup(settings, name: str):
    for entry in status.list_backups(state.folder(settings)):
        if entry.name == name:
            return entry.path
    raise BackupError("Такой резервной копии нет в списке.")


@post("/admin/backups/test-restore", opt={"roles": OPERATORS})
async def test_restore(request: Request) -> Response:
    """A full restore into a private folder with the recovery key; nothing is replaced."""
    form = await request.form()
    settings = request.app.state.settings
    name = str(form.get("file", ""))
    try:
        identities = await _identities_from_form(form)
        path = _local_backup(settings, name) if name else None
        prepared = await _in_thread(restore.trial_restore, settings, path, identities)
    except UserError as e:
        return await _refused(request, e, prefix="Проверка восстановления не прошла: ")
    taken = prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M")
    files = f", файлы на месте ({prepared.files_count})" if prepared.has_files else ""
    return await _page(request, ok=f"Проверка восстановления прошла: копия от {taken} расшифрована ключом "
                                   f"восстановления, база цела ({prepared.total_rows} строк){files}.")


SEVERAL_WORKERS = ("Сервер работает несколькими процессами: восстановление из копии выполняется с консоли. "
                   "Остановите сервер (sudo systemctl stop zhurnal) и выполните zhurnal backup restore.")


def _one_process(request: Request) -> None:
    """The web restore replaces the database under the running process; with several
    workers (server/workers.py) the others would keep the old file open."""
    if request.app.state.get("worker"):
        raise BackupError(SEVERAL_WORKERS, status_code=409)


async def _confirm_page(request: Request, prepared: Prepared) -> Response:
    await request.app.state.backups.pending.add(prepared, current_user(request).account_id)
    return page("admin/backup_restore_confirm.html", p=prepared,
                taken=prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M"),
                minutes=int(restore.PENDING_TTL.total_seconds() // 60))


@post("/admin/backups/restore", opt={"roles": RESTORERS})
async def restore_from_list(request: Request) -> Response:
    """Step 1 with a backup from the list: the server key opens it."""
    _one_process(request)
    form = await request.form()
    settings = request.app.state.settings
    try:
        path = _local_backup(settings, str(form.get("file", "")))
        identity = keys.server_identity(settings.data_dir)
        prepared = await _in_thread(restore.prepare_restore, settings, path, [identity])
    except UserError as e:
        return await _refused(request, e, prefix="Восстановление невозможно: ")
    return await _confirm_page(request, prepared)


@post("/admin/backups/restore/upload", opt={"roles": RESTORERS}, request_max_body_size=UPLOAD_MAX_BYTES,
      exception_handlers=too_large(f"Файл больше {UPLOAD_MAX_BYTES // 1024**3} ГБ: это не резервная копия Журнала. "
                                   "Проверьте, тот ли файл выбран."))
async def restore_upload(request: Request) -> Response:
    """Step 1 with an uploaded file (from a USB stick, another machine) and the recovery key."""
    _one_process(request)
    form = await request.form()
    settings = request.app.state.settings
    upload = form.get("backup")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BackupError("Выберите файл резервной копии.")
        identities = await _identities_from_form(form)
        # The server key opens the server's own backups too, if the admin has no recovery key at hand.
        if keys.is_set_up(settings.data_dir):
            identities.append(keys.server_identity(settings.data_dir))
        await upload.seek(0)
        name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
        prepared = await _in_thread(lambda: restore.prepare_restore(settings, upload.file, identities,
                                                                    source_name=name))
    except UserError as e:
        return await _refused(request, e, prefix="Восстановление невозможно: ")
    finally:
        if isinstance(upload, UploadFile):
            await upload.close()
    return await _confirm_page(request, prepared)


@post("/admin/backups/restore/cancel", opt={"roles": RESTORERS})
async def restore_cancel(request: Request) -> Response:
    form = await request.form()
    try:
        prepared = await request.app.state.backups.pending.take(str(form.get("token", "")),
                                                                current_user(request).account_id)
    except BackupError:
        return _done("cancelled")  # expired meanwhile: already removed
    await _in_thread(prepared.discard)
    return _done("cancelled")


@post("/admin/backups/restore/confirm", opt={"roles": RESTORERS})
async def restore_confirm(request: Request) -> Response:
    """Step 2: safety copy of the current database, pause writes, swap, migrate, resume."""
    _one_process(request)
    form = await request.form()
    user = current_user(request)
    try:
        prepared = await request.app.state.backups.pending.take(str(form.get("token", "")), user.account_id)
    except UserError as e:
        return await _refused(request, e)
    try:
        entry = await restore.install_running(request.app.state.db, request.app.state.settings, prepared, user.login)
    except UserError as e:
        return await _refused(request, e, prefix="Восстановление не выполнено, текущая база не изменена: ")
    finally:
        await _in_thread(prepared.discard)
    log.info("База восстановлена из резервной копии %s (%s)", prepared.source, user.login)
    return page("admin/backup_restored.html", p=prepared, entry=entry,
                taken=prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M"))


ROUTES = [backups_page, create_now, usb_now, keep_mark, add_recipient, set_up, test_restore,
          restore_from_list, restore_upload, restore_cancel, restore_confirm]
