"""Reading the timetable of dates for many journals at once: a teacher's day and week, a
class's week, who gives which lesson when, who is free at a lesson, staff away.

Each journal's lessons come from the one function `dated.lesson_keys` (the weekly timetable
plus the changes of those dates plus what was recorded); this module only reads what it
needs for many journals in a handful of set-based queries. Plain `def f(conn, …)`, run by
`Database.read` — or inside a write's transaction (timetable/writes.py checks who is free
where the change is written)."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from .. import collation
from ..school.structure import JOURNAL_JOINS, JOURNAL_TITLE_SQL
from . import dated
from .dated import Changes, Key

WEEKDAYS = ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"]
WEEKDAYS_SHORT = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]

# Whether a lesson's attendance is recorded: its register is marked taken («посещаемость
# отмечена», even when everyone was present: the register_taken table, what journal control
# counts), or it has a mark (Н, Б, У, ОП) from before the flag existed.
ATTENDANCE_TAKEN_SQL = ("(EXISTS (SELECT 1 FROM register_taken r WHERE r.lesson_id = l.id)"
                        " OR EXISTS (SELECT 1 FROM attendance a WHERE a.lesson_id = l.id))")


def short_name(last: str | None, first: str | None, middle: str | None) -> str:
    initials = "".join(f"{p[0]}." for p in (first, middle) if p)
    return f"{last or ''} {initials}".strip()


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class TimetabledJournal:
    """A journal with its weekly timetable, holidays and changes: what dated.lesson_keys needs."""

    row: sqlite3.Row
    year_start: str
    year_end: str
    slots: dict[int, list[int]] = field(default_factory=dict)
    rooms: dict[tuple[int, int], str] = field(default_factory=dict)
    holidays: list[tuple[str, str]] = field(default_factory=list)
    changes: Changes = dated.NO_CHANGES
    terms: list[tuple[str, str]] = field(default_factory=list)

    def is_holiday(self, day: str) -> str | None:
        return next((f"{a}–{b}" for a, b in self.holidays if a <= day <= b), None)

    @property
    def id(self) -> int:
        return self.row["id"]


@dataclass
class DatedLesson:
    """One lesson of the timetable of a date, with what was recorded for it."""

    journal: sqlite3.Row
    date: str
    number: int
    room: str
    time: str | None                      # "08:30–09:15" from the bells
    change: Mapping[str, Any] | None      # a change put it here: moved in (from_date) or extra
    lesson: sqlite3.Row | None            # the recorded lesson (status, substitute, topic …)

    @property
    def journal_id(self) -> int:
        return self.journal["id"]

    @property
    def status(self) -> str:
        return self.lesson["status"] if self.lesson else "held"

    @property
    def substitute_id(self) -> int | None:
        return self.lesson["substitute_id"] if self.lesson and self.status == "substituted" else None

    @property
    def given_by(self) -> int | None:
        """Who gives it: the substitute, else the journal's teacher; nobody if it is cancelled."""
        if self.status == "cancelled":
            return None
        return self.substitute_id or self.journal["teacher_id"]

    @property
    def substitute(self) -> str | None:
        if self.substitute_id is None:
            return None
        return short_name(self.lesson["sub_last"], self.lesson["sub_first"], self.lesson["sub_middle"])

    @property
    def teacher(self) -> str:
        return short_name(self.journal["t_last"], self.journal["t_first"], self.journal["t_middle"])

    @property
    def starts_at(self) -> str | None:
        return self.time.split("–")[0] if self.time else None

    @property
    def topic(self) -> bool:
        return bool(self.lesson and self.lesson["topic"])

    @property
    def attendance(self) -> bool:
        return bool(self.lesson and self.lesson["has_attendance"])

    @property
    def homework(self) -> bool:
        return bool(self.lesson and self.lesson["has_homework"])

    @property
    def kind(self) -> str:
        """'timetable', 'moved' (moved in from another date or number) or 'extra'."""
        if self.change is None:
            return "timetable"
        return "moved" if self.change["from_date"] else "extra"


