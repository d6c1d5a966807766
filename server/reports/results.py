"""What each student got in each subject over a span — the one source of every progress figure.

A student's result in a journal is its period grade when the span is a study period and the
grade is set («итоговая»), else the forecast of the weighted average of the grades dated in the
span («текущая»: the journal's own `weighted_average` and `forecast`, the grid's threshold).
No grades and no period grade: «нет отметок», counted with н/а.

Who counts: the students in the class on the span's last day (today for a running period);
their subjects are the class's journals and the journals of the groups they are in that day
(subgroups, individual and home schooling). Electives and ИГЗ are outside the curriculum's
assessment and stay out; so does parallel 1 while it has no marks (безотметочное обучение).
Everything is read in a handful of set-based queries, inside the caller's one snapshot."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from ..journal.rules import NUMERIC, forecast, weighted_average
from .scope import Span

FAILING = ("2", "нз")
UNRATED = ("н/а", None)          # None: no grades in the span and no period grade
NEUTRAL = ("зч", "осв")
NO_GRADES = "нет отметок"
GRADED_GROUPS = ("subgroup", "individual", "home")


@dataclass
class Outcome:
    value: str | None               # '5' '4' '3' '2' 'зч' 'нз' 'н/а' 'осв', or None (no grades)
    source: str                     # 'period' (итоговая) or 'current' (по текущим)
    average: float | None           # the weighted average of the span's grades
    count: int                      # numeric grades in the span
    grades: int                     # all grades in the span (зч/нз too)

    @property
    def shown(self) -> str:
        return self.value or ""


@dataclass
class Student:
    id: int
    name: str
    class_id: int
    journals: list[int] = field(default_factory=list)


@dataclass
class Sheet:
    """Students × journals × outcomes of one span."""

    span: Span
    as_of: str
    threshold: float
    classes: dict[int, dict]
    students: dict[int, Student]
    journals: dict[int, dict]
    outcomes: dict[tuple[int, int], Outcome]

    def of(self, student: Student) -> list[tuple[dict, Outcome]]:
        return [(self.journals[j], self.outcomes[(student.id, j)]) for j in student.journals]

    @property
    def sources(self) -> dict[str, int]:
        found = {"period": 0, "current": 0}
        for o in self.outcomes.values():
            found[o.source] += 1
        return found


def full_name(last: str, first: str, middle: str) -> str:
    return " ".join(x for x in (last, first, middle) if x)


def short_name(last: str, first: str, middle: str) -> str:
    return f"{last} " + "".join(f"{x[0]}." for x in (first, middle) if x)


def threshold_of(conn: sqlite3.Connection) -> float:
    row = conn.execute("SELECT value FROM setting WHERE key = 'forecast_threshold'").fetchone()
    return float(row[0] if row else 0.5)


def first_grade_marks(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM setting WHERE key = 'first_grade_marks'").fetchone()
    return bool(row and row[0] == "1")


def classes_of(conn: sqlite3.Connection, year_id: int) -> dict[int, dict]:
    rows = conn.execute(
        "SELECT c.id, c.parallel, c.letter, c.parallel || c.letter AS name, c.period_kind, c.class_teacher_id,"
        " t.last_name AS t_last, t.first_name AS t_first, t.middle_name AS t_middle"
        " FROM class c LEFT JOIN person t ON t.id = c.class_teacher_id"
        " WHERE c.year_id = ? AND c.archived_at IS NULL ORDER BY c.parallel, c.letter", (year_id,))
    return {r["id"]: dict(r) for r in rows}


def journals_of(conn: sqlite3.Connection, year_id: int) -> dict[int, dict]:
    """Every live journal of the year with its subject, teacher, class or group."""
    rows = conn.execute(
        """
        SELECT j.id, j.subject_id, s.name AS subject, s.short_name AS subject_short, j.class_id, j.group_id, g.kind AS group_kind,
               coalesce(j.class_id, g.class_id) AS home_class_id, coalesce(c.parallel || c.letter, g.name) AS target,
               j.teacher_id, t.last_name AS t_last, t.first_name AS t_first, t.middle_name AS t_middle,
               j.hours_per_week
          FROM journal j JOIN subject s ON s.id = j.subject_id JOIN person t ON t.id = j.teacher_id
          LEFT JOIN class c ON c.id = j.class_id LEFT JOIN study_group g ON g.id = j.group_id
         WHERE j.year_id = ? AND j.archived_at IS NULL
         ORDER BY s.name COLLATE RU, coalesce(c.parallel, 99), coalesce(c.letter, g.name)
        """, (year_id,))
    out = {}
    for r in rows:
        d = dict(r)
        d["teacher"] = short_name(r["t_last"], r["t_first"], r["t_middle"])
        d["teacher_full"] = full_name(r["t_last"], r["t_first"], r["t_middle"])
        out[r["id"]] = d
    return out


def sheet(conn: sqlite3.Connection, span: Span, today: str, *, class_ids: list[int] | None = None,
          journal_ids: list[int] | None = None) -> Sheet:
    """The outcomes of the span: every student now in `class_ids` (all classes when None), in
    every graded journal of theirs (only `journal_ids` when given)."""
    as_of = span.as_of(today)
    classes = classes_of(conn, span.year_id)
    journals = journals_of(conn, span.year_id)
    marks_in_first = first_grade_marks(conn)
    wanted_classes = set(classes) if class_ids is None else set(class_ids) & set(classes)
    wanted_journals = set(journals) if journal_ids is None else set(journal_ids) & set(journals)
    if journal_ids is not None and class_ids is None:
        # A teacher's journals: the classes those journals reach.
        wanted_classes = {journals[j]["home_class_id"] for j in wanted_journals if journals[j]["home_class_id"]}
        wanted_classes |= {r[0] for r in conn.execute(
            "SELECT DISTINCT e.class_id FROM group_member m JOIN enrollment e ON e.student_id = m.student_id"
            " AND e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)"
            " WHERE m.from_date <= :d AND (m.to_date IS NULL OR m.to_date >= :d)"
            " AND m.group_id IN (SELECT value FROM json_each(:g))",
            {"d": as_of, "g": json.dumps([journals[j]["group_id"] for j in wanted_journals if journals[j]["group_id"]])})}
    now = "from_date <= :d AND (to_date IS NULL OR to_date >= :d)"
    students: dict[int, Student] = {}
    for r in conn.execute(
            "SELECT e.student_id, e.class_id, p.last_name, p.first_name, p.middle_name FROM enrollment e"
            " JOIN person p ON p.id = e.student_id WHERE e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)"
            " AND e.class_id IN (SELECT value FROM json_each(:c))"
            " ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU",
            {"d": as_of, "c": json.dumps(sorted(wanted_classes))}):
        students[r["student_id"]] = Student(r["student_id"], full_name(r["last_name"], r["first_name"],
                                                                        r["middle_name"]), r["class_id"])
    groups: dict[int, list[int]] = defaultdict(list)      # student → groups that day
    for r in conn.execute(f"SELECT group_id, student_id FROM group_member WHERE {now}", {"d": as_of}):
        if r["student_id"] in students:
            groups[r["student_id"]].append(r["group_id"])
    class_journals: dict[int, list[int]] = defaultdict(list)
    group_journals: dict[int, list[int]] = defaultdict(list)
    for jid, j in journals.items():
        if jid not in wanted_journals:
            continue
        if j["class_id"]:
            class_journals[j["class_id"]].append(jid)
        elif j["group_kind"] in GRADED_GROUPS:
            group_journals[j["group_id"]].append(jid)
    for s in students.values():
        if classes[s.class_id]["parallel"] == 1 and not marks_in_first:
            continue  # безотметочное обучение
        mine = class_journals.get(s.class_id, []) + [j for g in groups.get(s.id, ()) for j in group_journals.get(g, ())]
        s.journals = sorted(mine, key=lambda j: (journals[j]["subject"], j))
    if journal_ids is not None:
        students = {k: v for k, v in students.items() if v.journals}
    # The grades of the span and the period grades: two queries for the whole school.
    ids = json.dumps(sorted({j for s in students.values() for j in s.journals}))
    weighted: dict[tuple[int, int], list[tuple[str, float]]] = defaultdict(list)
    for sid, jid, value, weight in conn.execute(
            "SELECT g.student_id, l.journal_id, g.value, wt.weight FROM lesson l"
            " JOIN grade g ON g.lesson_id = l.id JOIN work_type wt ON wt.code = g.work_type"
            " WHERE l.date BETWEEN :s AND :e AND l.journal_id IN (SELECT value FROM json_each(:j))",
            {"s": span.start, "e": span.end, "j": ids}):
        weighted[(sid, jid)].append((value, weight))
    finals: dict[tuple[int, int], str] = {}
    if span.period:
        finals = {(r[0], r[1]): r[2] for r in conn.execute(
            "SELECT student_id, journal_id, value FROM period_grade WHERE period_id = ?"
            " AND journal_id IN (SELECT value FROM json_each(?))", (span.period_id, ids))}
    threshold = threshold_of(conn)
    outcomes: dict[tuple[int, int], Outcome] = {}
    for s in students.values():
        for j in s.journals:
            got = weighted.get((s.id, j), [])
            avg = weighted_average(got)
            final = finals.get((s.id, j))
            count = sum(1 for v, _ in got if v in NUMERIC)
            if final is not None:
                outcomes[(s.id, j)] = Outcome(final, "period", avg, count, len(got))
            else:
                value = forecast(avg, threshold)
                if value is None and got and all(v == "зч" for v, _ in got):
                    value = "зч"
                elif value is None and got and any(v == "нз" for v, _ in got) and not count:
                    value = "нз"
                outcomes[(s.id, j)] = Outcome(value, "current", avg, count, len(got))
    return Sheet(span, as_of, threshold, classes, students, journals, outcomes)


# --- a student's standing over their subjects ---------------------------------------------------

@dataclass
class Standing:
    """One student over all their subjects: the category and what puts them there."""

    student: Student
    category: str                   # 'excellent' 'good' 'one3' 'passed' 'failed' 'unrated' 'none'
    fours: int
    threes: int
    failed: list[str]               # subjects with «2» / нз
    unrated: list[tuple[str, str]]  # (subject, reason) with н/а or no grades

    @property
    def one_four(self) -> bool:
        return self.category == "good" and self.fours == 1


def standing(sheet: Sheet, student: Student, reasons: dict[tuple[int, int], str] | None = None) -> Standing:
    """Отличник (all «5»), хорошист (only «4» and «5»), с одной «3», успевающий, неуспевающий
    (a «2» or нз), не аттестован (н/а or no grades); зч and осв do not change the category."""
    values, failed, unrated = [], [], []
    for j, o in sheet.of(student):
        if o.value in FAILING:
            failed.append(j["subject"])
        elif o.value in UNRATED:
            reason = (reasons or {}).get((student.id, j["id"])) or (NO_GRADES if o.value is None else "")
            unrated.append((j["subject"], reason))
        elif o.value in NUMERIC:
            values.append(o.value)
    fours, threes = values.count("4"), values.count("3")
    if not student.journals:
        category = "none"
    elif failed:
        category = "failed"
    elif unrated:
        category = "unrated"
    elif not values:
        category = "passed"
    elif fours == 0 and threes == 0:
        category = "excellent"
    elif threes == 0:
        category = "good"
    elif threes == 1:
        category = "one3"
    else:
        category = "passed"
    return Standing(student, category, fours, threes, failed, unrated)
