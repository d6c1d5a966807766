"""Pages of the journal: "Мои журналы", the grid of a period, saving a cell, the lesson
panel (topic, work type, homework, substitution), cell history, period grades, closing a
period. Each handler parses the request, runs one read or one write — the journal's access
is decided inside it (access.py) — and renders."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import SerializationException
from litestar.params import FromPath
from litestar.response import File
from markupsafe import Markup

from .. import clock
from ..reports import remarks as report_remarks
from ..timeutil import ru_date
from ..web import conditional
from ..web.access import current_user
from ..web.errors import too_large
from ..web.slots import page_slot
from ..web.forms import form_dict, int_or_none, ok_message, see_other
from ..web.templating import page, period_label
from . import access, files, store, writes
from .access import READ, READERS, WRITERS, Readable
from .rules import ATTENDANCE_LABELS, PERIOD_GRADE_LABELS, JournalError, ReasonRequired, cell_text
from .store import JournalInfo

WEEKDAY_SHORT = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]


def _journal_list(conn, user, today: str, wanted: int | None = None) -> dict:
    """«Мои журналы»: this year's journals the person may open and their to-do list; an earlier
    year's (`?year=ID`, §1.4.4: read-only) when asked for."""
    current = store.open_year(conn)
    years = conn.execute("SELECT * FROM academic_year WHERE status <> 'planned' ORDER BY starts_on").fetchall()
    year = next((y for y in years if y["id"] == wanted), None) or current
    if year is None:
        return {"year": None, "journals": [], "todo": {}, "years": years}
    return {"year": year, "journals": access.journals_for(conn, user, year["id"]), "years": years,
            "todo": store.todo(conn, user.person_id, today) if current and year["id"] == current["id"] else {}}


@get("/journals", opt=READERS)
async def journals_page(request: Request) -> Response:
    data = await request.app.state.db.read(_journal_list, current_user(request), clock.today().isoformat(),
                                           int_or_none(request.query_params.get("year")))
    return page("journal/list.html", **data)


@get("/journals/{journal_id:int}", opt=READERS, dependencies=READ)
async def journal_page(request: Request, info: Readable) -> Response:
    tag = await conditional.etag(request)
    if conditional.fresh(request, tag):
        return conditional.not_modified(tag)
    async with page_slot(request):
        response = await _journal_page(request, info)
    return conditional.tagged(response, tag)


async def _journal_page(request: Request, info: JournalInfo) -> Response:
    today = clock.today().isoformat()
    # ?lesson=YYYY-MM-DD/N (the teacher's day, a timetable) opens the period that lesson is in.
    lesson_day = request.query_params.get("lesson", "").partition("/")[0]
    shown = lesson_day if re.fullmatch(r"\d{4}-\d{2}-\d{2}", lesson_day) else today
    data = await request.app.state.db.read(store.grid_page, info, int_or_none(request.query_params.get("period")),
                                           shown)
    period, periods, g = data["period"], data["periods"], data["g"]
    if period is None:
        return page("journal/grid.html", info=info, period=None, periods=[], g=None, can_write=False, can_type=False)
    user = current_user(request)
    # The period grades of this period and the ones before it, and the year's: the year grade
    # is set looking at the quarter grades.
    upto = period["starts_on"] if period["kind"] != "year" else today
    period_columns = [p for p in periods if p["kind"] == "year" or p["starts_on"] <= upto]
    closed = access.is_closed(info)  # a closed year's journal is read-only for everyone
    can_write = access.keeps(user, info) and not closed
    # §3.4.4: a substitute types into the lessons they gave, and only those.
    substituted = set() if can_write or closed else {k for k, lesson in g["lessons"].items()
                                                     if lesson["substitute_id"] == user.person_id}
    # A closed study period (of the journal's kind, or the year) is read-only in the grid for
    # all but the deputy, who changes it with a reason (access.check_period_open): its cells do
    # not invite typing that the server would refuse, and a banner says who may change them.
    closed_periods = [p for p in periods if p["closed_at"]]
    editor = user.has(access.CLOSED_EDITOR)
    locked = set() if editor else {(d, n) for d, n in g["columns"]
                                   if any(p["starts_on"] <= d <= p["ends_on"] for p in closed_periods)}
    year_closed = any(p["kind"] == "year" for p in closed_periods)
    locked_grades = set() if editor else {p["id"] for p in period_columns if p["closed_at"] or year_closed}
    closed_here = [p for p in closed_periods
                   if p["starts_on"] <= period["ends_on"] and p["ends_on"] >= period["starts_on"]]
    period_locked = (not closed and not editor and (can_write or bool(substituted))
                     and bool(locked or (locked_grades and can_write)) and closed_here)
    rows = grid_rows(g, today, can_write, substituted, locked)
    # The deputy's open remarks on this journal (server/reports/remarks.py), until marked done.
    remarks = await request.app.state.db.read(report_remarks.for_journal, info.id)
    return page("journal/grid.html", info=info, period=period, periods=periods, period_columns=period_columns,
                rows=rows,
                g=g, can_write=can_write, can_type=can_write or bool(substituted),
                today=today, cell_text=cell_text, weekday=WEEKDAY_SHORT,
                attendance_labels=ATTENDANCE_LABELS, period_grade_labels=PERIOD_GRADE_LABELS,
                ok=ok_message(request), journal_closed=closed, remarks=remarks,
                locked_grades=locked_grades, period_locked=period_locked, closed_here=closed_here)


