"""The family's side: writing to the administration the school chose (§4.1.6), the request to
correct personal data that the class teacher marks done (§4.1.5), the parent's own consent and
diary form in their profile and its withdrawal on a written request (§4.1.1)."""

from __future__ import annotations

import re

from conftest import login
from test_messages import as_user, other_5a_parent, pid, q, send

from server.cli import main as cli_main


def csrf(client) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/password").text).group(1)


def audit_ok(data_dir) -> bool:
    return cli_main(["audit", "verify", "--data", str(data_dir)]) == 0


# --- writing to the administration ---------------------------------------------------------------

def choose(client, roles: list[str]):
    as_user(client, "director")
    return client.post("/school/family-messages", data={"csrf_token": csrf(client), "role": roles},
                       follow_redirects=False)


def test_a_parent_writes_to_the_administration_the_school_chose(client, data_dir):
    deputy, director = pid(data_dir, "deputy"), pid(data_dir, "director")
    # Until the school chooses, the administration is not on a family's list.
    as_user(client, "parent0001")
    assert "Администрация школы" not in client.get("/messages/new").text
    send(client, expect=400, kind="person", to=deputy, subject="Вопрос", body="Текст")
    assert choose(client, ["deputy"]).status_code == 303
    as_user(client, "parent0001")
    page = client.get("/messages/new?list=administration").text
    assert f'value="{deputy}"' in page and f'value="{director}"' not in page
    thread = send(client, kind="person", to=deputy, subject="Не открывается дневник", body="Помогите, пожалуйста.")
    assert q(data_dir, "SELECT person_id FROM thread_member WHERE thread_id = ? ORDER BY person_id", (thread,)) == [
        (deputy,), (pid(data_dir, "parent0001"),)]
    # Not to the director, while the school has not chosen them.
    send(client, expect=400, kind="person", to=director, subject="Директору", body="Текст")
    # The director chooses: both receive now.
    as_user(client, "director")
    token = csrf(client)
    r = client.post("/school/family-messages", data={"csrf_token": token, "role": ["deputy", "director"]},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Сейчас получают:" in client.get("/school/family-messages").text
    r = client.post("/school/family-messages", data={"csrf_token": token})
    assert r.status_code == 400 and "Выберите" in r.text
    as_user(client, "parent0001")
    send(client, kind="person", to=director, subject="Директору", body="Спасибо учителям!")
    # The choice is a ledger entry; a teacher may not change it.
    assert q(data_dir, "SELECT count(*) FROM audit_log WHERE key = 'setting:family_admin_recipients'") == [(2,)]
    assert audit_ok(data_dir)
    as_user(client, "teacher01")
    r = client.post("/school/family-messages", data={"csrf_token": csrf(client), "role": ["director"]})
    assert r.status_code == 403


def test_a_student_may_write_to_the_administration_but_not_to_other_parents(client, data_dir):
    choose(client, ["deputy"])
    as_user(client, "student0001")
    groups = client.get("/messages/new").text
    assert "Администрация школы" in groups
    send(client, expect=400, kind="person", to=pid(data_dir, other_5a_parent(data_dir)), subject="Привет", body="Текст")


# --- the request to correct personal data --------------------------------------------------------

def test_a_parent_reports_changed_data_and_the_class_teacher_marks_it_done(client, data_dir):
    as_user(client, "parent0001")
    student = pid(data_dir, "student0001")
    r = client.post("/profile/data-correction", data={"csrf_token": csrf(client), "student_id": str(student),
                                                      "body": "Сменили адрес: ул. Садовая, д. 3, кв. 14."},
                    follow_redirects=False)
    assert r.status_code == 303
    thread = int(re.search(r"/messages/(\d+)", r.headers["location"]).group(1))
    assert q(data_dir, "SELECT purpose, student_id, done_at FROM message_thread WHERE id = ?", (thread,)) == [
        ("data_correction", student, None)]
    assert "ждёт исправления" in client.get("/profile").text
    # Another family's child: refused, nothing sent.
    other = q(data_dir, "SELECT e.student_id FROM enrollment e WHERE e.student_id NOT IN"
                        " (SELECT student_id FROM guardian WHERE parent_id = ?) LIMIT 1",
              (pid(data_dir, "parent0001"),))[0][0]
    r = client.post("/profile/data-correction", data={"csrf_token": csrf(client), "student_id": str(other),
                                                      "body": "Чужой"})
    assert r.status_code == 404
    # The family cannot mark its own request done.
    assert client.post(f"/messages/{thread}/done", data={"csrf_token": csrf(client)}).status_code == 403
    # The class teacher sees it on the home page and in the thread, and marks it done.
    as_user(client, "teacher01")
    home = client.get("/").text
    assert 'id="open-requests"' in home and f'/messages/{thread}' in home
    page = client.get(f"/messages/{thread}").text
    assert "Запрос на исправление персональных данных" in page and "Данные исправлены — отметить" in page
    r = client.post(f"/messages/{thread}/done", data={"csrf_token": csrf(client), "done": "1"}, follow_redirects=False)
    assert r.status_code == 303
    assert 'id="open-requests"' not in client.get("/").text
    as_user(client, "parent0001")
    assert "исправлено" in client.get(f"/messages/{thread}").text
    assert re.search(r"badge ok\">исправлено", client.get("/profile").text)
    # Someone else's thread is not theirs to mark.
    as_user(client, "teacher02")
    assert client.post(f"/messages/{thread}/done", data={"csrf_token": csrf(client)}).status_code == 403


# --- consent in the parent's profile, withdrawn on a written request ------------------------------

def test_the_parent_sees_their_consent_and_diary_form_in_the_profile(client, data_dir):
    as_user(client, "parent0001")
    page = client.get("/profile").text
    assert "Мой профиль" in page
    student = pid(data_dir, "student0001")
    card = re.search(rf'id="child-{student}".*?</section>', page, re.S).group(0)
    assert "Согласие на обработку персональных данных ребёнка" in card and "дано " in card
    assert "электронный" in card
    assert '<a class="who" href="/profile"' in page


def test_consent_is_withdrawn_on_a_written_request_and_access_ends_at_once(client, data_dir):
    parent = other_5a_parent(data_dir)
    parent_id = pid(data_dir, parent)
    children = q(data_dir, "SELECT student_id FROM guardian WHERE parent_id = ? AND consent_at IS NOT NULL",
                 (parent_id,))
    # A parent session open on another browser.
    from conftest import make_client
    other = make_client(data_dir)
    with other:
        login(other, parent)
        assert other.get("/diary").status_code == 200
        as_user(client, "teacher01")
        token = csrf(client)
        for (child,) in children:
            r = client.post(f"/students/{child}/parents/{parent_id}/consent",
                            data={"csrf_token": token, "diary_form": "electronic"})
            if child == children[0][0]:
                assert r.status_code == 400 and "письменному заявлению" in r.text
            r = client.post(f"/students/{child}/parents/{parent_id}/consent",
                            data={"csrf_token": token, "diary_form": "electronic",
                                  "withdrawal": "заявление № 5 от 20.05.2027"}, follow_redirects=False)
            assert r.status_code == 303, r.text[:300]
        # Access ended at once: the open session is gone, a new login is refused.
        r = other.get("/diary", follow_redirects=False)
        assert r.status_code in (303, 401)
    reason = q(data_dir, "SELECT reason FROM audit_log WHERE key = ? ORDER BY id DESC LIMIT 1",
               (f"guardian:{parent_id}:{children[0][0]}",))[0][0]
    assert reason == "отзыв согласия по заявлению: заявление № 5 от 20.05.2027"
    client.cookies.clear()
    refused = login(client, parent, expect=403)
    assert "Согласие на обработку персональных данных ещё не оформлено" in refused.text
    assert audit_ok(data_dir)
