"""The school's grading settings (/school/grading): the mark «1», marks in the 1st class, the
forecast's threshold, work types and their weights — and that the journal follows them."""

from __future__ import annotations

import json
import re

import pytest
from conftest import login, session_csrf
from test_journal import Teacher, lessons_of, period_average, q

from server import clock
from server.ledger import verify


def post(client, path: str, data: dict, csrf: str | None = None):
    return client.post(path, data={"csrf_token": csrf or session_csrf(client), **data}, follow_redirects=False)


def types_form(data_dir, **changes) -> dict:
    """The work-type table as the page submits it, with `changes` (field → value) applied."""
    form = {}
    for code, name, weight, is_control in q(data_dir, "SELECT code, name, weight, is_control FROM work_type"):
        form[f"name_{code}"] = name
        form[f"weight_{code}"] = f"{weight:g}".replace(".", ",")
        if is_control:
            form[f"control_{code}"] = "1"
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def snapshot(data_dir):
    """Everything this page may change, and the audit log's length."""
    return (q(data_dir, "SELECT * FROM work_type ORDER BY code"),
            q(data_dir, "SELECT key, value FROM setting WHERE key IN"
                        " ('grade_one_allowed', 'first_grade_marks', 'forecast_threshold') ORDER BY key"),
            q(data_dir, "SELECT count(*) FROM audit_log"))


def audit_ok(data_dir) -> bool:
    import sqlite3

    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return verify(conn)[0]
    finally:
        conn.close()


def same_period_lessons(data_dir, journal_id: int) -> list[tuple[str, int]]:
    """Two past lessons of the journal in the same quarter (the average is per quarter)."""
    found = lessons_of(data_dir, journal_id, before=clock.today(), count=20)
    quarters = q(data_dir, "SELECT starts_on, ends_on FROM study_period WHERE kind = 'quarter'")
    by_quarter: dict = {}
    for day, n in found:
        quarter = next(p for p in quarters if p[0] <= day <= p[1])
        by_quarter.setdefault(quarter, []).append((day, n))
        if len(by_quarter[quarter]) == 2:
            return by_quarter[quarter][::-1]
    pytest.fail("no two past lessons in one quarter")


def clear_grades(teacher: Teacher, data_dir, student: int, day: str) -> None:
    """The student starts with no grades in the quarter of `day`, so the average is known:
    the teacher clears those cells (through the journal, so the audit log stays whole)."""
    cells = q(data_dir, "SELECT DISTINCT l.date, l.lesson_number FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                        " JOIN study_period p ON p.kind = 'quarter' AND ? BETWEEN p.starts_on AND p.ends_on"
                        " WHERE l.journal_id = ? AND g.student_id = ? AND l.date BETWEEN p.starts_on AND p.ends_on",
              (day, teacher.j, student))
    for d, n in cells:
        assert teacher.cell(student, d, n, "").status_code == 200
    assert period_average(data_dir, teacher.j, student, day) is None


def test_the_page_shows_settings_weights_and_the_formula(client):
    login(client, "director")
    page = client.get("/school/grading")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Отметки и веса</h1>" in text
    assert "Отметка «1» используется" in text and "Отметки в 1 классе" in text
    assert "безотметочное обучение" in text
    assert "Σ(отметка × вес) / Σ весов" in text
    assert "сразу меняет все средние баллы и прогнозы" in text
    assert "при пороге 0,5: 3,5 → 4, 3,49 → 3" in text
    assert 'value="контрольная работа"' in text and 'name="weight_control" value="2"' in text
    assert 'name="weight_independent" value="1,5"' in text
    assert 'href="/school/grading" aria-current="page"' in text
    # The director reads: no buttons, disabled fields.
    assert "Сохранить виды работ" not in text and "Добавить" not in text
    assert re.search(r'name="weight_control" value="2"[^>]*disabled', text)