def grid_rows(g: dict, today: str, can_write: bool, writable: set | frozenset = frozenset(),
              locked: set | frozenset = frozenset()) -> list[Markup]:
    """Per student, the row's lesson cells as one ready piece of HTML.

    This is the one hot loop of the product (35 students × 70 lessons = 2,450 cells), so it
    is a plain Python join, not a Jinja loop: in Jinja every `{{ }}` of every cell is an
    escape() call and a context lookup, and the cells took 4 of the page's 6 ms. Everything
    that can carry text (the cell's value, the student's name) goes through html.escape;
    dates, lesson numbers, classes and marks come from our own code and fixed lists.
    `writable`: the (date, number) columns a substitute may type into when `can_write` is false;
    `locked`: the columns of a closed period, read-only all the same."""
    col_cls, col_labels = [], []
    for d, n in g["columns"]:
        lesson = g["lessons"].get((d, n))
        cls = "cell"
        if lesson is not None and lesson["status"] == "cancelled":
            cls += " cancelled"
        elif lesson is not None and lesson["is_control"]:
            cls += " control"
        if d == today:
            cls += " today"
        col_cls.append(cls)
        col_labels.append(f"{ru_date(d)}, {n}-й урок")
    tail = '" autocomplete="off" maxlength="12" spellcheck="false"></td>'
    tail_readonly = '" autocomplete="off" maxlength="12" spellcheck="false" readonly></td>'
    col_tail = [tail if (can_write or key in writable) and key not in locked else tail_readonly
                for key in g["columns"]]
    cells, rows = g["cells"], []
    for s in g["students"]:
        left, joined = s["to"], s["from"]
        name = escape(f"{s['last_name']} {s['first_name']}")
        parts = []
        for (d, n), cls, col, end in zip(g["columns"], col_cls, col_labels, col_tail):
            if (left and d > left) or d < joined:  # not in the class that day: no input
                parts.append(f'<td class="{cls} out"></td>')
                continue
            c = cells.get((s["id"], d, n))
            if c is None:
                value, mark = "", ""
            else:
                value = escape(cell_text(c["mark"], [v for v, _ in c["grades"]]))
                mark = f' data-mark="{escape(c["mark"])}"' if c["mark"] else ""
            parts.append(f'<td class="{cls}"><input class="g" data-d="{d}" data-n="{n}" value="{value}"{mark}'
                         f' aria-label="{name}, {col}{end}')
        rows.append(Markup("".join(parts)))
    return rows


