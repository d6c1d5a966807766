"""`python bench/run.py plans`: the query plans of the pages read most, on the demo school.

Every statement the grid, the diary week, grades, attendance, messages and the reports'
journal control run is caught with sqlite3's trace callback (bound values expanded) and asked
for its plan (EXPLAIN QUERY PLAN). A full scan of a table that grows with the years
(journal, lesson, grade, attendance, enrollment, group_member, audit_log, message…) is what
makes a page slow as years pile up; small tables of the year (bells, work types, periods of
one year) and scans of a temporary b-tree are fine. `growing_scans` lists what is left.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date

GROWING = {"journal", "lesson", "grade", "attendance", "enrollment", "group_member", "audit_log", "message",
           "message_recipient", "homework", "period_grade", "timetable_slot", "timetable_change", "class",
           "study_group", "study_period", "register_taken", "journal_remark", "plan_item", "person", "student",
           "guardian", "account", "session"}


def trace(conn: sqlite3.Connection, fn, *args) -> list[str]:
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        fn(conn, *args)
    finally:
        conn.set_trace_callback(None)
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def _table_of(sql: str, name: str) -> str:
    """The table behind a plan's name (an alias in the statement, or the table itself)."""
    m = re.search(rf"(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?{re.escape(name)}\b", sql, re.I)
    return m.group(1) if m else name


def scans(conn: sqlite3.Connection, sql: str) -> list[str]:
    """The plan's lines that read a growing table (or all of one of its indexes) whole:
    "SCAN x USING INDEX i" is a full walk of the index, not a lookup."""
    found = []
    for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
        detail = row[-1]
        m = re.match(r"SCAN (\w+)", detail)
        if m and _table_of(sql, m.group(1)) in GROWING and "INTEGER PRIMARY KEY" not in detail:
            found.append(f"{_table_of(sql, m.group(1))}: {detail}")
    return found


def page_plans(db_path, today: str) -> dict:
    from server.accounts.store import session_user  # noqa: F401  (the session check is on every page)
    from server.diary import due
    from server.diary import store as diary
    from server.journal import access
    from server.journal import store as journal
    from server.messages import store as messages

    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    student = conn.execute("SELECT s.person_id FROM student s JOIN enrollment e ON e.student_id = s.person_id"
                           " JOIN class c ON c.id = e.class_id JOIN academic_year y ON y.id = c.year_id"
                           " WHERE y.status = 'open' AND c.parallel = 5 ORDER BY s.person_id LIMIT 1").fetchone()[0]
    jid = conn.execute("SELECT j.id FROM journal j JOIN academic_year y ON y.id = j.year_id WHERE y.status = 'open'"
                       " AND j.class_id IS NOT NULL ORDER BY j.id LIMIT 1").fetchone()[0]
    person = conn.execute("SELECT person_id FROM account WHERE login = 'parent0001'").fetchone()[0]
    info = access.journal(conn, jid)
    d = date.fromisoformat(today)
    pages = {
        "grid": (journal.grid_page, info, None, today),
        "diary_week": (due.week_with_due, student, diary.monday_of(d)),
        "diary_grades": (diary.grades_in_year, student, None, today),
        "diary_attendance": (diary.attendance_in_year, student, None, today),
        "messages": (messages.threads_for, person),
    }
    out = {}
    for name, (fn, *args) in pages.items():
        statements = trace(conn, fn, *args)
        bad = sorted({line for sql in statements for line in scans(conn, sql)})
        out[name] = {"statements": len(statements), "growing_scans": bad}
    conn.close()
    return out


def add_old_years(db_path, count: int = 8) -> int:
    """Older closed years copied from the demo's closed one (classes and journals, direct SQL:
    test data, not school changes) so the school has ten years. Returns the journals now."""
    conn = sqlite3.connect(db_path)
    with conn:
        first = conn.execute("SELECT id, starts_on, ends_on FROM academic_year ORDER BY starts_on LIMIT 1").fetchone()
        y0 = int(first[1][:4])
        for k in range(1, count + 1):
            y = y0 - k
            year_id = conn.execute(
                "INSERT INTO academic_year (name, starts_on, ends_on, status) VALUES (?, ?, ?, 'closed')",
                (f"{y}/{y + 1}", f"{y}-09-01", f"{y + 1}-05-31")).lastrowid
            classes = {}
            for cid, parallel, letter, kind in conn.execute(
                    "SELECT id, parallel, letter, period_kind FROM class WHERE year_id = ?", (first[0],)).fetchall():
                classes[cid] = conn.execute("INSERT INTO class (year_id, parallel, letter, period_kind)"
                                            " VALUES (?, ?, ?, ?)", (year_id, parallel, letter, kind)).lastrowid
            for sid, cid, tid, hours in conn.execute(
                    "SELECT subject_id, class_id, teacher_id, hours_per_week FROM journal"
                    " WHERE year_id = ? AND class_id IS NOT NULL", (first[0],)).fetchall():
                conn.execute("INSERT INTO journal (year_id, subject_id, class_id, teacher_id, hours_per_week)"
                             " VALUES (?, ?, ?, ?, ?)", (year_id, sid, classes[cid], tid, hours))
    total = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    conn.close()
    return total


def diary_week_ms(db_path, today: str, n: int = 100) -> float:
    """The diary week's reads (due.week_with_due) for one student, median of n, in ms."""
    import statistics
    import time

    from server.diary import due
    from server.diary import store as diary

    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    student = conn.execute("SELECT e.student_id FROM enrollment e JOIN class c ON c.id = e.class_id"
                           " JOIN academic_year y ON y.id = c.year_id WHERE y.status = 'open' AND c.parallel = 5"
                           " LIMIT 1").fetchone()[0]
    monday = diary.monday_of(date.fromisoformat(today))
    times = []
    for _ in range(n):
        t = time.perf_counter()
        due.week_with_due(conn, student, monday)
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return round(statistics.median(times), 3)


def run(tmp) -> dict:
    """The demo school with ten years: the plans, and the diary week with and without the
    journal indexes of migration 0018."""
    import contextlib
    import shutil
    import sys

    from server import clock
    from server.config import load_settings
    from server.demo import build_demo

    with contextlib.redirect_stdout(sys.stderr):
        build_demo(load_settings(tmp / "data", mdns=False), "demo-parol")
    db = tmp / "data" / "zhurnal.sqlite3"
    today = clock.today().isoformat()
    one_year = diary_week_ms(db, today)
    journals = add_old_years(db)
    ten_years = diary_week_ms(db, today)
    bare = tmp / "bare.sqlite3"
    shutil.copy(db, bare)
    with sqlite3.connect(bare) as conn:
        conn.execute("DROP INDEX journal_class")
        conn.execute("DROP INDEX journal_group")
    return {"benchmark": "plans", "journals_ten_years": journals, "diary_week_reads_ms_one_year": one_year,
            "diary_week_reads_ms_ten_years": ten_years,
            "diary_week_reads_ms_ten_years_without_0018": diary_week_ms(bare, today),
            "pages": page_plans(db, today)}
