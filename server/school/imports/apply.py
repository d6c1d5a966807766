"""Applying a checked file: check it again inside the write transaction and create what it
adds — students with their enrolment, parents and their links, staff with their roles —
through the school's own (audited) functions, with the importer as the acting account; then
the import's record (import_log: a log of its own, outside the ledger)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ...errors import Conflict
from ...timeutil import now_text
from .. import people
from ..errors import SchoolError
from ...tables import Table
from .rows import STAFF, Plan, query
from .staff import check_staff
from .students import check_students


class ImportRejected(SchoolError):
    """The file is not clean (any more): raised inside the import's transaction, which rolls
    back; carries the plan with every bad row."""

    def __init__(self, plan: Plan):
        super().__init__(f"Файл не импортирован: строк с ошибками — {len(plan.errors)}. Ничего не изменено.")
        self.plan = plan


class ImportChanged(Conflict):
    """The school changed between the preview and the confirmation: the person must look again."""

    def __init__(self):
        super().__init__("С момента проверки файла данные школы изменились: посмотрите, что будет "
                         "импортировано, ещё раз.")


def check(conn: sqlite3.Connection, table: Table, options: dict | None = None) -> Plan:
    """Every row of `table` against the school as `conn` sees it; raises ImportFileError if no year.
    `options`: what was chosen on the upload form (`class_id`: the class of rows that name none)."""
    plan = Plan(table.kind, table.source, list(table.notes), len(table.rows))
    if table.kind == STAFF:
        check_staff(conn, table, plan)
    else:
        check_students(conn, table, plan, options)
    return plan


@dataclass
class Result:
    log_id: int
    counts: dict[str, int]


def run_import(conn: sqlite3.Connection, account_id: int | None, table: Table, file_name: str,
               expected: str | None = None, options: dict | None = None) -> Result:
    """Check `table` again and import it; meant to run as one `db.write` transaction, the
    importer (`account_id`) being the acting account of every ledger entry.

    Raises ImportRejected if a row is bad now, ImportChanged if the outcome is not what
    the preview showed (`expected` is Plan.signature then); both before anything is written.
    """
    plan = check(conn, table, options)
    if not plan.ok:
        raise ImportRejected(plan)
    if expected is not None and expected != plan.signature:
        raise ImportChanged()
    if plan.kind == STAFF:
        for s in plan.staff:
            if s.person_id is None:
                people.create_staff(conn, account_id, s.last, s.first, s.middle, s.position, s.roles, s.phone, s.email)
    else:
        made: dict[int, int] = {}
        for s in plan.students:
            student_id = s.student_id or people.create_student(
                conn, account_id, s.class_id, s.last, s.first, s.middle, s.birth_date, s.sex, s.study_form,
                plan.from_date)
            for p in s.parents:
                parent_id = p.parent_id or made.get(p.new_ref)
                if parent_id is None:
                    parent_id = made[p.new_ref] = people.create_parent(conn, account_id, p.last, p.first, p.middle,
                                                                       p.phone, p.email)
                if p.link_new:
                    people.link_parent(conn, account_id, parent_id, student_id, p.relation)
    counts = plan.counts
    created = counts.get("students_new", counts.get("staff_new", 0))
    skipped = counts.get("students_skipped", counts.get("staff_skipped", 0))
    class_ids = ",".join(str(c["id"]) for c in plan.by_class)
    cur = conn.execute(
        "INSERT INTO import_log(kind, file_name, row_count, created, skipped, parents_created, links_created,"
        " class_ids, account_id, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (plan.kind, file_name, plan.rows, created, skipped, counts.get("parents_new", 0),
         counts.get("links_new", 0), class_ids, account_id, now_text()))
    return Result(cur.lastrowid, counts)


def history(conn: sqlite3.Connection, limit: int = 20) -> list[sqlite3.Row]:
    return query(conn, """
        SELECT l.*, p.last_name, p.first_name, p.middle_name
          FROM import_log l LEFT JOIN account a ON a.id = l.account_id LEFT JOIN person p ON p.id = a.person_id
         ORDER BY l.id DESC LIMIT ?
        """, (limit,))


def log_entry(conn: sqlite3.Connection, log_id: int) -> tuple[sqlite3.Row | None, list[sqlite3.Row]]:
    """One import and the classes it filled (for links to their lists)."""
    entry = conn.execute("SELECT * FROM import_log WHERE id = ?", (log_id,)).fetchone()
    if entry is None or not entry["class_ids"]:
        return entry, []
    ids = [int(i) for i in entry["class_ids"].split(",")]
    classes = query(conn, f"SELECT id, parallel || letter AS name FROM class WHERE id IN ({','.join('?' * len(ids))})"
                          " ORDER BY parallel, letter", ids)
    return entry, classes

