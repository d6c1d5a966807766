"""What leaves the school for the district (152-ФЗ: only what the district needs).

The district sees the school's structure (the school, years and periods, holidays, classes,
subjects, groups, the teaching load, bells and the timetable), staff (names, positions,
staff roles), students (ФИО, birth date, study form, the date they left, classes and
enrolment dates, group membership), grades, attendance, period and year grades, lessons
with their topics and the КТП's figures (number, hours, dates, work type — not its text).

Never: passwords and logins (the `account` entity never leaves), sessions, login records,
messages and attachments, homework (its text and files), parents — neither their names nor
their contacts — and nobody's phone or e-mail; consent only as a flag per student and
guardian link; free-text reasons a lesson was substituted or a student left; the secret
settings; the school's working records (remarks to teachers, «посещаемость отмечена», staff
away, timetable changes of dates, promotion decisions and debts). An entity the profile does not name never leaves, whatever table a later release
adds to the ledger: adding one here is a code change, and tests/test_sync_profile.py pins
this table.

The ledger's states are {column: value} over each table's state columns (`ledger.TABLES`);
the profile keeps the listed columns of them (`Columns`), or derives a smaller state
(`person`, `account_role`, `guardian`, `setting`). Keys stay as the ledger writes them (`grade:<lesson>:<student>:<n>`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from server import ledger

# Staff roles the district sees (parents' and students' roles are not staff).
STAFF_ROLES = ("director", "deputy", "sysadmin", "teacher", "staff")
# School settings that shape the journal and are no secret (the login-key secret never leaves).
SETTINGS = ("grade_one_allowed", "first_grade_marks", "forecast_threshold")


@dataclass(frozen=True)
class Columns:
    """Keep these columns of the row's state."""
    names: tuple[str, ...]

    def __call__(self, state: Any, key: str, ctx: "Context") -> Any:
        if not isinstance(state, dict):
            return None
        return {c: state[c] for c in self.names if c in state}


def _c(*names: str) -> Columns:
    return Columns(tuple(names))


class Context:
    """What the profile needs to know about people at the time of sealing: who is a
    student, who is staff (a staff role, a journal, a class), and person rows to send
    when someone becomes a student or staff after their person row was sent (dropped)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.students = {r[0] for r in conn.execute("SELECT person_id FROM student")}
        self.staff = {r[0] for r in conn.execute(
            f"SELECT a.person_id FROM account a JOIN account_role r ON r.account_id = a.id"
            f" WHERE r.role IN ({','.join('?' * len(STAFF_ROLES))})", STAFF_ROLES)}
        self.staff |= {r[0] for r in conn.execute("SELECT teacher_id FROM journal")}
        self.staff |= {r[0] for r in conn.execute("SELECT class_teacher_id FROM class WHERE class_teacher_id IS NOT NULL")}
        self._account_person: dict[int, int | None] = {}

    def person_of_account(self, account_id: int) -> int | None:
        if account_id not in self._account_person:
            row = self.conn.execute("SELECT person_id FROM account WHERE id = ?", (account_id,)).fetchone()
            self._account_person[account_id] = row[0] if row else None
        return self._account_person[account_id]

    def person_record(self, person_id: int) -> tuple[str, Any] | None:
        """The person's profile state as it is now (None when nothing of them may leave)."""
        t = shape("person")
        rows = list(t.rows(self.conn, "id = ?", (person_id,)))
        if not rows:
            return None
        key = t.key_of(rows[0])
        state = _person(t.state_of(rows[0]), key, self)
        return (key, state) if state is not None else None


_PERSON_NAME = ("last_name", "first_name", "middle_name")


def _person(state: Any, key: str, ctx: Context) -> Any:
    if not isinstance(state, dict):
        return None
    pid = int(key.split(":")[1])
    if pid in ctx.students:
        cols = _PERSON_NAME + ("birth_date", "archived_at")
    elif pid in ctx.staff:
        cols = _PERSON_NAME + ("position", "archived_at")
    else:
        return None  # a parent or an outsider: nothing of them leaves
    return {c: state.get(c) for c in cols if c in state}


def _account_role(state: Any, key: str, ctx: Context) -> Any:
    _, account_id, role = key.split(":", 2)
    if role not in STAFF_ROLES:
        return None
    person = ctx.person_of_account(int(account_id))
    return {"person_id": person, "role": role} if person is not None else None


def _guardian(state: Any, key: str, ctx: Context) -> Any:
    if not isinstance(state, dict):
        return None
    student = state.get("student_id", key.split(":")[2] if key.count(":") >= 2 else None)
    return {"student_id": int(student), "consent": bool(state.get("consent_at"))}


