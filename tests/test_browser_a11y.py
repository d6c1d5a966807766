"""Accessibility in a real browser (issue 20): axe-core (WCAG 2.1 A/AA and WCAG 2.2 target size)
on every page family at desktop, phone (390×844) and kiosk (1080×1920) sizes, no page that
scrolls sideways on a phone, focus rings that can be seen, errors tied to their fields, and a
teacher who reaches the grades with a few key presses.

axe-core is a test tool vendored in tests/vendor/axe-core/ (MPL-2.0); it is injected into the
page under test and never served by Zhurnal. The server and the browser are those of
tests/test_browser.py."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from test_browser import Page, browser, expect, log_in, server, school_data  # noqa: F401 (fixtures)

from conftest import PASSWORD

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
KIOSK = {"width": 1080, "height": 1920}


def q(data: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{data / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def ids(school_data) -> dict:
    """Ids of this year's things the pages are opened with."""
    d = school_data
    year = q(d, "SELECT id FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1")[0][0]
    cls = q(d, "SELECT id FROM class WHERE year_id = ? ORDER BY id LIMIT 1", (year,))[0][0]
    journal = q(d, "SELECT j.id FROM journal j JOIN account a ON a.person_id = j.teacher_id"
                   " WHERE a.login = 'teacher01' AND j.year_id = ? ORDER BY j.id LIMIT 1", (year,))[0][0]
    group = q(d, "SELECT id FROM study_group WHERE year_id = ? ORDER BY id LIMIT 1", (year,))
    person = q(d, "SELECT person_id FROM account WHERE login = 'teacher01'")[0][0]
    student = q(d, "SELECT person_id FROM account WHERE login = 'student0001'")[0][0]
    lesson = q(d, "SELECT date, lesson_number FROM lesson WHERE journal_id = ? ORDER BY date DESC LIMIT 1",
               (journal,))
    return {"year": year, "class": cls, "journal": journal, "group": group[0][0] if group else None,
            "person": person, "student": student, "lesson": lesson[0] if lesson else None}


def pages_of(role: str, ids: dict) -> list[str]:
    j, c, y = ids["journal"], ids["class"], ids["year"]
    if role == "deputy":
        found = ["/", "/journals", f"/journals/{j}", f"/journals/{j}/plan", "/reports", "/reports/progress",
                 "/reports/attendance", "/reports/journal-control", f"/reports/classes/{c}/summary",
                 "/messages", "/messages/new", "/school", "/school/start", "/school/subjects", "/school/classes",
                 f"/school/classes/{c}", "/school/groups", "/school/staff", f"/school/staff/{ids['person']}",
                 "/school/staff/credentials", "/school/load", "/school/timetable", "/school/bells",
                 "/school/changes", "/school/import", "/school/accounts", "/school/access", "/school/grading",
                 f"/school/years/{y}", f"/classes/{c}", f"/classes/{c}/credentials", f"/classes/{c}/timetable",
                 f"/students/{ids['student']}", "/admin/logins", "/admin/backups", "/admin/sync", "/password"]
        if ids["group"]:
            found.append(f"/school/groups/{ids['group']}")
        return found
    if role == "teacher":
        found = ["/", "/journals", f"/journals/{j}", "/my/timetable", "/reports/my-journals", "/my-class"]
        if ids["lesson"]:
            day, n = ids["lesson"]
            found.append(f"/journals/{j}/lessons/{day}/{n}")
        return found
    return ["/", "/diary", "/diary/grades", "/diary/attendance", "/profile", "/messages"]


LOGINS = {"deputy": "deputy", "teacher": "teacher01", "parent": "parent0001"}