async def _json_body(request: Request) -> dict:
    if request.content_type[0] == "application/json":
        try:
            body = await request.json()
        except SerializationException:
            raise JournalError("Неверный запрос: тело не в формате JSON.") from None
        if not isinstance(body, dict):
            raise JournalError("Неверный запрос.")
        return {k: ("" if v is None else str(v)) for k, v in body.items()}
    return await form_dict(request)


async def _body(request: Request) -> dict | JournalError:
    """The JSON (or form) body; what is wrong with it is told only to someone who may write
    this journal (`_writer_then`), so it comes back as the error instead of raising."""
    try:
        return await _json_body(request)
    except JournalError as e:
        return e


def _writer_then(conn, user, journal_id: int, body: dict | JournalError) -> dict:
    """The body's fields; a body that could not be read is refused only after access (a
    stranger hears 404 or 403, as for any write here)."""
    if isinstance(body, JournalError):
        access.for_writer(conn, user, journal_id)
        raise body
    return body


def _refused(e: JournalError) -> Response:
    """400 with the Russian reason; `need_reason` tells journal.js to ask for one and retry."""
    return Response({"error": e.message, **({"need_reason": True} if isinstance(e, ReasonRequired) else {})},
                    status_code=400)


def _shown_kind(fields: dict) -> str | None:
    """The grid shows the year: its row averages are the year's (journal.js sends `shown`)."""
    return "year" if fields.get("shown") == "year" else None


@post("/journals/{journal_id:int}/cell", opt=WRITERS, status_code=200)
async def cell_save(request: Request, journal_id: FromPath[int]) -> Response:
    """One cell of the grid, typed by the teacher; answers JSON for journal.js."""
    body = await _body(request)
    try:
        answer = await request.app.state.db.write(_save_cell, current_user(request), journal_id, body)
    except JournalError as e:
        return _refused(e)
    return Response(answer)


def _save_cell(conn, user, journal_id: int, body: dict | JournalError) -> dict:
    """The hottest write of the product (30 cells after every bell): the save and the
    student's new average in one write job — one hop to the writer thread, no read after."""
    fields = _writer_then(conn, user, journal_id, body)
    student_id = int_or_none(fields.get("student"))
    saved = writes.set_cell(conn, user, journal_id, fields.get("date"), int_or_none(fields.get("n")), student_id,
                            fields.get("value", "")[:40], fields.get("reason", "")[:200])
    return {"text": saved.text, "warnings": saved.warnings,
            **store.student_period_summary(conn, saved.info, student_id, saved.day, _shown_kind(fields))}


@post("/journals/{journal_id:int}/period-grade", opt=WRITERS, status_code=200)
async def period_grade_save(request: Request, journal_id: FromPath[int]) -> Response:
    body = await _body(request)
    try:
        value = await request.app.state.db.write(_save_period_grade, current_user(request), journal_id, body)
    except JournalError as e:
        return _refused(e)
    return Response({"text": value or ""})


def _save_period_grade(conn, user, journal_id: int, body: dict | JournalError) -> str | None:
    fields = _writer_then(conn, user, journal_id, body)
    return writes.set_period_grade(conn, user, journal_id, int_or_none(fields.get("period")),
                                   int_or_none(fields.get("student")), fields.get("value", "")[:10],
                                   fields.get("reason", "")[:200])


@post("/journals/{journal_id:int}/grade-type", opt=WRITERS, status_code=200)
async def grade_type_save(request: Request, journal_id: FromPath[int]) -> Response:
    body = await _body(request)
    try:
        answer = await request.app.state.db.write(_save_grade_type, current_user(request), journal_id, body)
    except JournalError as e:
        return _refused(e)
    return Response({"ok": True, **answer})


def _save_grade_type(conn, user, journal_id: int, body: dict | JournalError) -> dict:
    """The grade's new work type and the student's new average (the grid shows it at once)."""
    fields = _writer_then(conn, user, journal_id, body)
    student_id = int_or_none(fields.get("student")) or 0
    saved = writes.set_grade_work_type(conn, user, journal_id, fields.get("date"), int_or_none(fields.get("n")) or 0,
                                       student_id, int_or_none(fields.get("position")) or 0,
                                       fields.get("work_type", ""), fields.get("reason", ""))
    return {"student": student_id,
            **store.student_period_summary(conn, saved.info, student_id, saved.day, _shown_kind(fields))}


