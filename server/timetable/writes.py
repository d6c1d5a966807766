"""The deputy's changes to the timetable of dates (§3.4.4 g), each one transaction with its
ledger entries:

- a staff member away from — to (`staff_absence`), and a substitute for each of their
  lessons, chosen from the teachers free at that lesson;
- a substitution or a cancellation of one lesson: the lesson's own row, written ahead of the
  day through the journal's one write path (journal/writes.set_lesson_status);
- a lesson moved to another day or lesson number, an extra lesson (`timetable_change`);
  undoing either.

Every function takes the user and reads the journal through journal/access.py inside its own
transaction (the deputy keeps every journal); who is free is read there too, so two changes
made at the same moment never put one teacher in two classes."""

from __future__ import annotations

import sqlite3
from datetime import date

from .. import ledger
from ..errors import NotFound, UserError
from ..journal import access
from ..journal import writes as journal_writes
from ..journal.rules import parse_day
from ..journal.store import JournalInfo, closed_period
from ..journal.writes import PERIOD_KIND_PLURAL, find_lesson, lesson_state
from ..timeutil import ru_date
from . import store

CHANGE_KEEPERS = "Расписание на даты меняет заместитель директора."


class TimetableError(UserError):
    """A change to the timetable that cannot be made; the message is Russian and says why."""


def _clean(text: str | None, limit: int = 200) -> str:
    return " ".join((text or "").split())[:limit]


def _when(day: str, number: int) -> str:
    return f"{ru_date(day)}, {number}-й урок"


def _name(conn: sqlite3.Connection, person_id: int) -> str:
    p = conn.execute("SELECT last_name, first_name, middle_name FROM person WHERE id = ?", (person_id,)).fetchone()
    return store.short_name(p["last_name"], p["first_name"], p["middle_name"]) if p else "?"


def _journal(conn: sqlite3.Connection, user, journal_id: int | None) -> JournalInfo:
    if journal_id is None:
        raise TimetableError("Выберите урок (предмет и класс).")
    if not user.has("deputy"):
        raise TimetableError(CHANGE_KEEPERS)
    return access.for_writer(conn, user, journal_id, refusal=CHANGE_KEEPERS)


# --- staff away and their substitutes ----------------------------------------------------------

def add_absence(conn: sqlite3.Connection, user, person_id: int | None, starts_on: str, ends_on: str,
                reason: str) -> int:
    """A teacher away from — to; their lessons then wait for substitutes (absence page)."""
    if not user.has("deputy"):
        raise TimetableError(CHANGE_KEEPERS)
    starts_on, ends_on = parse_day(starts_on), parse_day(ends_on)
    reason = _clean(reason)
    if person_id is None or not conn.execute(
            "SELECT 1 FROM person p JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id"
            " WHERE p.id = ? AND r.role IN ('teacher', 'staff', 'deputy', 'director', 'sysadmin')"
            " AND a.disabled_at IS NULL AND p.archived_at IS NULL", (person_id,)).fetchone():
        raise TimetableError("Выберите сотрудника школы.")
    if starts_on > ends_on:
        raise TimetableError("Дата окончания раньше даты начала.")
    if (date.fromisoformat(ends_on) - date.fromisoformat(starts_on)).days > 120:
        raise TimetableError("Отсутствие дольше 120 дней: разбейте его на части или передайте нагрузку другому учителю.")
    if not reason:
        raise TimetableError("Укажите причину (например, «болезнь», «курсы повышения квалификации»).")
    clash = conn.execute("SELECT starts_on, ends_on FROM staff_absence WHERE person_id = ? AND starts_on <= ?"
                         " AND ends_on >= ?", (person_id, ends_on, starts_on)).fetchone()
    if clash:
        raise TimetableError(f"Отсутствие этого сотрудника уже записано: {ru_date(clash['starts_on'])}–"
                             f"{ru_date(clash['ends_on'])}.")
    return ledger.insert(conn, user.account_id, "staff_absence",
                         {"person_id": person_id, "starts_on": starts_on, "ends_on": ends_on, "reason": reason})


def delete_absence(conn: sqlite3.Connection, user, absence_id: int) -> None:
    """The record of the absence goes; the substitutions already given stay on their lessons."""
    if not user.has("deputy"):
        raise TimetableError(CHANGE_KEEPERS)
    if not ledger.delete(conn, user.account_id, "staff_absence", absence_id):
        raise NotFound("Такой записи об отсутствии нет.")


