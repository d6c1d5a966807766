"""Reading the journal: the lesson columns of a period (from the timetable), the grid of a
period in a handful of set-based queries, the lesson panel, cell history, the to-do list.

Every function here is a plain `def f(conn, …)` that a handler runs with `Database.read`
(one hop, one snapshot) — or that a write job calls inside its own transaction. Who may
read or write a journal is decided in access.py, not here."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ..errors import NotFound
from ..planning import store as plan_store
from ..school.structure import JOURNAL_JOINS, JOURNAL_TITLE_SQL
from ..timetable import dated
from ..timetable.dated import CHANGES_JSON_SQL, NO_CHANGES, Changes
from .rules import NUMERIC, JournalError, forecast, parse_day, weighted_average


@dataclass
class JournalInfo:
    """A journal with what its rules need: parallel, period kind, year, timetable (the weekly
    one and the changes on dates), holidays."""

    row: sqlite3.Row
    parallel: int
    period_kind: str
    year_start: str
    year_end: str
    slots: dict[int, list[int]]            # weekday → lesson numbers
    holidays: list[tuple[str, str]]
    settings: dict[str, str] = field(default_factory=dict)
    changes: Changes = NO_CHANGES           # lessons moved or added on dates (server/timetable/)
    terms: list = field(default_factory=list)  # the year's quarters and halves: the days with lessons

    @property
    def id(self) -> int:
        return self.row["id"]

    @property
    def no_marks(self) -> bool:
        return self.parallel == 1 and self.settings.get("first_grade_marks", "0") != "1"

    def is_holiday(self, day: str) -> str | None:
        return next((f"{a}–{b}" for a, b in self.holidays if a <= day <= b), None)


def journal_info(conn: sqlite3.Connection, journal_id: int) -> JournalInfo | None:
    """The journal and what its rules need, in one query (a write job reads it inside its own
    transaction: access.for_writer)."""
    row = conn.execute(
        f"""
        SELECT j.*, {JOURNAL_TITLE_SQL}, y.starts_on AS year_start, y.ends_on AS year_end, y.status AS year_status,
               y.closed_at AS year_closed_at,
               coalesce(c.parallel, gc.parallel,
                        (SELECT max(c2.parallel) FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                           JOIN class c2 ON c2.id = e.class_id WHERE m.group_id = j.group_id)) AS parallel,
               coalesce(c.period_kind, gc.period_kind,
                        (SELECT min(c2.period_kind) FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                           JOIN class c2 ON c2.id = e.class_id WHERE m.group_id = j.group_id), 'quarter') AS period_kind,
               coalesce(c.id, gc.id) AS home_class_id,
               EXISTS (SELECT 1 FROM account ta WHERE ta.person_id = j.teacher_id
                        AND ta.disabled_at IS NOT NULL) AS teacher_left,
               (SELECT json_group_array(json_array(weekday, lesson_number)) FROM timetable_slot
                 WHERE journal_id = j.id) AS slots_json,
               (SELECT json_group_array(json_array(starts_on, ends_on)) FROM holiday
                 WHERE year_id = j.year_id) AS holidays_json,
               (SELECT json_group_object(key, value) FROM setting WHERE key IN
                  ('grade_one_allowed', 'first_grade_marks', 'forecast_threshold')) AS settings_json,
               {CHANGES_JSON_SQL} AS changes_json,
               (SELECT json_group_array(json_array(starts_on, ends_on)) FROM study_period
                 WHERE year_id = j.year_id AND kind <> 'year') AS terms_json
          FROM journal j {JOURNAL_JOINS}
          JOIN academic_year y ON y.id = j.year_id
          LEFT JOIN class gc ON gc.id = g.class_id
         WHERE j.id = ?
        """,
        (journal_id,),
    ).fetchone()
    if row is None:
        return None
    # One query: the timetable, holidays and settings come as JSON.
    slots: dict[int, list[int]] = {}
    for weekday, number in sorted(json.loads(row["slots_json"])):
        slots.setdefault(weekday, []).append(number)
    holidays = [tuple(h) for h in json.loads(row["holidays_json"])]
    settings = json.loads(row["settings_json"])
    return JournalInfo(row, row["parallel"] or 0, row["period_kind"], row["year_start"], row["year_end"], slots,
                       holidays, settings, Changes.from_json(row["changes_json"]),
                       [tuple(t) for t in json.loads(row["terms_json"])])


def open_year(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1").fetchone()


def lesson_columns(info: JournalInfo, start: str, end: str, lessons: list[sqlite3.Row]) -> list[tuple[str, int]]:
    """(date, lesson number) of every lesson in [start, end]: the timetable of each date
    (server/timetable/dated.py — the weekly timetable, holidays left out, lessons moved or
    added on dates), plus any recorded lesson that it does not have."""
    return dated.lesson_keys(info, start, end, lessons)


def is_scheduled(info: JournalInfo, day: str, number: int) -> bool:
    return dated.is_scheduled(info, day, number)


STUDENTS_SQL = """
    SELECT p.id, p.last_name, p.first_name, p.middle_name, m.from_date, m.to_date
      FROM ({members}) m JOIN person p ON p.id = m.student_id
     WHERE m.from_date <= :end AND (m.to_date IS NULL OR m.to_date >= :start)
     ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU, m.from_date
