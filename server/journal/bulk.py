"""Bulk writes to the journal: many new records in one transaction — the demo school's
first quarter (~100 000 lessons, grades, marks and homework), later imports and big
generated schools. writes.py reads and records one change at a time (several queries per
cell, and ledger.record reads the previous hash each time): right for a teacher typing,
far too slow for a hundred thousand records.

The contract is writes.py's: the same rules (access.py's who, rules.py's what), checked here
in set-based form against what `Context.load` reads once (the journals as store.JournalInfo,
their members, accounts and roles, work types, КТП items, study periods) and one query per
call for records already there; then executemany, and in the same transaction
ledger.record_many appends a ledger entry per record, with writes.py's keys and state shapes
(ledger.TABLES), so that `zhurnal audit verify` holds.

Only additions: every record must be new (its old state is none); changing and deleting
go through writes.py one by one. A closed period is refused outright (a change there needs
the deputy and a reason, one by one). Each row names the account that makes it, which must
be allowed to (the journal's teacher and the deputy; for cells and homework also the
lesson's substitute), and may carry `at`: a generator of past data (the demo) dates its
entries, everyone else leaves it None (now). Any refused row refuses the whole call with its JournalError, before
anything is written."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from .. import clock, ledger
from ..accounts.store import User
from . import access
from .rules import ABSENT, ATTENDANCE, GRADES, MAX_GRADES_PER_CELL, PERIOD_GRADES, JournalError, check_topic
from .store import JournalInfo
from .writes import check_day, lesson_state


@dataclass
class PlanItemIn:
    journal_id: int
    number: int
    topic: str
    hours: float = 1
    planned_date: str | None = None
    planned_week: int | None = None
    work_type: str = "lesson"
    account_id: int | None = None   # the journal's teacher or the deputy
    at: str | None = None


@dataclass
class LessonIn:
    journal_id: int
    date: str
    number: int
    topic: str
    account_id: int
    work_type: str = "lesson"
    plan_item_id: int | None = None
    status: str = "held"
    substitute_id: int | None = None
    status_reason: str = ""
    at: str | None = None


@dataclass
class CellIn:
    """What set_cell would leave in a cell: an attendance mark and/or grades (value, work type)."""

    lesson_id: int
    student_id: int
    account_id: int
    mark: str | None = None
    grades: list[tuple[str, str]] = field(default_factory=list)
    at: str | None = None


@dataclass
class HomeworkIn:
    lesson_id: int
    text: str
    minutes: int | None
    account_id: int
    at: str | None = None


@dataclass
class RegisterIn:
    """«Посещаемость отмечена» on a lesson, as set_register records it."""

    lesson_id: int
    account_id: int
    at: str | None = None


@dataclass
class PeriodGradeIn:
    journal_id: int
    period_id: int
    student_id: int
    value: str
    account_id: int
    at: str | None = None


@dataclass
class Context:
    """What the rules need, read once inside the write transaction."""

    infos: dict[int, JournalInfo]
    today: str
    members: dict[int, dict[int, list[tuple[str, str | None]]]]   # journal → student → [(from, to)]
    accounts: dict[int, User]                                      # account → its person and stored roles
    teachers: set[int]                                             # persons with a teacher account
    work_types: dict[str, bool]                                    # code → is_control
    plan_items: dict[int, int]                                     # plan item → journal
    periods: dict[int, sqlite3.Row]
    closed: list[sqlite3.Row] = field(default_factory=list)

    @classmethod
    def load(cls, conn, infos: dict[int, JournalInfo], today: str | None = None) -> Context:
        """`infos`: the journals to write to, as store.journal_info gives them."""
        enrolled: dict[int, list[tuple]] = {}
        for r in _all(conn, "SELECT class_id, student_id, from_date, to_date FROM enrollment"):
            enrolled.setdefault(r[0], []).append(tuple(r)[1:])
        grouped: dict[int, list[tuple]] = {}
        for r in _all(conn, "SELECT group_id, student_id, from_date, to_date FROM group_member"):
            grouped.setdefault(r[0], []).append(tuple(r)[1:])
        members: dict[int, dict[int, list]] = {}
        for jid, info in infos.items():
            rows = (enrolled.get(info.row["class_id"], []) if info.row["class_id"]
                    else grouped.get(info.row["group_id"], []))
            by_student = members.setdefault(jid, {})
            for student, a, b in rows:
                by_student.setdefault(student, []).append((a, b))
        accounts: dict[int, User] = {}
        teachers = set()
        for r in _all(conn, "SELECT a.id, a.person_id, group_concat(r.role) FROM account a"
                            " LEFT JOIN account_role r ON r.account_id = a.id"
                            " WHERE a.disabled_at IS NULL GROUP BY a.id"):
            roles = frozenset((r[2] or "").split(","))
            accounts[r[0]] = User(r[0], r[1], "", "", "", "", roles)
            if "teacher" in roles:
                teachers.add(r[1])
        return cls(
            infos=infos, today=today or clock.today().isoformat(), members=members, accounts=accounts,
            teachers=teachers,
            work_types={r[0]: bool(r[1]) for r in _all(conn, "SELECT code, is_control FROM work_type")},
            plan_items={r[0]: r[1] for r in _all(conn, "SELECT id, journal_id FROM plan_item")},
            periods={r["id"]: r for r in _all(conn, "SELECT * FROM study_period")},
            closed=_all(conn, "SELECT * FROM study_period WHERE closed_at IS NOT NULL"))

    # --- the rules of writes.py, per row, on the preloaded state ---------------------------

    def journal(self, journal_id: int) -> JournalInfo:
        info = self.infos.get(journal_id)
        if info is None:
            raise JournalError(access.NO_JOURNAL)
        if access.is_closed(info):
            raise JournalError(access.CLOSED)
        return info

    def check_writer(self, account_id: int | None, info: JournalInfo, substitute_id: int | None = None,
                     refusal: str = access.WRITERS_ONLY) -> None:
        """access.may_write_lesson (access.keeps without a substitute) for the row's account."""
        user = self.accounts.get(account_id)
        if user is None or not access.may_write_lesson(user, info, substitute_id):
            raise JournalError(refusal)

    def check_open(self, info: JournalInfo, day: str) -> None:
        """No bulk writes into a closed period: there only the deputy changes, with a reason."""
        for p in self.closed:
            if (p["year_id"] == info.row["year_id"] and p["kind"] in (info.period_kind, "year")
                    and p["starts_on"] <= day <= p["ends_on"] and p["closed_at"]):
                raise JournalError("Учебный период закрыт: изменить записи может только заместитель директора.")

    def is_member(self, info: JournalInfo, student_id: int, day: str) -> bool:
        return any(a <= day and (b is None or b >= day)
                   for a, b in self.members.get(info.id, {}).get(student_id, ()))

    def work_type(self, code: str) -> None:
        if code not in self.work_types:
            raise JournalError("Неизвестный вид работы.")


