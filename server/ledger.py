"""The one ledger of school data: every change — a grade, a lesson's topic, a student moved to
another class, a role granted, a consent recorded, a timetable slot — is an entry of the
hash-chained audit log (who, when, what, old state, new state, reason), written in the same
transaction as the change itself. `zhurnal audit verify` checks the chain and that every
audited table holds exactly what the ledger says; district sync reads the ledger (entries
after the district's mark), so there is no second copy of the changes.

What the ledger covers is declared once, below (`TABLES`): per table, the columns that name
a row (its key) and the columns that are its state. Messages, sessions, login records,
credential issues and import logs stay outside: they are not the school's data but records
of their own (messages belong to their writers; the others are themselves logs).

Writing: an area keeps its own SQL and brackets it —

    before = ledger.states(conn, "enrollment", "student_id = ?", (student_id,))
    conn.execute("UPDATE enrollment …")
    ledger.record_changes(conn, actor, "enrollment", before,
                          ledger.states(conn, "enrollment", "student_id = ?", (student_id,)))

— or uses `insert`/`update`/`delete` for one row, or `record` when it already knows both
states (the journal's hot path: a grade save reads what it replaces anyway).

The feed epoch: each entry carries the epoch it was written in (`feed_epoch`, a new one per
restore from a backup), so district sync can tell a restored school's changes from the ones
it lost. The epoch is not part of the hash: it says which life of the database the entry
belongs to, set by the program, and verify checks it never goes back along the chain.

Coverage: when a release adds a table to `TABLES`, the next start records every existing
row of it once («исходное состояние», `extend_coverage`, in `migrate`); from then on its
changes are audited and verified. `audit verify` itself only reads, so a database whose
coverage is behind the program is a message, not a silent pass.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .timeutil import now_text

GENESIS = "0" * 64
BASELINE_REASON = "исходное состояние (записи, сделанные до ведения журнала изменений)"

# The same as json.dumps(…, ensure_ascii=False, [sort_keys=True,] separators=(",", ":")) gives,
# without building an encoder per call (record_many hashes ~200 000 entries for the demo).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical(value: Any) -> str | None:
    return None if value is None else _CANONICAL.encode(value)


def entry_hash(prev: str, at: str, account_id: int | None, entity: str, key: str, old: str | None,
               new: str | None, reason: str) -> str:
    payload = _PAYLOAD.encode([prev, at, account_id, entity, key, old, new, reason])
    return hashlib.sha256(payload.encode()).hexdigest()


# --- what the ledger covers ---------------------------------------------------------------------

@dataclass(frozen=True)
class Audited:
    """One audited table: how its rows look as (key → state) in the ledger.

    The key text is `entity:k1:k2…` over `key`; the state is {column: value} over `state`,
    or the bare value of `scalar` (settings). `where` limits the rows that are school data.
    `bools`: state columns stored as 0/1 that the ledger records as false/true.
    `added`: state columns a later release added — (column, value), the value every entry
    written before implies (the new column's default). A table's state gains a column without
    re-recording every row: verify reads an older entry as if it had the column at that value."""

    entity: str
    table: str
    key: tuple[str, ...]
    state: tuple[str, ...] = ()
    where: str = ""
    scalar: str = ""
    bools: tuple[str, ...] = ()
    added: tuple[tuple[str, Any], ...] = ()

    def as_now(self, logged: str | None) -> str | None:
        """A logged state (canonical JSON) with the later-added columns filled in."""
        if logged is None or not self.added:
            return logged
        state = json.loads(logged)
        if isinstance(state, dict):
            for column, value in self.added:
                state.setdefault(column, value)
        return canonical(state)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.key + self.state + ((self.scalar,) if self.scalar else ())))

    def rows(self, conn: sqlite3.Connection, where: str = "", params: Iterable | Mapping = ()):
        """The matching rows as dicts (whatever the connection's row factory)."""
        cols = self.columns
        for r in conn.execute(self.select(where), params):
            yield dict(zip(cols, r))

    def select(self, where: str = "") -> str:
        cols = ", ".join(self.columns)
        conds = [c for c in (self.where, where) if c]
        return f"SELECT {cols} FROM {self.table}" + (" WHERE " + " AND ".join(f"({c})" for c in conds)
                                                     if conds else "")

    def key_of(self, row: Mapping | sqlite3.Row) -> str:
        return self.entity + ":" + ":".join(str(row[k]) for k in self.key)

    def state_of(self, row: Mapping | sqlite3.Row) -> Any:
        if self.scalar:
            return row[self.scalar]
        return {c: bool(row[c]) if c in self.bools else row[c] for c in self.state}


def _t(entity: str, key: tuple[str, ...], state: tuple[str, ...] = (), *, table: str = "", where: str = "",
       scalar: str = "", bools: tuple[str, ...] = (), added: tuple[tuple[str, Any], ...] = ()) -> Audited:
    assert all(column in state for column, _ in added), entity
    return Audited(entity, table or entity, key, state, where, scalar, bools, added)


# Every table of school data the ledger covers. Adding one here is all it takes for verify and
# for the next start's baseline; its writes must then go through record/record_changes.
TABLES: dict[str, Audited] = {t.entity: t for t in [
    # The journal (§3.2). Key shapes are those of the first ledger, kept for existing logs.
    _t("lesson", ("id",), ("journal_id", "date", "lesson_number", "topic", "work_type", "plan_item_id", "status",
                           "substitute_id", "status_reason")),
    _t("grade", ("lesson_id", "student_id", "position"), ("value", "work_type")),
    _t("attendance", ("lesson_id", "student_id"), ("mark",)),
    _t("homework", ("lesson_id",), ("text", "minutes", "file_name", "file_size", "due_date"),
       added=(("due_date", None),)),  # the due date came later: older entries read as «the next lesson»
    _t("period_grade", ("journal_id", "period_id", "student_id"), ("value",)),
    # The school (server/school/): its details, years, periods (their dates; closing one is
    # the "period" entity below), holidays, classes, subjects, groups and their members, the
    # teaching load (a journal row), bells, the timetable and the class access the deputy grants.
    _t("school", ("id",), ("name", "address", "district_code")),
    _t("academic_year", ("id",), ("name", "starts_on", "ends_on", "status", "closed_at", "opens_on"),
       added=(("closed_at", None), ("opens_on", None))),
    _t("study_period", ("id",), ("year_id", "kind", "number", "starts_on", "ends_on")),
    _t("holiday", ("id",), ("year_id", "name", "starts_on", "ends_on")),
    _t("class", ("id",), ("year_id", "parallel", "letter", "class_teacher_id", "period_kind", "archived_at")),
    _t("subject", ("id",), ("name", "short_name", "archived_at")),
    _t("study_group", ("id",), ("year_id", "name", "kind", "class_id", "archived_at")),
    _t("group_member", ("group_id", "student_id", "from_date"), ("to_date",)),
    _t("journal", ("id",), ("year_id", "subject_id", "class_id", "group_id", "teacher_id", "hours_per_week",
                            "archived_at")),
    _t("bell", ("year_id", "number"), ("starts_at", "ends_at")),
    _t("timetable_slot", ("id",), ("journal_id", "weekday", "lesson_number", "room")),
    _t("class_access", ("person_id", "class_id"), ("granted_by",)),
    # People and their accounts' roles (§2.3, §3.4.2): never a password or its hash — passwords
    # are not school data; an issued password is a credential_issue record of its own.
    _t("person", ("id",), ("last_name", "first_name", "middle_name", "sex", "birth_date", "phone", "email",
                           "position", "archived_at")),
    _t("account", ("id",), ("person_id", "login", "disabled_at")),
    _t("account_role", ("account_id", "role")),  # a held role is {}; a revoked one has no state
    # Students, their enrolments and moves, their parents and consent (§3.3.1, §4.1.1): who
    # recorded a consent and when is the entry; on what document is the consent_document column.
    _t("student", ("person_id",), ("study_form", "left_on", "left_reason")),
    _t("enrollment", ("id",), ("student_id", "class_id", "from_date", "to_date")),
    _t("guardian", ("parent_id", "student_id"), ("relation", "consent_at", "consent_document", "diary_form")),
    # The grading settings and work types (§3.2.3, server/journal/grading.py): a weight changes
    # every average at once; who of the administration receives families' messages (§4.1.6,
    # server/messages/requests.py). Only these keys of `setting` — never the login-key secret.
    _t("setting", ("key",), scalar="value",
       where="key IN ('grade_one_allowed', 'first_grade_marks', 'forecast_threshold', 'family_admin_recipients')"),
    _t("work_type", ("code",), ("name", "weight", "is_control"), bools=("is_control",)),
    # The КТП (§3.2.1, server/planning/): the journal in the key, so that a journal's plan
    # history is one range of the audit_key index (`plan_item:<journal>:<item>`).
    _t("plan_item", ("journal_id", "id"), ("number", "topic", "hours", "planned_date", "planned_week", "work_type")),
    # Journal control (server/reports/, §3.4.4): «посещаемость отмечена» on a lesson (a taken
    # register is {}; who and when is the entry), and the deputy's remarks on a journal.
    _t("register_taken", ("lesson_id",)),
    _t("journal_remark", ("id",), ("journal_id", "period_id", "text", "due_on", "author_id", "created_on",
                                   "done_on")),
    # The year lifecycle (server/years/): what the next year was made from, the director's
    # order of promotion and every student's decision.
    _t("year_link", ("kind", "from_id"), ("to_id",)),
    _t("promotion_order", ("year_id",), ("next_year_id", "number", "signed_on", "access_until", "applied_at")),
    _t("promotion", ("year_id", "student_id"), ("class_id", "decision", "next_class_id", "debt", "debt_until",
                                                "debt_status", "attestat", "left_to", "confirmed_at", "applied_at")),
    # The timetable of a date (§3.4.4, server/timetable/): a lesson moved or added on a date,
    # and a staff member away from — to. Substitutions and cancellations are lesson rows.
    _t("timetable_change", ("id",), ("journal_id", "date", "lesson_number", "from_date", "from_number", "room",
                                     "reason")),
    _t("staff_absence", ("id",), ("person_id", "starts_on", "ends_on", "reason")),
]}

# Closing a period is its own entity (the first ledger's shape): a closed period's state is
# {"closed": true}; an open one has none (its last entry says {"closed": false}).
PERIOD_CLOSING = Audited("period", "study_period", ("id",), (), "closed_at IS NOT NULL")
ABSENT_STATES = {"period": canonical({"closed": False})}


def _period_state(row) -> dict:
    return {"closed": True}


def _shapes() -> list[tuple[Audited, Any]]:
    return [(t, t.state_of) for t in TABLES.values()] + [(PERIOD_CLOSING, _period_state)]


# --- writing ------------------------------------------------------------------------------------

def record(conn: sqlite3.Connection, account_id: int | None, entity: str, key: str, old: Any, new: Any,
           reason: str = "") -> None:
    """Append one change (inside the caller's transaction); nothing when old == new."""
    if old == new:
        return
    at = now_text()
    old_j, new_j = canonical(old), canonical(new)
    row = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    h = entry_hash(prev, at, account_id, entity, key, old_j, new_j, reason)
    conn.execute(
        "INSERT INTO audit_log(at, account_id, entity, key, old, new, reason, hash, epoch_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT max(id) FROM feed_epoch))",
        (at, account_id, entity, key, old_j, new_j, reason, h))


def record_many(conn: sqlite3.Connection, entries: Iterable[tuple]) -> int:
    """What record() does for each of `entries` — (at or None, account_id, entity, key, old,
    new, reason) in order — with the chain hashed in Python and one executemany (the demo's
    ~200 000 entries, a whole file's import). Returns how many entries were appended."""
    row = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    epoch = conn.execute("SELECT max(id) FROM feed_epoch").fetchone()[0]
    now = now_text()
    log = []
    for at, account_id, entity, key, old, new, reason in entries:
        if old == new:
            continue
        at = at or now
        old_j, new_j = canonical(old), canonical(new)
        prev = entry_hash(prev, at, account_id, entity, key, old_j, new_j, reason)
        log.append((at, account_id, entity, key, old_j, new_j, reason, prev, epoch))
    conn.executemany(
        "INSERT INTO audit_log(at, account_id, entity, key, old, new, reason, hash, epoch_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", log)
    return len(log)


def states(conn: sqlite3.Connection, entity: str, where: str = "", params: Iterable | Mapping = ()) -> dict[str, Any]:
    """{key: state} of the rows of `entity` that match `where` (SQL over its table's columns)."""
    t = TABLES[entity]
    return {t.key_of(r): t.state_of(r) for r in t.rows(conn, where, params)}


def record_changes(conn: sqlite3.Connection, account_id: int | None, entity: str, before: Mapping[str, Any],
                   after: Mapping[str, Any], reason: str = "") -> int:
    """One entry per row that appeared, changed or went between two `states()`; returns how many."""
    entries = [(None, account_id, entity, key, before.get(key), after.get(key), reason)
               for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]
    if len(entries) > 8:
        return record_many(conn, entries)
    for _, account_id_, entity_, key, old, new, reason_ in entries:
        record(conn, account_id_, entity_, key, old, new, reason_)
    return len(entries)


def _key_where(t: Audited, key: Any) -> tuple[str, tuple]:
    values = key if isinstance(key, tuple) else (key,)
    assert len(values) == len(t.key), (t.entity, key)
    return " AND ".join(f"{k} = ?" for k in t.key), tuple(values)


def insert(conn: sqlite3.Connection, account_id: int | None, entity: str, values: Mapping[str, Any],
           reason: str = "") -> int:
    """INSERT one row of `entity` and record it; returns lastrowid. Columns come from the code,
    never from a request."""
    t = TABLES[entity]
    cols = list(values)
    cur = conn.execute(f"INSERT INTO {t.table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       [values[c] for c in cols])
    if t.key == ("id",) and "id" not in values:
        key: Any = cur.lastrowid
    else:
        key = tuple(values[k] for k in t.key)
    where, params = _key_where(t, key)
    row = next(t.rows(conn, where, params))
    record(conn, account_id, entity, t.key_of(row), None, t.state_of(row), reason)
    return cur.lastrowid


def update(conn: sqlite3.Connection, account_id: int | None, entity: str, key: Any, changes: Mapping[str, Any],
           reason: str = "") -> bool:
    """UPDATE one row of `entity` (by its key: an id or a tuple) and record the change; False
    when there is no such row."""
    t = TABLES[entity]
    where, params = _key_where(t, key)
    before = states(conn, entity, where, params)
    if not before:
        return False
    cols = list(changes)
    conn.execute(f"UPDATE {t.table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE {where}",
                 [changes[c] for c in cols] + list(params))
    record_changes(conn, account_id, entity, before, states(conn, entity, where, params), reason)
    return True


def delete(conn: sqlite3.Connection, account_id: int | None, entity: str, key: Any, reason: str = "") -> bool:
    """DELETE one row of `entity` and record it; False when there is no such row."""
    t = TABLES[entity]
    where, params = _key_where(t, key)
    before = states(conn, entity, where, params)
    if not before:
        return False
    conn.execute(f"DELETE FROM {t.table} WHERE {where}", params)
    record_changes(conn, account_id, entity, before, {}, reason)
    return True


# --- coverage: tables that joined the ledger -----------------------------------------------------

def extend_coverage(conn: sqlite3.Connection) -> list[str]:
    """Record, once, every existing row of the audited tables the ledger did not cover yet
    (inside the caller's transaction). Returns the entities newly covered."""
    covered = {r[0] for r in conn.execute("SELECT entity FROM ledger_coverage")}
    added = []
    for t, shape in _shapes():
        if t.entity in covered:
            continue
        logged = {r[0] for r in conn.execute("SELECT DISTINCT key FROM audit_log WHERE entity = ?", (t.entity,))}
        entries = [(None, None, t.entity, t.key_of(r), None, shape(r), BASELINE_REASON)
                   for r in t.rows(conn) if t.key_of(r) not in logged]
        record_many(conn, entries)
        conn.execute("INSERT INTO ledger_coverage(entity, since) VALUES (?, ?)", (t.entity, now_text()))
        added.append(t.entity)
    return added


def uncovered(conn: sqlite3.Connection) -> list[str]:
    covered = {r[0] for r in conn.execute("SELECT entity FROM ledger_coverage")}
    return [t.entity for t, _ in _shapes() if t.entity not in covered]


# --- checking -----------------------------------------------------------------------------------

def verify(conn: sqlite3.Connection) -> tuple[bool, str]:
    """(ok, message in Russian). Reads only."""
    prev = GENESIS
    expected_id = 1  # ids count from 1 and nothing in the program deletes entries
    last_epoch = 0
    last: dict[str, tuple[int, str | None, str]] = {}
    for row in conn.execute("SELECT id, at, account_id, entity, key, old, new, reason, hash, epoch_id"
                            " FROM audit_log ORDER BY id"):
        id_, at, account_id, entity, key, old, new, reason, h, epoch = row
        if id_ != expected_id:
            after = f"после № {expected_id - 1} идёт" if expected_id > 1 else "первая запись —"
            return False, f"Запись журнала аудита № {expected_id} удалена ({after} № {id_})."
        if entry_hash(prev, at, account_id, entity, key, old, new, reason) != h:
            return False, f"Запись журнала аудита № {id_} ({at}, {key}) изменена в обход программы."
        if epoch is None or epoch < last_epoch:
            return False, f"У записи журнала аудита № {id_} ({at}, {key}) изменена эпоха в обход программы."
        prev, expected_id, last_epoch = h, id_ + 1, epoch
        last[key] = (id_, new, entity)
    # The tables must say what the log says.
    actual: dict[str, str] = {}
    audited: dict[str, Audited] = {}
    for t, shape in _shapes():
        audited[t.entity] = t
        for r in t.rows(conn):
            actual[t.key_of(r)] = canonical(shape(r))
    for key, (id_, new, entity) in sorted(last.items(), key=lambda kv: kv[1][0]):
        if entity not in audited:
            continue
        if new is not None and new == ABSENT_STATES.get(entity):
            new = None
        new = audited[entity].as_now(new)
        if actual.get(key) != new:
            what = "удалена" if key not in actual else "изменена"
            return False, (f"Запись «{key}» {what} в базе в обход программы: она не совпадает с последней "
                           f"записью журнала аудита № {id_}.")
    for key in actual:
        if key not in last:
            return False, f"Запись «{key}» появилась в базе в обход программы: в журнале аудита о ней ничего нет."
    n = expected_id - 1
    return True, f"Журнал аудита цел: {n} записей, данные совпадают с журналом."


def check_anchors(conn: sqlite3.Connection, anchors: list[tuple[str, dict]]) -> tuple[bool, str]:
    """The chain against heads recorded elsewhere — (when, {"id", "hash"}) from the backups
    made since the last restore. A hash chain cannot notice its last entries deleted together
    with the data they describe; a copy that went further can."""
    for when, head in sorted(anchors, key=lambda a: a[1]["id"], reverse=True)[:1]:
        row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (head["id"],)).fetchone()
        if row is None:
            return False, (f"Журнал аудита обрезан: резервная копия от {when} заканчивается записью № {head['id']}, "
                           "а в базе её нет — последние записи удалены в обход программы.")
        if row[0] != head["hash"]:
            return False, f"Запись журнала аудита № {head['id']} не совпадает с резервной копией от {when}."
    return True, ""


def head(conn: sqlite3.Connection) -> dict | None:
    """The chain's last entry {"id", "hash"} (backups record it), or None for an empty log."""
    row = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return {"id": row[0], "hash": row[1]} if row else None
