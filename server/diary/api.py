"""JSON API of the diary (/api/v1/students/{id}/…): the same area functions as the pages,
the same rule for whose diary it is (access.resolve_student: 404 for anyone else's)."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from litestar import Request, get
from litestar.params import FromPath

from .. import clock
from ..web.access import current_user
from ..web.forms import int_or_none
from . import due, store
from .access import FAMILY, DiaryError, resolve_student
from .routes import parse_day

TAGS = ["Дневник"]


class Student(msgspec.Struct):
    """Чей дневник: ФИО и класс."""

    id: int
    name: str
    last_name: str
    first_name: str
    middle_name: str | None
    class_: str | None = msgspec.field(name="class")


class HomeworkDue(msgspec.Struct):
    """Задание к дню сдачи: `set_on`, `set_number` — урок, на котором задано; `chosen` — срок
    выбран учителем (иначе — следующий урок журнала)."""

    subject: str
    text: str | None
    minutes: int | None
    file_name: str | None
    file_url: str | None
    set_on: str
    set_number: int
    chosen: bool


class DueDay(msgspec.Struct):
    date: str
    homework: list[HomeworkDue]


class HomeworkDueAnswer(msgspec.Struct):
    student: Student
    days: list[DueDay]


def _student_json(s) -> dict:
    return {"id": s["id"], "name": store.full_name(s), "last_name": s["last_name"], "first_name": s["first_name"],
            "middle_name": s["middle_name"], "class": s["class_name"]}


def _year_param(request: Request) -> int | None:
    """`?year=ID` (DESIGN.md), or `?year_id=ID` as first published."""
    return int_or_none(request.query_params.get("year") or request.query_params.get("year_id"))


@get("/api/v1/students/{student_id:int}/diary", opt=FAMILY, tags=TAGS)
async def api_diary(request: Request, student_id: FromPath[int]) -> dict:
    """Дневник на неделю (`?week=ГГГГ-ММ-ДД`, любой день недели; по умолчанию текущая): по дням —
    уроки по расписанию с темой, домашним заданием, отметками учащегося с видом работы и весом,
    отметкой посещаемости."""
    db = request.app.state.db
    student, _ = await resolve_student(db, current_user(request), student_id)
    monday = store.monday_of(parse_day(request.query_params.get("week"), "Неделя") or clock.today())
    return {"student": _student_json(student), **await db.read(store.week, student_id, monday)}


@get("/api/v1/students/{student_id:int}/grades", opt=FAMILY, tags=TAGS)
async def api_grades(request: Request, student_id: FromPath[int]) -> dict:
    """Отметки по предметам за каждый период учебного года (`?year=ID`, по умолчанию текущий):
    отметки с датой, видом работы и весом, средневзвешенный балл и формула его расчёта, прогноз
    итоговой отметки (порог округления — `threshold`), выставленные итоговые отметки, подсказка
    «какие отметки нужны» для текущего периода."""
    db = request.app.state.db
    student, _ = await resolve_student(db, current_user(request), student_id)
    found = await db.read(store.grades_in_year, student_id, _year_param(request),
                          clock.today().isoformat())
    out = {"student": _student_json(student), "years": [dict(y) for y in found.years], "year": None, "class": None,
           "threshold": found.threshold, "periods": []}
    overview = found.overview
    if overview is None:
        return out
    for p in overview["periods"]:
        for s in p["subjects"]:
            s["running_average"] = [{"date": d, "average": v} for d, v in s.pop("points")]
    return {**out, **overview}


@get("/api/v1/students/{student_id:int}/attendance", opt=FAMILY, tags=TAGS)
async def api_attendance(request: Request, student_id: FromPath[int]) -> dict:
    """Пропуски и опоздания за учебный год (`?year_id=`) по периодам: дата, номер урока, предмет,
    отметка (Н, Б, У, ОП) и её значение; итоги по каждой отметке."""
    db = request.app.state.db
    student, _ = await resolve_student(db, current_user(request), student_id)
    found = await db.read(store.attendance_in_year, student_id, _year_param(request),
                          clock.today().isoformat())
    out = {"student": _student_json(student), "years": [dict(y) for y in found.years]}
    if found.overview is None:
        return {**out, "year": None, "class": None, "periods": [], "total": None, "labels": store.ATTENDANCE_LABELS}
    return {**out, **found.overview}


@get("/api/v1/students/{student_id:int}/homework", opt=FAMILY, tags=TAGS)
async def api_homework_due(request: Request, student_id: FromPath[int]) -> HomeworkDueAnswer:
    """Домашние задания по дню сдачи («ДЗ на завтра»): `?from=ГГГГ-ММ-ДД&to=ГГГГ-ММ-ДД` (по умолчанию
    — завтра, не больше 31 дня); по дням — предмет, текст, минуты, файл и когда задано (`set_on`).
    Срок — день, выбранный учителем (`chosen`), иначе следующий урок журнала по расписанию дат."""
    db = request.app.state.db
    student, _ = await resolve_student(db, current_user(request), student_id)
    q = request.query_params
    start = parse_day(q.get("from"), "Начало") or clock.today() + timedelta(days=1)
    end = parse_day(q.get("to"), "Конец") or start
    if end < start or (end - start).days > 31:
        raise DiaryError("Период: от начала до конца, не больше 31 дня.")
    found = await db.read(due.homework_due, student_id, start.isoformat(), end.isoformat())
    return msgspec.convert({"student": _student_json(student),
                            "days": [{"date": d, "homework": found[d]} for d in sorted(found)]}, HomeworkDueAnswer)


ROUTES = [api_diary, api_grades, api_attendance, api_homework_due]
