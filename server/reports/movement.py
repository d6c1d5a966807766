"""Наполняемость и движение: class sizes on a date; who arrived and who left in a span, with
the dates and reasons, read from the enrolments (a move closes one and opens another, a
departure records its reason on the student: server/school/people.py)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from ..timeutil import ru_date
from .results import classes_of, full_name
from .scope import Span
from .table import INT, TEXT, Column, Table

ENROLLED = "e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)"


def sizes(conn: sqlite3.Connection, year_id: int, on: str) -> Table:
    """Учащихся in each class of the year on `on`, boys and girls."""
    classes = classes_of(conn, year_id)
    counts = {r["class_id"]: r for r in conn.execute(
        f"SELECT e.class_id, count(*) AS n, sum(p.sex = 'м') AS boys, sum(p.sex = 'ж') AS girls,"
        f" sum(s.study_form <> 'очная') AS other_forms"
        f" FROM enrollment e JOIN person p ON p.id = e.student_id JOIN student s ON s.person_id = e.student_id"
        f" WHERE {ENROLLED} GROUP BY e.class_id", {"d": on})}
    rows, total = [], [0, 0, 0, 0]
    for cid, c in classes.items():
        r = counts.get(cid)
        figures = [r["n"], r["boys"] or 0, r["girls"] or 0, r["other_forms"] or 0] if r else [0, 0, 0, 0]
        total = [a + b for a, b in zip(total, figures)]
        teacher = full_name(c["t_last"], c["t_first"], c["t_middle"]) if c["t_last"] else ""
        rows.append([c["name"], teacher] + figures)
    return Table("Наполняемость классов", [
        Column("Класс", TEXT, 8, "class"), Column("Классный руководитель", TEXT, 34, "class_teacher"),
        Column("Учащихся", INT, 10, "students"), Column("Мальчиков", INT, 10, "boys"),
        Column("Девочек", INT, 10, "girls"), Column("Не очная форма", INT, 12, "other_forms")],
        rows, [["Итого", ""] + total] if rows else [])


def movement(conn: sqlite3.Connection, span: Span) -> Table:
    """Arrivals (from another class or school) and departures (to another class, or out of the
    school with the reason) in the span, as balance() counts them: the list on the span's first
    day is the start (the year's first day is the starting list, not arrivals); a student whose
    last day is the span's last day is still there at its end."""
    classes = classes_of(conn, span.year_id)
    rows = conn.execute(
        """
        SELECT e.id, e.student_id, e.class_id, e.from_date, e.to_date, p.last_name, p.first_name, p.middle_name,
               s.left_on, s.left_reason,
               (SELECT c2.parallel || c2.letter FROM enrollment e2 JOIN class c2 ON c2.id = e2.class_id
                 WHERE e2.student_id = e.student_id AND e2.to_date = date(e.from_date, '-1 day')) AS came_from,
               (SELECT c2.parallel || c2.letter FROM enrollment e2 JOIN class c2 ON c2.id = e2.class_id
                 WHERE e2.student_id = e.student_id AND e2.from_date = date(e.to_date, '+1 day')) AS went_to
          FROM enrollment e JOIN person p ON p.id = e.student_id JOIN student s ON s.person_id = e.student_id
         WHERE e.class_id IN (SELECT id FROM class WHERE year_id = :y)
           AND ((e.from_date > :s AND e.from_date <= :e) OR (e.to_date >= :s AND e.to_date < :e))
        """, {"y": span.year_id, "s": span.start, "e": span.end}).fetchall()
    events = []
    for r in rows:
        name = full_name(r["last_name"], r["first_name"], r["middle_name"])
        cls = classes.get(r["class_id"], {}).get("name", "")
        # As balance() counts them: the list on the span's first day includes that day's arrivals.
        if span.start < r["from_date"] <= span.end:
            why = f"переведён(а) из {r['came_from']}" if r["came_from"] else "прибыл(а) в школу"
            events.append((r["from_date"], "Прибытие", cls, name, why))
        if r["to_date"] and span.start <= r["to_date"] < span.end:
            if r["went_to"]:
                why = f"переведён(а) в {r['went_to']}"
            elif r["left_on"] == r["to_date"]:
                why = f"выбыл(а): {r['left_reason']}"
            else:
                why = "выбыл(а)"
            # The last day in the class; the student is gone from the next day.
            gone = (date.fromisoformat(r["to_date"]) + timedelta(days=1)).isoformat() if r["went_to"] else r["to_date"]
            events.append((gone, "Выбытие", cls, name, why))
    events.sort()
    return Table(f"Движение учащихся {span.label}", [
        Column("Дата", TEXT, 12, "date"), Column("Событие", TEXT, 11, "event"), Column("Класс", TEXT, 8, "class"),
        Column("Учащийся", TEXT, 34, "student"), Column("Откуда, куда, причина", TEXT, 50, "reason")],
        [[ru_date(d), what, cls, name, why] for d, what, cls, name, why in events])


def balance(conn: sqlite3.Connection, span: Span) -> Table:
    """Per class: students at the span's start, arrived, left, at its end."""
    classes = classes_of(conn, span.year_id)

    def count(day: str) -> dict[int, int]:
        return {r[0]: r[1] for r in conn.execute(
            f"SELECT e.class_id, count(*) FROM enrollment e WHERE {ENROLLED} GROUP BY e.class_id", {"d": day})}

    at_start, at_end = count(span.start), count(span.end)
    came = {r[0]: r[1] for r in conn.execute(
        "SELECT class_id, count(*) FROM enrollment WHERE from_date > ? AND from_date <= ? GROUP BY class_id",
        (span.start, span.end))}
    left = {r[0]: r[1] for r in conn.execute(
        "SELECT class_id, count(*) FROM enrollment WHERE to_date >= ? AND to_date < ? GROUP BY class_id",
        (span.start, span.end))}
    rows, total = [], [0, 0, 0, 0]
    for cid, c in classes.items():
        figures = [at_start.get(cid, 0), came.get(cid, 0), left.get(cid, 0), at_end.get(cid, 0)]
        total = [a + b for a, b in zip(total, figures)]
        rows.append([c["name"]] + figures)
    return Table("Движение по классам", [
        Column("Класс", TEXT, 8, "class"), Column(f"На {ru_date(span.start)}", INT, 12, "at_start"),
        Column("Прибыло", INT, 10, "arrived"), Column("Выбыло", INT, 10, "left"),
        Column(f"На {ru_date(span.end)}", INT, 12, "at_end")], rows, [["Итого"] + total] if rows else [])
