"""Messages (§1.4.8, §3.3.3): who may write to whom, replies that reach only the author,
unread counts, read receipts, attachments, pinned announcements, the JSON API, and the
class teacher's informing of families (§3.3.4). Over HTTP on a copy of the demo school."""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from server import clock
from conftest import PASSWORD, csrf_from, login, make_client


# --- helpers ---------------------------------------------------------------------------------

def q(data_dir: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def pid(data_dir: Path, login_name: str) -> int:
    return q(data_dir, "SELECT person_id FROM account WHERE login = ?", (login_name,))[0][0]


def class_5a(data_dir: Path) -> int:
    return q(data_dir, "SELECT id FROM class WHERE class_teacher_id = ?", (pid(data_dir, "teacher01"),))[0][0]


def other_5a_parent(data_dir: Path) -> str:
    """A parent with consent of another child of 5А (not one of parent0001's children)."""
    return q(data_dir, """
        SELECT a.login FROM guardian g JOIN enrollment e ON e.student_id = g.student_id AND e.to_date IS NULL
          JOIN account a ON a.person_id = g.parent_id
         WHERE e.class_id = ? AND g.consent_at IS NOT NULL AND a.login LIKE 'parent%'
           AND g.student_id NOT IN (SELECT student_id FROM guardian WHERE parent_id = ?)
         ORDER BY a.login LIMIT 1""", (class_5a(data_dir), pid(data_dir, "parent0001")))[0][0]


def as_user(client, login_name: str) -> None:
    client.cookies.clear()
    login(client, login_name)


def send(client, expect: int = 303, files=None, **fields) -> int | str:
    """Write a message through the form as the logged-in person; the new thread's id (or the page on error)."""
    token = csrf_from(client.get("/messages/new").text)
    r = client.post("/messages", data={"csrf_token": token, **{k: str(v) for k, v in fields.items()}},
                    files=files, follow_redirects=False)
    assert r.status_code == expect, (r.status_code, r.text[:400])
    if expect != 303:
        return r.text
    return int(re.fullmatch(r"/messages/(\d+)", r.headers["location"]).group(1))


def reply(client, thread_id: int, body: str, expect: int = 303, **fields):
    token = csrf_from(client.get(f"/messages/{thread_id}").text)
    r = client.post(f"/messages/{thread_id}/reply", data={"csrf_token": token, "body": body, **fields},
                    follow_redirects=False)
    assert r.status_code == expect, (r.status_code, r.text[:400])
    return r


def option_values(html: str, name: str) -> set[int]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select.group(1))} if select else set()


def menu_count(html: str) -> str:
    return re.search(r'<a href="/messages"[^>]*>(Сообщения[^<]*(?:<span[^>]*>[^<]*</span>)?)</a>', html).group(1)


# --- writing and reading -----------------------------------------------------------------------

def test_teacher_writes_to_the_parents_of_a_class_and_a_parent_sees_it_as_unread(client, data_dir):
    as_user(client, "teacher01")
    thread_id = send(client, kind="class_parents", class_id=class_5a(data_dir), subject="Родительское собрание",
                     body="Собрание в пятницу в 18:00,\nкабинет 12.")
    as_user(client, "parent0001")
    home = client.get("/").text
    assert re.sub(r"<[^>]+>", "", menu_count(home)) == "Сообщения (1)"
    listing = client.get("/messages").text
    assert "Родительское собрание" in listing and "новых: 1" in listing
    page = client.get(f"/messages/{thread_id}").text
    assert "Собрание в пятницу в 18:00,\nкабинет 12." in page
    # Opened: read, and the menu no longer counts it.
    assert re.sub(r"<[^>]+>", "", menu_count(client.get("/").text)) == "Сообщения"


