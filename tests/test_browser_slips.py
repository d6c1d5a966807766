"""In a real browser: the credential slip keeps every line on its cut-out, on screen and in
print — the school's full name and, for a parent without consent, the last line «Вход
откроется после оформления согласия…» (both were clipped). The server and the browser are
those of tests/test_browser.py, on this module's own copy of the demo school."""

from __future__ import annotations

import sqlite3

from test_browser import browser, expect, log_in, school_data, server, tab  # noqa: F401 (fixtures)

LONG_NAME = ("Муниципальное бюджетное общеобразовательное учреждение «Средняя общеобразовательная школа № 3 "
             "имени Героя Советского Союза А. И. Покрышкина»")

# Every element of a slip that is cut: text wider or taller than its box, or below the slip's edge.
CLIPPED = """() => {
  const out = [];
  for (const slip of document.querySelectorAll('.slip')) {
    const edge = slip.getBoundingClientRect().bottom;
    for (const el of slip.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.bottom > edge + 0.5 || el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
        out.push(el.className + ': ' + el.textContent.trim().slice(0, 60));
    }
  }
  return out;
}"""


def test_a_parents_slip_without_consent_keeps_every_line_on_screen_and_in_print(server, school_data, tab):
    conn = sqlite3.connect(school_data / "zhurnal.sqlite3")
    try:
        conn.execute("UPDATE school SET name = ?", (LONG_NAME,))
        # A parent of teacher01's class with no consent for any child: the slip says so.
        parent, = conn.execute(
            "SELECT g.parent_id FROM guardian g JOIN enrollment e ON e.student_id = g.student_id"
            " JOIN class c ON c.id = e.class_id JOIN person t ON t.id = c.class_teacher_id"
            " JOIN account a ON a.person_id = t.id WHERE a.login = 'teacher01' AND e.to_date IS NULL"
            " AND (SELECT count(*) FROM guardian x WHERE x.parent_id = g.parent_id) = 1 LIMIT 1").fetchone()
        conn.execute("UPDATE guardian SET consent_at = NULL WHERE parent_id = ?", (parent,))
        class_id, = conn.execute("SELECT e.class_id FROM enrollment e JOIN guardian g ON g.student_id = e.student_id"
                                 " WHERE g.parent_id = ? AND e.to_date IS NULL", (parent,)).fetchone()
        conn.commit()
    finally:
        conn.close()
    page = tab.page
    log_in(page, server, "teacher01")
    page.goto(f"{server}/classes/{class_id}/credentials")
    page.locator(f'input[name="person_id"][value="{parent}"]').check()
    page.locator("form button[type=submit]").last.click()
    slip = page.locator(".slip").first
    expect(slip).to_contain_text("Вход откроется после оформления согласия на обработку данных.")
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        assert page.evaluate(CLIPPED) == [], media
    assert tab.errors == [], "\n".join(tab.errors)
