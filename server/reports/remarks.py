"""The deputy's remarks (замечания) on a journal after a check (§3.4.4: the results are brought
to the teachers' notice, also through the system): a text and the date by which it is to be put
right. The journal's teacher sees the open ones on the home page and in the journal until the
deputy marks them done. Each change is a ledger entry (`journal_remark:<id>`)."""

from __future__ import annotations

import sqlite3
from datetime import date

from .. import clock, ledger
from ..errors import Forbidden, NotFound
from ..timeutil import ru_date
from .results import full_name
from .scope import ReportError

DEPUTY_ONLY = "Замечания по ведению журнала записывает заместитель директора (п. 3.4.4 Регламента)."


def _deputy(user) -> None:
    if not user.has("deputy"):
        raise Forbidden(DEPUTY_ONLY)


def add(conn: sqlite3.Connection, user, journal_id: int, text: str, due_on: str, period_id: int | None) -> int:
    """A remark on the journal with its deadline; the deputy only."""
    _deputy(user)
    j = conn.execute("SELECT id, year_id FROM journal WHERE id = ? AND archived_at IS NULL", (journal_id,)).fetchone()
    if j is None:
        raise NotFound("Такого журнала нет.")
    text = " ".join((text or "").split())
    if not text:
        raise ReportError("Напишите, что нужно исправить.", "text")
    if len(text) > 1000:
        raise ReportError("Замечание слишком длинное (не больше 1000 знаков).", "text")
    try:
        due = date.fromisoformat(due_on or "").isoformat()
    except ValueError:
        raise ReportError("Укажите срок исправления (дату).", "due_on") from None
    today = clock.today().isoformat()
    if due < today:
        raise ReportError(f"Срок исправления не может быть раньше сегодняшнего дня ({ru_date(today)}).", "due_on")
    if period_id is not None and not conn.execute("SELECT 1 FROM study_period WHERE id = ? AND year_id = ?",
                                                  (period_id, j["year_id"])).fetchone():
        period_id = None
    return ledger.insert(conn, user.account_id, "journal_remark", {
        "journal_id": journal_id, "period_id": period_id, "text": text, "due_on": due,
        "author_id": user.person_id, "created_on": today})


def set_done(conn: sqlite3.Connection, user, remark_id: int, done: bool = True) -> int:
    """The deputy marks a remark put right (or open again); returns its journal."""
    _deputy(user)
    row = conn.execute("SELECT journal_id FROM journal_remark WHERE id = ?", (remark_id,)).fetchone()
    if row is None:
        raise NotFound("Такого замечания нет.")
    ledger.update(conn, user.account_id, "journal_remark", remark_id,
                  {"done_on": clock.today().isoformat() if done else None})
    return row["journal_id"]


REMARK_SQL = """
    SELECT r.*, s.name AS subject, coalesce(c.parallel || c.letter, g.name) AS target, j.teacher_id,
           t.last_name AS t_last, t.first_name AS t_first, t.middle_name AS t_middle,
           a.last_name AS a_last, a.first_name AS a_first, a.middle_name AS a_middle
      FROM journal_remark r JOIN journal j ON j.id = r.journal_id JOIN subject s ON s.id = j.subject_id
      JOIN person t ON t.id = j.teacher_id LEFT JOIN person a ON a.id = r.author_id
      LEFT JOIN class c ON c.id = j.class_id LEFT JOIN study_group g ON g.id = j.group_id
"""


def _rows(conn, where: str, params) -> list[dict]:
    today = clock.today().isoformat()
    out = []
    for r in conn.execute(REMARK_SQL + " WHERE " + where + " ORDER BY r.done_on IS NOT NULL, r.due_on, r.id", params):
        d = dict(r)
        d["teacher"] = full_name(r["t_last"], r["t_first"], r["t_middle"])
        d["author"] = full_name(r["a_last"] or "", r["a_first"] or "", r["a_middle"] or "")
        d["overdue"] = r["done_on"] is None and r["due_on"] < today
        out.append(d)
    return out


def for_journal(conn: sqlite3.Connection, journal_id: int, open_only: bool = True) -> list[dict]:
    return _rows(conn, "r.journal_id = ?" + (" AND r.done_on IS NULL" if open_only else ""), (journal_id,))


def for_teacher(conn: sqlite3.Connection, person_id: int) -> list[dict]:
    """The open remarks on the journals a teacher keeps (the home page)."""
    return _rows(conn, "j.teacher_id = ? AND r.done_on IS NULL AND j.archived_at IS NULL", (person_id,))


def for_span(conn: sqlite3.Connection, year_id: int, start: str, end: str, period_id: int | None) -> list[dict]:
    """The remarks of a check: made for the period, or made within its dates."""
    return _rows(conn, "j.year_id = ? AND (r.period_id IS ? AND r.period_id IS NOT NULL OR r.created_on BETWEEN ? AND ?)",
                 (year_id, period_id, start, end))