@dataclass
class MovedAway:
    """A lesson the weekly timetable has on a date that was moved elsewhere."""

    journal: sqlite3.Row
    date: str
    number: int
    time: str | None
    change: Mapping[str, Any]


@dataclass
class Dated:
    lessons: list[DatedLesson]
    moved: list[MovedAway]
    journals: dict[int, TimetabledJournal]


def _ids(rows) -> str:
    return json.dumps(sorted({r["id"] for r in rows}))


def dated_lessons(conn: sqlite3.Connection, start: str, end: str, where: str = "1",
                  params: Mapping[str, Any] | None = None) -> Dated:
    """Every lesson in [start, end] of the journals matching `where` (SQL over `journal j`
    with JOURNAL_JOINS' s, c, g, t), with what was recorded for each: seven queries whatever the
    number of journals and days."""
    params = {"start": start, "end": end, **(params or {})}
    journals = conn.execute(
        f"""
        SELECT j.*, {JOURNAL_TITLE_SQL}, s.short_name AS subject_short, y.starts_on AS year_start,
               y.ends_on AS year_end
          FROM journal j {JOURNAL_JOINS} JOIN academic_year y ON y.id = j.year_id
         WHERE j.archived_at IS NULL AND y.starts_on <= :end AND y.ends_on >= :start AND ({where})
        """, params).fetchall()
    by_id = {r["id"]: TimetabledJournal(r, r["year_start"], r["year_end"]) for r in journals}
    if not by_id:
        return Dated([], [], {})
    ids = _ids(journals)
    in_ids = "IN (SELECT value FROM json_each(:ids))"
    for s in conn.execute(f"SELECT journal_id, weekday, lesson_number, room FROM timetable_slot"
                          f" WHERE journal_id {in_ids} ORDER BY weekday, lesson_number", {"ids": ids}):
        tj = by_id[s["journal_id"]]
        tj.slots.setdefault(s["weekday"], []).append(s["lesson_number"])
        tj.rooms[(s["weekday"], s["lesson_number"])] = s["room"]
    years = json.dumps(sorted({r["year_id"] for r in journals}))
    holidays: dict[int, list] = defaultdict(list)
    for h in conn.execute("SELECT year_id, starts_on, ends_on FROM holiday WHERE year_id IN"
                          " (SELECT value FROM json_each(:y))", {"y": years}):
        holidays[h["year_id"]].append((h["starts_on"], h["ends_on"]))
    bells = {(b["year_id"], b["number"]): f"{b['starts_at']}–{b['ends_at']}" for b in conn.execute(
        "SELECT * FROM bell WHERE year_id IN (SELECT value FROM json_each(:y))", {"y": years})}
    terms: dict[int, list] = defaultdict(list)
    for t in conn.execute("SELECT year_id, starts_on, ends_on FROM study_period WHERE kind <> 'year'"
                          " AND year_id IN (SELECT value FROM json_each(:y))", {"y": years}):
        terms[t["year_id"]].append((t["starts_on"], t["ends_on"]))
    changes: dict[int, list[dict]] = defaultdict(list)
    for c in conn.execute(f"SELECT * FROM timetable_change WHERE journal_id {in_ids}"
                          " AND (date BETWEEN :start AND :end OR from_date BETWEEN :start AND :end)",
                          {"ids": ids, "start": start, "end": end}):
        changes[c["journal_id"]].append(dict(c))
    for tj in by_id.values():
        tj.holidays = holidays[tj.row["year_id"]]
        tj.terms = terms[tj.row["year_id"]]
        tj.changes = Changes.of(changes[tj.id])
    recorded: dict[int, list[sqlite3.Row]] = defaultdict(list)
    for l_ in conn.execute(
            f"""
            SELECT l.*, sub.last_name AS sub_last, sub.first_name AS sub_first, sub.middle_name AS sub_middle,
                   EXISTS (SELECT 1 FROM homework h WHERE h.lesson_id = l.id) AS has_homework,
                   {ATTENDANCE_TAKEN_SQL} AS has_attendance
              FROM lesson l LEFT JOIN person sub ON sub.id = l.substitute_id
             WHERE l.journal_id {in_ids} AND l.date BETWEEN :start AND :end
            """, {"ids": ids, "start": start, "end": end}):
        recorded[l_["journal_id"]].append(l_)
    lessons: list[DatedLesson] = []
    moved: list[MovedAway] = []
    for tj in by_id.values():
        rows = {(r["date"], r["lesson_number"]): r for r in recorded[tj.id]}
        for d, n in dated.lesson_keys(tj, start, end, rows.values()):
            change = tj.changes.placed.get((d, n))
            room = change["room"] if change else tj.rooms.get((date.fromisoformat(d).isoweekday(), n), "")
            lessons.append(DatedLesson(tj.row, d, n, room, bells.get((tj.row["year_id"], n)), change, rows.get((d, n))))
        for (d, n), change in dated.moved_away(tj, start, end):
            moved.append(MovedAway(tj.row, d, n, bells.get((tj.row["year_id"], n)), change))
    lessons.sort(key=lambda x: (x.date, x.number, collation.key(x.journal["subject_name"]),
                                 collation.key(x.journal["target_name"])))
    moved.sort(key=lambda x: (x.date, x.number))
    return Dated(lessons, moved, by_id)


