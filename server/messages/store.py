"""Threads and messages in SQL: sending, replying, reading, receipts, pins, attachments.

Who sees a message is written down when it is sent: one message_recipient row per person
it went to (read_at is their receipt). A person sees the messages they wrote or received,
in the threads they are a member of. In a thread to a person everyone sees everything;
in a thread to a group (a class's parents, all staff, a family) the author writes to all,
and every other member's reply goes to the author alone (`private_to`): a parent answering
a message to the class never writes to the other parents.
Message text is never logged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..accounts.store import User
from ..db import Database
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


# --- reading ----------------------------------------------------------------------------------

async def unread_count(db: Database, person_id: int) -> int:
    """Messages the person has received and not opened (one lookup in a partial index)."""
    return await db.fetchval(
        "SELECT count(*) FROM message_recipient WHERE person_id = ? AND read_at IS NULL", (person_id,))


async def threads_for(db: Database, person_id: int, limit: int = 200) -> list[sqlite3.Row]:
    """The person's threads, newest activity they can see first, with their unread count."""
    return await db.fetchall(
        f"""
        SELECT t.id, t.subject, t.kind, t.audience, t.author_id, t.pinned_at, t.created_at,
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
    )


async def thread(db: Database, person_id: int, thread_id: int) -> sqlite3.Row | None:
    """The thread if the person is one of its members, else None (the caller refuses)."""
    return await db.fetchone(
        f"""
        SELECT t.*, {PERSON_COLUMNS.format(a='a', p='')},
               (SELECT count(*) FROM thread_member WHERE thread_id = t.id) AS member_count
          FROM message_thread t JOIN person a ON a.id = t.author_id
         WHERE t.id = :t AND EXISTS (SELECT 1 FROM thread_member WHERE thread_id = :t AND person_id = :me)
        """,
        {"t": thread_id, "me": person_id},
    )


async def messages_of(db: Database, person_id: int, thread_id: int) -> list[dict]:
    """The messages of a thread the person may see, oldest first, each with its attachments and,
    for the person's own messages, who has read them and when."""
    params = {"t": thread_id, "me": person_id}
    rows = await db.fetchall(
        f"""
        SELECT m.id, m.author_id, m.private_to, m.body, m.created_at, r.read_at AS my_read_at,
               {PERSON_COLUMNS.format(a='a', p='')}, {PERSON_COLUMNS.format(a='pt', p='to_')}
          FROM message m
          JOIN person a ON a.id = m.author_id
          LEFT JOIN person pt ON pt.id = m.private_to
          LEFT JOIN message_recipient r ON r.message_id = m.id AND r.person_id = :me
         WHERE m.thread_id = :t AND (m.author_id = :me OR r.person_id IS NOT NULL)
         ORDER BY m.id
        """, params)
    out = {r["id"]: {**dict(r), "author": fio(r), "author_short": short_fio(r),
                     "to": short_fio(r, "to_") if r["private_to"] else None,
                     "attachments": [], "receipts": None} for r in rows}
    for f in await db.fetchall(
            "SELECT f.id, f.message_id, f.file_name, f.file_size FROM message_attachment f"
            " JOIN message m ON m.id = f.message_id WHERE m.thread_id = :t ORDER BY f.id", params):
        if f["message_id"] in out:
            out[f["message_id"]]["attachments"].append(dict(f))
    for r in await db.fetchall(
            f"""
            SELECT r.message_id, r.read_at, {PERSON_COLUMNS.format(a='p', p='')}
              FROM message_recipient r JOIN message m ON m.id = r.message_id JOIN person p ON p.id = r.person_id
             WHERE m.thread_id = :t AND m.author_id = :me
             ORDER BY r.read_at IS NULL, r.read_at, p.last_name, p.first_name
            """, params):
        receipts = out[r["message_id"]]["receipts"]
        if receipts is None:
            receipts = out[r["message_id"]]["receipts"] = {"read": [], "unread": []}
        (receipts["read"] if r["read_at"] else receipts["unread"]).append(
            {"name": short_fio(r), "read_at": r["read_at"]})
    return list(out.values())


async def writers_in(db: Database, thread_id: int, author_id: int) -> list[sqlite3.Row]:
    """Members who have written in the thread, for its author's «reply to one person» choice."""
    return await db.fetchall(
        f"SELECT DISTINCT p.id, {PERSON_COLUMNS.format(a='p', p='')} FROM message m JOIN person p ON p.id = m.author_id"
        " WHERE m.thread_id = ? AND m.author_id <> ? ORDER BY p.last_name, p.first_name", (thread_id, author_id))


async def mark_read(db: Database, person_id: int, thread_id: int) -> int:
    """Opening a thread reads everything in it that was sent to the person; no write if nothing is new."""
    unread = await db.fetchval(
        "SELECT count(*) FROM message_recipient r JOIN message m ON m.id = r.message_id"
        " WHERE r.person_id = ? AND r.read_at IS NULL AND m.thread_id = ?", (person_id, thread_id))
    if not unread:
        return 0

    async def run(conn) -> int:
        cur = await conn.execute(
            "UPDATE message_recipient SET read_at = ? WHERE person_id = ? AND read_at IS NULL"
            " AND message_id IN (SELECT id FROM message WHERE thread_id = ?)", (now_text(), person_id, thread_id))
        return cur.rowcount

    return await db.write(run)


async def pinned_for(db: Database, person_id: int, limit: int = 5) -> list[sqlite3.Row]:
    """Announcements pinned by the administration in threads the person belongs to."""
    return await db.fetchall(
        f"""
        SELECT t.id, t.subject, t.pinned_at, t.audience, {PERSON_COLUMNS.format(a='a', p='')},
               (SELECT body FROM message WHERE thread_id = t.id ORDER BY id LIMIT 1) AS body
          FROM thread_member tm JOIN message_thread t ON t.id = tm.thread_id JOIN person a ON a.id = t.author_id
         WHERE tm.person_id = ? AND t.pinned_at IS NOT NULL
         ORDER BY t.pinned_at DESC LIMIT ?
        """, (person_id, limit))


async def attachment(db: Database, person_id: int, attachment_id: int) -> sqlite3.Row | None:
    """An attachment the person may open: of a message they wrote or received."""
    return await db.fetchone(
        "SELECT f.* FROM message_attachment f JOIN message m ON m.id = f.message_id"
        " WHERE f.id = :f AND (m.author_id = :me OR EXISTS"
        "   (SELECT 1 FROM message_recipient r WHERE r.message_id = m.id AND r.person_id = :me))",
        {"f": attachment_id, "me": person_id})


async def last_family_round(db: Database, class_id: int) -> str | None:
    """When the class's families were last sent their grades (§3.3.4)."""
    return await db.fetchval(
        "SELECT max(created_at) FROM message_thread WHERE class_id = ? AND kind = 'family'", (class_id,))


# --- writing (each runs inside Database.write) --------------------------------------------------

Files = list[tuple[str, str, int]]  # (shown name, path under DATA, size)


async def _insert_message(conn, thread_id: int, author_id: int, private_to: int | None, body: str,
                          recipients: list[int], files: Files, now: str) -> int:
    cur = await conn.execute(
        "INSERT INTO message(thread_id, author_id, private_to, body, created_at) VALUES (?, ?, ?, ?, ?)",
        (thread_id, author_id, private_to, body, now))
    message_id = cur.lastrowid
    await conn.executemany("INSERT INTO message_recipient(message_id, person_id) VALUES (?, ?)",
                           [(message_id, p) for p in recipients])
    await conn.executemany(
        "INSERT INTO message_attachment(message_id, file_name, file_path, file_size) VALUES (?, ?, ?, ?)",
        [(message_id, name, path, size) for name, path, size in files])
    return message_id


async def _new_thread(conn, author_id: int, kind: str, subject: str, audience: str, members: list[int],
                      now: str, class_id: int | None = None, student_id: int | None = None,
                      pinned: bool = False) -> int:
    cur = await conn.execute(
        "INSERT INTO message_thread(subject, kind, class_id, student_id, author_id, audience, created_at,"
        " pinned_at, pinned_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (subject, kind, class_id, student_id, author_id, audience, now, now if pinned else None,
         author_id if pinned else None))
    thread_id = cur.lastrowid
    await conn.executemany("INSERT INTO thread_member(thread_id, person_id) VALUES (?, ?)",
                           [(thread_id, p) for p in dict.fromkeys([author_id, *members])])
    return thread_id