def test_deputy_changes_a_weight_and_the_students_average_follows(client, data_dir):
    login(client, "teacher01")
    t = Teacher(client, 1)
    student = t.students[0]
    (d1, n1), (d2, n2) = same_period_lessons(data_dir, 1)
    clear_grades(t, data_dir, student, d2)
    assert t.lesson(d1, n1, "Повторение изученного", "lesson").status_code == 200
    assert t.lesson(d2, n2, "Контрольный диктант", "control").status_code == 200
    assert t.cell(student, d1, n1, "5").status_code == 200
    r = t.cell(student, d2, n2, "3")
    assert r.json()["average"] == 3.67  # (5×1 + 3×2) / (1 + 2)
    assert r.json()["forecast"] == "4"

    client.cookies.clear()
    login(client, "deputy")
    r = post(client, "/school/grading/work-types", types_form(data_dir, weight_control="1"))
    assert r.status_code == 303 and r.headers["location"] == "/school/grading?ok=saved"
    assert q(data_dir, "SELECT weight FROM work_type WHERE code = 'control'") == [(1.0,)]
    assert "Сохранено." in client.get("/school/grading?ok=saved").text

    client.cookies.clear()
    login(client, "teacher01")
    t = Teacher(client, 1)
    r = t.cell(student, d2, n2, "3")  # the same value again: only the answer is new
    assert r.json()["average"] == 4.0 == period_average(data_dir, 1, student, d2)
    # A decimal comma and a fractional weight.
    client.cookies.clear()
    login(client, "deputy")
    assert post(client, "/school/grading/work-types", types_form(data_dir, weight_control="2,5")).status_code == 303
    client.cookies.clear()
    login(client, "teacher01")
    assert Teacher(client, 1).cell(student, d2, n2, "3").json()["average"] == round((5 + 3 * 2.5) / 3.5, 2)
    assert audit_ok(data_dir)


def test_deputy_turns_on_the_mark_one(client, data_dir):
    login(client, "teacher01")
    t = Teacher(client, 1)
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    r = t.cell(t.students[0], day, n, "1")
    assert r.status_code == 400 and r.json()["error"] == "Отметка «1» в школе не используется."
    client.cookies.clear()
    login(client, "deputy")
    r = post(client, "/school/grading/settings", {"grade_one_allowed": "1", "forecast_threshold": "0,5"})
    assert r.status_code == 303
    assert q(data_dir, "SELECT value FROM setting WHERE key = 'grade_one_allowed'") == [("1",)]
    assert 'name="grade_one_allowed" value="1" checked' in client.get("/school/grading").text
    client.cookies.clear()
    login(client, "teacher01")
    t = Teacher(client, 1)
    r = t.cell(t.students[0], day, n, "1")
    assert r.status_code == 200 and r.json()["text"] == "1"
    # Unchecked is off again.
    client.cookies.clear()
    login(client, "deputy")
    assert post(client, "/school/grading/settings", {"forecast_threshold": "0.5"}).status_code == 303
    assert q(data_dir, "SELECT value FROM setting WHERE key = 'grade_one_allowed'") == [("0",)]


def test_marks_in_the_first_class_are_a_setting(client, data_dir):
    jid, teacher_login = q(data_dir, "SELECT j.id, a.login FROM journal j JOIN class c ON c.id = j.class_id"
                                     " JOIN account a ON a.person_id = j.teacher_id WHERE c.parallel = 1 LIMIT 1")[0]
    (day, n), = lessons_of(data_dir, jid, before=clock.today(), count=1)
    login(client, teacher_login)
    t = Teacher(client, jid)
    r = t.cell(t.students[0], day, n, "5")
    assert r.status_code == 400 and "безотметочное" in r.json()["error"]
    client.cookies.clear()
    login(client, "deputy")
    assert post(client, "/school/grading/settings",
                {"first_grade_marks": "1", "forecast_threshold": "0,5"}).status_code == 303
    client.cookies.clear()
    login(client, teacher_login)
    t = Teacher(client, jid)
    r = t.cell(t.students[0], day, n, "5")
    assert r.status_code == 200 and r.json()["text"] == "5"