def _check_free(conn: sqlite3.Connection, person_id: int, day: str, number: int, journal_id: int,
                taken: dict | None = None) -> None:
    """The substitute is at work that day and gives no other lesson then."""
    away = conn.execute("SELECT reason FROM staff_absence WHERE person_id = ? AND starts_on <= ? AND ends_on >= ?",
                        (person_id, day, day)).fetchone()
    if away:
        raise TimetableError(f"{_when(day, number)}: {_name(conn, person_id)} в этот день отсутствует "
                             f"({away['reason']}).")
    busy_now = (taken if taken is not None else store.busy(conn, day, day)).get((day, number), {})
    other = busy_now.get(person_id)
    if other is not None and not (other.journal_id == journal_id and other.number == number):
        raise TimetableError(f"{_when(day, number)}: у {_name(conn, person_id)} в это время урок — "
                             f"{other.journal['subject_name']}, {other.journal['target_name']}.")


def substitute(conn: sqlite3.Connection, user, journal_id: int | None, day: str, number: int,
               substitute_id: int | None, reason: str = "", taken: dict | None = None) -> None:
    """One lesson gets a substitute (None: its own teacher gives it again)."""
    info = _journal(conn, user, journal_id)
    day = parse_day(day)
    lesson = find_lesson(conn, info.id, day, number)
    if substitute_id is None:
        if lesson is not None and lesson["status"] == "substituted":
            journal_writes.set_lesson_status(conn, user, info.id, day, number, "held", None, "")
        return
    if lesson is not None and lesson["status"] == "substituted" and lesson["substitute_id"] == substitute_id:
        return
    if store.lesson_at(conn, info.id, day, number) is None:
        raise TimetableError(f"{_when(day, number)}: такого урока в расписании нет.")
    _check_free(conn, substitute_id, day, number, info.id, taken)
    journal_writes.set_lesson_status(conn, user, info.id, day, number, "substituted", substitute_id, _clean(reason))
    if taken is not None:
        taken.setdefault((day, number), {})[substitute_id] = store.lesson_at(conn, info.id, day, number)


def set_substitutes(conn: sqlite3.Connection, user, absence_id: int,
                    choices: dict[tuple[int, str, int], int | None]) -> int:
    """The absence page's form: for each lesson of the teacher away (journal, date, number) its
    substitute or None, all in one transaction. Returns how many lessons changed."""
    a = store.absence(conn, absence_id)
    if a is None:
        raise NotFound("Такой записи об отсутствии нет.")
    page = store.absence_page(conn, absence_id)
    taken = store.busy(conn, a["starts_on"], a["ends_on"])
    changed = 0
    for x in page["lessons"]:
        key = (x.journal_id, x.date, x.number)
        if key not in choices or x.status == "cancelled":
            continue
        wanted = choices[key]
        if wanted == x.substitute_id:
            continue
        if x.substitute_id is not None:
            # The one who had it is free again for the rest of this form.
            taken.get((x.date, x.number), {}).pop(x.substitute_id, None)
        substitute(conn, user, x.journal_id, x.date, x.number, wanted, a["reason"], taken)
        changed += 1
    return changed


def cancel(conn: sqlite3.Connection, user, journal_id: int | None, day: str, number: int, reason: str) -> None:
    """The lesson will not take place (with the reason families see)."""
    info = _journal(conn, user, journal_id)
    day = parse_day(day)
    if store.lesson_at(conn, info.id, day, number) is None:
        raise TimetableError(f"{_when(day, number)}: такого урока в расписании нет.")
    journal_writes.set_lesson_status(conn, user, info.id, day, number, "cancelled", None, _clean(reason))


def restore(conn: sqlite3.Connection, user, journal_id: int | None, day: str, number: int) -> None:
    """A cancelled (or substituted) lesson is given by its own teacher again."""
    info = _journal(conn, user, journal_id)
    day = parse_day(day)
    lesson = find_lesson(conn, info.id, day, number)
    if lesson is not None and lesson["status"] != "held":
        journal_writes.set_lesson_status(conn, user, info.id, day, number, "held", None, "")


# --- moved and extra lessons -------------------------------------------------------------------

