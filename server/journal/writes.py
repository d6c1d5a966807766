"""The one write path of the journal: every change to lessons, attendance, grades, homework
and period grades is validated here and recorded in the ledger in the same transaction.

Each public function takes the user and the journal's id: it reads the journal inside its
own transaction and decides access there, once (access.for_writer), then checks the
journal's rules (rules.py) and writes, each change with its ledger entry. Handlers run them
with `Database.write(fn, …)`, or call them inside a job of their own that also reads the
answer (a cell's new average) in the same transaction.

Plain functions on a sqlite3 connection: Database.write runs them in the writer thread, so a
grade save's dozen statements cost no thread hop each, and the saves that arrived together
after the bell are one hop and one COMMIT."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta

from .. import clock
from .. import ledger
from ..errors import NotFound
from ..timeutil import now_text, ru_date
from . import access
from .rules import (ATTENDANCE, HOMEWORK_LIMIT_MINUTES, LATIN_LAYOUT, PERIOD_GRADES, JournalError, cell_text,
                    check_topic, parse_cell, parse_day)
from .store import JournalInfo, is_member, is_scheduled, students

# How teachers type the period grades that are not numbers.
PERIOD_GRADE_SPELLINGS = {"на": "н/а", "н.а": "н/а", "н/a": "н/а", "н.а.": "н/а", "н\\а": "н/а", "н а": "н/а",
                          "осв.": "осв", "освоено": "осв", "зачет": "зч", "зачтено": "зч", "незачет": "нз",
                          "не зачтено": "нз"}
PERIOD_KIND_PLURAL = {"quarter": "четвертей", "trimester": "триместров", "half": "полугодий"}
PERIOD_GRADE_WINDOW = timedelta(days=14)  # period grades open this long before the period ends


@dataclass
class Written:
    """What a write leaves for its caller: the journal as the write's own transaction read it
    (for a read in the same job), the lesson's date as stored, the cell's text, warnings."""

    info: JournalInfo
    day: str = ""
    text: str = ""
    warnings: list[str] = field(default_factory=list)


def lesson_state(row) -> dict:
    """A lesson as the ledger records it (ledger.TABLES["lesson"])."""
    return {"journal_id": row["journal_id"], "date": row["date"], "lesson_number": row["lesson_number"],
            "topic": row["topic"], "work_type": row["work_type"], "plan_item_id": row["plan_item_id"],
            "status": row["status"], "substitute_id": row["substitute_id"], "status_reason": row["status_reason"]}


def find_lesson(conn: sqlite3.Connection, journal_id: int, day: str, number: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
                        (journal_id, day, number)).fetchone()


def check_day(info: JournalInfo, day: str, number: int, lesson, *, today: str | None) -> None:
    """A lesson on `day` is one this journal can have; with `today`, not in the future (marks
    and attendance are set on the lesson's day or later)."""
    try:
        date.fromisoformat(day)
    except ValueError:
        raise JournalError("Неверная дата урока.") from None
    if not info.year_start <= day <= info.year_end:
        raise JournalError(f"{ru_date(day)} — вне учебного года ({ru_date(info.year_start)}–{ru_date(info.year_end)}).")
    # A lesson recorded before the holidays were moved onto its day stays editable.
    if lesson is None and info.is_holiday(day):
        raise JournalError(f"{ru_date(day)} — каникулы: уроков нет.")
    if lesson is None and not is_scheduled(info, day, number):
        raise JournalError(f"{ru_date(day)} по расписанию нет {number}-го урока этого журнала.")
    if today is not None and day > today:
        raise JournalError(f"{ru_date(day)} ещё не наступило: отметки и посещаемость ставятся в день урока или позже.")


def _lesson_for_write(conn, user, info: JournalInfo, day: str, number: int, *, not_future: bool, reason: str):
    """The lesson (None: not recorded yet) once its date, the study periods and a closed
    period allow the change."""
    lesson = find_lesson(conn, info.id, day, number)
    check_day(info, day, number, lesson, today=clock.today().isoformat() if not_future else None)
    if lesson is None and not conn.execute("SELECT 1 FROM study_period WHERE year_id = ? AND kind = ?"
                                           " AND starts_on <= ? AND ends_on >= ?",
                                           (info.row["year_id"], info.period_kind, day, day)).fetchone():
        # The academic year runs to 31 August; lessons stop with the last quarter (half).
        raise JournalError(f"{ru_date(day)} — вне учебных {PERIOD_KIND_PLURAL.get(info.period_kind, 'периодов')}"
                           ": уроков нет.")
    access.check_period_open(conn, user, info, day, reason)
    return lesson


def _ensure_lesson(conn, user, info: JournalInfo, day: str, number: int, reason: str = ""):
    """The lesson row for (date, number), created (and recorded) on first use."""
    lesson = find_lesson(conn, info.id, day, number)
    if lesson is not None:
        return lesson
    cur = conn.execute("INSERT INTO lesson(journal_id, date, lesson_number) VALUES (?, ?, ?)",
                       (info.id, day, number))
    lesson = conn.execute("SELECT * FROM lesson WHERE id = ?", (cur.lastrowid,)).fetchone()
    ledger.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", None, lesson_state(lesson), reason)
    return lesson


def _cell_writer(conn, user, journal_id: int, day, number, student_id) -> tuple[JournalInfo, str]:
    """Access to a cell, then its address checked: the journal and the lesson's date."""
    info = access.for_writer(conn, user, journal_id, day, number)
    day = parse_day(day)
    if number is None or student_id is None:
        raise JournalError("Неверный запрос.")
    return info, day


def set_cell(conn, user, journal_id: int, day: str, number: int, student_id: int, text: str,
             reason: str = "") -> Written:
    """What the teacher typed into a cell: grades and/or attendance, replacing what was there."""
    info, day = _cell_writer(conn, user, journal_id, day, number, student_id)
    return _set_cell(conn, user, info, day, number, student_id, text, reason)


def set_attendance(conn, user, journal_id: int, day: str, number: int, student_id: int, mark: str | None,
                   reason: str = "") -> Written:
    """The attendance mark replaces the cell's; its grades stay."""
    info, day = _cell_writer(conn, user, journal_id, day, number, student_id)
    mark = (mark or "").strip().upper() or None
    if mark is not None and mark not in ATTENDANCE:
        raise JournalError("Посещаемость: Н, Б, У, ОП или пусто.")
    lesson = find_lesson(conn, info.id, day, number)
    grades = [r[0] for r in conn.execute("SELECT value FROM grade WHERE lesson_id = ? AND student_id = ?"
                                         " ORDER BY position", (lesson["id"], student_id))] if lesson else []
    return _set_cell(conn, user, info, day, number, student_id, cell_text(mark, grades), reason)


def _set_cell(conn, user, info: JournalInfo, day: str, number: int, student_id: int, text: str,
              reason: str) -> Written:
    mark, grades = parse_cell(text)
    lesson = _lesson_for_write(conn, user, info, day, number, not_future=bool(mark or grades), reason=reason)
    if grades and info.no_marks:
        raise JournalError("В 1 классе отметки не ставятся (безотметочное обучение).")
    if "1" in grades and info.settings.get("grade_one_allowed", "0") != "1":
        raise JournalError("Отметка «1» в школе не используется.")
    if lesson is not None and lesson["status"] == "cancelled" and (mark or grades):
        raise JournalError("Урок не состоялся: отметки и посещаемость не ставятся.")
    if not is_member(conn, info, student_id, day):
        raise JournalError(f"Учащийся не числится в этом классе или группе на {ru_date(day)}.")
    if lesson is None:
        if not (mark or grades):
            return Written(info, day)
        lesson = _ensure_lesson(conn, user, info, day, number, reason)
    lid = lesson["id"]
    old_grades = conn.execute("SELECT position, value, work_type FROM grade WHERE lesson_id = ? AND student_id = ?"
                              " ORDER BY position", (lid, student_id)).fetchall()
    old_by_pos = {g["position"]: g for g in old_grades}
    for pos in range(max(len(grades), len(old_grades))):
        old = old_by_pos.get(pos)
        new_value = grades[pos] if pos < len(grades) else None
        key = f"grade:{lid}:{student_id}:{pos}"
        old_state = {"value": old["value"], "work_type": old["work_type"]} if old else None
        if new_value is None:
            conn.execute("DELETE FROM grade WHERE lesson_id = ? AND student_id = ? AND position = ?",
                         (lid, student_id, pos))
            ledger.record(conn, user.account_id, "grade", key, old_state, None, reason)
            continue
        # A grade keeps its work type when it stays; a new one takes the lesson's.
        work_type = old["work_type"] if old else lesson["work_type"]
        new_state = {"value": new_value, "work_type": work_type}
        if new_state != old_state:
            conn.execute(
                "INSERT INTO grade(lesson_id, student_id, position, value, work_type) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(lesson_id, student_id, position) DO UPDATE SET value = excluded.value,"
                " work_type = excluded.work_type", (lid, student_id, pos, new_value, work_type))
            ledger.record(conn, user.account_id, "grade", key, old_state, new_state, reason)
    old_mark = conn.execute("SELECT mark FROM attendance WHERE lesson_id = ? AND student_id = ?",
                            (lid, student_id)).fetchone()
    old_m = old_mark["mark"] if old_mark else None
    if mark != old_m:
        key = f"attendance:{lid}:{student_id}"
        if mark is None:
            conn.execute("DELETE FROM attendance WHERE lesson_id = ? AND student_id = ?", (lid, student_id))
        else:
            conn.execute("INSERT INTO attendance(lesson_id, student_id, mark) VALUES (?, ?, ?)"
                         " ON CONFLICT(lesson_id, student_id) DO UPDATE SET mark = excluded.mark",
                         (lid, student_id, mark))
        ledger.record(conn, user.account_id, "attendance", key, {"mark": old_m} if old_m else None,
                      {"mark": mark} if mark else None, reason)
    return Written(info, day, cell_text(mark, grades))


def set_register(conn, user, journal_id: int, day: str, number: int, taken: bool = True, reason: str = "") -> Written:
    """«Посещаемость отмечена» (§3.2.2, §3.4.4): the teacher (or the lesson's substitute) took the
    register of this lesson — also when everyone was there; `taken=False` withdraws it. Its own
    audited table (`register_taken`); journal control reads who took it and when from the ledger."""
    info = access.for_writer(conn, user, journal_id, day, number)
    day = parse_day(day)
    if number is None:
        raise JournalError("Неверный запрос.")
    lesson = _lesson_for_write(conn, user, info, day, number, not_future=taken, reason=reason)
    if lesson is not None and lesson["status"] == "cancelled" and taken:
        raise JournalError("Урок не состоялся: посещаемость не отмечается.")
    if lesson is None:
        if not taken:
            return Written(info, day)
        lesson = _ensure_lesson(conn, user, info, day, number, reason)
    key = f"register_taken:{lesson['id']}"
    was = conn.execute("SELECT 1 FROM register_taken WHERE lesson_id = ?", (lesson["id"],)).fetchone() is not None
    if taken and not was:
        conn.execute("INSERT INTO register_taken(lesson_id) VALUES (?)", (lesson["id"],))
        ledger.record(conn, user.account_id, "register_taken", key, None, {}, reason)
    elif was and not taken:
        conn.execute("DELETE FROM register_taken WHERE lesson_id = ?", (lesson["id"],))
        ledger.record(conn, user.account_id, "register_taken", key, {}, None, reason)
    return Written(info, day)


def set_grade_work_type(conn, user, journal_id: int, day: str, number: int, student_id: int, position: int,
                        work_type: str, reason: str = "") -> Written:
    """F2 in the grid: one grade's work type (and so its weight)."""
    info, day = _cell_writer(conn, user, journal_id, day, number, student_id)
    lesson = _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    if lesson is None:
        raise JournalError("Отметки в этой клетке нет.")
    if not conn.execute("SELECT 1 FROM work_type WHERE code = ?", (work_type,)).fetchone():
        raise JournalError("Неизвестный вид работы.")
    g = conn.execute("SELECT * FROM grade WHERE lesson_id = ? AND student_id = ? AND position = ?",
                     (lesson["id"], student_id, position)).fetchone()
    if g is None:
        raise JournalError("Отметки в этой клетке нет.")
    conn.execute("UPDATE grade SET work_type = ? WHERE lesson_id = ? AND student_id = ? AND position = ?",
                 (work_type, lesson["id"], student_id, position))
    ledger.record(conn, user.account_id, "grade", f"grade:{lesson['id']}:{student_id}:{position}",
                  {"value": g["value"], "work_type": g["work_type"]}, {"value": g["value"], "work_type": work_type},
                  reason)
    return Written(info, day)


def _class_day_warnings(conn, info: JournalInfo, day: str) -> list[str]:
    """The day's limits for the students of this journal: one оценочная процедура, SanPiN
    homework time. Counted per student — over their class's journals and the groups they are
    in that day (two English subgroups are not one student's load; an elective counts) — and
    the worst student is reported."""
    people = students(conn, info, day, day)
    if not people:
        return []
    rows = conn.execute(
        """
        SELECT m.student_id, c.parallel, l.id AS lesson_id, s.name AS subject, wt.is_control,
               wt.name AS work_type_name, h.minutes
          FROM (SELECT e.student_id, j.id AS journal_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id
                 WHERE e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)
                 UNION
                SELECT gm.student_id, j.id FROM group_member gm JOIN journal j ON j.group_id = gm.group_id
                 WHERE gm.from_date <= :d AND (gm.to_date IS NULL OR gm.to_date >= :d)) m
          JOIN lesson l ON l.journal_id = m.journal_id AND l.date = :d AND l.status <> 'cancelled'
          JOIN journal j ON j.id = l.journal_id AND j.archived_at IS NULL JOIN subject s ON s.id = j.subject_id
          JOIN work_type wt ON wt.code = l.work_type
          LEFT JOIN homework h ON h.lesson_id = l.id
          LEFT JOIN enrollment e ON e.student_id = m.student_id AND e.from_date <= :d
                                AND (e.to_date IS NULL OR e.to_date >= :d)
          LEFT JOIN class c ON c.id = e.class_id
         WHERE m.student_id IN (SELECT value FROM json_each(:ids))
        """,
        {"d": day, "ids": json.dumps([p["id"] for p in people])}).fetchall()
    load: dict[int, dict] = {}
    for r in rows:
        st = load.setdefault(r["student_id"], {"parallel": r["parallel"], "lessons": {}})
        st["lessons"][r["lesson_id"]] = r
    warnings = []
    worst_controls: list = []
    over = None  # (minutes above the limit, minutes, limit, parallel) of the most loaded student
    for st in load.values():
        lessons = list(st["lessons"].values())
        controls = [f"{r['subject']} ({r['work_type_name']})" for r in lessons if r["is_control"]]
        worst_controls = max(worst_controls, controls, key=len)
        minutes = sum(r["minutes"] or 0 for r in lessons)
        limit = HOMEWORK_LIMIT_MINUTES.get(st["parallel"])
        if limit and minutes > limit:
            over = max(over or (0, 0, 0, 0), (minutes - limit, minutes, limit, st["parallel"]))
    if len(worst_controls) > 1:
        warnings.append(f"{ru_date(day)} у учащихся больше одной оценочной процедуры: "
                        f"{', '.join(sorted(worst_controls))}.")
    if over:
        _, minutes, limit, parallel = over
        warnings.append(f"Домашнее задание на {ru_date(day)} у учащихся занимает до {minutes} мин — больше "
                        f"нормы СанПиН ({limit} мин для {parallel} класса).")
    return warnings


def save_lesson(conn, user, journal_id: int, day: str, number: int, topic: str, work_type: str,
                plan_item_id: int | None = None, reason: str = "") -> Written:
    """The lesson record (§3.2.2): topic (mandatory, Russian), work type, the КТП item it gives."""
    info = access.for_writer(conn, user, journal_id, day, number)
    day = parse_day(day)
    topic = check_topic(topic)
    _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    if not conn.execute("SELECT 1 FROM work_type WHERE code = ?", (work_type,)).fetchone():
        raise JournalError("Неизвестный вид работы.")
    if plan_item_id is not None and not conn.execute("SELECT 1 FROM plan_item WHERE id = ? AND journal_id = ?",
                                                     (plan_item_id, info.id)).fetchone():
        raise JournalError("Такой темы нет в КТП этого журнала.")
    lesson = _ensure_lesson(conn, user, info, day, number, reason)
    old = lesson_state(lesson)
    conn.execute("UPDATE lesson SET topic = ?, work_type = ?, plan_item_id = ? WHERE id = ?",
                 (topic, work_type, plan_item_id, lesson["id"]))
    new = {**old, "topic": topic, "work_type": work_type, "plan_item_id": plan_item_id}
    ledger.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", old, new, reason)
    if old["work_type"] != work_type:
        # Grades typed before the teacher set the work type (a dictation marked as such after
        # the grades) take the lesson's new type and weight; one the teacher gave its own
        # type (F2 in the grid) keeps it.
        for g in conn.execute("SELECT student_id, position, value FROM grade WHERE lesson_id = ? AND work_type = ?",
                              (lesson["id"], old["work_type"])).fetchall():
            conn.execute("UPDATE grade SET work_type = ? WHERE lesson_id = ? AND student_id = ? AND position = ?",
                         (work_type, lesson["id"], g["student_id"], g["position"]))
            ledger.record(conn, user.account_id, "grade", f"grade:{lesson['id']}:{g['student_id']}:{g['position']}",
                          {"value": g["value"], "work_type": old["work_type"]},
                          {"value": g["value"], "work_type": work_type}, reason)
    return Written(info, day, warnings=_class_day_warnings(conn, info, day))


KEEP = object()  # set_homework's due date left as it was


def set_homework(conn, user, journal_id: int, day: str, number: int, text: str, minutes: int | None,
                 file: tuple[str, str, int] | None = None, remove_file: bool = False, reason: str = "",
                 due_date=KEEP) -> Written:
    """Homework for the lesson's date (§3.2.6): text, minutes it takes, an optional file
    (`file`: shown name, path under DATA, size — stored by the caller), the day it is due
    (`due_date`: ГГГГ-ММ-ДД; '' or None — the journal's next lesson; KEEP — as it was)."""
    info = access.for_writer(conn, user, journal_id, day, number)
    day = parse_day(day)
    return _set_homework(conn, user, info, day, number, text, minutes, file, remove_file, reason, due_date)


def attach_homework_file(conn, user, journal_id: int, day: str, number: int, file: tuple[str, str, int],
                         reason: str = "") -> Written:
    """The homework keeps its text and minutes and gets the file."""
    info = access.for_writer(conn, user, journal_id, day, number)
    day = parse_day(day)
    lesson = find_lesson(conn, info.id, day, number)
    old = (conn.execute("SELECT text, minutes FROM homework WHERE lesson_id = ?", (lesson["id"],)).fetchone()
           if lesson else None)
    return _set_homework(conn, user, info, day, number, old["text"] if old else "", old["minutes"] if old else None,
                         file, False, reason)


def _due_date(info: JournalInfo, day: str, due) -> str | None:
    """The due date as typed: none (the next lesson), or a school-year date after the lesson."""
    if not due:
        return None
    try:
        due = date.fromisoformat(str(due)).isoformat()
    except ValueError:
        raise JournalError("Срок сдачи: неверная дата, нужен вид ГГГГ-ММ-ДД.") from None
    if due <= day:
        raise JournalError("Срок сдачи домашнего задания — позже дня урока.")
    if due > info.year_end:
        raise JournalError(f"Срок сдачи — в пределах учебного года (до {ru_date(info.year_end)}).")
    return due


def _set_homework(conn, user, info: JournalInfo, day: str, number: int, text: str, minutes: int | None,
                  file: tuple[str, str, int] | None, remove_file: bool, reason: str, due_date=KEEP) -> Written:
    text = (text or "").strip()
    if len(text) > 2000:
        raise JournalError("Текст домашнего задания слишком длинный (не больше 2000 знаков).")
    if minutes is not None and not 1 <= minutes <= 600:
        raise JournalError("Время на домашнее задание: от 1 до 600 минут.")
    _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    lesson = _ensure_lesson(conn, user, info, day, number, reason)
    old_row = conn.execute("SELECT * FROM homework WHERE lesson_id = ?", (lesson["id"],)).fetchone()
    old = ({"text": old_row["text"], "minutes": old_row["minutes"], "file_name": old_row["file_name"],
            "file_size": old_row["file_size"], "due_date": old_row["due_date"]} if old_row else None)
    due = (old_row["due_date"] if old_row else None) if due_date is KEEP else _due_date(info, day, due_date)
    name, path, size = file if file else ((None, None, None) if remove_file or not old_row else
                                          (old_row["file_name"], old_row["file_path"], old_row["file_size"]))
    key = f"homework:{lesson['id']}"
    if not text and not name:
        conn.execute("DELETE FROM homework WHERE lesson_id = ?", (lesson["id"],))
        ledger.record(conn, user.account_id, "homework", key, old, None, reason)
        return Written(info, day)
    conn.execute(
        "INSERT INTO homework(lesson_id, text, minutes, file_name, file_path, file_size, due_date)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(lesson_id) DO UPDATE SET text = excluded.text, minutes = excluded.minutes,"
        " file_name = excluded.file_name, file_path = excluded.file_path, file_size = excluded.file_size,"
        " due_date = excluded.due_date",
        (lesson["id"], text, minutes, name, path, size, due))
    ledger.record(conn, user.account_id, "homework", key, old,
                  {"text": text, "minutes": minutes, "file_name": name, "file_size": size, "due_date": due}, reason)
    return Written(info, day, warnings=_class_day_warnings(conn, info, day))


def set_lesson_status(conn, user, journal_id: int, day: str, number: int, status: str,
                      substitute_id: int | None, status_reason: str, reason: str = "") -> Written:
    """§3.4.4: the lesson was given by a substitute, or did not take place (with a reason).
    The journal's teacher or the deputy only."""
    info = access.for_writer(conn, user, journal_id, refusal=access.STATUS_KEEPERS)
    day = parse_day(day)
    if status not in ("held", "substituted", "cancelled"):
        raise JournalError("Неизвестное состояние урока.")
    status_reason = " ".join((status_reason or "").split())[:200]
    if status == "substituted":
        if substitute_id is None or substitute_id == info.row["teacher_id"]:
            raise JournalError("Укажите учителя, который провёл урок на замене.")
        if not conn.execute("SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id"
                            " JOIN person p ON p.id = a.person_id WHERE a.person_id = ? AND r.role = 'teacher'"
                            " AND a.disabled_at IS NULL AND p.archived_at IS NULL", (substitute_id,)).fetchone():
            raise JournalError("Замену может провести только работающий учитель школы.")
    else:
        substitute_id = None
    if status == "cancelled" and not status_reason:
        raise JournalError("Укажите причину, по которой урок не состоялся.")
    _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    lesson = _ensure_lesson(conn, user, info, day, number, reason)
    if status == "cancelled" and conn.execute(
            "SELECT 1 FROM grade WHERE lesson_id = ? UNION SELECT 1 FROM attendance WHERE lesson_id = ?",
            (lesson["id"], lesson["id"])).fetchone():
        raise JournalError("На уроке уже есть отметки или посещаемость: сначала уберите их.")
    old = lesson_state(lesson)
    conn.execute("UPDATE lesson SET status = ?, substitute_id = ?, status_reason = ? WHERE id = ?",
                 (status, substitute_id, status_reason, lesson["id"]))
    ledger.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", old,
                  {**old, "status": status, "substitute_id": substitute_id, "status_reason": status_reason},
                  reason)
    return Written(info, day)


