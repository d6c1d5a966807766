"""In a real browser: a teacher runs a whole lesson with the keyboard (issue 4, "Done when")
— the topic offered from the КТП, attendance, grades (a double one too), homework — sees
every cell saved and the average change, and finds it all again after reloading; a refused
value, a save lost on the network (shown, retried, never dropped) and a cell's history.
The server and the browser are those of tests/test_browser.py; the demo database copy gets
a КТП for journal 1 when the demo has none, and a quarter of grades when it has none."""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from test_browser import Page, browser, expect, log_in, server, tab  # noqa: F401 (fixtures)
from test_journal import lessons_of, period_average

from server import clock
from server.journal.rules import weighted_average
from server.planning import store as plan_store

JOURNAL = 1                       # Русский язык, 5А; teacher01 teaches it
GRID_SHOT = "/tmp/zhurnal-journal-grid.png"
ENTRY_SHOT = "/tmp/zhurnal-journal-entry.png"
PANEL_SHOT = "/tmp/zhurnal-journal-lesson.png"
PLAN = [("Повторение: орфограммы в корне слова", "lesson"),
        ("Словосочетание и предложение", "lesson"),
        ("Диктант по теме «Синтаксис»", "dictation")]
HOMEWORK = "Упражнение 214: выписать словосочетания, обозначить главное слово."
SAVED = re.compile(r"\bsaved\b")