def _check_target(conn: sqlite3.Connection, info: JournalInfo, day: str, number: int, moving=None) -> None:
    """A lesson of this journal may be put on (day, number): a school day of a study period,
    the journal has no lesson then, its teacher and its students are free."""
    if not 0 <= number <= 12:
        raise TimetableError("Номер урока: от 0 до 12.")
    when = _when(day, number)
    if not info.year_start <= day <= info.year_end:
        raise TimetableError(f"{ru_date(day)} — вне учебного года.")
    if info.is_holiday(day):
        raise TimetableError(f"{ru_date(day)} — каникулы: уроков нет.")
    if date.fromisoformat(day).isoweekday() == 7:
        raise TimetableError(f"{ru_date(day)} — воскресенье.")
    if not conn.execute("SELECT 1 FROM study_period WHERE year_id = ? AND kind = ? AND starts_on <= ? AND ends_on >= ?",
                        (info.row["year_id"], info.period_kind, day, day)).fetchone():
        raise TimetableError(f"{ru_date(day)} — вне учебных {PERIOD_KIND_PLURAL.get(info.period_kind, 'периодов')}.")
    if closed_period(conn, info, day):
        raise TimetableError(f"{ru_date(day)}: учебный период закрыт.")
    at_target = [x for x in store.dated_lessons(conn, day, day).lessons if x.number == number]
    if any(x.journal_id == info.id for x in at_target):
        raise TimetableError(f"{when}: у этого класса (группы) уже стоит этот урок.")
    others = [x for x in at_target if x.status != "cancelled" and x is not moving]
    teacher = info.row["teacher_id"]
    for x in others:
        if x.given_by == teacher:
            raise TimetableError(f"{when}: у учителя в это время урок — {x.journal['subject_name']}, "
                                 f"{x.journal['target_name']}.")
    for x in others:
        clash = _students_clash(conn, info.id, x.journal_id, day)
        if clash:
            raise TimetableError(f"{when}: {clash} уже урок — {x.journal['subject_name']}, {x.journal['target_name']}.")


def _students_clash(conn: sqlite3.Connection, mine: int, other: int, day: str) -> str | None:
    """Whether two journals' lessons at one time would take the same students (a whole class
    and anything of that class, or shared group members on `day`)."""
    rows = conn.execute("SELECT j.id, j.class_id, g.class_id AS group_class FROM journal j"
                        " LEFT JOIN study_group g ON g.id = j.group_id WHERE j.id IN (?, ?)", (mine, other)).fetchall()
    a, b = (next(r for r in rows if r["id"] == k) for k in (mine, other))
    classes_a, classes_b = {a["class_id"], a["group_class"]} - {None}, {b["class_id"], b["group_class"]} - {None}
    if classes_a & classes_b and (a["class_id"] or b["class_id"]):
        return "у класса"
    members = """
        SELECT e.student_id FROM journal jj JOIN enrollment e ON e.class_id = jj.class_id
         WHERE jj.id = :j AND e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)
        UNION
        SELECT m.student_id FROM journal jj JOIN group_member m ON m.group_id = jj.group_id
         WHERE jj.id = :j AND m.from_date <= :d AND (m.to_date IS NULL OR m.to_date >= :d)"""
    n = conn.execute(f"SELECT count(*) FROM ({members.replace(':j', ':a')}) x WHERE x.student_id IN"
                     f" ({members.replace(':j', ':b')})", {"a": mine, "b": other, "d": day}).fetchone()[0]
    return f"у {n} учащихся" if n else None


def _movable(conn: sqlite3.Connection, lesson: sqlite3.Row | None, what: str) -> None:
    if lesson is not None and conn.execute(
            "SELECT 1 FROM grade WHERE lesson_id = ? UNION ALL SELECT 1 FROM attendance WHERE lesson_id = ?",
            (lesson["id"], lesson["id"])).fetchone():
        raise TimetableError(f"На уроке уже есть отметки или посещаемость: {what} нельзя.")


def _move_row(conn: sqlite3.Connection, user, lesson: sqlite3.Row | None, day: str, number: int,
              reason: str) -> None:
    """The recorded lesson (topic, homework, a planned substitution) goes with it."""
    if lesson is None:
        return
    old = lesson_state(lesson)
    conn.execute("UPDATE lesson SET date = ?, lesson_number = ? WHERE id = ?", (day, number, lesson["id"]))
    ledger.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", old,
                  {**old, "date": day, "lesson_number": number}, reason)


