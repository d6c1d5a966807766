"""In a real browser against the real server process: logging in and out, the home page
of a teacher and of a parent, no console or CSP errors, htmx loaded, phone-sized screens.

Uses Debian's Chromium (/usr/bin/chromium) driven by Playwright; the server is
`python -m server.cli serve` on 127.0.0.1 with mDNS off."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests skipped",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
expect = sync_api.expect

from conftest import PASSWORD  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = Path("/tmp/zhurnal-home.png")
# Chromium asks every site for /favicon.ico; the server has none yet, so the first tab
# logs a 404 for it. That is no fault of a page: it is ignored here (and reported), and
# once the server serves an icon this can go.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def school_data(demo_template, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(demo_template, target)
    return target


@contextlib.contextmanager
def running_server(data: Path, log_dir: Path, env: dict | None = None):
    """`zhurnal serve` on a free loopback port in its own process; yields its base URL."""
    port = free_port()
    log = (log_dir / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--host", "127.0.0.1",
         "--port", str(port), "--no-mdns"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read()}")
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the server did not answer within 30 s:\n{log.read()}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def server(school_data, tmp_path_factory) -> str:
    """The real server in its own process; its base URL."""
    with running_server(school_data, tmp_path_factory.mktemp("server-log")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A browser tab that records what would show up red in the developer console."""

    def __init__(self, browser, **context_options):
        self.context = browser.new_context(locale="ru-RU", **context_options)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("requestfailed", self._request_failed)

    def _request_failed(self, request) -> None:
        # A request cut short by the next navigation (the favicon, typically) is not a failure.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"requestfailed: {request.url} ({request.failure})")

    def _console(self, msg) -> None:
        if msg.type == "error":
            text = f"console: {msg.text} ({msg.location.get('url')})"
            self.errors.append(text)

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser):
    t = Page(browser)
    yield t
    t.close()


def log_in(page, base: str, login_name: str, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(base + "/")


def children_names(data: Path, parent_login: str) -> list[str]:
    conn = sqlite3.connect(f"file:{data / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT p.last_name || ' ' || p.first_name || ' ' || p.middle_name FROM account a"
            " JOIN guardian g ON g.parent_id = a.person_id JOIN person p ON p.id = g.student_id"
            " WHERE a.login = ? ORDER BY p.birth_date", (parent_login,)).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def test_teacher_logs_in_from_the_russian_login_page_sees_their_class_and_logs_out(server, tab):
    page = tab.page
    page.goto(server + "/")
    expect(page).to_have_url(server + "/login")
    expect(page.get_by_role("heading", name="Вход в электронный журнал")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "ru"

    page.get_by_label("Логин").fill("teacher01")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()

    expect(page).to_have_url(server + "/")
    expect(page.get_by_role("heading", name="Классный руководитель")).to_be_visible()
    class_link = page.get_by_role("link", name="5А класс")
    expect(class_link).to_be_visible()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The class list opens from the link and comes back with the browser's Back.
    class_link.click()
    expect(page).to_have_url(re.compile(r"/classes/\d+$"))
    expect(page.get_by_text("5А", exact=False).first).to_be_visible()
    page.go_back()
    expect(page).to_have_url(server + "/")

    page.get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(server + "/login")
    expect(page.get_by_role("heading", name="Вход в электронный журнал")).to_be_visible()
    # Logged out for real: the home page sends back to the login page.
    page.goto(server + "/")
    expect(page).to_have_url(server + "/login")
    assert tab.errors == []


def test_a_wrong_password_shows_a_russian_message_and_keeps_the_login(server, tab):
    page = tab.page
    page.goto(server + "/login")
    page.get_by_label("Логин").fill("teacher01")
    page.get_by_label("Пароль").fill("not-the-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text("Неверный логин или пароль.")
    expect(page.get_by_label("Логин")).to_have_value("teacher01")
    # The browser reports the 401 answer as a failed resource load; nothing else may be red.
    assert [e for e in tab.errors if "401" not in e] == []


def test_pages_load_htmx_and_show_no_console_or_security_policy_errors(server, tab):
    page = tab.page
    page.goto(server + "/login")
    assert page.evaluate("typeof htmx") == "object"
    log_in(page, server, "sysadmin")
    assert page.evaluate("typeof htmx") == "object"
    for path in ("/", "/admin/logins", "/password"):
        page.goto(server + path)
        assert page.evaluate("typeof htmx") == "object", path
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)", path
    assert tab.errors == [], "\n".join(tab.errors)


def test_login_page_fits_a_phone_screen_without_sideways_scrolling(server, browser):
    phone = Page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                 has_touch=True)
    try:
        page = phone.page
        page.goto(server + "/login")
        expect(page.get_by_role("heading", name="Вход в электронный журнал")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        button = page.get_by_role("button", name="Войти").bounding_box()
        assert button and button["x"] >= 0 and button["x"] + button["width"] <= 390
        # The home page after logging in fits too.
        log_in(page, server, "teacher01")
        expect(page.get_by_role("link", name="5А класс")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.errors == [], "\n".join(phone.errors)
    finally:
        phone.close()


def test_journal_list_and_class_page_fit_a_phone_screen(server, browser):
    """The outside walk found /journals 421 px and /classes/{id} 527 px wide on a 390 px phone."""
    phone = Page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                 has_touch=True)
    try:
        page = phone.page
        log_in(page, server, "teacher01")
        widths = {}
        for path in ("/journals", "/classes/1"):
            page.goto(server + path)
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        assert widths == {"/journals": 390, "/classes/1": 390}, widths
        # The class list's table scrolls sideways in its own box (the wrapper or the table itself,
        # static/zhurnal.css): every column is still there.
        box = page.locator(".phone-scroll")
        assert box.evaluate("""b => [b, b.querySelector('table')].some(e => e && e.scrollWidth > e.clientWidth
                                  && getComputedStyle(e).overflowX === 'auto')""")
        assert phone.errors == [], "\n".join(phone.errors)
    finally:
        phone.close()


def test_parent_logs_in_and_sees_both_children(server, school_data, tab):
    names = children_names(school_data, "parent0001")
    assert len(names) == 2
    page = tab.page
    log_in(page, server, "parent0001")
    section = page.locator("#role-parent")
    expect(section.get_by_role("heading", name="Мои дети")).to_be_visible()
    for name in names:
        expect(section.get_by_text(name)).to_be_visible()
    # A parent is not shown staff sections.
    expect(page.get_by_role("heading", name="Классный руководитель")).to_have_count(0)
    assert tab.errors == [], "\n".join(tab.errors)
