"""The class journal: lessons, grades, attendance, homework, periods, rules and the audit."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import date, timedelta

import pytest
from conftest import login

from server import clock
from server.cli import main as cli_main
from server.timeutil import ru_date


def q(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def execute(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def lessons_of(data_dir, journal_id: int, before: date | None = None, after: date | None = None, count: int = 3):
    """Scheduled lessons of a journal, going back from `before` (or forward from `after`),
    skipping holidays — as the grid shows them."""
    slots = {}
    for wd, n in q(data_dir, "SELECT weekday, lesson_number FROM timetable_slot WHERE journal_id = ?", (journal_id,)):
        slots.setdefault(wd, []).append(n)
    start, end = q(data_dir, "SELECT starts_on, ends_on FROM academic_year WHERE status = 'open'")[0]
    holidays = q(data_dir, "SELECT starts_on, ends_on FROM holiday WHERE year_id = (SELECT year_id FROM journal WHERE id = 1)")
    day = before or after
    step = timedelta(days=-1 if before else 1)
    found = []
    while len(found) < count and start <= day.isoformat() <= end:
        iso = day.isoformat()
        if not any(a <= iso <= b for a, b in holidays):
            for n in sorted(slots.get(day.isoweekday(), [])):
                found.append((iso, n))
        day += step
    return found[:count]


def period_average(data_dir, journal_id: int, student: int, day: str):
    """The weighted average of the student's grades in the quarter of `day`, from the database:
    the demo school has the quarter's earlier grades too."""
    from server.journal.rules import weighted_average

    return weighted_average(q(data_dir, "SELECT g.value, wt.weight FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                                        " JOIN work_type wt ON wt.code = g.work_type"
                                        " JOIN study_period p ON p.kind = 'quarter' AND ? BETWEEN p.starts_on AND p.ends_on"
                                        " WHERE l.journal_id = ? AND g.student_id = ?"
                                        " AND l.date BETWEEN p.starts_on AND p.ends_on", (day, journal_id, student)))


class Teacher:
    """A logged-in teacher at the grid: cells saved as journal.js saves them."""

    def __init__(self, client, journal_id: int):
        self.c = client
        self.j = journal_id
        page = client.get(f"/journals/{journal_id}")
        assert page.status_code == 200, page.status_code
        self.page = page.text
        self.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
        self.students = [int(s) for s in re.findall(r'<tr data-student="(\d+)">', page.text)]

    def cell(self, student, day, n, value, reason=""):
        return self.c.post(f"/journals/{self.j}/cell", json={"student": student, "date": day, "n": n,
                                                             "value": value, "reason": reason},
                           headers={"X-CSRF-Token": self.csrf})

    def lesson(self, day, n, topic, work_type="lesson", plan_item_id=""):
        return self.c.post(f"/journals/{self.j}/lessons/{day}/{n}",
                           data={"topic": topic, "work_type": work_type, "plan_item_id": plan_item_id,
                                 "csrf_token": self.csrf})

    def homework(self, day, n, text, minutes="", files=None):
        return self.c.post(f"/journals/{self.j}/lessons/{day}/{n}/homework",
                           data={"text": text, "minutes": minutes, "csrf_token": self.csrf}, files=files)


@pytest.fixture
def teacher(client, data_dir):
    login(client, "teacher01")
    return Teacher(client, 1)  # journal 1: Русский язык, 5А, teacher01


