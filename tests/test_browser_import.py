"""In a real browser: a deputy uploads a class list with errors, sees every bad row with its
line number, uploads the fixed file, checks the preview, confirms and finds the students
in the class list. The server and the browser are those of tests/test_browser.py."""

from __future__ import annotations

import re

from test_browser import browser, expect, log_in, school_data, server, tab  # noqa: F401 (fixtures)
from test_import import HEADER, csv_bytes

SCREENSHOT = "/tmp/zhurnal-import-errors.png"

GOOD = [
    ["5А", "Ёжиков", "Арсений", "Тимурович", "14.02.2015", "м", "очная",
     "Ёжикова", "Вероника", "Олеговна", "мать", "+7 900 700-10-20", ""],
    ["5А", "Пчёлкина", "Ульяна", "Романовна", "03.10.2014", "ж", "",
     "Пчёлкин", "Роман", "Игоревич", "отец", "", ""],
]


def test_deputy_fixes_a_class_list_with_errors_and_imports_it(server, tab, tmp_path):
    page = tab.page
    log_in(page, server, "deputy")
    page.goto(server + "/school/import")
    expect(page.get_by_role("heading", name="Импорт списков")).to_be_visible()
    card = page.locator("#import-students")

    bad = [list(GOOD[0]), list(GOOD[1]), list(GOOD[0])]
    bad[1][4] = "31.02.2014"          # line 3: no such date
    bad[1][0] = "5Я"                  # line 3: and no such class
    bad_file = tmp_path / "5А с ошибками.csv"
    bad_file.write_bytes(csv_bytes(bad, ";", "cp1251", HEADER[:13]))
    card.locator("input[type=file]").set_input_files(str(bad_file))
    card.get_by_role("button", name="Проверить файл").click()

    errors = page.locator("#import-errors")
    expect(errors.get_by_role("alert")).to_contain_text("строк с ошибками — 2")
    rows = errors.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").first).to_have_text("3")
    expect(rows.nth(1).locator("td").first).to_have_text("4")
    expect(rows.nth(0)).to_contain_text("не дата")
    expect(rows.nth(0)).to_contain_text("Класс 5Я не найден")
    expect(rows.nth(1)).to_contain_text("повторяется: уже есть в строке 2")
    page.screenshot(path=SCREENSHOT, full_page=True)

    good_file = tmp_path / "5А.csv"
    good_file.write_bytes(csv_bytes(GOOD, ";", "cp1251", HEADER[:13]))
    page.locator("#import-students input[type=file]").set_input_files(str(good_file))
    page.locator("#import-students").get_by_role("button", name="Проверить файл").click()

    expect(page).to_have_url(re.compile(r"/school/import/preview\?token="))
    expect(page.get_by_role("heading", name="Проверка файла «5А.csv»")).to_be_visible()
    counts = page.locator("#import-counts")
    expect(counts.locator("div", has_text="Новых учащихся").locator("dd")).to_have_text("2")
    expect(counts.locator("div", has_text="Новых родителей").locator("dd")).to_have_text("2")
    page.get_by_role("button", name="Импортировать").click()

    expect(page.get_by_role("status")).to_have_text("Импорт выполнен.")
    page.get_by_role("link", name="5А", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/classes/\d+$"))
    expect(page.get_by_text("Ёжиков Арсений Тимурович")).to_be_visible()
    expect(page.get_by_text("Пчёлкина Ульяна Романовна")).to_be_visible()
    # The error page is a 400 answer, which the browser reports as a failed load; nothing else may be red.
    assert [e for e in tab.errors if "status of 400" not in e] == [], "\n".join(tab.errors)
