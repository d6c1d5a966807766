"""The family's requests and who receives them.

- §4.1.5: parents report changes of their child's personal data — a message thread of its
  own purpose (`data_correction`) to the child's class teacher (the administration the school
  chose, when the class has none), which its recipient marks done once the record is
  corrected. The family sees whether it is done.
- §4.1.6: families write to the class teacher and to the administration; which of the
  administration receive such messages is the school's choice (`family_admin_recipients`,
  a JSON list of roles — the deputy, the director or both; until the school chooses, families
  write to the class teacher and the teachers). That choice is a school setting: a ledger
  entry (server/ledger.py).

Messages themselves stay outside the ledger (server/messages/store.py)."""

from __future__ import annotations

import json
import sqlite3

from .. import clock, ledger
from ..errors import Forbidden
from ..timeutil import now_text
from . import store
from .audience import FAMILY_ADMINISTRATION, MessageError

DATA_CORRECTION = "data_correction"
PURPOSES = {DATA_CORRECTION: "изменение персональных данных"}
SETTING = "family_admin_recipients"
ADMIN_CHOICES = {"deputy": "заместитель директора", "director": "директор"}
DEFAULT_ADMIN: list[str] = []
STAFF = ("director", "deputy", "sysadmin", "teacher", "class_teacher", "staff")


def _family_child(conn: sqlite3.Connection, user, student_id: int | None) -> sqlite3.Row:
    """The person's own child with consent recorded (a parent), or themselves (a student)."""
    if student_id is not None and user.has("student") and student_id == user.person_id:
        ok = True
    else:
        ok = student_id is not None and user.has("parent") and conn.execute(
            "SELECT 1 FROM guardian WHERE parent_id = ? AND student_id = ? AND consent_at IS NOT NULL",
            (user.person_id, student_id)).fetchone() is not None
    if not ok:
        raise MessageError("Можно сообщить только о своём ребёнке.", status_code=404)
    return conn.execute("SELECT id, last_name, first_name, middle_name FROM person WHERE id = ?",
                        (student_id,)).fetchone()


def _receivers(conn: sqlite3.Connection, student_id: int) -> list[int]:
    """The class teacher of the child's class now; the administration the school chose if none."""
    row = conn.execute(
        "SELECT c.class_teacher_id FROM enrollment e JOIN class c ON c.id = e.class_id"
        " JOIN account a ON a.person_id = c.class_teacher_id AND a.disabled_at IS NULL"
        " WHERE e.student_id = :s AND e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)",
        {"s": student_id, "d": clock.today().isoformat()}).fetchone()
    if row and row[0]:
        return [row[0]]
    return [r[0] for r in conn.execute(FAMILY_ADMINISTRATION)]


def start_data_correction(conn: sqlite3.Connection, user, student_id: int | None, body: str) -> int:
    """§4.1.5: the family tells the school what changed in the child's personal data."""
    child = _family_child(conn, user, student_id)
    receivers = [p for p in _receivers(conn, child["id"]) if p != user.person_id]
    if not receivers:
        raise MessageError("У класса нет классного руководителя, а администрация не выбрана: обратитесь в школу.")
    subject = f"Изменились персональные данные: {child['last_name']} {child['first_name']}"
    return store.start_request(conn, user.person_id, subject, body, receivers, child["id"], DATA_CORRECTION)


def set_done(conn: sqlite3.Connection, user, thread_id: int, done: bool) -> None:
    """The request's recipient (the class teacher) marks it done — or not done yet."""
    t = store.member_thread(conn, user.person_id, thread_id)
    if not t["purpose"]:
        raise MessageError("Это обычное сообщение: отмечать нечего.")
    if t["author_id"] == user.person_id or not user.has(*STAFF):
        raise Forbidden("Отмечает выполненным тот, кому отправлен запрос (классный руководитель).")
    conn.execute("UPDATE message_thread SET done_at = ?, done_by = ? WHERE id = ?",
                 (now_text() if done else None, user.person_id if done else None, thread_id))


def open_requests(conn: sqlite3.Connection, person_id: int) -> list[sqlite3.Row]:
    """Requests sent to the person and not done yet (the class teacher's home page)."""
    return conn.execute(
        "SELECT t.id, t.subject, t.created_at FROM message_thread t JOIN thread_member m ON m.thread_id = t.id"
        " WHERE m.person_id = ? AND t.author_id <> ? AND t.purpose IS NOT NULL AND t.done_at IS NULL"
        " ORDER BY t.created_at", (person_id, person_id)).fetchall()


def requests_about(conn: sqlite3.Connection, author_id: int) -> list[sqlite3.Row]:
    """The family's own requests, newest first, with whether they are done."""
    return conn.execute(
        "SELECT t.id, t.subject, t.created_at, t.done_at, t.student_id FROM message_thread t"
        " WHERE t.author_id = ? AND t.purpose IS NOT NULL ORDER BY t.created_at DESC", (author_id,)).fetchall()


# --- who of the administration receives families' messages ---------------------------------------

def admin_roles(conn: sqlite3.Connection) -> list[str]:
    row = conn.execute("SELECT value FROM setting WHERE key = ?", (SETTING,)).fetchone()
    return json.loads(row[0]) if row else list(DEFAULT_ADMIN)


def admin_people(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """The people who receive families' messages to the administration now."""
    return conn.execute(
        f"SELECT p.id, p.last_name, p.first_name, p.middle_name, p.position FROM person p"
        f" WHERE p.id IN ({FAMILY_ADMINISTRATION}) ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU").fetchall()


def set_admin_roles(conn: sqlite3.Connection, actor: int | None, roles: list[str]) -> None:
    """The school's choice (§4.1.6): the deputy, the director or both; a ledger entry."""
    chosen = [r for r in ADMIN_CHOICES if r in set(roles)]
    if not chosen:
        raise MessageError("Выберите, кто из администрации получает сообщения семей.")
    value = json.dumps(chosen)
    if conn.execute("SELECT 1 FROM setting WHERE key = ?", (SETTING,)).fetchone():
        ledger.update(conn, actor, "setting", SETTING, {"value": value})
    else:
        ledger.insert(conn, actor, "setting", {"key": SETTING, "value": value})
