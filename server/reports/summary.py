"""Сводная ведомость учёта успеваемости of a class (§1.6, §3.4.9): students × subjects × the
class's periods (quarters or halves) and the year — the period grades as set, and for the JSON
the weighted average and forecast of each period (the journal's own functions). The form the
archive keeps, printed on A4 landscape."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict

from ..journal.rules import forecast, weighted_average
from ..school.structure import period_name
from .results import GRADED_GROUPS, first_grade_marks, full_name, journals_of, threshold_of
from .table import GRADE, TEXT, Column, Table

# The form is wide: a period column is headed by its number (I, II for halves), the year «Г».
SHORT_PERIOD = {("quarter", 1): "1", ("quarter", 2): "2", ("quarter", 3): "3", ("quarter", 4): "4",
                ("half", 1): "I", ("half", 2): "II",
                ("trimester", 1): "1 тр.", ("trimester", 2): "2 тр.", ("trimester", 3): "3 тр."}


def summary(conn: sqlite3.Connection, cls, upto_period_id: int | None, today: str) -> dict:
    """The ведомость of class `cls` (a class row): its periods up to `upto_period_id` (all of
    them when it is the year or None) and the year."""
    year_id = cls["year_id"]
    periods = conn.execute("SELECT * FROM study_period WHERE year_id = ? AND kind IN (?, 'year')"
                           " ORDER BY kind = 'year', number", (year_id, cls["period_kind"])).fetchall()
    upto = next((p for p in periods if p["id"] == upto_period_id), None)
    if upto is not None and upto["kind"] != "year":
        periods = [p for p in periods if p["kind"] == "year" or p["number"] <= upto["number"]]
    journals = {k: v for k, v in journals_of(conn, year_id).items()
                if v["class_id"] == cls["id"] or (v["home_class_id"] == cls["id"] and v["group_kind"] in GRADED_GROUPS)}
    graded = cls["parallel"] != 1 or first_grade_marks(conn)
    students = conn.execute(
        "SELECT p.id, p.last_name, p.first_name, p.middle_name, min(e.from_date) AS from_date,"
        " CASE WHEN count(*) = count(e.to_date) THEN max(e.to_date) END AS to_date"
        " FROM enrollment e JOIN person p ON p.id = e.student_id WHERE e.class_id = ?"
        " GROUP BY p.id ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU", (cls["id"],)).fetchall()
    ids = json.dumps(sorted(journals))
    members = defaultdict(set)   # journal → students (a subgroup's)
    for jid, sid in conn.execute(
            "SELECT j.id, m.student_id FROM journal j JOIN group_member m ON m.group_id = j.group_id"
            " WHERE j.id IN (SELECT value FROM json_each(?))", (ids,)):
        members[jid].add(sid)
    finals = {(r[0], r[1], r[2]): r[3] for r in conn.execute(
        "SELECT journal_id, period_id, student_id, value FROM period_grade WHERE journal_id IN"
        " (SELECT value FROM json_each(?))", (ids,))}
    grades = defaultdict(list)
    for jid, sid, day, value, weight in conn.execute(
            "SELECT l.journal_id, g.student_id, l.date, g.value, wt.weight FROM lesson l JOIN grade g ON g.lesson_id = l.id"
            " JOIN work_type wt ON wt.code = g.work_type WHERE l.journal_id IN (SELECT value FROM json_each(?))", (ids,)):
        for p in periods:
            if p["starts_on"] <= day <= p["ends_on"]:
                grades[(jid, p["id"], sid)].append((value, weight))
    threshold = threshold_of(conn)
    subjects: dict[str, list[int]] = defaultdict(list)
    for jid, j in sorted(journals.items(), key=lambda kv: kv[1]["subject"]):
        subjects[j["subject"]].append(jid)
    out_students = []
    for s in students:
        row = {"id": s["id"], "name": full_name(s["last_name"], s["first_name"], s["middle_name"]),
               "from": s["from_date"], "to": s["to_date"], "subjects": {}}
        for subject, jids in subjects.items():
            mine = [j for j in jids if journals[j]["class_id"] or s["id"] in members[j]]
            if not mine or not graded:
                continue
            jid = mine[0]
            cells = {}
            for p in periods:
                avg = weighted_average(grades.get((jid, p["id"], s["id"]), []))
                cells[p["id"]] = {"grade": finals.get((jid, p["id"], s["id"])), "average": avg,
                                  "forecast": forecast(avg, threshold)}
            row["subjects"][subject] = {"journal_id": jid, "periods": cells}
        out_students.append(row)
    return {"class": cls, "periods": periods, "subjects": list(subjects), "students": out_students,
            "journals": journals}


def table(data: dict) -> Table:
    """The printable ведомость: a name column, then per subject one column per period and the year."""
    periods = data["periods"]
    cols = [Column("Учащийся", TEXT, 30, "student")]
    groups = [("", 1)]
    short = {j["subject"]: j["subject_short"] for j in data["journals"].values() if j["subject_short"]}
    for subject in data["subjects"]:
        groups.append((short.get(subject, subject), len(periods)))  # the form is wide: «ОБЗР», «Физ-ра»
        cols += [Column(SHORT_PERIOD.get((p["kind"], p["number"]), "Г"), GRADE, 5, f"{subject}:{p['id']}")
                 for p in periods]
    rows = []
    for s in data["students"]:
        name = s["name"] + (" (выбыл(а))" if s["to"] else "")
        row = [name]
        for subject in data["subjects"]:
            cells = s["subjects"].get(subject, {}).get("periods", {})
            row += [(cells.get(p["id"]) or {}).get("grade") or "" for p in periods]
        rows.append(row)
    cls = data["class"]
    title = f"Сводная ведомость учёта успеваемости {cls['name']} класса, {cls['year_name']} учебный год"
    return Table(title, cols, rows, landscape=True, groups=groups, compact=True,
                 note="Итоговые отметки за " + ", ".join(
                     f"{period_name(p['kind'], p['number'])} ({SHORT_PERIOD.get((p['kind'], p['number']), 'Г')})"
                     for p in periods) + ".")


def as_json(data: dict) -> dict:
    cls = data["class"]
    return {
        "class": {"id": cls["id"], "name": cls["name"], "year": cls["year_name"], "period_kind": cls["period_kind"]},
        "periods": [{"id": p["id"], "kind": p["kind"], "number": p["number"], "starts_on": p["starts_on"],
                     "ends_on": p["ends_on"]} for p in data["periods"]],
        "subjects": [{"name": s, "journal_ids": [j for j, v in data["journals"].items() if v["subject"] == s]}
                     for s in data["subjects"]],
        "students": [{"id": s["id"], "name": s["name"], "from": s["from"], "to": s["to"],
                      "subjects": [{"subject": name, "journal_id": v["journal_id"],
                                    "periods": [{"period_id": pid, **cell} for pid, cell in v["periods"].items()]}
                                   for name, v in s["subjects"].items()]}
                     for s in data["students"]],
    }
