"""In a real browser: the deputy builds 5А's first-quarter archive on /archive, watches its
progress (which survives a reload), and downloads a journal's PDF — the very file the manifest
lists. The server and the browser are those of tests/test_browser.py."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from playwright.sync_api import expect
from test_browser import Page, browser, log_in, school_data, server, tab  # noqa: F401 (fixtures)


def test_the_deputy_builds_the_archive_sees_its_progress_and_downloads_a_pdf(server, tab, school_data):  # noqa: F811
    conn = sqlite3.connect(school_data / "zhurnal.sqlite3")
    year = "(SELECT id FROM academic_year WHERE status = 'open')"
    class_id = conn.execute(f"SELECT id FROM class WHERE parallel = 5 AND letter = 'А' AND year_id = {year}").fetchone()[0]
    period_id = conn.execute(f"SELECT id FROM study_period WHERE kind = 'quarter' AND number = 1 AND year_id = {year}").fetchone()[0]
    conn.close()
    page = tab.page
    log_in(page, server, "deputy")
    page.goto(server + "/archive")
    expect(page.get_by_role("heading", name="Архив журналов")).to_be_visible()
    expect(page.locator("#archives")).to_contain_text("Архивов пока нет")
    page.get_by_label("Период").select_option(f"p{period_id}")
    page.locator(f'input[name="classes"][value="{class_id}"]').check()
    page.get_by_role("button", name="Собрать").click()
    expect(page.locator(".notice.ok")).to_contain_text("Сборка архива начата")
    progress = page.locator("#archive-progress")
    expect(progress).to_contain_text("идёт сборка")
    expect(progress.locator("progress")).to_be_visible()
    expect(progress).to_contain_text("1-я четверть", timeout=30_000)   # the worker's own figures, polled
    page.reload()                                                      # the build goes on without the page
    expect(progress).to_contain_text("идёт сборка")
    expect(page.get_by_role("button", name="Собрать")).to_be_disabled()
    expect(progress).to_contain_text("собран", timeout=240_000)
    progress.get_by_role("link", name="Обновить список").click()
    archives = page.locator("#archives")
    archives.locator("summary").first.click()
    link = archives.get_by_role("link", name="5А_Математика_ж5.pdf")
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    blob = open(path, "rb").read()
    assert blob.startswith(b"%PDF")
    folder = next(p for p in (school_data / "archive").iterdir() if not p.name.startswith("."))
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = next(f for f in manifest["files"] if f["name"] == "5А_Математика_ж5.pdf")
    assert hashlib.sha256(blob).hexdigest() == listed["sha256"]
    assert tab.errors == [], "\n".join(tab.errors)
