"""Reports and journal control (issue 13) on a small fixed school built here through the app's
own functions, at fixed dates (the clock): every figure checked against values computed by hand
(in the comments), through HTTP as the people who may see them.

The school (2026/2027; 1st quarter 01.09–25.10, 2nd 05.11–28.12):
- 5А (class teacher Учитель Т1): students А1…А4; Математика (Т1, Mondays, 1st lesson), Русский
  язык (Т2, Tuesdays, 1st lesson). 5Б: Б5, Б6; Математика (Т1, Mondays, 2nd), Русский (Т2, Wednesdays).
- The reports are read on 30.10.2026 (the quarter is over)."""

from __future__ import annotations

import io
import re
import sqlite3

import pytest
from conftest import make_client

from server import clock
from server.accounts import store as accounts
from server.accounts.passwords import hash_password
from server.accounts.store import User
from server.db import connect_sync, migrate
from server.journal import writes
from server.planning import writes as plan_writes
from server.school import people, structure

PASSWORD = "proverka-2026"
Y0 = "2026-09-01"


class School:
    """Handles on the built school: ids and write helpers that act as a person at a set time."""

    def __init__(self, data):
        self.data = data
        self.db = data / "zhurnal.sqlite3"
        self.ids: dict[str, int] = {}
        self.users: dict[str, User] = {}

    def conn(self) -> sqlite3.Connection:
        return connect_sync(self.db)

    def write(self, at: str, fn, *args):
        clock.set_now(at)
        conn = self.conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = fn(conn, *args)
            conn.execute("COMMIT")
            return result
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def as_(self, who: str, at: str, fn, *args):
        return self.write(at, fn, self.users[who], *args)

    def q(self, sql: str, params=()):
        conn = self.conn()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def _build(conn, s: School) -> None:
    pw = hash_password(PASSWORD)
    structure.set_up_school(conn, None, "Школа № 1 для проверки отчётов")
    year = structure.create_year(conn, None, Y0, "2027-08-31")
    s.ids["q1"] = structure.save_period(conn, None, year, "quarter", 1, "2026-09-01", "2026-10-25")
    s.ids["q2"] = structure.save_period(conn, None, year, "quarter", 2, "2026-11-05", "2026-12-28")
    s.ids["year"] = structure.save_period(conn, None, year, "year", 1, "2026-09-01", "2027-05-31")
    for login, last, roles in [("director", "Директорова", {"director"}), ("deputy", "Завучева", {"deputy", "teacher"}),
                               ("t1", "Первова", {"teacher"}), ("t2", "Вторая", {"teacher"}),
                               ("admin", "Админов", {"sysadmin"})]:
        pid = accounts.create_person(conn, None, last, "Анна", "Ивановна", position="учитель")
        aid = accounts.create_account(conn, None, pid, login, pw, roles, False)
        s.ids[login] = pid
        s.users[login] = User(aid, pid, login, last, "Анна", "Ивановна", frozenset(roles))
    s.ids["5А"] = structure.save_class(conn, None, year, 5, "А", s.ids["t1"])
    s.ids["5Б"] = structure.save_class(conn, None, year, 5, "Б", None)
    s.users["t1"] = User(s.users["t1"].account_id, s.ids["t1"], "t1", "Первова", "Анна", "Ивановна",
                         frozenset({"teacher", "class_teacher"}))
    for name, cls in [("А1", "5А"), ("А2", "5А"), ("А3", "5А"), ("А4", "5А"), ("Б5", "5Б"), ("Б6", "5Б")]:
        s.ids[name] = people.create_student(conn, None, s.ids[cls], f"Ученик{name}", "Пётр", "Петрович",
                                            "2015-03-0" + name[1], "м", "очная", Y0)
    math = structure.save_subject(conn, None, "Математика")
    rus = structure.save_subject(conn, None, "Русский язык")
    for key, subject, cls, teacher, weekday, n in [("m5a", math, "5А", "t1", 1, 1), ("r5a", rus, "5А", "t2", 2, 1),
                                                   ("m5b", math, "5Б", "t1", 1, 2), ("r5b", rus, "5Б", "t2", 3, 1)]:
        s.ids[key] = structure.save_journal(conn, None, year, subject, s.ids[cls], None, s.ids[teacher], 1)
        structure.add_slot(conn, None, s.ids[key], weekday, n)


