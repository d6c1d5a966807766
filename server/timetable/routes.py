"""Pages of the timetable of dates: a teacher's week, a class's week, the deputy's changes
(staff away and their substitutes, a lesson substituted, moved, cancelled, an extra lesson)
and `GET /api/v1/me/lessons`. Each handler parses, runs one read or one write, renders."""

from __future__ import annotations

import json
from datetime import date, timedelta

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from .. import clock
from ..errors import Forbidden, NotFound, UserError
from ..school import people
from ..school import store as school
from ..school.guards import CLASS_READERS, VIEW
from ..web.access import current_user
from ..web.forms import form_dict, int_or_none, ok_message, see_other
from ..web.templating import page
from . import store, writes

TEACHERS = {"roles": {"teacher"}}
DEPUTY = {"roles": {"deputy"}}


def _day(text: str | None, what: str = "Дата") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{what}: неверная дата «{text[:20]}», нужен вид ГГГГ-ММ-ДД.") from None


def _monday(request: Request) -> date:
    return store.monday_of(_day(request.query_params.get("week"), "Неделя") or clock.today())


# --- a teacher's week, a class's week ------------------------------------------------------------

@get("/my/timetable", opt=TEACHERS)
async def my_timetable(request: Request) -> Response:
    """The teacher's own week: their lessons and the ones they give as a substitute."""
    user = current_user(request)
    monday = _monday(request)
    week = await request.app.state.db.read(store.teacher_week, user.person_id, monday)
    return page("timetable/week.html", w=week, title="Моё расписание", here="/my/timetable", who="teacher",
                today=clock.today().isoformat(), this_week=monday == store.monday_of(clock.today()), cls=None)


def _class_week(conn, user, class_id: int, monday: date) -> dict:
    cls = school.class_info(conn, class_id)
    if cls is None:
        raise NotFound("Такого класса нет.")
    if not people.can_read_class(conn, user, class_id):
        raise Forbidden("Это не ваш класс.")
    return {"cls": cls, "w": store.class_week(conn, class_id, monday)}


@get("/classes/{class_id:int}/timetable", opt=CLASS_READERS)
async def class_timetable(request: Request, class_id: FromPath[int]) -> Response:
    """A class's week: the lessons of its journals, its subgroups' and its students' groups'."""
    monday = _monday(request)
    data = await request.app.state.db.read(_class_week, current_user(request), class_id, monday)
    return page("timetable/week.html", title=f"Расписание {data['cls']['name']}", here=f"/classes/{class_id}/timetable",
                who="class", today=clock.today().isoformat(), this_week=monday == store.monday_of(clock.today()),
                **data)


# --- the deputy's changes -----------------------------------------------------------------------

def _changes_view(conn, monday: date, class_id: int | None) -> dict:
    start, end = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
    year = school.current_year(conn)
    classes = conn.execute("SELECT c.id, c.parallel || c.letter AS name FROM class c WHERE c.year_id = ?"
                           " AND c.archived_at IS NULL ORDER BY c.parallel, c.letter",
                           (year["id"],)).fetchall() if year else []
    cls = next((c for c in classes if c["id"] == class_id), None)
    view = {"changes": store.changes_between(conn, start, end), "classes": classes, "cls": cls,
            "staff": store.teachers(conn), "monday": start, "sunday": end,
            "prev": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat(),
            "upcoming": store.absent(conn, clock.today().isoformat(), "9999-12-31")}
    if cls:
        view["w"] = store.class_week(conn, cls["id"], monday)
        view["journals"] = conn.execute(
            "SELECT j.id, s.name AS subject_name, coalesce(c.parallel || c.letter, g.name) AS target_name"
            " FROM journal j JOIN subject s ON s.id = j.subject_id LEFT JOIN class c ON c.id = j.class_id"
            " LEFT JOIN study_group g ON g.id = j.group_id WHERE j.id IN (SELECT value FROM json_each(?))"
            " ORDER BY s.name COLLATE RU, target_name COLLATE RU",
            (json.dumps(sorted({x.journal_id for d in view["w"]["days"] for x in d["lessons"]}
                                     | _class_journal_ids(conn, cls["id"]))),)).fetchall()
    return view