def move(conn: sqlite3.Connection, user, journal_id: int | None, day: str, number: int, to_day: str,
         to_number: int | None, room: str, reason: str) -> int | None:
    """The lesson of (day, number) is given on (to_day, to_number) instead. Returns the change's
    id (None: a lesson moved back to where the weekly timetable has it)."""
    info = _journal(conn, user, journal_id)
    day, to_day = parse_day(day), parse_day(to_day)
    reason, room = _clean(reason), _clean(room, 20)
    if to_number is None:
        raise TimetableError("Укажите номер урока, на который переносится урок.")
    if (day, number) == (to_day, to_number):
        raise TimetableError("Урок уже стоит на этом месте.")
    if not reason:
        raise TimetableError("Укажите причину переноса.")
    source = store.lesson_at(conn, info.id, day, number)
    if source is None:
        raise TimetableError(f"{_when(day, number)}: такого урока в расписании нет.")
    if source.status == "cancelled":
        raise TimetableError(f"{_when(day, number)}: урок отменён — сначала верните его.")
    if closed_period(conn, info, day):
        raise TimetableError(f"{ru_date(day)}: учебный период закрыт.")
    lesson = find_lesson(conn, info.id, day, number)
    _movable(conn, lesson, "перенести его")
    _check_target(conn, info, to_day, to_number, moving=source)
    if source.substitute_id is not None:
        _check_free(conn, source.substitute_id, to_day, to_number, info.id)
    room = room or source.room
    change = source.change
    if change is not None and change["from_date"] == to_day and change["from_number"] == to_number:
        # Back where the weekly timetable has it: the change goes.
        ledger.delete(conn, user.account_id, "timetable_change", change["id"], reason)
        _move_row(conn, user, lesson, to_day, to_number, reason)
        return None
    if change is not None:
        ledger.update(conn, user.account_id, "timetable_change", change["id"],
                      {"date": to_day, "lesson_number": to_number, "room": room,
                       "reason": reason if change["from_date"] else change["reason"]}, reason)
        change_id = change["id"]
    else:
        change_id = ledger.insert(conn, user.account_id, "timetable_change", {
            "journal_id": info.id, "date": to_day, "lesson_number": to_number, "from_date": day, "from_number": number,
            "room": room, "reason": reason}, reason)
    _move_row(conn, user, lesson, to_day, to_number, reason)
    return change_id


def add_extra(conn: sqlite3.Connection, user, journal_id: int | None, day: str, number: int | None, room: str,
              reason: str) -> int:
    """An extra lesson of the journal on (day, number), with its reason."""
    info = _journal(conn, user, journal_id)
    day = parse_day(day)
    reason = _clean(reason)
    if number is None:
        raise TimetableError("Укажите номер урока.")
    if not reason:
        raise TimetableError("Укажите причину дополнительного урока (например, «консультация перед ВПР»).")
    _check_target(conn, info, day, number)
    return ledger.insert(conn, user.account_id, "timetable_change", {
        "journal_id": info.id, "date": day, "lesson_number": number, "from_date": None, "from_number": None,
        "room": _clean(room, 20), "reason": reason}, reason)


def undo(conn: sqlite3.Connection, user, change_id: int) -> None:
    """A moved lesson goes back to where the weekly timetable has it; an extra lesson goes."""
    change = conn.execute("SELECT * FROM timetable_change WHERE id = ?", (change_id,)).fetchone()
    if change is None:
        raise NotFound("Такого изменения расписания нет.")
    info = _journal(conn, user, change["journal_id"])
    day, number = change["date"], change["lesson_number"]
    if closed_period(conn, info, day):
        raise TimetableError(f"{ru_date(day)}: учебный период закрыт.")
    lesson = find_lesson(conn, info.id, day, number)
    reason = "изменение расписания отменено"
    if change["from_date"]:
        _movable(conn, lesson, "вернуть его на прежнее место")
        if find_lesson(conn, info.id, change["from_date"], change["from_number"]) is not None:
            raise TimetableError(f"{_when(change['from_date'], change['from_number'])}: место уже занято записью урока.")
        ledger.delete(conn, user.account_id, "timetable_change", change_id, reason)
        _move_row(conn, user, lesson, change["from_date"], change["from_number"], reason)
        return
    if lesson is not None:
        if lesson["topic"] or conn.execute(
                "SELECT 1 FROM grade WHERE lesson_id = :l UNION ALL SELECT 1 FROM attendance WHERE lesson_id = :l"
                " UNION ALL SELECT 1 FROM homework WHERE lesson_id = :l", {"l": lesson["id"]}).fetchone():
            raise TimetableError("На дополнительном уроке уже есть записи: его можно только отменить "
                                 "(урок не состоялся).")
        ledger.delete(conn, user.account_id, "lesson", lesson["id"], reason)
    ledger.delete(conn, user.account_id, "timetable_change", change_id, reason)
