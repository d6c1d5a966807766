"""КТП — the calendar-thematic plan of a journal (§1.4.2, §3.2.1): its page, items added,
edited and deleted by hand, imported from CSV/XLSX (all or nothing), copied from another
class of the same parallel, and the JSON API.

Replace or merge: while no lesson refers to any item of a journal's plan, an import (a
copy, an API upload) replaces the whole plan. Once lessons were given by it, items cannot
be deleted (lessons point at them), so an upload updates the items whose number it names
and adds new numbers; the other items stay as they were.

The plan is not journal data in the audit sense (lessons and grades are); who changed it
and when goes to `plan_log`, one entry per action, shown on the plan page."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from ..accounts.store import User
from ..db import Database
from ..school import imports
from ..school.errors import SchoolError
from ..school.structure import JOURNAL_JOINS, JOURNAL_TITLE_SQL
from ..school.validate import parse_date
from ..timeutil import now_text, ru_date, school_year_start
from ..web.access import current_user
from ..web.errors import error_response
from ..web.forms import form_dict, int_or_none, ok_message, see_other
from ..web.templating import page
from .routes import READERS, WRITERS, _journal_or_404, _require_writer
from .rules import JournalError, check_topic
from .store import JournalInfo

TAGS = ["Журнал"]
MAX_ITEMS = 400          # a year of a 6-hour subject is ~204 lessons; 400 leaves room
MAX_NUMBER = 999
MAX_HOURS = 20
UPLOAD_BODY_LIMIT = imports.MAX_FILE_BYTES + 256 * 1024

# Columns of the import file, found by their Russian headers as the class-list import finds its own.
_FIELDS = {
    "number": ("№", ("номер", "номер урока", "номер п п", "п п", "номер темы", "урок", "n", "no")),
    "topic": ("Тема", ("тема", "тема урока", "тема занятия", "название темы", "наименование темы",
                       "тема урока раздел", "содержание")),
    "hours": ("Часы", ("часы", "часов", "час", "кол во часов", "количество часов", "число часов")),
    "date": ("Дата", ("дата", "дата проведения", "дата по плану", "плановая дата", "планируемая дата",
                      "дата план", "дата урока")),
    "week": ("Неделя", ("неделя", "учебная неделя", "номер недели", "неделя учебного года")),
    "work_type": ("Вид работы", ("вид работы", "вид контроля", "вид урока")),
}
PLAN_SPEC = imports.Spec(
    kind="plan",
    titles={k: title for k, (title, _) in _FIELDS.items()},
    aliases={alias: k for k, (_, names) in _FIELDS.items() for alias in names},
    required=("number", "topic"),
    named=False,
)


async def _one(conn, sql: str, params=()) -> sqlite3.Row | None:
    return await (await conn.execute(sql, params)).fetchone()


async def _all(conn, sql: str, params=()) -> list[sqlite3.Row]:
    return list(await (await conn.execute(sql, params)).fetchall())


class PlanRejected(JournalError):
    """Rows that cannot be taken: (line, reasons) each; nothing was written."""

    def __init__(self, errors: list[tuple[int, list[str]]], unit: str = "строк"):
        super().__init__(f"КТП не сохранён: {unit} с ошибками — {len(errors)}. Ничего не изменено.")
        self.errors = errors


@dataclass
class PlanRow:
    line: int
    number: int
    topic: str
    hours: float
    planned_date: str | None
    planned_week: int | None
    work_type: str


# --- rules ---------------------------------------------------------------------------

def week_of(info: JournalInfo, day: str) -> int:
    """Week of the school year: week 1 is the Monday–Sunday week holding the first day."""
    start = date.fromisoformat(info.year_start)
    monday = start - timedelta(days=start.weekday())
    return (date.fromisoformat(day) - monday).days // 7 + 1


def hours_text(value: float | None) -> str:
    if value is None:
        return ""
    return (str(int(value)) if float(value).is_integer() else str(value)).replace(".", ",")


def _norm(text: str | None) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", (text or "").lower().replace("ё", "е")).split())


def work_type_lookup(work_types: list[sqlite3.Row]) -> dict[str, str]:
    """Name as typed → code: «контрольная работа», «Контрольная», «control» all mean control."""
    out = {}
    for w in work_types:
        name = _norm(w["name"])
        out[name] = out[_norm(w["code"])] = w["code"]
        if name.endswith(" работа"):
            out.setdefault(name[: -len(" работа")], w["code"])
    return out


def _number(text: str, problems: list[str]) -> int | None:
    text = (text or "").strip()
    if not text:
        problems.append("Не указан номер темы (столбец «№»).")
        return None
    m = re.fullmatch(r"(\d{1,4})\.?", text)  # «1.» as Word numbers its lists
    if not m or not 1 <= int(m.group(1)) <= MAX_NUMBER:
        problems.append(f"Номер «{text[:10]}»: нужно целое число от 1 до {MAX_NUMBER}.")
        return None
    return int(m.group(1))


def _hours(text: str, problems: list[str]) -> float:
    text = (text or "").strip()
    if not text:
        return 1.0
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_HOURS or value * 2 != int(value * 2):
        problems.append(f"Часы «{text[:10]}»: нужно число от 0,5 до {MAX_HOURS} с шагом 0,5, например 1 или 2.")
        return 1.0
    return value


def _planned_date(text: str, info: JournalInfo, problems: list[str]) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = parse_date(text, "Дата")
    except SchoolError as e:
        problems.append(e.message)
        return None
    if not info.year_start <= day <= info.year_end:
        problems.append(f"Дата {ru_date(day)} — вне учебного года ({ru_date(info.year_start)}–"
                        f"{ru_date(info.year_end)}).")
    elif info.is_holiday(day):
        problems.append(f"Дата {ru_date(day)} приходится на каникулы.")
    return day


def _planned_week(text: str, info: JournalInfo, problems: list[str]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    last = week_of(info, info.year_end)
    if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= last:
        problems.append(f"Неделя «{text[:10]}»: нужно целое число от 1 до {last} (неделя учебного года).")
        return None
    return int(text)


def check_rows(rows: list[tuple[int, dict[str, str]]], info: JournalInfo, work_types: list[sqlite3.Row],
               *, place: str = "строке", unit: str = "строк") -> list[PlanRow]:
    """Every row checked, every reason named; raises PlanRejected unless all rows are clean."""
    if not rows:
        raise JournalError("В КТП нет ни одной темы.")
    if len(rows) > MAX_ITEMS:
        raise JournalError(f"В КТП больше {MAX_ITEMS} тем: проверьте файл.")
    lookup = work_type_lookup(work_types)
    names = ", ".join(w["name"] for w in work_types)
    seen: dict[int, int] = {}
    out: list[PlanRow] = []
    errors: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        problems: list[str] = []
        number = _number(cells.get("number", ""), problems)
        if number is not None:
            if number in seen:
                problems.append(f"Номер {number} повторяется: он уже есть в {place} {seen[number]}.")
            else:
                seen[number] = line
        try:
            topic = check_topic(cells.get("topic", ""))
        except JournalError as e:
            problems.append(e.message)
            topic = ""
        hours = _hours(cells.get("hours", ""), problems)
        planned_date = _planned_date(cells.get("date", ""), info, problems)
        planned_week = _planned_week(cells.get("week", ""), info, problems)
        raw_type = (cells.get("work_type") or "").strip()
        work_type = lookup.get(_norm(raw_type)) if raw_type else "lesson"
        if work_type is None:
            problems.append(f"Вид работы «{raw_type[:40]}» неизвестен. Можно: {names}.")
        if problems:
            errors.append((line, problems))
        else:
            out.append(PlanRow(line, number, topic, hours, planned_date, planned_week, work_type))
    if errors:
        raise PlanRejected(errors, unit)
    return out


# --- writes (each runs inside Database.write) ---------------------------------------

def _may_change(user: User, info: JournalInfo) -> None:
    if info.row["archived_at"] or info.row["year_status"] == "closed":
        raise JournalError("Журнал закрыт для изменений.")
    if not (user.has("deputy") or info.row["teacher_id"] == user.person_id):
        raise JournalError("КТП журнала ведёт его учитель или заместитель директора.")


async def _log(conn, user: User, info: JournalInfo, action: str, detail: str) -> int:
    cur = await conn.execute("INSERT INTO plan_log(journal_id, account_id, at, action, detail) VALUES (?, ?, ?, ?, ?)",
                             (info.id, user.account_id, now_text(), action, detail[:300]))
    return cur.lastrowid


def _values(info: JournalInfo, r: PlanRow) -> tuple:
    return (info.id, r.number, r.topic, r.hours, r.planned_date, r.planned_week, r.work_type)


_INSERT = ("INSERT INTO plan_item(journal_id, number, topic, hours, planned_date, planned_week, work_type)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")


async def save_plan(conn, user: User, info: JournalInfo, rows: list[PlanRow], action: str, source: str) -> dict:
    """A whole plan (file, copy, API): replaces the plan while no lesson refers to it, else
    updates items by number and adds new ones. One transaction: all or nothing.
    `source` names it in the log: «Файл «ктп.xlsx»»."""
    _may_change(user, info)
    existing = {r["number"]: r for r in await _all(conn, "SELECT * FROM plan_item WHERE journal_id = ?", (info.id,))}
    used = await _one(conn, "SELECT 1 FROM lesson l JOIN plan_item p ON p.id = l.plan_item_id"
                            " WHERE p.journal_id = ? LIMIT 1", (info.id,))
    if not used:
        await conn.execute("DELETE FROM plan_item WHERE journal_id = ?", (info.id,))
        await conn.executemany(_INSERT, [_values(info, r) for r in rows])
        result = {"mode": "replaced", "added": len(rows), "updated": 0, "kept": 0, "removed": len(existing)}
        detail = f"{source}: загружено тем: {len(rows)}"
        if existing:
            detail += f" (прежний КТП из {len(existing)} тем заменён)"
    else:
        updates = [r for r in rows if r.number in existing]
        await conn.executemany(
            "UPDATE plan_item SET topic = ?, hours = ?, planned_date = ?, planned_week = ?, work_type = ?"
            " WHERE journal_id = ? AND number = ?",
            [(r.topic, r.hours, r.planned_date, r.planned_week, r.work_type, info.id, r.number) for r in updates])
        added = [r for r in rows if r.number not in existing]
        await conn.executemany(_INSERT, [_values(info, r) for r in added])
        result = {"mode": "merged", "added": len(added), "updated": len(updates),
                  "kept": len(existing) - len(updates), "removed": 0}
        detail = (f"{source}: добавлено тем: {len(added)}, обновлено: {len(updates)}, не затронуто: {result['kept']}"
                  " (по КТП уже проведены уроки, поэтому он дополнен по номерам, а не заменён)")
    result["log_id"] = await _log(conn, user, info, action, detail)
    result["detail"] = detail
    return result


async def add_item(conn, user: User, info: JournalInfo, row: PlanRow) -> int:
    _may_change(user, info)
    if await _one(conn, "SELECT 1 FROM plan_item WHERE journal_id = ? AND number = ?", (info.id, row.number)):
        raise JournalError(f"Тема № {row.number} уже есть в КТП: выберите другой номер.")
    cur = await conn.execute(_INSERT, _values(info, row))
    await _log(conn, user, info, "add", f"Добавлена тема № {row.number} «{row.topic[:120]}»")
    return cur.lastrowid


async def _item(conn, info: JournalInfo, item_id: int) -> sqlite3.Row:
    item = await _one(conn, "SELECT * FROM plan_item WHERE id = ? AND journal_id = ?", (item_id, info.id))
    if item is None:
        raise JournalError("Такой темы в КТП этого журнала нет.")
    return item


async def update_item(conn, user: User, info: JournalInfo, item_id: int, row: PlanRow) -> None:
    _may_change(user, info)
    item = await _item(conn, info, item_id)
    if row.number != item["number"] and await _one(
            conn, "SELECT 1 FROM plan_item WHERE journal_id = ? AND number = ?", (info.id, row.number)):
        raise JournalError(f"Тема № {row.number} уже есть в КТП: выберите другой номер.")
    await conn.execute("UPDATE plan_item SET number = ?, topic = ?, hours = ?, planned_date = ?, planned_week = ?,"
                       " work_type = ? WHERE id = ?", (row.number, row.topic, row.hours, row.planned_date,
                                                       row.planned_week, row.work_type, item_id))
    moved = f" (был № {item['number']})" if row.number != item["number"] else ""
    await _log(conn, user, info, "edit", f"Изменена тема № {row.number}{moved} «{row.topic[:120]}»")


async def delete_item(conn, user: User, info: JournalInfo, item_id: int) -> None:
    """Only an item no lesson refers to: a given topic stays, it can still be edited."""
    _may_change(user, info)
    item = await _item(conn, info, item_id)
    lesson = await _one(conn, "SELECT date FROM lesson WHERE plan_item_id = ? ORDER BY date LIMIT 1", (item_id,))
    if lesson is not None:
        raise JournalError(f"По теме № {item['number']} уже проведён урок ({ru_date(lesson['date'])}): удалить её "
                           "нельзя, можно только изменить.")
    await conn.execute("DELETE FROM plan_item WHERE id = ?", (item_id,))
    await _log(conn, user, info, "delete", f"Удалена тема № {item['number']} «{item['topic'][:120]}»")


# Other journals of the same subject, year and parallel (a group journal takes the parallel
# of its class, or of its members, as store.journal_info does).
_SOURCES_SQL = f"""
    SELECT j.id, {JOURNAL_TITLE_SQL},
           (SELECT count(*) FROM plan_item p WHERE p.journal_id = j.id) AS items,
           (SELECT sum(hours) FROM plan_item p WHERE p.journal_id = j.id) AS hours
      FROM journal j {JOURNAL_JOINS}
      LEFT JOIN class gc ON gc.id = g.class_id
     WHERE j.year_id = :year AND j.subject_id = :subject AND j.id <> :id AND j.archived_at IS NULL
       AND EXISTS (SELECT 1 FROM plan_item p WHERE p.journal_id = j.id)
       AND coalesce(c.parallel, gc.parallel,
                    (SELECT max(c2.parallel) FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                       JOIN class c2 ON c2.id = e.class_id WHERE m.group_id = j.group_id)) = :parallel
     ORDER BY coalesce(c.letter, g.name)