@pytest.fixture(scope="module")
def school(tmp_path_factory) -> School:
    data = tmp_path_factory.mktemp("reports") / "data"
    data.mkdir()
    # Made before the year begins: the ledger's first entries (the migrations' «исходное
    # состояние») are dated then, so the server takes the test's dates as possible ones.
    clock.set_now("2026-08-31T10:00")
    migrate(data / "zhurnal.sqlite3")
    s = School(data)
    s.write("2026-08-31T12:00", _build, s)
    ids = s.ids
    m5a, r5a, m5b, r5b = ids["m5a"], ids["r5a"], ids["m5b"], ids["r5b"]
    a1, a2, a3, a4, b5, b6 = (ids[k] for k in ("А1", "А2", "А3", "А4", "Б5", "Б6"))
    # The КТП of Математика 5А: eight topics, one a Monday from 07.09 (seven in the 1st quarter).
    mondays = ["2026-09-07", "2026-09-14", "2026-09-21", "2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19",
               "2026-11-09"]
    items = [s.as_("t1", "2026-08-31T15:00", plan_writes.add_item, m5a,
                   {"number": str(k), "topic": f"Тема урока номер {k}", "hours": "1", "date": d, "week": "",
                    "work_type": "lesson"}) for k, d in enumerate(mondays, 1)]
    # 07.09: topic, grades, attendance and the register, all that day.
    s.as_("t1", "2026-09-07T08:40", writes.save_lesson, m5a, "2026-09-07", 1, "Натуральные числа", "lesson", items[0])
    s.as_("t1", "2026-09-07T08:45", writes.set_register, m5a, "2026-09-07", 1)
    for sid, text in [(a1, "5"), (a2, "4"), (a3, "3"), (a4, "Б")]:
        s.as_("t1", "2026-09-07T09:00", writes.set_cell, m5a, "2026-09-07", 1, sid, text)
    # 14.09: a control work (weight 2); А4 ill; the topic typed two days late, the grades six
    # days late (the allowed lag is 3), the register never marked.
    s.as_("t1", "2026-09-14T09:00", writes.set_cell, m5a, "2026-09-14", 1, a4, "Б")
    s.as_("t1", "2026-09-16T18:00", writes.save_lesson, m5a, "2026-09-14", 1, "Контрольная работа № 1", "control",
          items[1])
    for sid, text in [(a1, "5"), (a2, "5"), (a3, "2")]:
        s.as_("t1", "2026-09-20T18:00", writes.set_cell, m5a, "2026-09-14", 1, sid, text)
    # 21.09: nothing. 28.09: did not take place.
    s.as_("deputy", "2026-09-28T08:00", writes.set_lesson_status, m5a, "2026-09-28", 1, "cancelled", None,
          "карантин по гриппу")
    # 05.10: Т2 substitutes, writes the topic and marks the register; А3 absent (Н), А1 gets a 4.
    s.as_("deputy", "2026-10-05T08:00", writes.set_lesson_status, m5a, "2026-10-05", 1, "substituted", ids["t2"],
          "курсы повышения квалификации")
    s.as_("t2", "2026-10-05T08:50", writes.save_lesson, m5a, "2026-10-05", 1, "Сложение дробей", "lesson", items[2])
    s.as_("t2", "2026-10-05T08:55", writes.set_register, m5a, "2026-10-05", 1)
    s.as_("t2", "2026-10-05T09:10", writes.set_cell, m5a, "2026-10-05", 1, a1, "4")
    s.as_("t2", "2026-10-05T09:10", writes.set_cell, m5a, "2026-10-05", 1, a3, "Н")
    # 12.10 and 19.10: nothing recorded. Period grades at the quarter's end.
    for sid, value in [(a1, "5"), (a3, "3"), (a4, "н/а")]:
        s.as_("t1", "2026-10-23T15:00", writes.set_period_grade, m5a, ids["q1"], sid, value)
    # Русский язык 5А: no КТП; 08.09 and 15.09 with topics and grades (А2 late on 08.09; «4/5» on 15.09).
    s.as_("t2", "2026-09-08T09:00", writes.save_lesson, r5a, "2026-09-08", 1, "Звуки и буквы", "lesson", None)
    for sid, text in [(a1, "5"), (a2, "оп 4"), (a3, "4"), (a4, "3")]:
        s.as_("t2", "2026-09-08T09:20", writes.set_cell, r5a, "2026-09-08", 1, sid, text)
    s.as_("t2", "2026-09-15T09:00", writes.save_lesson, r5a, "2026-09-15", 1, "Орфограммы", "lesson", None)
    for sid, text in [(a1, "5"), (a2, "4/5"), (a4, "3")]:
        s.as_("t2", "2026-09-15T09:20", writes.set_cell, r5a, "2026-09-15", 1, sid, text)
    # 5Б: Б5 gets «5» and Б6 «2» in both subjects.
    s.as_("t1", "2026-09-07T09:50", writes.save_lesson, m5b, "2026-09-07", 2, "Натуральные числа", "lesson", None)
    s.as_("t2", "2026-09-09T09:00", writes.save_lesson, r5b, "2026-09-09", 1, "Звуки и буквы", "lesson", None)
    for jid, day, n in [(m5b, "2026-09-07", 2), (r5b, "2026-09-09", 1)]:
        s.as_("t1" if jid == m5b else "t2", day + "T10:00", writes.set_cell, jid, day, n, b5, "5")
        s.as_("t1" if jid == m5b else "t2", day + "T10:00", writes.set_cell, jid, day, n, b6, "2")
    clock.set_now(None)
    return s


