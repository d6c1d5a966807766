"""The demo school (`zhurnal demo`): the size and shape a visitor expects, the logins the
documentation promises, and the same school every time it is built on the same day."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PASSWORD, login, make_client

REPO = Path(__file__).resolve().parents[1]
CLASS_NAMES = [f"{p}{letter}" for p in range(1, 12) for letter in "АБ"]
DOCUMENTED_LOGINS = ["director", "deputy", "sysadmin", "teacher01", "parent0001", "student0001"]
STAFF_ROLES = "('director', 'deputy', 'sysadmin', 'teacher', 'staff')"
CYRILLIC_NAME = re.compile(r"^[А-ЯЁ][а-яё]+(-[А-ЯЁ][а-яё]+)?$")


@pytest.fixture(scope="module")
def demo_db(demo_template):
    conn = sqlite3.connect(f"file:{demo_template / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def one(conn: sqlite3.Connection, sql: str, params=()):
    return conn.execute(sql, params).fetchone()[0]


def test_demo_school_has_22_classes_from_1a_to_11b(demo_db):
    names = [r[0] for r in demo_db.execute("SELECT parallel || letter FROM class WHERE year_id = (SELECT id FROM academic_year WHERE status = 'open')"
                                                           " ORDER BY parallel, letter")]
    assert names == CLASS_NAMES
    assert one(demo_db, "SELECT count(*) FROM academic_year WHERE status = 'open'") == 1
    assert one(demo_db, "SELECT count(*) FROM class WHERE class_teacher_id IS NULL AND year_id = (SELECT id FROM academic_year WHERE status = 'open')") == 0
    # Every class has its own class teacher.
    assert one(demo_db, "SELECT count(DISTINCT class_teacher_id) FROM class WHERE year_id = (SELECT id FROM academic_year WHERE status = 'open')") == 22


def test_demo_school_has_500_to_600_students_each_in_exactly_one_class(demo_db):
    # Last year's graduates are students who left (their records stay); this year's are the school.
    students = one(demo_db, "SELECT count(*) FROM student WHERE left_on IS NULL")
    assert 500 <= students <= 600
    per_student = demo_db.execute(
        "SELECT s.person_id, count(e.id) FROM student s LEFT JOIN enrollment e ON e.student_id = s.person_id"
        " AND e.to_date IS NULL WHERE s.left_on IS NULL GROUP BY s.person_id").fetchall()
    assert len(per_student) == students
    assert {n for _, n in per_student} == {1}
    # Classes are realistically full, none empty.
    sizes = [r[0] for r in demo_db.execute("SELECT count(*) FROM enrollment e JOIN class c ON c.id = e.class_id"
                                           " WHERE c.year_id = (SELECT id FROM academic_year WHERE status = 'open') GROUP BY class_id")]
    assert len(sizes) == 22 and min(sizes) >= 15 and max(sizes) <= 30


def test_every_demo_student_has_a_parent_and_parents_are_not_students(demo_db):
    orphans = one(demo_db, "SELECT count(*) FROM student s WHERE NOT EXISTS"
                           " (SELECT 1 FROM guardian g WHERE g.student_id = s.person_id)")
    assert orphans == 0
    assert one(demo_db, "SELECT count(*) FROM guardian g JOIN student s ON s.person_id = g.parent_id") == 0
    # Brothers and sisters share parents: fewer families than students.
    families = one(demo_db, "SELECT count(DISTINCT parent_id) FROM guardian")
    assert families > 300
    assert one(demo_db, "SELECT count(*) FROM (SELECT parent_id FROM guardian GROUP BY parent_id"
                        " HAVING count(*) > 1)") > 10


def test_demo_school_has_about_forty_staff(demo_db):
    staff = one(demo_db, f"SELECT count(DISTINCT account_id) FROM account_role WHERE role IN {STAFF_ROLES}")
    assert 35 <= staff <= 45
    for role in ("director", "deputy", "sysadmin"):
        assert one(demo_db, "SELECT count(*) FROM account_role WHERE role = ?", (role,)) == 1
    assert one(demo_db, "SELECT count(*) FROM account_role WHERE role = 'staff'") >= 1


@pytest.mark.parametrize("login_name", DOCUMENTED_LOGINS)
def test_documented_demo_logins_can_log_in_with_the_demo_password(client, login_name):
    r = login(client, login_name, PASSWORD)
    assert r.headers["location"] == "/"
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["login"] == login_name
    assert client.get("/", follow_redirects=False).status_code == 200


def test_demo_logins_cannot_log_in_with_a_wrong_password(client):
    login(client, "director", "not-the-demo-password", expect=401)


def test_teacher01_is_the_class_teacher_of_5a_who_also_teaches(client):
    login(client, "teacher01")
    me = client.get("/api/v1/me").json()
    assert set(me["roles"]) == {"teacher", "class_teacher"}
    home = client.get("/").text
    assert "Классный руководитель" in home
    assert "5А класс" in home
    # The class list of 5А opens for its class teacher and lists student0001.
    class_id = re.search(r'href="/classes/(\d+)">5А класс', home).group(1)
    page = client.get(f"/classes/{class_id}")
    assert page.status_code == 200


def test_student0001_is_in_5a(client, data_dir):
    login(client, "student0001")
    me = client.get("/api/v1/me").json()
    assert me["roles"] == ["student"]
    assert me["student_id"] == me["id"]
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        cls = conn.execute("SELECT c.parallel || c.letter FROM enrollment e JOIN class c ON c.id = e.class_id"
                           " WHERE e.student_id = ? AND c.year_id = (SELECT id FROM academic_year WHERE status = 'open')", (me["student_id"],)).fetchall()
    finally:
        conn.close()
    assert cls == [("5А",)]
    assert "5А класс" in client.get("/").text


def test_parent0001_sees_two_children_including_student0001_both_with_consent(data_dir):
    with make_client(data_dir) as c:
        login(c, "student0001")
        student = c.get("/api/v1/me").json()
    with make_client(data_dir) as c:
        login(c, "parent0001")
        me = c.get("/api/v1/me").json()
    assert me["roles"] == ["parent"]
    children = me["children"]
    # `children` lists only children with consent recorded (§4.1.1): both must be there.
    assert len(children) == 2
    assert student["id"] in {ch["id"] for ch in children}
    mine = next(ch for ch in children if ch["id"] == student["id"])
    assert mine["class"] == "5А"
    assert mine["name"] == student["name"]
    other = next(ch for ch in children if ch["id"] != student["id"])
    assert other["class"] in CLASS_NAMES and other["class"] != "5А"
    assert all(ch["name"].count(" ") == 2 for ch in children)


def test_demo_is_the_same_school_every_time_it_is_built(demo_template, tmp_path):
    """`zhurnal demo` into a second folder on the same day gives the very same people."""
    second = tmp_path / "second"
    r = subprocess.run([sys.executable, "-m", "server.cli", "demo", "--data", str(second), "--password", PASSWORD],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Демо-школа создана" in r.stdout
    for login_name in DOCUMENTED_LOGINS:
        assert login_name in r.stdout
    assert PASSWORD in r.stdout

    def people(data: Path) -> list[tuple]:
        conn = sqlite3.connect(data / "zhurnal.sqlite3")
        try:
            return sorted(conn.execute(
                "SELECT a.login, p.last_name, p.first_name, p.middle_name, p.sex, p.birth_date,"
                " (SELECT c.parallel || c.letter FROM enrollment e JOIN class c ON c.id = e.class_id"
                "   WHERE e.student_id = p.id)"
                " FROM account a JOIN person p ON p.id = a.person_id").fetchall())
        finally:
            conn.close()

    first_people, second_people = people(demo_template), people(second)
    assert len(first_people) > 1000
    assert first_people == second_people


def test_demo_names_are_russian_and_women_have_feminine_surnames_and_patronymics(demo_db):
    rows = demo_db.execute("SELECT last_name, first_name, middle_name, sex FROM person").fetchall()
    assert len(rows) > 1000
    for last, first, middle, sex in rows:
        who = f"{last} {first} {middle} ({sex})"
        assert CYRILLIC_NAME.match(last) and CYRILLIC_NAME.match(first) and CYRILLIC_NAME.match(middle), who
        assert sex in ("м", "ж"), who
        if sex == "ж":
            assert middle.endswith(("вна", "ична")), who
            assert not last.endswith(("ов", "ев", "ёв", "ин", "ын", "ский", "цкий", "ый")), who
            assert not (last.endswith("ой") and last != "Цой"), who
        else:
            assert middle.endswith(("вич", "ич")) and not middle.endswith("ична"), who
            assert not last.endswith(("ова", "ева", "ёва", "ина", "ына", "ская", "цкая", "ая")), who
    women = sum(1 for r in rows if r[3] == "ж")
    assert 0.3 < women / len(rows) < 0.7

