"""КТП (§1.4.2, §3.2.1): the plan page, items by hand, import from CSV/XLSX, copy from a
class of the same parallel, the topic offered in the lesson panel, the JSON API, access.

The demo may or may not have plans: each test clears the plans of the journals it uses."""

from __future__ import annotations

import codecs
import io
import re
from datetime import date, datetime, timedelta

import pytest

from server import clock
from conftest import login, session_csrf
from test_journal import execute, lessons_of, q

J = 1  # Русский язык, 5А, teacher01


def clear_plans(data_dir, *journal_ids):
    for jid in journal_ids:
        execute(data_dir, "UPDATE lesson SET plan_item_id = NULL WHERE journal_id = ?", (jid,))
        execute(data_dir, "DELETE FROM plan_item WHERE journal_id = ?", (jid,))


def items(data_dir, jid=J):
    return q(data_dir, "SELECT number, topic, hours, planned_date, planned_week, work_type FROM plan_item"
                       " WHERE journal_id = ? ORDER BY number", (jid,))


def item_id(data_dir, number, jid=J):
    return q(data_dir, "SELECT id FROM plan_item WHERE journal_id = ? AND number = ?", (jid, number))[0][0]


def free_lessons(data_dir, jid=J, count=3):
    """Scheduled lessons from tomorrow on that nothing is recorded for yet (a topic may be
    prepared ahead, and the demo's own lessons stay untouched)."""
    taken = {(d, n) for d, n in q(data_dir, "SELECT date, lesson_number FROM lesson WHERE journal_id = ?", (jid,))}
    found = [x for x in lessons_of(data_dir, jid, after=clock.today() + timedelta(days=1), count=count + 40)
             if x not in taken]
    assert len(found) >= count
    return found[:count]


def year_bounds(data_dir):
    return q(data_dir, "SELECT starts_on, ends_on FROM academic_year WHERE status = 'open'")[0]


def in_year(data_dir, days_after_start: int) -> date:
    start = date.fromisoformat(year_bounds(data_dir)[0])
    day = start + timedelta(days=days_after_start)
    for a, b in q(data_dir, "SELECT starts_on, ends_on FROM holiday"):
        if a <= day.isoformat() <= b:
            day = date.fromisoformat(b) + timedelta(days=1)
    return day


def csv_bytes(rows, encoding="utf-8-sig", delimiter=";"):
    text = "\r\n".join(delimiter.join(str(c) for c in row) for row in rows) + "\r\n"
    return text.encode(encoding)


def upload(client, csrf, name, data, jid=J, confirm=True):
    """The file through the page: a clean file shows its preview, which is confirmed (unless
    `confirm` is False: then the preview page is returned); a bad one is refused at once."""
    r = client.post(f"/journals/{jid}/plan/import", data={"csrf_token": csrf},
                    files={"file": (name, data, "application/octet-stream")}, follow_redirects=False)
    if r.status_code != 303:
        return r
    assert r.headers["location"].startswith(f"/journals/{jid}/plan/preview?token=")
    preview = client.get(r.headers["location"])
    if not confirm or preview.status_code != 200:
        return preview
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    return client.post(f"/journals/{jid}/plan/confirm", data={"csrf_token": csrf, "token": token})


@pytest.fixture
def teacher01(client, data_dir):
    clear_plans(data_dir, J)
    login(client, "teacher01")
    return session_csrf(client)


def plan_rows(data_dir):
    d1, d2 = in_year(data_dir, 1), in_year(data_dir, 3)
    return [
        ["№", "Тема", "Часы", "Дата", "Неделя", "Вид работы"],
        [1, "Язык и речь", 1, d1.strftime("%d.%m.%Y"), "", "урок"],
        [2, "Звуки и буквы. Орфоэпия", 2, d2.strftime("%d.%m.%Y"), "", ""],
        [3, "Входной контрольный диктант", "1", "", 2, "Диктант"],
    ]


# --- items by hand ---------------------------------------------------------------------

