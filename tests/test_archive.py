"""The journal's archive (issue 14): `zhurnal archive build|list|verify` on the demo school's
5А for the first quarter — the PDFs' text (pdftotext) against the database, the seal, the
manifest and `verify` catching a changed byte and a later grade change; the /archive page's
access and downloads."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MISSING, login, make_client
from test_journal_api import api_login

PERIOD = 1          # the first quarter of this year (ended, period grades set, not closed)
CLASS = "5А"
MATHS, RUSSIAN = 5, 1   # 5А's journals in the demo


def zhurnal(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args, "--data", str(data)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "LC_ALL": "C.UTF-8"})


def pdftext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def built(demo_template, tmp_path_factory) -> tuple[Path, Path]:
    """The demo school with 5А's first-quarter archive built once from the console."""
    if shutil.which("pdftotext") is None:
        pytest.skip(f"pdftotext (poppler-utils) {MISSING}")
    data = tmp_path_factory.mktemp("archive") / "data"
    shutil.copytree(demo_template, data)
    r = zhurnal(data, "archive", "build", "--period", str(PERIOD), "--classes", CLASS)
    assert r.returncode == 0, r.stderr
    folder = Path(r.stdout.strip().splitlines()[-1])
    assert folder.parent == data / "archive" and folder.is_dir()
    return data, folder


def db(data: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    conn.row_factory = sqlite3.Row
    return conn


def file_of(folder: Path, journal_id: int, ext: str = "pdf") -> Path:
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / next(f["name"] for f in manifest["files"]
                         if f.get("journal_id") == journal_id and f["name"].endswith(ext))


def student_line_tokens(text: str, name: str) -> list[str]:
    """The cells after a student's name on every grid page, in page order."""
    out = []
    for page in text.split("\f"):
        if "отметки и посещаемость" in page:
            for line in page.splitlines():
                if name in line:
                    out += line.split(name, 1)[1].split()
    return out


def test_the_archive_has_a_pdf_and_xlsx_of_every_journal_of_the_class_and_its_vedomost(built):
    data, folder = built
    conn = db(data)
    journals = {r[0] for r in conn.execute(
        "SELECT j.id FROM journal j LEFT JOIN study_group g ON g.id = j.group_id JOIN class c"
        " ON c.id = coalesce(j.class_id, g.class_id) WHERE c.parallel || c.letter = ? AND c.year_id ="
        " (SELECT year_id FROM study_period WHERE id = ?)", (CLASS, PERIOD))}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {f["journal_id"] for f in manifest["files"] if f["kind"] == "journal"} == journals
    assert sum(f["kind"] == "summary" for f in manifest["files"]) == 1
    assert manifest["ledger_head"]["id"] == conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted([f["name"] for f in manifest["files"]] + ["manifest.json"])
    assert len(list(folder.glob("*.xlsx"))) == len(journals)


def test_a_students_row_in_the_pdf_equals_the_database_cell_by_cell(built):
    data, folder = built
    conn = db(data)
    p = conn.execute("SELECT * FROM study_period WHERE id = ?", (PERIOD,)).fetchone()
    cells: dict[tuple, list[str]] = {}
    for r in conn.execute(
            "SELECT l.date, l.lesson_number, g.student_id, g.value FROM grade g JOIN lesson l ON l.id = g.lesson_id"
            " WHERE l.journal_id = ? AND l.date BETWEEN ? AND ? ORDER BY l.date, l.lesson_number, g.position",
            (MATHS, p["starts_on"], p["ends_on"])):
        cells.setdefault((r["student_id"], r["date"], r["lesson_number"]), []).append(r["value"])
    for r in conn.execute(
            "SELECT l.date, l.lesson_number, a.student_id, a.mark FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
            " WHERE l.journal_id = ? AND l.date BETWEEN ? AND ?", (MATHS, p["starts_on"], p["ends_on"])):
        cells.setdefault((r["student_id"], r["date"], r["lesson_number"]), []).append(r["mark"])
    text = pdftext(file_of(folder, MATHS))
    checked = 0
    for s in conn.execute("SELECT p.id, p.last_name || ' ' || p.first_name || ' ' || p.middle_name AS name"
                          " FROM enrollment e JOIN person p ON p.id = e.student_id JOIN class c ON c.id = e.class_id"
                          " WHERE c.parallel || c.letter = ? AND c.year_id = ? ORDER BY p.last_name LIMIT 5",
                          (CLASS, p["year_id"])):
        expected = [v for key in sorted(k for k in cells if k[0] == s["id"]) for v in cells[key]]
        assert expected, "the demo gives every student grades in a quarter"
        assert student_line_tokens(text, s["name"]) == expected, s["name"]
        checked += 1
    assert checked == 5
    # Grid pages are landscape; the seal (school, period, fingerprint) and «ЧЕРНОВИК» are on every page.
    pages = text.split("\f")[:-1]
    manifest = json.loads((folder / "manifest.json").read_text())
    fp = next(f["fingerprint"] for f in manifest["files"] if f.get("journal_id") == MATHS)
    assert all(fp[:12] in pg and "ЧЕРНОВИК" in pg and "1-я четверть" in pg for pg in pages), "seal missing on a page"
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(len(pages)), str(file_of(folder, MATHS))],
                          capture_output=True, text=True).stdout
    assert "841.89 x 595.276" in info and "595.276 x 841.89" in info   # landscape grid, portrait title
    fonts = subprocess.run(["pdffonts", str(file_of(folder, MATHS))], capture_output=True, text=True).stdout
    assert "DejaVu" in fonts and all(" yes " in line for line in fonts.splitlines()[2:])


