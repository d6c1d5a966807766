"""In a real browser: every report printed to PDF by Chromium on A4 — portrait, or landscape for the
wide tables — fits the page: nothing wider than the printable area, the page size as the report
says. The demo school (a whole term of journals) gives the tables their real width. The server and
the browser are those of tests/test_browser.py."""

from __future__ import annotations

import re
import sqlite3

import pytest

from test_browser import Page, browser, log_in, school_data, server, tab  # noqa: F401 (fixtures)

# A4 in PostScript points, and its printable width in CSS pixels with 10 mm margins.
A4 = (595, 842)
MM = 96 / 25.4
PRINTABLE = {False: round((210 - 20) * MM), True: round((297 - 20) * MM)}


def page_sizes(pdf: bytes) -> list[tuple[int, int]]:
    return [(round(float(w)), round(float(h))) for w, h in
            re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]


@pytest.fixture(scope="module")
def ids(school_data):
    conn = sqlite3.connect(school_data / "zhurnal.sqlite3")
    try:
        year = "(SELECT id FROM academic_year WHERE status = 'open')"  # the demo has last year too
        class_id = conn.execute(f"SELECT id FROM class WHERE parallel = 5 AND letter = 'А' AND year_id = {year}").fetchone()[0]
        half_class = conn.execute(f"SELECT id FROM class WHERE parallel = 10 AND year_id = {year} LIMIT 1").fetchone()[0]
        journal_id = conn.execute("SELECT id FROM journal WHERE class_id = ? LIMIT 1", (class_id,)).fetchone()[0]
    finally:
        conn.close()
    return {"class": class_id, "half_class": half_class, "journal": journal_id}


REPORTS = [
    ("/reports/progress?by=class", False),
    ("/reports/progress?by=teacher", False),
    ("/reports/results", False),
    ("/reports/attendance", True),
    ("/reports/attendance?class_id={class}", True),
    ("/reports/movement", False),
    ("/reports/classes/{class}/summary", True),
    ("/reports/classes/{half_class}/summary", True),
    ("/reports/classes/{class}/analysis", True),
    ("/reports/my-journals", False),
    ("/reports/journal-control", True),
    ("/reports/certificate", False),
]


def test_every_report_prints_on_a4_and_fits_the_page(server, tab, ids, tmp_path):  # noqa: F811
    page = tab.page
    log_in(page, server, "deputy")
    for path, landscape in REPORTS:
        url = server + path.format(**ids)
        page.set_viewport_size({"width": PRINTABLE[landscape], "height": 900})
        page.goto(url)
        assert page.locator("h1").first.is_visible(), url
        page.emulate_media(media="print")
        # Nothing wider than the printable area of the sheet.
        widths = page.evaluate("""() => [document.documentElement.scrollWidth,
            ...[...document.querySelectorAll('table.report')].map(t => Math.ceil(t.getBoundingClientRect().right))]""")
        assert max(widths) <= PRINTABLE[landscape] + 1, (path, widths, PRINTABLE[landscape])
        # A table laid out as a table: the cells of a row side by side on one line.
        tops = page.evaluate("""() => [...document.querySelectorAll('table.report tbody tr:first-child')]
            .map(tr => new Set([...tr.cells].map(c => Math.round(c.getBoundingClientRect().top))).size)""")
        assert all(n == 1 for n in tops), (path, tops)
        pdf = page.pdf(prefer_css_page_size=True, print_background=False)
        (tmp_path / (re.sub(r"\W+", "-", path) + ".pdf")).write_bytes(pdf)
        sizes = set(page_sizes(pdf))
        assert sizes == {A4[::-1] if landscape else A4}, (path, sizes)
        page.emulate_media(media="screen")
    assert tab.errors == [], "\n".join(tab.errors)
