"""Threads and messages in SQL: sending, replying, reading, receipts, pins, attachments.

Who sees a message is written down when it is sent: one message_recipient row per person
it went to (read_at is their receipt). A person sees the messages they wrote or received,
in the threads they are a member of. In a thread to a person everyone sees everything;
in a thread to a group (a class's parents, all staff, a family) the author writes to all,
and every other member's reply goes to the author alone (`private_to`): a parent answering
a message to the class never writes to the other parents.
Message text is never logged.

Messages are not school data: they belong to the people who wrote them and stay outside the
ledger (server/ledger.py) — not audited, not verified by `zhurnal audit verify`, not sent to
the district. Every function here is a plain `def f(conn, …)`: pages read with
`Database.read` (a page's queries in one snapshot) and send with `Database.write`.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..accounts.store import User
from ..errors import Forbidden
from ..timeutil import now_text
from .audience import MessageError, is_admin, resolve

MAX_SUBJECT = 200
MAX_BODY = 10_000
NOT_YOURS = "Это сообщение адресовано не вам."
PERSON_COLUMNS = "{a}.last_name AS {p}last_name, {a}.first_name AS {p}first_name, {a}.middle_name AS {p}middle_name"


def fio(row, prefix: str = "") -> str:
    return " ".join(x for x in (row[prefix + "last_name"], row[prefix + "first_name"], row[prefix + "middle_name"]) if x)


def short_fio(row, prefix: str = "") -> str:
    initials = "".join(f"{x[0]}." for x in (row[prefix + "first_name"], row[prefix + "middle_name"]) if x)
    return f"{row[prefix + 'last_name']} {initials}".strip()


def clean_subject(text: str) -> str:
    subject = " ".join((text or "").split())
    if not subject:
        raise MessageError("Укажите тему сообщения.")
    if len(subject) > MAX_SUBJECT:
        raise MessageError(f"Тема длиннее {MAX_SUBJECT} знаков.")
    return subject


def clean_body(text: str) -> str:
    body = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise MessageError("Напишите текст сообщения.")
    if len(body) > MAX_BODY:
        raise MessageError(f"Сообщение длиннее {MAX_BODY} знаков: сократите его или приложите файлом.")
    return body


# --- reading (each runs inside Database.read) ----------------------------------------------

def unread_count(conn: sqlite3.Connection, person_id: int) -> int:
    """Messages the person has received and not opened (one lookup in a partial index)."""
    return conn.execute(
        "SELECT count(*) FROM message_recipient WHERE person_id = ? AND read_at IS NULL", (person_id,)).fetchone()[0]


def threads_for(conn: sqlite3.Connection, person_id: int, limit: int = 200) -> list[sqlite3.Row]:
    """The person's threads, newest activity they can see first, with their unread count."""
    return conn.execute(
        f"""
        SELECT t.id, t.subject, t.kind, t.audience, t.author_id, t.pinned_at, t.created_at, t.purpose, t.done_at,
               v.last_at, v.unread, v.messages, {PERSON_COLUMNS.format(a='a', p='')}
          FROM (SELECT m.thread_id, max(m.created_at) AS last_at, count(*) AS messages,
                       coalesce(sum(r.person_id IS NOT NULL AND r.read_at IS NULL), 0) AS unread
                  FROM message m
                  LEFT JOIN message_recipient r ON r.message_id = m.id AND r.person_id = :me
                 WHERE m.thread_id IN (SELECT thread_id FROM thread_member WHERE person_id = :me)
                   AND (m.author_id = :me OR r.person_id IS NOT NULL)
                 GROUP BY m.thread_id) v
          JOIN message_thread t ON t.id = v.thread_id
          JOIN person a ON a.id = t.author_id
         ORDER BY v.last_at DESC, t.id DESC
         LIMIT :limit
        """,
        {"me": person_id, "limit": limit},
    ).fetchall()


def thread(conn: sqlite3.Connection, person_id: int, thread_id: int) -> sqlite3.Row | None:
    """The thread if the person is one of its members, else None (the caller refuses)."""
    return conn.execute(
        f"""
        SELECT t.*, {PERSON_COLUMNS.format(a='a', p='')},
               (SELECT count(*) FROM thread_member WHERE thread_id = t.id) AS member_count
          FROM message_thread t JOIN person a ON a.id = t.author_id
         WHERE t.id = :t AND EXISTS (SELECT 1 FROM thread_member WHERE thread_id = :t AND person_id = :me)
        """,
        {"t": thread_id, "me": person_id},
    ).fetchone()


