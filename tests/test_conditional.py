"""Conditional GET (server/web/conditional.py): the grid, the diary week, grades and attendance
carry an ETag from the ledger's position, the session and the URL; a revalidation with it is
answered 304 without rendering — and never for another user or after any change."""

from __future__ import annotations

import pytest
from conftest import login
from test_diary import _children
from test_journal import Teacher, lessons_of

from server import clock
from server.web import conditional

PAGES = ["/diary", "/diary/grades", "/diary/attendance"]


def revalidate(client, url: str, tag: str):
    return client.get(url, headers={"If-None-Match": tag})


def test_the_grid_is_answered_304_until_something_changes_and_a_save_still_works(client, data_dir, monkeypatch):
    login(client, "teacher01")
    teacher = Teacher(client, 1)
    first = client.get("/journals/1")
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
    # The same copy: 304 with no body, and the page is not built at all.
    built = []
    monkeypatch.setattr("server.journal.routes._journal_page",
                        lambda *a: built.append(a) or pytest.fail("rendered for a 304"))
    again = revalidate(client, "/journals/1", tag)
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert not built
    assert revalidate(client, "/journals/1", f'"other", {tag}').status_code == 304  # a list of tags
    monkeypatch.undo()
    # Another URL (another period) is another page.
    assert revalidate(client, "/journals/1?period=1", tag).status_code == 200
    # A save goes through as before and makes the grid a new page.
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    saved = teacher.cell(teacher.students[0], day, n, "4")
    assert saved.status_code == 200 and saved.json()["text"] == "4"
    fresh = revalidate(client, "/journals/1", tag)
    assert fresh.status_code == 200 and fresh.headers["etag"] != tag
    assert 'value="4"' in fresh.text


def test_a_grade_saved_by_the_teacher_makes_the_parents_pages_new(client, data_dir):
    child = _children(data_dir)[0]
    login(client, "parent0001")
    tags = {}
    for url in PAGES:
        r = client.get(f"{url}?student={child}")
        assert r.status_code == 200 and r.headers["etag"]
        tags[url] = r.headers["etag"]
        assert revalidate(client, f"{url}?student={child}", tags[url]).status_code == 304
    parent_cookies = dict(client.cookies)
    # Someone else — the teacher, in another session — gives the child a grade.
    client.cookies.clear()
    login(client, "teacher01")
    teacher = Teacher(client, 1)
    assert child in teacher.students
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    assert teacher.cell(child, day, n, "2").status_code == 200
    client.cookies.clear()
    client.cookies.update(parent_cookies)
    for url in PAGES:
        r = revalidate(client, f"{url}?student={child}", tags[url])
        assert r.status_code == 200 and r.headers["etag"] != tags[url], url


def test_another_user_never_gets_a_304_for_someone_elses_copy(client, data_dir):
    login(client, "teacher01")
    tag = client.get("/journals/1").headers["etag"]
    client.cookies.clear()
    login(client, "director")  # the administration reads every journal
    r = revalidate(client, "/journals/1", tag)
    assert r.status_code == 200 and r.headers["etag"] != tag
    # The same person logging in again is a new session: a new page too.
    client.cookies.clear()
    login(client, "teacher01")
    assert revalidate(client, "/journals/1", tag).status_code == 200
    # Two parents on the same URL.
    client.cookies.clear()
    login(client, "parent0001")
    parent_tag = client.get("/diary").headers["etag"]
    client.cookies.clear()
    login(client, "parent0002")
    assert revalidate(client, "/diary", parent_tag).status_code == 200


def test_a_new_day_makes_a_new_page(client, data_dir):
    login(client, "parent0001")
    tag = client.get("/diary").headers["etag"]
    clock.advance(days=1)
    assert revalidate(client, "/diary", tag).status_code == 200


def test_the_kiosk_keeps_no_copy(client, data_dir):
    from test_kiosk import kiosk_login

    kiosk_login(client, "parent0001")
    r = client.get("/diary")
    assert r.status_code == 200
    assert "etag" not in r.headers and r.headers["cache-control"] == "no-store"


def test_other_pages_stay_no_store(client):
    login(client, "teacher01")
    r = client.get("/journals")
    assert r.status_code == 200 and "etag" not in r.headers and r.headers["cache-control"] == "no-store"


def test_a_refused_page_has_no_tag(client, data_dir):
    login(client, "parent0001")
    r = client.get("/diary?student=999999")
    assert r.status_code == 404 and "etag" not in r.headers


def test_the_position_is_the_last_entry_and_its_epoch(data_dir):
    import sqlite3

    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    entry, epoch = conn.execute("SELECT max(id), (SELECT epoch_id FROM audit_log ORDER BY id DESC LIMIT 1)"
                                " FROM audit_log").fetchone()
    assert conditional.ledger_position(conn) == (entry, epoch) and entry > 0


def test_with_every_page_slot_taken_saves_and_304s_still_go_ahead(client, data_dir):
    """server/web/slots.py: pages wait for a slot; a save and a revalidation never do."""
    import asyncio

    from server.web.slots import PAGE_SLOTS

    login(client, "teacher01")
    teacher = Teacher(client, 1)
    tag = client.get("/journals/1").headers["etag"]
    assert PAGE_SLOTS == 3 and client.app.state.page_slots._value == PAGE_SLOTS  # all free again
    client.app.state.page_slots = asyncio.Semaphore(0)  # every slot busy
    assert revalidate(client, "/journals/1", tag).status_code == 304
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    assert teacher.cell(teacher.students[1], day, n, "5").status_code == 200
