"""In a real browser against the real server: the hall kiosk logs a parent out after the idle
time and leaves nothing for Back, refuses staff; a parent answers the class teacher's message,
and cannot open another family's thread. The kiosk's idle time is 3 s here
(ZHURNAL_KIOSK_IDLE_SECONDS) so the test does not wait 90 s."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

# The browser, tab and server helpers of the main browser tests (skips this module too when
# Chromium or Playwright is missing).
from test_browser import Page, browser, expect, log_in, running_server, school_data  # noqa: F401

from conftest import PASSWORD

IDLE = 3


@pytest.fixture(scope="module")
def server(school_data, tmp_path_factory) -> str:  # noqa: F811
    """`zhurnal serve` in its own process with a 3-second kiosk idle time; its base URL."""
    with running_server(school_data, tmp_path_factory.mktemp("kiosk-server-log"),
                        env={"ZHURNAL_KIOSK_IDLE_SECONDS": str(IDLE)}) as base:
        yield base


@pytest.fixture
def kiosk(browser):  # noqa: F811
    """A touch screen in the hall."""
    t = Page(browser, viewport={"width": 1280, "height": 1024}, has_touch=True)
    yield t
    t.close()


def real_errors(tab) -> list[str]:
    # Refusals (401/403) show up as failed resource loads; nothing else may be red.
    return [e for e in tab.errors if not re.search(r"\b40[13]\b", e)]


def kiosk_log_in(page, base: str, login_name: str, password: str = PASSWORD) -> None:
    page.goto(base + "/kiosk")
    expect(page.get_by_role("heading", name="Дневник для родителей и учащихся")).to_be_visible()
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def test_a_parent_on_the_kiosk_is_logged_out_after_the_idle_time(server, kiosk):
    page = kiosk.page
    kiosk_log_in(page, server, "parent0001")
    expect(page).to_have_url(server + "/kiosk")
    diary_buttons = page.get_by_role("link", name="Дневник на неделю")
    expect(diary_buttons).to_have_count(2)  # both children
    assert page.locator("form[action='/kiosk/login']").count() == 0
    diary_buttons.first.click()
    expect(page).to_have_url(re.compile(r"/diary\?student=\d+$"))
    expect(page.get_by_role("button", name="Выход")).to_be_visible()
    expect(page.locator("[data-kiosk-seconds]")).to_be_visible()
    # Nobody touches the screen: the kiosk logs out by itself and says why.
    started = time.monotonic()
    expect(page.get_by_text("Сеанс завершён")).to_be_visible(timeout=(IDLE + 5) * 1000)
    assert time.monotonic() - started >= IDLE - 1.5
    assert page.url == server + "/kiosk"
    expect(page.get_by_label("Логин")).to_have_value("")
    # Back does not bring the diary back: the diary page was replaced, not left in the history.
    page.go_back()
    expect(page.get_by_label("Логин")).to_be_visible()
    assert "/diary" not in page.url
    # Nor does its address: the session is gone on the server too.
    page.goto(server + "/diary")
    expect(page).to_have_url(server + "/kiosk")
    expect(page.get_by_label("Логин")).to_be_visible()
    assert real_errors(kiosk) == [], "\n".join(kiosk.errors)


def test_touching_the_screen_keeps_the_kiosk_session_and_exit_ends_it(server, kiosk):
    page = kiosk.page
    kiosk_log_in(page, server, "parent0001")
    page.get_by_role("link", name="Оценки и средний балл").first.click()
    expect(page).to_have_url(re.compile(r"/diary/grades\?student=\d+$"))
    for _ in range(4):  # twice the idle time, with input every second
        page.wait_for_timeout(1000)
        page.mouse.wheel(0, 40)
    expect(page).to_have_url(re.compile(r"/diary/grades"))
    page.get_by_role("link", name="Меню").click()
    expect(page).to_have_url(server + "/kiosk")
    page.get_by_role("button", name="Выход").click()
    expect(page.get_by_text("Вы вышли")).to_be_visible()
    page.goto(server + "/diary")
    expect(page).to_have_url(server + "/kiosk")
    assert real_errors(kiosk) == [], "\n".join(kiosk.errors)


def test_staff_are_refused_on_the_kiosk(server, kiosk):
    page = kiosk.page
    kiosk_log_in(page, server, "teacher01")
    expect(page.get_by_role("alert")).to_have_text(
        "На киоске входят только родители и учащиеся. Сотрудники входят со своего компьютера.")
    expect(page.get_by_label("Логин")).to_have_value("")
    # The normal login page is not offered on the kiosk either.
    page.goto(server + "/login")
    expect(page).to_have_url(server + "/kiosk")
    assert real_errors(kiosk) == [], "\n".join(kiosk.errors)


def _class_5a(data: Path) -> int:
    conn = sqlite3.connect(f"file:{data / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT c.id FROM class c JOIN account a ON a.person_id = c.class_teacher_id"
                            " WHERE a.login = 'teacher01'").fetchone()[0]
    finally:
        conn.close()


def test_a_parent_replies_to_the_class_teachers_message(server, school_data, browser):  # noqa: F811
    # The class teacher writes to 5А's parents through the JSON API.
    teacher = browser.new_context()
    r = teacher.request.post(server + "/api/v1/auth/login", data={"login": "teacher01", "password": PASSWORD})
    assert r.ok, r.text()
    csrf = r.json()["csrf_token"]
    r = teacher.request.post(server + "/api/v1/messages", headers={"X-CSRF-Token": csrf},
                             data={"kind": "class_parents", "class_id": _class_5a(school_data),
                                   "subject": "Родительское собрание", "body": "Собрание в четверг в 18:00."})
    assert r.status == 201, r.text()
    thread_id = r.json()["thread_id"]

    tab = Page(browser)
    try:
        page = tab.page
        log_in(page, server, "parent0001")
        page.get_by_role("link", name="Сообщения (1)").click()
        expect(page).to_have_url(server + "/messages")
        page.get_by_role("link", name="Родительское собрание").click()
        expect(page).to_have_url(f"{server}/messages/{thread_id}")
        expect(page.get_by_text("Собрание в четверг в 18:00.")).to_be_visible()
        expect(page.get_by_text("Ответ увидит только Ершова Елена Родионовна")).to_be_visible()
        # Read now: the menu no longer counts it.
        menu = page.get_by_role("navigation", name="Разделы")
        expect(menu.get_by_role("link", name="Сообщения", exact=True)).to_be_visible()
        page.get_by_label("Сообщение").fill("Спасибо, будем обязательно.")
        page.get_by_role("button", name="Отправить ответ").click()
        expect(page).to_have_url(re.compile(rf"/messages/{thread_id}#last$"))
        expect(page.get_by_text("Спасибо, будем обязательно.")).to_be_visible()
        assert tab.errors == [], "\n".join(tab.errors)
    finally:
        tab.close()

    thread = teacher.request.get(f"{server}/api/v1/messages/{thread_id}").json()
    assert [m["body"] for m in thread["messages"]] == ["Собрание в четверг в 18:00.", "Спасибо, будем обязательно."]
    assert thread["messages"][0]["receipts"]["read"] == 1
    teacher.close()

    # Another family changing the id in the address sees nothing of it.
    other = Page(browser)
    try:
        log_in(other.page, server, "parent0100")
        other.page.goto(f"{server}/messages/{thread_id}")
        expect(other.page.get_by_text("Это сообщение адресовано не вам.")).to_be_visible()
        expect(other.page.get_by_text("Собрание в четверг")).to_have_count(0)
        expect(other.page.get_by_text("Спасибо, будем обязательно.")).to_have_count(0)
    finally:
        other.close()


def test_a_teacher_picks_a_parent_from_the_class_list_and_writes(server, browser):  # noqa: F811
    tab = Page(browser)
    try:
        page = tab.page
        log_in(page, server, "teacher01")
        page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Сообщения").click()
        page.get_by_role("link", name="Написать сообщение").click()
        expect(page).to_have_url(server + "/messages/new")
        # Choosing another list brings its people in place (htmx), the rest of the form stays.
        page.get_by_role("textbox", name="Тема", exact=True).fill("Справка")
        page.get_by_label("Список").select_option(label="5А класс: учащиеся и родители")
        person = page.get_by_role("combobox", name=re.compile("^Получатель"))
        expect(person.locator("option", has_text="Абрамова Екатерина Петровна")).to_have_count(1)
        person.select_option(label=person.locator("option", has_text="Абрамова Екатерина Петровна").inner_text())
        expect(page.get_by_role("textbox", name="Тема", exact=True)).to_have_value("Справка")
        page.get_by_label("Сообщение").fill("Принесите, пожалуйста, справку.")
        page.get_by_role("button", name="Отправить").click()
        expect(page).to_have_url(re.compile(r"/messages/\d+$"))
        expect(page.get_by_text("Ещё не прочитано")).to_be_visible()
        assert tab.errors == [], "\n".join(tab.errors)
    finally:
        tab.close()