"""
CLASS_MEMBERS = "SELECT student_id, from_date, to_date FROM enrollment WHERE class_id = :target"
GROUP_MEMBERS = "SELECT student_id, from_date, to_date FROM group_member WHERE group_id = :target"


def students(conn: sqlite3.Connection, info: JournalInfo, start: str, end: str) -> list[dict]:
    """Students of the journal in [start, end]: from/to say when they joined or left."""
    members = CLASS_MEMBERS if info.row["class_id"] else GROUP_MEMBERS
    target = info.row["class_id"] or info.row["group_id"]
    rows = conn.execute(STUDENTS_SQL.format(members=members), {"target": target, "start": start, "end": end})
    merged: dict[int, dict] = {}
    for r in rows:  # a student who left and came back has two rows: show one
        s = merged.setdefault(r["id"], {"id": r["id"], "last_name": r["last_name"], "first_name": r["first_name"],
                                        "middle_name": r["middle_name"], "from": r["from_date"], "to": r["to_date"]})
        s["from"] = min(s["from"], r["from_date"])
        s["to"] = None if (s["to"] is None or r["to_date"] is None) else max(s["to"], r["to_date"])
    return list(merged.values())


def is_member(conn: sqlite3.Connection, info: JournalInfo, student_id: int, day: str) -> bool:
    """Whether the student is in the journal's class or group on `day`."""
    members = CLASS_MEMBERS if info.row["class_id"] else GROUP_MEMBERS
    sql = (f"SELECT 1 FROM ({members}) m WHERE m.student_id = :s AND m.from_date <= :d"
           " AND (m.to_date IS NULL OR m.to_date >= :d)")
    params = {"target": info.row["class_id"] or info.row["group_id"], "s": student_id, "d": day}
    return conn.execute(sql, params).fetchone() is not None


def closed_period(conn: sqlite3.Connection, info: JournalInfo, day: str) -> sqlite3.Row | None:
    """The closed study period (of the journal's kind, or the year) that `day` falls in."""
    return conn.execute("SELECT kind, number FROM study_period WHERE year_id = ? AND kind IN (?, 'year')"
                        " AND starts_on <= ? AND ends_on >= ? AND closed_at IS NOT NULL",
                        (info.row["year_id"], info.period_kind, day, day)).fetchone()


def periods_of(conn: sqlite3.Connection, info: JournalInfo) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM study_period WHERE year_id = ? AND kind IN (?, 'year') ORDER BY kind = 'year', number",
        (info.row["year_id"], info.period_kind)).fetchall()


def grid_page(conn: sqlite3.Connection, info: JournalInfo, wanted: int | None, today: str) -> dict:
    """The grid page of the period `wanted` (default: the current one), in one snapshot."""
    periods = periods_of(conn, info)
    period = next((p for p in periods if p["id"] == wanted), None) or current_period(periods, today)
    return {"periods": periods, "period": period, "g": grid(conn, info, period) if period else None}


