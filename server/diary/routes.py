"""Pages of the diary (§1.4.6-7, §4): the week, grades by subject, attendance, the homework
file, the printable two weeks — and the class teacher's batch of printouts for the families
who chose the paper diary (§3.3.5)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import File

from .. import clock, collation
from ..errors import Forbidden, NotFound
from ..school import people
from ..school import store as school
from ..web import conditional
from ..web.access import current_user
from ..web.slots import page_slot
from ..web.forms import int_or_none
from ..web.templating import page
from . import due, rules, store
from .access import FAMILY, DiaryError, family_students, resolve_student

# The class teacher prints for their class; the administration for any (§3.3.5, §3.4.7).
PRINTERS = {"roles": {"director", "deputy", "sysadmin", "class_teacher"}}


def parse_day(text: str | None, what: str = "Дата") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DiaryError(f"{what}: неверная дата «{text[:20]}», нужен вид ГГГГ-ММ-ДД.") from None


def _today() -> date:
    return clock.today()


@get("/diary", opt=FAMILY)
async def diary_week(request: Request) -> Response:
    """The week: lessons with topics, homework, grades and attendance marks."""
    tag = await conditional.etag(request)
    if conditional.fresh(request, tag):
        return conditional.not_modified(tag)
    async with page_slot(request):
        response = await _diary_week(request)
    return conditional.tagged(response, tag)


async def _diary_week(request: Request) -> Response:
    db = request.app.state.db
    q = request.query_params
    student, students = await resolve_student(db, current_user(request), int_or_none(q.get("student")))
    today = _today()
    monday = store.monday_of(parse_day(q.get("week"), "Неделя") or today)
    week = await db.read(due.week_with_due, student["id"], monday)
    keep = f"&week={monday.isoformat()}" if q.get("week") else ""
    return page("diary/week.html", student=student, students=students, w=week, today=today.isoformat(),
                this_week=monday == store.monday_of(today), here="/diary", keep=keep,
                labels=store.ATTENDANCE_LABELS)


def summary_table(overview: dict) -> dict:
    """Subjects × periods: the period grade where set, else the current average."""
    names: dict[int, str] = {}
    for p in overview["periods"]:
        for s in p["subjects"]:
            names.setdefault(s["subject_id"], s["subject"])
    cells = {(p["id"], s["subject_id"]): s for p in overview["periods"] for s in p["subjects"]}
    return {"subjects": sorted(names.items(), key=lambda kv: collation.key(kv[1])), "cells": cells}


@get("/diary/grades", opt=FAMILY)
async def diary_grades(request: Request) -> Response:
    """Grades by subject for a period: weighted average with its formula, forecast, chart, advice."""
    tag = await conditional.etag(request)
    if conditional.fresh(request, tag):
        return conditional.not_modified(tag)
    async with page_slot(request):
        response = await _diary_grades(request)
    return conditional.tagged(response, tag)


async def _diary_grades(request: Request) -> Response:
    db = request.app.state.db
    student, students = await resolve_student(db, current_user(request),
                                              int_or_none(request.query_params.get("student")))
    today = _today().isoformat()
    found = await db.read(store.grades_in_year, student["id"], int_or_none(request.query_params.get("year")), today)
    years, year, overview = found.years, found.year, found.overview
    if year is None:
        return page("diary/grades.html", student=student, students=students, years=[], year=None, overview=None,
                    period=None, here="/diary/grades", keep="")
    wanted = int_or_none(request.query_params.get("period"))
    period = next((p for p in overview["periods"] if p["id"] == wanted), None) or store.default_period(
        overview["periods"], today)
    charts = {}
    if period:
        end = min(period["ends_on"], today) if period["starts_on"] <= today else period["ends_on"]
        for s in period["subjects"]:
            charts[s["subject_id"]] = rules.chart(s["points"], period["starts_on"], end)
    return page("diary/grades.html", student=student, students=students, years=years, year=year,
                overview=overview, period=period, charts=charts, table=summary_table(overview),
                ru_number=rules.ru_number, here="/diary/grades", keep=f"&year={year['id']}")


@get("/diary/attendance", opt=FAMILY)
async def diary_attendance(request: Request) -> Response:
    """Missed and late lessons by period, with what each mark means."""
    tag = await conditional.etag(request)
    if conditional.fresh(request, tag):
        return conditional.not_modified(tag)
    async with page_slot(request):
        response = await _diary_attendance(request)
    return conditional.tagged(response, tag)


async def _diary_attendance(request: Request) -> Response:
    db = request.app.state.db
    student, students = await resolve_student(db, current_user(request),
                                              int_or_none(request.query_params.get("student")))
    today = _today().isoformat()
    found = await db.read(store.attendance_in_year, student["id"], int_or_none(request.query_params.get("year")),
                          today)
    year = found.year
    return page("diary/attendance.html", student=student, students=students, years=found.years, year=year,
                overview=found.overview, labels=store.ATTENDANCE_LABELS, here="/diary/attendance", today=today,
                keep=f"&year={year['id']}" if year else "")


@get("/diary/files/{lesson_id:int}", opt=FAMILY)
async def diary_file(request: Request, lesson_id: FromPath[int]) -> Response:
    """The homework file of a lesson of the person's own child (or their own)."""
    db = request.app.state.db
    students = await family_students(db, current_user(request))
    row = await db.read(store.homework_file, lesson_id, [s["id"] for s in students])
    path = Path(request.app.state.settings.data_dir) / row["file_path"] if row else None
    if path is None or not path.is_file():
        raise NotFound("Файла нет.")
    # Uploaded by a teacher, opened by a family: never rendered by the browser as a page.
    return File(path=path, filename=row["file_name"], content_disposition_type="attachment",
                media_type="application/octet-stream")


def _first_monday(request: Request) -> date:
    """The span's first Monday: the week of `from`, by default last week (so the sheet
    covers last week and this one)."""
    chosen = parse_day(request.query_params.get("from"), "Начало периода")
    return store.monday_of(chosen or (_today() - timedelta(days=7)))


@get("/diary/print", opt=FAMILY)
async def diary_print(request: Request) -> Response:
    """Two weeks of the diary on an A4 page (§4.1.7)."""
    db = request.app.state.db
    student, students = await resolve_student(db, current_user(request),
                                              int_or_none(request.query_params.get("student")))
    first = _first_monday(request)
    sheet = await db.read(store.printable, student["id"], first, _today().isoformat())
    return page("diary/print.html", student=student, students=students, sheet=sheet,
                school=await db.read(school.school), first=first.isoformat(), today=_today().isoformat(), here="/diary/print",
                keep=f"&from={first.isoformat()}")


@get("/classes/{class_id:int}/paper-diaries", opt=PRINTERS)
async def paper_diaries(request: Request, class_id: FromPath[int]) -> Response:
    """One document with the printed diary of every student whose parents chose paper (§3.3.5)."""
    db = request.app.state.db
    cls = await db.read(school.class_info, class_id)
    if cls is None:
        raise NotFound("Такого класса нет.")
    if not await db.read(people.can_manage_class, current_user(request), class_id) and not current_user(request).has(
            "director"):
        raise Forbidden("Это не ваш класс: распечатки готовит его классный руководитель.")
    first = _first_monday(request)
    today = _today().isoformat()
    sheets = await db.read(store.paper_batch, class_id, first, today)
    return page("diary/paper_batch.html", cls=cls, sheets=sheets, school=await db.read(school.school),
                first=first.isoformat(), today=today)


ROUTES = [diary_week, diary_grades, diary_attendance, diary_file, diary_print, paper_diaries]
