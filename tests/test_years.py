"""The year lifecycle (issue 12) on a small school at fixed dates, through HTTP: May (the
checklist), June (closing, preparing the next year, promotion by the order), September (the
new year opens, graduates stop logging in), and every year stays readable."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from server import clock
from server.db import connect_sync
from server.ledger import verify

from conftest import csrf_from, login, make_client
from yearschool import PASSWORD, START, build


@pytest.fixture(scope="module")
def school_template(tmp_path_factory):
    data = tmp_path_factory.mktemp("yearschool")
    ids = build(data)
    return data, ids


@pytest.fixture
def school(school_template, tmp_path):
    src, ids = school_template
    target = tmp_path / "data"
    shutil.copytree(src, target)
    return target, ids


def q(data, sql, params=()):
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def audit_ok(data) -> tuple[bool, str]:
    conn = connect_sync(data / "zhurnal.sqlite3")
    try:
        return verify(conn)
    finally:
        conn.close()


def as_(client, who: str):
    login(client, who, PASSWORD)
    return csrf_from(client.get("/password").text)


def post(client, url, csrf, **data):
    return client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_the_whole_year_cycle_may_june_september(school):
    data, ids = school
    y = ids["year_id"]
    clock.set_now(f"{START + 1}-05-25T10:00")
    with make_client(data) as c:
        csrf = as_(c, "deputy")
        # May: the checklist of the year names what is missing, with links to fix it.
        page = c.get(f"/school/years/{y}/close")
        assert page.status_code == 200
        assert "Что не заполнено за год" in page.text
        assert "уроков без темы" in page.text and f"/journals/{ids['journals'][('5А', 'Математика')]}" in page.text
        # Closing without confirming refuses and changes nothing.
        r = post(c, f"/school/years/{y}/close", csrf)
        assert r.status_code == 400 and "подтверждаете" in r.text
        assert q(data, "SELECT closed_at FROM academic_year WHERE id = ?", (y,))[0][0] is None

    clock.set_now(f"{START + 1}-06-05T10:00")
    with make_client(data) as c:
        csrf = as_(c, "deputy")
        r = post(c, f"/school/years/{y}/close", csrf, confirm="1")
        assert r.status_code == 303, r.text[:300]
        assert q(data, "SELECT count(*) FROM study_period WHERE year_id = ? AND closed_at IS NULL", (y,))[0][0] == 0
        years = c.get("/api/v1/years").json()
        assert [(x["name"], x["status"], x["current"]) for x in years] == [(f"{START}/{START + 1}", "closed", True)]
        # Between the years the home page says so, and what comes next.
        home = c.get("/").text
        assert f"Учебный год {START}/{START + 1} закрыт" in home and "Следующий учебный год ещё не создан" in home
    # The journals are read-only now, even for their teacher.
    with make_client(data) as c:
        csrf = as_(c, "teacher2")
        jid = ids["journals"][("5А", "Математика")]
        r = c.put(f"/api/v1/journals/{jid}/period-grades/{ids['year_period']}/{ids['students']['s51']}",
                  json={"value": "3"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 400 and "закрыт" in r.json()["error"]

    with make_client(data) as c:
        csrf = as_(c, "sysadmin")
        # The sysadmin prepares the next year from this one; nothing of this year changes.
        form = c.get(f"/school/years/{y}/next")
        assert form.status_code == 200 and "Осенние каникулы" in form.text
        before = q(data, "SELECT count(*) FROM class WHERE year_id = ?", (y,))[0][0]
        r = post(c, f"/school/years/{y}/next", csrf, first_letters="А Б", copy_load="1", copy_timetable="1")
        assert r.status_code == 303, r.text[:500]
        new = q(data, "SELECT id, status FROM academic_year WHERE name = ?", (f"{START + 1}/{START + 2}",))[0]
        assert new[1] == "planned"
        assert q(data, "SELECT count(*) FROM class WHERE year_id = ?", (y,))[0][0] == before
        names = [r[0] for r in q(data, "SELECT parallel || letter FROM class WHERE year_id = ? ORDER BY parallel, letter",
                                 (new[0],))]
        assert names == ["1А", "1Б", "2А", "6А", "10А"]
        # The class teacher moves with the class; the load and timetable are copied.
        assert q(data, "SELECT c2.class_teacher_id = c1.class_teacher_id FROM class c1, class c2"
                       " WHERE c1.year_id = ? AND c2.year_id = ? AND c1.parallel = 5 AND c2.parallel = 6",
                 (y, new[0]))[0][0] == 1
        assert q(data, "SELECT count(*) FROM journal WHERE year_id = ?", (new[0],))[0][0] == 6
        assert q(data, "SELECT count(*) FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id"
                       " WHERE j.year_id = ?", (new[0],))[0][0] == 6
        # The set-up pages choose which year they edit.
        page = c.get(f"/school/classes?year={new[0]}")
        assert "готовится" in page.text and "10А" in page.text
        r = post(c, f"/school/classes?year={new[0]}", csrf, name="1В", class_teacher_id="")
        assert r.status_code == 303, r.text[:300]
        assert q(data, "SELECT year_id FROM class WHERE parallel = 1 AND letter = 'В'")[0][0] == new[0]
        # A closed year is read-only on those pages.
        r = post(c, f"/school/classes?year={y}", csrf, name="7А", class_teacher_id="")
        assert r.status_code == 400 and "закрыт" in r.text

    with make_client(data) as c:
        csrf = as_(c, "deputy")
        page = c.get(f"/school/years/{y}/promotion")
        assert page.status_code == 200
        r = post(c, f"/school/years/{y}/promotion/order", csrf, number="45-у", signed_on=f"{START + 1}-06-10")
        assert r.status_code == 303, r.text[:300]
        # The proposal: s51 has a «2» in mathematics → условно; the 11th → выпущен.
        cls5 = ids["classes"]["5А"]
        page = c.get(f"/school/years/{y}/promotion/classes/{cls5}").text
        s51 = ids["students"]["s51"]
        assert f'name="decision_{s51}"' in page
        assert 'value="conditional" selected' in page.split(f'name="decision_{s51}"')[1].split("</select>")[0]
        # Applying before every class is confirmed is refused.
        r = post(c, f"/school/years/{y}/promotion/apply", csrf, confirm="1")
        assert r.status_code == 400 and "не подтверждены" in r.text
        for name, cid in ids["classes"].items():
            r = post(c, f"/school/years/{y}/promotion/classes/{cid}", csrf)
            assert r.status_code == 303, (name, r.text[:500])
        csv_text = c.get(f"/school/years/{y}/promotion.csv").content.decode("utf-8-sig")
        assert "переведён условно" in csv_text and "выпущен" in csv_text and "Математика" in csv_text
        r = post(c, f"/school/years/{y}/promotion/apply", csrf, confirm="1")
        assert r.status_code == 303, r.text[:500]
        # The deputy's home page: the next year's start, and the academic debt until its result is marked.
        home = c.get("/").text
        assert f"Учебный год {START + 1}/{START + 2} начнётся 01.09.{START + 1}" in home
        debts = home.split('id="debts"')[1].split("</section>")[0]
        assert "Академические задолженности: 1" in debts and "Ученик5б Иван (6А)" in debts
        assert "Математика" in debts and f"до 15.10.{START + 1}" in debts and "срок прошёл" not in debts
        assert f"/school/years/{y}/promotion/classes/{cls5}#debts" in debts
    with make_client(data) as c:  # the student sees their own debt; a classmate without one sees none
        login(c, "s51", PASSWORD)
        home = c.get("/").text
        assert "Ваша академическая задолженность" in home and f"до 15.10.{START + 1}" in home
        assert 'id="debts"' not in home
    with make_client(data) as c:
        login(c, "s50", PASSWORD)
        assert "академическая задолженность" not in c.get("/").text
    # Every student is in exactly one class of the next year from 1 September; graduates in none.
    nxt = new[0]
    rows = q(data, "SELECT e.student_id, c.parallel || c.letter, e.from_date FROM enrollment e"
                   " JOIN class c ON c.id = e.class_id WHERE c.year_id = ?", (nxt,))
    assert sorted(r[1] for r in rows) == ["10А"] * 3 + ["2А"] * 3 + ["6А"] * 3
    assert {r[2] for r in rows} == {f"{START + 1}-09-01"}
    assert q(data, "SELECT count(*) FROM enrollment e JOIN class c ON c.id = e.class_id WHERE c.year_id = ?"
                   " AND e.to_date = ?", (y, f"{START + 1}-08-31"))[0][0] == 12
    assert q(data, "SELECT left_reason FROM student WHERE person_id = ?", (ids["students"]["s110"],))[0][0].startswith(
        "выпущен")
    ok, message = audit_ok(data)
    assert ok, message

    # Re-running the order changes nothing.
    with make_client(data) as c:
        csrf = as_(c, "deputy")
        count = q(data, "SELECT count(*) FROM enrollment")[0][0]
        post(c, f"/school/years/{y}/promotion/apply", csrf, confirm="1")
        assert q(data, "SELECT count(*) FROM enrollment")[0][0] == count

    # June: graduates still log in (the grace period runs to 31 August).
    with make_client(data) as c:
        login(c, "s110", PASSWORD)

    # September: the new year opens on its first day; graduates and the parent with no child
    # left stop logging in; the parent of another child keeps access; records stay.
    clock.set_now(f"{START + 1}-09-01T08:00")
    with make_client(data) as c:
        csrf = as_(c, "deputy")
        r = post(c, f"/school/years/{nxt}/open", csrf, opens_on=f"{START + 1}-09-01")
        assert r.status_code == 303, r.text[:300]
        years = {x["name"]: x for x in c.get("/api/v1/years").json()}
        assert years[f"{START + 1}/{START + 2}"]["current"] and years[f"{START + 1}/{START + 2}"]["status"] == "open"
        assert years[f"{START}/{START + 1}"]["status"] == "closed" and not years[f"{START}/{START + 1}"]["current"]
    clock.set_now(f"{START + 1}-09-02T08:00")
    with make_client(data) as c:  # the server's start runs the roll
        login(c, "s110", PASSWORD, expect=403)
        login(c, "parent2", PASSWORD, expect=403)
    with make_client(data) as c:
        login(c, "parent1", PASSWORD)
        me = c.get("/api/v1/me").json()
        child = next(ch for ch in me["children"] if ch["id"] == ids["students"]["s50"])
        assert child["class"] == "6А"
        # Every year readable: the 5А child's grades of last year and this one.
        grades = c.get(f"/api/v1/students/{ids['students']['s50']}/grades?year={y}").json()
        assert grades["year"]["id"] == y and [yy["id"] for yy in grades["years"]] == [y, nxt]
    with make_client(data) as c:
        login(c, "s51", PASSWORD)
        page = c.get(f"/diary/grades?year={y}").text
        assert f"{START}/{START + 1}" in page and f"{START + 1}/{START + 2}" in page
    with make_client(data) as c:  # the class teacher of 6А (5А's, moved with the class) is reminded too
        login(c, "teacher2", PASSWORD)
        home = c.get("/").text
        assert "Академические задолженности: 1" in home and "Ученик5б Иван (6А)" in home
        assert "отметить результат" not in home  # the deputy marks it
    # After the deadline: overdue for the deputy; marked «ликвидирована», it leaves every home page.
    clock.set_now(f"{START + 1}-10-20T08:00")
    with make_client(data) as c:
        csrf = as_(c, "deputy")
        home = c.get("/").text
        assert "срок прошёл у 1" in home
        r = post(c, f"/school/years/{y}/promotion/debt/{ids['students']['s51']}", csrf, debt_status="liquidated",
                 **{"class": str(ids["classes"]["5А"])})
        assert r.status_code == 303
        assert 'id="debts"' not in c.get("/").text
    with make_client(data) as c:
        login(c, "s51", PASSWORD)
        assert "академическая задолженность" not in c.get("/").text
    ok, message = audit_ok(data)
    assert ok, message


def test_the_calendar_template_is_offered_for_any_year(school):
    data, _ = school
    with make_client(data) as c:
        as_(c, "sysadmin")
        t = c.get("/api/v1/calendar/template?year=2030").json()
        assert t["starts_on"] == "2030-09-01" and t["ends_on"] == "2031-08-31"
        kinds = [(p["kind"], p["number"]) for p in t["periods"]]
        assert kinds == [("quarter", 1), ("quarter", 2), ("quarter", 3), ("quarter", 4), ("half", 1), ("half", 2),
                         ("year", 1)]
        # In date order; the public holidays of term time that fall on a school day (23.02.2031 is a Sunday).
        assert [(h["name"], h["starts_on"], h["ends_on"]) for h in t["holidays"]] == [
            ("Осенние каникулы", "2030-10-26", "2030-11-04"), ("Зимние каникулы", "2030-12-29", "2031-01-12"),
            ("Международный женский день", "2031-03-08", "2031-03-08"),
            ("Весенние каникулы", "2031-03-22", "2031-03-30"),
            ("Праздник Весны и Труда", "2031-05-01", "2031-05-01"), ("День Победы", "2031-05-09", "2031-05-09")]
        assert c.get("/api/v1/calendar/template?year=abc").status_code == 400


def test_reopening_the_year_is_the_deputys_with_a_reason(school):
    data, ids = school
    y = ids["year_id"]
    clock.set_now(f"{START + 1}-06-05T10:00")
    with make_client(data) as c:
        csrf = as_(c, "director")
        assert post(c, f"/school/years/{y}/close", csrf, confirm="1").status_code == 303
        assert post(c, f"/school/years/{y}/reopen", csrf, reason="исправить").status_code == 403
    with make_client(data) as c:
        csrf = as_(c, "deputy")
        r = post(c, f"/school/years/{y}/reopen", csrf, reason="")
        assert r.status_code == 400 and "причину" in r.text
        assert post(c, f"/school/years/{y}/reopen", csrf, reason="исправить годовую отметку").status_code == 303
    assert q(data, "SELECT closed_at FROM academic_year WHERE id = ?", (y,))[0][0] is None
    assert q(data, "SELECT reason FROM audit_log WHERE key = ? ORDER BY id DESC LIMIT 1",
             (f"academic_year:{y}",))[0][0] == "исправить годовую отметку"
    ok, message = audit_ok(data)
    assert ok, message


def test_a_class_page_switches_between_the_years_of_the_same_class(client, data_dir):
    """The demo's two years: 5А of this year holds last year's 4А (promoted); its page
    links the class's years, last year's is read-only (no «add a student»; adding is refused)."""
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        old, new = conn.execute(  # the demo's last year was promoted into this one
            "SELECT p.class_id, p.next_class_id FROM promotion p JOIN class c ON c.id = p.next_class_id"
            " JOIN academic_year y ON y.id = c.year_id WHERE p.decision = 'promoted' AND y.status = 'open'"
            " AND c.parallel = 5 ORDER BY c.letter LIMIT 1").fetchone()
        old_name, old_year = conn.execute("SELECT c.parallel || c.letter, y.name FROM class c JOIN academic_year y"
                                          " ON y.id = c.year_id WHERE c.id = ?", (old,)).fetchone()
        enrolled = conn.execute("SELECT count(*) FROM enrollment WHERE class_id = ?", (old,)).fetchone()[0]
    finally:
        conn.close()
    login(client, "deputy")
    page = client.get(f"/classes/{new}").text
    nav = page.split('aria-label="Этот класс в другие учебные годы"')[1].split("</nav>")[0]
    assert f'href="/classes/{old}"' in nav and f"{old_name}, {old_year} (закрыт)" in nav
    assert 'href="#add-student"' in page
    page = client.get(f"/classes/{old}").text
    assert f"Учебный год {old_year} закрыт" in page and 'href="#add-student"' not in page
    assert f'href="/classes/{new}"' in page.split('aria-label="Этот класс в другие учебные годы"')[1].split("</nav>")[0]
    r = client.post(f"/classes/{old}/students", data={
        "csrf_token": csrf_from(page), "last_name": "Новикова", "first_name": "Анна", "birth_date": "2015-03-01",
        "sex": "ж", "study_form": "очная"})
    assert r.status_code == 400 and "закрыт" in r.text
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        assert conn.execute("SELECT count(*) FROM enrollment WHERE class_id = ?", (old,)).fetchone()[0] == enrolled
    finally:
        conn.close()