def db(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(data / "zhurnal.sqlite3")


def q(data: Path, sql: str, params=()) -> list[tuple]:
    conn = db(data)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def offered_plan_item(data: Path, day: str) -> tuple[int, int, str]:
    """What the lesson panel offers as the topic: planning.store.next_item, read from the database."""
    conn = sqlite3.connect(f"file:{data / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        item = plan_store.next_item(conn, JOURNAL, day)
    finally:
        conn.close()
    assert item is not None, "journal 1 has no topic left in its КТП"
    return item["id"], item["number"], item["topic"]


def period_of(data: Path, day: str) -> tuple[str, str]:
    return q(data, "SELECT starts_on, ends_on FROM study_period WHERE kind = 'quarter' AND starts_on <= ?"
                   " AND ends_on >= ?", (day, day))[0]


def fill_quarter(conn: sqlite3.Connection, lessons: list[tuple[str, int]], students: list[int]) -> None:
    """Past lessons with topics, grades, absences and one dictation, so that the grid looks
    like a working journal (used only when the demo school has none)."""
    rng = random.Random(4)
    for i, (d, n) in enumerate(lessons):
        work_type = "dictation" if i == len(lessons) // 2 else "lesson"
        conn.execute("INSERT OR IGNORE INTO lesson(journal_id, date, lesson_number, topic, work_type)"
                     " VALUES (?, ?, ?, ?, ?)", (JOURNAL, d, n, f"Тема урока № {i + 1}", work_type))
        lid, work_type = conn.execute("SELECT id, work_type FROM lesson WHERE journal_id = ? AND date = ?"
                                      " AND lesson_number = ?", (JOURNAL, d, n)).fetchone()
        absent = set(rng.sample(students, 2))
        graded = students if work_type == "dictation" else rng.sample(students, 6)
        for s in absent:
            conn.execute("INSERT OR IGNORE INTO attendance(lesson_id, student_id, mark) VALUES (?, ?, ?)",
                         (lid, s, rng.choice("НБУ")))
        for s in graded:
            if s not in absent:
                conn.execute("INSERT OR IGNORE INTO grade(lesson_id, student_id, position, value, work_type)"
                             " VALUES (?, ?, 0, ?, ?)", (lid, s, rng.choice("554443332"), work_type))


@pytest.fixture(scope="module")
def lesson_day(demo_template) -> tuple[str, int]:
    """Today's lesson of journal 1, or the latest one before today."""
    found = lessons_of(demo_template, JOURNAL, before=clock.today(), count=1)
    if not found:
        pytest.skip("the demo year has no lesson of journal 1 up to today")
    return found[0]


@pytest.fixture(scope="module")
def school_data(demo_template, tmp_path_factory, lesson_day) -> Path:
    """The demo school for the server of tests/test_browser.py, with the lesson to be run
    left empty and a КТП for the journal."""
    target = tmp_path_factory.mktemp("browser-journal") / "data"
    shutil.copytree(demo_template, target)
    day, n = lesson_day
    conn = db(target)
    try:
        # The demo may already have recorded this lesson: the teacher runs it from scratch.
        lesson = conn.execute("SELECT id FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
                              (JOURNAL, day, n)).fetchone()
        if lesson:
            for table in ("grade", "attendance", "homework"):
                conn.execute(f"DELETE FROM {table} WHERE lesson_id = ?", lesson)
            conn.execute("UPDATE lesson SET topic = '', work_type = 'lesson', plan_item_id = NULL, status = 'held',"
                         " substitute_id = NULL, status_reason = '' WHERE id = ?", lesson)
        if not conn.execute("SELECT 1 FROM plan_item WHERE journal_id = ?", (JOURNAL,)).fetchone():
            conn.executemany("INSERT INTO plan_item(journal_id, number, topic, work_type) VALUES (?, ?, ?, ?)",
                             [(JOURNAL, i + 1, t, w) for i, (t, w) in enumerate(PLAN)])
        if not conn.execute("SELECT 1 FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = ?",
                            (JOURNAL,)).fetchone():
            start, _ = period_of(target, day)
            earlier = [x for x in lessons_of(target, JOURNAL, before=date.fromisoformat(day), count=200)
                       if start <= x[0] and x != (day, n)]
            students = [r[0] for r in conn.execute(
                "SELECT e.student_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id WHERE j.id = ?",
                (JOURNAL,))]
            fill_quarter(conn, earlier, students)
        conn.commit()
    finally:
        conn.close()
    return target


def cell(page, student: int, day: str, n: int):
    return page.locator(f'tr[data-student="{student}"] input.g[data-d="{day}"][data-n="{n}"]')


def students_on_page(page) -> list[int]:
    return [int(s) for s in page.eval_on_selector_all("#journal tbody tr[data-student]",
                                                      "rows => rows.map(r => r.dataset.student)")]


def average_text(data: Path, student: int, day: str) -> str:
    start, end = period_of(data, day)
    rows = q(data, "SELECT g.value, wt.weight FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                   " JOIN work_type wt ON wt.code = g.work_type"
                   " WHERE l.journal_id = ? AND g.student_id = ? AND l.date BETWEEN ? AND ?",
             (JOURNAL, student, start, end))
    avg = weighted_average(rows)
    return "" if avg is None else f"{avg:.2f}".replace(".", ",")


def cell_in_db(data: Path, student: int, day: str, n: int) -> tuple[str | None, list[str]]:
    mark = q(data, "SELECT a.mark FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
                   " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ? AND a.student_id = ?",
             (JOURNAL, day, n, student))
    grades = q(data, "SELECT g.value FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = ?"
                     " AND l.date = ? AND l.lesson_number = ? AND g.student_id = ? ORDER BY g.position",
               (JOURNAL, day, n, student))
    return (mark[0][0] if mark else None), [g[0] for g in grades]


def open_journal(page, base: str) -> None:
    """From the home page: «Журналы», then Русский язык of 5А."""
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Журналы").click()
    expect(page.get_by_role("heading", name=re.compile("журналы"))).to_be_visible()
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name="5А", exact=True)).filter(
        has=page.get_by_role("link", name="Русский язык", exact=True))
    row.get_by_role("link", name="Русский язык", exact=True).click()
    expect(page).to_have_url(f"{base}/journals/{JOURNAL}")
    expect(page.get_by_role("heading", name="Русский язык — 5А")).to_be_visible()


def unexpected(errors: list[str], *allowed: str) -> list[str]:
    return [e for e in errors if not any(a in e for a in allowed)]


