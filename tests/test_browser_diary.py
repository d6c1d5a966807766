"""In a real browser against the real server: the diary of a parent of two (issue 5, "Done when").

Before the browser part, a teacher of each child's class records this week's lesson — topic,
homework, a grade — through the journal's HTTP API, logged in as that journal's teacher. Then
parent0001 logs in on the normal login page, sees both children's week with those grades and
homework, and opens the grades by subject with the average (its formula) and the forecast,
checked against the grades and weights in the database. The class teacher of 5А records a
family's choice of the paper diary on the student page and prints the class's batch for paper
families: one PDF, one A4 page per student. And no diary page scrolls sideways on a phone.

The rest of the "Done when" is in tests/test_browser_kiosk.py: the same parent on /kiosk is
logged out after the idle time, and parent0001 replies to the class teacher's message.
The server, the browser and the tab are those of tests/test_browser.py."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from server import clock

from test_browser import Page, browser, expect, log_in, school_data, server, tab  # noqa: F401 (fixtures)
from test_journal import lessons_of, q

from conftest import PASSWORD

PARENT = "parent0001"
# What each child's teacher records this week, in this subject if the class has a lesson of it:
# a control work (weight 2) for the first child, an independent work (weight 1,5) for the
# second — so the formula shows the weights.
RECORDS = [
    {"subject": "Русский язык", "topic": "Проверочная работа по теме «Правописание приставок»",
     "homework": "Упражнение 301, выучить правило на с. 112.", "minutes": 20, "grade": "5", "work_type": "control"},
    {"subject": "Математика", "topic": "Самостоятельная работа: сложение многозначных чисел",
     "homework": "Решить задачи 214 и 215 на с. 64.", "minutes": 15, "grade": "4", "work_type": "independent"},
]


@dataclass(frozen=True)
class Written:
    """One lesson of this week as the teacher recorded it for one child."""
    student: int
    last_name: str
    first_name: str
    middle_name: str
    class_id: int
    class_name: str
    journal: int
    teacher: str
    subject_id: int
    subject: str
    day: str
    number: int
    topic: str
    homework: str
    minutes: int
    grade: str
    work_type: str
    work_type_name: str
    weight: float

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


def ru_day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


def ru_number(value: float, decimals: int | None = None) -> str:
    """As the diary prints numbers: 2.0 → «2», 1.5 → «1,5»; with decimals=2, 4.5 → «4,50»."""
    text = f"{value:.2f}" if decimals else f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def this_monday() -> date:
    today = clock.today()
    return today - timedelta(days=today.weekday())


def cancelled(data: Path, journal: int, day: str, n: int) -> bool:
    return bool(q(data, "SELECT 1 FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?"
                        " AND status = 'cancelled'", (journal, day, n)))


def lesson_this_week(data: Path, class_id: int, prefer: str, avoid_subject: int | None) -> tuple[int, str, str, int]:
    """(journal, its teacher's login, day, lesson number): a lesson of a class journal this week,
    on or before today, not cancelled — in the preferred subject, else in the class teacher's
    own journals first."""
    journals = q(data, "SELECT j.id, j.subject_id, a.login FROM journal j JOIN class c ON c.id = j.class_id"
                       " JOIN subject s ON s.id = j.subject_id JOIN account a ON a.person_id = j.teacher_id"
                       " WHERE j.class_id = ? AND j.archived_at IS NULL"
                       " ORDER BY s.name = ? DESC, j.teacher_id = c.class_teacher_id DESC, j.id", (class_id, prefer))
    monday = this_monday().isoformat()
    for journal, subject, login in journals:
        if subject == avoid_subject:
            continue
        for day, n in lessons_of(data, journal, before=clock.today(), count=60):
            if day < monday:
                break
            if cancelled(data, journal, day, n):
                continue
            return journal, login, day, n
    pytest.skip(f"class {class_id} has no lesson this week up to today (holidays or the weekend before the year)")


class Api:
    """A person logged in through the JSON API of the real server (a browser context's requests)."""

    def __init__(self, browser, base: str, login_name: str):  # noqa: F811
        self.base = base
        self.context = browser.new_context()
        r = self.context.request.post(base + "/api/v1/auth/login", data={"login": login_name, "password": PASSWORD})
        assert r.ok, r.text()
        self.me = r.json()["me"]
        self.headers = {"X-CSRF-Token": r.json()["csrf_token"]}

    def call(self, method: str, path: str, data: dict | None = None) -> dict:
        r = self.context.request.fetch(self.base + path, method=method, headers=self.headers, data=data)
        assert r.ok, (method, path, r.status, r.text())
        return r.json()

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def written(server, school_data, browser) -> list[Written]:  # noqa: F811
    """parent0001's two children, and this week's lesson each child's teacher recorded for them."""
    parent = Api(browser, server, PARENT)
    children = parent.me["children"]
    parent.close()
    assert len(children) == 2, children
    student0001 = q(school_data, "SELECT person_id FROM account WHERE login = 'student0001'")[0][0]
    assert children[0]["id"] == student0001, "the older child first"
    out: list[Written] = []
    for child, record in zip(children, RECORDS):
        sid = child["id"]
        (last, first, middle), = q(school_data, "SELECT last_name, first_name, middle_name FROM person WHERE id = ?",
                                   (sid,))
        class_id, = q(school_data, "SELECT class_id FROM enrollment WHERE student_id = ? AND to_date IS NULL",
                      (sid,))[0]
        journal, teacher, day, n = lesson_this_week(school_data, class_id, record["subject"],
                                                   out[0].subject_id if out else None)
        (subject_id, subject), = q(school_data, "SELECT s.id, s.name FROM journal j JOIN subject s"
                                                " ON s.id = j.subject_id WHERE j.id = ?", (journal,))
        (wt_name, weight), = q(school_data, "SELECT name, weight FROM work_type WHERE code = ?",
                               (record["work_type"],))
        # The journal's teacher records the lesson, its homework and the child's grade.
        t = Api(browser, server, teacher)
        try:
            lesson = f"/api/v1/journals/{journal}/lessons/{day}/{n}"
            saved = t.call("PUT", lesson, {"topic": record["topic"], "work_type": record["work_type"]})
            assert (saved["topic"], saved["work_type"]) == (record["topic"], record["work_type"])
            t.call("PUT", lesson + "/homework", {"text": record["homework"], "minutes": record["minutes"]})
            # Emptied first: a grade kept in place would keep its old work type.
            t.call("DELETE", f"{lesson}/cells/{sid}")
            cell = t.call("PUT", f"{lesson}/cells/{sid}", {"value": record["grade"]})
            assert [(g["value"], g["work_type"]) for g in cell["grades"]] == [(record["grade"], record["work_type"])]
        finally:
            t.close()
        out.append(Written(sid, last, first, middle, class_id, child["class"], journal, teacher, subject_id, subject,
                           day, n, record["topic"], record["homework"], record["minutes"], record["grade"],
                           record["work_type"], wt_name, weight))
    assert out[0].class_id != out[1].class_id, "the younger child is in another class"
    return out


def expected_figures(data: Path, w: Written) -> dict:
    """The period of the written lesson and, from the database, the child's grades in that
    subject in it: the weighted average, its formula and the forecast the diary must show."""
    (period_id, number, kind, start, end), = q(
        data, "SELECT p.id, p.number, p.kind, p.starts_on, p.ends_on FROM study_period p JOIN class c"
              " ON c.year_id = p.year_id AND c.period_kind = p.kind WHERE c.id = ? AND ? BETWEEN p.starts_on AND p.ends_on",
        (w.class_id, w.day))
    rows = q(data, "SELECT g.value, wt.weight FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                   " JOIN journal j ON j.id = l.journal_id JOIN work_type wt ON wt.code = g.work_type"
                   " JOIN class c ON c.year_id = j.year_id AND c.id = ?"
                   " WHERE g.student_id = ? AND j.subject_id = ? AND l.date BETWEEN ? AND ?"
                   " ORDER BY l.date, l.lesson_number, g.position", (w.class_id, w.student, w.subject_id, start, end))
    numeric = [(int(v), wt) for v, wt in rows if v.isdigit()]
    assert (int(w.grade), w.weight) in numeric
    average = round(sum(v * wt for v, wt in numeric) / sum(wt for _, wt in numeric), 2)
    threshold = float((q(data, "SELECT value FROM setting WHERE key = 'forecast_threshold'") or [("0.5",)])[0][0])
    whole = int(average)
    forecast = min(max(whole + (1 if average - whole >= threshold - 1e-9 else 0), 2), 5)
    top = " + ".join(f"{v}×{ru_number(wt)}" for v, wt in numeric)
    bottom = " + ".join(ru_number(wt) for _, wt in numeric)
    formula = (f"{top} / {bottom}" if len(numeric) == 1 else f"({top}) / ({bottom})") + f" = {ru_number(average, 2)}"
    name = {"quarter": "четверть", "half": "полугодие"}[kind]
    return {"period": period_id, "period_name": f"{number} {name}", "grades": len(rows),
            "average": ru_number(average, 2), "forecast": str(forecast), "formula": formula}


def check_week(page, w: Written) -> None:
    """The week view of the child: the written lesson with its topic, homework and grade."""
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Дневник: {w.last_name} {w.first_name}, "
                                                              f"{w.class_name} класс")
    expect(page.get_by_role("navigation", name="Недели")).to_contain_text(ru_day(this_monday().isoformat()))
    day = page.locator(f"#day-{w.day}")
    expect(day.get_by_role("heading", level=2)).to_contain_text(ru_day(w.day))
    if w.day == clock.today().isoformat():
        expect(day.locator(".badge", has_text="сегодня")).to_be_visible()
    row = day.locator("tbody tr").filter(has_text=w.topic)
    expect(row).to_have_count(1)
    expect(row.locator("td.n")).to_contain_text(str(w.number))
    expect(row.locator("td.subject")).to_contain_text(w.subject)
    expect(row.locator(".topic")).to_contain_text(w.topic)
    expect(row.locator(".hw")).to_have_text(re.compile(
        rf"Домашнее задание:\s+{re.escape(w.homework)}\s+\(≈ {w.minutes} мин\)"))
    grade = row.locator("td.marks .grade")
    expect(grade).to_have_count(1)
    expect(grade).to_have_text(w.grade)
    expect(grade).to_have_attribute("title", f"{w.work_type_name}, вес {ru_number(w.weight)}")
    expect(row.locator("td.marks")).to_contain_text(w.work_type_name)


def check_grades(page, data: Path, w: Written) -> None:
    """The grades by subject in the written lesson's period: the grade, the average with its
    formula and the forecast, as expected from the database."""
    want = expected_figures(data, w)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Оценки: {w.last_name} {w.first_name}, "
                                                              f"{w.class_name} класс")
    page.get_by_role("navigation", name="Учебные периоды").get_by_role("link", name=want["period_name"], exact=True).click()
    expect(page).to_have_url(re.compile(rf"/diary/grades\?student={w.student}&year=\d+&period={want['period']}$"))
    card = page.locator(f"#subject-{w.subject_id}")
    expect(card.get_by_role("heading", level=3)).to_have_text(w.subject)
    expect(card.locator(".grade-list li")).to_have_count(want["grades"])
    expect(card.locator(".grade-list li").filter(
        has_text=f"{ru_day(w.day)}, {w.work_type_name}, вес {ru_number(w.weight)}").filter(
        has=page.locator(".grade", has_text=w.grade)).first).to_be_visible()
    figures = card.locator("dl.figures > div")
    expect(figures.filter(has_text="Средний балл").locator("dd")).to_have_text(want["average"])
    expect(figures.filter(has_text="Прогноз").locator("dd")).to_have_text(want["forecast"])
    expect(card.locator(".formula")).to_have_text(f"Расчёт: {want['formula']}")
    expect(card.locator("svg.avg-chart")).to_be_visible()