def member_thread(conn: sqlite3.Connection, person_id: int, thread_id: int) -> sqlite3.Row:
    """The thread, or Forbidden — the same answer whether it exists or not: an id tells nothing."""
    t = thread(conn, person_id, thread_id)
    if t is None:
        raise Forbidden(NOT_YOURS)
    return t


def messages_of(conn: sqlite3.Connection, person_id: int, thread_id: int) -> list[dict]:
    """The messages of a thread the person may see, oldest first, each with its attachments and,
    for the person's own messages, who has read them and when."""
    params = {"t": thread_id, "me": person_id}
    rows = conn.execute(
        f"""
        SELECT m.id, m.author_id, m.private_to, m.body, m.created_at, r.read_at AS my_read_at,
               {PERSON_COLUMNS.format(a='a', p='')}, {PERSON_COLUMNS.format(a='pt', p='to_')}
          FROM message m
          JOIN person a ON a.id = m.author_id
          LEFT JOIN person pt ON pt.id = m.private_to
          LEFT JOIN message_recipient r ON r.message_id = m.id AND r.person_id = :me
         WHERE m.thread_id = :t AND (m.author_id = :me OR r.person_id IS NOT NULL)
         ORDER BY m.id
        """, params).fetchall()
    out = {r["id"]: {**dict(r), "author": fio(r), "author_short": short_fio(r),
                     "to": short_fio(r, "to_") if r["private_to"] else None,
                     "attachments": [], "receipts": None} for r in rows}
    for f in conn.execute(
            "SELECT f.id, f.message_id, f.file_name, f.file_size FROM message_attachment f"
            " JOIN message m ON m.id = f.message_id WHERE m.thread_id = :t ORDER BY f.id", params):
        if f["message_id"] in out:
            out[f["message_id"]]["attachments"].append(dict(f))
    for r in conn.execute(
            f"""
            SELECT r.message_id, r.read_at, {PERSON_COLUMNS.format(a='p', p='')}
              FROM message_recipient r JOIN message m ON m.id = r.message_id JOIN person p ON p.id = r.person_id
             WHERE m.thread_id = :t AND m.author_id = :me
             ORDER BY r.read_at IS NULL, r.read_at, p.last_name COLLATE RU, p.first_name COLLATE RU
            """, params):
        receipts = out[r["message_id"]]["receipts"]
        if receipts is None:
            receipts = out[r["message_id"]]["receipts"] = {"read": [], "unread": []}
        (receipts["read"] if r["read_at"] else receipts["unread"]).append(
            {"name": short_fio(r), "read_at": r["read_at"]})
    return list(out.values())


def writers_in(conn: sqlite3.Connection, thread_id: int, author_id: int) -> list[sqlite3.Row]:
    """Members who have written in the thread, for its author's «reply to one person» choice."""
    return conn.execute(
        f"SELECT DISTINCT p.id, {PERSON_COLUMNS.format(a='p', p='')} FROM message m JOIN person p ON p.id = m.author_id"
        " WHERE m.thread_id = ? AND m.author_id <> ? ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU",
        (thread_id, author_id)).fetchall()


def unread_in(conn: sqlite3.Connection, person_id: int, thread_id: int) -> int:
    """How many messages of the thread sent to the person are not read yet."""
    return conn.execute(
        "SELECT count(*) FROM message_recipient r JOIN message m ON m.id = r.message_id"
        " WHERE r.person_id = ? AND r.read_at IS NULL AND m.thread_id = ?", (person_id, thread_id)).fetchone()[0]


@dataclass
class ThreadView:
    """A thread as its reader sees it, read in one snapshot; `unread` says whether opening it
    has anything to mark read (no write otherwise)."""

    thread: sqlite3.Row
    messages: list[dict]
    unread: int
    writers: list[sqlite3.Row]


