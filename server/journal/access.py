"""Who may read a journal and who may write into it — decided here and nowhere else.

- Read (§2.1, §3.3.1): the administration (director, deputy, sysadmin) every journal; a
  teacher the journals they teach, the ones they gave a lesson in as a substitute, and every
  journal of the class they lead. Never students or parents (the routes' guard already
  keeps them out).
- Write: the journal's teacher and the deputy ("keepers"); a substitute only the lesson they
  gave (§3.4.4: its cells, topic and homework — not its status, not period grades, not the КТП).
- Closed: an archived journal answers 404 (it is gone from the school's lists); a journal of
  a closed year is read-only for everyone, and so is the journal of a teacher who left (their
  account disabled) until the load is handed to another teacher. A closed study period changes only by the deputy,
  with a reason that goes into the ledger (§3.2.7).

Every write function of a journal (writes.py, planning/writes.py) calls `for_writer` first,
inside its own transaction: the journal, its teacher and its year are read where the change
is written, so access decided a moment earlier on a journal since archived or handed to
another teacher is never used. GET handlers get their journal from the `journal_for_reader`
dependency (`dependencies=READ`, `info: Readable`)."""

from __future__ import annotations

import sqlite3

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from ..errors import Forbidden, NotFound
from ..school.structure import JOURNAL_JOINS, JOURNAL_TITLE_SQL
from .rules import JournalError, ReasonRequired
from .store import JournalInfo, closed_period, journal_info

# Who may open journal pages at all (§2.1: never students or parents) and who may send writes;
# which journal is then decided per row below.
READERS = {"roles": {"director", "deputy", "sysadmin", "teacher", "class_teacher"}}
WRITERS = {"roles": {"deputy", "teacher"}}
ADMIN_READ = ("director", "deputy", "sysadmin")
CLOSED_EDITOR = "deputy"   # after a period is closed, only the deputy changes it, with a reason

NO_JOURNAL = "Такого журнала нет."
NOT_YOURS = "Это не ваш журнал: его ведёт другой учитель."
WRITERS_ONLY = "Записи в этот журнал вносит его учитель (или учитель на замене этого урока)."
CLOSED = "Журнал закрыт для изменений."
TEACHER_LEFT = ("Учитель этого журнала больше не работает в школе (учётная запись отключена): журнал открыт только "
                "для чтения, пока нагрузку не передадут другому учителю на странице «Нагрузка».")
# What only the journal's teacher and the deputy do, each said in its own words.
STATUS_KEEPERS = "Замену и пропуск урока отмечает учитель журнала или заместитель директора."
PERIOD_GRADE_KEEPERS = "Итоговую отметку ставит учитель журнала или заместитель директора."
PLAN_KEEPERS = "КТП журнала ведёт его учитель или заместитель директора."


def keeps(user, journal) -> bool:
    """The journal's teacher or the deputy: may write all of it (`journal`: a JournalInfo or
    a journal row)."""
    row = journal.row if isinstance(journal, JournalInfo) else journal
    return user.has("deputy") or row["teacher_id"] == user.person_id


def may_write_lesson(user, info: JournalInfo, substitute_id: int | None) -> bool:
    """A keeper, or the substitute who gave this lesson (`substitute_id`: the lesson's)."""
    return keeps(user, info) or (substitute_id is not None and substitute_id == user.person_id)


def is_closed(info: JournalInfo) -> bool:
    return bool(info.row["archived_at"]) or info.row["year_status"] == "closed" or bool(info.row["year_closed_at"])


def readable_sql(user) -> tuple[str, dict]:
    """The read rule as an SQL condition over `journal j` (with JOURNAL_JOINS' `g`)."""
    if user.has(*ADMIN_READ):
        return "1", {}
    return ("""(j.teacher_id = :p
                OR j.id IN (SELECT journal_id FROM lesson WHERE substitute_id = :p)
                OR j.class_id IN (SELECT id FROM class WHERE class_teacher_id = :p)
                OR g.class_id IN (SELECT id FROM class WHERE class_teacher_id = :p))""", {"p": user.person_id})


def journals_for(conn: sqlite3.Connection, user, year_id: int) -> list[sqlite3.Row]:
    """The journals of a year the person may open, their own first (`mine`)."""
    where, params = readable_sql(user)
    return conn.execute(
        f"""
        SELECT j.*, {JOURNAL_TITLE_SQL}, j.teacher_id = :me AS mine
          FROM journal j {JOURNAL_JOINS}
         WHERE j.year_id = :year AND j.archived_at IS NULL AND {where}
         ORDER BY j.teacher_id <> :me, coalesce(c.parallel, 99), coalesce(c.letter, g.name), s.name COLLATE RU
        """,
        {"year": year_id, "me": user.person_id, **params},
    ).fetchall()


