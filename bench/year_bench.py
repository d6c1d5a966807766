"""`python bench/run.py year`: closing the year and applying promotion for the large bench
school (~1,400 students, bench/journal_bench.py's generator: a whole year of lessons and grades).

Year grades are added (one in 20 a «2», so some promotions are conditional), the next year is
created from this one (classes advanced, load and timetable copied), then timed through the
program's own functions on the server's Database (its write thread, synchronous=FULL):
- close: the year closes (its periods, the year row, the ledger entries);
- confirm: every class's proposed decisions saved (what the deputy does class by class);
- apply: the order, one transaction per class (enrolments closed and opened, groups, ledger).
Target: close + apply ≤ 10 s. Memory: the process's peak RSS after generating (the generator's
own peak is printed beside it) against the server's 100 MB budget."""

from __future__ import annotations

import asyncio
import random
import resource
import sqlite3
import time
from pathlib import Path

from journal_bench import generate


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _year_grades(db_path: Path) -> int:
    rng = random.Random(12)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN")
    year = conn.execute("SELECT id FROM study_period WHERE kind = 'year'").fetchone()[0]
    rows = [(jid, year, sid, "2" if rng.random() < 0.002 else rng.choice("543"))
            for jid, sid in conn.execute("SELECT j.id, e.student_id FROM journal j JOIN enrollment e"
                                         " ON e.class_id = j.class_id")]
    conn.executemany("INSERT INTO period_grade(journal_id, period_id, student_id, value) VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()
    return len(rows)


def run(tmp: Path) -> dict:
    from server import clock
    from server.db import Database, migrate
    from server.years import lifecycle, prepare, promotion
    from server.years import routes as year_routes

    data = tmp / "data"
    school = generate(data)
    db_path = data / "zhurnal.sqlite3"
    grades = _year_grades(db_path)
    migrate(db_path)
    generated_rss = _rss_mb()
    conn = sqlite3.connect(db_path)
    year_id, start = conn.execute("SELECT id, starts_on FROM academic_year").fetchone()
    deputy = conn.execute("SELECT id FROM account WHERE login = 'deputy'").fetchone()[0]
    classes = [r[0] for r in conn.execute("SELECT id FROM class WHERE year_id = ?", (year_id,))]
    conn.close()
    y = int(start[:4])

    async def go() -> dict:
        db = Database(db_path, read_connections=1)
        await db.open()
        try:
            figures = {}
            with clock.frozen_at(f"{y + 1}-06-05T10:00:00Z"):
                t = time.perf_counter()
                made = await db.write(prepare.create_next, deputy, year_id)
                figures["create_next_year_s"] = round(time.perf_counter() - t, 2)
                t = time.perf_counter()
                await db.write(lifecycle.close_year, deputy, year_id, "")
                figures["close_s"] = round(time.perf_counter() - t, 2)
                await db.write(promotion.save_order, deputy, year_id, "1-у", f"{y + 1}-06-05", None)
                t = time.perf_counter()
                for class_id in classes:
                    await db.write(promotion.confirm_class, deputy, year_id, class_id, {})
                figures["confirm_all_classes_s"] = round(time.perf_counter() - t, 2)
                t = time.perf_counter()
                moved = await year_routes.apply_order(db, None, deputy, year_id, backup=False)
                figures["apply_s"] = round(time.perf_counter() - t, 2)
                t = time.perf_counter()
                again = await year_routes.apply_order(db, None, deputy, year_id, backup=False)
                figures["apply_again_s"] = round(time.perf_counter() - t, 2)
            decisions = dict(await db.read(lambda c: c.execute(
                "SELECT decision, count(*) FROM promotion GROUP BY decision").fetchall()))
            return {**figures, "moved": moved, "moved_again": again, "decisions": decisions,
                    "next_year": {k: v for k, v in made.items() if k != "year_id"}}
        finally:
            await db.close()

    figures = asyncio.run(go())
    total = figures["close_s"] + figures["apply_s"]
    return {"students": school["students"], "classes": len(classes), "journals": school["journals"],
            "lessons": school["lessons"], "year_grades": grades, **figures,
            "close_plus_apply_s": round(total, 2), "target_s": 10, "within_target": total <= 10,
            "rss_peak_mb": round(_rss_mb(), 1), "rss_after_generating_mb": round(generated_rss, 1),
            "memory_budget_mb": 100}