def _unique(keys, what: str) -> None:
    doubled = [k for k, n in Counter(keys).items() if n > 1]
    if doubled:
        raise JournalError(f"{what} {doubled[0]} встречается дважды.")


def _all(conn, sql: str, params=()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _one(conn, sql: str, params=()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _next_id(conn, table: str) -> int:
    return (_one(conn, f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))[0]


def add_plan_items(conn, ctx: Context, rows: list[PlanItemIn]) -> list[int]:
    """КТП items of journals, as planning/writes.py records them; their ids in order."""
    if not rows:
        return []
    for r in rows:
        ctx.check_writer(r.account_id, ctx.journal(r.journal_id), refusal=access.PLAN_KEEPERS)
        check_topic(r.topic)
        ctx.work_type(r.work_type)
        if not r.number > 0 or not r.hours > 0:
            raise JournalError("Номер и часы темы КТП — положительные числа.")
    _unique([(r.journal_id, r.number) for r in rows], "Тема КТП")
    first = _next_id(conn, "plan_item")
    ids = list(range(first, first + len(rows)))
    values = [{"id": i, "journal_id": r.journal_id, "number": r.number, "topic": " ".join(r.topic.split()),
               "hours": float(r.hours), "planned_date": r.planned_date, "planned_week": r.planned_week,
               "work_type": r.work_type} for i, r in zip(ids, rows)]
    conn.executemany(
        "INSERT INTO plan_item(id, journal_id, number, topic, hours, planned_date, planned_week, work_type)"
        " VALUES (:id, :journal_id, :number, :topic, :hours, :planned_date, :planned_week, :work_type)", values)
    # The history on the plan page shows one action per journal, as a file's import would be.
    counts = Counter(r.journal_id for r in rows)
    shape = ledger.TABLES["plan_item"]
    ledger.record_many(conn, [(r.at, r.account_id, "plan_item", shape.key_of(v), None, shape.state_of(v),
                               f"Загружено тем: {counts[r.journal_id]}") for r, v in zip(rows, values)])
    ctx.plan_items.update((i, r.journal_id) for i, r in zip(ids, rows))
    return ids


def add_lessons(conn, ctx: Context, rows: list[LessonIn]) -> dict[tuple[int, str, int], int]:
    """New lessons as save_lesson / set_lesson_status leave them; → {(journal, date, number): id}."""
    if not rows:
        return {}
    states = []
    for r in rows:
        info = ctx.journal(r.journal_id)
        ctx.check_writer(r.account_id, info)
        check_day(info, r.date, r.number, None, today=None)
        ctx.check_open(info, r.date)
        topic = "" if r.status == "cancelled" and not r.topic.strip() else check_topic(r.topic)
        ctx.work_type(r.work_type)
        if r.plan_item_id is not None and ctx.plan_items.get(r.plan_item_id) != r.journal_id:
            raise JournalError("Такой темы нет в КТП этого журнала.")
        if r.status not in ("held", "substituted", "cancelled"):
            raise JournalError("Неизвестное состояние урока.")
        substitute = r.substitute_id if r.status == "substituted" else None
        if r.status == "substituted" and (substitute is None or substitute == info.row["teacher_id"]
                                          or substitute not in ctx.teachers):
            raise JournalError("Замену может провести только учитель — не учитель этого журнала.")
        reason = " ".join(r.status_reason.split())[:200]
        if r.status == "cancelled" and not reason:
            raise JournalError("Укажите причину, по которой урок не состоялся.")
        states.append({"journal_id": r.journal_id, "date": r.date, "lesson_number": r.number, "topic": topic,
                       "work_type": r.work_type, "plan_item_id": r.plan_item_id, "status": r.status,
                       "substitute_id": substitute, "status_reason": reason})
    keys = [(s["journal_id"], s["date"], s["lesson_number"]) for s in states]
    _unique(keys, "Урок")
    journals = {k[0] for k in keys}
    existing = {tuple(x) for x in _all(
        conn, "SELECT journal_id, date, lesson_number FROM lesson WHERE date BETWEEN ? AND ?",
        (min(k[1] for k in keys), max(k[1] for k in keys))) if x[0] in journals}
    if existing & set(keys):
        raise JournalError("Урок уже записан: изменения вносятся по одному.")
    first = _next_id(conn, "lesson")
    ids = list(range(first, first + len(rows)))
    conn.executemany(
        "INSERT INTO lesson(id, journal_id, date, lesson_number, topic, work_type, plan_item_id, status,"
        " substitute_id, status_reason) VALUES (:id, :journal_id, :date, :lesson_number, :topic, :work_type,"
        " :plan_item_id, :status, :substitute_id, :status_reason)",
        [{"id": i, **s} for i, s in zip(ids, states)])
    ledger.record_many(conn, [(r.at, r.account_id, "lesson", f"lesson:{i}", None, lesson_state(s), "")
                                   for i, r, s in zip(ids, rows, states)])
    return dict(zip(keys, ids))


def _lessons(conn, ctx: Context, lesson_ids) -> dict[int, sqlite3.Row]:
    ids = set(lesson_ids)
    found = {r["id"]: r for r in _all(
        conn, "SELECT id, journal_id, date, lesson_number, status, substitute_id FROM lesson WHERE id BETWEEN ? AND ?",
        (min(ids), max(ids))) if r["id"] in ids}
    if len(found) != len(ids):
        raise JournalError("Такого урока нет.")
    return found


def add_cells(conn, ctx: Context, rows: list[CellIn]) -> int:
    """Grades and attendance marks of empty cells, as set_cell would write them; → records added."""
    if not rows:
        return 0
    lessons = _lessons(conn, ctx, (r.lesson_id for r in rows))
    # What holds for a whole lesson is checked once per lesson; the rest per cell.
    checked: dict[int, JournalInfo] = {}
    writers: set[tuple[int, int]] = set()
    for lesson in lessons.values():
        info = checked[lesson["id"]] = ctx.journal(lesson["journal_id"])
        check_day(info, lesson["date"], lesson["lesson_number"], lesson, today=ctx.today)
        ctx.check_open(info, lesson["date"])
        if lesson["status"] == "cancelled":
            raise JournalError("Урок не состоялся: отметки и посещаемость не ставятся.")
    for r in rows:
        lesson = lessons[r.lesson_id]
        info = checked[r.lesson_id]
        if (r.account_id, r.lesson_id) not in writers:
            ctx.check_writer(r.account_id, info, lesson["substitute_id"])
            writers.add((r.account_id, r.lesson_id))
        day = lesson["date"]
        if not (r.mark or r.grades):
            raise JournalError("Пустая клетка: записывать нечего.")
        if r.mark is not None and r.mark not in ATTENDANCE:
            raise JournalError("Отметка посещаемости: Н, Б, У или ОП.")
        values = [v for v, _ in r.grades]
        if any(v not in GRADES for v in values):
            raise JournalError("Можно: 5, 4, 3, 2, зч, нз.")
        if len(values) > MAX_GRADES_PER_CELL:
            raise JournalError(f"В одной клетке не больше {MAX_GRADES_PER_CELL} отметок.")
        if values and r.mark in ABSENT:
            raise JournalError("Учащийся отсутствовал на уроке: отметку за этот урок поставить нельзя.")
        if values and info.no_marks:
            raise JournalError("В 1 классе отметки не ставятся (безотметочное обучение).")
        if "1" in values and info.settings.get("grade_one_allowed", "0") != "1":
            raise JournalError("Отметка «1» в школе не используется.")
        for _, wt in r.grades:
            ctx.work_type(wt)
        if not ctx.is_member(info, r.student_id, day):
            raise JournalError("Учащийся не числится в этом классе или группе на дату урока.")
    keys = [(r.lesson_id, r.student_id) for r in rows]
    _unique(keys, "Клетка")
    lo, hi = min(lessons), max(lessons)
    existing = {tuple(x) for x in _all(
        conn, "SELECT lesson_id, student_id FROM grade WHERE lesson_id BETWEEN :lo AND :hi"
              " UNION SELECT lesson_id, student_id FROM attendance WHERE lesson_id BETWEEN :lo AND :hi",
        {"lo": lo, "hi": hi})}
    if existing & set(keys):
        raise JournalError("В клетке уже есть записи: изменения вносятся по одной клетке.")
    grades, marks, entries = [], [], []
    for r in rows:  # set_cell's order: the grades by position, then the attendance mark
        for pos, (value, wt) in enumerate(r.grades):
            grades.append((r.lesson_id, r.student_id, pos, value, wt))
            entries.append((r.at, r.account_id, "grade", f"grade:{r.lesson_id}:{r.student_id}:{pos}", None,
                            {"value": value, "work_type": wt}, ""))
        if r.mark:
            marks.append((r.lesson_id, r.student_id, r.mark))
            entries.append((r.at, r.account_id, "attendance", f"attendance:{r.lesson_id}:{r.student_id}", None,
                            {"mark": r.mark}, ""))
    conn.executemany("INSERT INTO grade(lesson_id, student_id, position, value, work_type)"
                     " VALUES (?, ?, ?, ?, ?)", grades)
    conn.executemany("INSERT INTO attendance(lesson_id, student_id, mark) VALUES (?, ?, ?)", marks)
    return ledger.record_many(conn, entries)


def add_homework(conn, ctx: Context, rows: list[HomeworkIn]) -> int:
    """Homework text and minutes (no files) of lessons that have none, as set_homework writes it."""
    if not rows:
        return 0
    lessons = _lessons(conn, ctx, (r.lesson_id for r in rows))
    for r in rows:
        lesson = lessons[r.lesson_id]
        info = ctx.journal(lesson["journal_id"])
        ctx.check_writer(r.account_id, info, lesson["substitute_id"])
        check_day(info, lesson["date"], lesson["lesson_number"], lesson, today=None)
        ctx.check_open(info, lesson["date"])
        if not r.text.strip() or len(r.text.strip()) > 2000:
            raise JournalError("Текст домашнего задания: от 1 до 2000 знаков.")
        if r.minutes is not None and not 1 <= r.minutes <= 600:
            raise JournalError("Время на домашнее задание: от 1 до 600 минут.")
    ids = [r.lesson_id for r in rows]
    _unique(ids, "Домашнее задание урока")
    existing = {x[0] for x in _all(conn, "SELECT lesson_id FROM homework WHERE lesson_id BETWEEN ? AND ?",
                                         (min(ids), max(ids)))}
    if existing & set(ids):
        raise JournalError("У урока уже есть домашнее задание: изменения вносятся по одному.")
    conn.executemany("INSERT INTO homework(lesson_id, text, minutes) VALUES (?, ?, ?)",
                     [(r.lesson_id, r.text.strip(), r.minutes) for r in rows])
    return ledger.record_many(conn, [
        (r.at, r.account_id, "homework", f"homework:{r.lesson_id}", None,
         {"text": r.text.strip(), "minutes": r.minutes, "file_name": None, "file_size": None, "due_date": None}, "")
        for r in rows])


def add_registers(conn, ctx: Context, rows: list[RegisterIn]) -> int:
    """Registers taken on lessons that have none, as set_register writes them; → records added."""
    if not rows:
        return 0
    lessons = _lessons(conn, ctx, (r.lesson_id for r in rows))
    for r in rows:
        lesson = lessons[r.lesson_id]
        info = ctx.journal(lesson["journal_id"])
        ctx.check_writer(r.account_id, info, lesson["substitute_id"])
        check_day(info, lesson["date"], lesson["lesson_number"], lesson, today=ctx.today)
        ctx.check_open(info, lesson["date"])
        if lesson["status"] == "cancelled":
            raise JournalError("Урок не состоялся: посещаемость не отмечается.")
    ids = [r.lesson_id for r in rows]
    _unique(ids, "Посещаемость урока")
    existing = {x[0] for x in _all(conn, "SELECT lesson_id FROM register_taken WHERE lesson_id BETWEEN ? AND ?",
                                         (min(ids), max(ids)))}
    if existing & set(ids):
        raise JournalError("Посещаемость урока уже отмечена.")
    conn.executemany("INSERT INTO register_taken(lesson_id) VALUES (?)", [(i,) for i in ids])
    return ledger.record_many(conn, [(r.at, r.account_id, "register_taken", f"register_taken:{r.lesson_id}", None, {},
                                      "") for r in rows])


def add_period_grades(conn, ctx: Context, rows: list[PeriodGradeIn]) -> int:
    """Period grades not yet set, as set_period_grade writes them (§3.2.7)."""
    if not rows:
        return 0
    for r in rows:
        info = ctx.journal(r.journal_id)
        ctx.check_writer(r.account_id, info, refusal=access.PERIOD_GRADE_KEEPERS)
        if r.value not in PERIOD_GRADES:
            raise JournalError("Итоговая отметка: 5, 4, 3, 2, зч, нз, н/а или осв.")
        if r.value in ("5", "4", "3", "2") and info.no_marks:
            raise JournalError("В 1 классе отметки не ставятся (безотметочное обучение).")
        p = ctx.periods.get(r.period_id)
        if p is None or p["year_id"] != info.row["year_id"] or p["kind"] not in (info.period_kind, "year"):
            raise JournalError("Такого учебного периода у этого журнала нет.")
        if p["closed_at"]:
            raise JournalError("Учебный период закрыт: изменить итоговую отметку может только заместитель директора.")
        if not (ctx.is_member(info, r.student_id, min(p["ends_on"], ctx.today))
                or ctx.is_member(info, r.student_id, p["starts_on"])):
            raise JournalError("Учащийся не числится в этом классе или группе в этом периоде.")
    keys = [(r.journal_id, r.period_id, r.student_id) for r in rows]
    _unique(keys, "Итоговая отметка")
    periods = {k[1] for k in keys}
    existing = {tuple(x) for x in _all(
        conn, f"SELECT journal_id, period_id, student_id FROM period_grade"
              f" WHERE period_id IN ({','.join('?' * len(periods))})", sorted(periods))}
    if existing & set(keys):
        raise JournalError("Итоговая отметка уже стоит: изменения вносятся по одной.")
    conn.executemany("INSERT INTO period_grade(journal_id, period_id, student_id, value) VALUES (?, ?, ?, ?)",
                     [(r.journal_id, r.period_id, r.student_id, r.value) for r in rows])
    return ledger.record_many(conn, [
        (r.at, r.account_id, "period_grade", f"period_grade:{r.journal_id}:{r.period_id}:{r.student_id}", None,
         {"value": r.value}, "") for r in rows])
