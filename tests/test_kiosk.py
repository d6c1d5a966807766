"""The hall kiosk (/kiosk): parents and students only, no one-time passwords, a session that
reaches only the diary and reading messages, ends after the idle time on the server, and
leaves nothing in the browser. Over HTTP on a copy of the demo school."""

from __future__ import annotations

import re
import sqlite3

import pytest
from conftest import PASSWORD, csrf_from, login, make_client

from server import clock


def kiosk_login(client, login_name: str, password: str = PASSWORD):
    page = client.get("/kiosk")
    assert page.status_code == 200
    return client.post("/kiosk/login", data={"login": login_name, "password": password,
                                             "csrf_token": csrf_from(page.text)}, follow_redirects=False)


def sessions(data_dir, kiosk: int | None = None) -> int:
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        sql = "SELECT count(*) FROM session" + ("" if kiosk is None else f" WHERE kiosk = {kiosk}")
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def kiosk_csrf(client) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/kiosk").text).group(1)


def test_the_kiosk_shows_a_large_login_form_that_the_browser_must_not_remember(client):
    r = client.get("/kiosk")
    assert r.status_code == 200
    assert "Дневник для родителей и учащихся" in r.text
    form = re.search(r'<form method="post" action="/kiosk/login"[^>]*>', r.text).group(0)
    assert 'autocomplete="off"' in form
    assert all('autocomplete="off"' in i for i in re.findall(r'<input name="(?:login|password)"[^>]*>', r.text, re.S))
    assert 'class="kiosk"' in r.text and "/static/kiosk.js" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "zhurnal_kiosk=1" in r.headers.get("set-cookie", "") or client.cookies.get("zhurnal_kiosk") == "1"


def test_a_parent_logs_in_on_the_kiosk_and_sees_the_diary_buttons_of_both_children(client, data_dir):
    r = kiosk_login(client, "parent0001")
    assert r.status_code == 303 and r.headers["location"] == "/kiosk"
    assert sessions(data_dir, kiosk=1) == 1
    page = client.get("/kiosk").text
    buttons = re.findall(r'class="kiosk-button[^"]*" href="(/diary\?student=\d+)"', page)
    assert len(buttons) == 2
    assert "Выход" in page and 'id="kiosk-logout"' in page and "data-kiosk-idle=\"90\"" in page
    # The diary opens with the kiosk's bar, not the normal menu (no «Сменить пароль»).
    diary = client.get(buttons[0])
    assert diary.status_code == 200
    assert 'id="kiosk-logout"' in diary.text and "Сменить пароль" not in diary.text


@pytest.mark.parametrize("path", ["/messages/new", "/password", "/journals", "/api/v1/me", "/admin/logins",
                                  "/school"])
def test_a_kiosk_session_reaches_only_routes_marked_for_the_kiosk(client, path):
    kiosk_login(client, "parent0001")
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 403
    assert "На киоске в холле можно только смотреть дневник и читать сообщения" in r.text


