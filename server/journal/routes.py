"""Pages of the journal: "Мои журналы", the grid of a period, saving a cell, the lesson
panel (topic, work type, homework, substitution), cell history, period grades."""

from __future__ import annotations

import secrets
from html import escape
from datetime import date
from pathlib import Path

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException, SerializationException
from litestar.params import FromPath
from litestar.response import File
from markupsafe import Markup

from ..school import store as school
from ..timeutil import ru_date
from ..web.access import current_user
from ..web.forms import form_dict, int_or_none, ok_message, see_other
from ..web.templating import page, period_label
from . import store, writes
from .rules import ATTENDANCE_LABELS, PERIOD_GRADE_LABELS, JournalError, ReasonRequired, cell_text

# Who may open journal pages at all (§2.1: never students or parents); which journal is
# then decided per row by store.may_read / writes._may_write.
READERS = {"roles": {"director", "deputy", "sysadmin", "teacher", "class_teacher"}}
WRITERS = {"roles": {"deputy", "teacher"}}
MAX_HOMEWORK_FILE = 10 * 1024 * 1024
WEEKDAY_SHORT = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]


NO_JOURNAL = "Такого журнала нет."
NOT_YOURS = "Это не ваш журнал: его ведёт другой учитель."
WRITERS_ONLY = "Записи в этот журнал вносит его учитель (или учитель на замене этого урока)."


async def _journal_or_404(request: Request, journal_id: int, *, for_write: bool = False) -> store.JournalInfo:
    db = request.app.state.db
    info = await store.journal_info(db, journal_id)
    if info is None or info.row["archived_at"]:
        raise NotFoundException(NO_JOURNAL)
    if not await store.may_read(db, current_user(request), info):
        raise PermissionDeniedException(NOT_YOURS)
    return info


def _is_writer(conn, user, info: store.JournalInfo, day: str | None, number: int | None) -> bool:
    """The journal's teacher, the deputy, or the substitute who gave that lesson (§3.4.4)."""
    if user.has("deputy") or info.row["teacher_id"] == user.person_id:
        return True
    return bool(day and number is not None and conn.execute(
        "SELECT 1 FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ? AND substitute_id = ?",
        (info.id, day, number, user.person_id)).fetchone())


async def _require_writer(request: Request, info: store.JournalInfo, day: str | None = None,
                          number: int | None = None) -> None:
    user = current_user(request)
    if user.has("deputy") or info.row["teacher_id"] == user.person_id:
        return  # no query needed
    if not await request.app.state.db.read(_is_writer, user, info, day, number):
        raise PermissionDeniedException(WRITERS_ONLY)


def _journal_in_job(conn, journal_id: int) -> store.JournalInfo:
    """The journal as the write job's own transaction sees it; 404 if gone or archived."""
    info = store.journal_info_sync(conn, journal_id)
    if info is None or info.row["archived_at"]:
        raise NotFoundException(NO_JOURNAL)
    return info


def _fresh(conn, user, info: store.JournalInfo, owner_only: bool, fn, *args):
    """Run the write `fn(conn, user, info, *args)` with the journal read again inside the write's
    own transaction: the route checked access on what it read before, and a journal archived or
    handed to another teacher since must not be written under the old rules. `owner_only`:
    the journal's teacher or the deputy (lesson status, period grades), not a substitute."""
    fresh = _journal_in_job(conn, info.id)
    if owner_only and not (user.has("deputy") or fresh.row["teacher_id"] == user.person_id):
        raise PermissionDeniedException(WRITERS_ONLY)
    return fn(conn, user, fresh, *args)


def _writable_journal(conn, user, journal_id: int, day: str | None, number: int | None) -> store.JournalInfo:
    """_journal_or_404 + _require_writer inside a write job: the journal, its teacher and
    its year are read in the transaction that writes, so a journal archived or handed to
    another teacher a moment before is never written under the old rules."""
    info = _journal_in_job(conn, journal_id)
    if not store.may_read_sync(conn, user, info):
        raise PermissionDeniedException(NOT_YOURS)
    if not _is_writer(conn, user, info, day, number):
        raise PermissionDeniedException(WRITERS_ONLY)
    return info