def _class_journal_ids(conn, class_id: int) -> set[int]:
    return {r[0] for r in conn.execute(
        "SELECT j.id FROM journal j LEFT JOIN study_group g ON g.id = j.group_id"
        " WHERE j.archived_at IS NULL AND (j.class_id = :c OR g.class_id = :c)", {"c": class_id})}


async def _changes_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    q = request.query_params
    form = form or {}
    monday = store.monday_of(_day(form.get("week") or q.get("week"), "Неделя") or clock.today())
    class_id = int_or_none(form.get("class") or q.get("class"))
    data = await request.app.state.db.read(_changes_view, monday, class_id)
    return page("timetable/changes.html", status_code=400 if error else 200, error=error, form=form,
                ok=ok_message(request), today=clock.today().isoformat(),
                can_change=current_user(request).has("deputy"), **data)


@get("/school/changes", opt=VIEW)
async def changes_page(request: Request) -> Response:
    """Замены и изменения расписания: the week's changes, staff away, a class's week to change."""
    return await _changes_page(request)


@post("/school/absences", opt=DEPUTY)
async def absence_add(request: Request) -> Response:
    form = await form_dict(request)
    try:
        absence_id = await request.app.state.db.write(
            writes.add_absence, current_user(request), int_or_none(form.get("person_id")), form.get("starts_on", ""),
            form.get("ends_on", ""), form.get("reason", ""))
    except UserError as e:
        return await _changes_page(request, e.message, form)
    return see_other(f"/school/absences/{absence_id}", "created")


async def _absence_page(request: Request, absence_id: int, error: str | None = None) -> Response:
    data = await request.app.state.db.read(store.absence_page, absence_id)
    if data is None:
        raise NotFound("Такой записи об отсутствии нет.")
    return page("timetable/absence.html", status_code=400 if error else 200, error=error, ok=ok_message(request),
                can_change=current_user(request).has("deputy"), today=clock.today().isoformat(), **data)


@get("/school/absences/{absence_id:int}", opt=VIEW)
async def absence_page(request: Request, absence_id: FromPath[int]) -> Response:
    """A teacher away: each of their lessons then, with a substitute chosen from who is free."""
    return await _absence_page(request, absence_id)


