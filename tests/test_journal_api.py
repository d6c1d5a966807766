"""The journal's JSON API (/api/v1/journals…): the grid of a period, and a lesson run through
the API with the same checks as the pages."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from conftest import PASSWORD
from test_journal import lessons_of, period_average, q

from server import clock
from server.ledger import verify


def api_login(client, login_name: str) -> dict:
    r = client.post("/api/v1/auth/login", json={"login": login_name, "password": PASSWORD})
    assert r.status_code == 200
    return {"X-CSRF-Token": r.json()["csrf_token"]}


@pytest.fixture
def teacher(client):
    """teacher01, who teaches journal 1 (Русский язык, 5А), logged in through the API."""
    return api_login(client, "teacher01")


def last_lesson(data_dir) -> tuple[str, int]:
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    return day, n


def students(client) -> list[int]:
    return [s["id"] for s in client.get("/api/v1/journals/1").json()["students"]]


def audit_ok(data_dir) -> bool:
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return verify(conn)[0]
    finally:
        conn.close()


def test_teacher_reads_the_grid_of_the_current_period(client, teacher, data_dir):
    g = client.get("/api/v1/journals/1").json()
    assert g["subject"] == "Русский язык" and g["name"] == "5А" and g["mine"] and g["can_write"]
    today = clock.today().isoformat()
    period = g["period"]
    assert period["starts_on"] <= today <= period["ends_on"] or period["ends_on"] < today
    assert len(g["students"]) == 25 and all(s["name"].count(" ") == 2 for s in g["students"])
    assert {s["from"] for s in g["students"]} == {q(data_dir, "SELECT starts_on FROM academic_year WHERE status = 'open'")[0][0]}
    # Columns come from the timetable: recorded lessons with their topics, and the last ones the
    # demo left for the teacher to fill.
    assert all(period["starts_on"] <= l_["date"] <= period["ends_on"] for l_ in g["lessons"])
    recorded = [l_ for l_ in g["lessons"] if l_["recorded"]]
    past_empty = [l_ for l_ in g["lessons"] if not l_["recorded"] and l_["date"] < today]
    assert recorded and all(l_["topic"] for l_ in recorded if l_["status"] != "cancelled")
    assert past_empty, "the demo leaves journal 1's last lessons empty"
    assert any(l_["homework"] and l_["homework"]["minutes"] for l_ in recorded)
    # Cells: grades with work types and weights, attendance; averages and forecasts per student.
    graded = [c for c in g["cells"] if c["grades"]]
    assert graded and all(c["grades"][0]["weight"] > 0 for c in graded)
    assert any(c["mark"] for c in g["cells"])
    someone = next(s for s in g["students"] if s["count"])
    assert someone["average"] == period_average(data_dir, 1, someone["id"], g["lessons"][0]["date"])
    assert someone["forecast"] in ("2", "3", "4", "5")
    codes = {w["code"] for w in g["work_types"]}
    assert {"lesson", "control", "dictation"} <= codes and g["threshold"] == 0.5
    assert len(g["timetable"]) == int(g["hours_per_week"])


def test_an_earlier_period_is_chosen_by_its_id(client, teacher, data_dir):
    first = next(p for p in client.get("/api/v1/journals/1").json()["periods"] if p["kind"] == "quarter")
    g = client.get(f"/api/v1/journals/1?period={first['id']}").json()
    assert g["period"]["id"] == first["id"]
    assert all(first["starts_on"] <= l_["date"] <= first["ends_on"] for l_ in g["lessons"])
    if first["ends_on"] < clock.today().isoformat():  # the demo sets the grades of a quarter that has ended
        assert any(p["period_id"] == first["id"] for p in g["period_grades"])
    r = client.get("/api/v1/journals/1?period=999999")
    assert r.status_code == 404 and r.json()["error"] == "Такого учебного периода у этого журнала нет."


def test_teacher_runs_a_lesson_through_the_api(client, teacher, data_dir):
    day, n = last_lesson(data_dir)
    lesson = f"/api/v1/journals/1/lessons/{day}/{n}"
    assert client.get(lesson).json()["suggested_plan_item"]["topic"]
    r = client.put(lesson, json={"topic": "Правописание приставок", "work_type": "lesson"}, headers=teacher)
    assert r.status_code == 200 and r.json()["topic"] == "Правописание приставок" and r.json()["recorded"]
    a, b, c = students(client)[:3]
    r = client.put(f"{lesson}/cells/{a}", json={"value": "5/4"}, headers=teacher)
    assert r.status_code == 200 and r.json()["text"] == "5/4"
    assert [g["value"] for g in r.json()["grades"]] == ["5", "4"]
    assert r.json()["average"] == period_average(data_dir, 1, a, day)
    r = client.put(f"{lesson}/cells/{b}/attendance", json={"mark": "б"}, headers=teacher)
    assert r.status_code == 200 and r.json()["mark"] == "Б"
    r = client.put(f"{lesson}/cells/{a}/attendance", json={"mark": "ОП"}, headers=teacher)
    assert r.json()["text"] == "ОП 5/4"  # the grades stay
    r = client.put(f"{lesson}/cells/{a}/attendance", json={"mark": "Н"}, headers=teacher)
    assert r.status_code == 400 and "отсутствовал" in r.json()["error"]
    r = client.put(f"{lesson}/cells/{a}/grades/1", json={"work_type": "homework"}, headers=teacher)
    assert r.status_code == 200 and r.json()["grades"][1]["work_type"] == "homework"
    r = client.put(f"{lesson}/homework", json={"text": "Упр. 214", "minutes": 20}, headers=teacher)
    assert r.status_code == 200 and r.json()["homework"]["text"] == "Упр. 214" and r.json()["homework"]["minutes"] == 20
    r = client.put(f"{lesson}/cells/{c}", json={"value": "3"}, headers=teacher)
    assert r.status_code == 200
    r = client.delete(f"{lesson}/cells/{c}", headers=teacher)
    assert r.status_code == 200 and r.json()["text"] == "" and r.json()["grades"] == []
    # The grid shows it all, and the audit log holds.
    g = client.get("/api/v1/journals/1").json()
    cell = next(x for x in g["cells"] if x["student_id"] == a and x["date"] == day and x["number"] == n)
    assert cell["text"] == "ОП 5/4" and [x["work_type"] for x in cell["grades"]] == ["lesson", "homework"]
    column = next(x for x in g["lessons"] if (x["date"], x["number"]) == (day, n))
    assert column["topic"] == "Правописание приставок" and column["homework"]["text"] == "Упр. 214"
    assert audit_ok(data_dir)


def test_control_work_lists_present_students_still_without_a_grade(client, teacher, data_dir):
    day, n = last_lesson(data_dir)
    lesson = f"/api/v1/journals/1/lessons/{day}/{n}"
    client.put(lesson, json={"topic": "Контрольный диктант", "work_type": "dictation"}, headers=teacher)
    a, b = students(client)[:2]
    client.put(f"{lesson}/cells/{a}", json={"value": "4"}, headers=teacher)
    client.put(f"{lesson}/cells/{b}", json={"value": "б"}, headers=teacher)
    missing = {s["id"] for s in client.get(lesson).json()["control_missing"]}
    assert a not in missing and b not in missing and len(missing) == 23


def test_what_the_api_refuses_is_explained_in_russian(client, teacher, data_dir):
    day, n = last_lesson(data_dir)
    lesson = f"/api/v1/journals/1/lessons/{day}/{n}"
    s = students(client)[0]
    r = client.put(lesson, json={"topic": "Present Simple"}, headers=teacher)
    assert r.status_code == 400 and "на русском языке" in r.json()["error"]
    r = client.put(lesson, json={"topic": ""}, headers=teacher)
    assert r.status_code == 400 and "тема обязательна" in r.json()["error"]
    r = client.put(f"{lesson}/cells/{s}", json={"value": "7"}, headers=teacher)
    assert r.status_code == 400 and "не отметка" in r.json()["error"]
    r = client.put(f"{lesson}/cells/{s}/attendance", json={"mark": "X"}, headers=teacher)
    assert r.status_code == 400 and "Посещаемость" in r.json()["error"]
    r = client.put(f"{lesson}/homework", json={"text": "Читать", "minutes": 900}, headers=teacher)
    assert r.status_code == 400 and "от 1 до 600 минут" in r.json()["error"]
    (future, fn), = lessons_of(data_dir, 1, after=clock.today() + timedelta(days=1), count=1)
    r = client.put(f"/api/v1/journals/1/lessons/{future}/{fn}/cells/{s}", json={"value": "5"}, headers=teacher)
    assert r.status_code == 400 and "ещё не наступило" in r.json()["error"]
    r = client.get(f"/api/v1/journals/1/lessons/{day}/{n + 5 if n + 5 <= 12 else 0}")
    assert r.status_code == 404
    r = client.put(f"{lesson}/cells/{s}", json={"value": "5"})  # no CSRF token
    assert r.status_code == 403


def test_other_teachers_and_families_are_refused(client, data_dir):
    day, n = last_lesson(data_dir)
    h = api_login(client, "teacher02")
    s = q(data_dir, "SELECT student_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id"
                    " WHERE j.id = 1")[0][0]
    assert client.get("/api/v1/journals/1").status_code == 403
    r = client.put(f"/api/v1/journals/1/lessons/{day}/{n}/cells/{s}", json={"value": "5"}, headers=h)
    assert r.status_code == 403 and "error" in r.json()
    assert 1 not in {j["id"] for j in client.get("/api/v1/journals").json()}
    assert client.get("/api/v1/journals/999999").status_code == 404
    for who in ("parent0001", "student0001"):
        client.cookies.clear()
        api_login(client, who)
        assert client.get("/api/v1/journals").status_code == 403
        assert client.get("/api/v1/journals/1").status_code == 403


def test_a_substitute_fills_only_the_lesson_they_gave(client, teacher, data_dir):
    (d1, n1), (d2, n2) = lessons_of(data_dir, 1, before=clock.today(), count=2)
    sub = q(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")[0][0]
    r = client.put(f"/api/v1/journals/1/lessons/{d1}/{n1}/status",
                   json={"status": "substituted", "substitute_id": sub, "status_reason": "Болезнь учителя"},
                   headers=teacher)
    assert r.status_code == 200 and r.json()["status"] == "substituted" and r.json()["substitute_id"] == sub
    r = client.put(f"/api/v1/journals/1/lessons/{d2}/{n2}/status", json={"status": "cancelled"}, headers=teacher)
    assert r.status_code == 400 and "Укажите причину" in r.json()["error"]
    client.cookies.clear()
    h = api_login(client, "teacher20")
    assert 1 in {j["id"] for j in client.get("/api/v1/journals").json()}
    s = students(client)[0]
    given, other = f"/api/v1/journals/1/lessons/{d1}/{n1}", f"/api/v1/journals/1/lessons/{d2}/{n2}"
    assert client.put(f"{given}/cells/{s}", json={"value": "4"}, headers=h).status_code == 200
    assert client.put(f"{other}/cells/{s}", json={"value": "4"}, headers=h).status_code == 403


def test_period_grades_by_the_journal_teacher(client, teacher, data_dir):
    period = q(data_dir, "SELECT id FROM study_period WHERE year_id = (SELECT year_id FROM journal WHERE id = 1) AND kind = 'quarter' AND number = 1")[0][0]
    s = students(client)[0]
    url = f"/api/v1/journals/1/period-grades/{period}/{s}"
    r = client.put(url, json={"value": "4"}, headers=teacher)
    assert r.status_code == 200 and r.json()["value"] == "4"
    assert client.put(url, json={"value": "осв."}, headers=teacher).json()["value"] == "осв"
    r = client.put(url, json={"value": "6"}, headers=teacher)
    assert r.status_code == 400 and "Итоговая отметка" in r.json()["error"]
    assert client.put(url, json={"value": None}, headers=teacher).json()["value"] is None
    client.cookies.clear()
    h = api_login(client, "teacher02")
    assert client.put(url, json={"value": "5"}, headers=h).status_code == 403


def test_homework_file_is_uploaded_and_downloaded(client, teacher, data_dir):
    (day, n), = lessons_of(data_dir, 1, after=clock.today() + timedelta(days=1), count=1)
    lesson = f"/api/v1/journals/1/lessons/{day}/{n}"
    client.put(f"{lesson}/homework", json={"text": "Параграф 12", "minutes": 15}, headers=teacher)
    r = client.post(f"{lesson}/homework/file", files={"file": ("задание.pdf", b"%PDF-1.4 api", "application/pdf")},
                    headers=teacher)
    assert r.status_code == 200, r.text
    hw = r.json()["homework"]
    assert hw["text"] == "Параграф 12" and hw["minutes"] == 15 and hw["file_name"] == "задание.pdf"
    assert client.get(hw["file_url"]).content == b"%PDF-1.4 api"
    r = client.post(f"{lesson}/homework/file", json={}, headers=teacher)
    assert r.status_code == 400 and "Приложите файл" in r.json()["error"]
    r = client.put(f"{lesson}/homework", json={"text": "Параграф 12", "remove_file": True}, headers=teacher)
    assert r.json()["homework"]["file_name"] is None


def test_the_journal_api_is_described_in_the_openapi_document(client):
    doc = client.get("/api/v1/schema/openapi.json").json()
    paths = doc["paths"]
    cell = "/api/v1/journals/{journal_id}/lessons/{day}/{number}/cells/{student_id}"
    assert {"put", "delete"} <= set(paths[cell])
    for path, ops in paths.items():
        if path.startswith("/api/v1/journals/{journal_id}") and "/plan" not in path:
            for op in ops.values():
                assert op["tags"] == ["Журнал"], path
                assert any("а" <= ch <= "я" for ch in op.get("description", "") + op.get("summary", "")), path
    params = {p["name"] for p in paths["/api/v1/journals/{journal_id}"]["get"]["parameters"]}
    assert "period" in params
