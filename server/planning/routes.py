"""The КТП page of a journal (/journals/{id}/plan): the plan as a table with planned and given
hours, its history; for the journal's teacher and the deputy, forms to add, edit and delete
items, to load a file and to copy another class's plan; the templates to download."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from .. import clock
from ..journal import access
from ..journal.access import READ, READERS, WRITERS, Readable
from ..journal.rules import JournalError
from ..journal.store import JournalInfo
from ..web.access import current_user
from ..web.errors import error_response
from ..web.forms import form_dict, int_or_none, ok_message, see_other
from ..web.templating import page
from ..school.imports.pending import drop_pending, load_pending, stash
from . import files, store, writes
from .rules import COLUMNS, PlanRejected, hours_text, week_of


async def _page(request: Request, info: JournalInfo, *, status: int = 200, error: str | None = None,
                rejected: PlanRejected | None = None, notes: list[str] | None = None, form: dict | None = None,
                edit_id: int | None = None, file_name: str = "", done: str | None = None) -> Response:
    user = current_user(request)
    can_write = not access.is_closed(info) and access.keeps(user, info)
    log_id = int_or_none(request.query_params.get("log")) if error is None and rejected is None else None
    data = await request.app.state.db.read(store.plan_page, info, can_write, log_id, clock.today().isoformat())
    found = data.pop("done")
    done = done or found
    view = data["view"]
    edit = next((it for it in view["items"] if it["id"] == edit_id), None) if edit_id else None
    # What the add/edit form shows: what was typed (after an error), the item edited, or a new one.
    if form is not None:
        values = {k: form.get(k, "") for k in COLUMNS}
    elif edit is not None:
        values = {"number": edit["number"], "topic": edit["topic"], "hours": hours_text(edit["hours"]),
                  "date": edit["planned_date"] or "", "week": edit["planned_week"] or "",
                  "work_type": edit["work_type"]}
    else:
        values = {"number": max((it["number"] for it in view["items"]), default=0) + 1, "topic": "", "hours": "1",
                  "date": "", "week": "", "work_type": "lesson"}
    return page("planning/plan.html", status_code=status, info=info, **data, can_write=can_write, edit=edit,
                error=error, rejected=rejected, notes=notes or [], file_name=file_name,
                done=done, ok=None if done else ok_message(request), f=values,
                hours=hours_text, max_mb=files.MAX_FILE_BYTES // (1024 * 1024), accept=files.ACCEPT,
                formats=files.FORMATS_TEXT,
                year_weeks=week_of(info, info.year_end))


async def _reader(request: Request, journal_id: int) -> JournalInfo:
    return await request.app.state.db.read(access.for_reader, current_user(request), journal_id)


def _cells(form: dict) -> dict[str, str]:
    return {k: form.get(k, "") for k in COLUMNS}


async def _saved(request: Request, journal_id: int, result: dict, info: JournalInfo | None = None) -> Response:
    """After a whole plan was saved: the page with what was done (its ledger entry in the
    address); a save that changed nothing has no entry, so the page says it at once."""
    if result["entry_id"] is None:
        return await _page(request, info or await _reader(request, journal_id), done=result["detail"])
    return see_other(f"/journals/{journal_id}/plan?log={result['entry_id']}", "imported")


@get("/journals/{journal_id:int}/plan", opt=READERS, dependencies=READ)
async def plan_page(request: Request, info: Readable) -> Response:
    """The plan as a table, planned vs given hours; for the teacher, forms to change it."""
    return await _page(request, info, edit_id=int_or_none(request.query_params.get("edit")))


@post("/journals/{journal_id:int}/plan/items", opt=WRITERS)
async def plan_item_add(request: Request, journal_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        await request.app.state.db.write(writes.add_item, current_user(request), journal_id, _cells(form))
    except JournalError as e:
        return await _page(request, await _reader(request, journal_id), status=400, error=e.message, form=form)
    return see_other(f"/journals/{journal_id}/plan", "created")


@post("/journals/{journal_id:int}/plan/items/{item_id:int}", opt=WRITERS)
async def plan_item_save(request: Request, journal_id: FromPath[int], item_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        await request.app.state.db.write(writes.update_item, current_user(request), journal_id, item_id,
                                         _cells(form))
    except JournalError as e:
        return await _page(request, await _reader(request, journal_id), status=400, error=e.message, form=form,
                           edit_id=item_id)
    return see_other(f"/journals/{journal_id}/plan", "saved")


@post("/journals/{journal_id:int}/plan/items/{item_id:int}/delete", opt=WRITERS)
async def plan_item_delete(request: Request, journal_id: FromPath[int], item_id: FromPath[int]) -> Response:
    try:
        await request.app.state.db.write(writes.delete_item, current_user(request), journal_id, item_id)
    except JournalError as e:
        return await _page(request, await _reader(request, journal_id), status=400, error=e.message)
    return see_other(f"/journals/{journal_id}/plan", "deleted")


def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(request, 413, files.too_large_message())


@post("/journals/{journal_id:int}/plan/import", opt=WRITERS, request_max_body_size=files.UPLOAD_BODY_LIMIT,
      exception_handlers={413: _too_large})
async def plan_import(request: Request, journal_id: FromPath[int]) -> Response:
    """A КТП file: checked whole; any bad row → every bad row listed and nothing written; a
    clean file → the preview, which says what will arrive (and what not) before it is saved."""
    db, user = request.app.state.db, current_user(request)
    # A stranger's file is never read: refused before the form; the write decides again.
    info = await db.read(access.for_upload, user, journal_id, None, None, access.PLAN_KEEPERS)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, info, status=400, error="Выберите файл с КТП: " + files.FORMATS_TEXT + ".")
    file_name = files.safe_file_name(upload.filename)
    data = await upload.read()
    await upload.close()
    checked = await _check_file(request, info, journal_id, data, file_name)
    if isinstance(checked, Response):
        return checked
    token = stash(request.app.state.settings.data_dir, data, PLAN_KIND, file_name, user.session_hash,
                  {"journal_id": journal_id})
    # Post/redirect/get: refreshing the preview must not upload the file again.
    return see_other(f"/journals/{journal_id}/plan/preview?token={quote(token)}")


PLAN_KIND = "plan"


async def _check_file(request: Request, info: JournalInfo, journal_id: int, data: bytes, file_name: str):
    """(prepared rows, preview) of a file, or the page that says why it cannot be taken."""
    db, user = request.app.state.db, current_user(request)
    table = None
    try:
        # Reading a book takes CPU time: not on the loop that serves everyone else.
        table = await asyncio.to_thread(files.read_plan_file, data, info.parallel)
        prepared = files.prepare(table, info)
        preview = await db.read(writes.preview_plan, user, journal_id, prepared.rows, prepared.present,
                                prepared.unknown_types)
    except PlanRejected as e:
        return await _page(request, info, status=400, rejected=e, notes=[table.source, *table.notes],
                           file_name=file_name)
    except (files.FileRejected, JournalError) as e:
        return await _page(request, info, status=400, error=f"Файл «{file_name}» не загружен: {e.message}",
                           file_name=file_name)
    return table, prepared, preview


def _pending(request: Request, journal_id: int, token: str):
    pending = load_pending(request.app.state.settings.data_dir, token, current_user(request).session_hash,
                           kinds=(PLAN_KIND,))
    if pending is None or pending.options.get("journal_id") != journal_id:
        return None
    return pending


EXPIRED = "Проверенный файл не найден: он уже загружен или прошло больше часа. Загрузите его снова."


@get("/journals/{journal_id:int}/plan/preview", opt=WRITERS)
async def plan_preview(request: Request, journal_id: FromPath[int]) -> Response:
    """What the checked file will make of the plan: topics, hours, dates, control works; what
    is skipped and what is not taken; the rows. Saved only on «Загрузить»."""
    info = await request.app.state.db.read(access.for_upload, current_user(request), journal_id, None, None,
                                           access.PLAN_KEEPERS)
    pending = _pending(request, journal_id, request.query_params.get("token", ""))
    if pending is None:
        return await _page(request, info, status=400, error=EXPIRED)
    checked = await _check_file(request, info, journal_id, pending.data, pending.file_name)
    if isinstance(checked, Response):
        drop_pending(request.app.state.settings.data_dir, pending.token)
        return checked
    table, prepared, preview = checked
    rows = preview["rows"]
    names = preview["names"]
    kinds: dict[str, int] = {}
    for r in rows:
        if r.work_type != "lesson":
            kinds[names.get(r.work_type, r.work_type)] = kinds.get(names.get(r.work_type, r.work_type), 0) + 1
    dated_in_file = sum(1 for _, cells in prepared.rows if cells.get("date"))
    figures = {"topics": len(rows), "hours": sum(r.hours for r in rows), "dated": dated_in_file,
               "kept_dates": sum(1 for r in rows if r.planned_date) - dated_in_file if "date" not in prepared.present
               else 0, "weeks": sum(1 for r in rows if r.planned_week), "works": sum(kinds.values())}
    missing = [title for key, title in (("hours", "«Часы» — у каждой темы 1 час"),
                                        ("date", "«Дата»"), ("work_type", "«Вид работы» — все темы «урок»"))
               if key not in prepared.present]
    return page("planning/plan_preview.html", info=info, token=pending.token, file_name=pending.file_name,
                table=table, prepared=prepared, preview=preview, rows=rows, names=names, kinds=kinds,
                figures=figures, missing=missing, hours=hours_text,
                allowed=", ".join(names.values()))


@post("/journals/{journal_id:int}/plan/confirm", opt=WRITERS)
async def plan_confirm(request: Request, journal_id: FromPath[int]) -> Response:
    db, user = request.app.state.db, current_user(request)
    info = await db.read(access.for_upload, user, journal_id, None, None, access.PLAN_KEEPERS)
    form = await form_dict(request)
    pending = _pending(request, journal_id, form.get("token", ""))
    if pending is None:
        return await _page(request, info, status=400, error=EXPIRED)
    data_dir = request.app.state.settings.data_dir
    try:
        table = await asyncio.to_thread(files.read_plan_file, pending.data, info.parallel)
        prepared = files.prepare(table, info)
        result = await db.write(writes.save_plan, user, journal_id, prepared.rows, f"Файл «{pending.file_name}»",
                                "строке", "строк", prepared.present, {})
    except PlanRejected as e:
        drop_pending(data_dir, pending.token)
        return await _page(request, info, status=400, rejected=e, file_name=pending.file_name)
    except (files.FileRejected, JournalError) as e:
        drop_pending(data_dir, pending.token)
        return await _page(request, info, status=400,
                           error=f"Файл «{pending.file_name}» не загружен: {e.message}", file_name=pending.file_name)
    drop_pending(data_dir, pending.token)
    return await _saved(request, journal_id, result, info)


@post("/journals/{journal_id:int}/plan/cancel", opt=WRITERS)
async def plan_cancel(request: Request, journal_id: FromPath[int]) -> Response:
    await request.app.state.db.read(access.for_upload, current_user(request), journal_id, None, None,
                                    access.PLAN_KEEPERS)
    form = await form_dict(request)
    pending = _pending(request, journal_id, form.get("token", ""))
    if pending is not None:
        drop_pending(request.app.state.settings.data_dir, pending.token)
    return see_other(f"/journals/{journal_id}/plan")


@post("/journals/{journal_id:int}/plan/copy", opt=WRITERS)
async def plan_copy(request: Request, journal_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        result = await request.app.state.db.write(writes.copy_plan, current_user(request), journal_id,
                                                  int_or_none(form.get("source")))
    except JournalError as e:
        return await _page(request, await _reader(request, journal_id), status=400, error=e.message)
    return await _saved(request, journal_id, result)


@get(["/journals/plan-template.csv", "/journals/plan-template.xlsx"], opt=WRITERS)
async def plan_template(request: Request) -> Response:
    fmt = request.url.path.rsplit(".", 1)[-1]
    if fmt == "csv":
        content = files.template_csv()
    else:
        names = [w["name"] for w in await request.app.state.db.read(store.work_types)]
        content = await asyncio.to_thread(files.template_xlsx, names)
    return Response(content, media_type=files.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"plan-template.{fmt}\"; "
                               f"filename*=UTF-8''{quote(f'Шаблон КТП.{fmt}')}"})


ROUTES = [plan_page, plan_item_add, plan_item_save, plan_item_delete, plan_import, plan_preview, plan_confirm,
          plan_cancel, plan_copy, plan_template]