async def _reader(request: Request, journal_id: int) -> JournalInfo:
    return await request.app.state.db.read(access.for_reader, current_user(request), journal_id)


async def _lesson_panel(request: Request, info: JournalInfo, day: str, number: int,
                        error: str | None = None, warnings: list[str] | None = None, saved: bool = False,
                        status: int = 200, pick: str | None = None, status_form: bool = False,
                        whole: bool = False) -> Response:
    """The lesson panel; `status_form`: the answer to the substitution form, shown open;
    `pick`: the КТП item the teacher chose in the panel's select ('' — none), its topic fills
    the form; `whole`: as a page of its own (the panel's address opened in a tab)."""
    data = await request.app.state.db.read(store.lesson_panel, info, day, number)
    chosen = next((p for p in data["plan"] if str(p["id"]) == pick), None) if pick else None
    return page(
        "journal/lesson.html" if whole else "journal/_lesson.html", status_code=status, info=info, number=number, picked=pick is not None,
        chosen=chosen, **data, **access.lesson_rights(current_user(request), info, data["lesson"], data["closed"]),
        error=error, warnings=warnings or [], saved=saved, ru_day=ru_date(data["day"]), status_form=status_form)


@get("/journals/{journal_id:int}/lessons/{day:str}/{number:int}", opt=READERS, dependencies=READ)
async def lesson_panel(request: Request, info: Readable, day: FromPath[str], number: FromPath[int]) -> Response:
    # The grid loads the panel with HX-Request; the same address opened in a tab (a bookmark, a
    # middle click) gets a whole page around it, with its title and language.
    return await _lesson_panel(request, info, day, number, pick=request.query_params.get("plan_item_id"),
                               whole="HX-Request" not in request.headers)


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}", opt=WRITERS, status_code=200)
async def lesson_save(request: Request, journal_id: FromPath[int], day: FromPath[str],
                      number: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        saved = await request.app.state.db.write(
            writes.save_lesson, current_user(request), journal_id, day, number, form.get("topic", ""),
            form.get("work_type", "lesson"), int_or_none(form.get("plan_item_id")), form.get("reason", ""))
    except JournalError as e:
        return await _lesson_panel(request, await _reader(request, journal_id), day, number, error=e.message,
                                   status=400)
    return await _lesson_panel(request, saved.info, saved.day, number, warnings=saved.warnings, saved=True)


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}/homework", opt=WRITERS, status_code=200,
      request_max_body_size=files.UPLOAD_LIMIT, exception_handlers=too_large(files.TOO_LARGE_UPLOAD))