def test_teacher_adds_edits_and_deletes_plan_items(client, data_dir, teacher01):
    page = client.get(f"/journals/{J}/plan")
    assert page.status_code == 200 and "КТП пока нет" in page.text
    assert 'href="/journals/1/plan"' in client.get(f"/journals/{J}").text  # the link from the grid
    day = in_year(data_dir, 10)
    r = client.post(f"/journals/{J}/plan/items", data={"csrf_token": teacher01, "number": "1", "topic": "Язык и речь",
                                                       "hours": "1", "date": day.isoformat(), "week": "",
                                                       "work_type": "lesson"})
    assert r.status_code == 200 and "Добавлено" in r.text  # followed the redirect
    client.post(f"/journals/{J}/plan/items", data={"csrf_token": teacher01, "number": "2", "topic": "Текст",
                                                   "hours": "1,5", "date": "", "week": "3", "work_type": "test"})
    assert items(data_dir) == [(1, "Язык и речь", 1.0, day.isoformat(), None, "lesson"),
                               (2, "Текст", 1.5, None, 3, "test")]
    r = client.post(f"/journals/{J}/plan/items", data={"csrf_token": teacher01, "number": "2", "topic": "Повтор",
                                                       "work_type": "lesson"})
    assert r.status_code == 400 and "Тема № 2 уже есть в КТП" in r.text and 'value="Повтор"' in r.text
    r = client.post(f"/journals/{J}/plan/items", data={"csrf_token": teacher01, "number": "3",
                                                       "topic": "Present Simple", "work_type": "lesson"})
    assert r.status_code == 400 and "на русском языке" in r.text
    assert len(items(data_dir)) == 2
    # Edit: the form comes filled in; the number may change to a free one.
    second = item_id(data_dir, 2)
    form = client.get(f"/journals/{J}/plan?edit={second}").text
    assert "Изменить тему № 2" in form and 'value="Текст"' in form
    r = client.post(f"/journals/{J}/plan/items/{second}", data={"csrf_token": teacher01, "number": "5",
                                                                "topic": "Текст и его признаки", "hours": "2",
                                                                "week": "4", "work_type": "lesson"})
    assert r.status_code == 200 and "Сохранено" in r.text
    assert items(data_dir)[1] == (5, "Текст и его признаки", 2.0, None, 4, "lesson")
    r = client.post(f"/journals/{J}/plan/items/{second}", data={"csrf_token": teacher01, "number": "1",
                                                                "topic": "Текст", "work_type": "lesson"})
    assert r.status_code == 400 and "Тема № 1 уже есть" in r.text
    r = client.post(f"/journals/{J}/plan/items/{second}/delete", data={"csrf_token": teacher01})
    assert r.status_code == 200 and "Удалено" in r.text
    assert [n for n, *_ in items(data_dir)] == [1]
    assert client.post(f"/journals/{J}/plan/items/{second}/delete",
                       data={"csrf_token": teacher01}).status_code == 404
    # Who changed the plan when: in the ledger, one entry per item changed (added, edited,
    # deleted), with the teacher's name on the page.
    log = q(data_dir, "SELECT old IS NULL, new IS NULL FROM audit_log WHERE key LIKE ? ORDER BY id", (f"plan_item:{J}:%",))
    actions = {(1, 0): "add", (0, 0): "edit", (0, 1): "delete"}
    assert [actions[tuple(x)] for x in log][-4:] == ["add", "add", "edit", "delete"]
    page = client.get(f"/journals/{J}/plan").text
    assert "Изменения КТП" in page and "Удалена тема № 5 «Текст и его признаки»" in page and "Ершова" in page


# --- import ------------------------------------------------------------------------------

def test_import_csv_in_utf8_and_in_windows_1251(client, data_dir, teacher01):
    rows = plan_rows(data_dir)
    r = upload(client, teacher01, "ктп.csv", csv_bytes(rows))
    assert r.status_code == 200 and "загружено тем: 3" in r.text
    got = items(data_dir)
    assert [(n, t, h, w, wt) for n, t, h, _, w, wt in got] == [
        (1, "Язык и речь", 1.0, None, "lesson"), (2, "Звуки и буквы. Орфоэпия", 2.0, None, "lesson"),
        (3, "Входной контрольный диктант", 1.0, 2, "dictation")]
    assert got[0][3] == in_year(data_dir, 1).isoformat()
    # The same plan saved by an older Excel: Windows-1251, «;», no BOM; a title row above the header.
    rows[1][1] = "Язык и речь. Общие сведения"
    data = csv_bytes([["КТП по русскому языку, 5 класс"], *rows], encoding="cp1251")
    r = upload(client, teacher01, "ktp-1251.csv", data)
    assert r.status_code == 200 and "прежний КТП из 3 тем заменён" in r.text
    assert items(data_dir)[0][1] == "Язык и речь. Общие сведения" and len(items(data_dir)) == 3