@get("/journals", opt=READERS)
async def journals_page(request: Request) -> Response:
    db = request.app.state.db
    user = current_user(request)
    year = await db.read(school.current_year)
    rows = await store.journals_for(db, user, year["id"]) if year else []
    todo = await store.todo(db, user.person_id) if year else {}
    return page("journal/list.html", year=year, journals=rows, todo=todo)


@get("/journals/{journal_id:int}", opt=READERS)
async def journal_page(request: Request, journal_id: FromPath[int]) -> Response:
    db = request.app.state.db
    info = await _journal_or_404(request, journal_id)
    periods = await store.periods_of(db, info)
    wanted = int_or_none(request.query_params.get("period"))
    period = next((p for p in periods if p["id"] == wanted), None) or store.current_period(
        periods, date.today().isoformat())
    if period is None:
        return page("journal/grid.html", info=info, period=None, periods=[], g=None, can_write=False, can_type=False)
    g = await store.grid(db, info, period)
    user = current_user(request)
    # The period grades of this period and the ones before it, and the year's: the year grade
    # is set looking at the quarter grades.
    upto = period["starts_on"] if period["kind"] != "year" else date.today().isoformat()
    period_columns = [p for p in periods if p["kind"] == "year" or p["starts_on"] <= upto]
    today = date.today().isoformat()
    can_write = user.has("deputy") or info.row["teacher_id"] == user.person_id
    # §3.4.4: a substitute types into the lessons they gave, and only those.
    substituted = set() if can_write else {k for k, lesson in g["lessons"].items()
                                           if lesson["substitute_id"] == user.person_id}
    rows = grid_rows(g, today, can_write, substituted)
    return page("journal/grid.html", info=info, period=period, periods=periods, period_columns=period_columns,
                rows=rows,
                g=g, can_write=can_write, can_type=can_write or bool(substituted),
                today=today, cell_text=cell_text, weekday=WEEKDAY_SHORT,
                attendance_labels=ATTENDANCE_LABELS, period_grade_labels=PERIOD_GRADE_LABELS,
                ok=ok_message(request))


def grid_rows(g: dict, today: str, can_write: bool, writable: set | frozenset = frozenset()) -> list[Markup]:
    """Per student, the row's lesson cells as one ready piece of HTML.

    This is the one hot loop of the product (35 students × 70 lessons = 2,450 cells), so it
    is a plain Python join, not a Jinja loop: in Jinja every `{{ }}` of every cell is an
    escape() call and a context lookup, and the cells took 4 of the page's 6 ms. Everything
    that can carry text (the cell's value, the student's name) goes through html.escape;
    dates, lesson numbers, classes and marks come from our own code and fixed lists.
    `writable`: the (date, number) columns a substitute may type into when `can_write` is false."""
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
    col_tail = [tail if can_write or key in writable else tail_readonly for key in g["columns"]]
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


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise JournalError("Неверная дата урока.") from None


@post("/journals/{journal_id:int}/cell", opt=WRITERS, status_code=200)
async def cell_save(request: Request, journal_id: FromPath[int]) -> Response:
    """One cell of the grid, typed by the teacher; answers JSON for journal.js.

    The hottest write of the product (30 cells after every bell): one hop to the writer
    thread does the access checks, the save and the new average (_save_cell)."""
    try:
        body: dict | JournalError = await _json_body(request)
    except JournalError as e:
        body = e  # told only to someone who may write this journal (_save_cell)
    try:
        result, summary = await request.app.state.db.write(_save_cell, current_user(request), journal_id, body)
    except JournalError as e:
        return _refused(e)
    return Response({"text": result["text"], "warnings": result["warnings"], **summary})


def _refused(e: JournalError) -> Response:
    """400 with the Russian reason; `need_reason` tells journal.js to ask for one and retry."""
    return Response({"error": e.message, **({"need_reason": True} if isinstance(e, ReasonRequired) else {})},
                    status_code=400)


def _save_cell(conn, user, journal_id: int, body: dict | JournalError) -> tuple[dict, dict]:
    """Access, writes.set_cell and the student's new average, in the one write job."""
    fields = body if isinstance(body, dict) else {}
    number = int_or_none(fields.get("n"))
    info = _writable_journal(conn, user, journal_id, fields.get("date"), number)
    if isinstance(body, JournalError):
        raise body
    day = _day(fields.get("date", ""))
    student_id = int_or_none(fields.get("student"))
    if number is None or student_id is None:
        raise JournalError("Неверный запрос.")
    result = writes.set_cell(conn, user, info, day, number, student_id, fields.get("value", "")[:40],
                             fields.get("reason", "")[:200])
    return result, store.student_period_summary(conn, info, student_id, day, _shown_kind(fields))


