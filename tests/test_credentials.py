"""Issuing credentials (§2.3): who may issue to whom, the printable sheet of slips, and
what a parent does with a slip — log in once, change the password, see their child."""

from __future__ import annotations

import re
import sqlite3

import pytest
from conftest import PASSWORD, login, session_csrf

from server.netinfo import server_urls

SLIP = re.compile(r'Логин: <code>([^<]+)</code></p>\s*<p class="slip-cred">Пароль: <code>([^<]+)</code>')


# --- helpers -------------------------------------------------------------------------------

class School:
    """Read (and, to set up a case, write) the test school's database beside the app."""

    def __init__(self, data_dir):
        self.path = data_dir / "zhurnal.sqlite3"

    def rows(self, sql: str, params=()) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.path)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def value(self, sql: str, params=()):
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, params=()) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute(sql, params)
        finally:
            conn.close()

    def class_of(self, teacher_login: str) -> int:
        return self.value("SELECT c.id FROM class c JOIN account a ON a.person_id = c.class_teacher_id"
                          " WHERE a.login = ?", (teacher_login,))

    def person(self, login_name: str) -> int:
        return self.value("SELECT person_id FROM account WHERE login = ?", (login_name,))

    def login_of(self, person_id: int) -> str:
        return self.value("SELECT login FROM account WHERE person_id = ?", (person_id,))

    def students(self, class_id: int) -> list[sqlite3.Row]:
        return self.rows("SELECT p.id, p.last_name, p.first_name, a.login FROM enrollment e"
                         " JOIN person p ON p.id = e.student_id JOIN account a ON a.person_id = p.id"
                         " WHERE e.class_id = ? AND e.to_date IS NULL ORDER BY p.last_name, p.first_name",
                         (class_id,))

    def consenting_parents(self, class_id: int) -> list[sqlite3.Row]:
        """Parents (and nothing else) with consent for a child in the class, with that child."""
        return self.rows(
            "SELECT g.parent_id AS id, a.login, s.last_name || ' ' || s.first_name AS child"
            " FROM guardian g JOIN enrollment e ON e.student_id = g.student_id AND e.to_date IS NULL"
            " JOIN person s ON s.id = g.student_id JOIN account a ON a.person_id = g.parent_id"
            " WHERE e.class_id = ? AND g.consent_at IS NOT NULL"
            " AND (SELECT group_concat(role) FROM account_role r WHERE r.account_id = a.id) = 'parent'"
            " ORDER BY a.login", (class_id,))

    def password_hash(self, person_id: int) -> str:
        return self.value("SELECT password_hash FROM account WHERE person_id = ?", (person_id,))

    def issues(self) -> list[sqlite3.Row]:
        return self.rows("SELECT ci.*, a.person_id, b.login AS issued_by_login FROM credential_issue ci"
                         " JOIN account a ON a.id = ci.account_id LEFT JOIN account b ON b.id = ci.issued_by"
                         " ORDER BY ci.id")

    def file_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in self.path.parent.glob("zhurnal.sqlite3*"))


@pytest.fixture
def school(data_dir) -> School:
    return School(data_dir)


def as_user(client, login_name: str, password: str = PASSWORD) -> str:
    """Log in afresh as `login_name`; the session's CSRF token."""
    client.cookies.clear()
    login(client, login_name, password)
    return session_csrf(client)


def issue_on_page(client, path: str, person_ids: list[int], expect: int = 200):
    csrf = session_csrf(client)
    r = client.post(path, data={"csrf_token": csrf, "person_id": [str(i) for i in person_ids]},
                    follow_redirects=False)
    assert r.status_code == expect, (r.status_code, r.text[:800])
    return r


def slips(html: str) -> dict[str, str]:
    return dict(SLIP.findall(html))


def first_login_and_change(client, login_name: str, one_time: str, new_password: str) -> None:
    """What a person does with a slip: log in, get sent to change the password, change it."""
    client.cookies.clear()
    r = login(client, login_name, one_time)
    assert r.headers["location"] == "/password"
    assert client.get("/", follow_redirects=False).headers["location"] == "/password"
    csrf = session_csrf(client)
    r = client.post("/password", data={"csrf_token": csrf, "current": one_time, "new": new_password,
                                       "repeat": new_password})
    assert r.status_code == 200, r.text[:500]


# --- the class teacher and the parent (the issue's "Done when") --------------------------