async def start_thread(conn, user: User, kind: str, target: int | None, subject: str, body: str,
                       files: Files = (), pin: bool = False) -> int:
    """A new thread with its first message; the audience is checked against the allowed set here."""
    subject, body = clean_subject(subject), clean_body(body)
    if pin and not is_admin(user):
        raise MessageError("Закреплять объявления может только администрация школы.")
    recipients, audience, class_id = await resolve(conn, user, kind, target)
    recipients = [p for p in dict.fromkeys(recipients) if p != user.person_id]
    if not recipients:
        raise MessageError("Получателей нет: ни у кого из них пока нет учётной записи с согласием на обработку данных.")
    now = now_text()
    thread_id = await _new_thread(conn, user.person_id, kind, subject, audience, recipients, now,
                                  class_id=class_id, pinned=pin)
    await _insert_message(conn, thread_id, user.person_id, None, body, recipients, list(files), now)
    return thread_id


async def reply(conn, user: User, thread_id: int, body: str, to_person_id: int | None = None,
                files: Files = ()) -> int:
    """A reply in a thread the person belongs to; returns the message id."""
    body = clean_body(body)
    t = await (await conn.execute("SELECT * FROM message_thread WHERE id = ?", (thread_id,))).fetchone()
    members = [r[0] for r in await (await conn.execute(
        "SELECT person_id FROM thread_member WHERE thread_id = ?", (thread_id,))).fetchall()]
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
    return await _insert_message(conn, thread_id, me, private, body, recipients, list(files), now_text())


async def set_pinned(conn, user: User, thread_id: int, pinned: bool) -> None:
    """The administration pins its own announcement to its recipients' home pages, or unpins it."""
    t = await (await conn.execute("SELECT author_id FROM message_thread WHERE id = ?", (thread_id,))).fetchone()
    if t is None or not is_admin(user) or t["author_id"] != user.person_id:
        raise MessageError("Закрепить можно только своё объявление (это делает администрация школы).")
    now = now_text()
    await conn.execute("UPDATE message_thread SET pinned_at = ?, pinned_by = ? WHERE id = ?",
                       (now if pinned else None, user.person_id if pinned else None, thread_id))


async def start_family_thread(conn, author_id: int, class_id: int, student_id: int, parents: list[int],
                              subject: str, body: str, audience: str, now: str) -> int:
    """One family's message from the class teacher (§3.3.4); the caller decided who the parents are."""
    thread_id = await _new_thread(conn, author_id, "family", subject, audience, parents, now,
                                  class_id=class_id, student_id=student_id)
    await _insert_message(conn, thread_id, author_id, None, body, parents, [], now)
    return thread_id


def attachment_path(data_dir: Path, row) -> Path:
    return Path(data_dir) / row["file_path"]
