"""Logging in and out, sessions, passwords, throttling, set-up, and the JSON API."""

from __future__ import annotations

import sqlite3

from conftest import PASSWORD, csrf_from, login, make_client

from server import clock
from server.accounts.roles import ROLE_LABELS
from conftest import ROLE_LOGINS


def db_rows(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_every_role_lands_on_its_own_home_page(client):
    for role, login_name in ROLE_LOGINS.items():
        client.cookies.clear()
        r = login(client, login_name)
        assert r.headers["location"] == "/"
        home = client.get("/")
        assert home.status_code == 200
        assert f'id="role-{role}"' in home.text, role
        assert ROLE_LABELS[role] in home.text


def test_home_shows_the_parent_their_children_and_the_student_their_class(client):
    login(client, "parent0001")
    text = client.get("/").text
    assert "Мои дети" in text and "5А класс" in text
    client.cookies.clear()
    login(client, "student0001")
    assert "5А класс" in client.get("/").text


def test_wrong_password_and_unknown_login_get_the_same_russian_message(client, data_dir):
    for name, password in (("teacher01", "wrong-password"), ("nobody-here", "whatever1")):
        r = login(client, name, password, expect=401)
        assert "Неверный логин или пароль." in r.text
        assert 'value="' + name + '"' in r.text  # the login stays typed in
    outcomes = [o for (o,) in db_rows(data_dir, "SELECT outcome FROM login_event ORDER BY id")]
    assert outcomes[-2:] == ["bad_password", "unknown_login"]


def test_empty_fields_are_refused_with_a_message(client):
    r = login(client, "", "", expect=400)
    assert "Введите логин и пароль." in r.text


def test_no_password_or_typed_login_is_stored_in_the_database(client, data_dir):
    login(client, "teacher01", "Секретный-Пароль-42", expect=401)
    login(client, "Секретный-Пароль-43", "x" * 10, expect=401)
    raw = b"".join(p.read_bytes() for p in data_dir.glob("zhurnal.sqlite3*"))
    assert "Секретный-Пароль".encode() not in raw


def test_repeated_failures_throttle_that_login_from_that_address_only(client, data_dir):
    for _ in range(5):
        login(client, "teacher01", "wrong-password", expect=401)
    r = login(client, "teacher01", PASSWORD, expect=429)  # even the right password waits
    assert "Слишком много неудачных попыток" in r.text
    # Another person at the same kiosk is not locked out.
    login(client, "teacher02", PASSWORD)
    assert db_rows(data_dir, "SELECT count(*) FROM login_event WHERE outcome = 'throttled'")[0][0] == 1


def test_a_throttled_login_may_try_again_once_the_window_has_passed(client):
    for _ in range(5):
        login(client, "teacher01", "wrong-password", expect=401)
    login(client, "teacher01", PASSWORD, expect=429)
    clock.advance(minutes=client.app.state.settings.login_window_minutes + 1)  # the login record's clock
    login(client, "teacher01")


def test_a_success_resets_the_failure_count(client):
    for _ in range(4):
        login(client, "teacher01", "wrong-password", expect=401)
    login(client, "teacher01")
    client.cookies.clear()
    for _ in range(4):
        login(client, "teacher01", "wrong-password", expect=401)
    login(client, "teacher01")


def test_logout_ends_the_session_on_the_server(client, data_dir):
    login(client, "teacher01")
    cookie = client.cookies.get("zhurnal_session")
    token = csrf_from(client.get("/").text)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.set("zhurnal_session", cookie)  # an old copy of the cookie is useless
    r = client.get("/", follow_redirects=False)
    assert r.headers["location"] == "/login"


def test_sessions_survive_a_server_restart(data_dir):
    with make_client(data_dir) as first:
        login(first, "deputy")
        cookie = first.cookies.get("zhurnal_session")
    with make_client(data_dir) as second:
        second.cookies.set("zhurnal_session", cookie)
        r = second.get("/", follow_redirects=False)
        assert r.status_code == 200
        assert 'id="role-deputy"' in r.text


def test_an_expired_session_sends_the_user_to_the_login_page(data_dir):
    with make_client(data_dir) as c:
        login(c, "teacher01")
        cookie = c.cookies.get("zhurnal_session")
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE session SET last_seen_at = '2000-01-01T00:00:00Z'")
    conn.commit()
    conn.close()
    with make_client(data_dir) as c:
        c.cookies.set("zhurnal_session", cookie)
        r = c.get("/classes/1", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/classes/1"
        r = c.get("/api/v1/me")
        assert r.status_code == 401 and r.json()["error"] == "Войдите в систему."
        r = c.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
        assert r.status_code in (303, 401)
    # Expired sessions are purged at start-up.
    assert db_rows(data_dir, "SELECT count(*) FROM session")[0][0] == 0


def test_a_session_ends_after_the_idle_time_and_each_request_renews_it(client):
    login(client, "teacher01")
    idle = client.app.state.settings.session_idle_minutes
    for _ in range(3):  # three idle times in all, never one without a request
        clock.advance(minutes=idle - 10)
        assert client.get("/api/v1/me").status_code == 200
    clock.advance(minutes=idle + 1)
    r = client.get("/classes/1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/classes/1"


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(client):
    page = client.get("/login?next=/admin/logins")
    assert 'name="next" value="/admin/logins"' in page.text
    r = client.post("/login", data={"login": "deputy", "password": PASSWORD, "next": "/admin/logins",
                                    "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.headers["location"] == "/admin/logins"
    client.cookies.clear()
    page = client.get("/login")
    r = client.post("/login", data={"login": "deputy", "password": PASSWORD, "next": "//evil.example/",
                                    "csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_user_changes_own_password(client):
    login(client, "teacher01")
    token = csrf_from(client.get("/password").text)
    r = client.post("/password", data={"current": "bad", "new": "Новый-пароль-1", "repeat": "Новый-пароль-1",
                                       "csrf_token": token})
    assert r.status_code == 400 and "Текущий пароль введён неверно." in r.text
    r = client.post("/password", data={"current": PASSWORD, "new": "short", "repeat": "short",
                                       "csrf_token": token})
    assert r.status_code == 400 and "не короче 8" in r.text
    r = client.post("/password", data={"current": PASSWORD, "new": "Новый-пароль-1", "repeat": "другой-пароль",
                                       "csrf_token": token})
    assert r.status_code == 400 and "не совпадают" in r.text
    r = client.post("/password", data={"current": PASSWORD, "new": "Новый-пароль-1", "repeat": "Новый-пароль-1",
                                       "csrf_token": token})
    assert r.status_code == 200 and "Пароль изменён" in r.text
    assert client.get("/").status_code == 200  # this session stays
    client.cookies.clear()
    login(client, "teacher01", PASSWORD, expect=401)
    login(client, "teacher01", "Новый-пароль-1")


def test_parent_without_consent_cannot_log_in(client, data_dir):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE guardian SET consent_at = NULL WHERE parent_id = "
                 "(SELECT person_id FROM account WHERE login = 'parent0001')")
    conn.commit()
    conn.close()
    r = login(client, "parent0001", expect=403)
    assert "Согласие на обработку персональных данных ещё не оформлено" in r.text


def test_forms_without_a_valid_csrf_token_change_nothing(client, data_dir):
    r = client.post("/login", data={"login": "teacher01", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "Обновите страницу" in r.text
    login(client, "teacher01")
    before = db_rows(data_dir, "SELECT password_hash FROM account WHERE login = 'teacher01'")
    for token in (None, "forged-token"):
        data = {"current": PASSWORD, "new": "Новый-пароль-1", "repeat": "Новый-пароль-1"}
        if token:
            data["csrf_token"] = token
        r = client.post("/password", data=data)
        assert r.status_code == 403
    assert db_rows(data_dir, "SELECT password_hash FROM account WHERE login = 'teacher01'") == before
    # htmx sends the token in a header, taken from <body hx-headers>.
    token = csrf_from(client.get("/password").text)
    r = client.post("/password", headers={"X-CSRF-Token": token, "HX-Request": "true"},
                    data={"current": PASSWORD, "new": "Новый-пароль-1", "repeat": "Новый-пароль-1"})
    assert r.status_code == 200 and "Пароль изменён" in r.text


def test_cross_site_requests_are_refused(client):
    page = client.get("/login")
    r = client.post("/login", data={"login": "teacher01", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
                    headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert r.status_code == 403


def test_session_cookie_is_httponly_and_samesite(client):
    r = login(client, "teacher01")
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("zhurnal_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_api_login_me_and_logout(client):
    r = client.post("/api/v1/auth/login", json={"login": "parent0001", "password": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "Неверный логин или пароль."
    r = client.post("/api/v1/auth/login", json={"login": "parent0001", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["me"]["roles"] == ["parent"] and len(body["me"]["children"]) == 2
    me = client.get("/api/v1/me").json()
    assert me["login"] == "parent0001" and {c["class"] for c in me["children"]} >= {"5А"}
    assert client.post("/api/v1/auth/logout").status_code == 403  # no CSRF header
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert r.status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_api_me_of_a_student_has_student_id(client):
    r = client.post("/api/v1/auth/login", json={"login": "student0001", "password": PASSWORD})
    me = r.json()["me"]
    assert me["student_id"] == me["id"] and "children" not in me


def test_api_refuses_malformed_and_non_json_logins_in_russian(client):
    r = client.post("/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "Запрос содержит ошибку" in r.json()["error"]
    r = client.post("/api/v1/auth/login", json={"login": 5})
    assert r.status_code == 400
    r = client.post("/api/v1/auth/login", data={"login": "parent0001", "password": PASSWORD})
    assert r.status_code in (400, 403, 415)
    assert "zhurnal_session" not in r.headers.get("set-cookie", "")


def test_first_visit_to_an_empty_server_sets_it_up_once(empty_client, tmp_path):
    c = empty_client
    r = c.get("/", follow_redirects=False)
    assert r.headers["location"] == "/setup"
    page = c.get("/setup")
    assert "Первоначальная настройка" in page.text
    token = csrf_from(page.text)
    form = {"school_name": "МБОУ СОШ № 1", "last_name": "Петров", "first_name": "Иван", "middle_name": "",
            "login": "admin", "password": "Пароль-админа-1", "repeat": "другое", "csrf_token": token}
    r = c.post("/setup", data=form)
    assert r.status_code == 400 and "не совпадают" in r.text
    form["repeat"] = form["password"]
    r = c.post("/setup", data=form, follow_redirects=False)
    assert r.status_code == 303
    home = c.get("/")
    assert 'id="role-sysadmin"' in home.text and "МБОУ СОШ № 1" in home.text
    assert c.get("/setup").status_code == 404
    c.cookies.clear()
    assert c.get("/setup").status_code == 404
    login(c, "admin", "Пароль-админа-1")


def test_a_hash_with_older_argon2_settings_still_logs_in_and_is_rehashed(client, data_dir):
    """Accounts made by a version with m=19 MiB, t=2 keep working; the login stores the
    password again with today's settings, and nothing else about the account changes."""
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(PASSWORD)
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE account SET password_hash = ? WHERE login = 'teacher01'", (old,))
    conn.commit()
    conn.close()
    login(client, "teacher01")
    (stored, must_change), = db_rows(data_dir, "SELECT password_hash, must_change_password FROM account"
                                               " WHERE login = 'teacher01'")
    assert stored != old and stored.startswith("$argon2id$v=19$m=7168,t=5,p=1$") and must_change == 0
    client.cookies.clear()
    login(client, "teacher01")  # the new hash verifies too
    assert db_rows(data_dir, "SELECT password_hash FROM account WHERE login = 'teacher01'")[0][0] == stored
    client.cookies.clear()
    login(client, "teacher01", "wrong-password", expect=401)


def test_every_wrong_login_or_password_takes_the_same_floor(client, data_dir):
    """Unknown logins cost one Argon2 verification of today's settings, accounts with hashes
    of older settings twice that: a common floor keeps timing from telling which exist."""
    import time

    from argon2 import PasswordHasher

    from server.accounts.auth import REFUSAL_FLOOR_S

    old = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(PASSWORD)
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE account SET password_hash = ? WHERE login = 'teacher20'", (old,))
    conn.commit()
    conn.close()
    for name in ("nobody-at-all", "teacher20", "teacher01"):
        started = time.monotonic()
        login(client, name, "wrong-password", expect=401)
        assert time.monotonic() - started >= REFUSAL_FLOOR_S, name
    started = time.monotonic()
    login(client, "teacher01")
    assert time.monotonic() - started < REFUSAL_FLOOR_S  # a right password is not slowed down
