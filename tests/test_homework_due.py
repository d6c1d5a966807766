"""Homework by the day it is due: the next lesson of the journal by default (the timetable of
dates: a cancelled lesson is skipped), or the day the teacher picks; the diary's day and the
home page show it with the day it was set. The clock stands on Thursday 20.05.2027."""

from __future__ import annotations

import re

import pytest
from conftest import make_client
from test_timetable import FRIDAY, MONDAY, TODAY, TUESDAY, WEEK, NEXT_WEEK, as_, audit_ok, person, q

from server import clock

HOMEWORK = "Упражнение 530, правило на с. 112"


@pytest.fixture
def day_client(data_dir):
    clock.set_now(f"{TODAY}T08:00")
    with make_client(data_dir) as c:
        yield c


def set_homework(c, csrf, day=TODAY, n=1, due=""):
    return c.post(f"/journals/1/lessons/{day}/{n}/homework",
                  data={"csrf_token": csrf, "text": HOMEWORK, "minutes": "25", "due_date": due})


def due_on(html: str, day: str) -> str:
    section = re.search(rf'id="day-{day}".*?</section>', html, re.S).group(0)
    block = re.search(r'<div class="due-list">.*?</div>', section, re.S)
    return block.group(0) if block else ""


def test_homework_is_due_at_the_next_lesson_and_the_family_sees_it_that_day(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")
    panel = c.get(f"/journals/1/lessons/{TODAY}/1").text
    assert "к следующему уроку: 21.05.2027, 1-й урок" in panel
    r = set_homework(c, csrf)
    assert r.status_code == 200 and "Сохранено" in r.text
    assert q(data_dir, "SELECT h.due_date FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                       " WHERE l.journal_id = 1 AND l.date = ?", (TODAY,)) == [(None,)]
    as_(c, "student0001")
    week = c.get(f"/diary?week={WEEK}").text
    friday = due_on(week, FRIDAY)
    assert HOMEWORK in friday and "задано 20.05.2027" in friday
    assert HOMEWORK not in due_on(week, TODAY)
    # The home page: what is due on the next school day.
    home = c.get("/").text
    card = re.search(r'<section class="card" id="role-student">.*?</section>', home, re.S).group(0)
    assert "Задано на пятницу, 21.05.2027" in card and HOMEWORK in card
    # The diary's API has it too: tomorrow by default, or the days asked for.
    student = person(data_dir, "student0001")
    days = c.get(f"/api/v1/students/{student}/homework").json()["days"]
    assert days[0]["date"] == FRIDAY and days[0]["homework"][0]["text"] == HOMEWORK
    assert days[0]["homework"][0]["set_on"] == TODAY and days[0]["homework"][0]["chosen"] is False
    days = c.get(f"/api/v1/students/{student}/homework?from={WEEK}&to=2027-05-23").json()["days"]
    assert [d["date"] for d in days] == [FRIDAY]
    assert c.get(f"/api/v1/students/{student}/homework?from={WEEK}&to=2027-08-01").status_code == 400
    other = person(data_dir, "student0002")
    assert c.get(f"/api/v1/students/{other}/homework").status_code == 404
    assert audit_ok(data_dir)


def test_a_cancelled_next_lesson_moves_the_due_day_to_the_one_after(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")
    set_homework(c, csrf)
    csrf = as_(c, "deputy")
    r = c.post("/school/changes/cancel", data={"csrf_token": csrf, "journal": "1", "date": FRIDAY, "n": "1",
                                               "reason": "экскурсия"}, follow_redirects=False)
    assert r.status_code == 303
    as_(c, "parent0001")
    student = person(data_dir, "student0001")
    assert HOMEWORK not in due_on(c.get(f"/diary?student={student}&week={WEEK}").text, FRIDAY)
    assert HOMEWORK in due_on(c.get(f"/diary?student={student}&week={NEXT_WEEK}").text, MONDAY)


def test_the_teacher_picks_the_due_day_in_the_lesson_panel(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")
    r = set_homework(c, csrf, due=TUESDAY)
    assert r.status_code == 200 and f'value="{TUESDAY}"' in r.text
    as_(c, "student0001")
    assert HOMEWORK not in due_on(c.get(f"/diary?week={WEEK}").text, FRIDAY)
    assert HOMEWORK in due_on(c.get(f"/diary?week={NEXT_WEEK}").text, TUESDAY)
    csrf = as_(c, "teacher01")
    r = set_homework(c, csrf, due=TODAY)
    assert r.status_code == 400 and "позже дня урока" in r.text
    r = set_homework(c, csrf, due="2027-09-15")
    assert r.status_code == 400 and "в пределах учебного года" in r.text
    assert q(data_dir, "SELECT h.due_date FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                       " WHERE l.journal_id = 1 AND l.date = ?", (TODAY,)) == [(TUESDAY,)]
    # The ledger keeps the chosen day; older entries (no due date) still verify.
    new = q(data_dir, "SELECT new FROM audit_log WHERE entity = 'homework' ORDER BY id DESC LIMIT 1")[0][0]
    assert f'"due_date":"{TUESDAY}"' in new
    assert audit_ok(data_dir)


def test_the_api_sets_and_reads_the_due_date(day_client, data_dir):
    c = day_client
    csrf = as_(c, "teacher01")
    r = c.put(f"/api/v1/journals/1/lessons/{TODAY}/1/homework", json={"text": HOMEWORK, "due_date": MONDAY},
              headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["homework"]["due_date"] == MONDAY
    r = c.put(f"/api/v1/journals/1/lessons/{TODAY}/1/homework", json={"text": HOMEWORK, "due_date": "вчера"},
              headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "неверная дата" in r.json()["error"]