def _shown_kind(fields: dict) -> str | None:
    """The grid shows the year: its row averages are the year's (journal.js sends `shown`)."""
    return "year" if fields.get("shown") == "year" else None


@post("/journals/{journal_id:int}/period-grade", opt=WRITERS, status_code=200)
async def period_grade_save(request: Request, journal_id: FromPath[int]) -> Response:
    db = request.app.state.db
    info = await _journal_or_404(request, journal_id)
    body = await _json_body(request)
    user = current_user(request)
    if not (user.has("deputy") or info.row["teacher_id"] == user.person_id):
        raise PermissionDeniedException("Итоговую отметку ставит учитель журнала или заместитель директора.")
    try:
        period_id, student_id = int_or_none(body.get("period")), int_or_none(body.get("student"))
        if period_id is None or student_id is None:
            raise JournalError("Неверный запрос.")
        await db.write(_fresh, current_user(request), info, True, writes.set_period_grade, period_id, student_id,
                       body.get("value", "")[:10], body.get("reason", "")[:200])
    except JournalError as e:
        return _refused(e)
    value = await db.fetchval("SELECT value FROM period_grade WHERE journal_id = ? AND period_id = ? AND student_id = ?",
                              (journal_id, period_id, student_id))
    return Response({"text": value or ""})


async def _lesson_panel(request: Request, info: store.JournalInfo, day: str, number: int,
                        error: str | None = None, warnings: list[str] | None = None, saved: bool = False,
                        status: int = 200, pick: str | None = None, status_form: bool = False) -> Response:
    """The lesson panel; `status_form`: the answer to the substitution form, shown open."""
    db = request.app.state.db
    user = current_user(request)
    lesson = await db.fetchone("SELECT l.*, h.text AS hw_text, h.minutes AS hw_minutes, h.file_name AS hw_file,"
                               " h.file_size AS hw_size, (SELECT p.last_name || ' ' || p.first_name || ' '"
                               " || p.middle_name FROM person p WHERE p.id = l.substitute_id) AS substitute_name"
                               " FROM lesson l LEFT JOIN homework h ON h.lesson_id = l.id"
                               " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ?",
                               (info.id, day, number))
    lesson_ok = lesson is not None or store.is_scheduled(info, day, number)
    if not lesson_ok:
        raise NotFoundException("Такого урока нет в расписании журнала.")
    closed = await db.read(store.closed_period_sync, info, day)
    deputy, own = user.has("deputy"), info.row["teacher_id"] == user.person_id
    suggestion = (None if lesson and (lesson["topic"] or lesson["status"] == "cancelled")
                  else await store.next_plan_item(db, info.id, day))
    plan = await store.plan_items(db, info.id)
    # `pick`: the КТП item the teacher chose in the panel's select ('' — none); its topic fills the form.
    chosen = next((p for p in plan if str(p["id"]) == pick), None) if pick else None
    return page(
        "journal/_lesson.html", status_code=status, info=info, day=day, number=number, lesson=lesson,
        suggestion=suggestion, plan=plan, picked=pick is not None, chosen=chosen,
        work_types=await db.fetchall("SELECT * FROM work_type ORDER BY sort"),
        teachers=await db.fetchall(
            "SELECT DISTINCT p.id, p.last_name, p.first_name, p.middle_name FROM person p"
            " JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id"
            " WHERE r.role = 'teacher' AND p.archived_at IS NULL AND a.disabled_at IS NULL AND p.id <> ?"
            " ORDER BY p.last_name, p.first_name",
            (info.row["teacher_id"],)),
        missing=await store.control_missing(db, info, lesson) if lesson else [],
        # A closed period: only the deputy changes it, giving a reason in each form.
        closed=closed, can_write=(not closed or deputy) and (
            deputy or own or (lesson is not None and lesson["substitute_id"] == user.person_id)),
        can_set_status=(not closed or deputy) and (deputy or own),
        error=error, warnings=warnings or [], saved=saved, ru_day=ru_date(day), status_form=status_form)