def thread_view(conn: sqlite3.Connection, user: User, thread_id: int) -> ThreadView:
    """The thread, its messages and, for the author of a group thread, who has written; Forbidden
    for a thread the person is not a member of."""
    t = member_thread(conn, user.person_id, thread_id)
    group_author = t["kind"] != "person" and t["author_id"] == user.person_id
    return ThreadView(t, messages_of(conn, user.person_id, thread_id), unread_in(conn, user.person_id, thread_id),
                      writers_in(conn, thread_id, user.person_id) if group_author else [])


def pinned_for(conn: sqlite3.Connection, person_id: int, limit: int = 5) -> list[sqlite3.Row]:
    """Announcements pinned by the administration in threads the person belongs to."""
    return conn.execute(
        f"""
        SELECT t.id, t.subject, t.pinned_at, t.audience, {PERSON_COLUMNS.format(a='a', p='')},
               (SELECT body FROM message WHERE thread_id = t.id ORDER BY id LIMIT 1) AS body
          FROM thread_member tm JOIN message_thread t ON t.id = tm.thread_id JOIN person a ON a.id = t.author_id
         WHERE tm.person_id = ? AND t.pinned_at IS NOT NULL
         ORDER BY t.pinned_at DESC LIMIT ?
        """, (person_id, limit)).fetchall()


def attachment(conn: sqlite3.Connection, person_id: int, attachment_id: int) -> sqlite3.Row | None:
    """An attachment the person may open: of a message they wrote or received."""
    return conn.execute(
        "SELECT f.* FROM message_attachment f JOIN message m ON m.id = f.message_id"
        " WHERE f.id = :f AND (m.author_id = :me OR EXISTS"
        "   (SELECT 1 FROM message_recipient r WHERE r.message_id = m.id AND r.person_id = :me))",
        {"f": attachment_id, "me": person_id}).fetchone()


def last_family_round(conn: sqlite3.Connection, class_id: int) -> str | None:
    """When the class's families were last sent their grades (§3.3.4)."""
    return conn.execute(
        "SELECT max(created_at) FROM message_thread WHERE class_id = ? AND kind = 'family'", (class_id,)).fetchone()[0]


# --- writing (each runs inside Database.write) --------------------------------------------------

Files = list[tuple[str, str, int]]  # (shown name, path under DATA, size)


def mark_read(conn: sqlite3.Connection, person_id: int, thread_id: int) -> int:
    """Opening a thread reads everything in it that was sent to the person."""
    return conn.execute(
        "UPDATE message_recipient SET read_at = ? WHERE person_id = ? AND read_at IS NULL"
        " AND message_id IN (SELECT id FROM message WHERE thread_id = ?)",
        (now_text(), person_id, thread_id)).rowcount


def _insert_message(conn: sqlite3.Connection, thread_id: int, author_id: int, private_to: int | None, body: str,
                    recipients: list[int], files: Files, now: str) -> int:
    message_id = conn.execute(
        "INSERT INTO message(thread_id, author_id, private_to, body, created_at) VALUES (?, ?, ?, ?, ?)",
        (thread_id, author_id, private_to, body, now)).lastrowid
    conn.executemany("INSERT INTO message_recipient(message_id, person_id) VALUES (?, ?)",
                     [(message_id, p) for p in recipients])
    conn.executemany(
        "INSERT INTO message_attachment(message_id, file_name, file_path, file_size) VALUES (?, ?, ?, ?)",
        [(message_id, name, path, size) for name, path, size in files])
    return message_id


def _new_thread(conn: sqlite3.Connection, author_id: int, kind: str, subject: str, audience: str,
                members: list[int], now: str, class_id: int | None = None, student_id: int | None = None,
                pinned: bool = False) -> int:
    thread_id = conn.execute(
        "INSERT INTO message_thread(subject, kind, class_id, student_id, author_id, audience, created_at,"
        " pinned_at, pinned_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (subject, kind, class_id, student_id, author_id, audience, now, now if pinned else None,
         author_id if pinned else None)).lastrowid
    conn.executemany("INSERT INTO thread_member(thread_id, person_id) VALUES (?, ?)",
                     [(thread_id, p) for p in dict.fromkeys([author_id, *members])])
    return thread_id