def test_import_xlsx_with_real_dates_and_numbers(client, data_dir, teacher01):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["№ п/п", "Тема урока", "Кол-во часов", "Дата проведения", "Вид работы"])
    d = in_year(data_dir, 5)
    sheet.append([1, "Синтаксис и пунктуация", 1, datetime(d.year, d.month, d.day), "урок"])
    sheet.append([2, "Контрольная работа по теме «Синтаксис»", 1.0, None, "Контрольная"])
    sheet.append([None, None, None, None, None])  # empty rows are skipped
    sheet.append([3, "Словосочетание", 0.5, d.strftime("%d.%m.%Y"), None])
    out = io.BytesIO()
    book.save(out)
    r = upload(client, teacher01, "ktp.xlsx", out.getvalue())
    assert r.status_code == 200, r.text[:2000]
    assert items(data_dir) == [(1, "Синтаксис и пунктуация", 1.0, d.isoformat(), None, "lesson"),
                               (2, "Контрольная работа по теме «Синтаксис»", 1.0, None, None, "control"),
                               (3, "Словосочетание", 0.5, d.isoformat(), None, "lesson")]


def test_a_file_with_bad_rows_lists_every_one_and_changes_nothing(client, data_dir, teacher01):
    upload(client, teacher01, "good.csv", csv_bytes(plan_rows(data_dir)))
    before = items(data_dir)
    start, end = year_bounds(data_dir)
    after_year = (date.fromisoformat(end) + timedelta(days=10)).strftime("%d.%m.%Y")
    rows = [
        ["№", "Тема", "Часы", "Дата", "Неделя", "Вид работы"],
        [1, "Имя существительное", 1, "", "", ""],            # line 2: fine
        [2, "", 1, "", "", ""],                                # 3: no topic
        [3, "Present Continuous", 1, "", "", ""],              # 4: not in Russian
        [4, "Глагол", 1, "31.02.2027", "", ""],                # 5: not a date
        [5, "Наречие", 1, after_year, "", ""],                 # 6: outside the year
        [6, "Причастие", 1, "", "", "экскурсия"],              # 7: unknown work type: «урок», a warning
        [1, "Деепричастие", 1, "", "", ""],                    # 8: number again
        ["", "Предлог", "полтора", "", "99", ""],              # 9: no number, bad hours, bad week
    ]
    r = upload(client, teacher01, "bad.csv", csv_bytes(rows))
    assert r.status_code == 400
    text = r.text
    assert "строк с ошибками — 6" in text and "КТП не изменён" in text
    lines = dict(re.findall(r'<tr class="bad"><td>(\d+)</td><td>(.*?)</td></tr>', text, re.S))
    assert sorted(int(n) for n in lines) == [3, 4, 5, 6, 8, 9]
    assert "тема обязательна" in lines["3"]
    assert "на русском языке" in lines["4"]
    assert "не дата" in lines["5"]
    assert "вне учебного года" in lines["6"]
    assert "Номер 1 повторяется: он уже есть в строке 2" in lines["8"]
    assert "Не указан номер" in lines["9"] and "Часы «полтора»" in lines["9"] and "Неделя «99»" in lines["9"]
    assert items(data_dir) == before
    # A file that is not a plan at all is refused as a whole, naming the missing columns.
    r = upload(client, teacher01, "list.csv", csv_bytes([["Фамилия", "Имя"], ["Иванов", "Пётр"]]))
    assert r.status_code == 400 and "«№»" in r.text and "«Тема»" in r.text
    assert items(data_dir) == before


def test_once_lessons_were_given_an_import_updates_by_number_and_keeps_the_rest(client, data_dir, teacher01):
    upload(client, teacher01, "ktp.csv", csv_bytes(plan_rows(data_dir)))
    first = item_id(data_dir, 1)
    (day, n), = free_lessons(data_dir, count=1)
    r = client.post(f"/journals/{J}/lessons/{day}/{n}", data={"topic": "Язык и речь", "work_type": "lesson",
                                                             "plan_item_id": first, "csrf_token": teacher01})
    assert r.status_code == 200
    page = client.get(f"/journals/{J}/plan").text
    assert "файл не заменит его, а дополнит" in page
    # An item a lesson refers to cannot be deleted, only edited.
    r = client.post(f"/journals/{J}/plan/items/{first}/delete", data={"csrf_token": teacher01})
    assert r.status_code == 400 and "уже проведён урок" in r.text
    rows = [["№", "Тема", "Часы", "Дата", "Неделя", "Вид работы"],
            [1, "Язык и речь. Язык как средство общения", 1, "", 1, ""],
            [4, "Диалог и монолог", 1, "", 3, ""]]
    r = upload(client, teacher01, "more.csv", csv_bytes(rows))
    assert r.status_code == 200 and "добавлено тем: 1, обновлено: 1, не затронуто: 2" in r.text
    got = items(data_dir)
    assert [x[0] for x in got] == [1, 2, 3, 4] and got[0][1] == "Язык и речь. Язык как средство общения"
    assert item_id(data_dir, 1) == first  # the lesson still points at its item
    assert q(data_dir, "SELECT plan_item_id FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
             (J, day, n))[0][0] == first