@get("/journals/{journal_id:int}/lessons/{day:str}/{number:int}", opt=READERS)
async def lesson_panel(request: Request, journal_id: FromPath[int], day: FromPath[str],
                       number: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    return await _lesson_panel(request, info, _day(day), number, pick=request.query_params.get("plan_item_id"))


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}", opt=WRITERS, status_code=200)
async def lesson_save(request: Request, journal_id: FromPath[int], day: FromPath[str],
                      number: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    form = await form_dict(request)
    day = _day(day)
    await _require_writer(request, info, day, number)
    try:
        result = await request.app.state.db.write(
            _fresh, current_user(request), info, False, writes.save_lesson, day, number, form.get("topic", ""),
            form.get("work_type", "lesson"), int_or_none(form.get("plan_item_id")), form.get("reason", ""))
    except JournalError as e:
        return await _lesson_panel(request, info, day, number, error=e.message, status=400)
    return await _lesson_panel(request, info, day, number, warnings=result["warnings"], saved=True)


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}/homework", opt=WRITERS, status_code=200,
      request_max_body_size=MAX_HOMEWORK_FILE + 100_000)
async def homework_save(request: Request, journal_id: FromPath[int], day: FromPath[str],
                        number: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    day = _day(day)
    await _require_writer(request, info, day, number)
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
        data = await upload.read()
        if len(data) > MAX_HOMEWORK_FILE:
            return await _lesson_panel(request, info, day, number, status=400,
                                       error=f"Файл больше {MAX_HOMEWORK_FILE // 1024 // 1024} МБ.")
        stored = _store_file(request.app.state.settings.data_dir, upload.filename, data)
    try:
        result = await request.app.state.db.write(
            _fresh, current_user(request), info, False, writes.set_homework, day, number, text, minutes, stored,
            str(form.get("remove_file", "")) == "1", str(form.get("reason", "")))
    except (NotFoundException, PermissionDeniedException):
        if stored:  # refused: the uploaded file is not kept
            Path(request.app.state.settings.data_dir, stored[1]).unlink(missing_ok=True)
        raise
    except JournalError as e:
        if stored:
            Path(request.app.state.settings.data_dir, stored[1]).unlink(missing_ok=True)
        return await _lesson_panel(request, info, day, number, error=e.message, status=400)
    return await _lesson_panel(request, info, day, number, warnings=result["warnings"], saved=True)


def _store_file(data_dir: Path, name: str, data: bytes) -> tuple[str, str, int]:
    """Keep an uploaded file under DATA/files/ with a random name; the shown name is cleaned."""
    folder = Path(data_dir) / "files"
    folder.mkdir(parents=True, exist_ok=True)
    shown = Path(name.replace("\\", "/")).name.strip()[:120] or "файл"
    rel = f"files/{secrets.token_hex(12)}"
    (Path(data_dir) / rel).write_bytes(data)
    return shown, rel, len(data)


@post("/journals/{journal_id:int}/lessons/{day:str}/{number:int}/status", opt=WRITERS, status_code=200)
async def lesson_status(request: Request, journal_id: FromPath[int], day: FromPath[str],
                        number: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    form = await form_dict(request)
    day = _day(day)
    await _require_writer(request, info)
    try:
        await request.app.state.db.write(
            _fresh, current_user(request), info, True, writes.set_lesson_status, day, number, form.get("status", ""),
            int_or_none(form.get("substitute_id")), form.get("status_reason", ""), form.get("reason", ""))
    except JournalError as e:
        return await _lesson_panel(request, info, day, number, error=e.message, status=400, status_form=True)
    return await _lesson_panel(request, info, day, number, saved=True, status_form=True)


@get("/journals/{journal_id:int}/history", opt=READERS)
async def cell_history(request: Request, journal_id: FromPath[int]) -> Response:
    """Who set what in a cell and when, deletions included."""
    db = request.app.state.db
    info = await _journal_or_404(request, journal_id)
    q = request.query_params
    student_id, number = int_or_none(q.get("student")), int_or_none(q.get("n"))
    period_id = int_or_none(q.get("period"))
    if period_id is not None:  # a period grade's cell (F2 in the «итоговая» columns)
        period = await db.fetchone("SELECT * FROM study_period WHERE id = ? AND year_id = ?",
                                   (period_id, info.row["year_id"]))
        if period is None:
            raise NotFoundException("Такого учебного периода нет.")
        day, title = "", f"итоговая отметка, {period_label(period['kind'], period['number'])}"
        history = await store.audit_entries(db, [f"period_grade:{info.id}:{period_id}:{student_id}"])
        grades = []
    else:
        day = _day(q.get("date", ""))
        if number is None:
            raise JournalError("Неверный запрос: не указан номер урока.")
        title = f"{ru_date(day)}, {number}-й урок"
        lesson = await db.fetchone("SELECT * FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
                                   (info.id, day, number))
        history = await store.cell_history(db, lesson["id"], student_id) if lesson and student_id else []
        grades = await db.fetchall("SELECT * FROM grade WHERE lesson_id = ? AND student_id = ? ORDER BY position",
                                   (lesson["id"], student_id)) if lesson else []
    # Only a student of this journal (at any time this year): the page must not become a
    # way to look up anyone's name by id.
    members = store.CLASS_MEMBERS if info.row["class_id"] else store.GROUP_MEMBERS
    student = await db.fetchone(
        f"SELECT p.last_name, p.first_name FROM ({members}) m JOIN person p ON p.id = m.student_id"
        " WHERE m.student_id = :s LIMIT 1", {"target": info.row["class_id"] or info.row["group_id"], "s": student_id})
    if student is None:
        raise NotFoundException("Такого учащегося в этом журнале нет.")
    return page("journal/_history.html", info=info, day=day, number=number, student_id=student_id,
                student=student, history=history, grades=grades, title=title,
                work_types=await db.fetchall("SELECT * FROM work_type ORDER BY sort"))


@post("/journals/{journal_id:int}/grade-type", opt=WRITERS, status_code=200)
async def grade_type_save(request: Request, journal_id: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    body = await _json_body(request)
    await _require_writer(request, info, body.get("date"), int_or_none(body.get("n")))
    try:
        day, student_id = _day(body.get("date", "")), int_or_none(body.get("student")) or 0
        summary = await request.app.state.db.write(
            _fresh, current_user(request), info, False, _save_grade_type, day, int_or_none(body.get("n")) or 0,
            student_id,
            int_or_none(body.get("position")) or 0, body.get("work_type", ""), body.get("reason", ""),
            _shown_kind(body))
    except JournalError as e:
        return _refused(e)
    return Response({"ok": True, "student": student_id, **summary})


def _save_grade_type(conn, user, info: store.JournalInfo, day: str, number: int, student_id: int, position: int,
                     work_type: str, reason: str, kind: str | None) -> dict:
    """The grade's new work type and the student's new average (the grid shows it at once)."""
    writes.set_grade_work_type(conn, user, info, day, number, student_id, position, work_type, reason)
    return store.student_period_summary(conn, info, student_id, day, kind)


@get("/homework-files/{lesson_id:int}", opt=READERS)
async def homework_file(request: Request, lesson_id: FromPath[int]) -> Response:
    db = request.app.state.db
    row = await db.fetchone("SELECT h.*, l.journal_id FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                            " WHERE h.lesson_id = ? AND h.file_path IS NOT NULL", (lesson_id,))
    if row is None:
        raise NotFoundException("Файла нет.")
    await _journal_or_404(request, row["journal_id"])
    return File(path=Path(request.app.state.settings.data_dir) / row["file_path"], filename=row["file_name"],
                content_disposition_type="attachment", media_type="application/octet-stream")


@post("/school/periods/{period_id:int}/close", opt={"roles": {"deputy"}})
async def period_close(request: Request, period_id: FromPath[int]) -> Response:
    """The deputy closes a study period (its grades then change only by the deputy, with a reason)."""
    db = request.app.state.db
    year_id = await db.fetchval("SELECT year_id FROM study_period WHERE id = ?", (period_id,))
    if year_id is None:
        raise NotFoundException("Такого периода нет.")
    form = await form_dict(request)
    await db.write(writes.close_period, current_user(request), period_id, form.get("closed", "1") == "1")
    return see_other(f"/school/years/{year_id}", "saved")


ROUTES = [period_close, journals_page, journal_page, cell_save, period_grade_save, lesson_panel, lesson_save, homework_save,
          lesson_status, cell_history, grade_type_save, homework_file]
