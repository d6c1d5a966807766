"""Reading the КТП: a journal's items with what was given, the topic offered for a lesson,
the plan's history (from the ledger), the plans another class may copy. Plain functions
run by `Database.read`, or inside a write's own transaction."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .. import ledger
from ..school.structure import JOURNAL_JOINS, JOURNAL_TITLE_SQL
from .rules import week_of

if TYPE_CHECKING:
    from ..journal.store import JournalInfo

HISTORY_LIMIT = 10


def items(conn: sqlite3.Connection, journal_id: int) -> list[sqlite3.Row]:
    """The plan in order, each item with how many lessons gave it (`given`)."""
    return conn.execute(
        "SELECT p.*, (SELECT count(*) FROM lesson l WHERE l.plan_item_id = p.id AND l.status <> 'cancelled') AS given"
        " FROM plan_item p WHERE p.journal_id = ? ORDER BY p.number", (journal_id,)).fetchall()


def next_item(conn: sqlite3.Connection, journal_id: int, day: str | None = None) -> sqlite3.Row | None:
    """What a lesson's topic is offered as: the topic planned for that very date if the КТП
    has dates and it is not given yet (a teacher catching up on last week's lessons after
    today's gets each day its own topic), else the first planned topic not yet given.
    A topic of 2 hours is given by two lessons; a lesson that did not take place gives nothing."""
    return conn.execute(
        "SELECT p.* FROM plan_item p WHERE p.journal_id = :j"
        " AND (SELECT count(*) FROM lesson l WHERE l.plan_item_id = p.id AND l.status <> 'cancelled') < p.hours"
        " ORDER BY coalesce(p.planned_date = :d, 0) DESC, p.number LIMIT 1",
        {"j": journal_id, "d": day}).fetchone()


def work_types(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM work_type ORDER BY sort").fetchall()


def plan_view(conn: sqlite3.Connection, info: JournalInfo, today: str) -> dict:
    """The plan with what was given: per item the dates of its lessons; planned vs given hours."""
    rows = conn.execute(
        "SELECT p.*, wt.name AS work_type_name FROM plan_item p JOIN work_type wt ON wt.code = p.work_type"
        " WHERE p.journal_id = ? ORDER BY p.number", (info.id,)).fetchall()
    # A lesson that did not take place gives nothing, even if it was planned for a topic.
    lessons = conn.execute(
        "SELECT date, lesson_number, plan_item_id FROM lesson WHERE journal_id = ? AND status <> 'cancelled'"
        " AND (plan_item_id IS NOT NULL OR topic <> '') ORDER BY date, lesson_number", (info.id,)).fetchall()
    given: dict[int, list[dict]] = {}
    for l_ in lessons:
        if l_["plan_item_id"] is not None:
            given.setdefault(l_["plan_item_id"], []).append({"date": l_["date"], "lesson_number": l_["lesson_number"]})
    this_week = week_of(info, today)
    out = []
    for it in rows:
        lessons_of_item = given.get(it["id"], [])
        due = (it["planned_date"] <= today) if it["planned_date"] else (
            it["planned_week"] is not None and it["planned_week"] <= this_week)
        out.append({**dict(it), "given": lessons_of_item, "done": len(lessons_of_item) >= it["hours"], "due": due})
    return {
        "items": out,
        "planned_hours": sum(it["hours"] for it in rows),
        "given_hours": sum(len(v) for v in given.values()),
        "recorded_lessons": len(lessons),
        "due_hours": sum(it["hours"] for it in out if it["due"]),
        "scheduled": any(it["planned_date"] or it["planned_week"] for it in rows),
        "used": bool(given) or is_used(conn, info.id),
    }


def is_used(conn: sqlite3.Connection, journal_id: int) -> bool:
    """Whether any lesson refers to the plan (then its items can no longer be deleted)."""
    return conn.execute("SELECT 1 FROM lesson l JOIN plan_item p ON p.id = l.plan_item_id"
                        " WHERE p.journal_id = ? LIMIT 1", (journal_id,)).fetchone() is not None


def _keys(journal_id: int) -> tuple[str, str]:
    """The ledger keys of a journal's plan (`plan_item:<journal>:<item>`) as one range of the
    audit_key index: ';' follows ':'."""
    return f"plan_item:{journal_id}:", f"plan_item:{journal_id};"


def history(conn: sqlite3.Connection, journal_id: int, limit: int = HISTORY_LIMIT) -> list[sqlite3.Row]:
    """Who changed the plan when, newest first: one row per action, with its text. An action
    is the run of ledger entries one save made (an import of 34 topics is 34 entries with one
    reason, one after another in the ledger: `island` numbers such runs)."""
    return conn.execute(
        """
        SELECT max(e.id) AS id, max(e.at) AS at, e.detail, p.last_name, p.first_name, p.middle_name
          FROM (SELECT a.id, a.at, a.account_id, a.reason AS detail,
                       a.id - row_number() OVER (PARTITION BY a.account_id, a.reason ORDER BY a.id) AS island
                  FROM audit_log a WHERE a.key >= ? AND a.key < ?) e
          LEFT JOIN account ac ON ac.id = e.account_id LEFT JOIN person p ON p.id = ac.person_id
         GROUP BY e.account_id, e.detail, e.island ORDER BY id DESC LIMIT ?
        """, (*_keys(journal_id), limit)).fetchall()


def change_text(conn: sqlite3.Connection, journal_id: int, entry_id: int) -> str | None:
    """The text of the action that ledger entry `entry_id` of this journal's plan belongs to."""
    row = conn.execute("SELECT reason FROM audit_log WHERE id = ? AND key >= ? AND key < ?",
                       (entry_id, *_keys(journal_id))).fetchone()
    return row[0] if row and row[0] != ledger.BASELINE_REASON else None


# Other journals of the same subject, year and parallel (a group journal takes the parallel
# of its class, or of its members, as journal.store.journal_info does).
SOURCES_SQL = f"""
    SELECT j.id, {JOURNAL_TITLE_SQL},
           (SELECT count(*) FROM plan_item p WHERE p.journal_id = j.id) AS items,
           (SELECT sum(hours) FROM plan_item p WHERE p.journal_id = j.id) AS hours
      FROM journal j {JOURNAL_JOINS}
      LEFT JOIN class gc ON gc.id = g.class_id
     WHERE j.year_id = :year AND j.subject_id = :subject AND j.id <> :id AND j.archived_at IS NULL
       AND EXISTS (SELECT 1 FROM plan_item p WHERE p.journal_id = j.id)
       AND coalesce(c.parallel, gc.parallel,
                    (SELECT max(c2.parallel) FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                       JOIN class c2 ON c2.id = e.class_id WHERE m.group_id = j.group_id)) = :parallel
     ORDER BY coalesce(c.letter, g.name)
"""


def copy_sources(conn: sqlite3.Connection, info: JournalInfo) -> list[sqlite3.Row]:
    """Journals whose plan this one may copy: same subject, same parallel, this year, with a plan."""
    return conn.execute(SOURCES_SQL, {"year": info.row["year_id"], "subject": info.row["subject_id"], "id": info.id,
                                      "parallel": info.parallel}).fetchall()


def plan_page(conn: sqlite3.Connection, info: JournalInfo, can_write: bool, log_id: int | None,
              today: str) -> dict:
    """Everything the plan page shows, in one snapshot; `done`: the text of the action that
    ledger entry `log_id` belongs to (the page after an import or a copy)."""
    return {"view": plan_view(conn, info, today), "log": history(conn, info.id),
            "done": change_text(conn, info.id, log_id) if log_id is not None else None,
            "work_types": work_types(conn), "sources": copy_sources(conn, info) if can_write else []}


def plan_api(conn: sqlite3.Connection, info: JournalInfo, today: str) -> dict:
    """The plan and its last change (who and when), for the JSON API."""
    last = history(conn, info.id, 1)
    return {"view": plan_view(conn, info, today), "last": last[0] if last else None}