def test_templates_download_and_import_as_they_are(client, data_dir, teacher01):
    import openpyxl

    csv_file = client.get("/journals/plan-template.csv")
    assert csv_file.status_code == 200 and csv_file.content.startswith(codecs.BOM_UTF8)
    assert csv_file.content.decode("utf-8-sig").splitlines()[0] == "№;Тема;Часы;Дата;Неделя;Вид работы"
    xlsx = client.get("/journals/plan-template.xlsx")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert [c.value for c in book.worksheets[0][1]] == ["№", "Тема", "Часы", "Дата", "Неделя", "Вид работы"]
    assert "Как заполнять" in book.sheetnames
    for name, data in (("template.xlsx", xlsx.content), ("template.csv", csv_file.content)):
        r = upload(client, teacher01, name, data)
        assert r.status_code == 200 and "загружено тем: 3" in r.text, r.text[:3000]


# --- copy --------------------------------------------------------------------------------

def test_copy_a_plan_from_another_class_of_the_same_parallel(client, data_dir, teacher01):
    subject = q(data_dir, "SELECT subject_id FROM journal WHERE id = ?", (J,))[0][0]
    target, target_login = q(data_dir, "SELECT j.id, a.login FROM journal j JOIN class c ON c.id = j.class_id"
                                       " JOIN account a ON a.person_id = j.teacher_id"
                                       " WHERE j.subject_id = ? AND c.parallel = 5 AND j.id <> ?"
                                       " AND j.archived_at IS NULL AND j.year_id = (SELECT year_id FROM journal WHERE id = ?)"
                                       " ORDER BY c.letter LIMIT 1", (subject, J, J))[0]
    other_parallel = q(data_dir, "SELECT j.id FROM journal j JOIN class c ON c.id = j.class_id"
                                 " WHERE j.subject_id = ? AND c.parallel = 6"
                                 " AND j.year_id = (SELECT year_id FROM journal WHERE id = ?) LIMIT 1", (subject, J))[0][0]
    clear_plans(data_dir, target, other_parallel)
    upload(client, teacher01, "ktp.csv", csv_bytes(plan_rows(data_dir)))
    source = items(data_dir)
    client.cookies.clear()
    login(client, target_login)
    csrf = session_csrf(client)
    page = client.get(f"/journals/{target}/plan").text
    assert "Скопировать из другого класса" in page and '<option value="1">' in page and "5А" in page
    # A journal of another parallel is not offered, and not taken.
    execute(data_dir, "INSERT INTO plan_item(journal_id, number, topic) VALUES (?, 1, 'Лексика')", (other_parallel,))
    assert f'<option value="{other_parallel}">' not in client.get(f"/journals/{target}/plan").text
    r = client.post(f"/journals/{target}/plan/copy", data={"csrf_token": csrf, "source": other_parallel})
    assert r.status_code == 400 and "той же параллели" in r.text and items(data_dir, target) == []
    r = client.post(f"/journals/{target}/plan/copy", data={"csrf_token": csrf, "source": J})
    assert r.status_code == 200 and "Копия КТП журнала «Русский язык, 5А»: загружено тем: 3" in r.text
    copied = items(data_dir, target)
    assert [(n, t, h, wt) for n, t, h, _, _, wt in copied] == [(n, t, h, wt) for n, t, h, _, _, wt in source]
    # Dates stay with 5А's timetable; the copy keeps the weeks.
    assert all(d is None for _, _, _, d, _, _ in copied) and all(w for *_, w, _ in copied)


# --- the lesson panel --------------------------------------------------------------------