def test_teacher_runs_a_whole_lesson_with_the_keyboard(server, school_data, lesson_day, tab):
    page = tab.page
    day, n = lesson_day
    plan_id, plan_number, plan_topic = offered_plan_item(school_data, day)
    log_in(page, server, "teacher01")
    open_journal(page, server)
    students = students_on_page(page)
    assert len(students) >= 6

    # The lesson's column header: focus it and press Enter; the topic comes from the КТП.
    header = page.locator(f'a.lesson-link[data-lesson="{day}/{n}"]')
    header.focus()
    page.keyboard.press("Enter")
    card = page.locator("#lesson-card")
    topic = card.get_by_label("Тема урока")
    expect(topic).to_be_focused()
    expect(topic).to_have_value(plan_topic)
    expect(card).to_contain_text(f"Предложено из КТП: урок № {plan_number}.")
    page.keyboard.press("Enter")                       # saves the topic (htmx form)
    expect(page.locator("#lesson-card .notice.ok")).to_have_text("Сохранено.")
    assert q(school_data, "SELECT topic, plan_item_id FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
             (JOURNAL, day, n)) == [(plan_topic, plan_id)]
    # …and the keyboard is back in the grid, on the first student of that lesson.
    expect(cell(page, students[0], day, n)).to_be_focused()
    expect(header.locator(".mark-missing")).to_have_count(0)

    # Attendance and grades, moving with Enter, the arrows and Tab.
    page.keyboard.type("н")
    page.keyboard.press("Enter")
    expect(cell(page, students[1], day, n)).to_be_focused()
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    page.keyboard.type("5/4")
    page.keyboard.press("ArrowDown")
    expect(cell(page, students[3], day, n)).to_be_focused()
    page.keyboard.type("4")
    page.keyboard.press("Tab")                         # on to the next cell of the row, and back
    expect(cell(page, students[3], day, n)).not_to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(cell(page, students[3], day, n)).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(cell(page, students[5], day, n)).to_be_focused()

    typed = {students[0]: "Н", students[1]: "5", students[2]: "5/4", students[3]: "4", students[4]: "3"}
    for s, text in typed.items():
        expect(cell(page, s, day, n)).to_have_value(text)
        expect(cell(page, s, day, n)).to_have_class(SAVED)
    # The last save is announced with the cell it is about.
    expect(page.locator("#journal-status")).to_have_text(
        re.compile(r"^Сохранено\. " + re.escape(cell(page, students[4], day, n).get_attribute("aria-label"))))
    page.screenshot(path=ENTRY_SHOT)
    assert cell_in_db(school_data, students[0], day, n) == ("Н", [])
    assert cell_in_db(school_data, students[2], day, n) == (None, ["5", "4"])
    assert cell_in_db(school_data, students[4], day, n) == (None, ["3"])
    # The row's weighted average follows the new grades.
    avg = page.locator(f'tr[data-student="{students[2]}"] [data-avg]')
    expect(avg).to_have_text(average_text(school_data, students[2], day))

    # Up from the first row is the lesson's header; Enter opens the panel at the homework.
    for _ in range(6):
        page.keyboard.press("ArrowUp")
    expect(header).to_be_focused()
    page.keyboard.press("Enter")
    homework = page.locator("#lesson-card").get_by_label("Домашнее задание")
    expect(homework).to_be_focused()
    page.keyboard.type(HOMEWORK)
    page.keyboard.press("Tab")
    expect(page.locator("#minutes")).to_be_focused()
    page.keyboard.type("25")
    page.keyboard.press("Enter")
    expect(page.locator("#lesson-card .notice.ok")).to_have_text("Сохранено.")
    assert q(school_data, "SELECT h.text, h.minutes FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                          " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ?",
             (JOURNAL, day, n)) == [(HOMEWORK, 25)]

    # Everything is there after a reload.
    page.reload()
    for s, text in typed.items():
        expect(cell(page, s, day, n)).to_have_value(text)
    expect(page.locator(f'tr[data-student="{students[2]}"] [data-avg]')).to_have_text(
        average_text(school_data, students[2], day))
    expect(header).to_have_attribute("title", re.compile(re.escape(plan_topic)))
    header.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lesson-card").get_by_label("Тема урока")).to_have_value(plan_topic)
    expect(page.locator("#lesson-card").get_by_label("Домашнее задание")).to_have_value(HOMEWORK)
    expect(page.locator("#minutes")).to_have_value("25")
    assert tab.errors == [], "\n".join(tab.errors)