@post("/school/absences/{absence_id:int}", opt=DEPUTY)
async def absence_save(request: Request, absence_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    choices: dict[tuple[int, str, int], int | None] = {}
    for name, value in form.items():
        # sub:<journal>:<date>:<number> → the substitute's person id, or '' for none
        parts = name.split(":")
        if len(parts) == 4 and parts[0] == "sub" and parts[1].isdigit() and parts[3].isdigit():
            choices[(int(parts[1]), parts[2], int(parts[3]))] = int_or_none(value)
    try:
        await request.app.state.db.write(writes.set_substitutes, current_user(request), absence_id, choices)
    except UserError as e:
        if e.status_code == 404:
            raise
        return await _absence_page(request, absence_id, e.message)
    return see_other(f"/school/absences/{absence_id}", "saved")


@post("/school/absences/{absence_id:int}/delete", opt=DEPUTY)
async def absence_delete(request: Request, absence_id: FromPath[int]) -> Response:
    await request.app.state.db.write(writes.delete_absence, current_user(request), absence_id)
    return see_other("/school/changes", "deleted")


# --- one lesson ---------------------------------------------------------------------------------

def _lesson_view(conn, journal_id: int | None, day: date | None, number: int | None) -> dict:
    if journal_id is None or day is None or number is None:
        raise NotFound("Такого урока нет в расписании.")
    lesson = store.lesson_at(conn, journal_id, day.isoformat(), number)
    if lesson is None:
        raise NotFound("Такого урока нет в расписании.")
    return {"x": lesson, "candidates": store.candidates(conn, [lesson], lesson.date, lesson.date)[
        (lesson.date, lesson.number, lesson.journal_id)]}


async def _lesson_page(request: Request, journal_id: int | None, day: str | None, number: int | None,
                       error: str | None = None, form: dict | None = None) -> Response:
    data = await request.app.state.db.read(_lesson_view, journal_id, _day(day), number)
    return page("timetable/lesson.html", status_code=400 if error else 200, error=error, form=form or {},
                ok=ok_message(request), can_change=current_user(request).has("deputy"), **data)


@get("/school/changes/lesson", opt=VIEW)
async def lesson_page(request: Request) -> Response:
    """One lesson of a date: substitute it, move it, cancel it (or give it back)."""
    q = request.query_params
    return await _lesson_page(request, int_or_none(q.get("journal")), q.get("date"), int_or_none(q.get("n")))


def _lesson_address(form: dict) -> tuple[int | None, str, int | None]:
    return int_or_none(form.get("journal")), form.get("date", ""), int_or_none(form.get("n"))


async def _lesson_action(request: Request, act) -> Response:
    """The lesson page's forms: write; on a refusal the page again with the message."""
    form = await form_dict(request)
    journal_id, day, number = _lesson_address(form)
    if number is None:
        raise NotFound("Такого урока нет в расписании.")
    try:
        target = await request.app.state.db.write(act, current_user(request), form, journal_id, day, number)
    except UserError as e:
        if e.status_code in (403, 404):
            raise
        return await _lesson_page(request, journal_id, day, number, e.message, form)
    return see_other(target or f"/school/changes/lesson?journal={journal_id}&date={day}&n={number}", "saved")


@post("/school/changes/substitute", opt=DEPUTY)
async def lesson_substitute(request: Request) -> Response:
    def act(conn, user, form, journal_id, day, number):
        writes.substitute(conn, user, journal_id, day, number, int_or_none(form.get("substitute_id")),
                          form.get("reason", ""))
    return await _lesson_action(request, act)


@post("/school/changes/cancel", opt=DEPUTY)
async def lesson_cancel(request: Request) -> Response:
    def act(conn, user, form, journal_id, day, number):
        writes.cancel(conn, user, journal_id, day, number, form.get("reason", ""))
    return await _lesson_action(request, act)


@post("/school/changes/restore", opt=DEPUTY)
async def lesson_restore(request: Request) -> Response:
    def act(conn, user, form, journal_id, day, number):
        writes.restore(conn, user, journal_id, day, number)
    return await _lesson_action(request, act)


@post("/school/changes/move", opt=DEPUTY)
async def lesson_move(request: Request) -> Response:
    def act(conn, user, form, journal_id, day, number):
        to_day = form.get("to_date", "")
        to_number = int_or_none(form.get("to_n"))
        writes.move(conn, user, journal_id, day, number, to_day, to_number, form.get("room", ""),
                    form.get("reason", ""))
        return f"/school/changes/lesson?journal={journal_id}&date={to_day}&n={to_number}"
    return await _lesson_action(request, act)


@post("/school/changes/extra", opt=DEPUTY)
async def lesson_extra(request: Request) -> Response:
    """An extra lesson of a journal (from the class's week on the changes page)."""
    form = await form_dict(request)
    journal_id, day, number = _lesson_address(form)
    try:
        await request.app.state.db.write(writes.add_extra, current_user(request), journal_id, day, number,
                                         form.get("room", ""), form.get("reason", ""))
    except UserError as e:
        if e.status_code in (403, 404):
            raise
        return await _changes_page(request, e.message, form)
    return see_other(f"/school/changes/lesson?journal={journal_id}&date={day}&n={number}", "created")


@post("/school/changes/{change_id:int}/undo", opt=DEPUTY)
async def change_undo(request: Request, change_id: FromPath[int]) -> Response:
    """A moved lesson goes back to its place in the weekly timetable; an extra lesson goes."""
    form = await form_dict(request)
    await request.app.state.db.write(writes.undo, current_user(request), change_id)
    week = _day(form.get("week"))
    return see_other("/school/changes" + (f"?week={week.isoformat()}" if week else ""), "deleted")


# --- the JSON API --------------------------------------------------------------------------------

def lesson_json(x: store.DatedLesson, person_id: int) -> dict:
    j = x.journal
    substitute = ({"id": x.substitute_id, "name": x.substitute} if x.substitute_id is not None else None)
    out = {"journal_id": x.journal_id, "lesson_number": x.number, "date": x.date,
           "starts_at": x.starts_at, "ends_at": x.time.split("–")[1] if x.time else None,
           "class": j["target_name"], "class_id": j["class_id"], "group_id": j["group_id"],
           "subject": j["subject_name"], "room": x.room, "status": x.status,
           "topic_recorded": x.topic, "attendance_recorded": x.attendance, "homework_recorded": x.homework,
           "substitute": substitute, "teacher": {"id": j["teacher_id"], "name": x.teacher},
           "mine": j["teacher_id"] == person_id, "kind": x.kind, "moved_from": None, "reason": None}
    if x.change is not None:
        out["reason"] = x.change["reason"]
        if x.change["from_date"]:
            out["moved_from"] = {"date": x.change["from_date"], "lesson_number": x.change["from_number"]}
    if x.status == "cancelled":
        out["reason"] = x.lesson["status_reason"]
    return out


class Ref(msgspec.Struct):
    id: int
    name: str | None


class LessonPlace(msgspec.Struct):
    date: str
    lesson_number: int


class MyLesson(msgspec.Struct):
    """Урок учителя на дату: `kind` — по расписанию, замена, перенос или дополнительный;
    `status` — состояние урока; `reason` — причина переноса или отмены."""

    journal_id: int
    lesson_number: int
    date: str
    starts_at: str | None
    ends_at: str | None
    class_: str | None = msgspec.field(name="class")
    class_id: int | None
    group_id: int | None
    subject: str
    room: str | None
    status: str | None
    topic_recorded: bool
    attendance_recorded: bool
    homework_recorded: bool
    substitute: Ref | None
    teacher: Ref | None
    mine: bool
    kind: str | None
    moved_from: LessonPlace | None
    reason: str | None


class MovedAway(msgspec.Struct):
    """Урок, перенесённый с этой даты, и куда."""

    journal_id: int
    lesson_number: int
    subject: str
    class_: str | None = msgspec.field(name="class")
    to: LessonPlace | None
    reason: str | None


class MyLessons(msgspec.Struct):
    date: str
    lessons: list[MyLesson]
    moved_away: list[MovedAway]


@get("/api/v1/me/lessons", opt=TEACHERS, tags=["Расписание"])
async def api_my_lessons(request: Request) -> MyLessons:
    """Уроки вошедшего учителя на дату (`?date=ГГГГ-ММ-ДД`, по умолчанию сегодня) по расписанию этой
    даты — недельное расписание с заменами, переносами и дополнительными уроками: журнал, номер
    урока, время начала (по звонкам), класс или группа, предмет, кабинет, записаны ли тема,
    посещаемость (пока — есть ли хоть одна отметка посещаемости) и домашнее задание, учитель на
    замене, если есть (`mine: false` — урок, который учитель ведёт на замене). `moved_away` —
    уроки, перенесённые с этой даты."""
    user = current_user(request)
    day = (_day(request.query_params.get("date")) or clock.today()).isoformat()
    found = await request.app.state.db.read(store.teacher_day, user.person_id, day)
    answer = {"date": day, "lessons": [lesson_json(x, user.person_id) for x in found["lessons"]],
            "moved_away": [{"journal_id": m.journal["id"], "lesson_number": m.number, "subject": m.journal["subject_name"],
                            "class": m.journal["target_name"], "to": {"date": m.change["date"],
                                                                     "lesson_number": m.change["lesson_number"]},
                            "reason": m.change["reason"]} for m in found["moved"]]}
    return msgspec.convert(answer, MyLessons)


ROUTES = [my_timetable, class_timetable, changes_page, absence_add, absence_page, absence_save, absence_delete,
          lesson_page, lesson_substitute, lesson_cancel, lesson_restore, lesson_move, lesson_extra, change_undo,
          api_my_lessons]