def test_the_threshold_changes_the_forecast(client, data_dir):
    login(client, "teacher01")
    t = Teacher(client, 1)
    student = t.students[1]
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    clear_grades(t, data_dir, student, day)
    r = t.cell(student, day, n, "4/3")
    assert r.json()["average"] == 3.5 and r.json()["forecast"] == "4"
    client.cookies.clear()
    login(client, "deputy")
    r = post(client, "/school/grading/settings", {"forecast_threshold": "0,6"})
    assert r.status_code == 303
    assert q(data_dir, "SELECT value FROM setting WHERE key = 'forecast_threshold'") == [("0.6",)]
    page = client.get("/school/grading").text
    assert "при пороге 0,6: 3,6 → 4, 3,59 → 3" in page and 'name="forecast_threshold" value="0,6"' in page
    client.cookies.clear()
    login(client, "teacher01")
    r = Teacher(client, 1).cell(student, day, n, "4/3")
    assert r.json()["average"] == 3.5 and r.json()["forecast"] == "3"


@pytest.mark.parametrize("path, changes, message", [
    ("/school/grading/work-types", {"weight_control": "0"}, "Вес вида работы «контрольная работа»: должен быть больше 0"),
    ("/school/grading/work-types", {"weight_control": "11"}, "Вес вида работы «контрольная работа»: должен быть больше 0 и не больше 10"),
    ("/school/grading/work-types", {"weight_lesson": "abc"}, "Вес вида работы «урок»: «abc» — не число"),
    ("/school/grading/work-types", {"weight_lesson": ""}, "Вес вида работы «урок»: не указано"),
    ("/school/grading/work-types", {"weight_lesson": "1,555"}, "не больше двух знаков после запятой"),
    ("/school/grading/work-types", {"name_test": ""}, "Название вида работы «тест»: не указано"),
    ("/school/grading/work-types", {"name_test": "Контрольная  работа"},
     "Название вида работы «Контрольная работа»: такое название уже есть"),
    ("/school/grading/work-types", {"name_test": "Test"}, "пишется по-русски"),
    ("/school/grading/settings", {"forecast_threshold": "1"}, "Порог округления прогноза: должен быть больше 0 и меньше 1"),
    ("/school/grading/settings", {"forecast_threshold": "0"}, "Порог округления прогноза: должен быть больше 0 и меньше 1"),
    ("/school/grading/settings", {"forecast_threshold": "половина"}, "Порог округления прогноза: «половина» — не число"),
    ("/school/grading/settings", {"forecast_threshold": ""}, "Порог округления прогноза: не указано"),
    ("/school/grading/work-types/new", {"new_name": "", "new_weight": "1"}, "Название нового вида работы: не указано"),
    ("/school/grading/work-types/new", {"new_name": "диктант", "new_weight": "1"},
     "Название вида работы «диктант»: такой вид работы уже есть"),
    ("/school/grading/work-types/new", {"new_name": "Проект", "new_weight": "10,5"}, "Вес нового вида работы"),
])
def test_bad_input_is_refused_in_russian_and_changes_nothing(client, data_dir, path, changes, message):
    login(client, "deputy")
    before = snapshot(data_dir)
    if path == "/school/grading/work-types":
        # A valid change in the same form must not be saved either: one transaction per form.
        data = types_form(data_dir, weight_homework="3", **changes)
    elif path == "/school/grading/settings":
        data = {"grade_one_allowed": "1", **changes}
    else:
        data = changes
    r = post(client, path, data)
    assert r.status_code == 400
    assert message in r.text, r.text[:3000]
    assert 'role="alert"' in r.text and "<h1>Отметки и веса</h1>" in r.text
    assert 'aria-invalid="true"' in r.text
    assert snapshot(data_dir) == before