def test_a_refused_value_is_explained_and_the_cell_stays_marked(server, school_data, lesson_day, tab):
    page = tab.page
    day, n = lesson_day
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}")
    s = students_on_page(page)[7]
    before = cell_in_db(school_data, s, day, n)
    target = cell(page, s, day, n)
    target.focus()
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    status = page.locator("#journal-status")
    expect(status).to_have_text("«7» — не отметка. Можно: 5, 4, 3, 2, зч, нз, а также Н, Б, У, ОП.")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(target).to_have_class(re.compile(r"\binvalid\b"))
    # Marked for a screen reader too, and described by the message.
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(target).to_have_attribute("aria-describedby", "journal-status")
    expect(target).to_have_value("7")
    assert cell_in_db(school_data, s, day, n) == before
    # Fixed in place: the cell saves and loses the mark.
    target.focus()
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(target).to_have_class(SAVED)
    expect(target).not_to_have_class(re.compile(r"\binvalid\b"))
    expect(target).not_to_have_attribute("aria-invalid", "true")
    assert cell_in_db(school_data, s, day, n) == (None, ["4"])
    # The browser reports the refusal (400) as a failed load; nothing else may be red.
    assert unexpected(tab.errors, "status of 400") == [], "\n".join(tab.errors)


def test_a_save_lost_on_the_network_is_shown_and_retried_until_it_is_saved(server, school_data, lesson_day, tab):
    page = tab.page
    day, n = lesson_day
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}")
    s = students_on_page(page)[8]
    lost, posts = [], []

    def flaky(route):
        posts.append(route.request.post_data_json)
        if not lost:
            lost.append(route.request.post_data_json)
            route.abort()
        else:
            route.continue_()

    page.route(f"**/journals/{JOURNAL}/cell", flaky)
    target = cell(page, s, day, n)
    target.focus()
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(target).to_have_class(re.compile(r"\bfailed\b"))
    status = page.locator("#journal-status")
    expect(status).to_contain_text("Нет связи с сервером")
    expect(status).to_contain_text("Повторяю автоматически")
    assert lost and lost[0]["value"] == "4"
    # Retried without the teacher doing anything, until the server has it.
    expect(target).to_have_class(SAVED, timeout=15_000)
    expect(target).not_to_have_class(re.compile(r"\bfailed\b"))
    expect(status).to_have_text(re.compile(r"^Сохранено\. "))
    assert cell_in_db(school_data, s, day, n) == (None, ["4"])
    assert [p["value"] for p in posts] == ["4", "4"]        # the lost one and its retry, nothing more
    assert unexpected(tab.errors, "ERR_FAILED") == [], "\n".join(tab.errors)


def test_f2_shows_the_history_of_a_cell(server, school_data, lesson_day, tab):
    page = tab.page
    day, n = lesson_day
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}")
    s = students_on_page(page)[9]
    target = cell(page, s, day, n)
    for value in ("3", "4"):
        target.focus()
        page.keyboard.type(value)
        page.keyboard.press("Enter")
        expect(target).to_have_class(SAVED)
    target.focus()
    page.keyboard.press("F2")
    card = page.locator("#lesson-card")
    expect(card.get_by_role("heading", name="История клетки")).to_be_visible()
    # The newest two entries (the demo may have recorded the cell before it was emptied).
    rows = card.locator("table tbody tr")
    expect(rows.last.locator("td").nth(2)).to_have_text("3 (урок)")
    expect(rows.last.locator("td").nth(3)).to_have_text("4 (урок)")
    expect(rows.last.locator("td").nth(1)).to_have_text("Ершова Е.")
    expect(rows.nth(rows.count() - 2).locator("td").nth(3)).to_have_text("3 (урок)")
    expect(card.get_by_label("Отметка 4")).to_be_visible()
    # The keyboard stays in the grid; Escape in the panel brings it back there too.
    expect(target).to_be_focused()
    card.get_by_label("Отметка 4").focus()
    page.keyboard.press("Escape")
    expect(target).to_be_focused()
    # The grade's own work type: the row's average follows at once, as the server computes it.
    card.get_by_label("Отметка 4").select_option("control")
    expect(page.locator("#journal-status")).to_have_text("Вид работы изменён, средний балл пересчитан.")
    average = period_average(school_data, JOURNAL, s, day)
    expect(page.locator(f'tr[data-student="{s}"] [data-avg]')).to_have_text(f"{average:.2f}".replace(".", ","))
    assert tab.errors == [], "\n".join(tab.errors)


