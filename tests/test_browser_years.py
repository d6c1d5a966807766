"""The deputy's walk through the end of a year in Chromium, on the small school in June 2028:
the closing checklist, closing the year, creating the next one, the director's order, each
class's decisions, applying the order — no console or CSP errors on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_browser import CHROMIUM_ARGS, CHROMIUM, Page, running_server, sync_api  # noqa: F401
from yearschool import PASSWORD, START, build

expect = sync_api.expect
SCREENSHOT = Path("/tmp/zhurnal-years.png")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_the_deputy_closes_the_year_prepares_the_next_and_promotes_in_a_browser(browser, tmp_path):
    data = tmp_path / "data"
    ids = build(data)
    y = ids["year_id"]
    with running_server(data, tmp_path, env={"ZHURNAL_CLOCK": f"{START + 1}-06-05T10:00"}) as base:
        tab = Page(browser)
        page = tab.page
        page.goto(base + "/login")
        page.get_by_label("Логин").fill("deputy")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page).to_have_url(base + "/")

        page.goto(base + "/school")
        page.get_by_role("link", name="Смена учебного года").click()
        expect(page.locator("h1")).to_have_text("Смена учебного года")
        page.get_by_role("link", name="Закрытие: периоды и год").click()
        expect(page.locator("#totals")).to_contain_text("уроков без темы")
        page.get_by_label(re.compile("закрыть учебный год")).check()
        page.get_by_role("button", name="Закрыть учебный год").click()
        expect(page.get_by_role("status")).to_have_text("Закрыто.")

        page.get_by_role("link", name="Создать следующий год").click()
        expect(page.locator("h1")).to_contain_text(f"{START + 1}/{START + 2}")
        page.get_by_role("button", name=re.compile("Создать учебный год")).click()
        expect(page.get_by_role("status")).to_have_text("Следующий учебный год создан.")
        expect(page.locator("#years")).to_contain_text("готовится")

        page.goto(f"{base}/school/years/{y}/promotion")
        page.get_by_label("Приказ №").fill("45-у")
        page.get_by_label("от").fill(f"{START + 1}-06-05")
        page.get_by_role("button", name="Сохранить приказ").click()
        expect(page.get_by_role("status")).to_have_text("Приказ сохранён.")
        for name in ("1А", "5А", "9А", "11А"):
            page.locator("#promotion-classes").get_by_role("link", name=name, exact=True).click()
            expect(page.locator("h1")).to_contain_text(name)
            page.get_by_role("button", name="Подтвердить решения класса").click()
            expect(page.get_by_role("status")).to_have_text("Решения по классу подтверждены.")
        expect(page.locator('#promotion-classes tr[data-class="5А"]')).to_contain_text("да")
        page.get_by_label(re.compile("исполнить приказ")).check()
        page.get_by_role("button", name="Перевести учащихся").click()
        expect(page.get_by_role("status")).to_have_text("Приказ исполнен: учащиеся переведены.")
        expect(page.locator("section.card").first).to_contain_text("исполнен")
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert tab.errors == [], tab.errors
        tab.close()