def test_sender_sees_who_has_read_a_message_to_a_class(client, data_dir):
    as_user(client, "teacher01")
    thread_id = send(client, kind="class_parents", class_id=class_5a(data_dir), subject="Экскурсия", body="В среду.")
    total = q(data_dir, "SELECT count(*) FROM message_recipient")[0][0]
    assert total > 20  # every consented parent of 5А with an account
    for parent in ("parent0001", other_5a_parent(data_dir)):
        as_user(client, parent)
        client.get(f"/messages/{thread_id}")
    as_user(client, "teacher01")
    page = client.get(f"/messages/{thread_id}").text
    assert f"Прочитали 2 из {total}" in page
    assert "Абрамова Е.П." in page  # parent0001, with the time she read it
    receipts = client.get(f"/api/v1/messages/{thread_id}").json()["messages"][0]["receipts"]
    assert receipts["read"] == 2 and receipts["total"] == total


def test_a_parents_reply_to_a_class_message_reaches_only_the_author(client, data_dir):
    as_user(client, "teacher01")
    thread_id = send(client, kind="class_parents", class_id=class_5a(data_dir), subject="Сбор на экскурсию",
                     body="Кто поедет?")
    as_user(client, "parent0001")
    reply(client, thread_id, "Мы поедем, Майя тоже.")
    # Another parent of the class is in the thread but does not see the first parent's answer.
    as_user(client, other_5a_parent(data_dir))
    page = client.get(f"/messages/{thread_id}").text
    assert "Кто поедет?" in page
    assert "Мы поедем" not in page
    assert "Ответ увидит только Ершова Елена Родионовна" in page
    # The teacher sees it, marked as personal, and can answer that parent alone.
    as_user(client, "teacher01")
    page = client.get(f"/messages/{thread_id}").text
    assert "Мы поедем, Майя тоже." in page and "лично: Ершова Е.Р." in page
    assert re.sub(r"<[^>]+>", "", menu_count(page)) == "Сообщения"  # read on opening
    reply(client, thread_id, "Записала Майю.", to=str(pid(data_dir, "parent0001")))
    as_user(client, other_5a_parent(data_dir))
    assert "Записала Майю." not in client.get(f"/messages/{thread_id}").text
    as_user(client, "parent0001")
    assert "Записала Майю." in client.get(f"/messages/{thread_id}").text