def test_class_teacher_prints_slips_and_a_parent_logs_in_changes_the_password_and_sees_the_child(client, school):
    class_id = school.class_of("teacher01")
    parents = school.consenting_parents(class_id)[:2]
    students = school.students(class_id)[:2]
    chosen = [p["id"] for p in parents] + [s["id"] for s in students]

    as_user(client, "teacher01")
    page = client.get(f"/classes/{class_id}/credentials")
    assert page.status_code == 200
    assert "Выдача доступа: 5А класс" in page.text
    for pid in chosen:
        assert f'name="person_id" value="{pid}"' in page.text

    r = issue_on_page(client, f"/classes/{class_id}/credentials", chosen)
    assert r.headers["cache-control"] == "no-store"
    issued = slips(r.text)
    assert set(issued) == {school.login_of(pid) for pid in chosen}
    assert all(re.fullmatch(r"[a-z2-9]{10}", pw) for pw in issued.values())
    # The LAN address, printed and as a QR code (inline SVG), and the parents' wording.
    urls = server_urls(client.app.state.settings)
    assert urls[0] in r.text
    assert r.text.count('<svg viewBox="0 0') == len(chosen)
    assert 'class="qr"' in r.text
    assert "родитель: " + parents[0]["child"] in r.text
    assert "учащ" in r.text and ", 5А" in r.text
    assert "при первом входе придумайте свой" in r.text
    assert "киоске в холле школы" in r.text
    assert r.text.count('class="slip"') == len(chosen)

    # Who issued whose credentials when.
    rows = school.issues()
    assert sorted(row["person_id"] for row in rows) == sorted(chosen)
    assert {row["issued_by_login"] for row in rows} == {"teacher01"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["issued_at"]) for row in rows)

    # The parent: the slip's password opens the password change, then the diary.
    parent = parents[0]
    one_time = issued[parent["login"]]
    first_login_and_change(client, parent["login"], one_time, "Nash-semeinyi-parol-7")
    home = client.get("/")
    assert home.status_code == 200
    assert parent["child"] in home.text
    # The one-time password worked once; the old demo password is gone too.
    client.cookies.clear()
    login(client, parent["login"], one_time, expect=401)
    login(client, parent["login"], PASSWORD, expect=401)
    login(client, parent["login"], "Nash-semeinyi-parol-7")

    # A student's slip works the same way.
    student = students[0]
    first_login_and_change(client, student["login"], issued[student["login"]], "Moi-parol-uchenika-5")
    assert f"{student['last_name']} {student['first_name']}" in client.get("/").text


def test_the_password_is_never_written_to_the_database(client, school):
    class_id = school.class_of("teacher01")
    chosen = [p["id"] for p in school.consenting_parents(class_id)[:3]]
    as_user(client, "teacher01")
    issued = slips(issue_on_page(client, f"/classes/{class_id}/credentials", chosen).text)
    assert len(issued) == 3
    stored = school.file_bytes()
    for password in issued.values():
        assert password.encode() not in stored
    for pid in chosen:
        assert school.password_hash(pid).startswith("$argon2id$")
    # Nor is it shown again: the list page has logins and dates, no passwords.
    page = client.get(f"/classes/{class_id}/credentials").text
    assert "выдан " in page
    assert not any(pw in page for pw in issued.values())


def test_reissuing_invalidates_the_previous_slip_and_ends_the_persons_sessions(client, school):
    class_id = school.class_of("teacher01")
    parent = school.consenting_parents(class_id)[0]
    # The parent is logged in somewhere (with the old password).
    as_user(client, parent["login"])
    parent_cookie = client.cookies.get("zhurnal_session")
    assert client.get("/", follow_redirects=False).status_code == 200

    as_user(client, "teacher01")
    first = slips(issue_on_page(client, f"/classes/{class_id}/credentials", [parent["id"]]).text)
    second = slips(issue_on_page(client, f"/classes/{class_id}/credentials", [parent["id"]]).text)
    assert first[parent["login"]] != second[parent["login"]]
    assert len([r for r in school.issues() if r["person_id"] == parent["id"]]) == 2

    client.cookies.clear()
    client.cookies.set("zhurnal_session", parent_cookie)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    client.cookies.clear()
    login(client, parent["login"], first[parent["login"]], expect=401)
    r = login(client, parent["login"], second[parent["login"]])
    assert r.headers["location"] == "/password"


# --- row-level rules ---------------------------------------------------------------------

