"""Setting up a school through the pages: year, periods, classes, subjects, groups, load,
bells, timetable, staff, class lists and student records — and the bad input they refuse."""

from __future__ import annotations

import re
import sqlite3

import pytest
from conftest import csrf_from, login

from server.db import connect_sync

ADMIN_PASSWORD = "Пароль-админа-1"


def count(data_dir, sql, params=()):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


class Browser:
    """A logged-in person filling in forms: each post carries the page's CSRF token."""

    def __init__(self, client):
        self.c = client
        self.token = None

    def get(self, path):
        r = self.c.get(path)
        m = re.search(r'"X-CSRF-Token": "([^"]+)"', r.text)
        if m:
            self.token = m.group(1)
        return r

    def post(self, path, data=None, expect=303, **kw):
        if self.token is None:
            self.get("/")
        body = {"csrf_token": self.token, **(data or {})}
        r = self.c.post(path, data=body, follow_redirects=False, **kw)
        assert r.status_code == expect, (path, r.status_code, re.findall(r'role="alert">([^<]*)<', r.text))
        return r

    def error(self, r) -> str:
        m = re.search(r'class="notice error" role="alert">([^<]*)<', r.text)
        return m.group(1) if m else ""


@pytest.fixture
def admin(empty_client):
    """A sysadmin of a brand-new school, set up through the one-time set-up page."""
    page = empty_client.get("/setup")
    empty_client.post("/setup", data={
        "school_name": "МБОУ СОШ № 3", "last_name": "Кузнецова", "first_name": "Ольга", "middle_name": "Ивановна",
        "login": "admin", "password": ADMIN_PASSWORD, "repeat": ADMIN_PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False)
    return Browser(empty_client)


def ids(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


def test_sysadmin_sets_up_a_small_school_through_the_pages(admin, tmp_path):
    b = admin
    data = tmp_path / "empty"
    b.post("/school", {"name": "МБОУ «СОШ № 3»", "address": "с. Берёзовка, ул. Мира, 1", "district_code": "12-003"})
    assert "с. Берёзовка" in b.get("/school").text

    r = b.post("/school/years", {"starts_on": "2026-09-01", "ends_on": "2027-08-31"})
    year_path = r.headers["location"].split("?")[0]
    for n, (start, end) in enumerate([("2026-09-01", "2026-10-24"), ("2026-11-05", "2026-12-28"),
                                      ("2027-01-12", "2027-03-21"), ("2027-04-01", "2027-05-26")], 1):
        b.post(year_path + "/periods", {"kind": "quarter", "number": n, "starts_on": start, "ends_on": end})
    b.post(year_path + "/periods", {"kind": "half", "number": 1, "starts_on": "2026-09-01", "ends_on": "2026-12-28"})
    b.post(year_path + "/holidays", {"name": "Осенние каникулы", "h_starts_on": "2026-10-25", "h_ends_on": "2026-11-04"})
    year_page = b.get(year_path).text
    assert "4-я четверть" in year_page and "1-е полугодие" in year_page and "Осенние каникулы" in year_page

    for last, first, middle, pos in [("Смирнова", "Анна", "Петровна", "учитель начальных классов"),
                                     ("Орлов", "Игорь", "Сергеевич", "учитель математики")]:
        b.post("/school/staff", {"last_name": last, "first_name": first, "middle_name": middle, "position": pos,
                                 "role": "teacher"})
    staff_html = b.get("/school/staff").text
    assert "Смирнова Анна Петровна" in staff_html and "smirnova.ap" in staff_html
    teacher_ids = dict((name, pid) for pid, name in re.findall(r'<option value="(\d+)"[^>]*>(\w+) ', b.get("/school/classes").text))

    b.post("/school/classes", {"name": "2а", "class_teacher_id": teacher_ids["Смирнова"]})
    b.post("/school/classes", {"name": "10А", "class_teacher_id": teacher_ids["Орлов"]})
    classes_html = b.get("/school/classes").text
    assert "2А" in classes_html and "10А" in classes_html and "полугодия" in classes_html

    for name in ("Математика", "Русский язык", "Английский язык"):
        b.post("/school/subjects", {"name": name})
    load_html = b.get("/school/load").text
    subject_ids = dict((n, i) for i, n in re.findall(r'<option value="(\d+)">([А-Яа-я ]+)</option>', load_html))
    class_ids = dict((n, i) for i, n in re.findall(r'<option value="c:(\d+)">(\w+)</option>', load_html))
    b.post("/school/load", {"subject_id": subject_ids["Математика"], "target": f"c:{class_ids['2А']}",
                            "teacher_id": teacher_ids["Смирнова"], "hours": "4"})
    b.post("/school/load", {"subject_id": subject_ids["Математика"], "target": f"c:{class_ids['10А']}",
                            "teacher_id": teacher_ids["Орлов"], "hours": "4,5"})
    assert "4,5" in b.get("/school/load").text

    b.post("/school/bells", {"start_1": "8:30", "end_1": "09:15", "start_2": "09:25", "end_2": "10:10"})
    assert 'value="08:30"' in b.get("/school/bells").text

    tt = b.get(f"/school/timetable?class={class_ids['2А']}").text
    journal_id = re.search(r'<option value="(\d+)">Математика — 2А', tt).group(1)
    b.post("/school/timetable", {"class": class_ids["2А"], "journal_id": journal_id, "weekday": "1",
                                 "lesson_number": "1", "room": "12"})
    tt = b.get(f"/school/timetable?class={class_ids['2А']}").text
    assert "Математика" in tt and "каб. 12" in tt and "08:30–09:15" in tt

    b.post(f"/classes/{class_ids['2А']}/students", {"last_name": "Иванов", "first_name": "Пётр",
                                                    "middle_name": "Ильич", "birth_date": "2018-03-04", "sex": "м",
                                                    "study_form": "очная", "from_date": "2026-09-01"})
    class_html = b.get(f"/classes/{class_ids['2А']}").text
    assert "Иванов Пётр Ильич" in class_html
    assert count(data, "SELECT count(*) FROM enrollment") == 1


@pytest.fixture
def school(admin, tmp_path):
    """A small school: year with quarters, two teachers, classes 5А and 5Б, two subjects."""
    b = admin
    b.post("/school/years", {"starts_on": "2026-09-01", "ends_on": "2027-08-31"})
    for last, pos in (("Орлов", "учитель математики"), ("Белова", "учитель английского языка")):
        b.post("/school/staff", {"last_name": last, "first_name": "Иван", "middle_name": "", "position": pos,
                                 "role": "teacher"})
    html = b.get("/school/classes").text
    t = dict((name, pid) for pid, name in re.findall(r'<option value="(\d+)"[^>]*>(\w+) ', html))
    b.post("/school/classes", {"name": "5А", "class_teacher_id": t["Орлов"]})
    b.post("/school/classes", {"name": "5Б", "class_teacher_id": t["Белова"]})
    for name in ("Математика", "Английский язык"):
        b.post("/school/subjects", {"name": name})
    load = b.get("/school/load").text
    ids_ = {
        "teachers": t,
        "subjects": dict((n, i) for i, n in re.findall(r'<option value="(\d+)">([А-Яа-я ]+)</option>', load)),
        "classes": dict((n, i) for i, n in re.findall(r'<option value="c:(\d+)">(\w+)</option>', load)),
        "year": re.search(r'href="/school/years/(\d+)"', b.get("/school").text).group(1),
    }
    return b, ids_


def test_bad_structure_input_is_refused_with_a_russian_message_and_changes_nothing(school, tmp_path):
    b, ids_ = school
    data = tmp_path / "empty"
    classes_before = count(data, "SELECT count(*) FROM class")
    r = b.post("/school/classes", {"name": "5а"}, expect=400)
    assert "Класс 5А в этом учебном году уже есть." in b.error(r)
    r = b.post("/school/classes", {"name": "12А"}, expect=400)
    assert "от 1 до 11" in b.error(r)
    r = b.post("/school/classes", {"name": "6В", "class_teacher_id": ids_["teachers"]["Орлов"]}, expect=400)
    assert "Этот учитель уже классный руководитель 5А." in b.error(r)
    r = b.post("/school/classes", {"name": "6В", "class_teacher_id": "9999"}, expect=400)
    assert "не является сотрудником школы" in b.error(r)
    assert count(data, "SELECT count(*) FROM class") == classes_before

    year = f"/school/years/{ids_['year']}"
    r = b.post(year + "/periods", {"kind": "quarter", "number": 1, "starts_on": "2026-08-01", "ends_on": "2026-10-01"},
               expect=400)
    assert "выходят за пределы учебного года" in b.error(r)
    b.post(year + "/periods", {"kind": "quarter", "number": 1, "starts_on": "2026-09-01", "ends_on": "2026-10-24"})
    r = b.post(year + "/periods", {"kind": "quarter", "number": 2, "starts_on": "2026-10-20", "ends_on": "2026-12-20"},
               expect=400)
    assert "пересекаются" in b.error(r)
    r = b.post(year + "/periods", {"kind": "quarter", "number": 2, "starts_on": "31.02.2026", "ends_on": "2026-12-20"},
               expect=400)
    assert "не дата" in b.error(r)
    assert count(data, "SELECT count(*) FROM study_period") == 1

    r = b.post("/school/years", {"starts_on": "2027-01-01", "ends_on": "2027-12-31"}, expect=400)
    assert "пересекаются" in b.error(r)
    r = b.post("/school/subjects", {"name": "математика"}, expect=400)
    assert "уже есть" in b.error(r)


def test_timetable_refuses_a_slot_used_twice_by_a_class_or_a_teacher(school):
    b, ids_ = school
    s, c, t = ids_["subjects"], ids_["classes"], ids_["teachers"]
    b.post("/school/load", {"subject_id": s["Математика"], "target": f"c:{c['5А']}", "teacher_id": t["Орлов"], "hours": "5"})
    b.post("/school/load", {"subject_id": s["Английский язык"], "target": f"c:{c['5А']}", "teacher_id": t["Белова"], "hours": "3"})
    b.post("/school/load", {"subject_id": s["Математика"], "target": f"c:{c['5Б']}", "teacher_id": t["Орлов"], "hours": "5"})
    tt = b.get(f"/school/timetable?class={c['5А']}").text
    math_5a = re.search(r'<option value="(\d+)">Математика — 5А', tt).group(1)
    eng_5a = re.search(r'<option value="(\d+)">Английский язык — 5А', tt).group(1)
    math_5b = re.search(r'<option value="(\d+)">Математика — 5Б',
                        b.get(f"/school/timetable?class={c['5Б']}").text).group(1)
    b.post("/school/timetable", {"class": c["5А"], "journal_id": math_5a, "weekday": "2", "lesson_number": "3"})
    r = b.post("/school/timetable", {"class": c["5А"], "journal_id": eng_5a, "weekday": "2", "lesson_number": "3"},
               expect=400)
    assert "Вторник, 3-й урок: у класса уже урок — Математика, 5А." in b.error(r)
    r = b.post("/school/timetable", {"class": c["5Б"], "journal_id": math_5b, "weekday": "2", "lesson_number": "3"},
               expect=400)
    assert "у учителя Орлов" in b.error(r)
    b.post("/school/timetable", {"class": c["5А"], "journal_id": eng_5a, "weekday": "2", "lesson_number": "4"})


def test_subgroups_of_one_class_may_share_a_lesson_slot(school):
    b, ids_ = school
    s, c, t = ids_["subjects"], ids_["classes"], ids_["teachers"]
    for n in range(1, 5):
        b.post(f"/classes/{c['5А']}/students", {"last_name": "Петров", "first_name": ["Иван", "Олег", "Яков", "Лев"][n - 1],
                                               "middle_name": "", "birth_date": f"2015-0{n}-01", "sex": "м",
                                               "study_form": "очная", "from_date": "2026-09-01"})
    group_ids = []
    for n in (1, 2):
        r = b.post("/school/groups", {"name": f"5А англ. {n}", "kind": "subgroup", "class_id": c["5А"]})
        group_ids.append(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    page = b.get(f"/school/groups/{group_ids[0]}").text
    students = re.findall(r'name="student_id" value="(\d+)"', page)
    assert len(students) == 4
    b.post(f"/school/groups/{group_ids[0]}/members", {"class_id": c["5А"], "student_id": students[:2]})
    b.post(f"/school/groups/{group_ids[1]}/members", {"class_id": c["5А"], "student_id": students[2:]})
    assert "Состав группы (2)" in b.get(f"/school/groups/{group_ids[1]}").text
    eng = s["Английский язык"]
    b.post("/school/load", {"subject_id": eng, "target": f"g:{group_ids[0]}", "teacher_id": t["Белова"], "hours": "3"})
    b.post("/school/load", {"subject_id": eng, "target": f"g:{group_ids[1]}", "teacher_id": t["Орлов"], "hours": "3"})
    tt = b.get(f"/school/timetable?class={c['5А']}").text
    j1 = re.search(r'<option value="(\d+)">Английский язык — 5А англ. 1', tt).group(1)
    j2 = re.search(r'<option value="(\d+)">Английский язык — 5А англ. 2', tt).group(1)
    b.post("/school/timetable", {"class": c["5А"], "journal_id": j1, "weekday": "1", "lesson_number": "2"})
    b.post("/school/timetable", {"class": c["5А"], "journal_id": j2, "weekday": "1", "lesson_number": "2"})
    # …but a whole-class lesson cannot go into that slot.
    b.post("/school/load", {"subject_id": s["Математика"], "target": f"c:{c['5А']}", "teacher_id": t["Орлов"], "hours": "5"})
    tt = b.get(f"/school/timetable?class={c['5А']}").text
    math = re.search(r'<option value="(\d+)">Математика — 5А', tt).group(1)
    r = b.post("/school/timetable", {"class": c["5А"], "journal_id": math, "weekday": "1", "lesson_number": "2"},
               expect=400)
    assert "уже урок" in b.error(r)


def test_a_student_is_never_in_two_classes_and_moving_keeps_history(school, tmp_path):
    b, ids_ = school
    c = ids_["classes"]
    data = tmp_path / "empty"
    student = {"last_name": "Сидорова", "first_name": "Мария", "middle_name": "Олеговна", "birth_date": "2015-05-05",
               "sex": "ж", "study_form": "очная", "from_date": "2026-09-01"}
    b.post(f"/classes/{c['5А']}/students", student)
    r = b.post(f"/classes/{c['5Б']}/students", student, expect=400)
    assert "уже есть в школе" in b.error(r)
    sid = count(data, "SELECT person_id FROM account WHERE login LIKE 'sidorova%'")
    b.post(f"/students/{sid}/move", {"class_id": c["5Б"], "on_date": "2026-11-10"})
    page = b.get(f"/students/{sid}").text
    assert "5А (2026/2027): с 01.09.2026 по 09.11.2026" in page and "5Б (2026/2027): с 10.11.2026" in page
    assert count(data, "SELECT count(*) FROM enrollment WHERE student_id = ? AND to_date IS NULL", (sid,)) == 1
    r = b.post(f"/students/{sid}/leave", {"on_date": "2026-12-01", "reason": ""}, expect=400)
    assert "Укажите причину" in b.error(r)
    b.post(f"/students/{sid}/leave", {"on_date": "2026-12-01", "reason": "переезд, приказ № 5"})
    assert "Выбыл(а) 01.12.2026: переезд, приказ № 5" in b.get(f"/students/{sid}").text
    assert "Сидорова" not in b.get(f"/classes/{c['5Б']}").text


def test_class_teacher_keeps_parents_and_records_consent(client, data_dir):
    login(client, "teacher01")
    b = Browser(client)
    sid = count(data_dir, "SELECT person_id FROM account WHERE login = 'student0001'")
    b.post(f"/students/{sid}/parents", {"p_last_name": "Абрамов", "p_first_name": "Вадим", "p_middle_name": "Ильич",
                                        "relation": "отец", "phone": "8 (900) 123-45-67"})
    page = b.get(f"/students/{sid}").text
    assert "Абрамов Вадим Ильич" in page and "+7 900 123-45-67" in page
    pid = count(data_dir, "SELECT id FROM person WHERE last_name = 'Абрамов' AND first_name = 'Вадим'")
    b.post(f"/students/{sid}/parents/{pid}/consent", {"consent": "1", "diary_form": "paper"})
    assert count(data_dir, "SELECT consent_at IS NOT NULL FROM guardian WHERE parent_id = ?", (pid,)) == 1
    class_id = count(data_dir, "SELECT class_id FROM enrollment WHERE student_id = ? AND to_date IS NULL", (sid,))
    html = b.get(f"/classes/{class_id}").text
    assert "бумажный дневник" in html and "Выбрали бумажный дневник" in html
    r = b.post(f"/students/{sid}/parents", {"p_last_name": "Abramov", "p_first_name": "V", "relation": "отец"},
               expect=400)
    assert "только русские буквы" in b.error(r)


def test_class_teacher_cannot_change_another_class(client, data_dir):
    login(client, "teacher02")  # 5Б
    b = Browser(client)
    sid = count(data_dir, "SELECT person_id FROM account WHERE login = 'student0001'")  # 5А
    before = count(data_dir, "SELECT count(*) FROM guardian")
    b.post(f"/students/{sid}/parents", {"p_last_name": "Чужой", "p_first_name": "Иван", "relation": "отец"},
           expect=403)
    assert b.get(f"/students/{sid}").status_code == 403
    assert count(data_dir, "SELECT count(*) FROM guardian") == before


def test_deputy_grants_roles_and_class_access(client, data_dir):
    login(client, "deputy")
    b = Browser(client)
    staff01 = count(data_dir, "SELECT person_id FROM account WHERE login = 'staff01'")
    class_id = count(data_dir, "SELECT id FROM class WHERE parallel = 7 AND letter = 'А'")
    b.post("/school/access", {"person_id": staff01, "class_id": class_id})
    assert "7А" in b.get("/school/access").text
    client.cookies.clear()
    login(client, "staff01")
    assert client.get(f"/classes/{class_id}").status_code == 200
    other = count(data_dir, "SELECT id FROM class WHERE parallel = 7 AND letter = 'Б'")
    assert client.get(f"/classes/{other}").status_code == 403
    client.cookies.clear()
    login(client, "deputy")
    b.get("/")
    teacher20 = count(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")
    b.post(f"/school/staff/{teacher20}/roles", {"role": ["teacher", "staff"]})
    assert count(data_dir, "SELECT count(*) FROM account_role r JOIN account a ON a.id = r.account_id"
                           " WHERE a.login = 'teacher20'") == 2
    # §3.1.1: the director appoints the ASU administrator, not the deputy.
    r = b.post(f"/school/staff/{teacher20}/roles", {"role": ["teacher", "sysadmin"]}, expect=400)
    assert "назначает директор" in b.error(r)
    me = count(data_dir, "SELECT person_id FROM account WHERE login = 'deputy'")
    r = b.post(f"/school/staff/{me}/roles", {"role": ["teacher"]}, expect=400)
    assert "Нельзя снять роль заместителя директора с самого себя" in b.error(r)
    client.cookies.clear()
    login(client, "director")
    b = Browser(client)
    b.post(f"/school/staff/{teacher20}/roles", {"role": ["teacher", "sysadmin"]})
    assert count(data_dir, "SELECT count(*) FROM account_role r JOIN account a ON a.id = r.account_id"
                           " WHERE a.login = 'teacher20' AND r.role = 'sysadmin'") == 1


def test_subjects_load_and_periods_can_be_edited(client, data_dir):
    login(client, "sysadmin")
    b = Browser(client)
    sid = count(data_dir, "SELECT id FROM subject WHERE name = 'Химия'")
    assert 'value="Химия"' in b.get(f"/school/subjects?edit={sid}").text
    b.post(f"/school/subjects/{sid}", {"name": "Химия (углублённо)", "short_name": "Хим."})
    assert count(data_dir, "SELECT name FROM subject WHERE id = ?", (sid,)) == "Химия (углублённо)"
    jid = count(data_dir, "SELECT id FROM journal WHERE subject_id = ? LIMIT 1", (sid,))
    teacher20 = count(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")
    assert "Уроки, отметки и расписание остаются" in b.get(f"/school/load?edit={jid}").text
    b.post(f"/school/load/{jid}", {"teacher_id": teacher20, "hours": "2,5"})
    assert count(data_dir, "SELECT teacher_id || '/' || hours_per_week FROM journal WHERE id = ?", (jid,)) == f"{teacher20}/2.5"
    pid = count(data_dir, "SELECT id FROM study_period WHERE kind = 'quarter' AND number = 1")
    year = count(data_dir, "SELECT year_id FROM study_period WHERE id = ?", (pid,))
    start = count(data_dir, "SELECT starts_on FROM study_period WHERE id = ?", (pid,))
    r = b.post(f"/school/periods/{pid}", {"starts_on": start, "ends_on": start[:4] + "-11-20"}, expect=400)
    assert "пересекаются с периодом «2-я четверть»" in b.error(r)
    b.post(f"/school/periods/{pid}", {"starts_on": start, "ends_on": start[:4] + "-10-26"})
    assert "26.10." in b.get(f"/school/years/{year}").text


# --- the ledger: every change of school data is an entry, checked by `audit verify` ---------------

def entries(data_dir, key_like: str, since: int = 0) -> list[tuple]:
    """(account login or None, key, old, new, reason) of the ledger entries whose key is like `key_like`."""
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute("SELECT a.login, l.key, l.old, l.new, l.reason FROM audit_log l"
                            " LEFT JOIN account a ON a.id = l.account_id WHERE l.key LIKE ? AND l.id > ?"
                            " ORDER BY l.id", (key_like, since)).fetchall()
    finally:
        conn.close()


def audit_verify(data_dir, capsys) -> tuple[int, str]:
    from server.cli import main as cli_main

    capsys.readouterr()
    code = cli_main(["audit", "verify", "--data", str(data_dir)])
    out, err = capsys.readouterr()
    return code, out + err


def test_consent_says_who_recorded_it_when_and_on_what_document(client, data_dir, capsys):
    login(client, "teacher01")
    b = Browser(client)
    sid = count(data_dir, "SELECT person_id FROM account WHERE login = 'student0001'")
    b.post(f"/students/{sid}/parents", {"p_last_name": "Опекунова", "p_first_name": "Вера", "p_middle_name": "Ильинична",
                                        "relation": "опекун", "phone": "8 (900) 765-43-21"})
    pid = count(data_dir, "SELECT id FROM person WHERE phone = '+7 900 765-43-21'")
    b.post(f"/students/{sid}/parents/{pid}/consent", {"consent": "1", "diary_form": "electronic",
                                                      "consent_document": " заявление № 12  от 01.09.2026 "})
    assert count(data_dir, "SELECT consent_document FROM guardian WHERE parent_id = ?", (pid,)) == \
        "заявление № 12 от 01.09.2026"
    assert 'value="заявление № 12 от 01.09.2026"' in b.get(f"/students/{sid}").text
    who, key, old, new, _ = entries(data_dir, f"guardian:{pid}:{sid}")[-1]
    assert who == "teacher01" and key == f"guardian:{pid}:{sid}"
    assert '"consent_document":"заявление № 12 от 01.09.2026"' in new and '"consent_at":null' in old
    # The form sent again unchanged records nothing; a withdrawn consent takes its document with it.
    b.post(f"/students/{sid}/parents/{pid}/consent", {"consent": "1", "diary_form": "electronic",
                                                      "consent_document": "заявление № 12 от 01.09.2026"})
    assert len(entries(data_dir, f"guardian:{pid}:{sid}")) == 2
    b.post(f"/students/{sid}/parents/{pid}/consent", {"diary_form": "electronic",
                                                      "consent_document": "заявление № 12 от 01.09.2026"})
    assert count(data_dir, "SELECT consent_at IS NULL AND consent_document IS NULL FROM guardian"
                           " WHERE parent_id = ?", (pid,)) == 1
    assert '"consent_at":null' in entries(data_dir, f"guardian:{pid}:{sid}")[-1][3]
    assert audit_verify(data_dir, capsys)[0] == 0


def test_roles_granted_and_revoked_and_class_access_are_ledger_entries_of_who_did_it(client, data_dir, capsys):
    login(client, "deputy")
    b = Browser(client)
    teacher20 = count(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")
    account = count(data_dir, "SELECT id FROM account WHERE login = 'teacher20'")
    b.post(f"/school/staff/{teacher20}/roles", {"role": ["teacher", "staff"]})
    b.post(f"/school/staff/{teacher20}/roles", {"role": ["teacher"]})
    granted, revoked = entries(data_dir, f"account_role:{account}:staff")
    assert granted[0] == revoked[0] == "deputy"
    assert (granted[2], granted[3]) == (None, "{}") and (revoked[2], revoked[3]) == ("{}", None)
    staff01 = count(data_dir, "SELECT person_id FROM account WHERE login = 'staff01'")
    class_id = count(data_dir, "SELECT id FROM class WHERE parallel = 7 AND letter = 'А'")
    b.post("/school/access", {"person_id": staff01, "class_id": class_id})
    b.post("/school/access/revoke", {"person_id": staff01, "class_id": class_id})
    grant, revoke = entries(data_dir, f"class_access:{staff01}:{class_id}")
    assert grant[0] == revoke[0] == "deputy" and grant[2] is None and revoke[3] is None
    assert audit_verify(data_dir, capsys)[0] == 0


def test_structure_changes_are_ledger_entries_and_an_unchanged_form_records_nothing(client, data_dir, capsys):
    login(client, "sysadmin")
    b = Browser(client)
    start = count(data_dir, "SELECT max(id) FROM audit_log")
    sid = count(data_dir, "SELECT id FROM subject WHERE name = 'Химия'")
    b.post(f"/school/subjects/{sid}", {"name": "Химия (углублённо)", "short_name": "Хим."})
    (who, _, old, new, _), = entries(data_dir, f"subject:{sid}", start)
    assert who == "sysadmin" and '"name":"Химия"' in old and '"name":"Химия (углублённо)"' in new
    jid = count(data_dir, "SELECT id FROM journal WHERE subject_id = ? LIMIT 1", (sid,))
    teacher20 = count(data_dir, "SELECT person_id FROM account WHERE login = 'teacher20'")
    b.post(f"/school/load/{jid}", {"teacher_id": teacher20, "hours": "2,5"})
    (who, _, _, new, _), = entries(data_dir, f"journal:{jid}", start)
    assert who == "sysadmin" and f'"teacher_id":{teacher20}' in new and '"hours_per_week":2.5' in new
    bells = b.get("/school/bells").text
    form = dict(re.findall(r'name="((?:start|end)_\d+)" value="([^"]*)"', bells))
    assert form, "the bells form shows the schedule"
    before = count(data_dir, "SELECT max(id) FROM audit_log")
    b.post("/school/bells", form)
    assert count(data_dir, "SELECT max(id) FROM audit_log") == before
    assert audit_verify(data_dir, capsys)[0] == 0


@pytest.mark.parametrize("what, sql, key", [
    ("a role granted", "INSERT INTO account_role(account_id, role, granted_at) SELECT id, 'director',"
                       " '2026-01-01T00:00:00Z' FROM account WHERE login = 'teacher20'", "account_role:"),
    ("a role revoked", "DELETE FROM account_role WHERE role = 'deputy'", "account_role:"),
    ("a consent", "UPDATE guardian SET consent_at = NULL WHERE parent_id ="
                  " (SELECT person_id FROM account WHERE login = 'parent0001')", "guardian:"),
    ("an enrolment", "UPDATE enrollment SET class_id = (SELECT max(id) FROM class) WHERE student_id ="
                     " (SELECT person_id FROM account WHERE login = 'student0001')", "enrollment:"),
    ("a timetable slot", "UPDATE timetable_slot SET lesson_number = 9 WHERE id = (SELECT min(id) FROM timetable_slot)",
     "timetable_slot:"),
])
def test_audit_verify_reports_school_data_changed_directly_in_sqlite(data_dir, capsys, what, sql, key):
    assert audit_verify(data_dir, capsys)[0] == 0
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute(sql)
    conn.commit()
    conn.close()
    code, message = audit_verify(data_dir, capsys)
    assert code == 1, what
    assert f"«{key}" in message and "в обход программы" in message, message


def test_a_school_set_up_through_the_pages_passes_audit_verify(school, tmp_path, capsys):
    b, ids_ = school
    c = ids_["classes"]
    student = {"last_name": "Сидорова", "first_name": "Мария", "middle_name": "Олеговна", "birth_date": "2015-05-05",
               "sex": "ж", "study_form": "очная", "from_date": "2026-09-01"}
    b.post(f"/classes/{c['5А']}/students", student)
    data = tmp_path / "empty"
    sid = count(data, "SELECT person_id FROM account WHERE login LIKE 'sidorova%'")
    r = b.post("/school/groups", {"name": "5А англ. 1", "kind": "subgroup", "class_id": c["5А"]})
    group = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    b.post(f"/school/groups/{group}/members", {"class_id": c["5А"], "student_id": [str(sid)]})
    b.post(f"/students/{sid}/move", {"class_id": c["5Б"], "on_date": "2026-11-10"})
    b.post(f"/students/{sid}/leave", {"on_date": "2026-12-01", "reason": "переезд, приказ № 5"})
    who = {w for w, *_ in entries(data, "%")}
    assert who == {None, "admin"}  # the set-up page (no account yet), then the sysadmin
    assert len(entries(data, f"group_member:{group}:{sid}:%")) == 2  # joined; left the subgroup with the move
    assert len(entries(data, "enrollment:%")) == 4  # enrolled; moved: the old row closed, a new one; left
    assert audit_verify(data, capsys)[0] == 0


def test_a_class_studies_by_trimesters_from_the_calendar_to_the_grid_the_diary_and_the_report(client, data_dir):
    """Trimesters (issue 16): a class is set to study by them, the year takes the three
    trimesters (edited before saving), the teacher gives a trimester's grade in the grid, the
    family sees it in the diary, the сводная ведомость has its column."""
    def one(sql, params=()):
        with sqlite3.connect(data_dir / "zhurnal.sqlite3") as conn:
            return conn.execute(sql, params).fetchone()

    cls, year = one("SELECT class_id, year_id FROM journal WHERE id = 1")
    name, teacher_id = one("SELECT parallel || letter, class_teacher_id FROM class WHERE id = ?", (cls,))
    student, login_name = one("SELECT e.student_id, a.login FROM enrollment e JOIN account a ON a.person_id = e.student_id"
                              " WHERE e.class_id = ? AND e.to_date IS NULL ORDER BY e.student_id LIMIT 1", (cls,))
    login(client, "deputy")
    token = csrf_from(client.get("/school/classes").text)
    form = {"csrf_token": token, "name": name, "class_teacher_id": str(teacher_id or "")}
    r = client.post(f"/school/classes/{cls}", data={**form, "period_kind": "semester"})
    assert r.status_code == 400 and "триместрам" in r.text
    assert one("SELECT period_kind FROM class WHERE id = ?", (cls,)) == ("quarter",)
    assert client.post(f"/school/classes/{cls}", data={**form, "period_kind": "trimester"},
                       follow_redirects=False).status_code == 303
    assert "триместры" in client.get("/school/classes").text
    # The year lacks trimesters: its page offers them (and only them: it has quarters and holidays).
    page = client.get(f"/school/years/{year}").text
    assert 'name="trimester1_from"' in page and 'name="quarter1_from"' not in page and 'name="h0_name"' not in page
    holidays = one("SELECT count(*) FROM holiday WHERE year_id = ?", (year,))
    r = client.post(f"/school/years/{year}/calendar", data={
        "csrf_token": token, "trimester1_from": "2026-09-01", "trimester1_to": "2026-11-13",
        "trimester2_from": "2026-11-16", "trimester2_to": "2027-02-26", "trimester3_from": "2027-03-01",
        "trimester3_to": "2027-05-25"}, follow_redirects=False)
    assert r.status_code == 303
    trimesters = [tuple(row) for row in sqlite3.connect(data_dir / "zhurnal.sqlite3").execute(
        "SELECT number, starts_on, ends_on FROM study_period WHERE year_id = ? AND kind = 'trimester' ORDER BY number",
        (year,))]
    assert trimesters == [(1, "2026-09-01", "2026-11-13"), (2, "2026-11-16", "2027-02-26"), (3, "2027-03-01", "2027-05-25")]
    assert one("SELECT count(*) FROM holiday WHERE year_id = ?", (year,)) == holidays
    assert "1-й триместр" in client.get(f"/school/years/{year}").text
    t1 = one("SELECT id FROM study_period WHERE year_id = ? AND kind = 'trimester' AND number = 1", (year,))[0]
    # The journal's teacher: the grid of the 1st trimester has its final column; the grade is given.
    client.cookies.clear()
    login(client, "teacher01")
    grid = client.get(f"/journals/1?period={t1}").text
    assert re.findall(r'<th scope="col" class="final"[^>]*>([^<]+)</th>', grid) == ["1 трим.", "Год"]
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', grid).group(1)
    r = client.post("/journals/1/period-grade", json={"student": student, "period": t1, "value": "5"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["text"] == "5"
    # The family's diary names the trimester; the class's ведомость has its column.
    client.cookies.clear()
    login(client, login_name)
    assert "1 триместр" in client.get(f"/diary/grades?period={t1}").text
    client.cookies.clear()
    login(client, "deputy")
    summary = client.get(f"/reports/classes/{cls}/summary?period={t1}").text
    assert "1 тр." in summary


def test_names_with_yo_are_listed_in_russian_order_not_by_code_points(school, tmp_path):
    """«Ё» goes with «Е» and case is ignored, as in a Russian dictionary; in code points «Ё» comes
    before «А» and «ё» after «я»."""
    b, ids_ = school
    c = ids_["classes"]
    names = ["Яковлев", "Ершов", "Ёлкина", "Елкина", "Ежов", "Алексеев", "Ёжиков", "Ёрш"]
    for n, last in enumerate(names):
        b.post(f"/classes/{c['5А']}/students", {
            "last_name": last, "first_name": "Иван", "middle_name": "", "birth_date": f"2015-05-{n + 1:02d}",
            "sex": "м", "study_form": "очная", "from_date": "2026-09-01"})
    page = b.get(f"/classes/{c['5А']}").text
    shown = sorted(names, key=lambda n: page.index(n + " Иван"))
    assert shown == ["Алексеев", "Ёжиков", "Ежов", "Елкина", "Ёлкина", "Ёрш", "Ершов", "Яковлев"]
    # The same collation on any connection of the program, and small letters with capitals
    # (names come capitalised, but a group or a subject may not).
    conn = connect_sync(tmp_path / "empty" / "zhurnal.sqlite3")
    try:
        got = [r[0] for r in conn.execute("SELECT column1 FROM (VALUES ('яблоко'), ('Ёлка'), ('ель'), ('Елка'), "
                                          "('ёж'), ('Арбуз'), ('жук')) ORDER BY column1 COLLATE RU")]
    finally:
        conn.close()
    assert got == ["Арбуз", "ёж", "Елка", "Ёлка", "ель", "жук", "яблоко"]