def test_deputy_renames_flags_and_adds_work_types(client, data_dir):
    login(client, "sysadmin")
    r = post(client, "/school/grading/work-types",
             types_form(data_dir, name_test="тестирование", control_test="1", control_credit=None))
    assert r.status_code == 303
    assert q(data_dir, "SELECT name, is_control FROM work_type WHERE code IN ('test', 'credit') ORDER BY code") == [
        ("зачёт", 0), ("тестирование", 1)]
    # Two names swapped in one save.
    r = post(client, "/school/grading/work-types", types_form(data_dir, name_essay="диктант", name_dictation="сочинение"))
    assert r.status_code == 303
    assert q(data_dir, "SELECT code, name FROM work_type WHERE code IN ('essay', 'dictation') ORDER BY code") == [
        ("dictation", "сочинение"), ("essay", "диктант")]
    r = post(client, "/school/grading/work-types/new", {"new_name": "проект", "new_weight": "2,5", "new_control": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/school/grading?ok=created"
    r = post(client, "/school/grading/work-types/new", {"new_name": "ВПР", "new_weight": "3"})
    assert r.status_code == 303
    max_sort = q(data_dir, "SELECT max(sort) FROM work_type WHERE code NOT LIKE 'custom%'")[0][0]
    assert q(data_dir, "SELECT code, name, weight, is_control, sort FROM work_type WHERE code LIKE 'custom%'"
                       " ORDER BY code") == [("custom1", "проект", 2.5, 1, max_sort + 1),
                                             ("custom2", "ВПР", 3.0, 0, max_sort + 2)]
    page = client.get("/school/grading").text
    assert page.index('value="домашняя работа"') < page.index('value="проект"') < page.index('value="ВПР"')
    # The new type is offered in a lesson's panel and its grades count with its weight.
    client.cookies.clear()
    login(client, "teacher01")
    t = Teacher(client, 1)
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    assert "проект (вес 2,5)" in client.get(f"/journals/1/lessons/{day}/{n}").text
    assert t.lesson(day, n, "Защита проектов", "custom1").status_code == 200
    student = t.students[2]
    assert t.cell(student, day, n, "5").status_code == 200
    assert q(data_dir, "SELECT g.work_type FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = 1"
                       " AND l.date = ? AND l.lesson_number = ? AND g.student_id = ?", (day, n, student)) == [("custom1",)]
    assert audit_ok(data_dir)


@pytest.mark.parametrize("who", ["teacher01", "teacher20", "director", "parent0001"])
def test_only_the_deputy_and_the_sysadmin_change_grading(client, data_dir, who):
    login(client, who)
    before = snapshot(data_dir)
    csrf = session_csrf(client)
    for path, data in [("/school/grading/settings", {"grade_one_allowed": "1", "forecast_threshold": "0,7"}),
                       ("/school/grading/work-types", types_form(data_dir, weight_lesson="5")),
                       ("/school/grading/work-types/new", {"new_name": "проект", "new_weight": "2"})]:
        assert post(client, path, data, csrf).status_code == 403
    assert snapshot(data_dir) == before
    assert client.get("/school/grading").status_code == (200 if who == "director" else 403)


def test_every_change_is_in_the_audit_log_and_on_the_page(client, data_dir):
    login(client, "deputy")
    account = q(data_dir, "SELECT id FROM account WHERE login = 'deputy'")[0][0]
    start = q(data_dir, "SELECT max(id) FROM audit_log")[0][0]
    post(client, "/school/grading/settings", {"grade_one_allowed": "1", "first_grade_marks": "1",
                                              "forecast_threshold": "0,65"})
    post(client, "/school/grading/work-types", types_form(data_dir, weight_lesson="1,25", name_homework="домашнее задание"))
    post(client, "/school/grading/work-types/new", {"new_name": "проект", "new_weight": "2"})
    # Saving again what is already there records nothing.
    post(client, "/school/grading/settings", {"grade_one_allowed": "1", "first_grade_marks": "1",
                                              "forecast_threshold": "0.65"})
    post(client, "/school/grading/work-types", types_form(data_dir))
    rows = q(data_dir, "SELECT account_id, entity, key, old, new FROM audit_log WHERE id > ? ORDER BY id", (start,))
    assert [(a, e, k, json.loads(o) if o else None, json.loads(n)) for a, e, k, o, n in rows] == [
        (account, "setting", "setting:grade_one_allowed", "0", "1"),
        (account, "setting", "setting:first_grade_marks", "0", "1"),
        (account, "setting", "setting:forecast_threshold", "0.5", "0.65"),
        (account, "work_type", "work_type:lesson", {"name": "урок", "weight": 1.0, "is_control": False},
         {"name": "урок", "weight": 1.25, "is_control": False}),
        (account, "work_type", "work_type:homework", {"name": "домашняя работа", "weight": 1.0, "is_control": False},
         {"name": "домашнее задание", "weight": 1.0, "is_control": False}),
        (account, "work_type", "work_type:custom1", None, {"name": "проект", "weight": 2.0, "is_control": False}),
    ]
    assert q(data_dir, "SELECT count(*) FROM audit_log WHERE entity IN ('setting', 'work_type')"
                       " AND reason NOT LIKE 'исходное состояние%'")[0][0] == 6
    assert audit_ok(data_dir)
    page = client.get("/school/grading").text
    history = page[page.index("Последние изменения"):]
    assert "Порог округления прогноза" in history and "0,65" in history
    assert "домашняя работа, вес 1" in history and "домашнее задание, вес 1" in history
    assert "Новый вид работы" in history and "проект, вес 2" in history


def test_audit_verify_reports_a_work_type_or_a_setting_changed_directly_in_sqlite(client, data_dir, capsys):
    """The grading settings and the work types are in the ledger (ledger.TABLES): a weight or a
    threshold changed behind the program's back is reported, as a grade is. The login-key
    secret in the same table is not school data and never enters the ledger."""
    from test_journal import execute

    from server.cli import main as cli_main

    def verify_cli() -> tuple[int, str]:
        code = cli_main(["audit", "verify", "--data", str(data_dir)])
        out = capsys.readouterr()
        return code, out.out + out.err

    login(client, "deputy")
    post(client, "/school/grading/work-types", types_form(data_dir, weight_test="1,75", control_test="1"))
    assert q(data_dir, "SELECT weight, is_control FROM work_type WHERE code = 'test'") == [(1.75, 1)]
    assert verify_cli()[0] == 0
    for change, undo, key in [
            ("UPDATE work_type SET weight = 3 WHERE code = 'lesson'", "UPDATE work_type SET weight = 1 WHERE code = 'lesson'",
             "work_type:lesson"),
            ("UPDATE work_type SET is_control = 0 WHERE code = 'test'",
             "UPDATE work_type SET is_control = 1 WHERE code = 'test'", "work_type:test"),
            ("INSERT INTO work_type(code, name, weight, is_control, sort) VALUES ('trip', 'экскурсия', 1, 0, 99)",
             "DELETE FROM work_type WHERE code = 'trip'", "work_type:trip"),
            ("UPDATE setting SET value = '0.3' WHERE key = 'forecast_threshold'",
             "UPDATE setting SET value = '0.5' WHERE key = 'forecast_threshold'", "setting:forecast_threshold"),
            ("UPDATE setting SET value = '1' WHERE key = 'grade_one_allowed'",
             "UPDATE setting SET value = '0' WHERE key = 'grade_one_allowed'", "setting:grade_one_allowed")]:
        execute(data_dir, change)
        code, text = verify_cli()
        assert code == 1 and f"«{key}»" in text, (change, text)
        execute(data_dir, undo)
        assert verify_cli()[0] == 0, undo
    execute(data_dir, "UPDATE setting SET value = 'другой' WHERE key = 'login_key_secret'")
    assert verify_cli()[0] == 0
    assert q(data_dir, "SELECT count(*) FROM audit_log WHERE key LIKE '%login_key%' OR new LIKE '%другой%'") == [(0,)]