def test_lesson_panel_offers_the_next_topic_and_saving_marks_it_given(client, data_dir, teacher01):
    upload(client, teacher01, "ktp.csv", csv_bytes(plan_rows(data_dir)))
    ids = {n: item_id(data_dir, n) for n in (1, 2, 3)}
    (d1, n1), (d2, n2), (d3, n3) = free_lessons(data_dir, count=3)
    panel = client.get(f"/journals/{J}/lessons/{d1}/{n1}").text
    assert 'value="Язык и речь"' in panel and "Предложено из КТП: урок № 1" in panel
    assert f'<option value="{ids[1]}" selected>' in panel and "Звуки и буквы. Орфоэпия" in panel
    r = client.post(f"/journals/{J}/lessons/{d1}/{n1}", data={"topic": "Язык и речь", "work_type": "lesson",
                                                             "plan_item_id": ids[1], "csrf_token": teacher01})
    assert r.status_code == 200 and "Сохранено" in r.text
    # Item 2 has two hours: it is offered until two lessons gave it.
    panel = client.get(f"/journals/{J}/lessons/{d2}/{n2}").text
    assert 'value="Звуки и буквы. Орфоэпия"' in panel and f'<option value="{ids[1]}">№ 1. Язык и речь (дано)' in panel
    # Another item can be chosen: the panel comes back with its topic and work type.
    panel = client.get(f"/journals/{J}/lessons/{d2}/{n2}?plan_item_id={ids[3]}").text
    assert 'value="Входной контрольный диктант"' in panel and f'<option value="{ids[3]}" selected>' in panel
    assert '<option value="dictation" selected>' in panel
    # "— не из КТП —" sticks: no topic is pushed in.
    panel = client.get(f"/journals/{J}/lessons/{d2}/{n2}?plan_item_id=").text
    assert 'name="topic" id="topic" value=""' in panel and "selected>№" not in panel
    client.post(f"/journals/{J}/lessons/{d2}/{n2}", data={"topic": "Входной контрольный диктант",
                                                         "work_type": "dictation", "plan_item_id": ids[3],
                                                         "csrf_token": teacher01})
    panel = client.get(f"/journals/{J}/lessons/{d3}/{n3}").text
    assert "Предложено из КТП: урок № 2" in panel
    # The plan page: given dates, planned vs given hours.
    page = client.get(f"/journals/{J}/plan").text
    assert f"?lesson={d1}/{n1}" in page and f"?lesson={d2}/{n2}" in page
    assert re.search(r"<strong>4</strong> ч по плану \(тем: 3\)", page)
    assert re.search(r"<strong>2</strong> ч проведено по КТП", page)
    api = client.get(f"/api/v1/journals/{J}/plan").json()
    assert api["planned_hours"] == 4 and api["given_hours"] == 2
    assert [it["done"] for it in api["items"]] == [True, False, True]
    assert api["items"][0]["given"] == [{"date": d1, "lesson_number": n1}]


# --- JSON API ----------------------------------------------------------------------------

def test_api_takes_a_whole_plan_with_the_same_checks(client, data_dir, teacher01):
    headers = {"X-CSRF-Token": teacher01}
    bad = {"items": [{"number": 1, "topic": "Орфография"},
                     {"number": 1, "topic": "Grammar"},
                     {"number": 2, "topic": "Пунктуация", "planned_date": "2001-09-01", "work_type": "поход"}]}
    r = client.post(f"/api/v1/journals/{J}/plan", json=bad, headers=headers)
    assert r.status_code == 400
    body = r.json()
    assert [row["line"] for row in body["rows"]] == [2, 3]
    assert any("повторяется" in x for x in body["rows"][0]["reasons"])
    assert any("на русском" in x for x in body["rows"][0]["reasons"])
    assert any("вне учебного года" in x for x in body["rows"][1]["reasons"])
    assert items(data_dir) == []
    good = {"items": [{"number": 1, "topic": "Орфография", "planned_week": 1},
                      {"number": 2, "topic": "Пунктуация", "hours": 2, "work_type": "контрольная работа",
                       "planned_date": in_year(data_dir, 8).strftime("%d.%m.%Y")}]}
    r = client.post(f"/api/v1/journals/{J}/plan", json=good, headers=headers)
    assert r.status_code == 200 and r.json() == {"mode": "replaced", "added": 2, "updated": 0, "kept": 0, "removed": 0}
    got = client.get(f"/api/v1/journals/{J}/plan").json()
    assert [(it["number"], it["work_type"]) for it in got["items"]] == [(1, "lesson"), (2, "control")]
    assert got["planned_hours"] == 3 and got["updated_by"].startswith("Ершова")
    assert client.post(f"/api/v1/journals/{J}/plan", json={"items": []}, headers=headers).status_code == 400
    schema = client.get("/api/v1/schema/openapi.json").json()
    for method in ("get", "post"):
        assert schema["paths"]["/api/v1/journals/{journal_id}/plan"][method]["tags"] == ["Журнал"]