def test_a_topic_the_server_refuses_is_shown_in_the_panel(server, school_data, lesson_day, tab):
    page = tab.page
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}")
    (day, n), = lessons_of(school_data, JOURNAL, before=date.fromisoformat(lesson_day[0]), count=2)[1:]
    header = page.locator(f'a.lesson-link[data-lesson="{day}/{n}"]')
    if not header.count():
        pytest.skip("the lesson before is in another period")
    header.focus()
    page.keyboard.press("Enter")
    # A lesson with a recorded topic opens at its homework; without one, at the topic.
    recorded = q(school_data, "SELECT topic FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
                 (JOURNAL, day, n))
    first = "Домашнее задание" if recorded and recorded[0][0] else "Тема урока"
    expect(page.locator("#lesson-card").get_by_label(first)).to_be_focused()
    topic = page.locator("#lesson-card").get_by_label("Тема урока")
    topic.fill("Present Simple")
    topic.press("Enter")
    expect(page.locator("#lesson-card [role=alert]")).to_contain_text("на русском языке")
    expect(page.locator("#lesson-card").get_by_label("Тема урока")).to_be_focused()
    expect(page.locator("#lesson-card").get_by_label("Тема урока")).to_have_value("Present Simple")
    assert unexpected(tab.errors, "status of 400") == [], "\n".join(tab.errors)


def test_homework_lost_on_the_network_stays_in_the_form_and_saves_on_the_next_try(server, school_data, lesson_day,
                                                                                   tab):
    page = tab.page
    day, n = lesson_day
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}?lesson={day}/{n}")
    card = page.locator("#lesson-card")
    expect(card.get_by_label("Тема урока")).to_be_visible()
    page.route(f"**/journals/{JOURNAL}/lessons/{day}/{n}/homework", lambda route: route.abort())
    homework = card.get_by_label("Домашнее задание")
    homework.fill("Выучить правило на с. 87.")
    card.get_by_role("button", name="Сохранить задание").click()
    expect(page.locator("#journal-status")).to_contain_text("Не сохранено: нет связи с сервером.")
    expect(homework).to_have_value("Выучить правило на с. 87.")
    page.unroute(f"**/journals/{JOURNAL}/lessons/{day}/{n}/homework")
    card.get_by_role("button", name="Сохранить задание").click()
    expect(page.locator("#lesson-card .notice.ok")).to_have_text("Сохранено.")
    assert q(school_data, "SELECT h.text FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                          " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ?",
             (JOURNAL, day, n)) == [("Выучить правило на с. 87.",)]
    # The network failure is reported by the browser and by htmx; nothing else may be red.
    assert unexpected(tab.errors, "ERR_FAILED", "htmx:sendError", "htmx:afterRequest") == [], "\n".join(tab.errors)


def test_deep_link_opens_the_lesson_and_the_period_switcher_changes_the_columns(server, school_data, lesson_day,
                                                                                tab):
    page = tab.page
    day, n = lesson_day
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}?lesson={day}/{n}")
    expect(page.locator("#lesson-card h2")).to_contain_text(f"{n}-й урок")
    header = page.locator(f'a.lesson-link[data-lesson="{day}/{n}"]')
    expect(header).to_be_in_viewport()
    periods = page.get_by_role("navigation", name="Учебные периоды")
    expect(periods.locator("[aria-current=page]")).to_have_count(1)
    first = periods.get_by_role("link", name="1 четв.")
    first.click()
    expect(page).to_have_url(re.compile(r"\?period=\d+$"))
    expect(periods.locator("[aria-current=page]")).to_have_text("1 четв.")
    start, end = q(school_data, "SELECT starts_on, ends_on FROM study_period WHERE kind = 'quarter' AND number = 1")[0]
    dates = page.eval_on_selector_all("a.lesson-link", "links => links.map(a => a.dataset.lesson.split('/')[0])")
    assert dates and all(start <= d <= end for d in dates)
    assert tab.errors == [], "\n".join(tab.errors)


