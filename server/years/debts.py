"""Reminders of academic debts (переведён условно: ст. 58 of the law on education; the school's
regulation says nothing of them): a student promoted with a debt has subjects and a deadline to
liquidate it; until the deputy marks it «ликвидирована» or not, the people concerned see it on
their home page — the director and the deputy (all of the school's, the overdue first, with a link
to mark the result), the class teacher (their class's students), a parent (their children) and the
student. A debt is shown from the director's order until its result is marked."""

from __future__ import annotations

import sqlite3
from datetime import date

SOON_DAYS = 14  # «срок скоро»: two weeks before the deadline


def open_debts(conn: sqlite3.Connection, today: str, *, student_ids: list[int] | None = None,
               class_teacher: int | None = None) -> list[dict]:
    """Open debts (no result marked yet), the earliest deadline first; all of them, or those of
    `student_ids`, or those of the students now in a class whose class teacher is `class_teacher`."""
    where, params = "", {"today": today}
    if student_ids is not None:
        if not student_ids:
            return []
        where = f" AND p.student_id IN ({', '.join(str(int(s)) for s in student_ids)})"
    elif class_teacher is not None:
        where = (" AND p.student_id IN (SELECT e.student_id FROM enrollment e JOIN class c ON c.id = e.class_id"
                 " JOIN academic_year y ON y.id = c.year_id WHERE c.class_teacher_id = :ct AND y.status = 'open'"
                 " AND e.from_date <= :today AND (e.to_date IS NULL OR e.to_date >= :today))")
        params["ct"] = class_teacher
    rows = conn.execute(f"""
        SELECT p.year_id, p.class_id, p.student_id, p.debt, p.debt_until, y.name AS year_name,
               c.parallel || c.letter AS class_name, s.last_name, s.first_name,
               n.parallel || n.letter AS next_class_name
          FROM promotion p
          JOIN academic_year y ON y.id = p.year_id
          JOIN class c ON c.id = p.class_id
          JOIN person s ON s.id = p.student_id
          LEFT JOIN class n ON n.id = p.next_class_id
         WHERE p.decision = 'conditional' AND p.debt_status IS NULL AND p.confirmed_at IS NOT NULL{where}
         ORDER BY p.debt_until IS NULL, p.debt_until, s.last_name COLLATE RU, s.first_name COLLATE RU
        """, params).fetchall()
    out = []
    for r in rows:
        left = (date.fromisoformat(r["debt_until"]) - date.fromisoformat(today)).days if r["debt_until"] else None
        out.append({**dict(r), "days_left": left, "overdue": left is not None and left < 0,
                    "soon": left is not None and 0 <= left <= SOON_DAYS})
    return out