def test_teacher_enters_grades_and_attendance_and_sees_the_average(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    a, b, c = teacher.students[:3]
    r = teacher.cell(a, day, n, "5/4")
    assert r.status_code == 200 and r.json()["text"] == "5/4"
    assert r.json()["average"] == period_average(data_dir, 1, a, day)
    assert teacher.cell(b, day, n, "y").json()["text"] == "Н"      # Latin layout: "y" is "н"
    assert teacher.cell(c, day, n, "оп 3").json()["text"] == "ОП 3"
    # Latin layout: the «Б» key is ","; it used to be read as a separator and cleared the cell.
    d = teacher.students[3]
    assert teacher.cell(d, day, n, "4").json()["text"] == "4"
    assert teacher.cell(d, day, n, ",").json()["text"] == "Б"
    assert teacher.cell(d, day, n, "4").json()["text"] == "4"
    r = teacher.cell(d, day, n, "/")
    assert r.status_code == 400 and "не отметка" in r.json()["error"]
    assert q(data_dir, "SELECT g.value FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = 1"
                       " AND l.date = ? AND l.lesson_number = ? AND g.student_id = ?", (day, n, d)) == [("4",)]
    teacher.cell(d, day, n, "")
    r = teacher.cell(b, day, n, "н 5")
    assert r.status_code == 400 and "отсутствовал" in r.json()["error"]
    assert teacher.cell(a, day, n, "7").status_code == 400
    grid = teacher.c.get("/journals/1").text
    assert 'value="5/4"' in grid and 'value="Н"' in grid and 'value="ОП 3"' in grid
    assert q(data_dir, "SELECT count(*) FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                       " WHERE l.journal_id = 1 AND l.date = ? AND l.lesson_number = ?", (day, n))[0][0] == 3
    # Clearing a cell removes its grades, and the history keeps the deletion.
    assert teacher.cell(a, day, n, "").json()["text"] == ""
    hist = teacher.c.get(f"/journals/1/history?student={a}&date={day}&n={n}").text
    assert "удалено" in hist and "Ершова" in hist


def test_dates_the_journal_refuses(teacher, data_dir):
    s = teacher.students[0]
    (future, fn), = lessons_of(data_dir, 1, after=clock.today() + timedelta(days=1), count=1)
    r = teacher.cell(s, future, fn, "5")
    assert r.status_code == 400 and "ещё не наступило" in r.json()["error"]
    # A topic and homework may be prepared ahead.
    assert teacher.lesson(future, fn, "Повторение изученного").status_code == 200
    holiday = q(data_dir, "SELECT starts_on FROM holiday WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) ORDER BY starts_on LIMIT 1")[0][0]
    r = teacher.cell(s, holiday, 1, "5")
    assert r.status_code == 400 and ("каникулы" in r.json()["error"] or "ещё не наступило" in r.json()["error"])
    start = q(data_dir, "SELECT starts_on FROM academic_year WHERE status = 'open'")[0][0]
    before_year = (date.fromisoformat(start) - timedelta(days=3)).isoformat()
    r = teacher.cell(s, before_year, 1, "5")
    assert r.status_code == 400 and "вне учебного года" in r.json()["error"]
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    r = teacher.cell(s, day, n + 5 if n + 5 <= 12 else 0, "5")
    assert r.status_code == 400 and "по расписанию нет" in r.json()["error"]


def test_a_student_who_left_gets_no_grades_after_leaving(teacher, data_dir, client):
    lessons = lessons_of(data_dir, 1, before=clock.today(), count=2)
    (late, ln), (early, en) = lessons
    s = teacher.students[4]
    execute(data_dir, "UPDATE enrollment SET to_date = ? WHERE student_id = ?",
            ((date.fromisoformat(late) - timedelta(days=1)).isoformat(), s))
    r = teacher.cell(s, late, ln, "4")
    assert r.status_code == 400 and "не числится" in r.json()["error"]
    if early < late:
        assert teacher.cell(s, early, en, "4").status_code == 200


def test_first_grade_journals_take_no_marks_and_grade_one_is_a_setting(client, data_dir):
    jid, teacher_login = q(data_dir, "SELECT j.id, a.login FROM journal j JOIN class c ON c.id = j.class_id"
                                     " JOIN account a ON a.person_id = j.teacher_id WHERE c.parallel = 1 LIMIT 1")[0]
    login(client, teacher_login)
    t = Teacher(client, jid)
    (day, n), = lessons_of(data_dir, jid, before=clock.today(), count=1)
    r = t.cell(t.students[0], day, n, "5")
    assert r.status_code == 400 and "безотметочное" in r.json()["error"]
    assert t.cell(t.students[0], day, n, "н").status_code == 200  # attendance still kept
    client.cookies.clear()
    login(client, "teacher01")
    t = Teacher(client, 1)
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    assert "не используется" in t.cell(t.students[0], day, n, "1").json()["error"]
    execute(data_dir, "UPDATE setting SET value = '1' WHERE key = 'grade_one_allowed'")
    assert t.cell(t.students[0], day, n, "1").status_code == 200


def test_topic_is_mandatory_and_russian(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    r = teacher.lesson(day, n, "")
    assert r.status_code == 400 and "тема обязательна" in r.text
    r = teacher.lesson(day, n, "Present Simple")
    assert r.status_code == 400 and "на русском языке" in r.text
    r = teacher.lesson(day, n, "Правописание приставок")
    assert r.status_code == 200 and "Сохранено" in r.text
    assert q(data_dir, "SELECT topic FROM lesson WHERE journal_id = 1 AND date = ?", (day,))[0][0] == "Правописание приставок"


def test_control_work_lists_present_students_without_a_grade(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    teacher.lesson(day, n, "Контрольный диктант", "dictation")
    a, b = teacher.students[:2]
    teacher.cell(a, day, n, "4")
    teacher.cell(b, day, n, "б")
    panel = teacher.c.get(f"/journals/1/lessons/{day}/{n}").text
    assert "нет отметок у присутствовавших" in panel
    names = re.search(r"присутствовавших —(.*?)\(п\. 3\.2\.4\)", panel, re.S).group(1)
    assert names.count(".,") == len(teacher.students) - 3  # everyone but the graded and the ill
    todo = teacher.c.get("/journals").text
    assert "оценочная процедура" in todo
    for s in teacher.students[2:]:
        teacher.cell(s, day, n, "3")
    assert "нет отметок у присутствовавших" not in teacher.c.get(f"/journals/1/lessons/{day}/{n}").text


def test_two_control_works_a_day_and_too_much_homework_warn(client, data_dir):
    # Find a day on which 5А has lessons of two journals of teacher01's colleagues; use the deputy.
    login(client, "deputy")
    rows = q(data_dir, "SELECT j.id FROM journal j WHERE j.class_id = (SELECT class_id FROM journal WHERE id = 1)")
    day = None
    for d, n in lessons_of(data_dir, 1, before=clock.today(), count=10):
        others = [(j, n2) for (j,) in rows if j != 1
                  for (d2, n2) in lessons_of(data_dir, j, before=date.fromisoformat(d), count=3) if d2 == d]
        if others:
            day, n1, (j2, n2) = d, n, others[0]
            break
    assert day, "5А has no two lessons on one day?"
    t1, t2 = Teacher(client, 1), Teacher(client, j2)
    t1.lesson(day, n1, "Контрольная работа по теме «Глагол»", "control")
    r = t2.lesson(day, n2, "Контрольная работа за полугодие", "control")
    assert "больше одной оценочной процедуры" in r.text
    r = t1.homework(day, n1, "Упражнение 120", "100")
    r = t2.homework(day, n2, "Задачи 1–20", "90")
    assert "больше нормы СанПиН (120 мин для 5 класса)" in r.text


def test_homework_with_a_file_is_stored_and_downloadable(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, after=clock.today(), count=1)
    r = teacher.homework(day, n, "Прочитать параграф 12", "30",
                         files={"file": ("задание.pdf", b"%PDF-1.4 test", "application/pdf")})
    assert r.status_code == 200 and "задание.pdf" in r.text
    lesson_id = q(data_dir, "SELECT lesson_id FROM homework WHERE file_name IS NOT NULL")[0][0]
    f = teacher.c.get(f"/homework-files/{lesson_id}")
    assert f.status_code == 200 and f.content == b"%PDF-1.4 test"
    pdf = b"%PDF-1.4 " + b"0" * 5000  # compressible, but an uploaded file is sent as it is
    teacher.homework(day, n, "Прочитать параграф 12", "30", files={"file": ("задание.pdf", pdf, "application/pdf")})
    f = teacher.c.get(f"/homework-files/{lesson_id}", headers={"Accept-Encoding": "gzip"})
    assert f.content == pdf and "content-encoding" not in f.headers
    big = teacher.homework(day, n, "x", "", files={"file": ("big.bin", b"0" * (10 * 1024 * 1024 + 1), "application/octet-stream")})
    assert big.status_code in (400, 413) and "Файл больше 10 МБ" in big.text
    # Over the request's limit: the Russian page names the homework's own limit, not a generic one.
    huge = teacher.homework(day, n, "x", "", files={"file": ("big.bin", b"0" * (11 * 1024 * 1024), "application/octet-stream")})
    assert huge.status_code == 413 and "Файл домашнего задания больше 10 МБ" in huge.text
    api = teacher.c.post(f"/api/v1/journals/1/lessons/{day}/{n}/homework/file", headers={"X-CSRF-Token": teacher.csrf},
                         files={"file": ("big.bin", b"0" * (11 * 1024 * 1024), "application/octet-stream")})
    assert api.status_code == 413 and "Файл домашнего задания больше 10 МБ" in api.json()["error"]


def test_substitute_fills_the_lesson_they_gave_and_a_cancelled_lesson_takes_nothing(teacher, data_dir, client):
    lessons = lessons_of(data_dir, 1, before=clock.today(), count=2)
    (d1, n1), (d2, n2) = lessons
    sub_id = q(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")[0][0]
    r = teacher.c.post(f"/journals/1/lessons/{d1}/{n1}/status",
                       data={"status": "substituted", "substitute_id": sub_id, "csrf_token": teacher.csrf})
    assert r.status_code == 200 and "Проведён на замене: " in r.text
    quarter = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND ? BETWEEN starts_on AND ends_on",
                (d1,))[0][0]
    assert 'aria-label="проведён на замене"' in teacher.c.get(f"/journals/1?period={quarter}").text
    r = teacher.c.post(f"/journals/1/lessons/{d2}/{n2}/status",
                       data={"status": "cancelled", "status_reason": "", "csrf_token": teacher.csrf})
    assert r.status_code == 400 and "Укажите причину" in r.text
    assert "<details open>" in r.text  # the form the message is about stays open
    teacher.c.post(f"/journals/1/lessons/{d2}/{n2}/status",
                   data={"status": "cancelled", "status_reason": "карантин", "csrf_token": teacher.csrf})
    r = teacher.cell(teacher.students[0], d2, n2, "5")
    assert r.status_code == 400 and "не состоялся" in r.json()["error"]
    client.cookies.clear()
    login(client, "teacher20")
    t20 = Teacher(client, 1)
    # In the grid the substitute types into the lesson they gave, and nowhere else.
    assert 'data-can-write="1"' in t20.page
    cells = re.findall(r'<input class="g" data-d="([\d-]+)" data-n="(\d+)"[^>]*>', t20.page)
    typed = {(d, int(n)) for d, n in cells if "readonly" not in
             re.search(rf'<input class="g" data-d="{d}" data-n="{n}"[^>]*>', t20.page).group(0)}
    assert typed == {(d1, n1)}
    period_inputs = re.findall(r'<input class="pg"[^>]*>', t20.page)
    assert period_inputs and all("readonly" in x for x in period_inputs)
    assert t20.cell(t20.students[0], d1, n1, "4").status_code == 200
    assert t20.cell(t20.students[0], d2, n2, "4").status_code == 403
    q1 = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 1")[0][0]
    r = client.post("/journals/1/period-grade", json={"student": t20.students[0], "period": q1, "value": "5"},
                    headers={"X-CSRF-Token": t20.csrf})
    assert r.status_code == 403 and "Итоговую отметку ставит учитель журнала" in r.text
    # The lesson panel gives the substitute topic and homework, not the status form.
    panel = client.get(f"/journals/1/lessons/{d1}/{n1}").text
    assert 'data-form="topic"' in panel and 'data-form="status"' not in panel


def test_closed_period_changes_only_by_the_deputy_with_a_reason(client, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    period = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND starts_on <= ? AND ends_on >= ?",
               (day, day))[0][0]
    login(client, "teacher01")
    t = Teacher(client, 1)
    t.cell(t.students[0], day, n, "4")
    client.cookies.clear()
    login(client, "deputy")
    page = client.get("/")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    client.post(f"/school/periods/{period}/close", data={"closed": "1", "csrf_token": csrf})
    client.cookies.clear()
    login(client, "teacher01")
    t = Teacher(client, 1)
    r = t.cell(t.students[0], day, n, "5")
    assert r.status_code == 400 and "только заместитель директора" in r.json()["error"]
    client.cookies.clear()
    login(client, "deputy")
    d = Teacher(client, 1)
    assert "укажите причину" in d.cell(d.students[0], day, n, "5").json()["error"]
    assert d.cell(d.students[0], day, n, "5", reason="исправление ошибки, служебная записка").status_code == 200
    reason = q(data_dir, "SELECT reason FROM audit_log WHERE key LIKE 'grade:%' ORDER BY id DESC LIMIT 1")[0][0]
    assert reason == "исправление ошибки, служебная записка"
    # The grid asks for the reason when the server says one is needed (journal.js) — for a
    # cell and for a grade's work type (F2).
    assert d.cell(d.students[1], day, n, "4").json()["need_reason"] is True
    change = {"student": d.students[0], "date": day, "n": n, "position": 0, "work_type": "control"}
    r = client.post("/journals/1/grade-type", json=change, headers={"X-CSRF-Token": d.csrf})
    assert r.status_code == 400 and r.json()["need_reason"] is True
    r = client.post("/journals/1/grade-type", json={**change, "reason": "вид работы указан неверно"},
                    headers={"X-CSRF-Token": d.csrf})
    assert r.status_code == 200
    # «Посещаемость отмечена» from the grid's key (П) asks for JSON: the same need_reason, then saved.
    register = f"/journals/1/lessons/{day}/{n}/register"
    r = client.post(register, data={"taken": "1", "csrf_token": d.csrf}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and r.json()["need_reason"] is True and "причин" in r.json()["error"]
    r = client.post(register, data={"taken": "1", "reason": "посещаемость отмечена на бумаге", "csrf_token": d.csrf},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json() == {"taken": True}
    assert q(data_dir, "SELECT count(*) FROM register_taken r JOIN lesson l ON l.id = r.lesson_id"
                       " WHERE l.journal_id = 1 AND l.date = ? AND l.lesson_number = ?", (day, n)) == [(1,)]
    # The lesson panel: the deputy's forms carry a reason field; without one nothing changes.
    panel = client.get(f"/journals/1/lessons/{day}/{n}").text
    assert "Учебный период закрыт" in panel and panel.count('name="reason" required') == 4  # topic, homework, status, register
    r = d.lesson(day, n, "Повторение: имя существительное")
    assert r.status_code == 400 and "укажите причину" in r.text
    r = client.post(f"/journals/1/lessons/{day}/{n}", data={"topic": "Повторение: имя существительное",
                    "work_type": "lesson", "plan_item_id": "", "reason": "тема записана с ошибкой",
                    "csrf_token": d.csrf})
    assert r.status_code == 200 and "Сохранено" in r.text
    r = client.post(f"/journals/1/lessons/{day}/{n}/homework", data={"text": "Упражнение 5", "minutes": "20",
                    "reason": "задание не было записано", "csrf_token": d.csrf})
    assert r.status_code == 200
    assert q(data_dir, "SELECT h.text FROM homework h JOIN lesson l ON l.id = h.lesson_id WHERE l.journal_id = 1"
                       " AND l.date = ? AND l.lesson_number = ?", (day, n))[0][0] == "Упражнение 5"
    # The teacher sees the lesson, the notice, and no forms.
    client.cookies.clear()
    login(client, "teacher01")
    # The panel as the grid loads it (HX-Request): opened alone it is a whole page, with the logout form.
    panel = client.get(f"/journals/1/lessons/{day}/{n}", headers={"HX-Request": "true"}).text
    assert "изменить записи может только заместитель директора" in panel and "<form" not in panel


def _cell_tag(html: str, day: str, n: int) -> str:
    return re.search(rf'<input class="g" data-d="{day}" data-n="{n}"[^>]*>', html).group(0)


def test_a_closed_period_is_read_only_for_its_teacher_in_the_grid_with_a_banner_naming_the_deputy(client, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    period = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1)"
                         " AND kind = 'quarter' AND starts_on <= ? AND ends_on >= ?", (day, day))[0][0]
    login(client, "teacher01")
    page = client.get(f"/journals/1?period={period}").text
    assert "readonly" not in _cell_tag(page, day, n) and 'id="period-locked"' not in page
    client.cookies.clear()
    login(client, "deputy")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    r = client.post(f"/school/periods/{period}/close", data={"closed": "1", "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code in (200, 303)
    # The deputy still types into the closed period (the grid asks for a reason): no banner.
    page = client.get(f"/journals/1?period={period}").text
    assert "readonly" not in _cell_tag(page, day, n) and 'id="period-locked"' not in page
    client.cookies.clear()
    login(client, "teacher01")
    page = client.get(f"/journals/1?period={period}").text
    assert "readonly" in _cell_tag(page, day, n)
    assert all("readonly" in tag for tag in re.findall(r'<input class="g"[^>]*>', page))
    # The period switcher marks it with the lock picture the project ships (no emoji font needed).
    assert re.search(rf'href="/journals/1\?period={period}"[^>]*>[^<]*<img class="lock" src="/static/lock.svg" alt="\(закрыт\)"',
                     page)
    lock = client.get("/static/lock.svg")
    assert lock.status_code == 200 and lock.headers["content-type"].startswith("image/svg+xml")
    assert "🔒" not in page
    banner = re.search(r'id="period-locked">(.*?)</div>', page, re.S).group(1)
    banner = " ".join(banner.split())
    assert re.match(r"Учебный период закрыт \(\d четв\.\): его отметки и посещаемость открыты только для просмотра",
                    banner)
    assert "Изменить их может заместитель директора — с указанием причины изменения" in banner
    # The year grid shows the closed quarter's columns read-only, the open ones to type in.
    year = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1)"
                       " AND kind = 'year'")[0][0]
    page = client.get(f"/journals/1?period={year}").text
    tags = re.findall(r'<input class="g" data-d="([^"]+)"[^>]*>', page)
    closed_tags = re.findall(r'<input class="g" data-d="[^"]+"[^>]*>', page)
    assert "readonly" in _cell_tag(page, day, n)
    start, end = q(data_dir, "SELECT starts_on, ends_on FROM study_period WHERE id = ?", (period,))[0]
    assert any(d > end and "readonly" not in tag for d, tag in zip(tags, closed_tags))
    assert all("readonly" in tag for d, tag in zip(tags, closed_tags) if start <= d <= end)


def test_period_grades_by_the_journal_teacher_only(client, data_dir):
    period = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 1")[0][0]
    login(client, "teacher01")
    t = Teacher(client, 1)
    s = t.students[0]
    r = client.post("/journals/1/period-grade", json={"student": s, "period": period, "value": "4"},
                    headers={"X-CSRF-Token": t.csrf})
    assert r.status_code == 200 and r.json()["text"] == "4"
    r = client.post("/journals/1/period-grade", json={"student": s, "period": period, "value": "н/а"},
                    headers={"X-CSRF-Token": t.csrf})
    assert r.json()["text"] == "н/а"
    for typed, stored in (("на", "н/а"), ("yf", "н/а"), ("jcd", "осв"), ("Осв.", "осв"), ("5", "5")):
        r = client.post("/journals/1/period-grade", json={"student": s, "period": period, "value": typed},
                        headers={"X-CSRF-Token": t.csrf})
        assert r.json()["text"] == stored, typed
    # The next quarter's grid shows this quarter's grade beside its own and the year's.
    q2 = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 2")[0][0]
    grid = client.get(f"/journals/1?period={q2}").text
    finals = re.findall(r'<th scope="col" class="final"[^>]*>([^<]+)</th>', grid)
    assert finals == ["1 четв.", "2 четв.", "Год"]
    assert re.search(rf'<tr data-student="{s}">.*?data-period="{period}" value="5"', grid, re.S)
    assert client.post("/journals/1/period-grade", json={"student": s, "period": period, "value": "6"},
                       headers={"X-CSRF-Token": t.csrf}).status_code == 400
    # F2 on a period grade: its history, like any cell's.
    history = client.get(f"/journals/1/history?student={s}&period={period}").text
    assert "итоговая отметка, 1 четв." in history and "н/а" in history and "4" in history
    client.cookies.clear()
    login(client, "teacher02")
    page = client.get("/")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    r = client.post("/journals/1/period-grade", json={"student": s, "period": period, "value": "5"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "не ваш журнал" in r.text


def test_audit_verify_catches_a_grade_changed_directly_in_sqlite(teacher, data_dir, capsys):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    teacher.cell(teacher.students[0], day, n, "3")
    teacher.cell(teacher.students[1], day, n, "4")
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 0
    assert "Журнал аудита цел" in capsys.readouterr().out
    execute(data_dir, "UPDATE grade SET value = '5' WHERE value = '3'")
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 1
    assert "изменена в базе в обход программы" in capsys.readouterr().err


def test_audit_verify_only_reads_and_does_not_migrate(teacher, data_dir, capsys):
    """A check of evidence changes nothing: a database of an older schema is not migrated
    (a Russian message, exit 2), and a check leaves the file as it was."""
    import hashlib

    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    teacher.cell(teacher.students[0], day, n, "4")
    db = data_dir / "zhurnal.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    latest = q(data_dir, "SELECT max(version) FROM schema_version")[0][0]
    execute(data_dir, "DELETE FROM schema_version WHERE version = ?", (latest,))
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 2
    assert "старой версии" in capsys.readouterr().err
    assert q(data_dir, "SELECT max(version) FROM schema_version")[0][0] == latest - 1


def test_audit_verify_catches_an_altered_or_removed_log_entry(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    for s in teacher.students[:3]:
        teacher.cell(s, day, n, "4")
    execute(data_dir, "UPDATE audit_log SET new = '{\"value\":\"5\",\"work_type\":\"lesson\"}' WHERE id = 2")
    r = subprocess.run([sys.executable, "-m", "server.cli", "audit", "verify", "--data", str(data_dir)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "№ 2" in r.stderr
    execute(data_dir, "UPDATE audit_log SET new = (SELECT new FROM audit_log WHERE id = 3) WHERE id = 2")
    execute(data_dir, "DELETE FROM audit_log WHERE id = 3")
    r = subprocess.run([sys.executable, "-m", "server.cli", "audit", "verify", "--data", str(data_dir)],
                       capture_output=True, text=True)
    assert r.returncode == 1


def test_every_change_is_a_ledger_entry_of_the_current_epoch(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    teacher.lesson(day, n, "Имя существительное")
    teacher.cell(teacher.students[0], day, n, "5")
    entities = [e for (e,) in q(data_dir, "SELECT entity FROM audit_log ORDER BY id")]
    assert entities[-3:] == ["lesson", "lesson", "grade"] or entities[-2:] == ["lesson", "grade"]
    epoch = q(data_dir, "SELECT max(id) FROM feed_epoch")[0][0]
    assert q(data_dir, "SELECT epoch_id FROM audit_log ORDER BY id DESC LIMIT 1")[0][0] == epoch
    assert q(data_dir, "SELECT count(*) FROM audit_log WHERE epoch_id IS NULL")[0][0] == 0


def test_other_teachers_and_families_cannot_open_the_journal(client):
    login(client, "teacher02")
    assert client.get("/journals/1").status_code == 403
    for who in ("parent0001", "student0001"):
        client.cookies.clear()
        login(client, who)
        assert client.get("/journals/1").status_code == 403
        assert client.get("/journals").status_code == 403


def test_cell_history_does_not_reveal_names_of_people_outside_the_journal(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    director = q(data_dir, "SELECT person_id FROM account WHERE login = 'director'")[0][0]
    r = teacher.c.get(f"/journals/1/history?student={director}&date={day}&n={n}")
    assert r.status_code == 404
    name = q(data_dir, "SELECT last_name FROM person WHERE id = ?", (director,))[0][0]
    assert name not in r.text
    own = teacher.c.get(f"/journals/1/history?student={teacher.students[0]}&date={day}&n={n}")
    assert own.status_code == 200


def test_the_class_teacher_reads_other_journals_of_the_class_without_inputs_to_type_in(client, data_dir):
    """Cells of a journal one may only read come read-only; one's own journal is typed in."""
    other = q(data_dir, "SELECT j.id FROM journal j JOIN class c ON c.id = j.class_id"
                        " WHERE c.class_teacher_id = (SELECT teacher_id FROM journal WHERE id = 1)"
                        " AND j.teacher_id <> c.class_teacher_id LIMIT 1")[0][0]
    login(client, "teacher01")
    html = client.get(f"/journals/{other}").text
    cells = re.findall(r'<input class="g"[^>]*>', html)
    assert cells and all(c.endswith(" readonly>") for c in cells)
    assert "Журнал открыт для просмотра" in html and "Отметки вводятся с клавиатуры" not in html
    own = re.findall(r'<input class="g"[^>]*>', client.get("/journals/1").text)
    assert own and not any("readonly" in c for c in own)


def test_a_disabled_teacher_is_not_offered_or_accepted_as_a_substitute(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    sub_id = q(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")[0][0]
    execute(data_dir, "UPDATE account SET disabled_at = '2026-01-01T00:00:00Z' WHERE login = 'teacher20'")
    panel = teacher.c.get(f"/journals/1/lessons/{day}/{n}").text
    substitutes = panel.split('name="substitute_id"')[1].split("</select>")[0]
    assert "<option" in substitutes and f'<option value="{sub_id}"' not in substitutes
    r = teacher.c.post(f"/journals/1/lessons/{day}/{n}/status",
                       data={"status": "substituted", "substitute_id": sub_id, "csrf_token": teacher.csrf})
    assert r.status_code == 400 and "работающий учитель" in r.text


def test_marking_a_lesson_as_a_control_work_after_the_grades_reweighs_them(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    s = teacher.students[0]
    teacher.cell(s, day, n, "2")
    before = period_average(data_dir, 1, s, day)
    assert teacher.lesson(day, n, "Диктант по теме «Имя существительное»", "dictation").status_code == 200
    assert q(data_dir, "SELECT g.work_type FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = 1"
                       " AND l.date = ? AND l.lesson_number = ? AND g.student_id = ?", (day, n, s))[0][0] == "dictation"
    after = period_average(data_dir, 1, s, day)
    assert after < before  # the "2" now weighs as a dictation
    assert teacher.cell(s, day, n, "2").json()["average"] == after
    lesson = q(data_dir, "SELECT id FROM lesson WHERE journal_id = 1 AND date = ? AND lesson_number = ?", (day, n))[0][0]
    assert q(data_dir, "SELECT count(*) FROM audit_log WHERE key LIKE ? AND new LIKE '%dictation%'",
             (f"grade:{lesson}:%",))[0][0] >= 1
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 0


def test_a_control_work_stays_on_the_to_do_list_after_its_period_ends(teacher, data_dir):
    q1_end = q(data_dir, "SELECT ends_on FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 1")[0][0]
    (day, n), = lessons_of(data_dir, 1, before=date.fromisoformat(q1_end), count=1)
    assert teacher.lesson(day, n, "Контрольный диктант", "dictation").status_code == 200
    execute(data_dir, "DELETE FROM grade WHERE lesson_id = (SELECT id FROM lesson WHERE journal_id = 1 AND date = ?"
                      " AND lesson_number = ?)", (day, n))
    todo = teacher.c.get("/journals").text
    assert f"{ru_date(day)}, {n}-й урок: оценочная процедура, нет отметок" in todo


def test_period_grades_wait_for_the_period_end_and_obey_every_lock(client, data_dir):
    login(client, "teacher01")
    t = Teacher(client, 1)
    s = t.students[0]

    def put(period, value="4", reason=""):
        return client.post("/journals/1/period-grade", json={"student": s, "period": period, "value": value,
                                                             "reason": reason}, headers={"X-CSRF-Token": t.csrf})

    q1, q4, year = (q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = ? AND number = ?", k)[0][0]
                    for k in (("quarter", 1), ("quarter", 4), ("year", 1)))
    r = put(q4)
    assert r.status_code == 400 and "выставляются в его конце" in r.json()["error"]
    assert put(year).status_code == 400
    assert put(q1).status_code == 200
    execute(data_dir, "UPDATE study_period SET closed_at = '2026-11-01T00:00:00Z' WHERE id = ?", (year,))
    r = put(q1, "5")
    assert r.status_code == 400 and "только заместитель директора" in r.json()["error"]
    execute(data_dir, "UPDATE study_period SET closed_at = NULL WHERE id = ?", (year,))
    # Closing the last quarter does not lock the year grades: they are set after it.
    q2 = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 2")[0][0]
    execute(data_dir, "UPDATE study_period SET closed_at = '2026-11-01T00:00:00Z' WHERE id = ?", (q2,))
    assert put(q1, "5").status_code == 200
    execute(data_dir, "UPDATE study_period SET closed_at = NULL WHERE id = ?", (q2,))
    execute(data_dir, "UPDATE academic_year SET status = 'closed'")
    r = put(q1, "5")
    assert r.status_code == 400 and "закрыт для изменений" in r.json()["error"]


def test_audit_verify_catches_a_reopened_period_and_a_removed_first_entry(client, data_dir, capsys):
    period = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 1")[0][0]
    login(client, "deputy")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    client.post(f"/school/periods/{period}/close", data={"closed": "1", "csrf_token": csrf})
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 0
    execute(data_dir, "UPDATE study_period SET closed_at = NULL WHERE id = ?", (period,))
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 1
    assert f"period:{period}" in capsys.readouterr().err
    execute(data_dir, "UPDATE study_period SET closed_at = '2026-11-01T00:00:00Z' WHERE id = ?", (period,))
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 0
    execute(data_dir, "DELETE FROM audit_log WHERE id = 1")
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 1
    assert "№ 1 удалена" in capsys.readouterr().err


def test_homework_time_is_counted_per_student_not_summed_over_subgroups(client, data_dir):
    """5А's two English subgroups study at the same time: 70 minutes each is 70 for every
    student, not 140 for the class; a student's class lessons and their subgroup's add up."""
    login(client, "deputy")
    g1, g2 = (q(data_dir, "SELECT j.id FROM journal j JOIN study_group g ON g.id = j.group_id"
                " JOIN academic_year y ON y.id = j.year_id WHERE g.name = ? AND y.status = 'open'",
                (name,))[0][0] for name in ("5А англ. 1", "5А англ. 2"))
    days1 = dict(lessons_of(data_dir, g1, before=clock.today(), count=20))
    days2 = dict(lessons_of(data_dir, g2, before=clock.today(), count=20))
    days_class = dict(lessons_of(data_dir, 1, before=clock.today(), count=40))
    day = next(d for d in days1 if d in days2 and d in days_class)
    e1, e2, ru = Teacher(client, g1), Teacher(client, g2), Teacher(client, 1)
    # Only what this test writes counts.
    execute(data_dir, "DELETE FROM homework WHERE lesson_id IN (SELECT id FROM lesson WHERE date = ?)", (day,))
    assert "СанПиН" not in e1.homework(day, days1[day], "Exercise 5", "70").text
    assert "СанПиН" not in e2.homework(day, days2[day], "Exercise 6", "70").text
    r = ru.homework(day, days_class[day], "Упражнение 130", "60")
    assert "до 130 мин — больше нормы СанПиН (120 мин для 5 класса)" in r.text


def test_no_new_lessons_after_the_last_quarter(teacher, data_dir):
    q4_end = q(data_dir, "SELECT ends_on FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 4")[0][0]
    (summer, n), = lessons_of(data_dir, 1, after=date.fromisoformat(q4_end) + timedelta(days=1), count=1)
    r = teacher.lesson(summer, n, "Повторение")
    assert r.status_code == 400 and "вне учебных четвертей" in r.text
    assert not q(data_dir, "SELECT 1 FROM lesson WHERE journal_id = 1 AND date = ?", (summer,))


def test_the_topic_offered_is_the_one_planned_for_that_date(teacher, data_dir):
    """Catching up on earlier lessons after today's: each date is offered its own planned topic."""
    free = q(data_dir, "SELECT p.id, p.number, p.topic FROM plan_item p WHERE p.journal_id = 1 AND NOT EXISTS"
                       " (SELECT 1 FROM lesson l WHERE l.plan_item_id = p.id) ORDER BY p.number LIMIT 3")
    (first_id, _, first_topic), _, (later_id, later_number, later_topic) = free
    coming = lessons_of(data_dir, 1, after=clock.today() + timedelta(days=1), count=4)
    d2, n2 = coming[-1]
    d1, n1 = next((d, n) for d, n in coming if d != d2)
    execute(data_dir, "UPDATE plan_item SET planned_date = NULL WHERE journal_id = 1")
    execute(data_dir, "UPDATE plan_item SET planned_date = ? WHERE id = ?", (d2, later_id))
    panel = teacher.c.get(f"/journals/1/lessons/{d2}/{n2}").text
    assert f"Предложено из КТП: урок № {later_number}." in panel and later_topic in panel
    panel = teacher.c.get(f"/journals/1/lessons/{d1}/{n1}").text  # nothing planned that day: the next one
    assert first_topic in panel
    api = teacher.c.get(f"/api/v1/journals/1/lessons/{d2}/{n2}").json()
    assert api["suggested_plan_item"]["id"] == later_id


def test_a_lesson_recorded_before_holidays_were_moved_onto_its_day_stays_editable(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    s = teacher.students[0]
    assert teacher.cell(s, day, n, "4").status_code == 200
    year = q(data_dir, "SELECT id FROM academic_year WHERE status = 'open'")[0][0]
    execute(data_dir, "INSERT INTO holiday(year_id, name, starts_on, ends_on) VALUES (?, 'Карантин', ?, ?)",
            (year, day, day))
    teacher = Teacher(teacher.c, 1)
    assert teacher.cell(s, day, n, "").json()["text"] == ""  # the mistake can still be cleared
    assert teacher.cell(s, day, n, "5").json()["text"] == "5"  # the lesson took place


def test_a_grades_own_work_type_answers_the_new_average(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    s = teacher.students[0]
    teacher.cell(s, day, n, "2")
    r = teacher.c.post("/journals/1/grade-type", json={"student": s, "date": day, "n": n, "position": 0,
                                                        "work_type": "control"}, headers={"X-CSRF-Token": teacher.csrf})
    assert r.status_code == 200
    assert r.json()["average"] == period_average(data_dir, 1, s, day) and r.json()["student"] == s
    r = teacher.c.post("/journals/1/grade-type", json={"student": s, "date": day, "n": n, "position": 0,
                                                        "work_type": "nonsense"}, headers={"X-CSRF-Token": teacher.csrf})
    assert r.status_code == 400 and "вид работы" in r.json()["error"].lower()


def test_on_the_year_grid_a_saved_cell_answers_the_year_average(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    s = teacher.students[0]
    r = teacher.c.post("/journals/1/cell", json={"student": s, "date": day, "n": n, "value": "5", "shown": "year"},
                       headers={"X-CSRF-Token": teacher.csrf})
    from server.journal.rules import weighted_average
    year_avg = weighted_average(q(data_dir, "SELECT g.value, wt.weight FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                                            " JOIN work_type wt ON wt.code = g.work_type WHERE l.journal_id = 1"
                                            " AND g.student_id = ?", (s,)))
    assert r.json()["average"] == year_avg
    assert teacher.cell(s, day, n, "5").json()["average"] == period_average(data_dir, 1, s, day)
    assert 'data-period-kind="quarter"' in teacher.page


def test_cell_history_needs_the_lesson_number(teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    r = teacher.c.get(f"/journals/1/history?student={teacher.students[0]}&date={day}")
    assert r.status_code == 400 and "номер урока" in r.text


def test_the_to_do_list_leaves_out_closed_periods(teacher, data_dir):
    q1 = q(data_dir, "SELECT id, ends_on FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 1")[0]
    (day, n), = lessons_of(data_dir, 1, before=date.fromisoformat(q1[1]), count=1)
    execute(data_dir, "UPDATE lesson SET topic = '' WHERE journal_id = 1 AND date = ? AND lesson_number = ?", (day, n))
    assert f"{ru_date(day)}, {n}-й урок: не записана тема" in teacher.c.get("/journals").text
    execute(data_dir, "UPDATE study_period SET closed_at = '2026-11-01T00:00:00Z' WHERE id = ?", (q1[0],))
    assert f"{ru_date(day)}, {n}-й урок" not in teacher.c.get("/journals").text


def test_a_write_rechecks_the_journal_inside_its_own_transaction(data_dir):
    """What a route checked before its write may be stale by the time the write runs (the
    journal handed to another teacher, archived): the write reads the journal again, inside
    its own transaction, and decides there."""
    import asyncio

    import pytest as _pytest

    from server.accounts.store import User
    from server.db import Database
    from server.errors import Forbidden, NotFound
    from server.journal import access, writes

    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    person, account = q(data_dir, "SELECT person_id, id FROM account WHERE login = 'teacher01'")[0]
    teacher01 = User(account, person, "teacher01", "", "", "", frozenset({"teacher"}))

    async def run():
        db = Database(data_dir / "zhurnal.sqlite3")
        await db.open()
        try:
            await db.read(access.for_writer, teacher01, 1, day, n)  # what the route saw a moment before
            other = q(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")[0][0]
            execute(data_dir, "UPDATE journal SET teacher_id = ? WHERE id = 1", (other,))
            with _pytest.raises(Forbidden, match="вносит его учитель"):
                await db.write(writes.save_lesson, teacher01, 1, day, n, "Повторение", "lesson", None, "")
            execute(data_dir, "UPDATE journal SET teacher_id = ?, archived_at = '2026-11-01T00:00:00Z' WHERE id = 1",
                    (person,))
            with _pytest.raises(NotFound):
                await db.write(writes.save_lesson, teacher01, 1, day, n, "Повторение", "lesson", None, "")
        finally:
            await db.close()

    asyncio.run(run())
    assert ("Повторение",) not in q(data_dir, "SELECT topic FROM lesson WHERE journal_id = 1 AND date = ?"
                                              " AND lesson_number = ?", (day, n))



def test_the_lesson_panels_address_opened_alone_is_a_whole_page(client, data_dir):
    """A bookmarked or middle-clicked lesson: a page with its title and language (WCAG 2.4.2, 3.1.1)
    around the same panel, a link back to the grid; the grid itself still gets the bare panel."""
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    login(client, "teacher01")
    alone = client.get(f"/journals/1/lessons/{day}/{n}").text
    assert alone.startswith("<!doctype html>") and '<html lang="ru">' in alone
    assert "-й урок — " in alone.split("<title>")[1].split("</title>")[0]
    assert 'id="lesson-card"' in alone and f'href="/journals/1?lesson={day}/{n}"' in alone
    panel = client.get(f"/journals/1/lessons/{day}/{n}", headers={"HX-Request": "true"}).text
    assert "<html" not in panel and 'id="lesson-card"' in panel


def test_closing_a_period_from_the_year_page_goes_through_the_checklist_and_a_confirmation(client, data_dir):
    year, period = q(data_dir, "SELECT p.year_id, p.id FROM study_period p JOIN academic_year y ON y.id = p.year_id"
                               " WHERE y.status = 'open' AND p.kind = 'quarter' AND p.closed_at IS NULL"
                               " ORDER BY p.number LIMIT 1")[0]
    login(client, "deputy")
    page = client.get(f"/school/years/{year}").text
    # No one-click closing: the year page leads to what is missing, and the closing asks to confirm.
    assert f'href="/school/years/{year}/close?period={period}"' in page
    assert 'name="closed" value="1"' not in page
    checklist = client.get(f"/school/years/{year}/close?period={period}").text
    assert "Закрыть период «" in checklist and 'name="confirm"' in checklist
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', checklist).group(1)
    r = client.post(f"/school/years/{year}/periods/{period}/close", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 400 and "подтверждаете закрытие" in r.text
    assert q(data_dir, "SELECT closed_at FROM study_period WHERE id = ?", (period,)) == [(None,)]