def parse_period_grade(value: str | None) -> str | None:
    """A period grade as typed («на», «yf», «Осв.», «зачет») → as stored; '' → None."""
    value = (value or "").strip().lower().replace("ё", "е")
    value = PERIOD_GRADE_SPELLINGS.get(value, value)
    if value not in PERIOD_GRADES and re.search(r"[a-z]", value):
        # Typed in the Latin layout: "yf" is "на", "jcd" is "осв".
        value = value.translate(LATIN_LAYOUT)
        value = PERIOD_GRADE_SPELLINGS.get(value, value)
    value = value or None
    if value is not None and value not in PERIOD_GRADES:
        raise JournalError("Итоговая отметка: 5, 4, 3, 2, зч, нз, н/а или осв.")
    return value


def set_period_grade(conn, user, journal_id: int, period_id: int | None, student_id: int | None,
                     value: str | None, reason: str = "") -> str | None:
    """§3.2.7: the period grade; only the journal's teacher and the deputy set it. Returns the
    grade as stored (None: removed)."""
    info = access.for_writer(conn, user, journal_id, refusal=access.PERIOD_GRADE_KEEPERS)
    if period_id is None or student_id is None:
        raise JournalError("Неверный запрос.")
    value = parse_period_grade(value)
    if value in ("5", "4", "3", "2") and info.no_marks:
        raise JournalError("В 1 классе отметки не ставятся (безотметочное обучение).")
    period = conn.execute("SELECT * FROM study_period WHERE id = ? AND year_id = ? AND kind IN (?, 'year')",
                          (period_id, info.row["year_id"], info.period_kind)).fetchone()
    if period is None:
        raise JournalError("Такого учебного периода у этого журнала нет.")
    # §3.2.7 "по завершении учебного периода": in practice in its last two weeks or after.
    today = clock.today().isoformat()
    opens = (date.fromisoformat(period["ends_on"]) - PERIOD_GRADE_WINDOW).isoformat()
    if today < opens:
        raise JournalError(f"Итоговые отметки за этот период выставляются в его конце: с {ru_date(opens)}.")
    # The period itself closed, or the year period (which closes every grade in it). Not the
    # last quarter's closing: year grades are set after it.
    year_closed = conn.execute("SELECT 1 FROM study_period WHERE year_id = ? AND kind = 'year'"
                               " AND closed_at IS NOT NULL", (info.row["year_id"],)).fetchone()
    if period["closed_at"] or year_closed:
        access.check_closed_change(
            user, reason, "Учебный период закрыт: изменить итоговую отметку может только заместитель директора.")
    if not is_member(conn, info, student_id, min(period["ends_on"], today)) and \
            not is_member(conn, info, student_id, period["starts_on"]):
        raise JournalError("Учащийся не числится в этом классе или группе в этом периоде.")
    key = f"period_grade:{info.id}:{period_id}:{student_id}"
    old = conn.execute("SELECT value FROM period_grade WHERE journal_id = ? AND period_id = ? AND student_id = ?",
                       (info.id, period_id, student_id)).fetchone()
    old_state = {"value": old["value"]} if old else None
    if value is None:
        conn.execute("DELETE FROM period_grade WHERE journal_id = ? AND period_id = ? AND student_id = ?",
                     (info.id, period_id, student_id))
    else:
        conn.execute("INSERT INTO period_grade(journal_id, period_id, student_id, value) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT(journal_id, period_id, student_id) DO UPDATE SET value = excluded.value",
                     (info.id, period_id, student_id, value))
    ledger.record(conn, user.account_id, "period_grade", key, old_state, {"value": value} if value else None, reason)
    return value


def close_period(conn, user, period_id: int, closed: bool, reason: str = "") -> int:
    """The deputy closes (or reopens) a study period; recorded in the ledger (with the reason
    given, if any). Returns its year."""
    period = conn.execute("SELECT * FROM study_period WHERE id = ?", (period_id,)).fetchone()
    if period is None:
        raise NotFound("Такого периода нет.")
    value = now_text() if closed else None
    conn.execute("UPDATE study_period SET closed_at = ?, closed_by = ? WHERE id = ?",
                 (value, user.account_id if closed else None, period_id))
    ledger.record(conn, user.account_id, "period", f"period:{period_id}",
                  {"closed": bool(period["closed_at"])}, {"closed": closed}, reason)
    return period["year_id"]
