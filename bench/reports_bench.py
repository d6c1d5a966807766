"""`python bench/run.py reports`: the reports on the large bench school (bench/journal_bench.py:
~1,400 students, 52 classes, 520 journals, a whole year of lessons and grades).

The generator writes the journal's tables directly, so this adds what the reports read besides:
a ledger entry for every lesson's topic and every grade (most on the lesson's day, some days
late — the lag journal control measures), «посещаемость отмечена» on most lessons, a КТП of one
topic per timetable lesson, and the 1st quarter's period grades (the forecast, for three
journals in four). Then each report is timed as the server runs it — the report's own function
on one read connection (what `Database.read` does, without the HTTP around it):
- the сводная ведомость of a 30-student class (target ≤ 200 ms);
- успеваемость и качество of the whole school by class (≤ 1 s);
- journal control of the whole school (≤ 1 s);
- the XLSX of a school report — journal control's 520 rows, and успеваемость (≤ 2 s)."""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def enrich(db_path: Path, seed: int = 11) -> dict:
    """The ledger entries, registers, КТП and period grades the reports read."""
    from server.journal.rules import forecast, weighted_average

    rng = random.Random(seed)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    epoch = conn.execute("SELECT max(id) FROM feed_epoch").fetchone()[0]

    def at(day: str, late: int, minute: int) -> str:
        moment = datetime.fromisoformat(day) + timedelta(days=late, hours=8, minutes=minute)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    entries = []
    lessons = conn.execute("SELECT id, journal_id, date, lesson_number FROM lesson").fetchall()
    registers = []
    for lid, jid, day, n in lessons:
        late = 0 if rng.random() < 0.93 else rng.randint(1, 6)
        entries.append((at(day, late, n * 50), "lesson", f"lesson:{lid}", None,
                        '{"topic":"Тема урока","status":"held"}'))
        if rng.random() < 0.95:
            registers.append((lid,))
            entries.append((at(day, 0, n * 50 + 2), "register_taken", f"register_taken:{lid}", None, "{}"))
    for lid, sid, pos, day in conn.execute(
            "SELECT g.lesson_id, g.student_id, g.position, l.date FROM grade g JOIN lesson l ON l.id = g.lesson_id"):
        late = 0 if rng.random() < 0.9 else rng.randint(1, 9)
        entries.append((at(day, late, 30), "grade", f"grade:{lid}:{sid}:{pos}", None, '{"value":"5"}'))
    entries.sort()
    conn.executemany("INSERT INTO audit_log(at, account_id, entity, key, old, new, reason, hash, epoch_id)"
                     " VALUES (?, NULL, ?, ?, ?, ?, '', 'bench', ?)", [e + (epoch,) for e in entries])
    conn.executemany("INSERT INTO register_taken(lesson_id) VALUES (?)", registers)
    # A КТП: one topic per lesson of the timetable, dated as the lessons are.
    for (jid,) in conn.execute("SELECT id FROM journal").fetchall():
        days = conn.execute("SELECT date FROM lesson WHERE journal_id = ? ORDER BY date, lesson_number",
                            (jid,)).fetchall()
        conn.executemany("INSERT INTO plan_item(journal_id, number, topic, hours, planned_date) VALUES (?, ?, ?, 1, ?)",
                         [(jid, k, f"Тема {k}", d) for k, (d,) in enumerate(days, 1)])
    conn.execute("UPDATE lesson SET plan_item_id = (SELECT p.id FROM plan_item p WHERE p.journal_id = lesson.journal_id"
                 " AND p.planned_date = lesson.date LIMIT 1)")
    q1 = conn.execute("SELECT id, starts_on, ends_on FROM study_period WHERE kind = 'quarter' AND number = 1"
                      ).fetchone()
    got: dict = {}
    for jid, sid, value, weight in conn.execute(
            "SELECT l.journal_id, g.student_id, g.value, wt.weight FROM grade g JOIN lesson l ON l.id = g.lesson_id"
            " JOIN work_type wt ON wt.code = g.work_type WHERE l.date BETWEEN ? AND ?", (q1[1], q1[2])):
        got.setdefault((jid, sid), []).append((value, weight))
    finals = [(jid, q1[0], sid, forecast(weighted_average(g), 0.5) or "н/а")
              for (jid, sid), g in got.items() if jid % 4]
    conn.executemany("INSERT INTO period_grade(journal_id, period_id, student_id, value) VALUES (?, ?, ?, ?)", finals)
    conn.execute("COMMIT")
    conn.close()
    return {"ledger_entries": len(entries), "registers": len(registers), "period_grades": len(finals),
            "quarter": q1[0]}