def may_read(conn: sqlite3.Connection, user, info: JournalInfo) -> bool:
    if user.has(*ADMIN_READ) or info.row["teacher_id"] == user.person_id:
        return True
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM lesson WHERE journal_id = :j AND substitute_id = :p)"
        " OR EXISTS (SELECT 1 FROM class WHERE id = :c AND class_teacher_id = :p)",
        {"j": info.id, "p": user.person_id, "c": info.row["home_class_id"]}).fetchone()
    return bool(row[0])


def journal(conn: sqlite3.Connection, journal_id: int) -> JournalInfo:
    """The journal, or 404: none, or archived."""
    info = journal_info(conn, journal_id)
    if info is None or info.row["archived_at"]:
        raise NotFound(NO_JOURNAL)
    return info


def for_reader(conn: sqlite3.Connection, user, journal_id: int) -> JournalInfo:
    """The journal if this person may read it: 404 if there is none, 403 if not theirs."""
    info = journal(conn, journal_id)
    if not may_read(conn, user, info):
        raise Forbidden(NOT_YOURS)
    return info


def for_writer(conn: sqlite3.Connection, user, journal_id: int, day: str | None = None,
               number: int | None = None, *, refusal: str = WRITERS_ONLY) -> JournalInfo:
    """The journal if this person may write into it — into the lesson (`day`, `number`) when
    given (its substitute may), else into the whole journal (keepers only, told `refusal`).
    404 / 403 as for_reader, 403 with `refusal`; a closed journal is a JournalError (400)."""
    info = for_upload(conn, user, journal_id, day, number, refusal)
    if is_closed(info):
        raise JournalError(CLOSED)
    if info.row["teacher_left"]:
        # A teacher who left (server/school/people.staff_leaves): their record stays as they left
        # it until the load is handed over — then the new teacher writes on.
        raise JournalError(TEACHER_LEFT)
    return info


def for_upload(conn: sqlite3.Connection, user, journal_id: int, day: str | None = None, number: int | None = None,
               refusal: str = WRITERS_ONLY) -> JournalInfo:
    """for_writer without refusing a closed journal: a handler turns a stranger away with it
    before reading their upload; the write that follows decides again, closed journal and all,
    in its own transaction."""
    info = for_reader(conn, user, journal_id)
    if not keeps(user, info):
        given = day is not None and number is not None and conn.execute(
            "SELECT 1 FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ? AND substitute_id = ?",
            (info.id, day, number, user.person_id)).fetchone()
        if not given:
            raise Forbidden(refusal)
    return info


def check_period_open(conn: sqlite3.Connection, user, info: JournalInfo, day: str, reason: str) -> None:
    """A closed study period (of the journal's kind, or the year) changes only by the deputy,
    with a reason (ReasonRequired: the grid then asks for one)."""
    if closed_period(conn, info, day) is not None:
        check_closed_change(user, reason, "Учебный период закрыт: изменить записи может только заместитель директора.")


def check_closed_change(user, reason: str, refusal: str) -> None:
    if not user.has(CLOSED_EDITOR):
        raise JournalError(refusal)
    if not reason.strip():
        raise ReasonRequired("Период закрыт: укажите причину изменения.")


def lesson_rights(user, info: JournalInfo, lesson, closed) -> dict:
    """What the lesson panel offers: the topic and homework forms (`can_write`), the status
    form (`can_set_status`). In a closed period only the deputy, with a reason."""
    open_ = not closed or user.has(CLOSED_EDITOR)
    return {"can_write": open_ and may_write_lesson(user, info, lesson["substitute_id"] if lesson else None),
            "can_set_status": open_ and keeps(user, info)}


async def journal_for_reader(request: Request, journal_id: FromPath[int]) -> JournalInfo:
    """Litestar dependency: the journal of the path, checked for the person reading it."""
    return await request.app.state.db.read(for_reader, request.state.user, journal_id)


# A GET handler declares `dependencies=READ` and takes `info: Readable`: the journal of its
# path, already checked for the person reading it.
READ = {"info": Provide(journal_for_reader)}
Readable = NamedDependency[JournalInfo]
