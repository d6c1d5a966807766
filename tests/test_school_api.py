"""The school structure through the JSON API: reads for those allowed, writes for managers."""

from __future__ import annotations

import sqlite3

from conftest import PASSWORD


def api_login(client, login_name: str) -> dict:
    r = client.post("/api/v1/auth/login", json={"login": login_name, "password": PASSWORD})
    assert r.status_code == 200
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_deputy_builds_structure_through_the_api(client):
    h = api_login(client, "deputy")
    subject = client.post("/api/v1/subjects", json={"name": "Астрономия"}, headers=h)
    assert subject.status_code == 201
    assert "Астрономия" in {s["name"] for s in client.get("/api/v1/subjects").json()}
    dup = client.post("/api/v1/subjects", json={"name": "астрономия"}, headers=h)
    assert dup.status_code == 400 and "уже есть" in dup.json()["error"]

    cls = client.post("/api/v1/classes", json={"name": "11В"}, headers=h)
    assert cls.status_code == 201
    class_id = cls.json()["id"]
    staff = client.get("/api/v1/staff").json()
    teacher = next(p for p in staff if p["login"] == "teacher20")
    j = client.post("/api/v1/journals", json={"subject_id": subject.json()["id"], "class_id": class_id,
                                               "teacher_id": teacher["id"], "hours_per_week": 1}, headers=h)
    assert j.status_code == 201
    slot = client.post("/api/v1/timetable", json={"journal_id": j.json()["id"], "weekday": 6, "lesson_number": 1},
                       headers=h)
    assert slot.status_code == 201
    again = client.post("/api/v1/timetable", json={"journal_id": j.json()["id"], "weekday": 6, "lesson_number": 1},
                        headers=h)
    assert again.status_code == 400 and "уже стоит в расписании" in again.json()["error"]
    tt = client.get(f"/api/v1/timetable?class_id={class_id}").json()
    assert [(s["weekday"], s["lesson_number"], s["subject"]) for s in tt] == [(6, 1, "Астрономия")]
    st = client.post(f"/api/v1/classes/{class_id}/students",
                     json={"last_name": "Новикова", "first_name": "Ева", "birth_date": "01.02.2009", "sex": "ж"},
                     headers=h)
    assert st.status_code == 201
    detail = client.get(f"/api/v1/classes/{class_id}").json()
    assert [s["last_name"] for s in detail["students"]] == ["Новикова"]
    bad = client.post("/api/v1/classes", json={"name": "5Ы"}, headers=h)
    assert bad.status_code == 400 and "недопустимая буква" in bad.json()["error"]
    malformed = client.post("/api/v1/classes", content=b"[1,2", headers={**h, "Content-Type": "application/json"})
    assert malformed.status_code == 400


def test_a_teacher_lists_own_journals_and_those_of_their_class(client, data_dir):
    # The list moved to the journal's API (server/journal/api.py): the journals one may open.
    api_login(client, "teacher01")
    listed = client.get("/api/v1/journals").json()
    mine = [j for j in listed if j["mine"]]
    assert mine and all(j["can_write"] for j in mine)
    # Beside their own: the journals of their class (class teacher of 5А) and those where they
    # gave a lesson as a substitute (the demo's substitutions depend on the date it was built).
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    substituted = {r[0] for r in conn.execute(
        "SELECT DISTINCT l.journal_id FROM lesson l JOIN account a ON a.person_id = l.substitute_id"
        " WHERE a.login = 'teacher01'")}
    conn.close()
    others = [j for j in listed if not j["mine"]]
    assert {j["name"] for j in others if j["id"] not in substituted} <= {"5А", "5А англ. 1", "5А англ. 2"}
    assert client.get(f"/api/v1/journals/{mine[0]['id']}").status_code == 200
    client.cookies.clear()
    api_login(client, "deputy")
    others = [j for j in client.get("/api/v1/journals").json() if j["id"] not in {x["id"] for x in listed}]
    client.cookies.clear()
    api_login(client, "teacher01")
    r = client.get(f"/api/v1/journals/{others[0]['id']}")
    assert r.status_code == 403 and "не ваш журнал" in r.json()["error"]


def test_families_get_no_school_structure(client):
    for login_name in ("parent0001", "student0001"):
        client.cookies.clear()
        h = api_login(client, login_name)
        for path in ("/api/v1/classes", "/api/v1/journals", "/api/v1/staff"):
            assert client.get(path).status_code == 403
        assert client.post("/api/v1/subjects", json={"name": "Взлом"}, headers=h).status_code == 403


def test_demo_journals_have_a_timetable(client):
    api_login(client, "teacher01")
    j = client.get("/api/v1/journals").json()[0]
    detail = client.get(f"/api/v1/journals/{j['id']}").json()
    assert len(detail["timetable"]) == int(detail["hours_per_week"])