async def homework_save(request: Request, journal_id: FromPath[int], day: FromPath[str],
                        number: FromPath[int]) -> Response:
    db, user = request.app.state.db, current_user(request)
    data_dir = request.app.state.settings.data_dir
    # A stranger's upload is never read: refused here, before the form; the write decides
    # again inside its own transaction.
    info = await db.read(access.for_upload, user, journal_id, day, number)
    form = await request.form()
    text = str(form.get("text", ""))
    upload = form.get("file")
    stored = None
    try:
        minutes_raw = str(form.get("minutes", "")).strip()
        minutes = int(minutes_raw) if minutes_raw else None
    except ValueError:
        return await _lesson_panel(request, info, day, number, error="Время: целое число минут.", status=400)
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        if len(content) > files.MAX_HOMEWORK_FILE:
            return await _lesson_panel(request, info, day, number, status=400, error=files.TOO_LARGE)
        stored = files.store_homework_file(data_dir, upload.filename, content)
    try:
        saved = await db.write(writes.set_homework, user, journal_id, day, number, text, minutes, stored,
                               str(form.get("remove_file", "")) == "1", str(form.get("reason", "")),
                               str(form.get("due_date", "")).strip() or None)
    except Exception as e:
        files.discard(data_dir, stored)  # refused: the uploaded file is not kept
        if not isinstance(e, JournalError):
            raise
        return await _lesson_panel(request, await _reader(request, journal_id), day, number, error=e.message,
                                   status=400)
    return await _lesson_panel(request, saved.info, saved.day, number, warnings=saved.warnings, saved=True)


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}/status", opt=WRITERS, status_code=200)
async def lesson_status(request: Request, journal_id: FromPath[int], day: FromPath[str],
                        number: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        saved = await request.app.state.db.write(
            writes.set_lesson_status, current_user(request), journal_id, day, number, form.get("status", ""),
            int_or_none(form.get("substitute_id")), form.get("status_reason", ""), form.get("reason", ""))
    except JournalError as e:
        return await _lesson_panel(request, await _reader(request, journal_id), day, number, error=e.message,
                                   status=400, status_form=True)
    return await _lesson_panel(request, saved.info, saved.day, number, saved=True, status_form=True)


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}/register", opt=WRITERS, status_code=200)
async def lesson_register(request: Request, journal_id: FromPath[int], day: FromPath[str],
                          number: FromPath[int]) -> Response:
    """«Посещаемость отмечена» from the lesson panel (taken=0 withdraws it), or from the grid's
    key (it asks for JSON: the same answer as a cell's save, `need_reason` when a closed period
    needs the deputy's reason)."""
    form = await form_dict(request)
    as_json = "application/json" in request.headers.get("accept", "")
    try:
        saved = await request.app.state.db.write(
            writes.set_register, current_user(request), journal_id, day, number, form.get("taken", "1") != "0",
            form.get("reason", ""))
    except JournalError as e:
        if as_json:
            return _refused(e)
        return await _lesson_panel(request, await _reader(request, journal_id), day, number, error=e.message,
                                   status=400)
    if as_json:
        return Response({"taken": form.get("taken", "1") != "0"})
    return await _lesson_panel(request, saved.info, saved.day, number, saved=True)


@get("/journals/{journal_id:int}/history", opt=READERS, dependencies=READ)
async def cell_history(request: Request, info: Readable) -> Response:
    """Who set what in a cell and when, deletions included; a period grade's cell with `period`."""
    q = request.query_params
    student_id, number = int_or_none(q.get("student")), int_or_none(q.get("n"))
    data = await request.app.state.db.read(store.cell_history, info, student_id, q.get("date", ""), number,
                                           int_or_none(q.get("period")))
    p = data.pop("period")
    title = (f"итоговая отметка, {period_label(p['kind'], p['number'])}" if p
             else f"{ru_date(data['day'])}, {number}-й урок")
    return page("journal/_history.html", info=info, number=number, student_id=student_id, title=title, **data)


@get("/homework-files/{lesson_id:int}", opt=READERS)
async def homework_file(request: Request, lesson_id: FromPath[int]) -> Response:
    row = await request.app.state.db.read(_homework_file, current_user(request), lesson_id)
    return File(path=Path(request.app.state.settings.data_dir) / row["file_path"], filename=row["file_name"],
                content_disposition_type="attachment", media_type="application/octet-stream")


def _homework_file(conn, user, lesson_id: int):
    row = store.homework_file(conn, lesson_id)
    access.for_reader(conn, user, row["journal_id"])
    return row


@post("/school/periods/{period_id:int}/close", opt={"roles": {"deputy"}})
async def period_close(request: Request, period_id: FromPath[int]) -> Response:
    """The deputy closes a study period (its grades then change only by the deputy, with a reason)."""
    form = await form_dict(request)
    year_id = await request.app.state.db.write(writes.close_period, current_user(request), period_id,
                                               form.get("closed", "1") == "1")
    return see_other(f"/school/years/{year_id}", "saved")


ROUTES = [period_close, journals_page, journal_page, cell_save, period_grade_save, lesson_panel, lesson_save,
          homework_save, lesson_status, lesson_register, cell_history, grade_type_save, homework_file]
