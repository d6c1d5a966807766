"""In a real browser, with the files schools really have (tests/samples/): the deputy loads the
«Сетевой город» class report — class only in its title, parents in one multi-line cell — and
sees every parent arrive; a teacher loads the КТП from «Конструктор рабочих программ» as the
.docx it is, checks the preview and saves it. The server and the browser are those of
tests/test_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

from test_browser import browser, expect, log_in, school_data, server, tab  # noqa: F401 (fixtures)

SAMPLES = Path(__file__).resolve().parent / "samples"


def test_deputy_loads_a_class_report_with_parents_as_it_is(server, tab):
    page = tab.page
    log_in(page, server, "deputy")
    page.goto(server + "/school/import")
    card = page.locator("#import-students")
    expect(card.locator("input[type=file]")).to_have_attribute("accept", re.compile(r"\.xls,.*\.ods.*\.docx"))
    card.locator("input[type=file]").set_input_files(str(SAMPLES / "01-setevoy-gorod-5A.xlsx"))
    card.get_by_role("button", name="Проверить файл").click()

    expect(page).to_have_url(re.compile(r"/school/import/preview\?token="))
    expect(page.locator("#class-source")).to_contain_text("Класс 5А взят из заголовка над таблицей")
    expect(page.locator("#parents-summary")).to_have_text("Родителей в файле: 9, будет загружено: 9.")
    expect(page.locator("#skipped-rows")).to_contain_text("итоговая строка — «Всего: 6 обучающихся")
    students = page.locator("#students-table")
    expect(students).to_contain_text("Гусейнов Тимур Эльдар оглы")
    expect(students).to_contain_text("Гусейнова Севиль Али кызы — мать, +7 922 111-22-33")
    counts = page.locator("#import-counts")
    expect(counts.locator("div", has_text="Новых учащихся").locator("dd")).to_have_text("6")
    page.screenshot(path="/tmp/zhurnal-import-setevoy.png", full_page=True)
    page.get_by_role("button", name="Импортировать").click()

    expect(page.get_by_role("status")).to_have_text("Импорт выполнен.")
    page.get_by_role("link", name="5А", exact=True).first.click()
    expect(page.get_by_text("Ёлкина Алёна Сергеевна")).to_be_visible()
    assert tab.errors == [], "\n".join(tab.errors)


def test_teacher_loads_a_konstruktor_ktp_from_word(server, tab):
    page = tab.page
    log_in(page, server, "teacher01")
    page.goto(server + "/journals/1/plan")
    form = page.locator("#plan-import")
    expect(form.locator("input[type=file]")).to_have_attribute("accept", re.compile(r"\.docx"))
    form.locator("input[type=file]").set_input_files(str(SAMPLES / "09-ktp-konstruktor.docx"))
    form.get_by_role("button", name="Проверить файл").click()

    expect(page).to_have_url(re.compile(r"/journals/1/plan/preview\?token="))
    expect(page.locator("#plan-figures")).to_contain_text("Тем 170, часов 170, с датой 0")
    expect(page.locator("#plan-figures")).to_contain_text("контрольная работа — 17")
    expect(page.locator("#skipped-rows")).to_contain_text("ОБЩЕЕ КОЛИЧЕСТВО ЧАСОВ ПО ПРОГРАММЕ")
    expect(page.locator("#plan-rows tbody tr")).to_have_count(170)
    page.screenshot(path="/tmp/zhurnal-ktp-preview.png", full_page=False)
    page.get_by_role("button", name="Загрузить КТП").click()

    expect(page).to_have_url(re.compile(r"/journals/1/plan"))
    expect(page.locator("#plan")).to_contain_text("Входная контрольная работа")
    expect(page.get_by_role("status")).to_contain_text("Файл «09-ktp-konstruktor.docx»")
    assert tab.errors == [], "\n".join(tab.errors)