def _time(fn, n: int) -> dict:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"n": n, "median_ms": round(statistics.median(times), 1), "max_ms": round(times[-1], 1)}


def run(tmp: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    import journal_bench

    from server import clock
    from server.accounts.store import User
    from server.db import connect_sync
    from server.reports import pages, results, summary, table
    from server.reports.scope import span as make_span

    data = tmp / "data"
    t0 = time.perf_counter()
    info = journal_bench.generate(data)
    extra = enrich(data / "zhurnal.sqlite3")
    gen_s = time.perf_counter() - t0
    conn = connect_sync(data / "zhurnal.sqlite3")
    conn.execute("PRAGMA query_only = ON")
    today = clock.today().isoformat()
    deputy = conn.execute("SELECT a.id, a.person_id FROM account a WHERE a.login = 'deputy'").fetchone()
    user = User(deputy[0], deputy[1], "deputy", "", "", "", frozenset({"deputy", "teacher"}))
    q = {"period": str(extra["quarter"])}
    span = make_span(conn, extra["quarter"], None, None, today)
    big_class = conn.execute("SELECT class_id FROM enrollment GROUP BY class_id ORDER BY count(*) DESC LIMIT 1"
                             ).fetchone()[0]
    cls = conn.execute("SELECT c.*, c.parallel || c.letter AS name, y.name AS year_name FROM class c"
                       " JOIN academic_year y ON y.id = c.year_id WHERE c.id = ?", (big_class,)).fetchone()

    def in_snapshot(fn):
        def go():
            conn.execute("BEGIN")
            try:
                return fn()
            finally:
                conn.execute("COMMIT")
        return go

    summary_t = _time(in_snapshot(lambda: summary.summary(conn, cls, None, today)), 20)
    sheet = results.sheet(conn, span, today)
    progress_t = _time(in_snapshot(lambda: pages.progress_report(conn, user, {**q, "by": "class"}, today)), 5)
    control_t = _time(in_snapshot(lambda: pages.control_report(conn, user, q, today, 3, 3)), 5)
    report = pages.control_report(conn, user, q, today, 3, 3)
    xlsx_control_t = _time(lambda: table.xlsx(report.tables, report.heading()), 3)
    prog = pages.progress_report(conn, user, {**q, "by": "class"}, today)
    xlsx_progress_t = _time(lambda: table.xlsx(prog.tables, prog.heading()), 3)
    checks = report.extra["checks"]
    conn.close()
    return {
        "benchmark": "reports",
        "school": {"students": info["students"], "journals": info["journals"], "lessons": info["lessons"],
                   "grades": info["grades"], **{k: v for k, v in extra.items() if k != "quarter"}},
        "generate_s": round(gen_s, 1),
        "summary_class_students": len(summary.summary(connect_sync(data / "zhurnal.sqlite3"), cls, None,
                                                      today)["students"]),
        "summary_class": summary_t,
        "progress_school_students": len(sheet.students),
        "progress_school": progress_t,
        "journal_control_journals": len(checks),
        "journal_control_school": control_t,
        "xlsx_journal_control": xlsx_control_t,
        "xlsx_progress": xlsx_progress_t,
        "targets_ms": {"summary_class": 200, "progress_school": 1000, "journal_control_school": 1000, "xlsx": 2000},
    }