def test_parent_sees_both_childrens_week_and_the_average_and_forecast_by_subject(server, school_data, written, tab):
    first, second = written
    page = tab.page
    log_in(page, server, PARENT)

    # The first child's week, from the menu.
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Дневник").click()
    expect(page).to_have_url(f"{server}/diary")
    check_week(page, first)
    expect(page.get_by_text(second.topic)).to_have_count(0)

    # The second child: the switcher keeps the page; nothing of the first child stays.
    children = page.get_by_role("navigation", name="Дети")
    children.get_by_role("link", name=f"{second.first_name} {second.last_name}, {second.class_name}").click()
    expect(page).to_have_url(f"{server}/diary?student={second.student}")
    check_week(page, second)
    expect(page.get_by_text(first.topic)).to_have_count(0)

    # Grades by subject of the second child, then of the first.
    page.get_by_role("navigation", name="Дневник", exact=True).get_by_role("link", name="Оценки").click()
    expect(page).to_have_url(f"{server}/diary/grades?student={second.student}")
    check_grades(page, school_data, second)
    children.get_by_role("link", name=f"{first.first_name} {first.last_name}, {first.class_name}").click()
    expect(page).to_have_url(re.compile(rf"/diary/grades\?student={first.student}&year=\d+$"))
    check_grades(page, school_data, first)
    assert tab.errors == [], "\n".join(tab.errors)