def audit(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line per rule with its first targets."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.map(v => [v.id, v.nodes.length, v.nodes.slice(0, 3).map(n => n.target.join(' '))]);
    }""", TAGS)
    return [f"{rule} ×{count}: {', '.join(targets)}" for rule, count, targets in result]


def sideways(page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits the screen)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


SMALLEST_TEXT = """() => {
    // The smallest font size of visible text on screen, and where; print sheets (the slips, the paper
    // diary), which keep their printed point sizes, are left out.
    let min = 99, where = "";
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
        const node = walk.currentNode, el = node.parentElement;
        if (!node.textContent.trim() || !el.getClientRects().length || el.closest(".slip-sheet, .diary-sheet")) continue;
        const style = getComputedStyle(el);
        if (style.visibility === "hidden" || style.clip === "rect(0px, 0px, 0px, 0px)") continue;
        const size = parseFloat(style.fontSize);
        if (size < min) { min = size; where = el.tagName.toLowerCase() + "." + el.className + " «" + node.textContent.trim().slice(0, 20) + "»"; }
    }
    return [min, where];
}"""


def tab_for(browser, server, role: str, viewport: dict, **options) -> Page:  # noqa: F811
    t = Page(browser, viewport=viewport, bypass_csp=True, **options)  # axe is injected as an inline script
    if role != "anonymous":
        log_in(t.page, server, LOGINS[role])
    return t


@pytest.mark.parametrize("role", ["deputy", "teacher", "parent"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_passes_axe_and_fits_a_phone(server, browser, ids, role, size):  # noqa: F811
    viewport = DESKTOP if size == "desktop" else PHONE
    t = tab_for(browser, server, role, viewport)
    problems = []
    try:
        for path in pages_of(role, ids):
            t.page.goto(server + path)
            t.page.wait_for_load_state("networkidle")
            for line in audit(t.page):
                problems.append(f"{path}: {line}")
            smallest, where = t.page.evaluate(SMALLEST_TEXT)
            if smallest < 12:
                problems.append(f"{path}: text of {smallest} px ({where})")
            if size == "phone" and (extra := sideways(t.page)) > 0:
                problems.append(f"{path}: scrolls sideways by {extra} px at 390 px")
    finally:
        t.close()
    assert not problems, f"{role} at {size} size:\n" + "\n".join(problems)


@pytest.mark.parametrize("size", ["desktop", "phone", "kiosk"])
def test_the_login_pages_pass_axe_with_and_without_an_error(server, browser, size):  # noqa: F811
    viewport = {"desktop": DESKTOP, "phone": PHONE, "kiosk": KIOSK}[size]
    t = tab_for(browser, server, "anonymous", viewport)
    problems = []
    try:
        for path in ("/login", "/kiosk"):
            t.page.goto(server + path)
            problems += [f"{path}: {line}" for line in audit(t.page)]
            # A login nobody has: the real accounts' failures would be throttled (5 per login and address).
            t.page.get_by_label("Логин").fill(f"nobody-{size}{path.replace('/', '-')}")
            t.page.get_by_label("Пароль").fill("not-the-password")
            t.page.get_by_role("button", name="Войти").click()
            expect(t.page.locator("[aria-invalid='true']").first).to_be_visible()
            problems += [f"{path} with an error: {line}" for line in audit(t.page)]
            if size == "phone" and (extra := sideways(t.page)) > 0:
                problems.append(f"{path}: scrolls sideways by {extra} px at 390 px")
    finally:
        t.close()
    assert not problems, "\n".join(problems)


def kiosk_log_in(page, base: str, login_name: str, password: str = PASSWORD) -> None:
    page.goto(base + "/kiosk")
    page.get_by_label("Логин").fill(login_name)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()


def test_the_kiosk_pages_pass_axe_on_the_hall_screen(server, browser):  # noqa: F811
    t = Page(browser, viewport=KIOSK, bypass_csp=True, has_touch=True)
    problems = []
    try:
        kiosk_log_in(t.page, server, "parent0001")
        problems += [f"/kiosk: {line}" for line in audit(t.page)]
        # Every button of the first child's menu, and messages; the grades with a subject opened.
        hrefs = t.page.locator("a.kiosk-button").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert len(hrefs) >= 4
        for href in list(dict.fromkeys(hrefs))[:3] + ["/messages"]:
            t.page.goto(server + href)
            t.page.wait_for_load_state("networkidle")
            if "/grades" in href and t.page.locator("summary.subject-row").count():
                t.page.locator("summary.subject-row").first.click()
            problems += [f"{href}: {line}" for line in audit(t.page)]
            smallest, where = t.page.evaluate(SMALLEST_TEXT)
            if smallest < 12:
                problems.append(f"{href}: text of {smallest} px ({where})")
            if (extra := sideways(t.page)) > 0:
                problems.append(f"{href}: scrolls sideways by {extra} px")
    finally:
        t.close()
    assert not problems, "\n".join(problems)


def luminance(rgb: str) -> float:
    """Relative luminance (WCAG) of a CSS colour `rgb(r, g, b)` / `rgba(…)`."""
    channels = [int(x) / 255 for x in re.findall(r"[\d.]+", rgb)[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_focus_rings_stand_out_on_white_and_on_todays_column(server, browser, ids):  # noqa: F811
    t = tab_for(browser, server, "teacher", DESKTOP)
    page = t.page
    try:
        page.goto(f"{server}/journals/{ids['journal']}")
        rings = []
        for selector in ("input.g:not([readonly])", "a.lesson-link", "th.today a.lesson-link",
                         "td.today input.g"):
            el = page.locator(selector).first
            if not el.count():
                continue
            el.focus()
            ring = el.evaluate("e => getComputedStyle(e).outlineColor")
            width = el.evaluate("e => parseFloat(getComputedStyle(e).outlineWidth)")
            # What is under the ring: the cell's (or header's) own background.
            under = el.evaluate("e => getComputedStyle(e.closest('td, th')).backgroundColor")
            rings.append((selector, ring, under, width))
        page.goto(f"{server}/password")
        field = page.get_by_label("Текущий пароль")
        field.focus()
        rings.append(("password field", field.evaluate("e => getComputedStyle(e).outlineColor"), "rgb(255, 255, 255)",
                      field.evaluate("e => parseFloat(getComputedStyle(e).outlineWidth)")))
    finally:
        t.close()
    assert len(rings) >= 3
    for selector, ring, under, width in rings:
        assert width >= 2, f"{selector}: the focus ring is {width} px"
        assert contrast(ring, under) >= 3, f"{selector}: focus ring {ring} on {under} is {contrast(ring, under):.2f}:1"
    assert contrast("rgb(31, 95, 168)", "rgb(255, 255, 255)") > 6  # the accent on white: 6.4:1


def test_a_teacher_reaches_the_grades_with_three_keys_and_hears_a_refused_one(server, browser, ids):  # noqa: F811
    t = tab_for(browser, server, "teacher", DESKTOP)
    page = t.page
    try:
        page.goto(f"{server}/journals/{ids['journal']}")
        # The lesson headers are one tab stop, not one per lesson.
        assert page.locator("a.lesson-link[tabindex='0']").count() == 1
        assert page.locator("a.lesson-link").count() > 5
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="К содержимому")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="К отметкам")).to_be_focused()
        page.keyboard.press("Enter")
        cell = page.locator("input.g:focus")
        expect(cell).to_have_count(1)                       # 3 key presses to the first grade cell
        header = page.locator("a.lesson-link[tabindex='0']")
        assert cell.get_attribute("data-d") + "/" + cell.get_attribute("data-n") == header.get_attribute("data-lesson")
        name = cell.get_attribute("aria-label")
        cell_id = f'input.g[aria-label="{name}"]'
        page.keyboard.type("9")
        page.keyboard.press("Enter")
        refused = page.locator(cell_id)
        expect(refused).to_have_attribute("aria-invalid", "true")
        described = refused.get_attribute("aria-describedby")
        expect(page.locator(f"#{described}")).to_contain_text("«9» — не отметка")
        assert audit(page) == [], "the grid with a refused cell"
        # Fixed: the mark goes, and the announcement names the cell.
        refused.focus()
        page.keyboard.type("5")
        page.keyboard.press("Enter")
        expect(refused).not_to_have_attribute("aria-invalid", "true")
        expect(page.locator("#journal-status")).to_have_text(re.compile("^Сохранено\\. " + re.escape(name)))
        # Up to the lesson's header (one Tab stop), ← → along the lessons, Enter opens the panel.
        refused.focus()
        for _ in range(40):
            if page.evaluate("document.activeElement.matches('a.lesson-link')"):
                break
            page.keyboard.press("ArrowUp")
        focused = page.locator("a.lesson-link:focus")
        lesson = focused.get_attribute("data-lesson")
        page.keyboard.press("ArrowLeft")
        expect(page.locator("a.lesson-link:focus")).not_to_have_attribute("data-lesson", lesson)
        expect(page.locator("a.lesson-link[tabindex='0']")).to_have_count(1)
        page.keyboard.press("ArrowRight")
        expect(page.locator("a.lesson-link:focus")).to_have_attribute("data-lesson", lesson)
        page.keyboard.press("Enter")
        expect(page.locator("#lesson-card")).to_be_visible()
        # The panel is no live region (a reload would be read out whole).
        assert page.locator("#lesson-panel").get_attribute("aria-live") is None
        assert audit(page) == [], "the grid with the lesson panel open"
        page.set_viewport_size(PHONE)
        assert audit(page) == [], "the grid with the lesson panel open, on a phone"
        assert [e for e in t.errors if "400" not in e] == [], "\n".join(t.errors)
    finally:
        t.close()


def test_a_deputy_finds_a_refused_value_at_its_field(server, browser, ids, school_data):  # noqa: F811
    journal = q(school_data, "SELECT id FROM journal WHERE year_id = ? AND archived_at IS NULL ORDER BY id LIMIT 1",
                (ids["year"],))[0][0]
    t = tab_for(browser, server, "deputy", PHONE)
    page = t.page
    try:
        page.goto(f"{server}/school/load?edit={journal}")
        hours = page.get_by_label("Часов в неделю")
        hours.fill("100")
        page.get_by_role("button", name="Сохранить").click()
        expect(page.get_by_role("alert")).to_contain_text("Часов в неделю")
        hours = page.get_by_label("Часов в неделю")
        expect(hours).to_have_attribute("aria-invalid", "true")
        expect(hours).to_be_focused()
        expect(page.locator("#" + hours.get_attribute("aria-describedby"))).to_contain_text("от 0,5 до 40")
        assert audit(page) == []
    finally:
        t.close()


def test_the_password_page_ties_its_error_to_the_field_it_is_about(server, browser):  # noqa: F811
    t = tab_for(browser, server, "parent", PHONE)
    page = t.page
    try:
        page.goto(server + "/password")
        page.get_by_label("Текущий пароль").fill(PASSWORD)
        page.get_by_label("Новый пароль", exact=True).fill("совсем-новый-пароль")
        page.get_by_label("Новый пароль ещё раз").fill("другой-новый-пароль")
        page.get_by_role("button", name="Сменить пароль").click()
        repeat = page.get_by_label("Новый пароль ещё раз")
        expect(repeat).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#" + repeat.get_attribute("aria-describedby"))).to_contain_text("не совпадают")
        expect(page.get_by_label("Текущий пароль")).not_to_have_attribute("aria-invalid", "true")
        assert audit(page) == []
    finally:
        t.close()


def test_the_credential_slips_show_all_their_text_and_print_four_rows_to_an_a4_page(server, browser, ids,  # noqa: F811
                                                                                      school_data):
    """A long school name, a parent of two children: nothing is cut off (the slip grows), and a
    slip stays within a quarter of an A4 page's printable height, so a sheet of 8 is one page."""
    # Another class than 5А: issuing new passwords to 5А would lock out the other tests' parent.
    other = q(school_data, "SELECT id FROM class WHERE year_id = ? AND id <> ? ORDER BY id LIMIT 1",
              (ids["year"], ids["class"]))[0][0]
    t = tab_for(browser, server, "deputy", {"width": 718, "height": 1000})  # 190 mm: A4 less the margins
    page = t.page
    try:
        page.goto(f"{server}/classes/{other}/credentials")
        boxes = page.locator("input[name='person_id']")
        for i in range(min(8, boxes.count())):
            boxes.nth(i).check()
        page.get_by_role("button", name="Напечатать листки для отмеченных").click()
        expect(page.locator(".slip").first).to_be_visible()
        for media in ("screen", "print"):
            page.emulate_media(media=media)
            cut = page.evaluate("""() => {
                const out = [];
                for (const slip of document.querySelectorAll(".slip")) {
                    const box = slip.getBoundingClientRect();
                    for (const el of [slip, ...slip.querySelectorAll("*")]) {
                        const style = getComputedStyle(el), r = el.getBoundingClientRect();
                        if (style.overflow !== "visible" && (el.scrollWidth > el.clientWidth + 1
                                                             || el.scrollHeight > el.clientHeight + 1)) out.push("clipped: " + el.className);
                        if (r.bottom > box.bottom + 1 || r.right > box.right + 1) out.push("outside: " + el.className);
                    }
                }
                return out;
            }""")
            assert cut == [], f"{media}: {cut[:5]}"
        tallest = page.evaluate("Math.max(...[...document.querySelectorAll('.slip')].map(s => s.getBoundingClientRect().height))")
        assert tallest <= 283 / 4 * 96 / 25.4, f"a slip is {tallest * 25.4 / 96:.1f} mm high"
    finally:
        t.close()