def test_a_kiosk_session_cannot_write_messages_but_reads_them(client, data_dir):
    # The class teacher writes to parent0001 from a normal session.
    login(client, "teacher01")
    person = sqlite3.connect(data_dir / "zhurnal.sqlite3").execute(
        "SELECT person_id FROM account WHERE login = 'parent0001'").fetchone()[0]
    token = csrf_from(client.get("/messages/new").text)
    r = client.post("/messages", data={"csrf_token": token, "kind": "person", "to": person, "subject": "Собрание",
                                       "body": "В пятницу."}, follow_redirects=False)
    thread = r.headers["location"]
    client.cookies.clear()
    kiosk_login(client, "parent0001")
    assert "Сообщения (1)" in client.get("/kiosk").text
    page = client.get(thread).text
    assert "В пятницу." in page and 'action="' + thread + '/reply"' not in page
    csrf = kiosk_csrf(client)
    r = client.post(thread + "/reply", data={"csrf_token": csrf, "body": "Придём"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/messages", data={"csrf_token": csrf, "kind": "person", "to": "4", "subject": "x", "body": "y"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_the_home_page_sends_a_kiosk_session_to_the_kiosk_menu(client):
    kiosk_login(client, "parent0001")
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk"


@pytest.mark.parametrize("staff", ["teacher01", "director", "sysadmin", "staff01"])
def test_staff_are_refused_on_the_kiosk(client, data_dir, staff):
    r = kiosk_login(client, staff)
    assert r.status_code == 403
    assert "На киоске входят только родители и учащиеся" in r.text
    assert sessions(data_dir) == 0
    assert staff not in r.text  # the typed login is not shown to the next visitor


def test_a_one_time_password_is_refused_on_the_kiosk_with_advice(client, data_dir):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE account SET must_change_password = 1 WHERE login = 'parent0001'")
    conn.commit()
    conn.close()
    r = kiosk_login(client, "parent0001")
    assert r.status_code == 403
    assert "Пароль с листка — временный. Сначала смените его дома или на школьном компьютере" in r.text
    assert sessions(data_dir) == 0


def test_a_wrong_password_on_the_kiosk_is_refused_without_echoing_the_login(client, data_dir):
    r = kiosk_login(client, "parent0001", "wrong-password")
    assert r.status_code == 401 and "Неверный логин или пароль." in r.text
    assert 'value="parent0001"' not in r.text
    assert sessions(data_dir) == 0


def test_the_kiosk_session_ends_on_the_server_after_the_idle_time(data_dir):
    with make_client(data_dir) as client:  # kiosk_idle_seconds = 90
        kiosk_login(client, "parent0001")
        assert client.get("/diary").status_code == 200
        clock.advance(seconds=91)  # the server's clock, not a sleep: 90 s and its second of grace
        r = client.get("/diary", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        # This browser is the kiosk: the login page sends it back to the kiosk's own form.
        r = client.get(r.headers["location"], follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/kiosk"
        assert "Дневник для родителей и учащихся" in client.get("/kiosk").text
        assert sessions(data_dir, kiosk=1) == 0  # deleted, not just ignored


def test_activity_keeps_the_kiosk_session_and_normal_sessions_keep_their_own_idle_time(data_dir):
    with make_client(data_dir) as client:  # kiosk_idle_seconds = 90
        kiosk_login(client, "parent0001")
        csrf = kiosk_csrf(client)
        for _ in range(4):  # 4 minutes in all, never more than 60 s without a request
            clock.advance(seconds=60)
            assert client.post("/kiosk/ping", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert client.get("/diary").status_code == 200
    with make_client(data_dir) as client:
        login(client, "parent0001")  # a normal session at home
        clock.advance(seconds=91)
        assert client.get("/diary").status_code == 200


def test_logout_on_the_kiosk_ends_the_session_and_returns_to_the_kiosk(client, data_dir):
    kiosk_login(client, "parent0001")
    r = client.post("/kiosk/logout", data={"csrf_token": kiosk_csrf(client), "reason": "idle"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk?ended=idle"
    assert sessions(data_dir) == 0
    assert "Сеанс завершён" in client.get("/kiosk?ended=idle").text
    r = client.get("/diary", follow_redirects=True)
    assert str(r.url).endswith("/kiosk") and "Дневник для родителей и учащихся" in r.text
    # The general «Выйти» of a kiosk session also comes back here.
    kiosk_login(client, "parent0001")
    r = client.post("/logout", data={"csrf_token": kiosk_csrf(client)}, follow_redirects=False)
    assert r.headers["location"] == "/kiosk?ended=1"


def test_the_kiosk_mark_can_be_taken_off_for_the_normal_login(client):
    client.get("/kiosk")
    assert client.get("/login", follow_redirects=False).headers["location"] == "/kiosk"
    r = client.get("/kiosk?terminal=off", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.delete("zhurnal_kiosk")  # the test client does not apply max-age=0 by itself
    assert client.get("/login").status_code == 200


def test_a_normal_session_is_not_turned_into_a_kiosk(client, data_dir):
    login(client, "parent0001")
    page = client.get("/kiosk").text
    assert "В этом браузере уже выполнен вход" in page
    assert 'action="/kiosk/login"' not in page
    assert sessions(data_dir, kiosk=1) == 0


def test_kiosk_script_logs_out_after_the_idle_time_and_keeps_history_short(client):
    js = client.get("/static/kiosk.js").text
    for needed in ("kioskIdle", "/kiosk/ping", "location.replace", "history.replaceState", "persisted"):
        assert needed in js