def test_the_grid_of_a_quarter_reads_well_on_a_school_pc(server, school_data, lesson_day, browser):
    """1366×768: the header row and the names stay in sight while scrolling, today's lesson
    is scrolled into view; screenshots of the grid and the lesson panel for a person to see."""
    pc = Page(browser, viewport={"width": 1366, "height": 768})
    try:
        page = pc.page
        day, n = lesson_day
        log_in(page, server, "teacher01")
        page.goto(f"{server}/journals/{JOURNAL}")
        expect(page.locator("#journal tbody tr[data-student]")).to_have_count(
            len(students_on_page(page)))
        header = page.locator(f'a.lesson-link[data-lesson="{day}/{n}"]')
        expect(header).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        page.screenshot(path=GRID_SHOT)
        scroller = page.locator(".grid-scroll")
        box = scroller.bounding_box()
        # Scrolled to the far right and bottom, the head row and the names are still in place.
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; el.scrollLeft = 0; el.scrollLeft = 200; }")
        head = page.locator("#journal thead th.name").bounding_box()
        assert abs(head["y"] - box["y"]) <= 2
        name = page.locator("#journal tbody tr[data-student] th.name").last.bounding_box()
        num = page.locator("#journal tbody tr[data-student] td.num").last.bounding_box()
        assert abs(num["x"] - box["x"]) <= 2 and name["x"] >= num["x"] + num["width"] - 1
        # A cell that the keyboard reaches under the sticky names is scrolled clear of them.
        scroller.evaluate("el => { el.scrollTop = 0; el.scrollLeft = el.scrollWidth; }")
        first_cell = page.locator("#journal tbody tr[data-student]").first.locator("input.g").first
        first_cell.focus()
        names_right = page.locator("#journal thead th.name").bounding_box()
        assert first_cell.bounding_box()["x"] >= names_right["x"] + names_right["width"] - 1
        # Opening a lesson brings its column out from under the averages.
        scroller.evaluate("el => { el.scrollLeft = 0; }")
        header.click()
        expect(page.locator("#lesson-card").get_by_label("Тема урока")).to_be_visible()
        mean = page.locator("#journal thead th.mean").bounding_box()
        column = header.bounding_box()
        assert column["x"] + column["width"] <= mean["x"] + 1
        page.screenshot(path=PANEL_SHOT)
        assert pc.errors == [], "\n".join(pc.errors)
    finally:
        pc.close()


def earlier_lesson(data: Path, lesson_day: tuple[str, int]) -> tuple[str, int]:
    """A recorded lesson of journal 1 before the one the keyboard test runs, in the same quarter
    if there is one (the other tests leave it alone)."""
    day, n = lesson_day
    start, _ = period_of(data, day)
    for d, m in lessons_of(data, JOURNAL, before=date.fromisoformat(day), count=40)[1:]:
        if q(data, "SELECT 1 FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?", (JOURNAL, d, m)):
            return d, m
    pytest.skip("no recorded lesson of journal 1 before the test's lesson")


