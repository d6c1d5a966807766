"""A new school's first day and staff management in the browser's pages: the set-up page states
the password rule, «С чего начать» shows each step done or not, the sysadmin changes roles,
disables a staff member who left (their journals stay, read-only, until reassigned) and lists
the accounts."""

from __future__ import annotations

import re

from conftest import csrf_from, login
from test_messages import as_user, pid, q
from test_timetable import audit_ok


def csrf(client) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/password").text).group(1)


def set_up(c) -> None:
    token = csrf_from(c.get("/setup").text)
    r = c.post("/setup", data={"school_name": "МБОУ СОШ № 1", "last_name": "Петров", "first_name": "Иван",
                               "middle_name": "", "login": "admin", "password": "Пароль-админа-1",
                               "repeat": "Пароль-админа-1", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_the_set_up_page_states_the_password_rule_in_russian(empty_client):
    page = empty_client.get("/setup").text
    assert 'aria-describedby="password-rule"' in page
    assert "Пароль — не короче 8 символов и не совпадает с логином." in page
    assert "латинских букв" in page


def test_after_the_set_up_the_home_page_says_what_to_do_next(empty_client):
    c = empty_client
    set_up(c)
    home = c.get("/").text
    card = re.search(r'<section class="card first-steps" id="first-steps">.*?</section>', home, re.S).group(0)
    assert "Что сделать дальше: сделано 0 из 10" in card
    titles = re.findall(r'<a href="([^"]+)">([^<]+)</a> <span class="badge warn">не сделано', card)
    assert [t for _, t in titles][:3] == ["Учебный год, четверти (полугодия) и каникулы", "Расписание звонков",
                                         "Классы и классные руководители"]
    assert titles[0][0] == "/school"
    # The year and a quarter: the first step is done and links to the year's page.
    token = csrf(c)
    r = c.post("/school/years", data={"csrf_token": token, "starts_on": "2026-09-01", "ends_on": "2027-08-31"},
               follow_redirects=False)
    year = int(re.search(r"/school/years/(\d+)", r.headers["location"]).group(1))
    r = c.post(f"/school/years/{year}/periods", data={"csrf_token": token, "kind": "quarter", "number": "1",
                                                      "starts_on": "2026-09-01", "ends_on": "2026-10-24"})
    assert r.status_code in (200, 303)
    start = c.get("/school/start").text
    assert "С чего начать: сделано 1 из 10" in start
    assert f'<a href="/school/years/{year}">Учебный год' in start


def test_the_demo_school_is_set_up_and_shows_no_first_steps(client, data_dir):
    as_user(client, "sysadmin")
    assert 'id="first-steps"' not in client.get("/").text
    start = client.get("/school/start").text
    assert start.count("badge ok") >= 8  # the set-up is done; consents and family access go on all year


def test_the_sysadmin_changes_a_teachers_roles_but_not_the_administrations(client, data_dir):
    as_user(client, "sysadmin")
    teacher = pid(data_dir, "teacher20")
    page = client.get(f"/school/staff/{teacher}")
    assert page.status_code == 200
    token = csrf(client)
    r = client.post(f"/school/staff/{teacher}/roles", data={"csrf_token": token, "role": ["teacher", "staff"]},
                    follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT group_concat(role) FROM (SELECT role FROM account_role r JOIN account a"
                       " ON a.id = r.account_id WHERE a.person_id = ? ORDER BY role)", (teacher,)) == [("staff,teacher",)]
    r = client.post(f"/school/staff/{teacher}/roles", data={"csrf_token": token, "role": ["teacher", "deputy"]})
    assert r.status_code == 400 and "назначает директор" in r.text
    assert audit_ok(data_dir)


def test_a_staff_member_who_left_is_disabled_and_their_journals_stay_read_only(client, data_dir):
    as_user(client, "sysadmin")
    t01 = pid(data_dir, "teacher01")
    token = csrf(client)
    r = client.post(f"/school/staff/{t01}/leave", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 400 and "Укажите основание" in r.text
    r = client.post(f"/school/staff/{t01}/leave", data={"csrf_token": token,
                                                         "reason": "уволилась, приказ № 45 от 20.05.2027"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert q(data_dir, "SELECT a.disabled_at IS NOT NULL, p.archived_at IS NOT NULL FROM account a"
                       " JOIN person p ON p.id = a.person_id WHERE p.id = ?", (t01,)) == [(1, 1)]
    assert q(data_dir, "SELECT count(*) FROM audit_log WHERE key IN (?, ?) AND reason = ?",
             (f"person:{t01}", f"account:{q(data_dir, 'SELECT id FROM account WHERE person_id = ?', (t01,))[0][0]}",
              "уволилась, приказ № 45 от 20.05.2027")) == [(2,)]
    assert "уволился(ась)" in client.get("/school/load").text
    # They cannot log in; the journals stay, read-only — even for the deputy.
    client.cookies.clear()
    login(client, "teacher01", expect=403)
    as_user(client, "deputy")
    grid = client.get("/journals/1")
    assert grid.status_code == 200 and "больше не работает в школе" in grid.text
    student = q(data_dir, "SELECT student_id FROM enrollment WHERE class_id = 1 LIMIT 1")[0][0]
    day = q(data_dir, "SELECT date, lesson_number FROM lesson WHERE journal_id = 1 ORDER BY date DESC LIMIT 1")
    if day:
        r = client.post("/journals/1/cell", json={"student": student, "date": day[0][0], "n": day[0][1], "value": "5"},
                        headers={"X-CSRF-Token": csrf(client)})
        assert r.status_code == 400 and "только для чтения" in r.json()["error"]
    # Handed to another teacher: writable again.
    as_user(client, "sysadmin")
    hours = q(data_dir, "SELECT hours_per_week FROM journal WHERE id = 1")[0][0]
    r = client.post("/school/load/1", data={"csrf_token": csrf(client), "teacher_id": str(pid(data_dir, "teacher20")),
                                            "hours": str(hours).replace(".0", "")}, follow_redirects=False)
    assert r.status_code == 303
    if day:
        as_user(client, "teacher20")
        r = client.post("/journals/1/cell", json={"student": student, "date": day[0][0], "n": day[0][1], "value": "5"},
                        headers={"X-CSRF-Token": csrf(client)})
        assert r.status_code == 200, r.text
    # Back at work.
    as_user(client, "sysadmin")
    r = client.post(f"/school/staff/{t01}/return", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    login(client, "teacher01")
    assert audit_ok(data_dir)


def test_the_administration_and_oneself_are_not_disabled_by_the_sysadmin(client, data_dir):
    as_user(client, "sysadmin")
    token = csrf(client)
    r = client.post(f"/school/staff/{pid(data_dir, 'director')}/leave", data={"csrf_token": token, "reason": "так"})
    assert r.status_code == 400 and "директор" in r.text
    r = client.post(f"/school/staff/{pid(data_dir, 'sysadmin')}/leave", data={"csrf_token": token, "reason": "так"})
    assert r.status_code == 400 and "собственную" in r.text


def test_the_sysadmin_lists_the_accounts_by_role_and_name(client, data_dir):
    as_user(client, "sysadmin")
    page = client.get("/school/accounts?role=teacher").text
    assert "<code>teacher01</code>" in page and "<code>parent0001</code>" not in page
    page = client.get("/school/accounts?q=parent0001").text
    assert "Найдено: 1" in page and "<code>parent0001</code>" in page
    assert "Найдено:" in client.get("/school/accounts").text and "показаны первые 300" in client.get("/school/accounts").text


def test_a_new_schools_first_year_takes_the_russian_calendar_and_keeps_what_it_has(empty_client):
    c = empty_client
    set_up(c)
    token = csrf(c)
    r = c.post("/school/years", data={"csrf_token": token, "starts_on": "2026-09-01", "ends_on": "2027-08-31"},
               follow_redirects=False)
    year = int(re.search(r"/school/years/(\d+)", r.headers["location"]).group(1))
    # The school set its own first quarter already: the calendar adds what is missing, keeps that one.
    c.post(f"/school/years/{year}/periods", data={"csrf_token": token, "kind": "quarter", "number": "1",
                                                  "starts_on": "2026-09-01", "ends_on": "2026-10-23"})
    page = c.get(f"/school/years/{year}").text
    assert "Примерный календарь учебного года" in page and 'value="Осенние каникулы"' in page
    assert 'name="quarter1_from"' not in page and 'name="quarter2_from"' in page  # only what the year lacks
    assert 'value="День защитника Отечества"' in page and 'value="2027-02-23"' in page  # a Tuesday in 2027
    # Edited before saving: the school's own autumn holidays and second quarter, one public holiday
    # row cleared, an own one added; a holiday row without its dates is refused and changes nothing.
    rows = dict(re.findall(r'name="(h\d+_name)" value="([^"]*)"', page))
    index = {v: k[1:-5] for k, v in rows.items() if v}
    form = {"csrf_token": token, "quarter2_from": "2026-11-09"}
    for name, i in index.items():
        form[f"h{i}_name"] = name
        form[f"h{i}_from"] = re.search(rf'name="h{i}_from" value="([^"]*)"', page).group(1)
        form[f"h{i}_to"] = re.search(rf'name="h{i}_to" value="([^"]*)"', page).group(1)
    autumn, women = index["Осенние каникулы"], index["Международный женский день"]
    form[f"h{autumn}_from"], form[f"h{autumn}_to"] = "2026-10-31", "2026-11-08"
    form[f"h{women}_name"] = form[f"h{women}_from"] = form[f"h{women}_to"] = ""
    spare = len(rows) - 1
    bad = {**form, f"h{spare}_name": "Дополнительные каникулы"}
    r = c.post(f"/school/years/{year}/calendar", data=bad, follow_redirects=False)
    assert r.status_code == 400 and "обе даты" in r.text
    data = c.app.state.settings.data_dir
    assert q(data, "SELECT count(*) FROM holiday WHERE year_id = ?", (year,)) == [(0,)]
    form.update({f"h{spare}_name": "Дополнительные каникулы 1 класса", f"h{spare}_from": "2027-02-15",
                 f"h{spare}_to": "2027-02-21"})
    r = c.post(f"/school/years/{year}/calendar", data=form, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(f"/school/years/{year}").text
    assert "Зимние каникулы" in page and "Весенние каникулы" in page and "Дополнительные каникулы 1 класса" in page
    assert "Примерный календарь учебного года" not in page  # nothing left to offer
    # Again: nothing more is added, and the ledger holds every new period and holiday.
    r = c.post(f"/school/years/{year}/calendar", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    periods = q(data, "SELECT kind, number, starts_on, ends_on FROM study_period WHERE year_id = ? ORDER BY kind, number",
                (year,))
    assert periods[0] == ("half", 1, "2026-09-01", "2026-12-28")
    assert ("quarter", 1, "2026-09-01", "2026-10-23") in periods and len(periods) == 7
    assert ("quarter", 2, "2026-11-09", "2026-12-28") in periods
    holidays = q(data, "SELECT name, starts_on, ends_on FROM holiday WHERE year_id = ? ORDER BY starts_on", (year,))
    assert ("Осенние каникулы", "2026-10-31", "2026-11-08") in holidays
    assert ("День защитника Отечества", "2027-02-23", "2027-02-23") in holidays
    assert not any(h[0] == "Международный женский день" for h in holidays) and len(holidays) == 6
    assert audit_ok(data)