# --- the batch printout for paper families -------------------------------------------------------

def pdf_page_count(pdf: bytes) -> int:
    """Page objects of a PDF (Chromium writes them uncompressed): `/Type /Page`, not `/Pages`."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def pdf_page_texts(pdf: bytes, folder: Path) -> list[str] | None:
    """The text of each page, with pypdf or poppler's pdftotext when either is there; else None."""
    try:
        from pypdf import PdfReader
    except ImportError:
        pass
    else:
        return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]
    if shutil.which("pdftotext"):
        path = folder / "batch.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
        return out.stdout.split("\f")[:-1]
    return None


def test_class_teacher_prints_the_paper_diaries_of_the_class_as_one_pdf(server, school_data, written, tab,
                                                                        tmp_path):
    child = written[0]  # student0001, 5А: teacher01 is the class teacher
    (parent_id, parent_name), = q(school_data, "SELECT p.id, p.last_name || ' ' || p.first_name || ' ' || p.middle_name"
                                               " FROM account a JOIN person p ON p.id = a.person_id WHERE a.login = ?",
                                  (PARENT,))
    page = tab.page
    log_in(page, server, "teacher01")
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Мой класс").click()
    expect(page).to_have_url(f"{server}/classes/{child.class_id}")

    # The parent brought the consent form with "paper diary" ticked: the class teacher records it.
    page.get_by_role("link", name=child.full_name, exact=True).click()
    expect(page).to_have_url(f"{server}/students/{child.student}")
    card = page.locator(".card.parent").filter(has_text=parent_name)
    expect(card.get_by_label("Согласие на обработку персональных данных получено")).to_be_checked()
    card.get_by_label("Дневник").select_option(label="бумажный (распечатка)")
    card.get_by_role("button", name="Записать").click()
    expect(page).to_have_url(f"{server}/students/{child.student}?ok=consent")
    expect(page.get_by_text("Согласие и форма дневника записаны.")).to_be_visible()
    assert q(school_data, "SELECT diary_form, consent_at IS NOT NULL FROM guardian WHERE parent_id = ?"
                          " AND student_id = ?", (parent_id, child.student)) == [("paper", 1)]

    # Back on the class page, the batch of every paper family of the class.
    page.get_by_role("link", name=f"← {child.class_name} класс").click()
    page.get_by_role("link", name="Распечатать бумажные дневники").click()
    expect(page).to_have_url(f"{server}/classes/{child.class_id}/paper-diaries")
    paper = [r[0] for r in q(school_data, "SELECT p.last_name || ' ' || p.first_name || ' ' || p.middle_name"
                                          " FROM enrollment e JOIN person p ON p.id = e.student_id"
                                          " WHERE e.class_id = ? AND e.to_date IS NULL AND EXISTS (SELECT 1 FROM"
                                          " guardian g WHERE g.student_id = p.id AND g.diary_form = 'paper')"
                                          " ORDER BY p.last_name, p.first_name, p.middle_name", (child.class_id,))]
    assert child.full_name in paper and len(paper) >= 2
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Бумажные дневники: {child.class_name} класс")
    expect(page.get_by_text(f"Учащихся: {len(paper)}")).to_be_visible()
    sheets = page.locator("article.diary-sheet")
    expect(sheets).to_have_count(len(paper))
    for i, name in enumerate(paper):
        expect(sheets.nth(i).get_by_role("heading", level=2)).to_have_text(f"Дневник: {name}, {child.class_name} класс")
    text = page.locator("body").inner_text()
    assert all(name in text for name in paper)
    # The sheet covers last week and this one: this week's homework and grade are on it.
    mine = sheets.nth(paper.index(child.full_name))
    expect(mine).to_contain_text(f"{child.homework} ({child.minutes} мин)")
    expect(mine.locator("td.sheet-marks b", has_text=child.grade).first).to_be_visible()

    # One document for the printer: one A4 page per student, in the order of the class list.
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    (tmp_path / "paper-diaries.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    assert pdf_page_count(pdf) == len(paper), f"{pdf_page_count(pdf)} pages for {len(paper)} students"
    texts = pdf_page_texts(pdf, tmp_path)
    if texts is not None:
        assert len(texts) == len(paper)
        for name, page_text in zip(paper, texts):
            words = " ".join(page_text.split())
            assert f"Дневник: {name}" in words, (name, words[:300])
            assert not any(f"Дневник: {other}" in words for other in paper if other != name)
    assert tab.errors == [], "\n".join(tab.errors)


def test_the_diary_pages_fit_a_phone_screen(server, school_data, written, browser):  # noqa: F811
    """Families read the diary on their phones: no page of it scrolls sideways, the attendance
    table (with an absence the teacher marks before this week) included."""
    first = written[0]
    earlier = [(d, n) for d, n in lessons_of(school_data, first.journal, before=this_monday() - timedelta(days=1),
                                             count=30)
               if not cancelled(school_data, first.journal, d, n) and not q(
                   school_data, "SELECT 1 FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = ?"
                                " AND l.date = ? AND l.lesson_number = ? AND g.student_id = ?",
                   (first.journal, d, n, first.student))]
    if not earlier:
        pytest.skip("no lesson before this week to mark an absence on (the first week of the year)")
    day, n = earlier[0]
    teacher = Api(browser, server, first.teacher)
    try:
        teacher.call("PUT", f"/api/v1/journals/{first.journal}/lessons/{day}/{n}/cells/{first.student}", {"value": "б"})
    finally:
        teacher.close()

    phone = Page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                 has_touch=True)
    try:
        page = phone.page
        log_in(page, server, PARENT)
        for w in written:
            for path in ("/diary", "/diary/grades", "/diary/attendance"):
                page.goto(f"{server}{path}?student={w.student}")
                expect(page.get_by_role("heading", level=1)).to_contain_text(f"{w.last_name} {w.first_name}")
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, (path, w.student)
        page.goto(f"{server}/diary/attendance?student={first.student}")
        absence = page.locator("table tbody tr").filter(has_text=ru_day(day)).filter(has_text=first.subject)
        expect(absence.locator("abbr.att")).to_have_text("Б")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.errors == [], "\n".join(phone.errors)
    finally:
        phone.close()
