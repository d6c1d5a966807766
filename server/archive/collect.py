"""What each archive document holds, read from one snapshot: a journal over a span of study
periods (title, students, the grid, lessons, period grades, the КТП) and a class's сводная
ведомость. Each document's data is a plain JSON-able dict; its SHA-256 (`fingerprint`) is what
the PDF's footer shows and what `verify` recomputes from the live database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass

from ..errors import UserError
from ..journal import store as journal_store
from ..planning import store as plan_store
from ..reports import summary as summary_mod
from ..reports.results import full_name, short_name
from ..school.structure import period_name

GRID_LESSONS = 25    # lesson columns on one landscape grid page
GRID_STUDENTS = 32   # student rows on one grid page
STATUS_LABELS = {"held": "", "substituted": "замена", "cancelled": "не проведён"}


class ArchiveError(UserError):
    """A refusal of the archive (bad scope, a build already running, a bad folder)."""


@dataclass
class Scope:
    """What a build covers: the year, the periods (a period, or every period of the year), the
    classes (all of the year's, or those named)."""

    year: sqlite3.Row
    period: sqlite3.Row | None          # None: the whole year
    class_ids: list[int] | None         # None: every class

    @property
    def label(self) -> str:
        if self.period is None:
            return f"{self.year['name']} учебный год"
        return f"{period_name(self.period['kind'], self.period['number'])}, {self.year['name']} учебный год"

    @property
    def closed(self) -> bool:
        if self.period is None:
            return self.year["status"] == "closed"
        return self.period["closed_at"] is not None

    def as_json(self) -> dict:
        return {"year_id": self.year["id"], "period_id": self.period["id"] if self.period else None,
                "class_ids": self.class_ids}


def fingerprint(data: dict) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def scope_of(conn: sqlite3.Connection, *, period_id: int | None = None, year_id: int | None = None,
             classes: list[str] | None = None) -> Scope:
    """The scope asked for, checked: an unknown period, year or class is a Russian refusal."""
    if (period_id is None) == (year_id is None):
        raise ArchiveError("Укажите либо учебный период (--period), либо учебный год (--year).")
    period = None
    if period_id is not None:
        period = conn.execute("SELECT * FROM study_period WHERE id = ?", (period_id,)).fetchone()
        if period is None:
            raise ArchiveError(f"Учебного периода № {period_id} нет.")
        if period["kind"] == "year":
            return scope_of(conn, year_id=period["year_id"], classes=classes)
        year_id = period["year_id"]
    year = conn.execute("SELECT * FROM academic_year WHERE id = ?", (year_id,)).fetchone()
    if year is None:
        raise ArchiveError(f"Учебного года № {year_id} нет.")
    class_ids = None
    if classes:
        rows = {r["name"].upper(): r["id"] for r in conn.execute(
            "SELECT id, parallel || letter AS name FROM class WHERE year_id = ?", (year["id"],))}
        class_ids = []
        for name in classes:
            cid = rows.get(name.strip().upper()) or (int(name) if name.strip().isdigit() and int(name) in
                                                     rows.values() else None)
            if cid is None:
                raise ArchiveError(f"Класса «{name}» в {year['name']} учебном году нет.")
            class_ids.append(cid)
    return Scope(year, period, sorted(set(class_ids)) if class_ids is not None else None)


def classes_in(conn: sqlite3.Connection, scope: Scope) -> list[sqlite3.Row]:
    """The classes a build covers: a period of quarters covers the classes that learn by quarters."""
    rows = conn.execute(
        "SELECT c.*, c.parallel || c.letter AS name, y.name AS year_name, t.last_name AS t_last,"
        " t.first_name AS t_first, t.middle_name AS t_middle FROM class c JOIN academic_year y ON y.id = c.year_id"
        " LEFT JOIN person t ON t.id = c.class_teacher_id WHERE c.year_id = ? AND c.archived_at IS NULL"
        " ORDER BY c.parallel, c.letter", (scope.year["id"],)).fetchall()
    return [r for r in rows if (scope.class_ids is None or r["id"] in scope.class_ids)
            and (scope.period is None or r["period_kind"] == scope.period["kind"])]


def journals_of_class(conn: sqlite3.Connection, class_id: int) -> list[int]:
    """The class's journals and those of its subgroups and groups (electives of the class too)."""
    return [r[0] for r in conn.execute(
        "SELECT j.id FROM journal j JOIN subject s ON s.id = j.subject_id LEFT JOIN study_group g ON g.id = j.group_id"
        " WHERE j.archived_at IS NULL AND (j.class_id = :c OR g.class_id = :c) ORDER BY s.name, j.id",
        {"c": class_id})]


def cross_class_journals(conn: sqlite3.Connection, year_id: int) -> list[int]:
    """Journals of groups drawn from several classes (no class of their own)."""
    return [r[0] for r in conn.execute(
        "SELECT j.id FROM journal j JOIN study_group g ON g.id = j.group_id JOIN subject s ON s.id = j.subject_id"
        " WHERE j.year_id = ? AND j.archived_at IS NULL AND g.class_id IS NULL ORDER BY s.name, g.name, j.id",
        (year_id,))]


def school_name(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT name FROM school WHERE id = 1").fetchone()
    return row[0] if row else ""


def _cell_text(cell: dict | None) -> str:
    if not cell:
        return ""
    return " ".join([v for v, _ in cell["grades"]] + ([cell["mark"]] if cell["mark"] else []))


def journal_data(conn: sqlite3.Connection, journal_id: int, scope: Scope) -> dict:
    """Everything one journal's archive copy shows, for the scope's periods."""
    info = journal_store.journal_info(conn, journal_id)
    if info is None:
        raise ArchiveError(f"Журнала № {journal_id} нет.")
    periods = [p for p in journal_store.periods_of(conn, info)
               if scope.period is None or p["id"] == scope.period["id"]]
    if not periods:
        raise ArchiveError(f"У журнала № {journal_id} нет такого учебного периода.")
    start = min(p["starts_on"] for p in periods)
    end = max(p["ends_on"] for p in periods)
    g = journal_store.grid(conn, info, {"starts_on": start, "ends_on": end})
    names = {r["id"]: short_name(r["last_name"], r["first_name"], r["middle_name"]) for r in conn.execute(
        "SELECT id, last_name, first_name, middle_name FROM person WHERE id IN"
        " (SELECT substitute_id FROM lesson WHERE journal_id = ? AND substitute_id IS NOT NULL)", (journal_id,))}
    students = [{"id": s["id"], "name": full_name(s["last_name"], s["first_name"], s["middle_name"]),
                 "from": s["from"], "to": s["to"]} for s in g["students"]]
    columns = [list(c) for c in g["columns"]]
    rows = [[_cell_text(g["cells"].get((s["id"], d, n))) for d, n in columns] for s in students]
    lessons = []
    for d, n in columns:
        lesson = g["lessons"].get((d, n))
        if lesson is None:
            continue
        status = STATUS_LABELS.get(lesson["status"], "")
        if lesson["status"] == "substituted" and lesson["substitute_id"]:
            status += f": {names.get(lesson['substitute_id'], '')}"
        if lesson["status_reason"]:
            status += f" ({lesson['status_reason']})"
        lessons.append({"date": d, "number": n, "topic": lesson["topic"], "work_type": lesson["work_type_name"],
                        "homework": lesson["hw_text"] or "", "status": status})
    period_cols = [p for p in journal_store.periods_of(conn, info)
                   if scope.period is None or p["id"] == scope.period["id"]]
    period_grades = [[g["period_grades"].get((s["id"], p["id"]), "") for p in period_cols] for s in students]
    plan = plan_store.plan_view(conn, info, end)
    row = info.row
    return {
        "kind": "journal", "journal_id": journal_id, "school": school_name(conn),
        "subject": row["subject_name"], "target": row["target_name"],
        "teacher": full_name(row["t_last"], row["t_first"], row["t_middle"]),
        "year": scope.year["name"], "period": scope.label, "closed": scope.closed,
        "students": students, "columns": columns, "rows": rows, "lessons": lessons,
        "period_columns": [period_name(p["kind"], p["number"]) for p in period_cols],
        "period_grades": period_grades,
        "plan": {"items": [{"number": it["number"], "topic": it["topic"], "hours": it["hours"],
                            "given": len(it["given"])} for it in plan["items"]],
                 "planned_hours": plan["planned_hours"], "given_hours": plan["given_hours"]},
    }


def summary_data(conn: sqlite3.Connection, cls: sqlite3.Row, scope: Scope, today: str) -> dict:
    """The class's сводная ведомость (server/reports/summary.py) up to the scope's period."""
    data = summary_mod.summary(conn, cls, scope.period["id"] if scope.period else None, today)
    t = summary_mod.table(data)
    teacher = full_name(cls["t_last"], cls["t_first"], cls["t_middle"]) if cls["t_last"] else ""
    return {"kind": "summary", "class_id": cls["id"], "class": cls["name"], "school": school_name(conn),
            "year": scope.year["name"], "period": scope.label, "closed": scope.closed, "title": t.title,
            "groups": [list(gr) for gr in t.groups], "columns": [c.title for c in t.columns],
            "rows": [[str(v) for v in r] for r in t.rows], "note": t.note, "class_teacher": teacher}
