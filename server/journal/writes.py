"""The one write path of the journal: every change to lessons, attendance, grades, homework
and period grades is validated here and, in the same transaction, recorded by audit.record
(audit log + change feed). Callers run these inside Database.write.

These are plain functions on a sqlite3.Connection, not coroutines: Database.write runs them
inside the writer thread, so a grade save's dozen statements cost no thread hop each, and a
batch of saves that arrived together is one hop (BEGIN … COMMIT) for all of them."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta

from ..accounts.store import User
from ..timeutil import now_text, ru_date
from .. import ledger as audit
from .rules import (HOMEWORK_LIMIT_MINUTES, LATIN_LAYOUT, PERIOD_GRADES, JournalError, ReasonRequired,
                    cell_text, check_topic, parse_cell)
from .store import JournalInfo, closed_period_sync, is_member, is_scheduled, students_sync

# How teachers type the period grades that are not numbers.
PERIOD_GRADE_SPELLINGS = {"на": "н/а", "н.а": "н/а", "н/a": "н/а", "н.а.": "н/а", "н\\а": "н/а", "н а": "н/а",
                          "осв.": "осв", "освоено": "осв", "зачет": "зч", "зачтено": "зч", "незачет": "нз",
                          "не зачтено": "нз"}
PERIOD_KIND_PLURAL = {"quarter": "четвертей", "half": "полугодий"}
PERIOD_GRADE_WINDOW = timedelta(days=14)  # period grades open this long before the period ends
EDIT_CLOSED = "deputy"  # §3.2.7 / the issue: after a period is closed only the deputy changes it, with a reason


def _one(conn: sqlite3.Connection, sql: str, params=()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _all(conn: sqlite3.Connection, sql: str, params=()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def lesson_state(row) -> dict:
    return {"journal_id": row["journal_id"], "date": row["date"], "lesson_number": row["lesson_number"],
            "topic": row["topic"], "work_type": row["work_type"], "plan_item_id": row["plan_item_id"],
            "status": row["status"], "substitute_id": row["substitute_id"], "status_reason": row["status_reason"]}


def find_lesson(conn, journal_id: int, day: str, number: int):
    return _one(conn, "SELECT * FROM lesson WHERE journal_id = ? AND date = ? AND lesson_number = ?",
                (journal_id, day, number))


def _may_write(user: User, info: JournalInfo, lesson) -> bool:
    if user.has("deputy") or info.row["teacher_id"] == user.person_id:
        return True
    return lesson is not None and lesson["substitute_id"] == user.person_id


def _check_day(info: JournalInfo, day: str, number: int, lesson, *, not_future: bool) -> None:
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
    if not_future and day > date.today().isoformat():
        raise JournalError(f"{ru_date(day)} ещё не наступило: отметки и посещаемость ставятся в день урока или позже.")


def _check_closed(conn, user: User, info: JournalInfo, day: str, reason: str) -> None:
    if closed_period_sync(conn, info, day) is None:
        return
    if not user.has(EDIT_CLOSED):
        raise JournalError("Учебный период закрыт: изменить записи может только заместитель директора.")
    if not reason.strip():
        raise ReasonRequired("Период закрыт: укажите причину изменения.")


def _lesson_for_write(conn, user: User, info: JournalInfo, day: str, number: int, *, not_future: bool,
                      reason: str):
    if info.row["archived_at"] or info.row["year_status"] == "closed":
        raise JournalError("Журнал закрыт для изменений.")
    lesson = find_lesson(conn, info.id, day, number)
    if not _may_write(user, info, lesson):
        raise JournalError("Записи в этот журнал вносит его учитель (или учитель на замене этого урока).")
    _check_day(info, day, number, lesson, not_future=not_future)
    if lesson is None and not _one(conn, "SELECT 1 FROM study_period WHERE year_id = ? AND kind = ?"
                                         " AND starts_on <= ? AND ends_on >= ?",
                                   (info.row["year_id"], info.period_kind, day, day)):
        # The academic year runs to 31 August; lessons stop with the last quarter (half).
        raise JournalError(f"{ru_date(day)} — вне учебных {PERIOD_KIND_PLURAL.get(info.period_kind, 'периодов')}"
                           ": уроков нет.")
    _check_closed(conn, user, info, day, reason)
    return lesson


def ensure_lesson(conn, user: User, info: JournalInfo, day: str, number: int, reason: str = ""):
    """The lesson row for (date, number), created (and audited) on first use."""
    lesson = find_lesson(conn, info.id, day, number)
    if lesson is not None:
        return lesson
    cur = conn.execute("INSERT INTO lesson(journal_id, date, lesson_number) VALUES (?, ?, ?)",
                       (info.id, day, number))
    lesson = _one(conn, "SELECT * FROM lesson WHERE id = ?", (cur.lastrowid,))
    audit.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", None, lesson_state(lesson), reason)
    return lesson


def set_cell(conn, user: User, info: JournalInfo, day: str, number: int, student_id: int, text: str,
             reason: str = "") -> dict:
    """What the teacher typed into a cell: grades and/or attendance, replacing what was there."""
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
            return {"text": "", "warnings": []}
        lesson = ensure_lesson(conn, user, info, day, number, reason)
    lid = lesson["id"]
    old_grades = _all(conn, "SELECT position, value, work_type FROM grade WHERE lesson_id = ? AND student_id = ?"
                            " ORDER BY position", (lid, student_id))
    old_by_pos = {g["position"]: g for g in old_grades}
    for pos in range(max(len(grades), len(old_grades))):
        old = old_by_pos.get(pos)
        new_value = grades[pos] if pos < len(grades) else None
        key = f"grade:{lid}:{student_id}:{pos}"
        old_state = {"value": old["value"], "work_type": old["work_type"]} if old else None
        if new_value is None:
            conn.execute("DELETE FROM grade WHERE lesson_id = ? AND student_id = ? AND position = ?",
                         (lid, student_id, pos))
            audit.record(conn, user.account_id, "grade", key, old_state, None, reason)
            continue
        # A grade keeps its work type when it stays; a new one takes the lesson's.
        work_type = old["work_type"] if old else lesson["work_type"]
        new_state = {"value": new_value, "work_type": work_type}
        if new_state != old_state:
            conn.execute(
                "INSERT INTO grade(lesson_id, student_id, position, value, work_type) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(lesson_id, student_id, position) DO UPDATE SET value = excluded.value,"
                " work_type = excluded.work_type", (lid, student_id, pos, new_value, work_type))
            audit.record(conn, user.account_id, "grade", key, old_state, new_state, reason)
    old_mark = _one(conn, "SELECT mark FROM attendance WHERE lesson_id = ? AND student_id = ?", (lid, student_id))
    old_m = old_mark["mark"] if old_mark else None
    if mark != old_m:
        key = f"attendance:{lid}:{student_id}"
        if mark is None:
            conn.execute("DELETE FROM attendance WHERE lesson_id = ? AND student_id = ?", (lid, student_id))
        else:
            conn.execute("INSERT INTO attendance(lesson_id, student_id, mark) VALUES (?, ?, ?)"
                         " ON CONFLICT(lesson_id, student_id) DO UPDATE SET mark = excluded.mark",
                         (lid, student_id, mark))
        audit.record(conn, user.account_id, "attendance", key, {"mark": old_m} if old_m else None,
                     {"mark": mark} if mark else None, reason)
    return {"text": cell_text(mark, grades), "lesson_id": lid, "warnings": []}


def set_grade_work_type(conn, user: User, info: JournalInfo, day: str, number: int, student_id: int,
                        position: int, work_type: str, reason: str = "") -> None:
    lesson = _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    if lesson is None:
        raise JournalError("Отметки в этой клетке нет.")
    if not _one(conn, "SELECT 1 FROM work_type WHERE code = ?", (work_type,)):
        raise JournalError("Неизвестный вид работы.")
    g = _one(conn, "SELECT * FROM grade WHERE lesson_id = ? AND student_id = ? AND position = ?",
             (lesson["id"], student_id, position))
    if g is None:
        raise JournalError("Отметки в этой клетке нет.")
    conn.execute("UPDATE grade SET work_type = ? WHERE lesson_id = ? AND student_id = ? AND position = ?",
                 (work_type, lesson["id"], student_id, position))
    audit.record(conn, user.account_id, "grade", f"grade:{lesson['id']}:{student_id}:{position}",
                 {"value": g["value"], "work_type": g["work_type"]}, {"value": g["value"], "work_type": work_type},
                 reason)


def _class_day_warnings(conn, info: JournalInfo, day: str) -> list[str]:
    """The day's limits for the students of this journal: one оценочная процедура, SanPiN
    homework time. Counted per student — over their class's journals and the groups they are
    in that day (two English subgroups are not one student's load; an elective counts) — and
    the worst student is reported."""
    people = students_sync(conn, info, day, day)
    if not people:
        return []
    rows = _all(
        conn,
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
        {"d": day, "ids": json.dumps([p["id"] for p in people])})
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


def save_lesson(conn, user: User, info: JournalInfo, day: str, number: int, topic: str, work_type: str,
                plan_item_id: int | None = None, reason: str = "") -> dict:
    """The lesson record (§3.2.2): topic (mandatory, Russian), work type, the КТП item it gives."""
    topic = check_topic(topic)
    _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    if not _one(conn, "SELECT 1 FROM work_type WHERE code = ?", (work_type,)):
        raise JournalError("Неизвестный вид работы.")
    if plan_item_id is not None and not _one(conn, "SELECT 1 FROM plan_item WHERE id = ? AND journal_id = ?",
                                             (plan_item_id, info.id)):
        raise JournalError("Такой темы нет в КТП этого журнала.")
    lesson = ensure_lesson(conn, user, info, day, number, reason)
    old = lesson_state(lesson)
    conn.execute("UPDATE lesson SET topic = ?, work_type = ?, plan_item_id = ? WHERE id = ?",
                 (topic, work_type, plan_item_id, lesson["id"]))
    new = {**old, "topic": topic, "work_type": work_type, "plan_item_id": plan_item_id}
    audit.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", old, new, reason)
    if old["work_type"] != work_type:
        # Grades typed before the teacher set the work type (a dictation marked as such after
        # the grades) take the lesson's new type and weight; one the teacher gave its own
        # type (F2 in the grid) keeps it.
        for g in _all(conn, "SELECT student_id, position, value FROM grade WHERE lesson_id = ? AND work_type = ?",
                      (lesson["id"], old["work_type"])):
            conn.execute("UPDATE grade SET work_type = ? WHERE lesson_id = ? AND student_id = ? AND position = ?",
                         (work_type, lesson["id"], g["student_id"], g["position"]))
            audit.record(conn, user.account_id, "grade", f"grade:{lesson['id']}:{g['student_id']}:{g['position']}",
                         {"value": g["value"], "work_type": old["work_type"]},
                         {"value": g["value"], "work_type": work_type}, reason)
    return {"lesson_id": lesson["id"], "warnings": _class_day_warnings(conn, info, day)}


def set_homework(conn, user: User, info: JournalInfo, day: str, number: int, text: str, minutes: int | None,
                 file: tuple[str, str, int] | None = None, remove_file: bool = False, reason: str = "") -> dict:
    """Homework for the lesson's date (§3.2.6): text, minutes it takes, an optional file."""
    text = (text or "").strip()
    if len(text) > 2000:
        raise JournalError("Текст домашнего задания слишком длинный (не больше 2000 знаков).")
    if minutes is not None and not 1 <= minutes <= 600:
        raise JournalError("Время на домашнее задание: от 1 до 600 минут.")
    _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    lesson = ensure_lesson(conn, user, info, day, number, reason)
    old_row = _one(conn, "SELECT * FROM homework WHERE lesson_id = ?", (lesson["id"],))
    old = ({"text": old_row["text"], "minutes": old_row["minutes"], "file_name": old_row["file_name"],
            "file_size": old_row["file_size"]} if old_row else None)
    name, path, size = file if file else ((None, None, None) if remove_file or not old_row else
                                          (old_row["file_name"], old_row["file_path"], old_row["file_size"]))
    key = f"homework:{lesson['id']}"
    if not text and not name:
        conn.execute("DELETE FROM homework WHERE lesson_id = ?", (lesson["id"],))
        audit.record(conn, user.account_id, "homework", key, old, None, reason)
        return {"warnings": []}
    conn.execute(
        "INSERT INTO homework(lesson_id, text, minutes, file_name, file_path, file_size) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(lesson_id) DO UPDATE SET text = excluded.text, minutes = excluded.minutes,"
        " file_name = excluded.file_name, file_path = excluded.file_path, file_size = excluded.file_size",
        (lesson["id"], text, minutes, name, path, size))
    audit.record(conn, user.account_id, "homework", key, old,
                 {"text": text, "minutes": minutes, "file_name": name, "file_size": size}, reason)
    return {"warnings": _class_day_warnings(conn, info, day)}


def set_lesson_status(conn, user: User, info: JournalInfo, day: str, number: int, status: str,
                      substitute_id: int | None, status_reason: str, reason: str = "") -> None:
    """§3.4.4: the lesson was given by a substitute, or did not take place (with a reason)."""
    if status not in ("held", "substituted", "cancelled"):
        raise JournalError("Неизвестное состояние урока.")
    if not (user.has("deputy") or info.row["teacher_id"] == user.person_id):
        raise JournalError("Замену и пропуск урока отмечает учитель журнала или заместитель директора.")
    status_reason = " ".join((status_reason or "").split())[:200]
    if status == "substituted":
        if substitute_id is None or substitute_id == info.row["teacher_id"]:
            raise JournalError("Укажите учителя, который провёл урок на замене.")
        if not _one(conn, "SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id"
                          " JOIN person p ON p.id = a.person_id WHERE a.person_id = ? AND r.role = 'teacher'"
                          " AND a.disabled_at IS NULL AND p.archived_at IS NULL", (substitute_id,)):
            raise JournalError("Замену может провести только работающий учитель школы.")
    else:
        substitute_id = None
    if status == "cancelled" and not status_reason:
        raise JournalError("Укажите причину, по которой урок не состоялся.")
    _lesson_for_write(conn, user, info, day, number, not_future=False, reason=reason)
    lesson = ensure_lesson(conn, user, info, day, number, reason)
    if status == "cancelled" and _one(
            conn, "SELECT 1 FROM grade WHERE lesson_id = ? UNION SELECT 1 FROM attendance WHERE lesson_id = ?",
            (lesson["id"], lesson["id"])):
        raise JournalError("На уроке уже есть отметки или посещаемость: сначала уберите их.")
    old = lesson_state(lesson)
    conn.execute("UPDATE lesson SET status = ?, substitute_id = ?, status_reason = ? WHERE id = ?",
                 (status, substitute_id, status_reason, lesson["id"]))
    audit.record(conn, user.account_id, "lesson", f"lesson:{lesson['id']}", old,
                 {**old, "status": status, "substitute_id": substitute_id, "status_reason": status_reason},
                 reason)


def set_period_grade(conn, user: User, info: JournalInfo, period_id: int, student_id: int, value: str | None,
                     reason: str = "") -> None:
    """§3.2.7: the period grade; only the journal's teacher and the deputy set it."""
    if not (user.has("deputy") or info.row["teacher_id"] == user.person_id):
        raise JournalError("Итоговую отметку ставит учитель журнала или заместитель директора.")
    value = (value or "").strip().lower().replace("ё", "е")
    value = PERIOD_GRADE_SPELLINGS.get(value, value)
    if value not in PERIOD_GRADES and re.search(r"[a-z]", value):
        # Typed in the Latin layout: "yf" is "на", "jcd" is "осв".
        value = value.translate(LATIN_LAYOUT)
        value = PERIOD_GRADE_SPELLINGS.get(value, value)
    value = value or None
    if value is not None and value not in PERIOD_GRADES:
        raise JournalError("Итоговая отметка: 5, 4, 3, 2, зч, нз, н/а или осв.")
    if value in ("5", "4", "3", "2") and info.no_marks:
        raise JournalError("В 1 классе отметки не ставятся (безотметочное обучение).")
    if info.row["archived_at"] or info.row["year_status"] == "closed":
        raise JournalError("Журнал закрыт для изменений.")
    period = _one(conn, "SELECT * FROM study_period WHERE id = ? AND year_id = ? AND kind IN (?, 'year')",
                  (period_id, info.row["year_id"], info.period_kind))
    if period is None:
        raise JournalError("Такого учебного периода у этого журнала нет.")
    # §3.2.7 "по завершении учебного периода": in practice in its last two weeks or after.
    opens = (date.fromisoformat(period["ends_on"]) - PERIOD_GRADE_WINDOW).isoformat()
    if date.today().isoformat() < opens:
        raise JournalError(f"Итоговые отметки за этот период выставляются в его конце: с {ru_date(opens)}.")
    # The period itself closed, or the year period (which closes every grade in it). Not the
    # last quarter's closing: year grades are set after it.
    year_closed = _one(conn, "SELECT 1 FROM study_period WHERE year_id = ? AND kind = 'year' AND closed_at IS NOT NULL",
                       (info.row["year_id"],))
    if period["closed_at"] or year_closed:
        if not user.has(EDIT_CLOSED):
            raise JournalError("Учебный период закрыт: изменить итоговую отметку может только заместитель директора.")
        if not reason.strip():
            raise ReasonRequired("Период закрыт: укажите причину изменения.")
    if not is_member(conn, info, student_id, min(period["ends_on"], date.today().isoformat())) and \
            not is_member(conn, info, student_id, period["starts_on"]):
        raise JournalError("Учащийся не числится в этом классе или группе в этом периоде.")
    key = f"period_grade:{info.id}:{period_id}:{student_id}"
    old = _one(conn, "SELECT value FROM period_grade WHERE journal_id = ? AND period_id = ? AND student_id = ?",
               (info.id, period_id, student_id))
    old_state = {"value": old["value"]} if old else None
    if value is None:
        conn.execute("DELETE FROM period_grade WHERE journal_id = ? AND period_id = ? AND student_id = ?",
                     (info.id, period_id, student_id))
    else:
        conn.execute("INSERT INTO period_grade(journal_id, period_id, student_id, value) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT(journal_id, period_id, student_id) DO UPDATE SET value = excluded.value",
                     (info.id, period_id, student_id, value))
    audit.record(conn, user.account_id, "period_grade", key, old_state,
                 {"value": value} if value else None, reason)


def close_period(conn, user: User, period_id: int, closed: bool) -> None:
    """The deputy closes (or reopens) a study period; recorded in the audit log."""
    period = _one(conn, "SELECT * FROM study_period WHERE id = ?", (period_id,))
    if period is None:
        raise JournalError("Такого периода нет.")
    value = now_text() if closed else None
    conn.execute("UPDATE study_period SET closed_at = ?, closed_by = ? WHERE id = ?",
                 (value, user.account_id if closed else None, period_id))
    audit.record(conn, user.account_id, "period", f"period:{period_id}",
                 {"closed": bool(period["closed_at"])}, {"closed": closed})