@pytest.fixture
def web(school):
    clock.set_now("2026-10-30T12:00")
    with make_client(school.data) as c:
        yield c


def log_in(client, login: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/password").text).group(1)


def table_of(report: dict, title_start: str) -> dict:
    return next(t for t in report["tables"] if t["title"].startswith(title_start))


def by_name(rows: list[dict], key: str = "name") -> dict:
    return {r[key]: r for r in rows}


# --- успеваемость и качество ----------------------------------------------------------------------

def test_progress_by_class_parallel_school_counts_students_as_computed_by_hand(school, web):
    log_in(web, "deputy")
    q1 = school.ids["q1"]
    r = web.get(f"/api/v1/reports/progress?period={q1}&by=class").json()
    assert r["span"]["period_id"] == q1
    rows = by_name(table_of(r, "Успеваемость и качество по классам")["rows"])
    # 5А: А1 5/5 (на «5»), А2 5 (прогноз 4,67)/4 (на «4» и «5»), А3 3 (итоговая)/4 (с одной «3»),
    # А4 н/а/3 (не аттестован). Успеваемость 3/4, качество 2/4. Results 5,5,5,4,3,4,3:
    # СОУ (3·100 + 2·64 + 2·36)/7 = 71,4; средний балл 29/7 = 4,14.
    assert rows["5А"] == {"name": "5А", "students": 4, "excellent": 1, "good": 1, "one3": 1, "failed": 0,
                          "unrated": 1, "success_pct": 75.0, "quality_pct": 50.0, "sou_pct": 71.4, "mean": 4.14}
    # 5Б: Б5 на «5», Б6 «2» in both. Results 5,5,2,2: СОУ (200 + 32)/4 = 58, средний балл 3,5.
    assert rows["5Б"] == {"name": "5Б", "students": 2, "excellent": 1, "good": 0, "one3": 0, "failed": 1,
                          "unrated": 0, "success_pct": 50.0, "quality_pct": 50.0, "sou_pct": 58.0, "mean": 3.5}
    total, = table_of(r, "Успеваемость и качество по классам")["totals"]
    # The school: 6 students, 4 without «2» or н/а; 3 на «5» или «4» и «5»; results n5=5, n4=2,
    # n3=2, n2=2: СОУ 732/11 = 66,5, средний балл 43/11 = 3,91.
    assert total == {"name": "Итого", "students": 6, "excellent": 2, "good": 1, "one3": 1, "failed": 1, "unrated": 1,
                     "success_pct": 66.7, "quality_pct": 50.0, "sou_pct": 66.5, "mean": 3.91}
    school_row, = table_of(web.get(f"/api/v1/reports/progress?period={q1}&by=school").json(),
                           "Успеваемость и качество по школе")["rows"]
    assert {k: v for k, v in school_row.items() if k != "name"} == {k: v for k, v in total.items() if k != "name"}
    parallel, = table_of(web.get(f"/api/v1/reports/progress?period={q1}&by=parallel").json(),
                         "Успеваемость и качество по параллелям")["rows"]
    assert parallel["name"] == "5 классы" and parallel["students"] == 6 and parallel["success_pct"] == 66.7


def test_progress_by_subject_and_teacher_counts_results(school, web):
    log_in(web, "director")
    q1 = school.ids["q1"]
    subjects = by_name(table_of(web.get(f"/api/v1/reports/progress?period={q1}&by=subject").json(),
                                "Успеваемость и качество по предметам")["rows"])
    # Математика: 5 (А1), 5 (А2), 3 (А3), н/а (А4), 5 (Б5), 2 (Б6): 4 of 6 succeed, 3 of 6 «5»/«4»;
    # СОУ (300 + 36 + 16)/5 = 70,4; средний балл 20/5 = 4.
    assert subjects["Математика"] == {"name": "Математика", "results": 6, "n5": 3, "n4": 0, "n3": 1, "n2": 1,
                                      "unrated": 1, "success_pct": 66.7, "quality_pct": 50.0, "sou_pct": 70.4,
                                      "mean": 4.0}
    # Русский язык: 5, 4 (4, 4, 5 → 4,33), 4, 3, 5, 2: 5 of 6, 4 of 6; СОУ 380/6 = 63,3; 23/6 = 3,83.
    assert subjects["Русский язык"] == {"name": "Русский язык", "results": 6, "n5": 2, "n4": 2, "n3": 1, "n2": 1,
                                        "unrated": 0, "success_pct": 83.3, "quality_pct": 66.7, "sou_pct": 63.3,
                                        "mean": 3.83}
    teachers = by_name(table_of(web.get(f"/api/v1/reports/progress?period={q1}&by=teacher").json(),
                                "Успеваемость и качество по учителям")["rows"])
    assert teachers["Первова Анна Ивановна"]["n5"] == 3 and teachers["Вторая Анна Ивановна"]["success_pct"] == 83.3


def test_the_report_says_where_results_come_from_and_dates_use_current_averages(school, web):
    log_in(web, "deputy")
    page = web.get(f"/reports/progress?period={school.ids['q1']}").text
    # Математика 5А: three period grades set (А1, А3, А4); the other nine results are forecasts.
    assert "итоговые отметки, где они выставлены (3), и прогноз по текущим средневзвешенным отметкам, где их нет (9)" in page
    assert "75,0 %" in page and "71,4 %" in page and "4,14" in page
    # From–to dates: no period grades, only the weighted averages of the grades in those dates.
    # 07.09–14.09: А3 has 3 (weight 1) and 2 (weight 2): 7/3 = 2,33 → «2» in Математика.
    r = web.get("/api/v1/reports/progress?from=2026-09-07&to=2026-09-14&class_id=%d&by=subject" % school.ids["5А"])
    math = by_name(table_of(r.json(), "Успеваемость и качество по предметам")["rows"])["Математика"]
    assert (math["n5"], math["n3"], math["n2"], math["unrated"]) == (2, 0, 1, 1)
    assert "прогноз по текущим" in r.json()["lines"][2]


def test_results_lists_every_category_with_subjects_and_reasons(school, web):
    log_in(web, "deputy")
    rows = web.get(f"/api/v1/reports/results?period={school.ids['q1']}").json()["tables"][0]["rows"]
    found = [(r["category"], r["class"], r["student"].split()[0], r["detail"]) for r in rows]
    assert found == [
        ("Отличники (на «5»)", "5А", "УченикА1", ""), ("Отличники (на «5»)", "5Б", "УченикБ5", ""),
        ("Хорошисты (на «4» и «5»)", "5А", "УченикА2", ""), ("С одной «4»", "5А", "УченикА2", "Русский язык"),
        ("С одной «3»", "5А", "УченикА3", "Математика"),
        ("Неуспевающие", "5Б", "УченикБ6", "Математика, Русский язык"),
        # А4 was ill on both Mondays with lessons: 2 of the 3 lessons of Математика.
        ("Не аттестованы (н/а)", "5А", "УченикА4", "Математика — пропущено 2 из 3 уроков, по болезни 2")]


# --- сводная ведомость ------------------------------------------------------------------------------

def test_summary_of_a_class_gives_period_grades_and_the_journals_own_averages(school, web):
    log_in(web, "t1")  # the class teacher of 5А
    ids = school.ids
    r = web.get(f"/api/v1/reports/classes/{ids['5А']}/summary?period={ids['q1']}")
    assert r.status_code == 200
    data = r.json()
    assert [p["id"] for p in data["periods"]] == [ids["q1"], ids["year"]]
    students = {s["name"].split()[0]: s for s in data["students"]}
    assert list(students) == ["УченикА1", "УченикА2", "УченикА3", "УченикА4"]

    def cell(student, subject, period):
        subj = next(x for x in students[student]["subjects"] if x["subject"] == subject)
        return next(p for p in subj["periods"] if p["period_id"] == period)

    # А1: 5 (1), 5 (2), 4 (1): 19/4 = 4,75; the period grade 5.
    assert cell("УченикА1", "Математика", ids["q1"]) == {"period_id": ids["q1"], "grade": "5", "average": 4.75,
                                                          "forecast": "5"}
    # А2: 4 (1), 5 (2): 14/3 = 4,67 → 5; no period grade.
    assert cell("УченикА2", "Математика", ids["q1"]) == {"period_id": ids["q1"], "grade": None, "average": 4.67,
                                                          "forecast": "5"}
    assert cell("УченикА2", "Русский язык", ids["q1"])["average"] == 4.33
    assert cell("УченикА4", "Математика", ids["q1"])["grade"] == "н/а"
    page = web.get(f"/reports/classes/{ids['5А']}/summary").text
    assert "Сводная ведомость учёта успеваемости 5А класса" in page
    # Another class's ведомость is not the class teacher's to see (§2.6).
    assert web.get(f"/api/v1/reports/classes/{ids['5Б']}/summary").status_code == 403


# --- посещаемость -----------------------------------------------------------------------------------

def test_attendance_per_student_and_class_by_reason_with_whole_days_and_threshold(school, web):
    log_in(web, "deputy")
    ids = school.ids
    r = web.get(f"/api/v1/reports/attendance?period={ids['q1']}&class_id={ids['5А']}").json()
    students = {row["student"].split()[0]: row for row in table_of(r, "Посещаемость учащихся")["rows"]}
    # Each 5А student had 5 lessons: Математика 07.09, 14.09, 05.10 (28.09 did not take place;
    # 21.09, 12.10, 19.10 were never recorded) and Русский 08.09, 15.09.
    assert students["УченикА4"] == {"class": "5А", "student": students["УченикА4"]["student"], "lessons": 5,
                                    "missed": 2, "ill": 2, "excused": 0, "unexcused": 0, "late": 0,
                                    "missed_pct": 40.0, "days": 2}
    assert (students["УченикА3"]["missed"], students["УченикА3"]["unexcused"], students["УченикА3"]["missed_pct"],
            students["УченикА3"]["days"]) == (1, 1, 20.0, 1)
    assert (students["УченикА2"]["late"], students["УченикА2"]["missed"]) == (1, 0)
    total, = table_of(r, "Посещаемость учащихся")["totals"]
    assert (total["lessons"], total["missed"], total["missed_pct"], total["days"]) == (20, 3, 15.0, 3)
    over = table_of(r, "Пропустили 30 % уроков и больше")["rows"]
    assert [o["student"].split()[0] for o in over] == ["УченикА4"]
    school_rows = by_name(table_of(web.get(f"/api/v1/reports/attendance?period={ids['q1']}").json(),
                                   "Посещаемость по классам")["rows"], "class")
    assert school_rows["5Б"]["lessons"] == 4 and school_rows["5Б"]["missed"] == 0
    assert school_rows["5А"]["missed_pct"] == 15.0
    r = web.get(f"/api/v1/reports/attendance?period={ids['q1']}&class_id={ids['5А']}&threshold=15").json()
    assert [o["student"].split()[0] for o in table_of(r, "Пропустили 15 % уроков")["rows"]] == ["УченикА4", "УченикА3"]


# --- journal control ------------------------------------------------------------------------------

def test_journal_control_figures_a_to_g_of_a_journal(school, web):
    log_in(web, "deputy")
    ids = school.ids
    r = web.get(f"/api/v1/reports/journal-control?period={ids['q1']}")
    assert r.status_code == 200
    data = r.json()
    assert (data["min_grades"], data["grade_days"]) == (3, 3)
    j = by_name(data["journals"], "journal_id")[ids["m5a"]]
    # a) КТП: 8 topics, 7 of them in the quarter, all due by 25.10.
    assert j["plan"] == {"present": True, "items": 8, "planned_hours": 7, "planned_hours_due": 7, "given_lessons": 3}
    # b) Mondays 07.09–19.10: 7, one cancelled → 6; topics on 07.09, 14.09 (two days late), 05.10.
    assert j["lessons"] == {"scheduled": 6, "given": 3, "on_time": 2, "late": 1, "max_lag_days": 2,
                            "missing": [{"date": "2026-09-21", "number": 1}, {"date": "2026-10-12", "number": 1},
                                        {"date": "2026-10-19", "number": 1}]}
    # c) 7 grades; the three of 14.09 typed on 20.09, six days after.
    assert j["grades"] == {"total": 7, "on_time": 4, "late": 3, "allowed_days": 3, "max_lag_days": 6}
    # d) А1 3 grades, А2 2, А3 2, А4 none: 7/4 = 1,75 a student; three below 3.
    assert j["accumulation"]["grades_per_student"] == 1.8
    assert [(x["name"].split()[0], x["grades"]) for x in j["accumulation"]["below_min"]] == [
        ("УченикА2", 2), ("УченикА3", 2), ("УченикА4", 0)]
    # e) the register on 07.09 and 05.10 of the 6 lessons.
    assert j["attendance"] == {"lessons": 6, "taken": 2, "taken_pct": 33.3}
    # f) 3 lessons on КТП topics of 7 hours planned by 25.10.
    assert j["programme_pct"] == 42.9
    # g) who and why.
    assert j["substituted"] == [{"date": "2026-10-05", "number": 1, "reason": "курсы повышения квалификации",
                                 "substitute": "Вторая Анна Ивановна"}]
    assert j["cancelled"] == [{"date": "2026-09-28", "number": 1, "reason": "карантин по гриппу"}]
    links = {p["href"] for p in j["problems"]}
    assert links == {f"/journals/{ids['m5a']}?period={ids['q1']}", f"/journals/{ids['m5a']}/plan"}
    russian = by_name(data["journals"], "journal_id")[ids["r5a"]]
    assert russian["plan"]["present"] is False and russian["programme_pct"] is None
    assert russian["problems"][0] == {"text": "Нет КТП.", "href": f"/journals/{ids['r5a']}/plan"}
    # The same figures as a page: one row per journal, sortable, with the drill-down link.
    page = web.get(f"/reports/journal-control?period={ids['q1']}&sort=13&desc=0").text
    assert f'href="/reports/journal-control/{ids["m5a"]}?period={ids["q1"]}"' in page
    assert "42,9 %" in page and "33,3 %" in page
    filtered = web.get(f"/api/v1/reports/journal-control?period={ids['q1']}&teacher={ids['t2']}").json()
    assert {x["subject"] for x in filtered["journals"]} == {"Русский язык"}


def test_register_taken_is_in_the_grid_and_the_api_and_audited(school, web):
    log_in(web, "t1")
    ids = school.ids
    lesson = web.get(f"/api/v1/journals/{ids['m5a']}/lessons/2026-09-07/1").json()
    assert lesson["register_taken"] is True
    assert web.get(f"/api/v1/journals/{ids['m5a']}/lessons/2026-09-14/1").json()["register_taken"] is False
    grid = web.get(f"/journals/{ids['m5a']}?period={ids['q1']}").text
    assert grid.count('aria-label="посещаемость отмечена"') == 2
    who = school.q("SELECT a.account_id, a.at FROM audit_log a WHERE a.key = (SELECT 'register_taken:' || id FROM lesson"
                   " WHERE journal_id = ? AND date = '2026-10-05')", (ids["m5a"],))
    assert [tuple(r) for r in who] == [(school.users["t2"].account_id,
                                        clock.parse_moment("2026-10-05T08:55").strftime("%Y-%m-%dT%H:%M:%SZ"))]


def test_deputy_remark_is_shown_to_the_teacher_until_done_and_goes_into_the_certificate(school, web):
    ids = school.ids
    csrf = log_in(web, "deputy")
    r = web.post(f"/reports/journal-control/{ids['m5a']}/remarks",
                 data={"csrf_token": csrf, "text": "Заполнить темы уроков 21.09, 12.10, 19.10.", "due_on": "2026-11-06",
                       "period": str(ids["q1"])}, follow_redirects=False)
    assert r.status_code == 303
    bad = web.post(f"/reports/journal-control/{ids['m5a']}/remarks",
                   data={"csrf_token": csrf, "text": "Срок в прошлом", "due_on": "2026-10-01"})
    assert bad.status_code == 400 and "Срок исправления не может быть раньше" in bad.text
    remark_id, = school.q("SELECT id FROM journal_remark WHERE due_on = '2026-11-06'")[0]
    log_in(web, "t1")
    assert "Заполнить темы уроков 21.09, 12.10, 19.10." in web.get("/").text
    assert "исправить до 06.11.2026" in web.get(f"/journals/{ids['m5a']}").text
    # The teacher may not close it; the deputy does.
    assert web.post(f"/reports/remarks/{remark_id}/done", data={"csrf_token": log_in(web, "t1")}).status_code == 403
    cert = (log_in(web, "deputy"), web.get(f"/reports/certificate?period={ids['q1']}").text)[1]
    assert "Справка" in cert and "Заполнить темы уроков" in cert and "06.11.2026" in cert
    assert "Первова Анна Ивановна" in cert and "С справкой ознакомлены" in cert
    xlsx = web.get(f"/reports/certificate?period={ids['q1']}&format=xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    csrf = log_in(web, "deputy")
    assert web.post(f"/reports/remarks/{remark_id}/done", data={"csrf_token": csrf, "done": "1"},
                    follow_redirects=False).status_code == 303
    log_in(web, "t1")
    assert "Заполнить темы уроков" not in web.get("/").text
    assert school.q("SELECT count(*) FROM audit_log WHERE key = ?", (f"journal_remark:{remark_id}",))[0][0] == 2


def test_xlsx_has_russian_headers_a_frozen_header_row_and_widths(school, web):
    import openpyxl

    log_in(web, "deputy")
    r = web.get(f"/reports/progress?period={school.ids['q1']}&by=class&format=xlsx")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = book.worksheets[0]
    header = next(row for row in ws.iter_rows(values_only=True) if row[0] == "Класс")
    assert list(header[:3]) == ["Класс", "Учащихся", "На «5»"]
    header_row = next(i for i, row in enumerate(ws.iter_rows(values_only=True), 1) if row[0] == "Класс")
    assert ws.freeze_panes == f"A{header_row + 1}"
    assert ws.column_dimensions["A"].width == 14
    five_a = next(row for row in ws.iter_rows(values_only=True) if row[0] == "5А")
    assert five_a[7] == 75.0 and ws.cell(row=header_row + 1, column=8).number_format == '0.0" %"'


# --- who sees what (§2.6) ------------------------------------------------------------------------

def test_a_teacher_sees_their_own_journals_and_no_school_report(school, web):
    ids = school.ids
    log_in(web, "t2")
    mine = web.get(f"/reports/my-journals?period={ids['q1']}")
    assert mine.status_code == 200 and "Русский язык — 5А" in mine.text and "Математика" not in mine.text
    assert web.get(f"/reports/my-journals?teacher={ids['t1']}").status_code == 403
    assert web.get("/reports/progress").status_code == 403            # no class of their own
    assert web.get("/reports/journal-control").status_code == 403
    assert web.get(f"/reports/classes/{ids['5А']}/analysis").status_code == 403
    log_in(web, "t1")
    page = web.get(f"/reports/my-journals?period={ids['q1']}").text
    # Математика 5А: mean of the averages 4,75, 4,67, 2,33 = 3,92; at risk: А2 (2 grades), А4 (н/а).
    assert "3,92" in page and "УченикА4" in page
    analysis = web.get(f"/reports/classes/{ids['5А']}/analysis?period={ids['q1']}")
    assert analysis.status_code == 200
    assert "Успеваемость 75,0 %, качество 50,0 %, СОУ 71,4 %, средний балл 4,14." in analysis.text
    assert "Пропущено уроков: 3 из 20 (15,0 %)" in analysis.text
    log_in(web, "admin")  # the sysadmin: no summary forms (§2.6)
    assert web.get("/reports").status_code == 403


def test_movement_lists_arrivals_and_departures_with_dates_and_reasons(school, web):
    ids = school.ids
    new = school.write("2026-11-09T09:00", people.create_student, None, ids["5Б"], "Новенький", "Иван", "Иванович",
                       "2015-05-05", "м", "очная", "2026-11-09")
    school.write("2026-11-16T09:00", people.move_student, None, new, ids["5А"], "2026-11-16")
    school.write("2026-11-20T09:00", people.student_leaves, None, ids["Б6"], "2026-11-20",
                 "переезд, приказ № 12 от 20.11.2026")
    clock.set_now("2026-12-01T12:00")
    log_in(web, "deputy")
    r = web.get(f"/api/v1/reports/movement?period={ids['q2']}&date=2026-12-01").json()
    sizes = by_name(table_of(r, "Наполняемость классов на 01.12.2026")["rows"], "class")
    assert (sizes["5А"]["students"], sizes["5Б"]["students"]) == (5, 1)
    balance = by_name(table_of(r, "Движение по классам")["rows"], "class")
    assert list(balance["5Б"].values())[1:] == [2, 1, 2, 1]
    assert list(balance["5А"].values())[1:] == [4, 1, 0, 5]
    events = [(e["date"], e["event"], e["class"], e["student"].split()[0], e["reason"])
              for e in table_of(r, "Движение учащихся")["rows"]]
    assert events == [("09.11.2026", "Прибытие", "5Б", "Новенький", "прибыл(а) в школу"),
                      ("16.11.2026", "Выбытие", "5Б", "Новенький", "переведён(а) в 5А"),
                      ("16.11.2026", "Прибытие", "5А", "Новенький", "переведён(а) из 5Б"),
                      ("20.11.2026", "Выбытие", "5Б", "УченикБ6", "выбыл(а): переезд, приказ № 12 от 20.11.2026")]


def test_the_ledger_holds_after_the_reports_writes(school):
    from server import ledger

    conn = school.conn()
    try:
        ok, message = ledger.verify(conn)
    finally:
        conn.close()
    assert ok, message
