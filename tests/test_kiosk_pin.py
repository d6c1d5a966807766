"""The first login without a device at home: the class teacher prints a kiosk PIN slip; the PIN
opens the hall kiosk (read-only, idle-limited sessions) and nothing else, and never needs
changing — while a one-time password stays refused at the kiosk."""

from __future__ import annotations

import re

from conftest import csrf_from, login
from test_kiosk import kiosk_login, sessions
from test_messages import as_user, class_5a, other_5a_parent, pid, q


def issue(client, class_id: int, person_ids: list[int], what: str = "kiosk-pins"):
    page = client.get(f"/classes/{class_id}/credentials")
    return client.post(f"/classes/{class_id}/{what}", data={"csrf_token": csrf_from(page.text),
                                                           "person_id": [str(p) for p in person_ids]})


def pin_of(sheet: str) -> str:
    return re.search(r"ПИН-код: <code>(\d{4}) (\d{4})</code>", sheet).expand(r"\1\2")


def test_a_family_with_no_device_logs_in_at_the_kiosk_with_a_pin_slip(client, data_dir):
    parent = other_5a_parent(data_dir)
    parent_id = pid(data_dir, parent)
    as_user(client, "teacher01")
    # A fresh one-time password: refused at the kiosk, rightly.
    sheet = issue(client, class_5a(data_dir), [parent_id], "credentials").text
    password = re.search(r"Пароль: <code>([^<]+)</code>", sheet).group(1)
    # The PIN slip.
    r = issue(client, class_5a(data_dir), [parent_id])
    assert r.status_code == 200 and "ПИН-коды для киоска: 1" in r.text
    assert "Только для киоска в холле школы" in r.text
    pin = pin_of(r.text)
    assert len(pin) == 8
    hashed = q(data_dir, "SELECT kiosk_pin_hash FROM account WHERE person_id = ?", (parent_id,))[0][0]
    assert hashed.startswith("$argon2") and pin not in hashed
    assert q(data_dir, "SELECT count(*) FROM credential_issue WHERE account_id ="
                       " (SELECT id FROM account WHERE person_id = ?)", (parent_id,)) == [(2,)]
    client.cookies.clear()
    assert kiosk_login(client, parent, password).status_code == 403
    r = kiosk_login(client, parent, pin)
    assert r.status_code == 303 and r.headers["location"] == "/kiosk"
    menu = client.get("/kiosk").text
    student = re.search(r'href="(/diary\?student=\d+)"', menu).group(1)
    assert client.get(student).status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/kiosk"
    assert client.get("/password").status_code == 403  # no password page on the kiosk
    # The PIN is no password: not at the normal login, not in the API.
    client.cookies.clear()
    login(client, parent, pin, expect=401)
    assert client.post("/api/v1/auth/login", json={"login": parent, "password": pin}).status_code == 401
    # The one-time password still asks to be changed at home.
    r = login(client, parent, password)
    assert r.headers["location"] == "/password"


def test_a_new_pin_replaces_the_old_one_and_ends_its_kiosk_sessions(client, data_dir):
    parent = other_5a_parent(data_dir)
    parent_id = pid(data_dir, parent)
    as_user(client, "teacher01")
    old = pin_of(issue(client, class_5a(data_dir), [parent_id]).text)
    from conftest import make_client
    with make_client(data_dir) as kiosk:
        assert kiosk_login(kiosk, parent, old).status_code == 303
        assert sessions(data_dir, kiosk=1) == 1
        new = pin_of(issue(client, class_5a(data_dir), [parent_id]).text)
        assert sessions(data_dir, kiosk=1) == 0
        kiosk.cookies.clear()
        assert kiosk_login(kiosk, parent, old).status_code == 401
        assert kiosk_login(kiosk, parent, new).status_code == 303


def test_staff_get_no_kiosk_pin_and_a_class_teacher_only_for_their_class(client, data_dir):
    as_user(client, "deputy")
    r = issue(client, class_5a(data_dir), [pid(data_dir, "teacher01")])
    assert r.status_code == 403
    as_user(client, "teacher02")  # the class teacher of 5Б
    r = issue(client, class_5a(data_dir), [pid(data_dir, other_5a_parent(data_dir))])
    assert r.status_code == 403
    assert q(data_dir, "SELECT count(*) FROM account WHERE kiosk_pin_hash IS NOT NULL") == [(0,)]