# --- whose lessons -----------------------------------------------------------------------------

TEACHER_JOURNALS = """(j.teacher_id = :person OR j.id IN (SELECT journal_id FROM lesson WHERE substitute_id = :person
                                                         AND date BETWEEN :start AND :end))"""
# The journals a class's timetable shows: its own, its subgroups', its students' groups'.
CLASS_JOURNALS = """(j.class_id = :class OR g.class_id = :class
    OR j.group_id IN (SELECT m.group_id FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                       WHERE e.class_id = :class AND e.from_date <= :end AND (e.to_date IS NULL OR e.to_date >= :start)
                         AND m.from_date <= :end AND (m.to_date IS NULL OR m.to_date >= :start)))"""


def teacher_lessons(conn: sqlite3.Connection, person_id: int, start: str, end: str) -> Dated:
    """The lessons of [start, end] that are the teacher's: of their journals (also those a
    substitute gives: `substitute` says who) and those they give as a substitute."""
    found = dated_lessons(conn, start, end, TEACHER_JOURNALS, {"person": person_id})
    found.lessons = [x for x in found.lessons
                     if x.journal["teacher_id"] == person_id or x.substitute_id == person_id]
    found.moved = [m for m in found.moved if m.journal["teacher_id"] == person_id]
    return found


def class_lessons(conn: sqlite3.Connection, class_id: int, start: str, end: str) -> Dated:
    return dated_lessons(conn, start, end, CLASS_JOURNALS, {"class": class_id})


# --- weeks ---------------------------------------------------------------------------------------

def week_days(monday: date, lessons: list[DatedLesson], moved: list[MovedAway]) -> list[dict]:
    """Monday to Saturday (Sunday only when it has a lesson): per day its lessons and the
    lessons moved away from it."""
    days = []
    for i in range(7):
        iso = (monday + timedelta(days=i)).isoformat()
        todays = [x for x in lessons if x.date == iso]
        away = [m for m in moved if m.date == iso]
        if i == 6 and not todays and not away:
            continue
        days.append({"date": iso, "weekday": WEEKDAYS[i], "short": WEEKDAYS_SHORT[i], "lessons": todays,
                     "moved": away})
    return days


