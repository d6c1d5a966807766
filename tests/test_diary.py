"""The diary: what a student and their parents see of what the teacher wrote, averages and
forecasts explained, the printouts for paper families — and that nobody sees another family."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta

import pytest
from test_journal import execute, q
from conftest import login

from server import clock
from server.diary import rules

TOPIC_A = "Правописание безударных гласных в корне слова"
TOPIC_B = "Повторение: части речи"
HOMEWORK = "Упражнение 125, выучить правило на с. 48"
FILE = ("задание по русскому.pdf", b"%PDF-1.4 diary test", "application/pdf")




def person(data_dir, login_name: str) -> int:
    return q(data_dir, "SELECT person_id FROM account WHERE login = ?", (login_name,))[0][0]


def name_of(data_dir, person_id: int) -> str:
    last, first = q(data_dir, "SELECT last_name, first_name FROM person WHERE id = ?", (person_id,))[0]
    return f"{last} {first}"


def lessons_back(data_dir, journal_id: int, before: date, count: int) -> list[tuple[str, int]]:
    """Scheduled lessons of a journal going back from `before`, holidays skipped."""
    slots: dict[int, list[int]] = {}
    for wd, n in q(data_dir, "SELECT weekday, lesson_number FROM timetable_slot WHERE journal_id = ?", (journal_id,)):
        slots.setdefault(wd, []).append(n)
    start = q(data_dir, "SELECT starts_on FROM academic_year WHERE status = 'open'")[0][0]
    holidays = q(data_dir, "SELECT starts_on, ends_on FROM holiday")
    day, found = before, []
    while len(found) < count and day.isoformat() >= start:
        iso = day.isoformat()
        if not any(a <= iso <= b for a, b in holidays):
            found.extend((iso, n) for n in sorted(slots.get(day.isoweekday(), []), reverse=True))
        day -= timedelta(days=1)
    return found[:count]


def three_lessons(data_dir) -> tuple[list[tuple[str, int]], tuple[int, str, str]]:
    """Three past lessons of journal 1 (Русский язык, 5А) in one quarter, newest first, and that quarter."""
    today = clock.today().isoformat()
    for pid, start, end in q(data_dir, "SELECT id, starts_on, ends_on FROM study_period WHERE kind = 'quarter'"
                                       " AND starts_on <= ? ORDER BY starts_on DESC", (today,)):
        found = [x for x in lessons_back(data_dir, 1, date.fromisoformat(min(today, end)), 3) if x[0] >= start]
        if len(found) == 3:
            return found, (pid, start, end)
    pytest.skip("no quarter with three past lessons yet (the first days of the school year)")


class Teacher:
    """A logged-in teacher writing into a journal the way the journal page does."""

    def __init__(self, client, journal_id: int):
        self.c, self.j = client, journal_id
        page = client.get(f"/journals/{journal_id}")
        assert page.status_code == 200, page.status_code
        self.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)

    def cell(self, student, day, n, value):
        r = self.c.post(f"/journals/{self.j}/cell", json={"student": student, "date": day, "n": n, "value": value},
                        headers={"X-CSRF-Token": self.csrf})
        assert r.status_code == 200, r.text
        return r

    def lesson(self, day, n, topic, work_type="lesson"):
        r = self.c.post(f"/journals/{self.j}/lessons/{day}/{n}",
                        data={"topic": topic, "work_type": work_type, "plan_item_id": "", "csrf_token": self.csrf})
        assert r.status_code == 200, r.text
        return r

    def homework(self, day, n, text, minutes="", files=None):
        r = self.c.post(f"/journals/{self.j}/lessons/{day}/{n}/homework",
                        data={"text": text, "minutes": minutes, "csrf_token": self.csrf}, files=files)
        assert r.status_code == 200, r.text
        return r

    def period_grade(self, student, period, value):
        r = self.c.post(f"/journals/{self.j}/period-grade", json={"student": student, "period": period, "value": value},
                        headers={"X-CSRF-Token": self.csrf})
        assert r.status_code == 200, r.text


@pytest.fixture
def written(client, data_dir):
    """teacher01 writes into 5А's Russian journal for student0001: a control work graded 5
    with homework and a file, a lesson graded 4, an absence. Whatever the demo wrote for
    this student (or as homework anywhere) is cleared first, so the figures are known."""
    sid = person(data_dir, "student0001")
    for sql in ("DELETE FROM grade WHERE student_id = ?", "DELETE FROM attendance WHERE student_id = ?",
                "DELETE FROM period_grade WHERE student_id = ?"):
        execute(data_dir, sql, (sid,))
    execute(data_dir, "DELETE FROM homework")
    lessons, (pid, pstart, pend) = three_lessons(data_dir)
    # Lesson a (the control work) comes before lesson b, so the formula lists 5×2 first.
    (b, bn), (a, an), (c, cn) = lessons
    login(client, "teacher01")
    t = Teacher(client, 1)
    t.lesson(a, an, TOPIC_A, "control")
    t.homework(a, an, HOMEWORK, "20", files={"file": FILE})
    t.cell(sid, a, an, "5")
    t.lesson(b, bn, TOPIC_B)
    t.cell(sid, b, bn, "4")
    t.cell(sid, c, cn, "н")
    client.cookies.clear()
    lesson_a = q(data_dir, "SELECT id FROM lesson WHERE journal_id = 1 AND date = ? AND lesson_number = ?", (a, an))[0][0]
    return {"sid": sid, "a": a, "b": b, "c": c, "lesson_a": lesson_a, "period": pid, "pstart": pstart, "pend": pend,
            "teacher": t}


def _children(data_dir) -> list[int]:
    return [r[0] for r in q(data_dir, "SELECT student_id FROM guardian WHERE parent_id = ? ORDER BY student_id",
                            (person(data_dir, "parent0001"),))]


# --- the week ------------------------------------------------------------------------------

def test_parent_sees_the_lesson_topic_homework_grade_and_absence_in_the_week(client, data_dir, written):
    login(client, "parent0001")
    r = client.get(f"/diary?student={written['sid']}&week={written['a']}")
    assert r.status_code == 200
    html = r.text
    assert TOPIC_A in html and HOMEWORK in html and "20 мин" in html
    assert f'href="/diary/files/{written["lesson_a"]}"' in html and "задание по русскому.pdf" in html
    assert re.search(r'<span class="grade g5" title="контрольная работа, вес 2">5</span>', html)
    assert date.fromisoformat(written["a"]).strftime("%d.%m.%Y") in html
    assert "Русский язык" in html and "Ершова" in html  # teacher01 teaches it
    # The absence is in its own week (perhaps the same one).
    r = client.get(f"/diary?student={written['sid']}&week={written['c']}")
    assert 'title="отсутствовал(а) без уважительной причины">Н</abbr>' in r.text
    # Every school day of the week is listed, Monday to Friday at least.
    for day in ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница"):
        assert day in r.text


def test_student_sees_their_own_week_and_moves_between_weeks(client, data_dir, written):
    login(client, "student0001")
    r = client.get(f"/diary?week={written['b']}")
    assert r.status_code == 200 and TOPIC_B in r.text
    monday = date.fromisoformat(written["b"]) - timedelta(days=date.fromisoformat(written["b"]).weekday())
    prev_week = (monday - timedelta(days=7)).isoformat()
    next_week = (monday + timedelta(days=7)).isoformat()
    assert f"week={prev_week}" in r.text and f"week={next_week}" in r.text
    r = client.get(f"/diary?week={next_week}")
    assert r.status_code == 200 and (monday + timedelta(days=7)).strftime("%d.%m.%Y") in r.text
    assert client.get("/diary?week=30.11.2026").status_code == 400


def test_parent_of_two_switches_between_children(client, data_dir):
    first, second = _children(data_dir)
    login(client, "parent0001")
    r = client.get("/diary")
    assert r.status_code == 200
    switch = re.search(r'<nav class="child-switch".*?</nav>', r.text, re.S).group(0)
    assert f"?student={first}" in switch and f"?student={second}" in switch
    r = client.get(f"/diary?student={second}")
    assert name_of(data_dir, second) in re.search(r"<h1>.*?</h1>", r.text, re.S).group(0)


def test_a_student_in_a_subgroup_sees_only_their_subgroup_lesson(client, data_dir):
    """5А is split for English: the two subgroup journals share one timetable slot."""
    sid = person(data_dir, "student0001")
    group = q(data_dir, "SELECT group_id FROM group_member WHERE student_id = ? AND group_id IN"
                        " (SELECT id FROM study_group WHERE kind = 'subgroup')", (sid,))
    if not group:
        pytest.skip("student0001 is in no subgroup")
    weekday, n = q(data_dir, "SELECT ts.weekday, ts.lesson_number FROM timetable_slot ts JOIN journal j"
                             " ON j.id = ts.journal_id WHERE j.group_id = ? LIMIT 1", (group[0][0],))[0]
    login(client, "student0001")
    week = client.get("/api/v1/students/%d/diary" % sid).json()
    monday = date.fromisoformat(week["start"])
    day = (monday + timedelta(days=weekday - 1)).isoformat()
    lessons = [e for d in week["days"] if d["date"] == day for e in d["lessons"] if e["number"] == n]
    if not lessons:
        pytest.skip("that day is a holiday this week")
    assert len(lessons) == 1 and lessons[0]["subject"] == "Английский язык"


# --- grades by subject ---------------------------------------------------------------------

def test_average_formula_and_forecast_for_known_grades(client, data_dir, written):
    login(client, "parent0001")
    r = client.get(f"/diary/grades?student={written['sid']}&period={written['period']}")
    assert r.status_code == 200
    html = r.text
    assert "(5×2 + 4×1) / (2 + 1) = 4,67" in html
    card = re.search(r'<section class="card subject-card" id="subject-1">.*?</section>', html, re.S).group(0)
    assert "<dt>Прогноз</dt><dd>5</dd>" in card and "<dd>4,67</dd>" in card
    assert "контрольная работа, вес 2" in card and "урок, вес 1" in card
    # The chart is inline SVG drawn by the server; the CSP allows no inline style.
    assert "<svg" in card and "<polyline" in card
    assert " style=" not in html
    api = client.get(f"/api/v1/students/{written['sid']}/grades").json()
    period = next(p for p in api["periods"] if p["id"] == written["period"])
    russian = next(s for s in period["subjects"] if s["subject"] == "Русский язык")
    assert russian["average"] == 4.67 and russian["forecast"] == "5"
    assert russian["formula"] == "(5×2 + 4×1) / (2 + 1) = 4,67"
    assert [(g["value"], g["work_type"], g["weight"]) for g in russian["grades"]] == [("5", "control", 2.0),
                                                                                       ("4", "lesson", 1.0)]
    assert api["threshold"] == 0.5


def test_period_grade_set_by_the_teacher_shows_in_the_diary(client, data_dir, written):
    # A period that has ended: period grades open in a period's last two weeks.
    open_for_grades = q(data_dir, "SELECT id FROM study_period WHERE kind = 'quarter' AND date(ends_on, '-14 days') <= ?"
                                  " ORDER BY ends_on DESC LIMIT 1", (clock.today().isoformat(),))
    if not open_for_grades:
        pytest.skip("в начале первой четверти итоговые отметки ещё не выставляются")
    ended = open_for_grades[0][0]
    login(client, "teacher01")
    Teacher(client, 1).period_grade(written["sid"], ended, "5")
    client.cookies.clear()
    login(client, "student0001")
    api = client.get(f"/api/v1/students/{written['sid']}/grades").json()
    period = next(p for p in api["periods"] if p["id"] == ended)
    russian = next(s for s in period["subjects"] if s["subject"] == "Русский язык")
    assert russian["period_grade"] == "5" and russian["advice"] == []
    html = client.get(f"/diary/grades?period={ended}").text
    assert "Итоговая за период</dt><dd>5" in html


def test_what_grade_do_i_need_helper(client, data_dir, written):
    # Pure: 4 and 3 (урок) → 3,50 → forecast 4; to reach 5 the average must be 4,50.
    kinds = [("урок", 1.0), ("контрольная работа", 2.0)]
    advice = rules.what_i_need([("4", 1.0), ("3", 1.0)], 0.5, kinds)
    assert advice["forecast"] == "4"
    assert advice["targets"] == [{"target": "5", "ways": [
        {"count": 4, "value": "5", "work_type": "урок", "weight": 1.0},
        {"count": 2, "value": "5", "work_type": "контрольная работа", "weight": 2.0}]}]
    assert advice["risk"] == {"value": "3", "work_type": "урок", "forecast": "3"}
    lines = rules.advice_lines(advice)
    assert lines[0] == "Чтобы прогноз стал «5»: ещё 4 пятёрки (урок, вес 1) или 2 пятёрки (контрольная работа, вес 2)."
    # A 3 alone: a single 4 already makes 3,50 → 4.
    three = rules.what_i_need([("3", 1.0)], 0.5, kinds)
    assert three["targets"][0]["target"] == "4"
    assert {"count": 1, "value": "4", "work_type": "урок", "weight": 1.0} in three["targets"][0]["ways"]
    # A stricter school (threshold 0,6) needs more.
    strict = rules.what_i_need([("4", 1.0), ("3", 1.0)], 0.6, kinds)
    assert strict["forecast"] == "3" and [t["target"] for t in strict["targets"]] == ["4", "5"]
    assert strict["targets"][1]["ways"][0]["count"] == 6  # (7 + 5n) / (2 + n) ≥ 4,6
    assert rules.advice_lines(rules.what_i_need([], 0.5, kinds)) == [
        "Отметок пока нет: прогноз появится после первой отметки."]
    assert rules.formula([("5", 2.0), ("4", 1.0), ("зч", 1.0)]) == "(5×2 + 4×1) / (2 + 1) = 4,67"
    assert rules.plural(21, *rules.GRADE_WORDS["5"]) == "пятёрка" and rules.plural(12, *rules.GRADE_WORDS["5"]) == "пятёрок"

    # Through the page: the known grades (5 контрольная, 4 урок) give forecast 5, and the
    # helper says which single grade would lower it — shown for the current period only.
    if not written["pstart"] <= clock.today().isoformat() <= written["pend"]:
        pytest.skip("today is outside the quarter of the written lessons")
    login(client, "parent0001")
    html = client.get(f"/diary/grades?student={written['sid']}&period={written['period']}").text
    assert "Какие отметки нужны" in html
    assert "Прогноз — «5», это высшая отметка." in html
    assert "Одна отметка «3» (урок) снизит прогноз до «4»." in html  # (10 + 4 + 3) / 4 = 4,25


def test_earlier_years_are_listed_for_a_student_enrolled_in_them(client, data_dir, written):
    sid = written["sid"]
    start = q(data_dir, "SELECT starts_on FROM academic_year WHERE status = 'open'")[0][0]
    y = int(start[:4]) - 2  # the demo has the year before this one already: two years back
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    year_id = conn.execute("INSERT INTO academic_year(name, starts_on, ends_on, status) VALUES (?, ?, ?, 'closed')",
                           (f"{y}/{y + 1}", f"{y}-09-01", f"{y + 1}-08-31")).lastrowid
    class_id = conn.execute("INSERT INTO class(year_id, parallel, letter) VALUES (?, 4, 'А')", (year_id,)).lastrowid
    conn.execute("INSERT INTO enrollment(student_id, class_id, from_date, to_date) VALUES (?, ?, ?, ?)",
                 (sid, class_id, f"{y}-09-01", f"{y + 1}-05-31"))
    conn.execute("INSERT INTO study_period(year_id, kind, number, starts_on, ends_on) VALUES (?, 'quarter', 1, ?, ?)",
                 (year_id, f"{y}-09-01", f"{y}-10-27"))
    conn.commit()
    conn.close()
    login(client, "student0001")
    html = client.get("/diary/grades").text
    assert f"{y}/{y + 1}" in html
    old = client.get(f"/diary/grades?year={year_id}")
    assert old.status_code == 200 and "1 четверть" in old.text
    api = client.get(f"/api/v1/students/{sid}/grades?year_id={year_id}").json()
    assert api["year"]["id"] == year_id and [y_["id"] for y_ in api["years"]][0] == year_id


# --- attendance ----------------------------------------------------------------------------

def test_attendance_lists_missed_lessons_with_their_meaning(client, data_dir, written):
    login(client, "parent0001")
    html = client.get(f"/diary/attendance?student={written['sid']}").text
    day = date.fromisoformat(written["c"]).strftime("%d.%m.%Y")
    row = re.search(rf"<tr><td>{day}</td>.*?</tr>", html, re.S).group(0)
    assert "Русский язык" in row and ">Н</abbr>" in row and "отсутствовал(а) без уважительной причины" in row
    api = client.get(f"/api/v1/students/{written['sid']}/attendance").json()
    assert api["total"]["missed"] == 1 and api["total"]["counts"]["Н"] == 1
    period = next(p for p in api["periods"] if p["id"] == written["period"])
    assert period["entries"] == [{"date": written["c"], "number": period["entries"][0]["number"],
                                  "subject": "Русский язык", "mark": "Н",
                                  "label": "отсутствовал(а) без уважительной причины"}]


# --- home page -----------------------------------------------------------------------------

def test_home_page_shows_the_latest_homework_and_recent_grades(client, data_dir, written):
    if date.fromisoformat(written["a"]) < clock.today() - timedelta(days=6):
        pytest.skip("the written lessons are older than a week (holidays)")
    login(client, "parent0001")
    html = client.get("/").text
    section = re.search(r'<section class="card" id="role-parent">.*?</section>', html, re.S).group(0)
    assert HOMEWORK in section and "Русский язык" in section
    assert '<span class="grade g5" title="контрольная работа">5</span>' in section
    client.cookies.clear()
    login(client, "student0001")
    section = re.search(r'<section class="card" id="role-student">.*?</section>', client.get("/").text, re.S).group(0)
    assert HOMEWORK in section


# --- homework files ------------------------------------------------------------------------

def test_homework_file_reaches_the_class_families_only(client, data_dir, written):
    login(client, "parent0001")
    r = client.get(f"/diary/files/{written['lesson_a']}")
    assert r.status_code == 200 and r.content == FILE[1]
    assert "attachment" in r.headers["content-disposition"]
    client.cookies.clear()
    login(client, "student0001")
    assert client.get(f"/diary/files/{written['lesson_a']}").status_code == 200
    # A student of 5Б (another class) gets nothing of 5А's homework.
    other = q(data_dir, "SELECT a.login FROM account a JOIN enrollment e ON e.student_id = a.person_id"
                        " WHERE e.class_id = 2 ORDER BY a.login LIMIT 1")[0][0]
    client.cookies.clear()
    login(client, other)
    r = client.get(f"/diary/files/{written['lesson_a']}")
    assert r.status_code == 404 and FILE[1] not in r.content


# --- nobody sees another family ------------------------------------------------------------

def _family_urls(sid: int) -> list[str]:
    return [f"/diary?student={sid}", f"/diary/grades?student={sid}", f"/diary/attendance?student={sid}",
            f"/diary/print?student={sid}", f"/api/v1/students/{sid}/diary", f"/api/v1/students/{sid}/grades",
            f"/api/v1/students/{sid}/attendance"]


def test_changing_the_student_id_reveals_nothing_of_another_family(client, data_dir, written):
    mine = set(_children(data_dir))
    # Another student of the same class, and one of another class, neither of them parent0001's.
    others = [next(r[0] for r in q(data_dir, "SELECT student_id FROM enrollment WHERE class_id = ? ORDER BY student_id",
                                   (class_id,)) if r[0] not in mine) for class_id in (1, 2)] + [999999]
    for who in ("parent0001", "student0001"):
        client.cookies.clear()
        login(client, who)
        # A student does not see their brother's or sister's diary either.
        siblings = [c for c in _children(data_dir) if c != written["sid"]] if who == "student0001" else []
        for sid in others + siblings:
            name = name_of(data_dir, sid) if sid != 999999 else None
            for url in _family_urls(sid):
                r = client.get(url)
                assert r.status_code in (403, 404), (who, url, r.status_code)
                assert name is None or name not in r.text, (who, url)
        # Their own diary answers.
        for url in _family_urls(written["sid"]):
            assert client.get(url).status_code == 200, (who, url)


def test_parent_sees_a_child_only_while_consent_is_recorded(client, data_dir):
    first, second = _children(data_dir)
    execute(data_dir, "UPDATE guardian SET consent_at = NULL WHERE parent_id = ? AND student_id = ?",
            (person(data_dir, "parent0001"), second))
    login(client, "parent0001")
    for url in _family_urls(second):
        assert client.get(url).status_code == 404, url
    html = client.get("/diary").text
    assert 'class="child-switch"' not in html and name_of(data_dir, second) not in html
    assert name_of(data_dir, second) not in client.get("/").text


def test_families_never_reach_staff_pages_and_staff_not_the_family_diary(client, data_dir, params):
    login(client, "student0001")
    for url in ("/journals/1", "/journals", f"/classes/{params['class_id']}/paper-diaries", "/admin/logins"):
        assert client.get(url).status_code == 403, url
    client.cookies.clear()
    login(client, "parent0001")
    assert client.get(f"/classes/{params['class_id']}/paper-diaries").status_code == 403
    client.cookies.clear()
    login(client, "teacher01")
    assert client.get(f"/diary?student={params['student_id']}").status_code == 403
    assert client.get(f"/api/v1/students/{params['student_id']}/diary").status_code == 403


@pytest.fixture
def params(data_dir):
    return {"class_id": q(data_dir, "SELECT id FROM class WHERE class_teacher_id = ?",
                          (person(data_dir, "teacher01"),))[0][0],
            "student_id": person(data_dir, "student0001")}


# --- printouts -----------------------------------------------------------------------------

def test_printable_two_weeks_for_a_family(client, data_dir, written):
    login(client, "parent0001")
    r = client.get(f"/diary/print?student={written['sid']}&from={written['a']}")
    assert r.status_code == 200
    html = r.text
    assert html.count('<article class="diary-sheet">') == 1
    monday = date.fromisoformat(written["a"]) - timedelta(days=date.fromisoformat(written["a"]).weekday())
    assert monday.strftime("%d.%m.%Y") in html and (monday + timedelta(days=11)).strftime("%d.%m.%Y") in html
    assert HOMEWORK in html and "Подпись родителя" in html
    assert name_of(data_dir, written["sid"]) in html
    assert "/static/diary-print.js" in html and " style=" not in html
    css = client.get("/static/zhurnal.css").text
    assert "@page diary" in css and "size: A4" in css


def test_class_batch_prints_exactly_the_paper_families(client, data_dir, params, written):
    class_id = params["class_id"]
    # One more paper family in 5А; parent0001's family stays electronic.
    other = q(data_dir, "SELECT e.student_id FROM enrollment e WHERE e.class_id = ? AND e.student_id <> ?"
                        " ORDER BY e.student_id LIMIT 1 OFFSET 3", (class_id, written["sid"]))[0][0]
    execute(data_dir, "UPDATE guardian SET diary_form = 'paper' WHERE student_id = ?", (other,))
    paper = {r[0] for r in q(data_dir, "SELECT DISTINCT g.student_id FROM guardian g JOIN enrollment e"
                                       " ON e.student_id = g.student_id WHERE e.class_id = ? AND e.to_date IS NULL"
                                       " AND g.diary_form = 'paper'", (class_id,))}
    everyone = {r[0] for r in q(data_dir, "SELECT student_id FROM enrollment WHERE class_id = ?", (class_id,))}
    login(client, "teacher01")
    r = client.get(f"/classes/{class_id}/paper-diaries?from={written['a']}")
    assert r.status_code == 200
    assert r.text.count('<article class="diary-sheet">') == len(paper) >= 1
    for sid in everyone:
        assert (f"Дневник: {name_of(data_dir, sid)}" in r.text) == (sid in paper), sid
    assert f'href="/classes/{class_id}/paper-diaries"' in client.get(f"/classes/{class_id}").text
    # Another class teacher is refused; the deputy may print any class.
    client.cookies.clear()
    login(client, "teacher02")
    assert client.get(f"/classes/{class_id}/paper-diaries").status_code == 403
    client.cookies.clear()
    login(client, "deputy")
    assert client.get(f"/classes/{class_id}/paper-diaries").status_code == 200


def test_a_parent_who_chose_paper_can_still_log_in(client, data_dir):
    execute(data_dir, "UPDATE guardian SET diary_form = 'paper' WHERE parent_id = ?", (person(data_dir, "parent0001"),))
    login(client, "parent0001")
    assert client.get("/diary").status_code == 200


# --- the API -------------------------------------------------------------------------------

def test_api_diary_week_shape(client, data_dir, written):
    login(client, "parent0001")
    r = client.get(f"/api/v1/students/{written['sid']}/diary?week={written['a']}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"student", "start", "end", "prev", "next", "days"}
    assert body["student"]["id"] == written["sid"] and body["student"]["class"] == "5А"
    day = next(d for d in body["days"] if d["date"] == written["a"])
    assert set(day) == {"date", "weekday", "holiday", "lessons"}
    lesson = next(e for e in day["lessons"] if e["journal_id"] == 1)
    assert lesson["topic"] == TOPIC_A and lesson["work_type"] == "control"
    assert lesson["homework"] == {"text": HOMEWORK, "minutes": 20, "file_name": FILE[0],
                                  "file_url": f"/diary/files/{written['lesson_a']}"}
    assert lesson["grades"] == [{"value": "5", "work_type": "control", "work_type_name": "контрольная работа",
                                 "weight": 2.0}]
    assert lesson["attendance"] is None and lesson["time"] and lesson["teacher"].startswith("Ершова")
    assert client.get(f"/api/v1/students/{written['sid']}/diary?week=вчера").status_code == 400


def test_api_is_described_under_the_diary_tag(client):
    login(client, "parent0001")
    spec = client.get("/api/v1/schema/openapi.json").json()
    for path in ("/api/v1/students/{student_id}/diary", "/api/v1/students/{student_id}/grades",
                 "/api/v1/students/{student_id}/attendance"):
        op = spec["paths"][path]["get"]
        assert op["tags"] == ["Дневник"] and re.search("[а-я]", op["description"])
