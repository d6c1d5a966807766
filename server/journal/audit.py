"""The one write path's ledger: an audit entry (who, when, what, old, new) whose hash
chains to the previous one, and a change-feed row for district sync — both in the same
transaction as the change itself.

`verify` checks two things: the chain (an entry altered or removed breaks it), and that
every audited table holds exactly what the log says it should (a grade changed directly
in SQLite, bypassing the journal, shows up as a difference)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from ..timeutil import now_text

GENESIS = "0" * 64


# The same as json.dumps(…, ensure_ascii=False, [sort_keys=True,] separators=(",", ":")) gives,
# without building an encoder per call (record_many hashes ~200 000 entries for the demo).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _canonical(value: Any) -> str | None:
    return None if value is None else _CANONICAL.encode(value)


def entry_hash(prev: str, at: str, account_id: int | None, entity: str, key: str, old: str | None,
               new: str | None, reason: str) -> str:
    payload = _PAYLOAD.encode([prev, at, account_id, entity, key, old, new, reason])
    return hashlib.sha256(payload.encode()).hexdigest()


def record(conn: sqlite3.Connection, account_id: int | None, entity: str, key: str, old: Any, new: Any,
           reason: str = "") -> None:
    """Append the change to the audit log and the change feed (inside the caller's transaction).

    Plain sqlite3, like writes.py that calls it (it runs in the writer thread)."""
    if old == new:
        return
    at = now_text()
    old_j, new_j = _canonical(old), _canonical(new)
    row = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    h = entry_hash(prev, at, account_id, entity, key, old_j, new_j, reason)
    conn.execute(
        "INSERT INTO audit_log(at, account_id, entity, key, old, new, reason, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at, account_id, entity, key, old_j, new_j, reason, h))
    conn.execute(
        "INSERT INTO change_feed(epoch_id, at, entity, key, data)"
        " VALUES ((SELECT max(id) FROM feed_epoch), ?, ?, ?, ?)", (at, entity, key, new_j))


async def record_many(conn, entries) -> int:
    """What record() does for each of `entries` — (at or None, account_id, entity, key, old,
    new, reason) in order — with the chain hashed in Python and two executemany calls
    (bulk.py: the demo's ~100 000 records). Returns how many entries were appended.
    Async (an aiosqlite connection): bulk.py's jobs are few and large, a hop per statement
    costs them nothing."""
    row = await (await conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")).fetchone()
    prev = row[0] if row else GENESIS
    epoch = (await (await conn.execute("SELECT max(id) FROM feed_epoch")).fetchone())[0]
    now = now_text()
    log, feed = [], []
    for at, account_id, entity, key, old, new, reason in entries:
        if old == new:
            continue
        at = at or now
        old_j, new_j = _canonical(old), _canonical(new)
        prev = entry_hash(prev, at, account_id, entity, key, old_j, new_j, reason)
        log.append((at, account_id, entity, key, old_j, new_j, reason, prev))
        feed.append((epoch, at, entity, key, new_j))
    await conn.executemany(
        "INSERT INTO audit_log(at, account_id, entity, key, old, new, reason, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        log)
    await conn.executemany("INSERT INTO change_feed(epoch_id, at, entity, key, data) VALUES (?, ?, ?, ?, ?)", feed)
    return len(log)


# What each audited table looks like as (key → state) — the same shapes writes.py records.
STATE_QUERIES = {
    "lesson": ("SELECT id, journal_id, date, lesson_number, topic, work_type, plan_item_id, status, substitute_id,"
               " status_reason FROM lesson",
               lambda r: (f"lesson:{r[0]}", {"journal_id": r[1], "date": r[2], "lesson_number": r[3], "topic": r[4],
                                             "work_type": r[5], "plan_item_id": r[6], "status": r[7],
                                             "substitute_id": r[8], "status_reason": r[9]})),
    "grade": ("SELECT lesson_id, student_id, position, value, work_type FROM grade",
              lambda r: (f"grade:{r[0]}:{r[1]}:{r[2]}", {"value": r[3], "work_type": r[4]})),
    "attendance": ("SELECT lesson_id, student_id, mark FROM attendance",
                   lambda r: (f"attendance:{r[0]}:{r[1]}", {"mark": r[2]})),
    "homework": ("SELECT lesson_id, text, minutes, file_name, file_size FROM homework",
                 lambda r: (f"homework:{r[0]}", {"text": r[1], "minutes": r[2], "file_name": r[3],
                                                 "file_size": r[4]})),
    "period_grade": ("SELECT journal_id, period_id, student_id, value FROM period_grade",
                     lambda r: (f"period_grade:{r[0]}:{r[1]}:{r[2]}", {"value": r[3]})),
    # Closed periods only: an open one is the default state and has no entry until closed.
    "period": ("SELECT id FROM study_period WHERE closed_at IS NOT NULL",
               lambda r: (f"period:{r[0]}", {"closed": True})),
}
# The last entry's state that means "nothing in the table" (a period reopened).
ABSENT_STATES = {"period": _canonical({"closed": False})}


def verify(conn: sqlite3.Connection) -> tuple[bool, str]:
    """(ok, message in Russian). Reads only."""
    prev = GENESIS
    expected_id = 1  # ids count from 1 and nothing in the program deletes entries
    last: dict[str, tuple[int, str | None, str]] = {}
    for row in conn.execute("SELECT id, at, account_id, entity, key, old, new, reason, hash FROM audit_log ORDER BY id"):
        id_, at, account_id, entity, key, old, new, reason, h = row
        if id_ != expected_id:
            after = f"после № {expected_id - 1} идёт" if expected_id > 1 else "первая запись —"
            return False, f"Запись журнала аудита № {expected_id} удалена ({after} № {id_})."
        if entry_hash(prev, at, account_id, entity, key, old, new, reason) != h:
            return False, f"Запись журнала аудита № {id_} ({at}, {key}) изменена в обход программы."
        prev, expected_id = h, id_ + 1
        last[key] = (id_, new, entity)
    # The tables must say what the log says.
    actual: dict[str, str] = {}
    for entity, (sql, shape) in STATE_QUERIES.items():
        for r in conn.execute(sql):
            key, state = shape(r)
            actual[key] = _canonical(state)
    for key, (id_, new, entity) in sorted(last.items(), key=lambda kv: kv[1][0]):
        if entity not in STATE_QUERIES:
            continue
        if new is not None and new == ABSENT_STATES.get(entity):
            new = None
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