def test_a_topic_is_in_its_own_journal_and_nowhere_else(built):
    data, folder = built
    conn = db(data)
    p = conn.execute("SELECT * FROM study_period WHERE id = ?", (PERIOD,)).fetchone()
    manifest = json.loads((folder / "manifest.json").read_text())
    others = sorted({f["journal_id"] for f in manifest["files"] if f["kind"] == "journal"} - {MATHS})
    topic = conn.execute(
        "SELECT topic FROM lesson WHERE journal_id = ? AND date BETWEEN ? AND ? AND topic <> '' AND length(topic) < 60"
        " AND topic NOT IN (SELECT topic FROM lesson WHERE journal_id IN (SELECT value FROM json_each(?))) LIMIT 1",
        (MATHS, p["starts_on"], p["ends_on"], json.dumps(others))).fetchone()[0]
    assert topic in " ".join(pdftext(file_of(folder, MATHS)).split())
    for pdf in folder.glob("*.pdf"):
        if pdf != file_of(folder, MATHS):
            assert topic not in " ".join(pdftext(pdf).split()), pdf.name
    import openpyxl
    book = openpyxl.load_workbook(file_of(folder, MATHS, "xlsx"))
    assert any(c.value == topic for row in book["Уроки"].iter_rows() for c in row)


def test_the_vedomost_row_equals_the_period_grades_in_the_database(built):
    data, folder = built
    conn = db(data)
    s = conn.execute("SELECT p.id, p.last_name || ' ' || p.first_name || ' ' || p.middle_name AS name"
                     " FROM enrollment e JOIN person p ON p.id = e.student_id JOIN class c ON c.id = e.class_id"
                     " WHERE c.parallel || c.letter = ? AND c.year_id = (SELECT year_id FROM study_period WHERE id = ?)"
                     " ORDER BY p.last_name LIMIT 1", (CLASS, PERIOD)).fetchone()
    rows = conn.execute(
        "SELECT sub.name, pg.value FROM period_grade pg JOIN journal j ON j.id = pg.journal_id"
        " JOIN subject sub ON sub.id = j.subject_id WHERE pg.student_id = ? AND pg.period_id = ?", (s["id"], PERIOD)).fetchall()
    expected = [v for _, v in sorted((r[0], r[1]) for r in rows)]
    assert expected
    vedomost = next(folder.glob("*ведомость*.pdf"))
    text = pdftext(vedomost)
    line = next(ln for ln in text.splitlines() if s["name"] in ln)
    assert line.split(s["name"], 1)[1].split() == expected
    assert "Классный руководитель" in text and "Директор" in text and "ЧЕРНОВИК" in text


