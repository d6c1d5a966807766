"""Pages of the import of class lists and staff (§3.5.1): upload → every bad row listed, or a
preview → confirm → imported in one transaction. The work is in server/school/imports/."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from ..tables import ACCEPT, FORMATS_TEXT, MAX_FILE_BYTES, safe_file_name, too_large_message
from ..web.access import current_user
from ..web.errors import error_response
from ..web.forms import form_dict, int_or_none, ok_message, see_other
from ..web.templating import page
from . import store
from .errors import SchoolError
from .guards import MANAGE
from .imports import apply, files
from .imports.pending import drop_pending, load_pending, purge_pending, stash
from .imports.rows import KINDS, STAFF, STUDENTS

# The upload may be bigger than the app's usual limit; the multipart wrapping adds a little.
UPLOAD_BODY_LIMIT = MAX_FILE_BYTES + 256 * 1024
EXPIRED = "Проверенный файл не найден: он уже импортирован или прошло больше часа. Загрузите его снова."


def _owner(request: Request) -> str:
    return current_user(request).session_hash


def _data_dir(request: Request):
    return request.app.state.settings.data_dir


def _page_view(conn, log_id: int | None) -> dict:
    last, last_classes = apply.log_entry(conn, log_id) if log_id is not None else (None, [])
    year = store.current_year(conn)
    classes = conn.execute("SELECT id, parallel || letter AS name FROM class WHERE year_id = ? AND archived_at IS NULL"
                           " ORDER BY parallel, letter", (year["id"],)).fetchall() if year else []
    return {"year": year, "history": apply.history(conn), "last": last, "last_classes": last_classes,
            "classes": classes}


async def _page(request: Request, status: int = 200, error: str | None = None, plan=None,
                kind: str | None = None, file_name: str = "", options: dict | None = None) -> Response:
    purge_pending(_data_dir(request))
    log_id = int_or_none(request.query_params.get("log"))
    view = await request.app.state.db.read(_page_view, log_id if error is None and plan is None else None)
    return page("school/import.html", status_code=status, ok=ok_message(request), error=error, plan=plan,
                kind=kind, file_name=file_name, **view, options=options or {}, accept=ACCEPT, formats=FORMATS_TEXT,
                kinds=KINDS, help={k: files.column_help(k) for k in KINDS}, max_mb=MAX_FILE_BYTES // (1024 * 1024))


@get("/school/import", opt=MANAGE)
async def import_page(request: Request) -> Response:
    return await _page(request)


def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(request, 413, too_large_message())


async def _check(request: Request, kind: str, data: bytes, options: dict):
    """(table, plan) of the file; raises ImportFileError for a file that cannot be read."""
    # Reading a big book takes seconds of CPU: not on the event loop that serves everyone else.
    table = await asyncio.to_thread(files.read_table, data, kind)
    return table, await request.app.state.db.read(apply.check, table, options)


def _options(form) -> dict:
    class_id = int_or_none(form.get("class_id"))
    return {"class_id": class_id} if class_id else {}


@post("/school/import", opt=MANAGE, request_max_body_size=UPLOAD_BODY_LIMIT, exception_handlers={413: _too_large})
async def import_upload(request: Request) -> Response:
    form = await request.form()
    kind = form.get("kind")
    upload = form.get("file")
    if kind not in KINDS:
        return await _page(request, 400, "Выберите, что импортировать: список класса или сотрудников.")
    options = _options(form)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, 400, "Выберите файл: Excel, LibreOffice, Word или CSV.", kind=kind,
                           options=options)
    file_name = safe_file_name(upload.filename)
    data = await upload.read()
    await upload.close()
    try:
        _, plan = await _check(request, kind, data, options)
    except SchoolError as e:
        return await _page(request, 400, e.message, kind=kind, file_name=file_name, options=options)
    if not plan.ok:
        return await _page(request, 400, plan=plan, kind=kind, file_name=file_name, options=options)
    token = stash(_data_dir(request), data, kind, file_name, _owner(request), options)
    # Post/redirect/get: refreshing the preview must not upload the file again.
    return see_other(f"/school/import/preview?token={quote(token)}")


@get("/school/import/preview", opt=MANAGE)
async def import_preview(request: Request) -> Response:
    token = request.query_params.get("token", "")
    if not token:
        return see_other("/school/import")
    pending = load_pending(_data_dir(request), token, _owner(request))
    if pending is None:
        return await _page(request, 400, EXPIRED)
    try:
        _, plan = await _check(request, pending.kind, pending.data, pending.options)
    except SchoolError as e:
        drop_pending(_data_dir(request), token)
        return await _page(request, 400, e.message, kind=pending.kind, file_name=pending.file_name)
    if not plan.ok:
        # The school changed since the upload (someone added a class's student by hand…).
        drop_pending(_data_dir(request), token)
        return await _page(request, 400, plan=plan, kind=pending.kind, file_name=pending.file_name)
    return page("school/import_preview.html", plan=plan, token=token, file_name=pending.file_name,
                kind_label=KINDS[pending.kind], changed=request.query_params.get("changed") == "1")


@post("/school/import/confirm", opt=MANAGE)
async def import_confirm(request: Request) -> Response:
    form = await form_dict(request)
    token = form.get("token", "")
    pending = load_pending(_data_dir(request), token, _owner(request))
    if pending is None:
        return await _page(request, 400, EXPIRED)
    user = current_user(request)
    try:
        table = await asyncio.to_thread(files.read_table, pending.data, pending.kind)
        result = await request.app.state.db.write(apply.run_import, user.account_id, table, pending.file_name,
                                                  form.get("expected"), pending.options)
    except apply.ImportChanged:
        return see_other(f"/school/import/preview?token={quote(token)}&changed=1")
    except apply.ImportRejected as e:
        drop_pending(_data_dir(request), token)
        return await _page(request, 400, plan=e.plan, kind=pending.kind, file_name=pending.file_name)
    except SchoolError as e:
        drop_pending(_data_dir(request), token)
        return await _page(request, 400, e.message, kind=pending.kind, file_name=pending.file_name)
    drop_pending(_data_dir(request), token)
    return see_other(f"/school/import?log={result.log_id}", "imported")


@post("/school/import/cancel", opt=MANAGE)
async def import_cancel(request: Request) -> Response:
    form = await form_dict(request)
    if load_pending(_data_dir(request), form.get("token", ""), _owner(request)) is not None:
        drop_pending(_data_dir(request), form["token"])
    return see_other("/school/import")


TEMPLATES = {
    "template-students.csv": (STUDENTS, "csv"),
    "template-students.xlsx": (STUDENTS, "xlsx"),
    "template-staff.csv": (STAFF, "csv"),
    "template-staff.xlsx": (STAFF, "xlsx"),
}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@get([f"/school/import/{name}" for name in TEMPLATES], opt=MANAGE)
async def import_template(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    kind, fmt = TEMPLATES[name]
    content = files.template_csv(kind) if fmt == "csv" else await asyncio.to_thread(files.template_xlsx, kind)
    russian = f"{files.TEMPLATE_NAMES[kind]}.{fmt}"
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(russian)}"})


ROUTES = [import_page, import_upload, import_preview, import_confirm, import_cancel, import_template]