def week_grid(days: list[dict]) -> dict:
    """The week as a table: lesson numbers × days, each cell the lessons and moved-away ones
    at that number."""
    numbers = sorted({x.number for d in days for x in d["lessons"]} | {m.number for d in days for m in d["moved"]})
    if numbers:
        numbers = list(range(min(numbers[0], 1), numbers[-1] + 1))
    cells = {(d["date"], n): {"lessons": [x for x in d["lessons"] if x.number == n],
                              "moved": [m for m in d["moved"] if m.number == n]} for d in days for n in numbers}
    times = {}
    for d in days:
        for x in [*d["lessons"], *d["moved"]]:
            if x.time:
                times.setdefault(x.number, x.time)
    return {"numbers": numbers, "cells": cells, "times": times}


def teacher_week(conn: sqlite3.Connection, person_id: int, monday: date) -> dict:
    """A teacher's week: days, a lessons × days grid, the bells of the year."""
    end = (monday + timedelta(days=6)).isoformat()
    found = teacher_lessons(conn, person_id, monday.isoformat(), end)
    days = week_days(monday, found.lessons, found.moved)
    return {"monday": monday.isoformat(), "days": days, "grid": week_grid(days),
            "prev": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat()}


def class_week(conn: sqlite3.Connection, class_id: int, monday: date) -> dict:
    end = (monday + timedelta(days=6)).isoformat()
    found = class_lessons(conn, class_id, monday.isoformat(), end)
    days = week_days(monday, found.lessons, found.moved)
    return {"monday": monday.isoformat(), "days": days, "grid": week_grid(days),
            "prev": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat()}


def teacher_day(conn: sqlite3.Connection, person_id: int, day: str) -> dict:
    """The teacher's home page: the lessons of `day` and the ones moved away from it."""
    found = teacher_lessons(conn, person_id, day, day)
    return {"date": day, "weekday": WEEKDAYS[date.fromisoformat(day).weekday()], "lessons": found.lessons,
            "moved": found.moved}


def teacher_home_day(conn: sqlite3.Connection, person_id: int, today: str) -> dict:
    """The teacher's home page: today's lessons, or — on a day without any (a Sunday, the
    holidays' last day) — those of the next day with lessons in the coming week."""
    end = (date.fromisoformat(today) + timedelta(days=7)).isoformat()
    found = teacher_lessons(conn, person_id, today, end)
    dates = sorted({x.date for x in found.lessons} | {m.date for m in found.moved})
    day = today if not dates or dates[0] == today else dates[0]
    return {"date": day, "today": today, "weekday": WEEKDAYS[date.fromisoformat(day).weekday()],
            "lessons": [x for x in found.lessons if x.date == day], "moved": [m for m in found.moved if m.date == day]}


# --- who is free -----------------------------------------------------------------------------------

def busy(conn: sqlite3.Connection, start: str, end: str) -> dict[Key, dict[int, DatedLesson]]:
    """(date, number) → {person: the lesson they give then}, for the whole school."""
    out: dict[Key, dict[int, DatedLesson]] = defaultdict(dict)
    for x in dated_lessons(conn, start, end).lessons:
        if x.given_by is not None:
            out[(x.date, x.number)][x.given_by] = x
    return out


def absent(conn: sqlite3.Connection, start: str, end: str) -> list[sqlite3.Row]:
    """Staff away at some time in [start, end], with their names."""
    return conn.execute(
        "SELECT a.*, p.last_name, p.first_name, p.middle_name FROM staff_absence a JOIN person p ON p.id = a.person_id"
        " WHERE a.starts_on <= ? AND a.ends_on >= ? ORDER BY a.starts_on, p.last_name COLLATE RU", (end, start)).fetchall()


