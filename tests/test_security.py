"""Security review findings: each test shows an attack that once worked and is now refused."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

from conftest import PASSWORD, csrf_from, login

from server import clock
from server.accounts import auth, passwords
from server.accounts import store as accounts
from server.timeutil import STORE_FMT


def run_sql(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        rows = conn.execute(sql, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


class CountingHasher:
    """Wraps the Argon2 hasher and records which hashes a login was checked against."""

    def __init__(self, real):
        self.real = real
        self.checked: list[str] = []

    def verify(self, password_hash, password):
        self.checked.append(password_hash)
        return self.real.verify(password_hash, password)

    def hash(self, password):
        return self.real.hash(password)


def test_a_login_without_credentials_yet_costs_an_argon2_check_like_an_unknown_one(client, data_dir, monkeypatch):
    """Logins are made from names (ivanova.ap): an account that has no password yet must not
    answer faster than an unknown login, or timing tells who is enrolled at the school."""
    run_sql(data_dir, "UPDATE account SET password_hash = '' WHERE login = 'student0001'")
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    login(client, "nobody-at-all", "whatever-1", expect=401)
    assert [h for h in hasher.checked if h.startswith("$argon2")], "an unknown login burns an Argon2 check"
    hasher.checked.clear()
    r = login(client, "student0001", "whatever-1", expect=401)
    assert "Неверный логин или пароль." in r.text
    assert [h for h in hasher.checked if h.startswith("$argon2")], "no Argon2 work: the login's existence leaks"


def test_a_burst_of_parallel_guesses_cannot_outrun_the_failure_limit(client, monkeypatch):
    """Every request of a parallel burst passes the throttle check before any failure is recorded
    (the Argon2 checks queue behind two slots); a right guess that finishes after the limit was
    reached must still be refused, or a burst gets unlimited guesses."""
    app = client.app
    real_verify = auth.verify_password_async

    async def verify_after_a_burst(password_hash, password):
        db = app.state.db
        key = await db.read(accounts.login_key, "teacher01")
        for i in range(25):  # the rest of the burst, finished while this request waited for a slot
            await db.write(accounts.record_login_event, key, None, f"10.0.0.{i}", "bad_password")
        return await real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password_async", verify_after_a_burst)
    r = client.post("/api/v1/auth/login", json={"login": "teacher01", "password": PASSWORD})
    assert r.status_code == 429, r.text
    assert "zhurnal_session" not in r.cookies


def test_the_current_password_on_the_password_page_cannot_be_guessed_without_limit(client, data_dir):
    """Someone at a logged-in browser must not be able to try passwords for its owner endlessly."""
    login(client, "teacher01")
    # The login was a minute ago (failures in the same second as a success are not counted).
    run_sql(data_dir, "UPDATE login_event SET at = ?", ((clock.now() - timedelta(minutes=1)).strftime(STORE_FMT),))
    token = csrf_from(client.get("/password").text)
    for i in range(5):
        r = client.post("/password", data={"current": f"guess-{i}-x", "new": "Новый-пароль-1",
                                           "repeat": "Новый-пароль-1", "csrf_token": token})
        assert r.status_code == 400
    r = client.post("/password", data={"current": PASSWORD, "new": "Новый-пароль-1", "repeat": "Новый-пароль-1",
                                       "csrf_token": token})
    assert r.status_code == 429, r.status_code
    assert "Слишком много" in r.text
    outcomes = [o for (o,) in run_sql(data_dir, "SELECT outcome FROM login_event ORDER BY id DESC LIMIT 6")]
    assert "password_changed" not in outcomes and outcomes.count("bad_password") == 5


def _browser_token(client) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)


def test_a_parent_added_without_a_phone_is_never_merged_with_another_familys_namesake(client, data_dir):
    """Matching a parent by name alone would link this child to another family's parent, who
    would see the child's diary once the consent is recorded (README: never by name alone)."""
    sid = run_sql(data_dir, "SELECT person_id FROM account WHERE login = 'student0001'")[0][0]
    (other_parent, last, first, middle), = run_sql(
        data_dir,
        "SELECT p.id, p.last_name, p.first_name, p.middle_name FROM guardian g JOIN person p ON p.id = g.parent_id"
        " WHERE g.student_id NOT IN (SELECT student_id FROM guardian WHERE parent_id IN"
        "   (SELECT parent_id FROM guardian WHERE student_id = ?)) ORDER BY p.id LIMIT 1", (sid,))
    run_sql(data_dir, "UPDATE person SET phone = NULL WHERE id = ?", (other_parent,))
    login(client, "teacher01")
    r = client.post(f"/students/{sid}/parents", data={
        "p_last_name": last, "p_first_name": first, "p_middle_name": middle, "relation": "мать",
        "csrf_token": _browser_token(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert not run_sql(data_dir, "SELECT 1 FROM guardian WHERE parent_id = ? AND student_id = ?", (other_parent, sid))
    assert run_sql(data_dir, "SELECT count(*) FROM guardian g JOIN person p ON p.id = g.parent_id"
                             " WHERE g.student_id = ? AND p.last_name = ? AND p.first_name = ?",
                   (sid, last, first))[0][0] == 1


def test_adding_the_same_parent_again_without_a_phone_does_not_duplicate_them(client, data_dir):
    sid = run_sql(data_dir, "SELECT person_id FROM account WHERE login = 'student0001'")[0][0]
    login(client, "teacher01")
    form = {"p_last_name": "Абрамов", "p_first_name": "Вадим", "p_middle_name": "Ильич", "relation": "отец"}
    for _ in range(2):
        r = client.post(f"/students/{sid}/parents", data={**form, "csrf_token": _browser_token(client)},
                        follow_redirects=False)
        assert r.status_code == 303
    assert run_sql(data_dir, "SELECT count(*) FROM person WHERE last_name = 'Абрамов' AND first_name = 'Вадим'"
                             " AND middle_name = 'Ильич'")[0][0] == 1


def test_a_restore_does_not_bring_back_sessions_that_had_ended(data_dir, tmp_path):
    """A backup holds the session table: restoring it must not revive a session that was
    logged out (or ended by a password change, a reissued slip, a student leaving) since."""
    from backups import create, keys
    from conftest import make_client, session_csrf
    from server.config import load_settings

    key = tmp_path / "recovery.txt"
    keys.set_up(data_dir, deliver=lambda text: keys.write_recovery_key_file(key, text))
    with make_client(data_dir) as c:
        login(c, "teacher01")
        old_cookie = c.cookies.get("zhurnal_session")
        entry = create.create_backup(load_settings(data_dir, mdns=False), "manual")
        c.post("/logout", data={"csrf_token": session_csrf(c)}, follow_redirects=False)
        assert c.get("/journals", follow_redirects=False).status_code == 303
        c.cookies.clear()
        login(c, "sysadmin")
        token = csrf_from(c.get("/admin/backups").text)
        confirm = c.post("/admin/backups/restore", data={"csrf_token": token, "file": entry.name})
        restore_token = confirm.text.split('name="token" value="')[1].split('"')[0]
        done = c.post("/admin/backups/restore/confirm", data={"csrf_token": token, "token": restore_token})
        assert done.status_code == 200 and "База восстановлена" in done.text
        c.cookies.clear()
        c.cookies.set("zhurnal_session", old_cookie)
        assert c.get("/journals", follow_redirects=False).status_code == 303