def test_class_teacher_cannot_issue_to_another_classes_people(client, school):
    mine = school.class_of("teacher01")
    other = school.class_of("teacher02")  # 5Б
    theirs = [school.students(other)[0]["id"], school.consenting_parents(other)[0]["id"]]
    own = school.students(mine)[0]["id"]
    before = {pid: school.password_hash(pid) for pid in theirs + [own]}

    as_user(client, "teacher01")
    assert client.get(f"/classes/{other}/credentials").status_code == 403
    # Through the own class's form, alone or slipped in beside an own student.
    r = issue_on_page(client, f"/classes/{mine}/credentials", theirs, expect=403)
    assert "Доступ запрещён" in r.text
    issue_on_page(client, f"/classes/{mine}/credentials", [own, theirs[0]], expect=403)
    issue_on_page(client, f"/classes/{other}/credentials", theirs, expect=403)
    csrf = session_csrf(client)
    r = client.post("/api/v1/credentials", json={"person_ids": theirs}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert "только учащимся своего класса" in r.json()["error"]

    # Nothing changed: same hashes, nothing recorded, the 5Б parent still logs in as before.
    assert {pid: school.password_hash(pid) for pid in before} == before
    assert school.issues() == []
    client.cookies.clear()
    login(client, school.login_of(theirs[1]), PASSWORD)


def test_class_teacher_cannot_reset_a_colleague_who_is_a_parent_in_the_class(client, school):
    class_id = school.class_of("teacher01")
    parent = school.consenting_parents(class_id)[0]
    account = school.value("SELECT id FROM account WHERE person_id = ?", (parent["id"],))
    school.execute("INSERT INTO account_role(account_id, role, granted_at) VALUES (?, 'teacher', '2026-09-01T00:00:00Z')",
                   (account,))
    as_user(client, "teacher01")
    page = client.get(f"/classes/{class_id}/credentials").text
    assert f'name="person_id" value="{parent["id"]}"' not in page
    r = issue_on_page(client, f"/classes/{class_id}/credentials", [parent["id"]], expect=403)
    assert "заместитель директора" in r.text
    assert school.issues() == []
    # The deputy may.
    as_user(client, "deputy")
    assert len(slips(issue_on_page(client, f"/classes/{class_id}/credentials", [parent["id"]]).text)) == 1


@pytest.mark.parametrize("who", ["parent0001", "student0001", "teacher20", "director"])
def test_parents_students_and_other_staff_cannot_reach_the_issuing_pages(client, school, who):
    class_id = school.class_of("teacher01")
    csrf = as_user(client, who)
    assert client.get(f"/classes/{class_id}/credentials").status_code == 403
    assert client.get("/school/staff/credentials").status_code == 403
    r = client.post(f"/classes/{class_id}/credentials",
                    data={"csrf_token": csrf, "person_id": [str(school.person("parent0002"))]})
    assert r.status_code == 403
    r = client.post("/api/v1/credentials", json={"person_ids": [school.person("parent0002")]},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert school.issues() == []


def test_a_class_teacher_cannot_open_the_staff_page(client):
    as_user(client, "teacher01")
    assert client.get("/school/staff/credentials").status_code == 403


# --- the deputy and the sysadmin -----------------------------------------------------------

def test_deputy_issues_to_staff_and_the_teacher_must_change_the_password(client, school):
    teacher = school.person("teacher20")
    as_user(client, "deputy")
    page = client.get("/school/staff/credentials")
    assert page.status_code == 200
    assert f'name="person_id" value="{teacher}"' in page.text
    # The deputy does not issue to themselves here.
    assert f'name="person_id" value="{school.person("deputy")}"' not in page.text

    r = issue_on_page(client, "/school/staff/credentials", [teacher])
    issued = slips(r.text)
    assert list(issued) == ["teacher20"]
    assert "Электронный журнал" in r.text
    rows = school.issues()
    assert [(row["person_id"], row["issued_by_login"]) for row in rows] == [(teacher, "deputy")]

    first_login_and_change(client, "teacher20", issued["teacher20"], "Novyi-parol-uchitelya-1")
    assert client.get("/").status_code == 200


def test_staff_page_filters_who_has_no_credentials_yet(client, school):
    school.execute("UPDATE account SET password_hash = '' WHERE login = 'staff01'")
    as_user(client, "deputy")
    page = client.get("/school/staff/credentials?new=1").text
    assert f'value="{school.person("staff01")}"' in page
    assert f'value="{school.person("teacher20")}"' not in page
    assert "не выдан" in page


def test_deputy_issues_to_a_family_of_any_class_but_not_staff_through_a_class_page(client, school):
    other = school.class_of("teacher02")
    parent = school.consenting_parents(other)[0]
    as_user(client, "deputy")
    issued = slips(issue_on_page(client, f"/classes/{other}/credentials", [parent["id"]]).text)
    assert list(issued) == [parent["login"]]
    # A class page issues only to that class's people, whoever asks.
    issue_on_page(client, f"/classes/{other}/credentials", [school.person("teacher20")], expect=403)


def test_sysadmin_issues_through_the_json_api(client, school):
    csrf = as_user(client, "sysadmin")
    teacher = school.person("teacher01")
    r = client.post("/api/v1/credentials", json={"person_ids": [teacher]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    (issued,) = r.json()["issued"]
    assert issued["person_id"] == teacher and issued["login"] == "teacher01"
    client.cookies.clear()
    assert login(client, "teacher01", issued["password"]).headers["location"] == "/password"
    assert school.issues()[0]["issued_by_login"] == "sysadmin"


def test_class_teacher_issues_to_own_class_through_the_json_api(client, school):
    class_id = school.class_of("teacher01")
    student = school.students(class_id)[0]
    csrf = as_user(client, "teacher01")
    r = client.post("/api/v1/credentials", json={"person_ids": [student["id"]]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert r.json()["issued"][0]["login"] == student["login"]
    assert r.headers["cache-control"] == "no-store"


# --- what is refused ---------------------------------------------------------------------

def test_a_student_who_left_stays_disabled(client, school):
    class_id = school.class_of("teacher01")
    student = school.students(class_id)[0]
    # Выбытие today: the class still lists them until the end of the day, the account is off.
    school.execute("UPDATE student SET left_on = date('now', 'localtime'), left_reason = 'переезд' WHERE person_id = ?",
                   (student["id"],))
    school.execute("UPDATE enrollment SET to_date = date('now', 'localtime') WHERE student_id = ? AND to_date IS NULL",
                   (student["id"],))
    school.execute("UPDATE account SET disabled_at = '2026-01-01T00:00:00Z' WHERE person_id = ?", (student["id"],))
    before = school.password_hash(student["id"])

    as_user(client, "teacher01")
    r = issue_on_page(client, f"/classes/{class_id}/credentials", [student["id"]], expect=409)
    assert "выбыл из школы" in r.text
    csrf = as_user(client, "deputy")
    r = client.post("/api/v1/credentials", json={"person_ids": [student["id"]]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 409
    assert "отключена" in r.json()["error"]
    assert school.password_hash(student["id"]) == before
    assert school.value("SELECT disabled_at FROM account WHERE person_id = ?", (student["id"],))
    assert school.issues() == []


def test_a_parent_without_consent_is_warned_about_but_still_gets_a_slip(client, school):
    class_id = school.class_of("teacher01")
    parent = school.consenting_parents(class_id)[0]
    school.execute("UPDATE guardian SET consent_at = NULL WHERE parent_id = ?", (parent["id"],))
    as_user(client, "teacher01")
    page = client.get(f"/classes/{class_id}/credentials").text
    assert "войти не сможет, пока согласие не оформлено" in page
    r = issue_on_page(client, f"/classes/{class_id}/credentials", [parent["id"]])
    assert parent["login"] in slips(r.text)
    assert "не оформлено согласие на обработку персональных данных" in r.text
    assert "Вход откроется после оформления согласия" in r.text


def test_nobody_selected_or_oneself_is_refused_with_a_message(client, school):
    class_id = school.class_of("teacher01")
    as_user(client, "teacher01")
    r = issue_on_page(client, f"/classes/{class_id}/credentials", [], expect=400)
    assert "Отметьте хотя бы одного человека" in r.text
    csrf = as_user(client, "deputy")
    r = client.post("/api/v1/credentials", json={"person_ids": [school.person("deputy")]},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 409
    assert "Сменить пароль" in r.json()["error"]
    r = client.post("/api/v1/credentials", json={"person_ids": [10**9]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    assert school.issues() == []


def test_nobody_gets_a_one_time_password_for_an_administration_account(client, school):
    csrf = as_user(client, "deputy")
    for login_name in ("director", "sysadmin"):
        r = client.post("/api/v1/credentials", json={"person_ids": [school.person(login_name)]},
                        headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and "член администрации" in r.json()["error"]
    assert school.issues() == []