def teachers(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Everyone who may give a lesson as a substitute: working staff with the teacher's role."""
    return conn.execute(
        "SELECT DISTINCT p.id, p.last_name, p.first_name, p.middle_name, p.position, p.sex FROM person p"
        " JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id"
        " WHERE r.role = 'teacher' AND a.disabled_at IS NULL AND p.archived_at IS NULL"
        " ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU").fetchall()


@dataclass
class Candidate:
    id: int
    name: str
    hint: str
    free: bool


def candidates(conn: sqlite3.Connection, lessons: list[DatedLesson], start: str, end: str) -> dict[Key, list]:
    """For each lesson, who could substitute: (date, number, journal) → [Candidate], the free
    ones first and the teachers of the same subject first among them; busy and away people
    are listed too, not free, with the reason (the picker shows them disabled)."""
    staff = teachers(conn)
    taken = busy(conn, start, end)
    away = absent(conn, start, end)
    by_subject: dict[int, set[int]] = defaultdict(set)
    for r in conn.execute("SELECT DISTINCT subject_id, teacher_id FROM journal WHERE archived_at IS NULL"):
        by_subject[r["subject_id"]].add(r["teacher_id"])
    out = {}
    for x in lessons:
        busy_now = taken.get((x.date, x.number), {})
        away_now = {a["person_id"] for a in away if a["starts_on"] <= x.date <= a["ends_on"]}
        found = []
        for t in staff:
            if t["id"] == x.journal["teacher_id"]:
                continue
            name = f"{t['last_name']} {t['first_name']} {t['middle_name']}".strip()
            other = busy_now.get(t["id"])
            if other is not None and other.journal_id == x.journal_id and other.number == x.number:
                other = None  # the lesson itself: they substitute it already
            same = t["id"] in by_subject[x.journal["subject_id"]]
            she = t["sex"] == "ж"
            if t["id"] in away_now:
                found.append(Candidate(t["id"], name, "отсутствует", False))
            elif other is not None:
                what = f"{other.journal['target_name']}, {other.journal['subject_name'].lower()}"
                found.append(Candidate(t["id"], name, f"{'занята' if she else 'занят'}: {what}", False))
            else:
                free = "свободна" if she else "свободен"
                found.append(Candidate(t["id"], name, free + (", ведёт этот предмет" if same else ""), True))
        found.sort(key=lambda c: (not c.free, "ведёт" not in c.hint, collation.key(c.name)))
        out[(x.date, x.number, x.journal_id)] = found
    return out


def lesson_at(conn: sqlite3.Connection, journal_id: int, day: str, number: int) -> DatedLesson | None:
    """One lesson of a journal on a date, if the timetable of that date has it."""
    found = dated_lessons(conn, day, day, "j.id = :journal", {"journal": journal_id})
    return next((x for x in found.lessons if x.number == number), None)


# --- the deputy's overview -------------------------------------------------------------------------

def changes_between(conn: sqlite3.Connection, start: str, end: str) -> dict:
    """What differs from the weekly timetable in [start, end]: substitutions, cancellations,
    moves and extra lessons, with the staff away."""
    found = dated_lessons(conn, start, end)
    return {
        "substituted": [x for x in found.lessons if x.status == "substituted"],
        "cancelled": [x for x in found.lessons if x.status == "cancelled"],
        "placed": [x for x in found.lessons if x.change is not None],
        "moved": found.moved,
        "absent": absent(conn, start, end),
    }


def absence(conn: sqlite3.Connection, absence_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT a.*, p.last_name, p.first_name, p.middle_name FROM staff_absence a JOIN person p ON p.id = a.person_id"
        " WHERE a.id = ?", (absence_id,)).fetchone()


def absence_page(conn: sqlite3.Connection, absence_id: int) -> dict | None:
    """An absence with the teacher's lessons in it and, for each, who could substitute."""
    a = absence(conn, absence_id)
    if a is None:
        return None
    found = dated_lessons(conn, a["starts_on"], a["ends_on"], "j.teacher_id = :person", {"person": a["person_id"]})
    lessons = [x for x in found.lessons if x.journal["teacher_id"] == a["person_id"]]
    return {"absence": a, "lessons": lessons, "moved": found.moved,
            "candidates": candidates(conn, lessons, a["starts_on"], a["ends_on"])}