def test_a_parent_cannot_read_or_answer_another_familys_thread_by_changing_the_id(client, data_dir):
    as_user(client, "teacher01")
    private = send(client, kind="person", to=pid(data_dir, "parent0001"), subject="О поведении Майи",
                   body="Прошу зайти после уроков.", files={"files": ("справка.txt", b"secret", "text/plain")})
    attachment_id = q(data_dir, "SELECT id FROM message_attachment")[0][0]
    for intruder in (other_5a_parent(data_dir), "parent0100", "student0001"):
        as_user(client, intruder)
        r = client.get(f"/messages/{private}")
        assert r.status_code == 403 and "Прошу зайти" not in r.text and "О поведении" not in r.text
        assert "Это сообщение адресовано не вам" in r.text
        r = client.get(f"/api/v1/messages/{private}")
        assert r.status_code == 403 and "Прошу зайти" not in r.text
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/messages").text).group(1)
        r = client.post(f"/messages/{private}/reply", data={"csrf_token": csrf, "body": "чужой ответ"},
                        follow_redirects=False)
        assert r.status_code == 403
        r = client.post(f"/api/v1/messages/{private}/reply", json={"body": "чужой ответ"},
                        headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
        r = client.get(f"/messages/files/{attachment_id}")
        assert r.status_code == 404 and b"secret" not in r.content
        assert "О поведении" not in client.get("/messages").text
    assert q(data_dir, "SELECT count(*) FROM message WHERE body = 'чужой ответ'")[0][0] == 0
    # The addressee reads it and downloads the attachment, as a download only.
    as_user(client, "parent0001")
    assert "Прошу зайти после уроков." in client.get(f"/messages/{private}").text
    r = client.get(f"/messages/files/{attachment_id}")
    assert r.status_code == 200 and r.content == b"secret"
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["content-type"] == "application/octet-stream"
    # Kept under DATA/messages/ with a random name, not the uploaded one.
    stored = q(data_dir, "SELECT file_path, file_name FROM message_attachment")[0]
    assert stored[1] == "справка.txt" and re.fullmatch(r"messages/[0-9a-f]{32}", stored[0])
    assert (data_dir / stored[0]).read_bytes() == b"secret"


def test_a_parent_writes_only_to_their_childrens_teachers_and_class_teachers(client, data_dir):
    as_user(client, "parent0001")
    page = client.get("/messages/new").text
    offered = option_values(page, "to")
    kids = [r[0] for r in q(data_dir, "SELECT student_id FROM guardian WHERE parent_id = ? AND consent_at IS NOT NULL",
                            (pid(data_dir, "parent0001"),))]
    marks = ",".join("?" * len(kids))
    expected = {r[0] for r in q(data_dir, f"""
        SELECT c.class_teacher_id FROM enrollment e JOIN class c ON c.id = e.class_id
         WHERE e.student_id IN ({marks}) AND e.to_date IS NULL
        UNION SELECT j.teacher_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id
         WHERE e.student_id IN ({marks}) AND e.to_date IS NULL AND j.archived_at IS NULL
        UNION SELECT j.teacher_id FROM group_member m JOIN journal j ON j.group_id = m.group_id
         WHERE m.student_id IN ({marks}) AND m.to_date IS NULL AND j.archived_at IS NULL""", kids * 3)}
    assert offered == expected
    assert "классный руководитель 5А" in page
    # No class-wide or staff-wide audiences for a family.
    assert 'value="class_parents"' not in page and 'value="staff"' not in page
    # Not another parent, not the director, not a teacher who does not teach the children.
    outsider_teacher = q(data_dir, f"SELECT a.person_id FROM account a JOIN account_role r ON r.account_id = a.id"
                                   f" WHERE r.role = 'teacher' AND a.person_id NOT IN ({','.join('?' * len(expected))})"
                                   " LIMIT 1", sorted(expected))[0][0]
    for target in (pid(data_dir, other_5a_parent(data_dir)), pid(data_dir, "director"), outsider_teacher):
        text = send(client, expect=400, kind="person", to=target, subject="Вопрос", body="Здравствуйте")
        assert "Этому человеку вы написать не можете" in text
    text = send(client, expect=400, kind="class_parents", class_id=class_5a(data_dir), subject="Всем", body="Привет")
    assert "Так адресовать сообщение вам нельзя" in text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)
    r = client.post("/api/v1/messages", json={"kind": "person", "to": pid(data_dir, other_5a_parent(data_dir)),
                                              "subject": "Вопрос", "body": "Здравствуйте"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400
    assert q(data_dir, "SELECT count(*) FROM message")[0][0] == 0
    # The class teacher is allowed.
    thread_id = send(client, kind="person", to=pid(data_dir, "teacher01"), subject="Справка", body="Майя болеет.")
    as_user(client, "teacher01")
    assert "Майя болеет." in client.get(f"/messages/{thread_id}").text


def test_a_student_writes_only_to_their_own_teachers(client, data_dir):
    as_user(client, "student0001")
    page = client.get("/messages/new").text
    offered = option_values(page, "to")
    assert pid(data_dir, "teacher01") in offered
    assert pid(data_dir, "director") not in offered and pid(data_dir, "parent0001") not in offered
    assert not {r[0] for r in q(data_dir, "SELECT person_id FROM account WHERE login LIKE 'student%'")} & offered
    send(client, expect=400, kind="person", to=pid(data_dir, "student0002"), subject="Привет", body="Привет")


def test_a_teacher_writes_to_classes_they_teach_and_staff_but_not_to_other_classes(client, data_dir):
    as_user(client, "teacher20")
    page = client.get("/messages/new").text
    # The classes of this year (last year's closed classes are no audience for a new message).
    taught = {r[0] for r in q(data_dir, "SELECT DISTINCT j.class_id FROM journal j JOIN academic_year y ON y.id = j.year_id"
                                        " WHERE j.teacher_id = ? AND j.class_id IS NOT NULL AND y.status = 'open'",
                              (pid(data_dir, "teacher20"),))}
    assert option_values(page, "class_id") == taught
    other = q(data_dir, f"SELECT id FROM class WHERE id NOT IN ({','.join('?' * len(taught))})"
                        " AND year_id = (SELECT id FROM academic_year WHERE status = 'open') LIMIT 1", sorted(taught))[0][0]
    text = send(client, expect=400, kind="class_students", class_id=other, subject="Урок", body="Текст")
    assert "Писать всему классу может учитель этого класса" in text
    stranger = q(data_dir, "SELECT student_id FROM enrollment WHERE class_id = ? AND to_date IS NULL LIMIT 1", (other,))[0][0]
    send(client, expect=400, kind="person", to=stranger, subject="Урок", body="Текст")
    # All staff, and a whole class taught.
    send(client, kind="staff", subject="Спортзал", body="Спортзал закрыт в четверг.")
    send(client, kind="class_students", class_id=sorted(taught)[0], subject="Форма", body="Нужна спортивная форма.")
    as_user(client, "director")
    assert "Спортзал" in client.get("/messages").text


def test_the_picker_lists_exactly_the_people_of_the_chosen_list(client, data_dir):
    as_user(client, "teacher01")
    cls = class_5a(data_dir)
    # htmx asks for one list: the answer is the partial with just the people of that list.
    r = client.get(f"/messages/new?list=class:{cls}", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    offered = option_values(r.text, "to")
    students = {x[0] for x in q(data_dir, "SELECT student_id FROM enrollment WHERE class_id = ? AND to_date IS NULL", (cls,))}
    parents = {x[0] for x in q(data_dir, "SELECT g.parent_id FROM guardian g JOIN enrollment e ON e.student_id = g.student_id"
                                         " WHERE e.class_id = ? AND e.to_date IS NULL AND g.consent_at IS NOT NULL", (cls,))}
    assert offered == students | parents
    # A class the teacher has nothing to do with gives no one, even when asked for directly.
    foreign = q(data_dir, "SELECT id FROM class WHERE id NOT IN (SELECT class_id FROM journal WHERE teacher_id = ?"
                          " AND class_id IS NOT NULL) AND class_teacher_id <> ? LIMIT 1",
                (pid(data_dir, "teacher01"), pid(data_dir, "teacher01")))[0][0]
    r = client.get(f"/api/v1/messages/recipients?list=class:{foreign}")
    assert r.json()["people"] == []
    assert {c["id"] for c in client.get("/api/v1/messages/recipients?list=class:%d" % cls).json()["people"]} == offered


def test_attachments_have_a_size_and_count_limit(data_dir):
    with make_client(data_dir, message_attachment_mb=1, message_attachments_max=2) as client:
        as_user(client, "teacher01")
        text = send(client, expect=400, kind="person", to=pid(data_dir, "parent0001"), subject="Файл", body="См. файл",
                    files={"files": ("big.pdf", b"x" * (1024 * 1024 + 1), "application/pdf")})
        assert "больше 1 МБ" in text
        text = send(client, expect=400, kind="person", to=pid(data_dir, "parent0001"), subject="Файлы", body="См.",
                    files=[("files", (f"f{i}.txt", b"1", "text/plain")) for i in range(3)])
        assert "не больше 2 файлов" in text
        assert not list((data_dir / "messages").glob("*")) if (data_dir / "messages").exists() else True
        assert q(data_dir, "SELECT count(*) FROM message")[0][0] == 0


def test_the_administration_pins_an_announcement_to_the_recipients_home_pages(client, data_dir):
    as_user(client, "teacher01")
    text = send(client, expect=400, kind="class_parents", class_id=class_5a(data_dir), subject="Важно", body="Текст",
                pin="1")
    assert "Закреплять объявления может только администрация" in text
    as_user(client, "director")
    thread_id = send(client, kind="school_parents", subject="Карантин", body="С понедельника школа закрыта на карантин.",
                     pin="1")
    as_user(client, "parent0001")
    home = client.get("/").text
    assert "Карантин" in home and "С понедельника школа закрыта на карантин." in home
    as_user(client, "teacher01")
    assert "Карантин" not in client.get("/").text  # not a recipient
    as_user(client, "deputy")  # the administration, but not the author: cannot unpin it
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    r = client.post(f"/messages/{thread_id}/pin", data={"csrf_token": csrf, "pinned": "0"}, follow_redirects=False)
    assert r.status_code == 403
    as_user(client, "director")
    csrf = csrf_from(client.get(f"/messages/{thread_id}").text)
    r = client.post(f"/messages/{thread_id}/pin", data={"csrf_token": csrf, "pinned": "0"}, follow_redirects=False)
    assert r.status_code == 303
    as_user(client, "parent0001")
    assert "Карантин" not in client.get("/").text
    assert "Карантин" in client.get("/messages").text


def test_message_text_is_never_logged(client, data_dir, caplog):
    # INFO is what `zhurnal serve` logs (aiosqlite's own DEBUG lines would show SQL parameters).
    caplog.set_level(logging.INFO)
    as_user(client, "teacher01")
    thread_id = send(client, kind="person", to=pid(data_dir, "parent0001"), subject="Тайная тема",
                     body="Тайный текст сообщения")
    as_user(client, "parent0001")
    reply(client, thread_id, "Тайный ответ родителя")
    client.get(f"/api/v1/messages/{thread_id}")
    assert "Тайн" not in caplog.text


def test_json_api_lists_reads_sends_and_replies(client, data_dir):
    r = client.post("/api/v1/auth/login", json={"login": "teacher01", "password": PASSWORD})
    teacher_csrf = r.json()["csrf_token"]
    r = client.post("/api/v1/messages", json={"kind": "person", "to": pid(data_dir, "parent0001"),
                                              "subject": "Домашнее задание", "body": "Проверьте тетрадь."},
                    headers={"X-CSRF-Token": teacher_csrf})
    assert r.status_code == 201, r.text
    thread_id = r.json()["thread_id"]
    client.cookies.clear()
    r = client.post("/api/v1/auth/login", json={"login": "parent0001", "password": PASSWORD})
    csrf = r.json()["csrf_token"]
    listing = client.get("/api/v1/messages").json()
    assert listing["unread"] == 1 and listing["threads"][0]["subject"] == "Домашнее задание"
    thread = client.get(f"/api/v1/messages/{thread_id}").json()
    assert thread["messages"][0]["body"] == "Проверьте тетрадь." and thread["messages"][0]["read_at"] is None
    assert client.get("/api/v1/messages").json()["unread"] == 0
    r = client.post(f"/api/v1/messages/{thread_id}/reply", json={"body": "Проверили."}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    recipients = client.get("/api/v1/messages/recipients").json()
    assert recipients["kinds"] == ["person"] and recipients["lists"][0]["key"] == "teachers"
    client.cookies.clear()
    client.post("/api/v1/auth/login", json={"login": "teacher01", "password": PASSWORD})
    thread = client.get(f"/api/v1/messages/{thread_id}").json()
    assert [m["body"] for m in thread["messages"]] == ["Проверьте тетрадь.", "Проверили."]
    assert thread["messages"][0]["receipts"]["read"] == 1
    schema = client.get("/api/v1/schema/openapi.json").json()
    assert schema["paths"]["/api/v1/messages"]["get"]["tags"] == ["Сообщения"]


# --- the class teacher informs families (§3.3.4) -------------------------------------------------

def _past_lesson(data_dir: Path) -> tuple[str, int]:
    """A date and lesson number of journal 1 (teacher01's Russian in 5А) earlier this period."""
    slots = q(data_dir, "SELECT weekday, lesson_number FROM timetable_slot WHERE journal_id = 1")
    day = clock.today()
    for _ in range(21):
        day -= timedelta(days=1)
        for weekday, number in slots:
            if day.isoweekday() == weekday:
                return day.isoformat(), number
    raise AssertionError("no lesson in the last three weeks")


def test_the_class_teacher_sends_each_family_the_averages_and_forecasts(client, data_dir):
    as_user(client, "teacher01")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    day, number = _past_lesson(data_dir)
    student = pid(data_dir, "student0001")
    r = client.post("/journals/1/cell", json={"date": day, "n": number, "student": student, "value": "5/4"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    # What the journal itself shows for this student (the demo has grades of its own).
    average, forecast = r.json()["average"], r.json()["forecast"]
    shown = f"{average:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    cls = class_5a(data_dir)
    page = client.get(f"/classes/{cls}/informing").text
    assert "Текущие оценки — семьям 5А" in page
    families = len(re.findall(r"сообщение \(\d род\.\)", page))
    token = csrf_from(page)
    r = client.post(f"/classes/{cls}/informing", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert f"Отправлено семьям: {families}" in client.get(r.headers["location"]).text
    assert q(data_dir, "SELECT count(*) FROM message_thread WHERE kind = 'family'")[0][0] == families
    # One thread per family; parent0001 gets Майя's (and only Майя's: her other child is in 4Б).
    as_user(client, "parent0001")
    threads = client.get("/api/v1/messages").json()["threads"]
    assert len(threads) == 1 and threads[0]["subject"].startswith("Успеваемость: Абрамова Майя")
    body = client.get(f"/api/v1/messages/{threads[0]['id']}").json()["messages"][0]["body"]
    assert re.search(rf"Русский язык: средний балл {shown} \(отметок: \d+\), прогноз — {forecast}\n", body), body
    assert "Математика:" in body and "Классный руководитель Ершова Е.Р." in body
    # A parent of another family does not see Майя's grades.
    as_user(client, other_5a_parent(data_dir))
    for t in client.get("/api/v1/messages").json()["threads"]:
        assert "Майя" not in t["subject"]


def test_the_print_page_has_one_page_per_paper_family_student(client, data_dir):
    as_user(client, "teacher01")
    cls = class_5a(data_dir)
    paper = q(data_dir, """
        SELECT count(*) FROM enrollment e WHERE e.class_id = ? AND e.to_date IS NULL AND (
            EXISTS (SELECT 1 FROM guardian g WHERE g.student_id = e.student_id AND g.diary_form = 'paper')
            OR NOT EXISTS (SELECT 1 FROM guardian g WHERE g.student_id = e.student_id AND g.consent_at IS NOT NULL))""",
              (cls,))[0][0]
    page = client.get(f"/classes/{cls}/informing/print").text
    assert page.count('class="report-page"') == paper
    everyone = client.get(f"/classes/{cls}/informing/print?all=1").text
    assert everyone.count('class="report-page"') == q(
        data_dir, "SELECT count(*) FROM enrollment WHERE class_id = ? AND to_date IS NULL", (cls,))[0][0]
    assert "С успеваемостью ознакомлен(а)" in everyone
    css = client.get("/static/zhurnal.css").text
    assert re.search(r"@media print \{[^@]*\.report-page \{[^}]*break-after: page", css)


@pytest.mark.parametrize("intruder", ["teacher02", "teacher20", "parent0001", "director"])
def test_only_the_class_teacher_informs_their_own_class(client, data_dir, intruder):
    as_user(client, intruder)
    cls = class_5a(data_dir)
    assert client.get(f"/classes/{cls}/informing").status_code == 403
    assert client.get(f"/classes/{cls}/informing/print?all=1").status_code == 403
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)
    assert client.post(f"/classes/{cls}/informing", data={"csrf_token": csrf}).status_code == 403
    assert q(data_dir, "SELECT count(*) FROM message")[0][0] == 0
