"""In a real browser: a file over an upload's limit gets the Russian page that names the limit,
not a reset connection (a browser sends the whole body before it reads an answer: the server
reads the refused body to its end first, server/web/errors.py). The server and the browser
are those of tests/test_browser.py."""

from __future__ import annotations

from test_browser import browser, expect, log_in, school_data, server, tab  # noqa: F401 (fixtures)


def test_a_class_list_over_the_limit_shows_the_russian_message_in_the_browser(server, tab, tmp_path):
    page = tab.page
    log_in(page, server, "deputy")
    page.goto(server + "/school/import")
    big = tmp_path / "весь список школы.csv"
    big.write_bytes(b"x" * (15 * 1024 * 1024))
    card = page.locator("#import-students")
    card.locator("input[type=file]").set_input_files(str(big))
    card.get_by_role("button", name="Проверить файл").click()
    expect(page.locator("body")).to_contain_text("Файл больше 10 МБ", timeout=30_000)
    expect(page.locator("h1")).to_contain_text("Слишком большой запрос")


def test_attachments_over_the_limit_show_the_russian_message_in_the_browser(server, tab, tmp_path):
    page = tab.page
    log_in(page, server, "teacher01")
    page.goto(server + "/messages/new")
    page.locator("input[name=subject]").fill("Фотографии с экскурсии")
    page.locator("textarea[name=body]").fill("Смотрите вложения.")
    big = tmp_path / "фото.zip"
    big.write_bytes(b"x" * (17 * 1024 * 1024))
    page.locator("input[type=file][name=files]").set_input_files(str(big))
    page.locator("form.message-form button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("Вложения слишком велики", timeout=30_000)
    expect(page.locator("body")).to_contain_text("каждый не больше 5 МБ")