def test_a_substitute_types_into_the_lesson_they_gave_and_nowhere_else(server, school_data, lesson_day, tab):
    page = tab.page
    day, n = earlier_lesson(school_data, lesson_day)
    t20 = q(school_data, "SELECT person_id FROM account WHERE login = 'teacher20'")[0][0]
    conn = db(school_data)
    conn.execute("UPDATE lesson SET status = 'substituted', substitute_id = ? WHERE journal_id = ? AND date = ?"
                 " AND lesson_number = ?", (t20, JOURNAL, day, n))
    conn.commit()
    conn.close()
    period = q(school_data, "SELECT id FROM study_period WHERE kind = 'quarter' AND ? BETWEEN starts_on AND ends_on",
               (day,))[0][0]
    log_in(page, server, "teacher20")
    page.goto(f"{server}/journals/{JOURNAL}?period={period}")
    s = students_on_page(page)[11]
    mine, other = cell(page, s, day, n), page.locator(f'tr[data-student="{s}"] input.g:not([data-d="{day}"])').first
    expect(other).to_have_attribute("readonly", "")
    mine.focus()
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(mine).to_have_class(SAVED)
    assert cell_in_db(school_data, s, day, n)[1] == ["4"]
    before = other.input_value()
    other.focus()
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    expect(other).to_have_value(before)
    assert tab.errors == [], "\n".join(tab.errors)


def test_the_deputy_is_asked_for_a_reason_when_the_server_needs_one(server, school_data, lesson_day, tab):
    """The year period closed, a quarter on screen: the grid does not know in advance; the
    server answers need_reason, the grid asks, and the save goes through with the reason."""
    page = tab.page
    day, n = earlier_lesson(school_data, lesson_day)
    year = q(school_data, "SELECT id FROM study_period WHERE kind = 'year' AND ? BETWEEN starts_on AND ends_on",
             (day,))[0][0]
    period = q(school_data, "SELECT id FROM study_period WHERE kind = 'quarter' AND ? BETWEEN starts_on AND ends_on",
               (day,))[0][0]
    conn = db(school_data)
    conn.execute("UPDATE study_period SET closed_at = '2026-11-01T00:00:00Z' WHERE id = ?", (year,))
    conn.commit()
    # The page asks in its own dialog (no window.prompt): a browser dialog would fail the test.
    page.on("dialog", lambda d: (d.dismiss(), pytest.fail(f"window.{d.type}: {d.message}")))
    try:
        log_in(page, server, "deputy")
        page.goto(f"{server}/journals/{JOURNAL}?period={period}")
        s = students_on_page(page)[12]
        target = cell(page, s, day, n)
        target.focus()
        page.keyboard.type("3")
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Изменение в закрытом периоде")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Период закрыт")
        reason = dialog.get_by_label("Причина изменения")
        expect(reason).to_be_focused()
        page.keyboard.type("исправление по служебной записке")
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(target).to_have_class(SAVED)
        assert cell_in_db(school_data, s, day, n)[1] == ["3"]
        assert q(school_data, "SELECT reason FROM audit_log ORDER BY id DESC LIMIT 1")[0][0] == \
            "исправление по служебной записке"
    finally:
        conn.execute("UPDATE study_period SET closed_at = NULL WHERE id = ?", (year,))
        conn.commit()
        conn.close()
    assert tab.errors == [] or all("400" in e for e in tab.errors), "\n".join(tab.errors)


def test_one_key_on_a_lessons_date_marks_the_register_taken_and_takes_it_back(server, school_data, lesson_day, tab):
    """Everyone was present: П on the lesson's date marks «посещаемость отмечена» (journal control
    counts it), without a mark in any cell; П again takes it back."""
    page = tab.page
    day, n = lesson_day
    log_in(page, server, "teacher01")
    open_journal(page, server)
    header = page.locator(f'a.lesson-link[data-lesson="{day}/{n}"]')
    taken = ("SELECT count(*) FROM register_taken r JOIN lesson l ON l.id = r.lesson_id"
             " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ?")
    before = q(school_data, taken, (JOURNAL, day, n))[0][0]
    header.focus()
    page.keyboard.press("KeyG")
    if before:  # the demo had it marked: the first press takes it back
        expect(header.locator(".mark-r")).to_have_count(0)
        page.keyboard.press("KeyG")
    expect(header.locator(".mark-r")).to_have_count(1)
    expect(page.locator(".journal-status")).to_contain_text("Посещаемость отмечена")
    assert q(school_data, taken, (JOURNAL, day, n)) == [(1,)]
    expect(header).to_be_focused()
    page.keyboard.press("KeyG")
    expect(header.locator(".mark-r")).to_have_count(0)
    assert q(school_data, taken, (JOURNAL, day, n)) == [(0,)]
    assert tab.errors == [], "\n".join(tab.errors)


