"""The timetable of a date (§3.4.4 g): the teacher's day and week, a class's week, the deputy's
planned substitutions, moved, extra and cancelled lessons — seen by the substitute, the
journal and the families — and GET /api/v1/me/lessons. The clock stands on Thursday
20.05.2027, in the demo's fourth quarter; what is planned lies after it."""

from __future__ import annotations

import re
import sqlite3

import pytest
from conftest import login, make_client, session_csrf

from server import clock
from server.cli import main as cli_main

TODAY = "2027-05-20"          # Thursday
FRIDAY, SATURDAY, MONDAY, TUESDAY = "2027-05-21", "2027-05-22", "2027-05-24", "2027-05-25"
WEEK = "2027-05-17"
NEXT_WEEK = "2027-05-24"


def q(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def person(data_dir, login_name: str) -> int:
    return q(data_dir, "SELECT person_id FROM account WHERE login = ?", (login_name,))[0][0]


@pytest.fixture
def day_client(data_dir):
    clock.set_now(f"{TODAY}T08:00")
    with make_client(data_dir) as c:
        yield c


def as_(client, login_name: str) -> str:
    client.cookies.clear()
    login(client, login_name)
    return session_csrf(client)


def free_teacher(data_dir, day: str, number: int, but: set[int] = frozenset()) -> int:
    """A teacher (teacherNN: not the deputy, who keeps every journal) with no lesson in the
    weekly timetable at that weekday and number."""
    weekday = {FRIDAY: 5, MONDAY: 1, TUESDAY: 2, SATURDAY: 6, TODAY: 4}[day]
    rows = q(data_dir, """
        SELECT DISTINCT a.person_id FROM account a JOIN account_role r ON r.account_id = a.id
         WHERE r.role = 'teacher' AND a.login LIKE 'teacher%' AND a.disabled_at IS NULL AND a.person_id NOT IN (
               SELECT j.teacher_id FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id
                WHERE ts.weekday = ? AND ts.lesson_number = ?)
         ORDER BY a.person_id""", (weekday, number))
    return next(r[0] for r in rows if r[0] not in but)


def busy_teacher(data_dir, day_weekday: int, number: int, but: int) -> int:
    """A teacher with a lesson of the weekly timetable at that weekday and number."""
    return q(data_dir, """
        SELECT j.teacher_id FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id
         WHERE ts.weekday = ? AND ts.lesson_number = ? AND j.teacher_id <> ? ORDER BY j.id LIMIT 1""",
             (day_weekday, number, but))[0][0]


def audit_ok(data_dir) -> bool:
    return cli_main(["audit", "verify", "--data", str(data_dir)]) == 0


# --- the teacher's day ----------------------------------------------------------------------------

def test_a_teacher_starts_the_day_on_the_home_page_with_times_rooms_and_what_is_recorded(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")
    home = c.get("/").text
    day = re.search(r'<section class="card" id="my-day">.*?</section>', home, re.S).group(0)
    assert "Сегодня: четверг, 20.05.2027" in day
    # teacher01 has 5А at 1 and 6Б at 2 on Thursdays (the demo's timetable), times from the bells.
    assert day.index("5А · Русский язык") < day.index("6Б · Русский язык")
    assert "08:30" in day and "09:25" in day
    assert f'href="/journals/1?lesson={TODAY}/1"' in day
    assert "тема —" in day and "ДЗ —" in day
    # The topic and the homework written, one student absent: the day says so.
    r = c.post(f"/journals/1/lessons/{TODAY}/1", data={"csrf_token": csrf, "topic": "Повторение: орфограммы",
                                                       "work_type": "lesson", "plan_item_id": ""})
    assert r.status_code == 200
    r = c.post(f"/journals/1/lessons/{TODAY}/1/homework", data={"csrf_token": csrf, "text": "Упр. 512", "minutes": "20"})
    assert r.status_code == 200
    student = q(data_dir, "SELECT student_id FROM enrollment WHERE class_id = 1 LIMIT 1")[0][0]
    r = c.post("/journals/1/cell", json={"student": student, "date": TODAY, "n": 1, "value": "н"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    day = re.search(r'<section class="card" id="my-day">.*?</section>', c.get("/").text, re.S).group(0)
    first = day[:day.index("6Б · Русский язык")]
    assert "тема ✓" in first and "посещаемость ✓" in first and "ДЗ ✓" in first
    # One click into the lesson: the grid of the lesson's period opens that lesson's panel.
    grid = c.get(f"/journals/1?lesson={TODAY}/1")
    assert grid.status_code == 200 and f'data-lesson="{TODAY}/1"' in grid.text


def test_on_a_day_without_lessons_the_home_page_shows_the_next_school_day(data_dir):
    clock.set_now("2027-05-23T10:00")  # Sunday
    with make_client(data_dir) as c:
        as_(c, "teacher01")
        day = re.search(r'<section class="card" id="my-day">.*?</section>', c.get("/").text, re.S).group(0)
        assert "Ближайшие уроки: понедельник, 24.05.2027" in day


def test_my_lessons_api_lists_the_days_lessons_with_what_is_recorded(day_client):
    c = day_client
    as_(c, "teacher01")
    r = c.get(f"/api/v1/me/lessons?date={TODAY}")
    assert r.status_code == 200
    data = r.json()
    assert data["date"] == TODAY
    first = data["lessons"][0]
    assert {k: first[k] for k in ("journal_id", "lesson_number", "starts_at", "class", "subject", "status",
                                  "topic_recorded", "attendance_recorded", "homework_recorded", "substitute",
                                  "mine")} == {
        "journal_id": 1, "lesson_number": 1, "starts_at": "08:30", "class": "5А", "subject": "Русский язык",
        "status": "held", "topic_recorded": False, "attendance_recorded": False, "homework_recorded": False,
        "substitute": None, "mine": True}
    assert "room" in first
    assert [x["lesson_number"] for x in data["lessons"]] == [1, 2]
    # Without a date: today; a wrong date is a Russian 400.
    assert c.get("/api/v1/me/lessons").json()["date"] == TODAY
    bad = c.get("/api/v1/me/lessons?date=2027-13-01")
    assert bad.status_code == 400 and "неверная дата" in bad.json()["error"]


def test_a_teacher_sees_their_week_and_a_class_teacher_their_class_week(day_client, data_dir):
    c = day_client
    as_(c, "teacher01")
    week = c.get(f"/my/timetable?week={WEEK}")
    assert week.status_code == 200
    assert "пн, 17.05" in week.text and "пт, 21.05" in week.text
    assert week.text.count("/journals/1?lesson=") == 5  # 5А's Russian, Monday to Friday at the 1st
    cls = c.get("/classes/1/timetable?week=" + WEEK)
    assert cls.status_code == 200 and "Расписание 5А" in cls.text and "Математика" in cls.text
    as_(c, "teacher02")  # the class teacher of 5Б
    assert c.get("/classes/1/timetable").status_code == 403


# --- planned substitutions -----------------------------------------------------------------------

def plan_absence(c, csrf, who: int, start: str, end: str, reason="болезнь") -> int:
    r = c.post("/school/absences", data={"csrf_token": csrf, "person_id": str(who), "starts_on": start,
                                         "ends_on": end, "reason": reason}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return int(re.search(r"/school/absences/(\d+)", r.headers["location"]).group(1))


def test_the_deputy_plans_a_substitution_that_the_substitute_sees_and_writes_into(day_client, data_dir):
    c = day_client
    t01 = person(data_dir, "teacher01")
    csrf = as_(c, "deputy")
    absence = plan_absence(c, csrf, t01, FRIDAY, TUESDAY)
    page = c.get(f"/school/absences/{absence}")
    assert page.status_code == 200
    # Each of teacher01's lessons of those days, with who is free at it.
    field = f"sub:1:{FRIDAY}:1"
    assert f'name="{field}"' in page.text and f'name="sub:1:{MONDAY}:1"' in page.text
    assert "свобод" in page.text and "занят" in page.text
    sub = free_teacher(data_dir, FRIDAY, 1, {t01})
    options = re.search(rf'<select name="{field}".*?</select>', page.text, re.S).group(0)
    assert re.search(rf'<option value="{sub}">[^<]*свобод', options)
    r = c.post(f"/school/absences/{absence}", data={"csrf_token": csrf, field: str(sub)}, follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT status, substitute_id, status_reason FROM lesson WHERE journal_id = 1 AND date = ?"
                       " AND lesson_number = 1", (FRIDAY,)) == [("substituted", sub, "болезнь")]
    assert audit_ok(data_dir)

    # The substitute: the lesson in their week, their day's API, the journal list; they may write it.
    sub_login = q(data_dir, "SELECT login FROM account WHERE person_id = ?", (sub,))[0][0]
    csrf = as_(c, sub_login)
    week = c.get(f"/my/timetable?week={WEEK}").text
    assert "замена за" in week and f'/journals/1?lesson={FRIDAY}/1' in week
    mine = c.get(f"/api/v1/me/lessons?date={FRIDAY}").json()["lessons"]
    given = next(x for x in mine if x["journal_id"] == 1)
    assert given["mine"] is False and given["substitute"]["id"] == sub and given["status"] == "substituted"
    assert any(j["id"] == 1 for j in c.get("/api/v1/journals").json())
    r = c.post(f"/journals/1/lessons/{FRIDAY}/1", data={"csrf_token": csrf, "topic": "Правописание приставок",
                                                        "work_type": "lesson", "plan_item_id": ""})
    assert r.status_code == 200 and "Сохранено" in r.text
    r = c.post(f"/journals/1/lessons/{TODAY}/1", data={"csrf_token": csrf, "topic": "Чужой урок",
                                                       "work_type": "lesson", "plan_item_id": ""})
    assert r.status_code == 403

    # teacher01 sees who gives the lesson; the family sees the substitution in the diary week.
    as_(c, "teacher01")
    friday = c.get(f"/api/v1/me/lessons?date={FRIDAY}").json()["lessons"][0]
    assert friday["substitute"]["id"] == sub and friday["mine"] is True
    as_(c, "student0001")
    diary = c.get(f"/diary?week={WEEK}").text
    day = re.search(rf'id="day-{FRIDAY}".*?</section>', diary, re.S).group(0)
    assert "(замена)" in day


def test_a_busy_or_absent_teacher_is_not_taken_as_a_substitute(day_client, data_dir):
    c = day_client
    t01 = person(data_dir, "teacher01")
    csrf = as_(c, "deputy")
    absence = plan_absence(c, csrf, t01, FRIDAY, FRIDAY)
    busy = busy_teacher(data_dir, 5, 1, t01)
    r = c.post(f"/school/absences/{absence}", data={"csrf_token": csrf, f"sub:1:{FRIDAY}:1": str(busy)})
    assert r.status_code == 400 and "в это время урок" in r.text
    other = free_teacher(data_dir, FRIDAY, 1, {t01})
    plan_absence(c, csrf, other, FRIDAY, FRIDAY, "курсы повышения квалификации")
    r = c.post(f"/school/absences/{absence}", data={"csrf_token": csrf, f"sub:1:{FRIDAY}:1": str(other)})
    assert r.status_code == 400 and "отсутствует" in r.text
    # Nothing was written by the refused forms.
    assert q(data_dir, "SELECT count(*) FROM lesson WHERE journal_id = 1 AND date = ?", (FRIDAY,)) == [(0,)]
    # The same person away twice over the same days, or without a reason, is refused too.
    r = c.post("/school/absences", data={"csrf_token": csrf, "person_id": str(t01), "starts_on": FRIDAY,
                                         "ends_on": MONDAY, "reason": "болезнь"})
    assert r.status_code == 400 and "уже записано" in r.text
    r = c.post("/school/absences", data={"csrf_token": csrf, "person_id": str(other), "starts_on": MONDAY,
                                         "ends_on": MONDAY, "reason": " "})
    assert r.status_code == 400 and "Укажите причину" in r.text


def test_a_substitution_is_planned_and_taken_back_on_the_lesson_page(day_client, data_dir):
    c = day_client
    t01 = person(data_dir, "teacher01")
    csrf = as_(c, "deputy")
    page = c.get(f"/school/changes/lesson?journal=1&date={MONDAY}&n=1")
    assert page.status_code == 200 and "5А, Русский язык: 24.05.2027, 1-й урок" in page.text
    sub = free_teacher(data_dir, MONDAY, 1, {t01})
    address = {"csrf_token": csrf, "journal": "1", "date": MONDAY, "n": "1"}
    r = c.post("/school/changes/substitute", data={**address, "substitute_id": str(sub), "reason": "курсы"},
               follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT status, substitute_id FROM lesson WHERE journal_id = 1 AND date = ?", (MONDAY,)) == [
        ("substituted", sub)]
    r = c.post("/school/changes/substitute", data={**address, "substitute_id": ""}, follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT status, substitute_id FROM lesson WHERE journal_id = 1 AND date = ?", (MONDAY,)) == [
        ("held", None)]
    assert audit_ok(data_dir)


# --- moved, extra and cancelled lessons --------------------------------------------------------------

def test_a_lesson_moved_to_another_day_moves_in_the_grid_the_diary_and_the_teachers_day(day_client, data_dir):
    c = day_client
    csrf = as_(c, "deputy")
    address = {"csrf_token": csrf, "journal": "1", "date": MONDAY, "n": "1"}
    r = c.post("/school/changes/move", data={**address, "to_date": SATURDAY, "to_n": "1", "room": "12",
                                             "reason": "праздничный концерт в понедельник"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:400]
    # The journal's grid: the Saturday column, no Monday one (the ONE timetable of a date).
    period = q(data_dir, "SELECT p.id FROM study_period p JOIN journal j ON j.year_id = p.year_id"
                         " WHERE j.id = 1 AND p.kind = 'quarter' AND p.number = 4")[0][0]
    columns = {(x["date"], x["number"]) for x in c.get(f"/api/v1/journals/1?period={period}").json()["lessons"]}
    assert (SATURDAY, 1) in columns and (MONDAY, 1) not in columns
    # teacher01: Saturday has the lesson (moved here), Monday says where it went; writes follow.
    csrf = as_(c, "teacher01")
    saturday = c.get(f"/api/v1/me/lessons?date={SATURDAY}").json()
    assert saturday["lessons"][0]["kind"] == "moved" and saturday["lessons"][0]["room"] == "12"
    assert saturday["lessons"][0]["moved_from"] == {"date": MONDAY, "lesson_number": 1}
    monday = c.get(f"/api/v1/me/lessons?date={MONDAY}").json()
    assert monday["moved_away"][0]["to"] == {"date": SATURDAY, "lesson_number": 1}
    assert all(x["journal_id"] != 1 or x["lesson_number"] != 1 for x in monday["lessons"])
    r = c.post(f"/journals/1/lessons/{SATURDAY}/1", data={"csrf_token": csrf, "topic": "Итоговое повторение",
                                                          "work_type": "lesson", "plan_item_id": ""})
    assert r.status_code == 200 and "Сохранено" in r.text
    r = c.post(f"/journals/1/lessons/{MONDAY}/1", data={"csrf_token": csrf, "topic": "Урок, которого нет",
                                                        "work_type": "lesson", "plan_item_id": ""})
    assert r.status_code == 404 and "нет в расписании" in r.text  # the panel of a lesson that is not there
    assert q(data_dir, "SELECT count(*) FROM lesson WHERE journal_id = 1 AND date = ?", (MONDAY,)) == [(0,)]
    # The family: Saturday shows the lesson, Monday where it went.
    as_(c, "student0001")
    diary = c.get(f"/diary?week={WEEK}").text
    assert "перенесён с 24.05.2027, 1-го урока" in diary
    diary = c.get(f"/diary?week={NEXT_WEEK}").text
    assert "урок перенесён на 22.05.2027, 1-й урок" in diary
    assert audit_ok(data_dir)
    # Undone: back where the weekly timetable has it, the topic with it.
    csrf = as_(c, "deputy")
    change = q(data_dir, "SELECT id FROM timetable_change")[0][0]
    r = c.post(f"/school/changes/{change}/undo", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT date, lesson_number, topic FROM lesson WHERE journal_id = 1 AND date >= ?", (TODAY,)) == [
        (MONDAY, 1, "Итоговое повторение")]
    assert q(data_dir, "SELECT count(*) FROM timetable_change") == [(0,)]
    assert audit_ok(data_dir)


def test_a_move_onto_a_busy_teacher_or_class_or_a_lesson_with_marks_is_refused(day_client, data_dir):
    c = day_client
    csrf = as_(c, "deputy")
    address = {"csrf_token": csrf, "journal": "1", "date": MONDAY, "n": "1"}
    # teacher01 has 6Б at the 2nd lesson on Mondays.
    r = c.post("/school/changes/move", data={**address, "to_date": MONDAY, "to_n": "2", "reason": "так надо"})
    assert r.status_code == 400 and "у учителя в это время урок" in r.text
    # A Tuesday lesson of 5А with another teacher, when teacher01 is free.
    taken = q(data_dir, "SELECT ts.lesson_number FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id"
                        " WHERE ts.weekday = 2 AND j.class_id = 1 AND ts.lesson_number NOT IN"
                        " (SELECT t2.lesson_number FROM timetable_slot t2 JOIN journal j2 ON j2.id = t2.journal_id"
                        "   WHERE t2.weekday = 2 AND j2.teacher_id = :t) ORDER BY 1 LIMIT 1",
              {"t": person(data_dir, "teacher01")})[0][0]
    r = c.post("/school/changes/move", data={**address, "to_date": TUESDAY, "to_n": str(taken), "reason": "так надо"})
    assert r.status_code == 400 and "уже урок" in r.text
    r = c.post("/school/changes/move", data={**address, "to_date": "2027-03-25", "to_n": "6", "reason": "так"})
    assert r.status_code == 400 and "каникулы" in r.text
    r = c.post("/school/changes/move", data={**address, "to_date": SATURDAY, "to_n": "1", "reason": ""})
    assert r.status_code == 400 and "причину" in r.text
    # A lesson given already, with marks in it, stays where it was.
    marked = q(data_dir, "SELECT l.date, l.lesson_number FROM lesson l WHERE l.journal_id = 1 AND EXISTS"
                         " (SELECT 1 FROM grade g WHERE g.lesson_id = l.id) ORDER BY l.date DESC LIMIT 1")
    if marked:
        day, n = marked[0]
        r = c.post("/school/changes/move", data={"csrf_token": csrf, "journal": "1", "date": day, "n": str(n),
                                                 "to_date": SATURDAY, "to_n": "1", "reason": "так"})
        assert r.status_code == 400 and "отметки" in r.text
    assert q(data_dir, "SELECT count(*) FROM timetable_change") == [(0,)]


def test_an_extra_lesson_has_a_reason_and_shows_in_the_grid_and_the_diary(day_client, data_dir):
    c = day_client
    csrf = as_(c, "deputy")
    r = c.post("/school/changes/extra", data={"csrf_token": csrf, "journal": "1", "date": SATURDAY, "n": "2",
                                              "room": "12", "reason": ""})
    assert r.status_code == 400 and "Укажите причину" in r.text
    r = c.post("/school/changes/extra", data={"csrf_token": csrf, "journal": "1", "date": SATURDAY, "n": "2",
                                              "room": "12", "reason": "консультация перед ВПР"},
               follow_redirects=False)
    assert r.status_code == 303
    as_(c, "student0001")
    diary = c.get(f"/diary?week={WEEK}").text
    assert "дополнительный урок: консультация перед ВПР" in diary
    csrf = as_(c, "teacher01")
    lesson = next(x for x in c.get(f"/api/v1/me/lessons?date={SATURDAY}").json()["lessons"])
    assert lesson["kind"] == "extra" and lesson["reason"] == "консультация перед ВПР"
    r = c.post(f"/journals/1/lessons/{SATURDAY}/2/homework", data={"csrf_token": csrf, "text": "Вариант 3"})
    assert r.status_code == 200 and "Сохранено" in r.text
    # With homework on it, the extra lesson can only be cancelled, not removed.
    csrf = as_(c, "deputy")
    change = q(data_dir, "SELECT id FROM timetable_change")[0][0]
    r = c.post(f"/school/changes/{change}/undo", data={"csrf_token": csrf})
    assert r.status_code == 400 and "уже есть записи" in r.text
    assert audit_ok(data_dir)


def test_a_cancelled_lesson_shows_its_reason_to_the_family_and_can_be_given_back(day_client, data_dir):
    c = day_client
    csrf = as_(c, "deputy")
    address = {"csrf_token": csrf, "journal": "1", "date": TUESDAY, "n": "1"}
    assert c.post("/school/changes/cancel", data={**address, "reason": ""}).status_code == 400
    r = c.post("/school/changes/cancel", data={**address, "reason": "карантин в классе"}, follow_redirects=False)
    assert r.status_code == 303
    as_(c, "parent0001")
    student = person(data_dir, "student0001")
    diary = c.get(f"/diary?student={student}&week={NEXT_WEEK}").text
    assert "урок отменён: карантин в классе" in diary
    csrf = as_(c, "deputy")
    r = c.post("/school/changes/restore", data={**address, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT status FROM lesson WHERE journal_id = 1 AND date = ?", (TUESDAY,)) == [("held",)]
    # The deputy's overview of the week lists what changed.
    c.post("/school/changes/cancel", data={**address, "csrf_token": csrf, "reason": "карантин в классе"})
    overview = c.get(f"/school/changes?week={NEXT_WEEK}").text
    assert "не состоится: карантин в классе" in overview
    assert audit_ok(data_dir)


def test_only_the_deputy_changes_the_timetable_of_dates(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")  # the journal's own teacher: not a timetable change of theirs
    r = c.post("/school/changes/move", data={"csrf_token": csrf, "journal": "1", "date": MONDAY, "n": "1",
                                             "to_date": SATURDAY, "to_n": "1", "reason": "хочу"})
    assert r.status_code == 403
    csrf = as_(c, "director")
    assert c.get("/school/changes").status_code == 200  # looks
    r = c.post("/school/changes/cancel", data={"csrf_token": csrf, "journal": "1", "date": MONDAY, "n": "1",
                                               "reason": "так"})
    assert r.status_code == 403
    assert q(data_dir, "SELECT count(*) FROM lesson WHERE journal_id = 1 AND date >= ?", (TODAY,)) == [(0,)]


def test_a_link_to_a_lesson_opens_the_grid_of_that_lessons_period(day_client):
    c = day_client
    as_(c, "teacher01")
    grid = c.get("/journals/1?lesson=2027-03-15/1").text  # a Monday of the 3rd quarter
    current = re.search(r'<a href="/journals/1\?period=\d+" aria-current="page">([^<]*)</a>', grid).group(1)
    assert current.startswith("3 четв")
    assert 'data-lesson="2027-03-15/1"' in grid


def test_after_the_last_quarter_the_timetable_of_a_date_has_no_lessons(day_client):
    c = day_client
    as_(c, "teacher01")
    assert c.get("/api/v1/me/lessons?date=2027-06-01").json()["lessons"] == []  # a Tuesday in the summer
    assert c.get("/api/v1/me/lessons?date=2027-05-25").json()["lessons"]       # the last week of the 4th quarter


# --- with journal control (issue 13): one timetable of a date, one «посещаемость отмечена» ---------

def test_a_register_taken_with_everyone_present_is_attendance_recorded_on_the_teachers_day(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")
    assert c.get(f"/api/v1/me/lessons?date={TODAY}").json()["lessons"][0]["attendance_recorded"] is False
    r = c.post(f"/journals/1/lessons/{TODAY}/1/register", data={"csrf_token": csrf, "taken": "1"})
    assert r.status_code == 200
    assert q(data_dir, "SELECT count(*) FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
                       " WHERE l.journal_id = 1 AND l.date = ?", (TODAY,)) == [(0,)]
    assert c.get(f"/api/v1/me/lessons?date={TODAY}").json()["lessons"][0]["attendance_recorded"] is True


def test_journal_control_follows_a_moved_lesson(day_client, data_dir):
    c = day_client
    csrf = as_(c, "deputy")
    address = {"csrf_token": csrf, "journal": "1", "date": MONDAY, "n": "1"}
    # Both in the past of the check day: the clock moves to the Wednesday after.
    assert c.post("/school/changes/move", data={**address, "to_date": SATURDAY, "to_n": "1", "room": "12",
                                                "reason": "концерт"}, follow_redirects=False).status_code == 303
    clock.set_now("2027-05-26T08:00")
    as_(c, "deputy")
    period = q(data_dir, "SELECT p.id FROM study_period p JOIN journal j ON j.year_id = p.year_id"
                         " WHERE j.id = 1 AND p.kind = 'quarter' AND p.number = 4")[0][0]
    r = c.get(f"/api/v1/reports/journal-control?period={period}")
    assert r.status_code == 200, r.text[:300]
    one = next(j for j in r.json()["journals"] if j["journal_id"] == 1)
    missing = {(m["date"], m["number"]) for m in one["lessons"]["missing"]}
    # The Monday lesson went to Saturday: Saturday is owed a topic, Monday is not.
    assert (SATURDAY, 1) in missing and (MONDAY, 1) not in missing