def _setting(state: Any, key: str, ctx: Context) -> Any:
    name = key.split(":", 1)[1]
    if name not in SETTINGS:
        return None
    return state.get("value") if isinstance(state, dict) else state


# entity → how its state leaves. Pinned by tests/test_sync_profile.py.
PROFILE: dict[str, Callable[[Any, str, Context], Any]] = {
    "school": _c("uid", "name", "address", "district_code"),
    "academic_year": _c("name", "starts_on", "ends_on", "status"),
    "study_period": _c("year_id", "kind", "number", "starts_on", "ends_on", "closed_at"),
    "period": _c("closed"),
    "holiday": _c("year_id", "name", "starts_on", "ends_on"),
    "class": _c("year_id", "parallel", "letter", "class_teacher_id", "period_kind", "archived_at"),
    "subject": _c("name", "short_name", "archived_at"),
    "study_group": _c("year_id", "name", "kind", "class_id", "archived_at"),
    "group_member": _c("group_id", "student_id", "from_date", "to_date"),
    "journal": _c("year_id", "subject_id", "class_id", "group_id", "teacher_id", "hours_per_week", "archived_at"),
    "bell": _c("year_id", "number", "starts_at", "ends_at"),
    "timetable_slot": _c("journal_id", "weekday", "lesson_number"),
    "person": _person,
    "account_role": _account_role,
    "student": _c("study_form", "left_on"),
    "enrollment": _c("student_id", "class_id", "from_date", "to_date"),
    "guardian": _guardian,
    "setting": _setting,
    "work_type": _c("name", "weight", "is_control", "sort"),
    "plan_item": _c("journal_id", "number", "hours", "planned_date", "planned_week", "work_type"),
    "lesson": _c("journal_id", "date", "lesson_number", "topic", "work_type", "plan_item_id", "status",
                 "substitute_id"),
    "grade": _c("value", "work_type"),
    "attendance": _c("mark"),
    "period_grade": _c("value"),
}

def shape(entity: str) -> ledger.Audited:
    """How the ledger writes `entity` (its table, key and state columns)."""
    if entity == "period":
        return ledger.PERIOD_CLOSING
    return ledger.TABLES[entity]


def entity_of(key: str) -> str:
    return key.split(":", 1)[0]


def transform(ctx: Context, key: str, state: Any) -> tuple[bool, Any]:
    """(leaves, state as it leaves) for one ledger state (None: the row is gone)."""
    fn = PROFILE.get(entity_of(key))
    if fn is None:
        return False, None
    if state is None:
        # A deletion leaves for what the district may hold; a parent's or a secret's
        # deletion names nothing the district was told of.
        entity = entity_of(key)
        if entity == "account_role" and key.rsplit(":", 1)[1] not in STAFF_ROLES:
            return False, None
        if entity == "setting" and key.split(":", 1)[1] not in SETTINGS:
            return False, None
        if entity == "person" and int(key.split(":")[1]) not in ctx.students | ctx.staff:
            return False, None
        return True, None
    out = fn(state, key, ctx)
    return out is not None, out


def followers(ctx: Context, key: str, old: Any, new: Any) -> list[tuple[str, Any]]:
    """Person rows that must leave after this entry: someone became a student or staff
    after their person row was written (and dropped as nobody's)."""
    entity = entity_of(key)
    if old is None and new is not None:
        if entity == "student":
            rec = ctx.person_record(int(key.split(":")[1]))
            return [rec] if rec else []
        if entity == "account_role" and key.rsplit(":", 1)[1] in STAFF_ROLES:
            person = ctx.person_of_account(int(key.split(":")[1]))
            rec = ctx.person_record(person) if person is not None else None
            return [rec] if rec else []
    return []


def _table_exists(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None


def snapshot(conn: sqlite3.Connection, ctx: Context) -> Iterable[tuple[str, Any]]:
    """The school's full current state as it leaves: (key, state) of every profile entity,
    built from the tables themselves in the ledger's shapes (inside the caller's read)."""
    for entity in PROFILE:
        t = shape(entity)
        if not _table_exists(conn, t.table):
            continue
        state_of = (lambda r: {"closed": True}) if entity == "period" else t.state_of
        for row in t.rows(conn):
            key = t.key_of(row)
            ok, out = transform(ctx, key, state_of(row))
            if ok:
                yield key, out


def checksums(records: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """{entity: (rows, sha256 over the sorted keys and canonical states)}: the school's view
    (`snapshot`) and the district's (`district.store.records`) compare equal when in sync."""
    import hashlib

    by: dict[str, list] = {}
    for key in sorted(records):
        by.setdefault(entity_of(key), []).append(key + "=" + (ledger.canonical(records[key]) or "null"))
    return {e: (len(v), hashlib.sha256("|".join(v).encode()).hexdigest()[:16]) for e, v in by.items()}
