"""Посещаемость over a span: per student and per class, lessons missed by reason, % of their
lessons, whole days missed, the students above a threshold.

A student's lessons are the recorded lessons (not cancelled, up to today) of the journals they
were in on each lesson's date — their class's and their groups' (electives too: a missed
elective is a missed lesson). Missed = Н, Б or У (ОП is a late arrival, counted on its own). One
lesson is one academic hour, so lessons missed = hours missed. A whole day missed: a day on which
the student had lessons and missed every one of them."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from ..journal.rules import ABSENT
from .results import classes_of, full_name
from .scope import Span
from .table import INT, PCT, TEXT, Cell, Column, Table, pct

REASONS = (("Б", "по болезни"), ("У", "по уважительной причине"), ("Н", "без уважительной причины"))


@dataclass
class Row:
    id: int
    name: str
    class_id: int
    lessons: int = 0
    marks: dict[str, int] = field(default_factory=lambda: {"Н": 0, "Б": 0, "У": 0, "ОП": 0})
    days: int = 0                                  # whole days missed
    by_journal: dict[int, list[int]] = field(default_factory=dict)   # journal → [lessons, missed, ill]

    @property
    def missed(self) -> int:
        return self.marks["Н"] + self.marks["Б"] + self.marks["У"]

    @property
    def share(self) -> float | None:
        return pct(self.missed, self.lessons)


def _members(conn: sqlite3.Connection, span: Span, class_ids: list[int]) -> tuple[dict, dict, dict]:
    """Students of the classes at any time in the span, with their class intervals; the group
    intervals of those students."""
    rows = conn.execute(
        "SELECT e.student_id, e.class_id, e.from_date, e.to_date, p.last_name, p.first_name, p.middle_name"
        " FROM enrollment e JOIN person p ON p.id = e.student_id"
        " WHERE e.class_id IN (SELECT value FROM json_each(:c)) AND e.from_date <= :e"
        " AND (e.to_date IS NULL OR e.to_date >= :s) ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU, e.from_date",
        {"c": json.dumps(class_ids), "s": span.start, "e": span.end}).fetchall()
    people: dict[int, dict] = {}
    in_class: dict[int, list[tuple]] = defaultdict(list)     # class → [(student, from, to)]
    for r in rows:
        people.setdefault(r["student_id"], {"name": full_name(r["last_name"], r["first_name"], r["middle_name"]),
                                            "class_id": r["class_id"]})["class_id"] = r["class_id"]
        in_class[r["class_id"]].append((r["student_id"], r["from_date"], r["to_date"]))
    in_group: dict[int, list[tuple]] = defaultdict(list)
    for r in conn.execute("SELECT group_id, student_id, from_date, to_date FROM group_member"
                          " WHERE from_date <= ? AND (to_date IS NULL OR to_date >= ?)", (span.end, span.start)):
        if r["student_id"] in people:
            in_group[r["group_id"]].append((r["student_id"], r["from_date"], r["to_date"]))
    return people, in_class, in_group


def collect(conn: sqlite3.Connection, span: Span, today: str, class_ids: list[int] | None = None) -> dict[int, Row]:
    """Per student of the classes (all classes when None): their lessons and absences in the span."""
    classes = classes_of(conn, span.year_id)
    class_ids = sorted(classes) if class_ids is None else class_ids
    people, in_class, in_group = _members(conn, span, class_ids)
    rows = {sid: Row(sid, p["name"], p["class_id"]) for sid, p in people.items()}
    last = min(span.end, today)
    lessons = conn.execute(
        "SELECT l.id, l.journal_id, l.date, j.class_id, j.group_id FROM lesson l JOIN journal j ON j.id = l.journal_id"
        " WHERE l.date BETWEEN ? AND ? AND l.status <> 'cancelled' AND j.year_id = ? AND j.archived_at IS NULL",
        (span.start, last, span.year_id)).fetchall()
    marks = {(r[0], r[1]): r[2] for r in conn.execute(
        "SELECT a.lesson_id, a.student_id, a.mark FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
        " WHERE l.date BETWEEN ? AND ? AND l.status <> 'cancelled'", (span.start, last))}
    day_had: dict[tuple[int, str], int] = defaultdict(int)
    day_missed: dict[tuple[int, str], int] = defaultdict(int)
    for lesson_id, journal_id, day, class_id, group_id in lessons:
        members = in_class.get(class_id, ()) if class_id else in_group.get(group_id, ())
        for sid, a, b in members:
            if a <= day and (b is None or b >= day):
                r = rows[sid]
                r.lessons += 1
                per = r.by_journal.setdefault(journal_id, [0, 0, 0])
                per[0] += 1
                day_had[(sid, day)] += 1
                mark = marks.get((lesson_id, sid))
                if mark:
                    r.marks[mark] += 1
                    if mark in ABSENT:
                        per[1] += 1
                        per[2] += mark == "Б"
                        day_missed[(sid, day)] += 1
    for (sid, day), had in day_had.items():
        if day_missed.get((sid, day)) == had:
            rows[sid].days += 1
    return rows


def unrated_reasons(rows: dict[int, Row]) -> dict[tuple[int, int], str]:
    """Why a student may have no result in a journal: the lessons they missed there."""
    out = {}
    for r in rows.values():
        for jid, (lessons, missed, ill) in r.by_journal.items():
            if missed:
                text = f"пропущено {missed} из {lessons} уроков"
                out[(r.id, jid)] = text + (f", по болезни {ill}" if ill else "")
    return out


COLUMNS = [Column("Уроков", INT, 8, "lessons"), Column("Пропущено уроков (часов)", INT, 12, "missed"),
           Column("Б", INT, 6, "ill"), Column("У", INT, 6, "excused"), Column("Н", INT, 6, "unexcused"),
           Column("ОП", INT, 6, "late"), Column("Пропущено, %", PCT, 11, "missed_pct"),
           Column("Дней пропущено целиком", INT, 11, "days")]


def _figures(r) -> list:
    return [r.lessons, r.missed, r.marks["Б"], r.marks["У"], r.marks["Н"], r.marks["ОП"], r.share, r.days]


@dataclass
class Total:
    lessons: int = 0
    marks: dict[str, int] = field(default_factory=lambda: {"Н": 0, "Б": 0, "У": 0, "ОП": 0})
    days: int = 0
    students: int = 0

    def add(self, r: Row) -> None:
        self.students += 1
        self.lessons += r.lessons
        self.days += r.days
        for k in self.marks:
            self.marks[k] += r.marks[k]

    missed = Row.missed
    share = Row.share


def student_table(rows: dict[int, Row], classes: dict[int, dict], threshold: float) -> Table:
    out, total = [], Total()
    for r in sorted(rows.values(), key=lambda r: (classes[r.class_id]["parallel"], classes[r.class_id]["letter"],
                                                  r.name)):
        total.add(r)
        over = r.share is not None and r.share >= threshold
        out.append([classes[r.class_id]["name"], Cell(r.name, cls="warn" if over else "")] + _figures(r))
    return Table("Посещаемость учащихся", [Column("Класс", TEXT, 8, "class"), Column("Учащийся", TEXT, 32, "student")]
                 + COLUMNS, out, [["", "Итого"] + _figures(total)] if out else [], landscape=True)


def class_table(rows: dict[int, Row], classes: dict[int, dict], span: Span) -> Table:
    by: dict[int, Total] = defaultdict(Total)
    total = Total()
    for r in rows.values():
        by[r.class_id].add(r)
        total.add(r)
    out = [[Cell(classes[c]["name"], f"/reports/attendance?class_id={c}&{span.query()}"), by[c].students]
           + _figures(by[c]) for c in sorted(by, key=lambda c: (classes[c]["parallel"], classes[c]["letter"]))]
    return Table("Посещаемость по классам", [Column("Класс", TEXT, 8, "class"), Column("Учащихся", INT, 9, "students")]
                 + COLUMNS, out, [["Итого", total.students] + _figures(total)] if out else [], landscape=True)


def over_table(rows: dict[int, Row], classes: dict[int, dict], threshold: float) -> Table:
    out = [[classes[r.class_id]["name"], r.name, r.lessons, r.missed, r.share, r.marks["Н"]]
           for r in sorted(rows.values(), key=lambda r: -(r.share or 0)) if r.share is not None and r.share >= threshold]
    shown = f"{threshold:g}".replace(".", ",")
    return Table(f"Пропустили {shown} % уроков и больше", [
        Column("Класс", TEXT, 8, "class"), Column("Учащийся", TEXT, 32, "student"), Column("Уроков", INT, 8, "lessons"),
        Column("Пропущено", INT, 10, "missed"), Column("Пропущено, %", PCT, 11, "missed_pct"),
        Column("Из них без уважительной причины", INT, 14, "unexcused")], out)