# --- who ---------------------------------------------------------------------------------

def test_other_teachers_and_families_cannot_read_or_change_the_plan(client, data_dir):
    clear_plans(data_dir, J)
    login(client, "teacher02")
    csrf = session_csrf(client)
    assert client.get(f"/journals/{J}/plan").status_code == 403
    assert client.get(f"/api/v1/journals/{J}/plan").status_code == 403
    assert client.post(f"/journals/{J}/plan/items", data={"csrf_token": csrf, "number": "1", "topic": "Тема",
                                                          "work_type": "lesson"}).status_code == 403
    assert upload(client, csrf, "ktp.csv", csv_bytes(plan_rows(data_dir))).status_code == 403
    assert client.post(f"/api/v1/journals/{J}/plan", json={"items": [{"number": 1, "topic": "Тема"}]},
                       headers={"X-CSRF-Token": csrf}).status_code == 403
    assert items(data_dir) == []
    for who in ("parent0001", "student0001"):
        client.cookies.clear()
        login(client, who)
        assert client.get(f"/journals/{J}/plan").status_code == 403
        assert client.get(f"/api/v1/journals/{J}/plan").status_code == 403
        assert client.get("/journals/plan-template.csv").status_code == 403
    # The deputy reads and changes any journal's plan; the director only reads it.
    client.cookies.clear()
    login(client, "deputy")
    csrf = session_csrf(client)
    assert upload(client, csrf, "ktp.csv", csv_bytes(plan_rows(data_dir))).status_code == 200
    client.cookies.clear()
    login(client, "director")
    page = client.get(f"/journals/{J}/plan")
    assert page.status_code == 200 and "Язык и речь" in page.text and "Загрузить из файла" not in page.text


def test_plan_changes_are_in_the_ledger_and_a_direct_change_is_reported(client, data_dir, capsys):
    """The КТП is in the ledger (`plan_item:<journal>:<item>`): every change by the page is an
    entry, and an item added, changed or deleted directly in SQLite is reported by verify."""
    from server.cli import main as cli_main

    def verify_cli() -> tuple[int, str]:
        code = cli_main(["audit", "verify", "--data", str(data_dir)])
        out = capsys.readouterr()
        return code, out.out + out.err

    login(client, "teacher01")
    csrf = session_csrf(client)
    assert verify_cli()[0] == 0  # the demo's plans
    rows = [["№", "Тема", "Часы"], [901, "Повторение изученного", 1], [902, "Итоговое повторение", 2]]
    r = upload(client, csrf, "ktp.csv", csv_bytes(rows))
    assert r.status_code == 200 and "ktp.csv" in r.text
    first = item_id(data_dir, 901)
    client.post(f"/journals/{J}/plan/items/{first}", data={"csrf_token": csrf, "number": "901",
                                                          "topic": "Повторение изученного в 5 классе",
                                                          "work_type": "lesson"})
    client.post(f"/journals/{J}/plan/items/{item_id(data_dir, 902)}/delete", data={"csrf_token": csrf})
    reasons = [x for (x,) in q(data_dir, "SELECT reason FROM audit_log WHERE key LIKE ? ORDER BY id DESC LIMIT 2",
                                (f"plan_item:{J}:%",))]
    assert reasons[0].startswith("Удалена тема № 902") and reasons[1].startswith("Изменена тема № 901")
    assert verify_cli()[0] == 0
    for change, undo in [
            (("UPDATE plan_item SET topic = 'Другая тема' WHERE id = ?", (first,)),
             ("UPDATE plan_item SET topic = 'Повторение изученного в 5 классе' WHERE id = ?", (first,))),
            (("INSERT INTO plan_item(id, journal_id, number, topic) VALUES (999999, ?, 999, 'Лишняя тема')", (J,)),
             ("DELETE FROM plan_item WHERE id = 999999", ())),
            (("UPDATE plan_item SET hours = 3 WHERE id = ?", (first,)),
             ("UPDATE plan_item SET hours = 1 WHERE id = ?", (first,)))]:
        execute(data_dir, *change)
        code, text = verify_cli()
        assert code == 1 and "plan_item:" in text, (change, text)
        execute(data_dir, *undo)
        assert verify_cli()[0] == 0
