"""«С чего начать»: a new school's first day, as a checklist (issue 16).

After the first-run set-up the server is empty. The steps follow the order in which things
depend on each other — the year and its periods, bells, classes, subjects, staff and their
credentials, the teaching load, the timetable, students and parents, the parents' consent,
credentials for families — each done or not, with what is missing and a link to the page
that does it. The year's page offers the Russian school calendar (quarters, half-years,
holidays: server/years/calendar.py) to a year that lacks them, «Заполнить по примерному
календарю»; the first step links there. The checklist only reads; it is shown on the home page of the
sysadmin and the deputy while the set-up (the first eight steps) is not finished, and always at
/school/start."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from litestar import Request, Response, get

from .. import clock
from ..web.templating import page
from .guards import VIEW


# The first eight steps set the school up; consents and families' credentials go on all year.
SET_UP_STEPS = 8


@dataclass
class Step:
    title: str
    done: bool
    detail: str
    href: str
    who: str


def _count(conn: sqlite3.Connection, sql: str, params=()) -> int:
    return conn.execute(sql, params).fetchone()[0]


def checklist(conn: sqlite3.Connection) -> list[Step]:
    """The steps, each read from the school as it is now."""
    today = clock.today().isoformat()
    year = conn.execute("SELECT * FROM academic_year ORDER BY status = 'open' DESC, starts_on DESC LIMIT 1").fetchone()
    y = year["id"] if year else None
    periods = _count(conn, "SELECT count(*) FROM study_period WHERE year_id = ? AND kind <> 'year'", (y,))
    holidays = _count(conn, "SELECT count(*) FROM holiday WHERE year_id = ?", (y,))
    bells = _count(conn, "SELECT count(*) FROM bell WHERE year_id = ?", (y,))
    classes = _count(conn, "SELECT count(*) FROM class WHERE year_id = ? AND archived_at IS NULL", (y,))
    no_ct = _count(conn, "SELECT count(*) FROM class WHERE year_id = ? AND archived_at IS NULL"
                         " AND class_teacher_id IS NULL", (y,))
    subjects = _count(conn, "SELECT count(*) FROM subject WHERE archived_at IS NULL")
    staff = conn.execute(
        """SELECT count(DISTINCT a.id), count(DISTINCT CASE WHEN r.role = 'teacher' THEN a.id END),
                  count(DISTINCT CASE WHEN a.password_hash = '' THEN a.id END)
             FROM account a JOIN account_role r ON r.account_id = a.id JOIN person p ON p.id = a.person_id
            WHERE r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff') AND a.disabled_at IS NULL
              AND p.archived_at IS NULL""").fetchone()
    journals = _count(conn, "SELECT count(*) FROM journal WHERE year_id = ? AND archived_at IS NULL", (y,))
    unscheduled = _count(conn, "SELECT count(*) FROM journal j WHERE j.year_id = ? AND j.archived_at IS NULL"
                               " AND NOT EXISTS (SELECT 1 FROM timetable_slot t WHERE t.journal_id = j.id)", (y,))
    now = "e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)"
    students = _count(conn, f"SELECT count(DISTINCT e.student_id) FROM enrollment e JOIN class c ON c.id = e.class_id"
                            f" WHERE c.year_id = :y AND {now}", {"y": y, "d": today})
    parents = conn.execute(
        f"""SELECT count(DISTINCT g.parent_id), count(DISTINCT CASE WHEN g.consent_at IS NOT NULL THEN g.parent_id END)
              FROM guardian g JOIN enrollment e ON e.student_id = g.student_id JOIN class c ON c.id = e.class_id
             WHERE c.year_id = :y AND {now}""", {"y": y, "d": today}).fetchone()
    # Families who may log in (students, parents with consent) and those who have a password or a kiosk PIN.
    families = conn.execute(
        f"""WITH who AS (SELECT e.student_id AS person_id FROM enrollment e JOIN class c ON c.id = e.class_id
                          WHERE c.year_id = :y AND {now}
                         UNION
                         SELECT g.parent_id FROM guardian g JOIN enrollment e ON e.student_id = g.student_id
                           JOIN class c ON c.id = e.class_id WHERE c.year_id = :y AND {now} AND g.consent_at IS NOT NULL)
            SELECT count(*), count(CASE WHEN a.password_hash <> '' OR a.kiosk_pin_hash IS NOT NULL THEN 1 END)
              FROM who JOIN account a ON a.person_id = who.person_id WHERE a.disabled_at IS NULL""",
        {"y": y, "d": today}).fetchone()
    admin = "администратор АСУ или заместитель директора"
    return [
        Step("Учебный год, четверти (полугодия) и каникулы", bool(year and periods),
             (f"{year['name']}: периодов {periods}, каникул {holidays}" if year else "учебного года ещё нет"),
             f"/school/years/{y}" if year else "/school", admin),
        Step("Расписание звонков", bells > 0, f"уроков в расписании звонков: {bells}", "/school/bells", admin),
        Step("Классы и классные руководители", classes > 0 and no_ct == 0,
             f"классов {classes}" + (f", без классного руководителя {no_ct}" if no_ct else ""), "/school/classes",
             admin),
        Step("Предметы", subjects > 0, f"предметов {subjects}", "/school/subjects", admin),
        Step("Сотрудники и их доступ (логины и пароли)", staff[1] > 0 and staff[2] == 0,
             f"сотрудников {staff[0]}, учителей {staff[1]}, доступ не выдан {staff[2]}", "/school/staff",
             "заместитель директора (импорт списка сотрудников — на странице «Импорт»)"),
        Step("Учебная нагрузка: кто что ведёт", journals > 0, f"журналов {journals}", "/school/load", admin),
        Step("Расписание уроков", journals > 0 and unscheduled == 0,
             f"не в расписании {unscheduled} из {journals} журналов" if journals else "сначала нагрузка",
             "/school/timetable", admin),
        Step("Учащиеся и родители (импорт списков классов)", students > 0,
             f"учащихся {students}, родителей {parents[0]}", "/school/import", admin),
        Step("Согласия родителей на обработку данных", parents[0] > 0 and parents[1] == parents[0],
             f"оформлено {parents[1]} из {parents[0]}", "/school/classes",
             "классные руководители — на странице учащегося"),
        Step("Доступ родителям и учащимся", families[0] > 0 and families[1] == families[0],
             f"выдан {families[1]} из {families[0]}", "/school/classes",
             "классные руководители — «Выдать доступ родителям и учащимся» на странице класса"),
    ]


@get("/school/start", opt=VIEW)
async def start_page(request: Request) -> Response:
    """С чего начать: the new school's steps, each done or not, with links."""
    steps = await request.app.state.db.read(checklist)
    return page("school/start.html", steps=steps, done=sum(s.done for s in steps))


ROUTES = [start_page]
