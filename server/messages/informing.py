"""The class teacher informs families of their children's current grades (§3.3.4): in one
action every family gets a message with each subject's weighted average and forecast,
and families on the paper diary get the same on a printed page."""

from __future__ import annotations

import sqlite3

from litestar import Request, Response, get, post
from litestar.params import FromPath

from .. import clock
from ..accounts.store import User
from ..db import Database
from ..errors import Forbidden, NotFound
from ..journal import store as journal
from ..school import people
from ..school import store as school
from ..timeutil import now_text, ru_date
from ..web.access import current_user
from ..web.forms import see_other
from ..web.templating import page
from . import store

CLASS_TEACHER = {"roles": {"class_teacher"}}
PERIOD_NAMES = {"quarter": "{n}-я четверть", "trimester": "{n}-й триместр", "half": "{n}-е полугодие", "year": "учебный год"}


def period_name(period) -> str:
    return PERIOD_NAMES.get(period["kind"], "{n}").format(n=period["number"]) if period else ""


def number(value: float | None) -> str:
    """4.25 → '4,25' as Russian readers write it."""
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


async def class_report(db: Database, class_id: int, day: str) -> dict:
    """Every student now in the class with their subjects' averages and forecasts, their
    parents, who gets the message (consent recorded, an account) and who needs paper."""
    summaries = await db.read(journal.class_period_summaries, class_id, day)
    students: dict[int, dict] = {}
    for r in await db.read(people.class_families, class_id):
        s = students.setdefault(r["student_id"], {
            "id": r["student_id"], "last_name": r["last_name"], "first_name": r["first_name"],
            "middle_name": r["middle_name"], "parents": [], "recipients": [], "paper": False,
            "subjects": summaries["subjects"].get(r["student_id"], [])})
        if r["parent_id"] is None:
            continue
        s["parents"].append({"id": r["parent_id"], "name": f"{r['p_last']} {r['p_first']} {r['p_middle']}".strip(),
                             "relation": r["relation"], "consent": bool(r["consent_at"]),
                             "diary_form": r["diary_form"]})
        if r["consent_at"] and r["parent_login"]:
            s["recipients"].append(r["parent_id"])
        if r["diary_form"] == "paper":
            s["paper"] = True
    for s in students.values():
        # A family nobody can message gets the paper page too, whatever it chose.
        s["paper"] = s["paper"] or not s["recipients"]
    return {"period": summaries["period"], "students": list(students.values()), "day": day}


def family_text(student: dict, class_name: str, period, day: str, teacher: User) -> tuple[str, str]:
    """(subject, body) of one family's message."""
    name = f"{student['last_name']} {student['first_name']}"
    subject = f"Успеваемость: {name}, {period_name(period)} (на {ru_date(day)})"
    lines = [f"Текущая успеваемость: {name}, {class_name} класс, {period_name(period)}, на {ru_date(day)}.", ""]
    for s in student["subjects"]:
        if s["average"] is None:
            lines.append(f"{s['subject']}: отметок пока нет")
        else:
            lines.append(f"{s['subject']}: средний балл {number(s['average'])} (отметок: {s['count']}),"
                         f" прогноз — {s['forecast']}")
    if not student["subjects"]:
        lines.append("Предметов в расписании класса пока нет.")
    lines += ["", "Средний балл взвешенный: каждая отметка учитывается с весом вида работы (контрольная весит"
                  " больше, чем ответ на уроке). Прогноз — отметка за период, к которой ведёт средний балл;"
                  " итоговую отметку выставляет учитель.",
              f"Классный руководитель {teacher.short_name}"]
    return subject, "\n".join(lines)


async def send_to_families(db: Database, user: User, class_id: int, class_name: str, day: str) -> tuple[int, int]:
    """One message per family with recipients, all in one transaction: (sent, without recipients)."""
    report = await class_report(db, class_id, day)
    if report["period"] is None:
        return 0, len(report["students"])
    outgoing = []
    for s in report["students"]:
        if s["recipients"]:
            subject, body = family_text(s, class_name, report["period"], day, user)
            outgoing.append((s["id"], s["recipients"], subject, body, f"Семье: {s['last_name']} {s['first_name']}"))

    sent = await db.write(_send_all, user.person_id, class_id, outgoing)
    return sent, sum(1 for s in report["students"] if not s["recipients"])


def _send_all(conn: sqlite3.Connection, author_id: int, class_id: int, outgoing: list[tuple]) -> int:
    now = now_text()
    for student_id, parents, subject, body, audience in outgoing:
        store.start_family_thread(conn, author_id, class_id, student_id, parents, subject, body, audience, now)
    return len(outgoing)


async def _own_class(request: Request, class_id: int):
    """The class, if the user is its class teacher (§3.3.4 is the class teacher's duty)."""
    info = await request.app.state.db.read(school.class_info, class_id)
    if info is None:
        raise NotFound("Такого класса нет.")
    if info["class_teacher_id"] != current_user(request).person_id:
        raise Forbidden("Это не ваш класс: информировать семьи может его классный руководитель.")
    return info


@get("/classes/{class_id:int}/informing", opt=CLASS_TEACHER)
async def informing_page(request: Request, class_id: FromPath[int]) -> Response:
    cls = await _own_class(request, class_id)
    db = request.app.state.db
    day = clock.today().isoformat()
    report = await class_report(db, class_id, day)
    return page("messages/informing.html", cls=cls, report=report, period=period_name(report["period"]),
                number=number, last_round=await db.read(store.last_family_round, class_id),
                sent_count=request.query_params.get("sent"))


@post("/classes/{class_id:int}/informing", opt=CLASS_TEACHER)
async def informing_send(request: Request, class_id: FromPath[int]) -> Response:
    cls = await _own_class(request, class_id)
    sent, _ = await send_to_families(request.app.state.db, current_user(request), class_id, cls["name"],
                                     clock.today().isoformat())
    return see_other(f"/classes/{class_id}/informing?sent={sent}")


@get("/classes/{class_id:int}/informing/print", opt=CLASS_TEACHER)
async def informing_print(request: Request, class_id: FromPath[int]) -> Response:
    """A4 pages, one per student: families on the paper diary (and those nobody can message),
    or the whole class with ?all=1."""
    cls = await _own_class(request, class_id)
    day = clock.today().isoformat()
    report = await class_report(request.app.state.db, class_id, day)
    everyone = request.query_params.get("all") == "1"
    chosen = [s for s in report["students"] if everyone or s["paper"]]
    return page("messages/informing_print.html", cls=cls, report=report, students=chosen, everyone=everyone,
                period=period_name(report["period"]), number=number, teacher=current_user(request))


ROUTES = [informing_page, informing_send, informing_print]
