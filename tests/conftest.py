"""Fixtures: schools built in temp directories through the app's own functions,
and HTTP clients logged in as a given person."""

from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from litestar.testing import TestClient

from server import clock
from server.app import create_app
from server.config import load_settings
from server.demo import build_demo

PASSWORD = "demo-parol"
SHARED = Path(__file__).resolve().parents[2] / "shared"

# One login per role for the access tests: teacher20 teaches and has no class.
ROLE_LOGINS = {
    "director": "director",
    "deputy": "deputy",
    "sysadmin": "sysadmin",
    "teacher": "teacher20",
    "class_teacher": "teacher01",
    "staff": "staff01",
    "parent": "parent0001",
    "student": "student0001",
}


# The whole suite runs on the program's clock set to a fixed moment — a Wednesday in the middle
# of the second quarter, with the first quarter's grades given — so it passes on any day of the
# year. Servers and commands the tests start as processes get the same moment (ZHURNAL_CLOCK);
# a test that needs another date (the first days of September, holidays, the summer) moves the
# clock itself.
TEST_NOW = "2026-11-18T10:15"
os.environ["ZHURNAL_CLOCK"] = TEST_NOW
clock.set_now(TEST_NOW)
# Servers the tests start as processes run one worker, as before `--workers` existed; the
# tests of several workers (tests/test_workers.py) ask for them.
os.environ["ZHURNAL_WORKERS"] = "1"


@pytest.fixture(autouse=True)
def _back_at_the_test_moment():
    """A test may move the program's clock (clock.advance(seconds=91) instead of sleeping);
    the next test starts at the suite's moment again."""
    yield
    clock.set_now(TEST_NOW)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo school, built once per test run; tests get copies."""
    data = tmp_path_factory.mktemp("demo-template")
    build_demo(load_settings(data, mdns=False), PASSWORD)
    return data


@pytest.fixture
def data_dir(demo_template, tmp_path) -> Path:
    """A fresh copy of the demo school's data folder."""
    target = tmp_path / "data"
    shutil.copytree(demo_template, target)
    return target


def make_client(data: Path, **settings) -> TestClient:
    app = create_app(load_settings(data, **{"mdns": False, **settings}))
    return TestClient(app=app, base_url="http://testserver.local")


@pytest.fixture
def client(data_dir):
    with make_client(data_dir) as c:
        yield c


@pytest.fixture
def empty_client(tmp_path):
    with make_client(tmp_path / "empty") as c:
        yield c


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def login(client: TestClient, login_name: str, password: str = PASSWORD, expect: int = 303):
    """Log in through the login form as a person would; returns the POST response."""
    page = client.get("/login")
    token = csrf_from(page.text) if page.status_code == 200 else ""
    r = client.post("/login", data={"login": login_name, "password": password, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == expect, (r.status_code, r.text[:500])
    return r


def session_csrf(client: TestClient) -> str:
    """The logged-in session's CSRF token, as a page carries it."""
    return csrf_from(client.get("/password").text)


def today() -> date:
    return clock.today()


# --- CI: a missing component fails the run -------------------------------------------------
# Tests that need Chromium, `age` or PostgreSQL skip with a reason that says "is not
# installed" on a machine without them (a user's clone). In CI (CI=true, set by .ci/run)
# such a skip fails the run instead: browser and interop tests must not silently vanish.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MISSING = "is not installed"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    missing = sorted({str(rep.longrepr[2] if isinstance(rep.longrepr, tuple) else rep.longrepr)
                      for rep in skipped if MISSING in str(rep.longrepr)})
    if missing:
        reporter.ensure_newline()
        reporter.write_line("CI: нужные тестам компоненты не установлены — это ошибка, а не пропуск:", red=True)
        for reason in missing:
            reporter.write_line("    " + reason, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