def start_thread(conn: sqlite3.Connection, user: User, kind: str, target: int | None, subject: str, body: str,
                 files: Files = (), pin: bool = False) -> int:
    """A new thread with its first message; the audience is checked against the allowed set here."""
    subject, body = clean_subject(subject), clean_body(body)
    if pin and not is_admin(user):
        raise MessageError("Закреплять объявления может только администрация школы.")
    recipients, audience, class_id = resolve(conn, user, kind, target)
    recipients = [p for p in dict.fromkeys(recipients) if p != user.person_id]
    if not recipients:
        raise MessageError("Получателей нет: ни у кого из них пока нет учётной записи с согласием на обработку данных.")
    now = now_text()
    thread_id = _new_thread(conn, user.person_id, kind, subject, audience, recipients, now,
                            class_id=class_id, pinned=pin)
    _insert_message(conn, thread_id, user.person_id, None, body, recipients, list(files), now)
    return thread_id


def reply(conn: sqlite3.Connection, user: User, thread_id: int, body: str, to_person_id: int | None = None,
          files: Files = ()) -> int:
    """A reply in a thread the person belongs to; returns the message id."""
    body = clean_body(body)
    t = conn.execute("SELECT * FROM message_thread WHERE id = ?", (thread_id,)).fetchone()
    members = [r[0] for r in conn.execute("SELECT person_id FROM thread_member WHERE thread_id = ?", (thread_id,))]
    me = user.person_id
    if t is None or me not in members:
        raise MessageError(NOT_YOURS)
    others = [p for p in members if p != me]
    if t["kind"] == "person":
        recipients, private = others, None
    elif me == t["author_id"]:
        if to_person_id:
            if to_person_id not in others:
                raise MessageError("Этот человек не участвует в переписке.")
            recipients, private = [to_person_id], to_person_id
        else:
            recipients, private = others, None
    else:
        recipients, private = [t["author_id"]], t["author_id"]
    if not recipients:
        raise MessageError("В переписке больше никого нет.")
    return _insert_message(conn, thread_id, me, private, body, recipients, list(files), now_text())


def set_pinned(conn: sqlite3.Connection, user: User, thread_id: int, pinned: bool) -> None:
    """The administration pins its own announcement to its recipients' home pages, or unpins it."""
    t = conn.execute("SELECT author_id FROM message_thread WHERE id = ?", (thread_id,)).fetchone()
    if t is None or not is_admin(user) or t["author_id"] != user.person_id:
        raise MessageError("Закрепить можно только своё объявление (это делает администрация школы).",
                           status_code=403)
    now = now_text()
    conn.execute("UPDATE message_thread SET pinned_at = ?, pinned_by = ? WHERE id = ?",
                 (now if pinned else None, user.person_id if pinned else None, thread_id))


def start_request(conn: sqlite3.Connection, author_id: int, subject: str, body: str, recipients: list[int],
                  student_id: int, purpose: str) -> int:
    """A family's request about a child (server/messages/requests.py decided who receives it)."""
    now = now_text()
    thread_id = _new_thread(conn, author_id, "person", clean_subject(subject), audience_of(conn, recipients),
                            recipients, now, student_id=student_id)
    conn.execute("UPDATE message_thread SET purpose = ? WHERE id = ?", (purpose, thread_id))
    _insert_message(conn, thread_id, author_id, None, clean_body(body), recipients, [], now)
    return thread_id


def audience_of(conn: sqlite3.Connection, people: list[int]) -> str:
    rows = conn.execute("SELECT last_name, first_name, middle_name FROM person WHERE id IN"
                        " (SELECT value FROM json_each(?)) ORDER BY last_name COLLATE RU", (json.dumps(people),)).fetchall()
    return ", ".join(fio(r) for r in rows)


def start_family_thread(conn: sqlite3.Connection, author_id: int, class_id: int, student_id: int,
                        parents: list[int], subject: str, body: str, audience: str, now: str) -> int:
    """One family's message from the class teacher (§3.3.4); the caller decided who the parents are."""
    thread_id = _new_thread(conn, author_id, "family", subject, audience, parents, now,
                            class_id=class_id, student_id=student_id)
    _insert_message(conn, thread_id, author_id, None, body, parents, [], now)
    return thread_id


def attachment_path(data_dir: Path, row) -> Path:
    return Path(data_dir) / row["file_path"]