def test_a_lessons_new_work_type_refreshes_the_averages_and_f2_names_the_work_types(server, school_data, lesson_day,
                                                                                   tab):
    page = tab.page
    day, _ = lesson_day
    start, _ = period_of(school_data, day)
    # An earlier lesson of this period with grades given as a plain lesson (weight 1).
    found = q(school_data, "SELECT l.date, l.lesson_number FROM lesson l WHERE l.journal_id = ? AND l.date >= ?"
                           " AND l.date < ? AND l.work_type = 'lesson' AND l.topic <> '' AND (SELECT count(*) FROM"
                           " grade g WHERE g.lesson_id = l.id) >= 3 ORDER BY l.date DESC, l.lesson_number LIMIT 1",
              (JOURNAL, start, day))
    if not found:
        pytest.skip("no earlier graded lesson in this period")
    (d, n), = found
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}")
    students = students_on_page(page)
    before = {s: page.locator(f'tr[data-student="{s}"] [data-avg]').text_content() for s in students}
    page.locator(f'a.lesson-link[data-lesson="{d}/{n}"]').click()
    card = page.locator("#lesson-card")
    card.get_by_label("Вид работы").select_option("control")
    card.get_by_role("button", name="Сохранить тему").click()
    expect(card.locator(".notice.ok")).to_have_text("Сохранено.")
    # Without a reload every row shows the average the server computes with the new weight.
    wanted = {}
    for s in students:
        avg = period_average(school_data, JOURNAL, s, day)
        wanted[s] = "" if avg is None else f"{avg:.2f}".replace(".", ",")
    assert any(wanted[s] != before[s].strip() for s in students), "the new weight must change some average"
    for s in students:
        expect(page.locator(f'tr[data-student="{s}"] [data-avg]')).to_have_text(wanted[s])
    # F2 on a graded cell of that lesson: the change reads «5 (урок) → 5 (контрольная работа)».
    graded = q(school_data, "SELECT g.student_id, g.value FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                            " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ? LIMIT 1", (JOURNAL, d, n))
    (s, value), = graded
    cell(page, s, d, n).focus()
    page.keyboard.press("F2")
    expect(card.get_by_role("heading", name="История клетки")).to_be_visible()
    last = card.locator("table tbody tr").last
    expect(last.locator("td").nth(2)).to_have_text(f"{value} (урок)")
    expect(last.locator("td").nth(3)).to_have_text(f"{value} (контрольная работа)")
    assert tab.errors == [], "\n".join(tab.errors)


CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


def test_the_grid_page_breaks_no_rule_of_the_content_security_policy(server, school_data, lesson_day, tab):
    """Every journal page once logged violations for `style=""` on the grid inputs: a
    violation of any directive, on load or while the grid is used, fails here."""
    page = tab.page
    day, n = lesson_day
    page.add_init_script(CSP_WATCH)
    log_in(page, server, "teacher01")
    page.goto(f"{server}/journals/{JOURNAL}")
    assert "content-security-policy" in {k.lower() for k in page.context.request.get(
        f"{server}/journals/{JOURNAL}").headers}
    s = students_on_page(page)[3]
    target = cell(page, s, day, n)
    target.focus()
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    expect(target).to_have_class(SAVED)
    target.focus()
    page.keyboard.press("F2")
    expect(page.locator("#lesson-card").get_by_role("heading", name="История клетки")).to_be_visible()
    page.locator(f'a.lesson-link[data-lesson="{day}/{n}"]').click()
    expect(page.locator("#lesson-card h2")).to_contain_text(f"{n}-й урок")
    page.locator(".journal-head .subnav a").last.click()   # the year's grid
    expect(page.locator("#journal")).to_be_visible()
    assert page.evaluate("window.__csp") == []
    assert [e for e in tab.errors if "Content Security Policy" in e] == []