"""


def _sources_params(info: JournalInfo) -> dict:
    return {"year": info.row["year_id"], "subject": info.row["subject_id"], "id": info.id, "parallel": info.parallel}


async def copy_sources(db: Database, info: JournalInfo) -> list[sqlite3.Row]:
    """Journals whose plan this one may copy: same subject, same parallel, this year, with a plan."""
    return await db.fetchall(_SOURCES_SQL, _sources_params(info))


async def copy_plan(conn, user: User, info: JournalInfo, source_id: int) -> dict:
    """Another class's plan of the same subject and parallel. Dates are not copied (the other
    class has its own timetable): an item keeps its week, or gets the week of its date."""
    _may_change(user, info)
    source = next((s for s in await _all(conn, _SOURCES_SQL, _sources_params(info)) if s["id"] == source_id), None)
    if source is None:
        raise JournalError("КТП можно скопировать только из журнала того же предмета и той же параллели, "
                           "в котором КТП уже есть.")
    items = await _all(conn, "SELECT * FROM plan_item WHERE journal_id = ? ORDER BY number", (source_id,))
    rows = [PlanRow(i, it["number"], it["topic"], it["hours"], None,
                    it["planned_week"] or (week_of(info, it["planned_date"]) if it["planned_date"] else None),
                    it["work_type"]) for i, it in enumerate(items, 1)]
    return await save_plan(conn, user, info, rows, "copy",
                           f"Копия КТП журнала «{source['subject_name']}, {source['target_name']}»")


# --- reads ---------------------------------------------------------------------------

async def plan_view(db: Database, info: JournalInfo) -> dict:
    """The plan with what was given: per item the dates of its lessons; planned vs given hours."""
    items = await db.fetchall(
        "SELECT p.*, wt.name AS work_type_name FROM plan_item p JOIN work_type wt ON wt.code = p.work_type"
        " WHERE p.journal_id = ? ORDER BY p.number", (info.id,))
    # A lesson that did not take place gives nothing, even if it was planned for a topic.
    lessons = await db.fetchall(
        "SELECT date, lesson_number, plan_item_id FROM lesson WHERE journal_id = ? AND status <> 'cancelled'"
        " AND (plan_item_id IS NOT NULL OR topic <> '') ORDER BY date, lesson_number", (info.id,))
    given: dict[int, list[dict]] = {}
    for l_ in lessons:
        if l_["plan_item_id"] is not None:
            given.setdefault(l_["plan_item_id"], []).append({"date": l_["date"], "lesson_number": l_["lesson_number"]})
    today = date.today().isoformat()
    this_week = week_of(info, today)
    out = []
    for it in items:
        lessons_of_item = given.get(it["id"], [])
        due = (it["planned_date"] <= today) if it["planned_date"] else (
            it["planned_week"] is not None and it["planned_week"] <= this_week)
        out.append({**dict(it), "given": lessons_of_item, "done": len(lessons_of_item) >= it["hours"], "due": due})
    return {
        "items": out,
        "planned_hours": sum(it["hours"] for it in items),
        "given_hours": sum(len(v) for v in given.values()),
        "recorded_lessons": len(lessons),
        "due_hours": sum(it["hours"] for it in out if it["due"]),
        "scheduled": any(it["planned_date"] or it["planned_week"] for it in items),
        "used": bool(given) or bool(await db.fetchval(
            "SELECT 1 FROM lesson l JOIN plan_item p ON p.id = l.plan_item_id WHERE p.journal_id = ? LIMIT 1",
            (info.id,))),
    }


async def plan_log(db: Database, journal_id: int, limit: int = 10) -> list[sqlite3.Row]:
    return await db.fetchall(
        "SELECT g.*, p.last_name, p.first_name, p.middle_name FROM plan_log g"
        " LEFT JOIN account a ON a.id = g.account_id LEFT JOIN person p ON p.id = a.person_id"
        " WHERE g.journal_id = ? ORDER BY g.id DESC LIMIT ?", (journal_id, limit))


async def _work_types(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM work_type ORDER BY sort")


def _can_write(user: User, info: JournalInfo) -> bool:
    closed = info.row["archived_at"] or info.row["year_status"] == "closed"
    return not closed and (user.has("deputy") or info.row["teacher_id"] == user.person_id)


# --- pages ---------------------------------------------------------------------------

async def _page(request: Request, info: JournalInfo, *, status: int = 200, error: str | None = None,
                rejected: PlanRejected | None = None, notes: list[str] | None = None, form: dict | None = None,
                edit_id: int | None = None, file_name: str = "") -> Response:
    db = request.app.state.db
    user = current_user(request)
    view = await plan_view(db, info)
    can_write = _can_write(user, info)
    edit = next((it for it in view["items"] if it["id"] == edit_id), None) if edit_id else None
    log = await plan_log(db, info.id)
    done = None
    log_id = int_or_none(request.query_params.get("log"))
    if log_id is not None and error is None and rejected is None:
        done = next((entry["detail"] for entry in log if entry["id"] == log_id), None)
    # What the add/edit form shows: what was typed (after an error), the item edited, or a new one.
    if form is not None:
        values = _form_row(form)
    elif edit is not None:
        values = {"number": edit["number"], "topic": edit["topic"], "hours": hours_text(edit["hours"]),
                  "date": edit["planned_date"] or "", "week": edit["planned_week"] or "",
                  "work_type": edit["work_type"]}
    else:
        values = {"number": max((it["number"] for it in view["items"]), default=0) + 1, "topic": "", "hours": "1",
                  "date": "", "week": "", "work_type": "lesson"}
    return page("journal/plan.html", status_code=status, info=info, view=view, can_write=can_write, edit=edit,
                error=error, rejected=rejected, notes=notes or [], file_name=file_name, log=log,
                done=done, ok=None if done else ok_message(request), work_types=await _work_types(db),
                sources=await copy_sources(db, info) if can_write else [], f=values,
                hours=hours_text, max_mb=imports.MAX_FILE_BYTES // (1024 * 1024),
                year_weeks=week_of(info, info.year_end))


@get("/journals/{journal_id:int}/plan", opt=READERS)
async def plan_page(request: Request, journal_id: FromPath[int]) -> Response:
    """The plan as a table, planned vs given hours; for the teacher, forms to change it."""
    info = await _journal_or_404(request, journal_id)
    return await _page(request, info, edit_id=int_or_none(request.query_params.get("edit")))


def _form_row(form: dict) -> dict[str, str]:
    return {k: form.get(k, "") for k in _FIELDS}


async def _one_row(request: Request, info: JournalInfo, form: dict) -> PlanRow:
    """The single item of the add/edit form; its reasons joined into one message."""
    try:
        return check_rows([(1, _form_row(form))], info, await _work_types(request.app.state.db))[0]
    except PlanRejected as e:
        raise JournalError(" ".join(reason for _, reasons in e.errors for reason in reasons)) from None


@post("/journals/{journal_id:int}/plan/items", opt=WRITERS)
async def plan_item_add(request: Request, journal_id: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    await _require_writer(request, info)
    form = await form_dict(request)
    try:
        row = await _one_row(request, info, form)
        await request.app.state.db.write(add_item, current_user(request), info, row)
    except JournalError as e:
        return await _page(request, info, status=400, error=e.message, form=form)
    return see_other(f"/journals/{info.id}/plan", "created")


async def _item_or_404(request: Request, info: JournalInfo, item_id: int) -> sqlite3.Row:
    item = await request.app.state.db.fetchone("SELECT * FROM plan_item WHERE id = ? AND journal_id = ?",
                                               (item_id, info.id))
    if item is None:
        raise NotFoundException("Такой темы в КТП этого журнала нет.")
    return item


@post("/journals/{journal_id:int}/plan/items/{item_id:int}", opt=WRITERS)
async def plan_item_save(request: Request, journal_id: FromPath[int], item_id: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    await _require_writer(request, info)
    await _item_or_404(request, info, item_id)
    form = await form_dict(request)
    try:
        row = await _one_row(request, info, form)
        await request.app.state.db.write(update_item, current_user(request), info, item_id, row)
    except JournalError as e:
        return await _page(request, info, status=400, error=e.message, form=form, edit_id=item_id)
    return see_other(f"/journals/{info.id}/plan", "saved")


@post("/journals/{journal_id:int}/plan/items/{item_id:int}/delete", opt=WRITERS)
async def plan_item_delete(request: Request, journal_id: FromPath[int], item_id: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    await _require_writer(request, info)
    await _item_or_404(request, info, item_id)
    try:
        await request.app.state.db.write(delete_item, current_user(request), info, item_id)
    except JournalError as e:
        return await _page(request, info, status=400, error=e.message)
    return see_other(f"/journals/{info.id}/plan", "deleted")


def read_plan_file(data: bytes) -> imports.Table:
    """The file's rows under its header (the class-list import's reader); ImportFileError if unreadable."""
    return imports.read_table(data, PLAN_SPEC)


def table_rows(table: imports.Table) -> list[tuple[int, dict[str, str]]]:
    return [(line, {k: cells[i] if i < len(cells) else "" for k, i in table.columns.items()})
            for line, cells in table.rows]


def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(request, 413, imports.too_large_message())


@post("/journals/{journal_id:int}/plan/import", opt=WRITERS, request_max_body_size=UPLOAD_BODY_LIMIT,
      exception_handlers={413: _too_large})
async def plan_import(request: Request, journal_id: FromPath[int]) -> Response:
    """A КТП file: checked whole; any bad row → every bad row listed and nothing written."""
    info = await _journal_or_404(request, journal_id)
    await _require_writer(request, info)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, info, status=400, error="Выберите файл CSV или XLSX с КТП.")
    file_name = imports.safe_file_name(upload.filename)
    data = await upload.read()
    await upload.close()
    table = None
    try:
        # Reading a book takes CPU time: not on the loop that serves everyone else.
        table = await asyncio.to_thread(read_plan_file, data)
        rows = check_rows(table_rows(table), info, await _work_types(request.app.state.db))
        result = await request.app.state.db.write(save_plan, current_user(request), info, rows, "import",
                                                  f"Файл «{file_name}»")
    except PlanRejected as e:
        return await _page(request, info, status=400, rejected=e, notes=[table.source, *table.notes],
                           file_name=file_name)
    except SchoolError as e:  # ImportFileError and JournalError alike
        return await _page(request, info, status=400, error=f"Файл «{file_name}» не загружен: {e.message}",
                           file_name=file_name)
    return see_other(f"/journals/{info.id}/plan?log={result['log_id']}", "imported")


@post("/journals/{journal_id:int}/plan/copy", opt=WRITERS)
async def plan_copy(request: Request, journal_id: FromPath[int]) -> Response:
    info = await _journal_or_404(request, journal_id)
    await _require_writer(request, info)
    form = await form_dict(request)
    source = int_or_none(form.get("source"))
    try:
        if source is None:
            raise JournalError("Выберите журнал, из которого скопировать КТП.")
        result = await request.app.state.db.write(copy_plan, current_user(request), info, source)
    except JournalError as e:
        return await _page(request, info, status=400, error=e.message)
    return see_other(f"/journals/{info.id}/plan?log={result['log_id']}", "saved")


# --- templates to download ------------------------------------------------------------

def _examples() -> list[dict]:
    y = school_year_start(date.today())
    return [
        {"number": 1, "topic": "Язык и речь. Повторение изученного в начальной школе", "hours": 1,
         "date": date(y, 9, 2), "week": None, "work_type": "урок"},
        {"number": 2, "topic": "Звуки и буквы. Произношение и правописание", "hours": 2,
         "date": date(y, 9, 3), "week": None, "work_type": "урок"},
        {"number": 3, "topic": "Входная контрольная работа", "hours": 1, "date": None, "week": 2,
         "work_type": "контрольная работа"},
    ]


HELP = [
    ("№", "номер урока (темы) по порядку: 1, 2, 3 …; номера не повторяются"),
    ("Тема", "тема урока на русском языке (п. 2.7 Регламента), в том числе на уроках иностранного языка"),
    ("Часы", "сколько уроков на тему; пусто — 1"),
    ("Дата", "планируемая дата ДД.ММ.ГГГГ в пределах учебного года (можно не заполнять)"),
    ("Неделя", "или номер учебной недели: 1 — неделя, в которую начался учебный год (можно не заполнять)"),
    ("Вид работы", "урок, контрольная работа, диктант … (список — в журнале); пусто — урок"),
]


def template_csv() -> bytes:
    """UTF-8 with a BOM and `;`, which Russian Excel opens as is (as the class-list template)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(PLAN_SPEC.titles.values())
    for ex in _examples():
        writer.writerow([ex[k].strftime("%d.%m.%Y") if isinstance(ex[k], date) else
                         ("" if ex[k] is None else ex[k]) for k in PLAN_SPEC.titles])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx(work_type_names: list[str]) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "КТП"
    sheet.append(list(PLAN_SPEC.titles.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for ex in _examples():
        sheet.append([ex[k] for k in PLAN_SPEC.titles])
    for column, width in zip("ABCDEF", (6, 60, 8, 13, 9, 24)):
        sheet.column_dimensions[column].width = width
    for cell in sheet["D"][1:]:
        cell.number_format = "DD.MM.YYYY"
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("Как заполнять")
    help_sheet.append(["Столбец", "Что писать"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    for row in HELP:
        help_sheet.append(list(row))
    help_sheet.append(["Виды работ", ", ".join(work_type_names)])
    help_sheet.append([])
    help_sheet.append(["", "Загружается только первый лист, на котором есть строка заголовка."])
    help_sheet.column_dimensions["A"].width = 14
    help_sheet.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@get(["/journals/plan-template.csv", "/journals/plan-template.xlsx"], opt=WRITERS)
async def plan_template(request: Request) -> Response:
    fmt = request.url.path.rsplit(".", 1)[-1]
    if fmt == "csv":
        content = template_csv()
    else:
        names = [w["name"] for w in await _work_types(request.app.state.db)]
        content = await asyncio.to_thread(template_xlsx, names)
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"plan-template.{fmt}\"; "
                               f"filename*=UTF-8''{quote(f'Шаблон КТП.{fmt}')}"})


# --- JSON API ------------------------------------------------------------------------

def _item_json(it: dict) -> dict:
    return {"id": it["id"], "number": it["number"], "topic": it["topic"], "hours": it["hours"],
            "planned_date": it["planned_date"], "planned_week": it["planned_week"], "work_type": it["work_type"],
            "work_type_name": it["work_type_name"], "given": it["given"], "done": it["done"]}


@get("/api/v1/journals/{journal_id:int}/plan", opt=READERS, tags=TAGS)
async def api_plan(request: Request, journal_id: FromPath[int]) -> dict:
    """КТП журнала: темы по порядку, по каждой — проведённые уроки (даты); часы по плану и проведённые."""
    db = request.app.state.db
    info = await _journal_or_404(request, journal_id)
    view = await plan_view(db, info)
    last = (await plan_log(db, info.id, 1) or [None])[0]
    return {"journal_id": info.id, "subject": info.row["subject_name"], "name": info.row["target_name"],
            "planned_hours": view["planned_hours"], "given_hours": view["given_hours"],
            "recorded_lessons": view["recorded_lessons"], "items": [_item_json(it) for it in view["items"]],
            "updated_at": last["at"] if last else None,
            "updated_by": " ".join(x for x in (last["last_name"], last["first_name"], last["middle_name"]) if x)
            if last else None}


@dataclass
class PlanItemIn:
    number: int
    topic: str
    hours: float = 1
    planned_date: str | None = None   # ГГГГ-ММ-ДД или ДД.ММ.ГГГГ
    planned_week: int | None = None   # неделя учебного года, 1 — первая
    work_type: str = "lesson"         # код (lesson, control …) или русское название


@dataclass
class PlanIn:
    items: list[PlanItemIn] = field(default_factory=list)


def _api_cells(it: PlanItemIn) -> dict[str, str]:
    return {"number": str(it.number), "topic": it.topic or "", "hours": str(it.hours),
            "date": it.planned_date or "", "week": "" if it.planned_week is None else str(it.planned_week),
            "work_type": it.work_type or ""}


@post("/api/v1/journals/{journal_id:int}/plan", opt=WRITERS, tags=TAGS, status_code=200)
async def api_plan_save(request: Request, journal_id: FromPath[int], data: JSONBody[PlanIn]) -> Response:
    """Загрузить КТП целиком, с теми же проверками, что и файл: всё или ничего (ошибки — по
    элементам, `line` — номер элемента с 1). Пока по темам нет уроков, КТП заменяется; потом
    темы обновляются по номерам и добавляются новые, остальные остаются."""
    db = request.app.state.db
    info = await _journal_or_404(request, journal_id)
    await _require_writer(request, info)
    try:
        rows = check_rows([(i, _api_cells(it)) for i, it in enumerate(data.items, 1)], info,
                          await _work_types(db), place="элементе", unit="элементов")
        result = await db.write(save_plan, current_user(request), info, rows, "api", "Загрузка через API")
    except PlanRejected as e:
        return Response({"error": e.message, "status": 400,
                         "rows": [{"line": line, "reasons": reasons} for line, reasons in e.errors]},
                        status_code=400)
    except JournalError as e:
        return Response({"error": e.message, "status": 400}, status_code=400)
    return Response({k: result[k] for k in ("mode", "added", "updated", "kept", "removed")})


ROUTES = [plan_page, plan_item_add, plan_item_save, plan_item_delete, plan_import, plan_copy, plan_template,
          api_plan, api_plan_save]
