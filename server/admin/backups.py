"""The backups page: list, status, create now, USB copy, restore test, restore, set-up.

The deputy owns backups (§3.4.6) and the sysadmin does backups and restore (DESIGN.md,
roles); the director may look. The heavy work runs in a worker thread; the functions
are those of the CLI (backups/service.py).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread
import segno
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect

from backups import keys, scheduler, service, state
from backups.errors import BackupError, from_os_error
from backups.service import Prepared

from ..db import DatabaseError
from ..web.access import current_user
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


@dataclass
class Pending:
    prepared: Prepared
    account_id: int


def _pending(request: Request) -> dict[str, Pending]:
    found = getattr(request.app.state, "backup_pending", None)
    if found is None:
        found = request.app.state.backup_pending = {}
    return found


def _drop_expired(request: Request) -> None:
    pending = _pending(request)
    limit = datetime.now().timestamp() - service.PENDING_TTL.total_seconds()
    for token in [t for t, p in pending.items() if p.prepared.created < limit]:
        pending.pop(token).prepared.discard()


async def _context(request: Request) -> dict:
    settings = request.app.state.settings
    user = current_user(request)

    def gather() -> dict:
        st = state.read(settings.data_dir)
        try:
            recipients = keys.recipients(settings.data_dir)
        except BackupError:
            recipients = []
        now = datetime.now().astimezone()
        return {
            "st": st,
            "entries": service.list_backups(service.folder(settings), st),
            "set_up": keys.is_set_up(settings.data_dir),
            "recipients": recipients,
            "problems": service.problems(settings, st),
            "free_mb": service.free_mb(settings),
            "min_free_mb": settings.backup_min_free_mb,
            "usb_configured": service.usb_configured(settings),
            "usb_desc": settings.backup_usb_dir or (f"накопитель с меткой «{settings.backup_usb_label}»"
                                                    if settings.backup_usb_label else ""),
            "next_run": scheduler.last_slot(now, scheduler.parse_time(settings.backup_time)) + timedelta(days=1),
            "backup_time": settings.backup_time,
        }

    ctx = await anyio.to_thread.run_sync(gather)
    sched = getattr(request.app.state, "backups", None)
    ctx.update(
        running=bool(sched and sched.running),
        can_operate=user.has(*OPERATORS),
        can_restore=user.has(*RESTORERS),
        ok=DONE.get(request.query_params.get("done", "")),
        error=None,
    )
    return ctx


async def _page(request: Request, status: int = 200, **extra) -> Response:
    ctx = await _context(request)
    ctx.update(extra)
    return page("admin/backups.html", status_code=status, **ctx)


def _done(what: str) -> Redirect:
    return Redirect(f"/admin/backups?done={what}", status_code=303)


@get("/admin/backups", opt={"roles": VIEWERS})
async def backups_page(request: Request) -> Response:
    return await _page(request)


@post("/admin/backups/create", opt={"roles": OPERATORS})
async def create_now(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        await anyio.to_thread.run_sync(lambda: service.create_backup(settings, "manual"))
    except BackupError as e:
        return await _page(request, 409, error=str(e))
    return _done("created")


@post("/admin/backups/usb", opt={"roles": OPERATORS})
async def usb_now(request: Request) -> Response:
    settings = request.app.state.settings
    try:
        await anyio.to_thread.run_sync(lambda: service.copy_to_usb(settings))
    except BackupError as e:
        return await _page(request, 409, error=str(e))
    return _done("usb")


@post("/admin/backups/keep", opt={"roles": OPERATORS})
async def keep_mark(request: Request) -> Response:
    form = await request.form()
    settings = request.app.state.settings
    try:
        await anyio.to_thread.run_sync(
            lambda: service.set_keep(settings, str(form.get("file", "")), form.get("keep") == "1"))
    except BackupError as e:
        return await _page(request, 400, error=str(e))
    return _done("kept")


@post("/admin/backups/recipients", opt={"roles": OPERATORS})
async def add_recipient(request: Request) -> Response:
    form = await request.form()
    settings = request.app.state.settings
    try:
        await anyio.to_thread.run_sync(lambda: keys.add_recipient(
            settings.data_dir, str(form.get("public_key", ""))[:200], str(form.get("label", ""))))
    except BackupError as e:
        return await _page(request, 400, error=str(e))
    return _done("recipient")


@post("/admin/backups/setup", opt={"roles": OPERATORS})
async def set_up(request: Request) -> Response:
    """Make the keys and show the recovery key once: it is not stored anywhere."""
    form = await request.form()
    settings = request.app.state.settings
    replace = form.get("replace") == "1"
    try:
        text, public = await anyio.to_thread.run_sync(lambda: keys.set_up(settings.data_dir, replace))
    except BackupError as e:
        return await _page(request, 409, error=str(e))
    secret = next(line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    log.info("Ключи резервного копирования %s (%s)", "заменены" if replace else "созданы", current_user(request).login)
    school = await request.app.state.db.fetchone("SELECT name FROM school WHERE id = 1")
    return page(
        "admin/backup_recovery_key.html",
        secret=secret,
        grouped=_grouped(secret),
        public=public,
        key_file_b64=base64.b64encode(text.encode("utf-8")).decode("ascii"),
        qr_svg=segno.make(secret, error="m").svg_inline(scale=4, border=2),
        school_name=school["name"] if school else "",
        created=datetime.now().strftime("%d.%m.%Y %H:%M"),
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


@post("/admin/backups/test-restore", opt={"roles": OPERATORS})
async def test_restore(request: Request) -> Response:
    """A full restore into a temporary file with the recovery key; nothing is replaced."""
    form = await request.form()
    settings = request.app.state.settings
    name = str(form.get("file", ""))
    try:
        identities = await _identities_from_form(form)
        path = _local_backup(settings, name) if name else None
        prepared = await anyio.to_thread.run_sync(lambda: service.test_restore(settings, path, identities))
    except BackupError as e:
        return await _page(request, 409, error=f"Проверка восстановления не прошла: {e}")
    taken = prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M")
    return await _page(request, ok=f"Проверка восстановления прошла: копия от {taken} расшифрована ключом "
                                   f"восстановления, база цела ({prepared.total_rows} строк).")


def _local_backup(settings, name: str):
    for entry in service.list_backups(service.folder(settings)):
        if entry.name == name:
            return entry.path
    raise BackupError("Такой резервной копии нет в списке.")


async def _confirm_page(request: Request, prepared: Prepared) -> Response:
    _drop_expired(request)
    _pending(request)[prepared.token] = Pending(prepared, current_user(request).account_id)
    return page("admin/backup_restore_confirm.html", p=prepared,
                taken=prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M"))


@post("/admin/backups/restore", opt={"roles": RESTORERS})
async def restore_from_list(request: Request) -> Response:
    """Step 1 with a backup from the list: the server key opens it."""
    form = await request.form()
    settings = request.app.state.settings
    try:
        path = _local_backup(settings, str(form.get("file", "")))
        identity = keys.server_identity(settings.data_dir)
        prepared = await anyio.to_thread.run_sync(lambda: service.prepare_restore(settings, path, [identity]))
    except BackupError as e:
        return await _page(request, 409, error=f"Восстановление невозможно: {e}")
    return await _confirm_page(request, prepared)


@post("/admin/backups/restore/upload", opt={"roles": RESTORERS}, request_max_body_size=UPLOAD_MAX_BYTES)
async def restore_upload(request: Request) -> Response:
    """Step 1 with an uploaded file (from a USB stick, another machine) and the recovery key."""
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
        prepared = await anyio.to_thread.run_sync(
            lambda: service.prepare_restore(settings, upload.file, identities, source_name=name))
    except BackupError as e:
        return await _page(request, 409, error=f"Восстановление невозможно: {e}")
    finally:
        if isinstance(upload, UploadFile):
            await upload.close()
    return await _confirm_page(request, prepared)


def _take_pending(request: Request, token: str) -> Pending:
    _drop_expired(request)
    pending = _pending(request).get(token)
    if pending is None or pending.account_id != current_user(request).account_id:
        raise BackupError("Подтверждение устарело или не найдено: начните восстановление заново.")
    return _pending(request).pop(token)


@post("/admin/backups/restore/cancel", opt={"roles": RESTORERS})
async def restore_cancel(request: Request) -> Response:
    form = await request.form()
    try:
        pending = _take_pending(request, str(form.get("token", "")))
    except BackupError:
        return _done("cancelled")
    await anyio.to_thread.run_sync(pending.prepared.discard)
    return _done("cancelled")


@post("/admin/backups/restore/confirm", opt={"roles": RESTORERS})
async def restore_confirm(request: Request) -> Response:
    """Step 2: safety copy of the current database, pause writes, swap, migrate, resume."""
    form = await request.form()
    settings = request.app.state.settings
    user = current_user(request)
    try:
        pending = _take_pending(request, str(form.get("token", "")))
    except BackupError as e:
        return await _page(request, 409, error=str(e))
    prepared = pending.prepared
    try:
        entry = await restore_running(request.app.state.db, settings, prepared, user.login)
    except BackupError as e:
        return await _page(request, 409, error=f"Восстановление не выполнено, текущая база не изменена: {e}")
    finally:
        await anyio.to_thread.run_sync(prepared.discard)
    log.info("База восстановлена из резервной копии %s (%s)", prepared.source, user.login)
    return page("admin/backup_restored.html", p=prepared, entry=entry,
                taken=prepared.created_at.astimezone().strftime("%d.%m.%Y %H:%M"))


async def restore_running(db, settings, prepared: Prepared, by: str) -> dict:
    """Restore into the running server; BackupError (and nothing changed) on failure."""
    lock = service.BackupLock(settings.data_dir)
    # A nightly backup may be running: wait for it, in a thread (flock blocks).
    await anyio.to_thread.run_sync(lock.acquire)
    try:
        await anyio.to_thread.run_sync(lambda: service.finish_prepared(prepared))
        safety: dict = {}

        async def before_swap() -> None:
            safety["file"] = await anyio.to_thread.run_sync(lambda: service.safety_copy(settings))

        try:
            await db.replace_file(prepared.db_path, before_swap)
        except DatabaseError as e:
            raise BackupError(str(e)) from None
        except OSError as e:
            raise from_os_error(e, "замене базы данных") from None
    finally:
        lock.release()
    entry = service.restore_record(prepared, safety.get("file"), by)
    await anyio.to_thread.run_sync(lambda: state.record_restore(settings.data_dir, entry))
    return entry


ROUTES = [backups_page, create_now, usb_now, keep_mark, add_recipient, set_up, test_restore,
          restore_from_list, restore_upload, restore_cancel, restore_confirm]
