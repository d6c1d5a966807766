"""In a real browser against the real server, its clock on Thursday 20.05.2027 (the demo's
fourth quarter): a teacher's day from the home page into the journal; a week of planned
substitution as the deputy plans it, the substitute sees and writes it and a family sees it;
a family with no device at home logs in at the kiosk with a PIN slip; the kiosk's compact
grades; the journal's hint on a phone; and a new school from an empty data folder, step by
step of «С чего начать», to its first grade."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from test_browser import Page, browser, expect, log_in, running_server, school_data  # noqa: F401


CLOCK = "2027-05-20T08:00"
TODAY, MONDAY = "2027-05-20", "2027-05-24"


@pytest.fixture(scope="module")
def server(school_data, tmp_path_factory) -> str:  # noqa: F811
    with running_server(school_data, tmp_path_factory.mktemp("day-server-log"), env={"ZHURNAL_CLOCK": CLOCK}) as base:
        yield base


@pytest.fixture
def tab(browser):  # noqa: F811
    t = Page(browser)
    yield t
    t.close()


def q(data: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{data / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def log_out(page) -> None:
    page.get_by_role("button", name="Выйти").click()


def real_errors(tab) -> list[str]:
    return [e for e in tab.errors if not re.search(r"\b40[0134]\b", e)]


def test_a_teacher_starts_the_day_from_the_home_page(server, tab):
    page = tab.page
    log_in(page, server, "teacher01")
    day = page.locator("#my-day")
    expect(day.get_by_role("heading")).to_have_text("Сегодня: четверг, 20.05.2027")
    first = day.locator("li").first
    expect(first).to_contain_text("08:30")
    expect(first).to_contain_text("тема —")
    first.get_by_role("link", name="5А · Русский язык").click()
    # One click: the journal's grid with that lesson's panel open at its topic.
    expect(page).to_have_url(f"{server}/journals/1?lesson={TODAY}/1")
    card = page.locator("#lesson-card")
    expect(card.get_by_role("heading")).to_have_text("20.05.2027, 1-й урок")
    card.get_by_label("Тема урока").fill("Повторение: орфограммы в корне слова")
    card.get_by_role("button", name="Сохранить тему").click()
    expect(page.locator("#lesson-card").get_by_text("Сохранено.")).to_be_visible()
    page.locator("#lesson-card").get_by_label("Домашнее задание").fill("Упражнение 530")
    # The topic's «Сохранено.» is still on the panel: wait for the homework's own answer.
    with page.expect_response(lambda r: r.request.method == "POST" and "/homework" in r.url) as saved:
        page.locator("#lesson-card").get_by_role("button", name="Сохранить задание").click()
    assert saved.value.ok
    expect(page.locator("#lesson-card").get_by_text("Сохранено.")).to_be_visible()
    # Back at home, the day says what is recorded.
    page.goto(server + "/")
    first = page.locator("#my-day li").first
    expect(first).to_contain_text("тема ✓")
    expect(first).to_contain_text("ДЗ ✓")
    page.locator("#my-day").get_by_role("link", name="Моё расписание на неделю").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Моё расписание")
    expect(page.locator("table.tt-week")).to_contain_text("5А")
    assert real_errors(tab) == [], "\n".join(tab.errors)


def test_a_week_of_planned_substitution_seen_by_the_substitute_and_by_a_family(server, school_data, browser):  # noqa: F811
    deputy = Page(browser)
    page = deputy.page
    log_in(page, server, "deputy")
    page.goto(server + "/school/changes")
    form = page.locator("form[action='/school/absences']")
    t01 = q(school_data, "SELECT p.last_name || ' ' || p.first_name || ' ' || p.middle_name FROM person p"
                         " JOIN account a ON a.person_id = p.id WHERE a.login = 'teacher01'")[0][0]
    form.get_by_label("Сотрудник").select_option(label=t01)
    form.get_by_label("С", exact=True).fill(MONDAY)
    form.get_by_label("По", exact=True).fill("2027-05-26")
    form.get_by_role("button", name="Дальше: назначить замены").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("отсутствует")
    monday_first = page.get_by_label("Кто заменяет 24.05.2027, 1-й урок")
    # The picker offers who is free first; busy people are there, not choosable.
    free = monday_first.locator("option:not([disabled])").nth(1)
    substitute_label = free.inner_text()
    assert "свобод" in substitute_label
    assert monday_first.locator("option[disabled]").count() > 0
    monday_first.select_option(label=substitute_label)
    page.get_by_role("button", name="Сохранить замены").click()
    expect(page.get_by_text("Сохранено.")).to_be_visible()
    substitute = substitute_label.split(" — ")[0]
    sub_login = q(school_data, "SELECT a.login FROM account a JOIN person p ON p.id = a.person_id"
                               " WHERE p.last_name || ' ' || p.first_name || ' ' || p.middle_name = ?", (substitute,))[0][0]
    assert real_errors(deputy) == [], "\n".join(deputy.errors)
    deputy.close()

    # The substitute: the lesson in their week, one click into it, and they may write it.
    sub = Page(browser)
    page = sub.page
    log_in(page, server, sub_login)
    page.goto(f"{server}/my/timetable?week={MONDAY}")
    lesson = page.locator(".tt-lesson", has_text="замена за")
    expect(lesson).to_have_count(1)
    lesson.get_by_role("link", name="Русский язык").click()
    expect(page).to_have_url(f"{server}/journals/1?lesson={MONDAY}/1")
    card = page.locator("#lesson-card")
    expect(card.get_by_text("Проведён на замене")).to_be_visible()
    card.get_by_label("Тема урока").fill("Правописание приставок")
    card.get_by_role("button", name="Сохранить тему").click()
    expect(page.locator("#lesson-card").get_by_text("Сохранено.")).to_be_visible()
    assert real_errors(sub) == [], "\n".join(sub.errors)
    sub.close()

    # The family: Monday's Russian is given by the substitute.
    family = Page(browser)
    page = family.page
    log_in(page, server, "student0001")
    page.goto(f"{server}/diary?week={MONDAY}")
    row = page.locator(f"#day-{MONDAY} tr", has_text="Русский язык").first
    expect(row).to_contain_text("(замена)")
    expect(row).to_contain_text(substitute.split()[0])
    expect(row).to_contain_text("Правописание приставок")
    assert real_errors(family) == [], "\n".join(family.errors)
    family.close()


def test_a_family_with_no_device_at_home_logs_in_at_the_kiosk_with_a_pin(server, school_data, browser):  # noqa: F811
    teacher = Page(browser)
    page = teacher.page
    log_in(page, server, "teacher01")
    page.goto(server + "/my-class")
    page.get_by_role("link", name="Выдать доступ родителям и учащимся").click()
    parent = q(school_data, """
        SELECT a.login, p.last_name || ' ' || p.first_name || ' ' || p.middle_name FROM guardian g
          JOIN enrollment e ON e.student_id = g.student_id AND e.to_date IS NULL
          JOIN class c ON c.id = e.class_id JOIN account ta ON ta.person_id = c.class_teacher_id AND ta.login = 'teacher01'
          JOIN account a ON a.person_id = g.parent_id JOIN person p ON p.id = g.parent_id
         WHERE g.consent_at IS NOT NULL AND a.login LIKE 'parent%' AND a.login <> 'parent0001'
         ORDER BY a.login LIMIT 1""")[0]
    page.get_by_label(parent[1], exact=True).first.check()
    page.get_by_role("button", name="ПИН-коды для киоска для отмеченных").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ПИН-коды для киоска: 1")
    pin = re.sub(r"\D", "", page.locator(".slip-cred", has_text="ПИН-код").locator("code").inner_text())
    assert len(pin) == 8
    teacher.close()

    kiosk = Page(browser, viewport={"width": 1280, "height": 1024}, has_touch=True)
    page = kiosk.page
    page.goto(server + "/kiosk")
    page.get_by_label("Логин").fill(parent[0])
    page.get_by_label("Пароль или ПИН-код").fill(pin)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(server + "/kiosk")
    page.get_by_role("link", name="Оценки и средний балл").first.click()
    # The kiosk's grades: one compact table, the details of a subject on a tap.
    rows = page.locator("details.subject-row-details")
    assert rows.count() > 3
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3000, height
    advice = page.locator(".advice").first
    expect(advice).to_be_hidden()
    rows.first.locator("summary").click()
    expect(rows.first.locator(".subject-more")).to_be_visible()
    page.get_by_role("button", name="Выход").click()
    expect(page.get_by_text("Вы вышли")).to_be_visible()
    assert real_errors(kiosk) == [], "\n".join(kiosk.errors)
    kiosk.close()


def test_the_journal_tells_a_phone_user_what_a_finger_does(server, browser):  # noqa: F811
    phone = Page(browser, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = phone.page
    log_in(page, server, "teacher01")
    page.goto(server + "/journals/1")
    expect(page.locator(".hint.touch-only").first).to_be_visible()
    expect(page.locator(".hint.touch-only").first).to_contain_text("нажмите клетку")
    expect(page.locator(".hint.keys-only").first).to_be_hidden()
    phone.close()
    desk = Page(browser)
    log_in(desk.page, server, "teacher01")
    desk.page.goto(server + "/journals/1")
    expect(desk.page.locator(".hint.keys-only").first).to_be_visible()
    expect(desk.page.locator(".hint.touch-only").first).to_be_hidden()
    desk.close()


# --- a new school, from an empty data folder to its first grade ---------------------------------------

@pytest.fixture(scope="module")
def empty_server(tmp_path_factory) -> str:
    data = tmp_path_factory.mktemp("new-school") / "data"
    with running_server(data, tmp_path_factory.mktemp("new-school-log"), env={"ZHURNAL_CLOCK": CLOCK}) as base:
        yield base


def steps_done(page) -> str:
    return page.locator("#first-steps h2").inner_text()


def test_a_new_school_follows_the_checklist_from_an_empty_folder_to_its_first_grade(empty_server, browser):  # noqa: F811
    base = empty_server
    admin = Page(browser)
    page = admin.page
    page.goto(base + "/")
    expect(page).to_have_url(base + "/setup")
    expect(page.get_by_text("Пароль — не короче 8 символов")).to_be_visible()
    page.get_by_label("Полное название школы").fill("МБОУ «СОШ № 3»")
    page.get_by_label("Фамилия").fill("Кузнецов")
    page.get_by_label("Имя", exact=True).fill("Олег")
    page.get_by_label("Логин").fill("admin")
    page.get_by_label("Пароль", exact=True).fill("надёжный-пароль")
    page.get_by_label("Пароль ещё раз").fill("надёжный-пароль")
    page.get_by_role("button", name="Создать").click()
    expect(page).to_have_url(base + "/")
    expect(page.locator("#first-steps h2")).to_have_text("Что сделать дальше: сделано 0 из 10")

    # 1. The year and its periods (the step links to the school's years).
    page.locator("#first-steps").get_by_role("link", name="Учебный год, четверти (полугодия) и каникулы").click()
    page.get_by_role("button", name="Создать учебный год").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Учебный год 2026/2027")
    for number, start, end in ((3, "2027-01-12", "2027-03-21"), (4, "2027-04-01", "2027-05-26")):
        form = page.locator("form[action$='/periods']")
        form.get_by_label("Номер").fill(str(number))
        form.get_by_label("Начало").fill(start)
        form.get_by_label("Конец").fill(end)
        form.get_by_role("button", name="Добавить период").click()
        expect(page.get_by_text("Сохранено.").or_(page.get_by_text("Добавлено."))).to_be_visible()
    # 2. Bells.
    page.goto(base + "/school/bells")
    page.locator("input[name='start_1']").fill("08:30")
    page.locator("input[name='end_1']").fill("09:15")
    page.get_by_role("button", name="Сохранить звонки").click()
    # 4. A subject (the class needs a class teacher first: staff before classes).
    page.goto(base + "/school/subjects")
    page.get_by_label("Название").fill("Математика")
    page.get_by_role("button", name="Добавить").click()
    # 5. A teacher and their credentials.
    page.goto(base + "/school/staff")
    form = page.locator("form[action='/school/staff']")
    form.get_by_label("Фамилия").fill("Иванова")
    form.get_by_label("Имя", exact=True).fill("Анна")
    form.get_by_label("Отчество").fill("Петровна")
    form.get_by_label("Должность").fill("учитель математики")
    form.get_by_role("button", name="Добавить").click()
    expect(page.get_by_role("cell", name="Иванова Анна Петровна")).to_be_visible()
    page.get_by_role("link", name="Выдать доступ сотрудникам").click()
    page.get_by_label("Иванова Анна Петровна").check()
    page.get_by_role("button", name="Напечатать листки для отмеченных").click()
    login_name = page.locator(".slip-cred", has_text="Логин").locator("code").inner_text()
    password = page.locator(".slip-cred", has_text="Пароль").locator("code").inner_text()
    # 3. The class with its class teacher.
    page.goto(base + "/school/classes")
    page.get_by_label("Класс", exact=True).fill("5А")
    page.get_by_label("Классный руководитель").select_option(label="Иванова Анна Петровна (учитель математики)")
    page.get_by_role("button", name="Добавить").click()
    # 6. The teaching load, 7. the timetable (Thursday, the 1st lesson).
    page.goto(base + "/school/load")
    page.get_by_label("Предмет").select_option(label="Математика")
    page.get_by_label("Класс или группа").select_option(label="5А")
    page.get_by_label("Учитель").select_option(label="Иванова Анна Петровна (учитель математики)")
    page.get_by_label("Часов в неделю").fill("5")
    page.get_by_role("button", name="Добавить").click()
    page.goto(base + "/school/timetable")
    page.get_by_label("Предмет (из нагрузки)").select_option(index=1)
    page.get_by_label("День").select_option(value="4")
    page.get_by_label("Урок №").fill("1")
    page.get_by_role("button", name="Поставить").click()
    # 8. A student (the class page's form; a whole list would come by «Импорт»).
    page.goto(base + "/school/classes")
    page.get_by_role("link", name="5А", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/classes/\d+$"))
    page.locator("input[name='last_name']").last.fill("Смирнов")
    page.locator("input[name='first_name']").last.fill("Пётр")
    page.locator("input[name='birth_date']").fill("2015-03-14")
    page.locator("input[name='from_date']").fill("2027-05-17")
    page.locator("form[action$='/students']").get_by_role("button", name="Добавить").click()
    expect(page.get_by_role("link", name="Смирнов Пётр")).to_be_visible()
    page.goto(base + "/")
    expect(page.locator("#first-steps")).to_have_count(0)  # the set-up is done: no more first steps on the home page
    page.goto(base + "/school/start")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"С чего начать: сделано (7|8) из 10"))
    assert real_errors(admin) == [], "\n".join(admin.errors)
    admin.close()

    # The teacher's first day: their own password, today's lesson, the first grade.
    teacher = Page(browser)
    page = teacher.page
    page.goto(base + "/login")
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(base + "/password")
    page.get_by_label("Текущий пароль").fill(password)
    page.get_by_label("Новый пароль", exact=True).fill("мой-пароль-2027")
    page.get_by_label("Новый пароль ещё раз").fill("мой-пароль-2027")
    page.get_by_role("button", name="Сменить пароль").click()
    page.goto(base + "/")
    page.locator("#my-day").get_by_role("link", name="5А · Математика").click()
    expect(page).to_have_url(re.compile(rf"/journals/\d+\?lesson={TODAY}/1$"))
    cell = page.get_by_label(re.compile(r"Смирнов Пётр, 20\.05\.2027, 1-й урок"))
    cell.fill("5")
    cell.press("Enter")
    expect(page.locator("#journal-status")).to_contain_text("Сохранено.")
    page.reload()
    expect(page.get_by_label(re.compile(r"Смирнов Пётр, 20\.05\.2027, 1-й урок"))).to_have_value("5")
    assert real_errors(teacher) == [], "\n".join(teacher.errors)
    teacher.close()