def test_verify_passes_then_catches_a_changed_byte_and_a_later_grade_change(built, tmp_path):
    data, folder = built
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    arch = copy / "archive" / folder.name
    r = zhurnal(copy, "archive", "verify", str(arch))
    assert r.returncode == 0, r.stderr
    assert "Архив цел" in r.stdout
    r = zhurnal(copy, "archive", "list")
    assert r.returncode == 0 and folder.name in r.stdout and "черновик" in r.stdout
    # One byte of a PDF changed: named.
    pdf = file_of(arch, MATHS)
    original = pdf.read_bytes()
    blob = bytearray(original)
    blob[len(blob) // 2] ^= 1
    pdf.write_bytes(bytes(blob))
    r = zhurnal(copy, "archive", "verify", str(arch))
    assert r.returncode == 1 and pdf.name in r.stderr and "изменён" in r.stderr
    pdf.write_bytes(original)
    # A grade changed afterwards (through the program, in the ledger): the journal's files no longer match.
    conn = db(copy)
    p = conn.execute("SELECT * FROM study_period WHERE id = ?", (PERIOD,)).fetchone()
    lesson = conn.execute("SELECT l.date, l.lesson_number, g.student_id, g.value FROM grade g JOIN lesson l"
                          " ON l.id = g.lesson_id WHERE l.journal_id = ? AND l.date BETWEEN ? AND ? LIMIT 1",
                          (RUSSIAN, p["starts_on"], p["ends_on"])).fetchone()
    conn.close()
    new = "2" if lesson["value"] != "2" else "5"
    with make_client(copy) as c:
        headers = api_login(c, "teacher01")
        r = c.put(f"/api/v1/journals/{RUSSIAN}/lessons/{lesson['date']}/{lesson['lesson_number']}/cells/"
                  f"{lesson['student_id']}", json={"value": new, "reason": "исправление"}, headers=headers)
        assert r.status_code == 200, r.text
    r = zhurnal(copy, "archive", "verify", str(arch))
    assert r.returncode == 1
    assert file_of(arch, RUSSIAN).name in r.stderr and "не совпадает с журналом" in r.stderr
    assert file_of(arch, MATHS).name not in r.stderr   # the other journals still match


def test_bad_input_is_a_russian_message_and_exit_2(built, tmp_path):
    data, _ = built
    r = zhurnal(data, "archive", "build", "--period", "999")
    assert r.returncode == 2 and "Учебного периода № 999 нет" in r.stderr
    r = zhurnal(data, "archive", "build", "--period", str(PERIOD), "--classes", "99Я")
    assert r.returncode == 2 and "Класса «99Я»" in r.stderr
    r = zhurnal(data, "archive", "verify", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "нет" in r.stderr
    r = zhurnal(data, "archive", "cancel")
    assert r.returncode == 2 and "не собирается" in r.stderr


def test_only_the_administration_sees_the_archive_and_downloads_its_files(built):
    data, folder = built
    with make_client(data) as c:
        login(c, "teacher01")
        assert c.get("/archive").status_code == 403
        name = file_of(folder, MATHS).name
        assert c.get(f"/archive/{folder.name}/{name}").status_code == 403
    with make_client(data) as c:
        login(c, "director")
        page = c.get("/archive")
        assert page.status_code == 200 and name in page.text and "черновик" in page.text
        r = c.get(f"/archive/{folder.name}/{name}")
        assert r.status_code == 200 and r.content == file_of(folder, MATHS).read_bytes()
        assert c.get(f"/archive/{folder.name}/manifest.json").status_code == 404
        assert c.get(f"/archive/{folder.name}/..%2Fzhurnal.sqlite3").status_code in (404, 400)


def test_a_cancelled_rebuild_leaves_the_earlier_archive_as_it_was(built, tmp_path):
    data, folder = built
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    before = (copy / "archive" / folder.name / "manifest.json").read_bytes()
    with make_client(copy) as c:
        login(c, "deputy")
        page = c.get("/archive")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = c.post("/archive/build", data={"csrf_token": token, "what": f"p{PERIOD}", "classes": CLASS},
                   follow_redirects=False)
        assert r.status_code == 303
        assert "идёт сборка" in c.get("/archive/progress").text
        again = c.post("/archive/build", data={"csrf_token": token, "what": f"p{PERIOD}"}, follow_redirects=False)
        assert again.status_code == 400 and "уже собирается" in again.text
        assert c.post("/archive/cancel", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        for _ in range(120):
            state = json.loads((copy / "archive" / ".build.json").read_text())
            if state["state"] != "running":
                break
            clock_sleep(1)
        assert state["state"] == "cancelled"
        assert "отменена" in c.get("/archive/progress").text
    assert (copy / "archive" / folder.name / "manifest.json").read_bytes() == before
    assert [p.name for p in (copy / "archive").iterdir() if not p.name.startswith(".")] == [folder.name]
    assert not list((copy / "archive").glob(".build-*")), "the cancelled build's work folder is left"


def clock_sleep(seconds: float) -> None:
    import time
    time.sleep(seconds)  # a real process is waited for: the program's clock does not move it


def test_a_closed_periods_document_has_the_seal_and_no_draft_mark(tmp_path):
    """Rendered alone (a closed period of the demo would take a whole year's build): the seal, no «ЧЕРНОВИК»,
    Cyrillic in an embedded font, the grid cut into pages of 25 lessons."""
    if shutil.which("pdftotext") is None:
        pytest.skip(f"pdftotext (poppler-utils) {MISSING}")
    from server.archive import collect, render
    students = [{"id": i, "name": f"Ёлкина Юлия {i:02d}", "from": "2026-09-01", "to": None} for i in range(3)]
    columns = [[f"2026-09-{d:02d}", 1] for d in range(1, 31)]
    d = {"kind": "journal", "journal_id": 1, "school": "Школа № 1", "subject": "Математика", "target": "5А",
         "teacher": "Иванова Анна Петровна", "year": "2026/2027", "period": "1-я четверть, 2026/2027 учебный год",
         "closed": True, "students": students, "columns": columns,
         "rows": [["5" if c % 7 == 0 else "" for c in range(30)] for _ in students],
         "lessons": [{"date": "2026-09-01", "number": 1, "topic": "Натуральные числа", "work_type": "Урок",
                      "homework": "№ 12", "status": "замена: Петров П. П. (болезнь)"}],
         "period_columns": ["1-я четверть"], "period_grades": [["5"], ["4"], ["3"]],
         "plan": {"items": [{"number": 1, "topic": "Натуральные числа", "hours": 2, "given": 1}],
                  "planned_hours": 2, "given_hours": 1}}
    fp = collect.fingerprint(d)
    pdf = tmp_path / "j.pdf"
    pdf.write_bytes(render.pdf(d, fp, "2026-09-01"))
    text = pdftext(pdf)
    pages = text.split("\f")[:-1]
    assert "ЧЕРНОВИК" not in text and all(fp[:12] in pg and "Школа № 1" in pg for pg in pages)
    assert sum("отметки и посещаемость" in pg for pg in pages) == 2        # 30 lessons: 25 + 5
    assert "замена: Петров П. П. (болезнь)" in text and "Ёлкина Юлия 02" in text
    d2 = {**d, "period_grades": [["5"], ["4"], ["2"]]}
    assert collect.fingerprint(d2) != fp