def grid(conn: sqlite3.Connection, info: JournalInfo, period: sqlite3.Row) -> dict:
    """Everything the journal page shows for one period: six queries."""
    start, end = period["starts_on"], period["ends_on"]
    lessons = conn.execute(
        "SELECT l.*, h.text AS hw_text, h.minutes AS hw_minutes, h.file_name AS hw_file, h.due_date AS hw_due,"
        " wt.name AS work_type_name, wt.is_control,"
        " EXISTS (SELECT 1 FROM register_taken r WHERE r.lesson_id = l.id) AS register_taken"
        " FROM lesson l JOIN work_type wt ON wt.code = l.work_type LEFT JOIN homework h ON h.lesson_id = l.id"
        " WHERE l.journal_id = ? AND l.date BETWEEN ? AND ?", (info.id, start, end)).fetchall()
    by_key = {(l_["date"], l_["lesson_number"]): l_ for l_ in lessons}
    columns = lesson_columns(info, start, end, lessons)
    people = students(conn, info, start, end)
    work_types = {w["code"]: w for w in conn.execute("SELECT * FROM work_type ORDER BY sort")}
    cells: dict[tuple[int, str, int], dict] = {}
    lesson_key = {l_["id"]: (l_["date"], l_["lesson_number"]) for l_ in lessons}
    for g in conn.execute(
            "SELECT g.* FROM grade g JOIN lesson l ON l.id = g.lesson_id"
            " WHERE l.journal_id = ? AND l.date BETWEEN ? AND ? ORDER BY g.position", (info.id, start, end)):
        d, n = lesson_key[g["lesson_id"]]
        cells.setdefault((g["student_id"], d, n), {"mark": None, "grades": []})["grades"].append(
            (g["value"], g["work_type"]))
    for a in conn.execute(
            "SELECT a.* FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
            " WHERE l.journal_id = ? AND l.date BETWEEN ? AND ?", (info.id, start, end)):
        d, n = lesson_key[a["lesson_id"]]
        cells.setdefault((a["student_id"], d, n), {"mark": None, "grades": []})["mark"] = a["mark"]
    threshold = float(info.settings.get("forecast_threshold", "0.5"))
    per_student: dict[int, list] = {s["id"]: [] for s in people}
    for (sid, _, _), c in cells.items():
        if sid in per_student:
            per_student[sid].extend((v, work_types[wt]["weight"]) for v, wt in c["grades"])
    averages = {}
    for s in people:
        weighted = per_student[s["id"]]
        avg = weighted_average(weighted)
        averages[s["id"]] = {"average": avg, "forecast": forecast(avg, threshold),
                             "count": sum(1 for v, _ in weighted if v in NUMERIC)}
    period_grades = {(r["student_id"], r["period_id"]): r["value"] for r in conn.execute(
        "SELECT * FROM period_grade WHERE journal_id = ?", (info.id,))}
    return {"columns": columns, "lessons": by_key, "students": people, "cells": cells, "averages": averages,
            "work_types": work_types, "period_grades": period_grades, "threshold": threshold}


_HISTORY_SQL = """
    SELECT a.at, a.entity, a.key, a.old, a.new, a.reason, p.last_name, p.first_name, p.middle_name
      FROM audit_log a LEFT JOIN account ac ON ac.id = a.account_id LEFT JOIN person p ON p.id = ac.person_id
"""


def cell_history(conn: sqlite3.Connection, info: JournalInfo, student_id: int | None, day: str | None,
                 number: int | None, period_id: int | None) -> dict:
    """F2 on a cell: who set what in it and when, deletions included — a lesson's cell, or a
    period grade's (`period_id`). Only for a student of this journal (at any time this year):
    the page must not become a way to look up anyone's name by id."""
    if period_id is not None:
        period = conn.execute("SELECT * FROM study_period WHERE id = ? AND year_id = ?",
                              (period_id, info.row["year_id"])).fetchone()
        if period is None:
            raise NotFound("Такого учебного периода нет.")
        day = ""
        history = conn.execute(_HISTORY_SQL + " WHERE a.key = ? ORDER BY a.id",
                               (f"period_grade:{info.id}:{period_id}:{student_id}",)).fetchall()
        grades = []
    else:
        day = parse_day(day)
        if number is None:
            raise JournalError("Неверный запрос: не указан номер урока.")
        period = None
        lesson = conn.execute("SELECT * FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
                              (info.id, day, number)).fetchone()
        history = conn.execute(
            _HISTORY_SQL + " WHERE a.key LIKE :g ESCAPE '\\' OR a.key = :att ORDER BY a.id",
            {"g": f"grade:{lesson['id']}:{student_id}:%", "att": f"attendance:{lesson['id']}:{student_id}"}
        ).fetchall() if lesson and student_id else []
        grades = conn.execute("SELECT * FROM grade WHERE lesson_id = ? AND student_id = ? ORDER BY position",
                              (lesson["id"], student_id)).fetchall() if lesson else []
    members = CLASS_MEMBERS if info.row["class_id"] else GROUP_MEMBERS
    student = conn.execute(
        f"SELECT p.last_name, p.first_name FROM ({members}) m JOIN person p ON p.id = m.student_id"
        " WHERE m.student_id = :s LIMIT 1", {"target": info.row["class_id"] or info.row["group_id"], "s": student_id}
    ).fetchone()
    if student is None:
        raise NotFound("Такого учащегося в этом журнале нет.")
    types = work_types(conn)
    return {"day": day, "period": period, "history": history, "grades": grades, "student": student,
            "work_types": types, "type_names": {w["code"]: w["name"] for w in types}}


def work_types(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM work_type ORDER BY sort").fetchall()


def current_period(periods: list[sqlite3.Row], today: str) -> sqlite3.Row | None:
    """The period containing today, else the last one that has begun, else the first."""
    non_year = [p for p in periods if p["kind"] != "year"] or periods
    for p in non_year:
        if p["starts_on"] <= today <= p["ends_on"]:
            return p
    begun = [p for p in non_year if p["starts_on"] <= today]
    return begun[-1] if begun else (non_year[0] if non_year else None)


def student_period_summary(conn: sqlite3.Connection, info: JournalInfo, student_id: int, day: str,
                           kind: str | None = None) -> dict:
    """The student's weighted average and forecast in the period containing `day` — of the
    journal's kind (quarter, half), or the year when the grid shows the year (`kind`).

    The cell-saving routes call it inside their write job, so the answer reads what the job
    has just written and costs no read (a thread hop) after the COMMIT."""
    rows = conn.execute(
        "SELECT g.value, wt.weight FROM study_period p"
        " JOIN lesson l ON l.journal_id = :j AND l.date BETWEEN p.starts_on AND p.ends_on"
        " JOIN grade g ON g.lesson_id = l.id AND g.student_id = :s"
        " JOIN work_type wt ON wt.code = g.work_type"
        " WHERE p.year_id = :y AND p.kind = :k AND p.starts_on <= :d AND p.ends_on >= :d",
        {"j": info.id, "s": student_id, "y": info.row["year_id"], "k": kind or info.period_kind, "d": day}).fetchall()
    avg = weighted_average([(r["value"], r["weight"]) for r in rows])
    return {"average": avg, "forecast": forecast(avg, float(info.settings.get("forecast_threshold", "0.5")))}


def control_missing(conn: sqlite3.Connection, info: JournalInfo, lesson) -> list[dict]:
    """§3.2.4: present students who still have no grade for a control-type lesson."""
    if lesson is None or lesson["status"] == "cancelled":
        return []
    if not conn.execute("SELECT is_control FROM work_type WHERE code = ?", (lesson["work_type"],)).fetchone()[0]:
        return []
    people = students(conn, info, lesson["date"], lesson["date"])
    graded = {r[0] for r in conn.execute("SELECT DISTINCT student_id FROM grade WHERE lesson_id = ?", (lesson["id"],))}
    absent = {r[0] for r in conn.execute(
        "SELECT student_id FROM attendance WHERE lesson_id = ? AND mark IN ('Н', 'Б', 'У')", (lesson["id"],))}
    return [s for s in people if s["id"] not in graded and s["id"] not in absent]


def lesson_panel(conn: sqlite3.Connection, info: JournalInfo, day: str, number: int) -> dict:
    """What the lesson panel shows: the lesson (or the timetable's empty one), the closed period
    it falls in, the КТП topic offered, the КТП, work types, teachers who may substitute, the
    students still without a grade in a control work."""
    day = parse_day(day)
    lesson = conn.execute(
        "SELECT l.*, h.text AS hw_text, h.minutes AS hw_minutes, h.file_name AS hw_file, h.file_size AS hw_size,"
        " h.due_date AS hw_due,"
        " (SELECT p.last_name || ' ' || p.first_name || ' ' || p.middle_name FROM person p"
        "   WHERE p.id = l.substitute_id) AS substitute_name,"
        " EXISTS (SELECT 1 FROM register_taken r WHERE r.lesson_id = l.id) AS register_taken"
        " FROM lesson l LEFT JOIN homework h ON h.lesson_id = l.id"
        " WHERE l.journal_id = ? AND l.date = ? AND l.lesson_number = ?", (info.id, day, number)).fetchone()
    if lesson is None and not is_scheduled(info, day, number):
        raise NotFound("Такого урока нет в расписании журнала.")
    suggestion = (None if lesson and (lesson["topic"] or lesson["status"] == "cancelled")
                  else plan_store.next_item(conn, info.id, day))
    teachers = conn.execute(
        "SELECT DISTINCT p.id, p.last_name, p.first_name, p.middle_name FROM person p"
        " JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id"
        " WHERE r.role = 'teacher' AND p.archived_at IS NULL AND a.disabled_at IS NULL AND p.id <> ?"
        " ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU", (info.row["teacher_id"],)).fetchall()
    cancelled = conn.execute("SELECT date, lesson_number FROM lesson WHERE journal_id = ? AND status = 'cancelled'"
                             " AND date > ?", (info.id, day)).fetchall()
    # Homework is due at the next lesson that takes place unless the teacher picks a day.
    next_lesson = dated.next_lesson(info, day, [tuple(r) for r in cancelled])
    return {"day": day, "lesson": lesson, "closed": closed_period(conn, info, day), "suggestion": suggestion,
            "next_lesson": next_lesson,
            "plan": plan_store.items(conn, info.id), "work_types": work_types(conn), "teachers": teachers,
            "missing": control_missing(conn, info, lesson) if lesson else []}


def homework_file(conn: sqlite3.Connection, lesson_id: int) -> sqlite3.Row:
    """A lesson's homework file with its journal (the caller checks that journal's reader)."""
    row = conn.execute("SELECT h.*, l.journal_id FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                       " WHERE h.lesson_id = ? AND h.file_path IS NOT NULL", (lesson_id,)).fetchone()
    if row is None:
        raise NotFound("Файла нет.")
    return row


def todo(conn: sqlite3.Connection, person_id: int, today: str) -> dict:
    """A teacher's to-do: past lessons of this school year without a topic, and control works
    still missing grades (§3.2.4: flagged until every present student has one, whatever
    period has begun since)."""
    untitled: list[dict] = []
    controls: list[dict] = []
    for (jid,) in conn.execute("SELECT id FROM journal WHERE teacher_id = ? AND archived_at IS NULL"
                               " AND year_id = (SELECT id FROM academic_year WHERE status = 'open' LIMIT 1)",
                               (person_id,)).fetchall():
        found = _journal_todo(conn, journal_info(conn, jid), today)
        untitled += found[0]
        controls += found[1]
    return {"untitled": untitled, "controls": controls}


def _journal_todo(conn: sqlite3.Connection, info: JournalInfo, today: str) -> tuple[list, list]:
    untitled, controls = [], []
    lessons = conn.execute(
        "SELECT l.*, wt.is_control FROM lesson l JOIN work_type wt ON wt.code = l.work_type"
        " WHERE l.journal_id = ? AND l.date <= ?", (info.id, today)).fetchall()
    periods = conn.execute("SELECT starts_on, ends_on FROM study_period WHERE year_id = ? AND kind = ?"
                           " AND starts_on <= ? ORDER BY starts_on", (info.row["year_id"], info.period_kind, today))
    # A closed period is the deputy's to change, not the teacher's: not on the teacher's list.
    closed = conn.execute("SELECT starts_on, ends_on FROM study_period WHERE year_id = ? AND kind IN (?, 'year')"
                          " AND closed_at IS NOT NULL", (info.row["year_id"], info.period_kind)).fetchall()

    def is_closed(day: str) -> bool:
        return any(c["starts_on"] <= day <= c["ends_on"] for c in closed)

    recorded = {(l_["date"], l_["lesson_number"]): l_ for l_ in lessons}
    for p in periods.fetchall():
        in_period = [l_ for l_ in lessons if p["starts_on"] <= l_["date"] <= p["ends_on"]]
        for d, n in lesson_columns(info, p["starts_on"], min(today, p["ends_on"]), in_period):
            l_ = recorded.get((d, n))
            if (l_ is None or (not l_["topic"] and l_["status"] != "cancelled")) and not is_closed(d):
                untitled.append({"journal": info.row, "date": d, "n": n})
    for l_ in lessons:
        if l_["is_control"] and l_["status"] != "cancelled" and not is_closed(l_["date"]):
            missing = control_missing(conn, info, l_)
            if missing:
                controls.append({"journal": info.row, "date": l_["date"], "n": l_["lesson_number"],
                                 "missing": len(missing)})
    return untitled, controls


def class_period_summaries(conn: sqlite3.Connection, class_id: int, day: str) -> dict:
    """§3.3.4: for every student now in the class, each journal they are in (the class's own and
    their groups') with the weighted average and forecast in the class's study period that
    contains `day` (else the last one begun). Four queries for the whole class.

    Returns {"period": row or None, "subjects": {student_id: [{journal_id, subject, teacher,
    average, forecast, count}]}}."""
    cls = conn.execute("SELECT year_id, period_kind FROM class WHERE id = ?", (class_id,)).fetchone()
    if cls is None:
        return {"period": None, "subjects": {}}
    periods = conn.execute("SELECT * FROM study_period WHERE year_id = ? AND kind = ? ORDER BY number",
                           (cls["year_id"], cls["period_kind"])).fetchall()
    period = current_period(periods, day)
    if period is None:
        return {"period": None, "subjects": {}}
    now = "e.from_date <= :day AND (e.to_date IS NULL OR e.to_date >= :day)"
    params = {"c": class_id, "day": day, "start": period["starts_on"], "end": period["ends_on"],
              "year": cls["year_id"]}
    members = conn.execute(
        f"""
        SELECT e.student_id, j.id AS journal_id, s.name AS subject, t.last_name, t.first_name, t.middle_name
          FROM enrollment e JOIN journal j ON j.class_id = e.class_id
          JOIN subject s ON s.id = j.subject_id JOIN person t ON t.id = j.teacher_id
         WHERE e.class_id = :c AND {now} AND j.archived_at IS NULL
        UNION ALL
        SELECT e.student_id, j.id, s.name, t.last_name, t.first_name, t.middle_name
          FROM enrollment e JOIN group_member gm ON gm.student_id = e.student_id
          JOIN journal j ON j.group_id = gm.group_id
          JOIN subject s ON s.id = j.subject_id JOIN person t ON t.id = j.teacher_id
         WHERE e.class_id = :c AND {now} AND gm.from_date <= :day AND (gm.to_date IS NULL OR gm.to_date >= :day)
           AND j.archived_at IS NULL AND j.year_id = :year
         ORDER BY 3
        """, params).fetchall()
    grades: dict[tuple[int, int], list[tuple[str, float]]] = {}
    for g in conn.execute(
            f"""
            SELECT g.student_id, l.journal_id, g.value, wt.weight
              FROM grade g JOIN lesson l ON l.id = g.lesson_id JOIN work_type wt ON wt.code = g.work_type
             WHERE l.date BETWEEN :start AND :end
               AND g.student_id IN (SELECT e.student_id FROM enrollment e WHERE e.class_id = :c AND {now})
            """, params):
        grades.setdefault((g["student_id"], g["journal_id"]), []).append((g["value"], g["weight"]))
    row = conn.execute("SELECT value FROM setting WHERE key = 'forecast_threshold'").fetchone()
    threshold = float(row[0] if row else 0.5)
    subjects: dict[int, list[dict]] = {}
    for m in members:
        weighted = grades.get((m["student_id"], m["journal_id"]), [])
        avg = weighted_average(weighted)
        initials = "".join(f"{x[0]}." for x in (m["first_name"], m["middle_name"]) if x)
        subjects.setdefault(m["student_id"], []).append({
            "journal_id": m["journal_id"], "subject": m["subject"], "teacher": f"{m['last_name']} {initials}",
            "average": avg, "forecast": forecast(avg, threshold),
            "count": sum(1 for v, _ in weighted if v in NUMERIC)})
    return {"period": period, "subjects": subjects}
