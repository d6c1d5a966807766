"""The school's structure: years, periods, holidays, classes, subjects, groups, the
teaching load (journals), bells and the timetable. Writes validate first and raise
SchoolError with a Russian message; nothing is written when they do."""

from __future__ import annotations

import sqlite3

from ..accounts.roles import STAFF
from ..db import Database
from ..timeutil import now_text, ru_date
from .errors import SchoolError
from .validate import GROUP_KINDS, PERIOD_KINDS, WEEKDAYS, ru_class_name


async def _one(conn, sql: str, params=()) -> sqlite3.Row | None:
    return await (await conn.execute(sql, params)).fetchone()


async def _all(conn, sql: str, params=()) -> list[sqlite3.Row]:
    return list(await (await conn.execute(sql, params)).fetchall())


# --- school details ---------------------------------------------------------------

async def save_school(conn, name: str, address: str, district_code: str) -> None:
    if not name.strip():
        raise SchoolError("Название школы не может быть пустым.", "name")
    await conn.execute(
        "UPDATE school SET name = ?, address = ?, district_code = ? WHERE id = 1",
        (name.strip()[:200], address.strip()[:300], district_code.strip()[:30]),
    )


# --- years --------------------------------------------------------------------------

async def years(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM academic_year ORDER BY starts_on DESC")


async def year(db: Database, year_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM academic_year WHERE id = ?", (year_id,))


async def create_year(conn, starts_on: str, ends_on: str) -> int:
    if not starts_on < ends_on:
        raise SchoolError("Учебный год должен заканчиваться позже, чем начинается.")
    if ends_on > f"{int(starts_on[:4]) + 1}-12-31":
        raise SchoolError("Учебный год не может быть длиннее календарного года с небольшим запасом.")
    name = f"{starts_on[:4]}/{int(starts_on[:4]) + 1}"
    if await _one(conn, "SELECT 1 FROM academic_year WHERE name = ?", (name,)):
        raise SchoolError(f"Учебный год {name} уже есть.")
    overlap = await _one(conn, "SELECT name FROM academic_year WHERE starts_on <= ? AND ends_on >= ?",
                         (ends_on, starts_on))
    if overlap:
        raise SchoolError(f"Даты пересекаются с учебным годом {overlap['name']}.")
    # The first year is open at once; later ones wait for the year-lifecycle step.
    has_open = await _one(conn, "SELECT 1 FROM academic_year WHERE status = 'open'")
    cur = await conn.execute(
        "INSERT INTO academic_year(name, starts_on, ends_on, status) VALUES (?, ?, ?, ?)",
        (name, starts_on, ends_on, "planned" if has_open else "open"),
    )
    return cur.lastrowid


# --- periods and holidays --------------------------------------------------------------

def period_name(kind: str, number: int) -> str:
    if kind == "year":
        return "Год"
    return f"{number}-я {PERIOD_KINDS[kind]}" if kind == "quarter" else f"{number}-е {PERIOD_KINDS[kind]}"


async def periods(db: Database, year_id: int) -> list[sqlite3.Row]:
    return await db.fetchall(
        "SELECT * FROM study_period WHERE year_id = ?"
        " ORDER BY CASE kind WHEN 'quarter' THEN 1 WHEN 'half' THEN 2 ELSE 3 END, number", (year_id,))


async def save_period(conn, year_id: int, kind: str, number: int, starts_on: str, ends_on: str,
                      period_id: int | None = None) -> int:
    y = await _one(conn, "SELECT * FROM academic_year WHERE id = ?", (year_id,))
    if y is None:
        raise SchoolError("Такого учебного года нет.")
    if kind not in PERIOD_KINDS:
        raise SchoolError("Вид периода: четверть, полугодие или год.")
    limit = {"quarter": 4, "half": 2, "year": 1}[kind]
    if not 1 <= number <= limit:
        raise SchoolError(f"Номер периода «{PERIOD_KINDS[kind]}»: от 1 до {limit}.")
    if starts_on > ends_on:
        raise SchoolError("Период должен заканчиваться не раньше, чем начинается.")
    if not (y["starts_on"] <= starts_on and ends_on <= y["ends_on"]):
        raise SchoolError(
            f"{period_name(kind, number)}: даты {ru_date(starts_on)}–{ru_date(ends_on)} выходят за пределы "
            f"учебного года {y['name']} ({ru_date(y['starts_on'])}–{ru_date(y['ends_on'])})."
        )
    same = await _one(conn, "SELECT id FROM study_period WHERE year_id = ? AND kind = ? AND number = ?"
                            " AND id IS NOT ?", (year_id, kind, number, period_id))
    if same:
        raise SchoolError(f"{period_name(kind, number)} в этом году уже есть.")
    clash = await _one(
        conn,
        "SELECT kind, number FROM study_period WHERE year_id = ? AND kind = ? AND id IS NOT ?"
        " AND starts_on <= ? AND ends_on >= ?",
        (year_id, kind, period_id, ends_on, starts_on),
    )
    if clash:
        raise SchoolError(f"Даты пересекаются с периодом «{period_name(clash['kind'], clash['number'])}».")
    if period_id is None:
        cur = await conn.execute(
            "INSERT INTO study_period(year_id, kind, number, starts_on, ends_on) VALUES (?, ?, ?, ?, ?)",
            (year_id, kind, number, starts_on, ends_on))
        return cur.lastrowid
    await conn.execute("UPDATE study_period SET kind = ?, number = ?, starts_on = ?, ends_on = ? WHERE id = ?",
                       (kind, number, starts_on, ends_on, period_id))
    return period_id


async def holidays(db: Database, year_id: int) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM holiday WHERE year_id = ? ORDER BY starts_on", (year_id,))


async def add_holiday(conn, year_id: int, name: str, starts_on: str, ends_on: str) -> int:
    y = await _one(conn, "SELECT * FROM academic_year WHERE id = ?", (year_id,))
    if y is None:
        raise SchoolError("Такого учебного года нет.")
    name = " ".join(name.split())[:100]
    if not name:
        raise SchoolError("Укажите название каникул, например «Осенние каникулы».")
    if starts_on > ends_on:
        raise SchoolError("Каникулы должны заканчиваться не раньше, чем начинаются.")
    if not (y["starts_on"] <= starts_on and ends_on <= y["ends_on"]):
        raise SchoolError(f"Каникулы выходят за пределы учебного года {y['name']}.")
    clash = await _one(conn, "SELECT name FROM holiday WHERE year_id = ? AND starts_on <= ? AND ends_on >= ?",
                       (year_id, ends_on, starts_on))
    if clash:
        raise SchoolError(f"Даты пересекаются с каникулами «{clash['name']}».")
    cur = await conn.execute("INSERT INTO holiday(year_id, name, starts_on, ends_on) VALUES (?, ?, ?, ?)",
                             (year_id, name, starts_on, ends_on))
    return cur.lastrowid


async def delete_holiday(conn, holiday_id: int) -> None:
    await conn.execute("DELETE FROM holiday WHERE id = ?", (holiday_id,))


# --- classes ---------------------------------------------------------------------------

async def classes(db: Database, year_id: int, include_archived: bool = False) -> list[sqlite3.Row]:
    return await db.fetchall(
        f"""
        SELECT c.*, c.parallel || c.letter AS name,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle,
               (SELECT count(*) FROM enrollment e WHERE e.class_id = c.id AND e.to_date IS NULL) AS students
          FROM class c LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE c.year_id = ? {"" if include_archived else "AND c.archived_at IS NULL"}
         ORDER BY c.parallel, c.letter
        """,
        (year_id,),
    )


async def staff_people(db: Database, role: str | None = None) -> list[sqlite3.Row]:
    """People holding a staff role (for choosing a class teacher or a teacher)."""
    roles = (role,) if role else tuple(STAFF - {"class_teacher"})
    marks = ",".join("?" * len(roles))
    return await db.fetchall(
        f"""
        SELECT DISTINCT p.id, p.last_name, p.first_name, p.middle_name, p.position
          FROM person p JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id
         WHERE r.role IN ({marks}) AND p.archived_at IS NULL
         ORDER BY p.last_name, p.first_name, p.middle_name
        """,
        roles,
    )


async def _check_staff(conn, person_id: int | None, role: str | None = None) -> None:
    if person_id is None:
        return
    roles = (role,) if role else tuple(STAFF - {"class_teacher"})
    marks = ",".join("?" * len(roles))
    ok = await _one(conn, f"SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id"
                          f" JOIN person p ON p.id = a.person_id"
                          f" WHERE a.person_id = ? AND r.role IN ({marks}) AND p.archived_at IS NULL",
                    (person_id, *roles))
    if not ok:
        what = "учителем" if role == "teacher" else "сотрудником школы"
        raise SchoolError(f"Выбранный человек не является {what}.")


async def save_class(conn, year_id: int, parallel: int, letter: str, class_teacher_id: int | None,
                     period_kind: str | None = None, class_id: int | None = None) -> int:
    name = ru_class_name(parallel, letter)
    if await _one(conn, "SELECT 1 FROM academic_year WHERE id = ?", (year_id,)) is None:
        raise SchoolError("Такого учебного года нет.")
    if await _one(conn, "SELECT 1 FROM class WHERE year_id = ? AND parallel = ? AND letter = ? AND id IS NOT ?",
                  (year_id, parallel, letter, class_id)):
        raise SchoolError(f"Класс {name} в этом учебном году уже есть.")
    await _check_staff(conn, class_teacher_id)
    if class_teacher_id is not None:
        other = await _one(conn, "SELECT parallel || letter AS name FROM class WHERE year_id = ?"
                                 " AND class_teacher_id = ? AND archived_at IS NULL AND id IS NOT ?",
                           (year_id, class_teacher_id, class_id))
        if other:
            raise SchoolError(f"Этот учитель уже классный руководитель {other['name']}.")
    period_kind = period_kind or ("half" if parallel >= 10 else "quarter")
    if class_id is None:
        cur = await conn.execute(
            "INSERT INTO class(year_id, parallel, letter, class_teacher_id, period_kind) VALUES (?, ?, ?, ?, ?)",
            (year_id, parallel, letter, class_teacher_id, period_kind))
        return cur.lastrowid
    await conn.execute("UPDATE class SET parallel = ?, letter = ?, class_teacher_id = ?, period_kind = ? WHERE id = ?",
                       (parallel, letter, class_teacher_id, period_kind, class_id))
    return class_id


async def archive_class(conn, class_id: int) -> None:
    if await _one(conn, "SELECT 1 FROM enrollment WHERE class_id = ? AND to_date IS NULL", (class_id,)):
        raise SchoolError("В классе есть учащиеся: сначала переведите их в другой класс.")
    await conn.execute("UPDATE class SET archived_at = ? WHERE id = ?", (now_text(), class_id))


# --- subjects ----------------------------------------------------------------------------

async def subjects(db: Database, include_archived: bool = False) -> list[sqlite3.Row]:
    where = "" if include_archived else "WHERE archived_at IS NULL"
    return await db.fetchall(f"SELECT * FROM subject {where} ORDER BY name")


async def save_subject(conn, name: str, short_name: str = "", subject_id: int | None = None) -> int:
    name = " ".join(name.split())[:100]
    if not name:
        raise SchoolError("Укажите название предмета.")
    # SQLite's NOCASE folds only Latin letters: compare Russian names in Python.
    for row in await _all(conn, "SELECT id, name FROM subject WHERE id IS NOT ?", (subject_id,)):
        if row["name"].casefold() == name.casefold():
            raise SchoolError(f"Предмет «{row['name']}» уже есть.")
    short_name = " ".join(short_name.split())[:20]
    if subject_id is None:
        return (await conn.execute("INSERT INTO subject(name, short_name) VALUES (?, ?)", (name, short_name))).lastrowid
    await conn.execute("UPDATE subject SET name = ?, short_name = ? WHERE id = ?", (name, short_name, subject_id))
    return subject_id


async def set_archived(conn, table: str, row_id: int, archived: bool) -> None:
    assert table in ("subject", "study_group", "journal", "class")
    await conn.execute(f"UPDATE {table} SET archived_at = ? WHERE id = ?", (now_text() if archived else None, row_id))


# --- groups -------------------------------------------------------------------------------

async def groups(db: Database, year_id: int) -> list[sqlite3.Row]:
    return await db.fetchall(
        """
        SELECT g.*, c.parallel || c.letter AS class_name,
               (SELECT count(*) FROM group_member m WHERE m.group_id = g.id AND m.to_date IS NULL) AS members
          FROM study_group g LEFT JOIN class c ON c.id = g.class_id
         WHERE g.year_id = ? AND g.archived_at IS NULL
         ORDER BY g.kind, g.name
        """,
        (year_id,),
    )


async def group_members(db: Database, group_id: int) -> list[sqlite3.Row]:
    return await db.fetchall(
        """
        SELECT p.id, p.last_name, p.first_name, p.middle_name, c.parallel || c.letter AS class_name
          FROM group_member m JOIN person p ON p.id = m.student_id
          LEFT JOIN enrollment e ON e.student_id = p.id AND e.to_date IS NULL
          LEFT JOIN class c ON c.id = e.class_id
         WHERE m.group_id = ? AND m.to_date IS NULL
         ORDER BY p.last_name, p.first_name
        """,
        (group_id,),
    )


async def save_group(conn, year_id: int, name: str, kind: str, class_id: int | None, student_ids: list[int],
                     today: str, group_id: int | None = None) -> int:
    name = " ".join(name.split())[:100]
    if not name:
        raise SchoolError("Укажите название группы, например «5А англ. 1».")
    if kind not in GROUP_KINDS:
        raise SchoolError("Неизвестный вид группы.")
    if kind == "subgroup" and class_id is None:
        raise SchoolError("Для подгруппы укажите класс, который она делит.")
    if kind != "subgroup":
        class_id = None
    if kind in ("individual", "home") and len(student_ids) > 1:
        raise SchoolError("В группе индивидуального обучения или обучения на дому — только один учащийся.")
    if await _one(conn, "SELECT 1 FROM study_group WHERE year_id = ? AND name = ? AND id IS NOT ?",
                  (year_id, name, group_id)):
        raise SchoolError(f"Группа «{name}» в этом году уже есть.")
    if student_ids:
        marks = ",".join("?" * len(student_ids))
        enrolled = await _all(conn, f"SELECT e.student_id, e.class_id FROM enrollment e JOIN class c ON c.id = e.class_id"
                                    f" WHERE e.to_date IS NULL AND c.year_id = ? AND e.student_id IN ({marks})",
                              (year_id, *student_ids))
        found = {r["student_id"]: r["class_id"] for r in enrolled}
        if len(found) != len(set(student_ids)):
            raise SchoolError("Некоторые выбранные учащиеся не числятся ни в одном классе этого года.")
        if kind == "subgroup" and any(c != class_id for c in found.values()):
            raise SchoolError("В подгруппу можно включить только учащихся этого класса.")
    if group_id is None:
        group_id = (await conn.execute(
            "INSERT INTO study_group(year_id, name, kind, class_id) VALUES (?, ?, ?, ?)",
            (year_id, name, kind, class_id))).lastrowid
    else:
        await conn.execute("UPDATE study_group SET name = ?, kind = ?, class_id = ? WHERE id = ?",
                           (name, kind, class_id, group_id))
    await set_group_members(conn, group_id, student_ids, today)
    return group_id


async def set_group_members(conn, group_id: int, student_ids: list[int], today: str) -> None:
    """Membership becomes exactly `student_ids`; who leaves keeps their history (to_date)."""
    current = {r[0] for r in await _all(conn, "SELECT student_id FROM group_member WHERE group_id = ? AND to_date IS NULL",
                                        (group_id,))}
    wanted = set(student_ids)
    await conn.executemany(
        "UPDATE group_member SET to_date = ? WHERE group_id = ? AND student_id = ? AND to_date IS NULL",
        [(today, group_id, s) for s in current - wanted])
    await conn.executemany(
        "INSERT OR IGNORE INTO group_member(group_id, student_id, from_date) VALUES (?, ?, ?)",
        [(group_id, s, today) for s in wanted - current])


# --- the teaching load (journals) -----------------------------------------------------------

JOURNAL_TITLE_SQL = """
    s.name AS subject_name,
    coalesce(c.parallel || c.letter, g.name) AS target_name,
    t.last_name AS t_last, t.first_name AS t_first, t.middle_name AS t_middle
"""
JOURNAL_JOINS = """
    JOIN subject s ON s.id = j.subject_id
    LEFT JOIN class c ON c.id = j.class_id
    LEFT JOIN study_group g ON g.id = j.group_id
    JOIN person t ON t.id = j.teacher_id
"""


async def journals(db: Database, year_id: int, teacher_id: int | None = None) -> list[sqlite3.Row]:
    where = "AND j.teacher_id = :teacher" if teacher_id else ""
    return await db.fetchall(
        f"""
        SELECT j.*, {JOURNAL_TITLE_SQL},
               (SELECT count(*) FROM timetable_slot ts WHERE ts.journal_id = j.id) AS slots
          FROM journal j {JOURNAL_JOINS}
         WHERE j.year_id = :year AND j.archived_at IS NULL {where}
         ORDER BY coalesce(c.parallel, 99), coalesce(c.letter, g.name), s.name
        """,
        {"year": year_id, "teacher": teacher_id},
    )


async def save_journal(conn, year_id: int, subject_id: int, class_id: int | None, group_id: int | None,
                       teacher_id: int, hours: float, journal_id: int | None = None) -> int:
    if (class_id is None) == (group_id is None):
        raise SchoolError("Укажите либо класс, либо группу.")
    subject = await _one(conn, "SELECT name FROM subject WHERE id = ? AND archived_at IS NULL", (subject_id,))
    if subject is None:
        raise SchoolError("Такого предмета нет.")
    if class_id is not None and not await _one(conn, "SELECT 1 FROM class WHERE id = ? AND year_id = ?"
                                               " AND archived_at IS NULL", (class_id, year_id)):
        raise SchoolError("Такого класса в этом году нет.")
    if group_id is not None and not await _one(conn, "SELECT 1 FROM study_group WHERE id = ? AND year_id = ?"
                                               " AND archived_at IS NULL", (group_id, year_id)):
        raise SchoolError("Такой группы в этом году нет.")
    await _check_staff(conn, teacher_id, "teacher")
    dup = await _one(conn, "SELECT 1 FROM journal WHERE year_id = ? AND subject_id = ? AND class_id IS ?"
                           " AND group_id IS ? AND archived_at IS NULL AND id IS NOT ?",
                     (year_id, subject_id, class_id, group_id, journal_id))
    if dup:
        raise SchoolError(f"Нагрузка по предмету «{subject['name']}» для этого класса или группы уже есть.")
    if journal_id is None:
        return (await conn.execute(
            "INSERT INTO journal(year_id, subject_id, class_id, group_id, teacher_id, hours_per_week)"
            " VALUES (?, ?, ?, ?, ?, ?)", (year_id, subject_id, class_id, group_id, teacher_id, hours))).lastrowid
    await conn.execute("UPDATE journal SET subject_id = ?, class_id = ?, group_id = ?, teacher_id = ?,"
                       " hours_per_week = ? WHERE id = ?",
                       (subject_id, class_id, group_id, teacher_id, hours, journal_id))
    return journal_id


# --- bells and the timetable ---------------------------------------------------------------

async def bells(db: Database, year_id: int) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM bell WHERE year_id = ? ORDER BY number", (year_id,))


async def save_bell(conn, year_id: int, number: int, starts_at: str, ends_at: str) -> None:
    if starts_at >= ends_at:
        raise SchoolError(f"Урок {number}: конец должен быть позже начала.")
    clash = await _one(conn, "SELECT number FROM bell WHERE year_id = ? AND number <> ? AND starts_at < ? AND ends_at > ?",
                       (year_id, number, ends_at, starts_at))
    if clash:
        raise SchoolError(f"Урок {number}: время пересекается с уроком {clash['number']}.")
    await conn.execute("INSERT INTO bell(year_id, number, starts_at, ends_at) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT(year_id, number) DO UPDATE SET starts_at = excluded.starts_at,"
                       " ends_at = excluded.ends_at", (year_id, number, starts_at, ends_at))


async def delete_bell(conn, year_id: int, number: int) -> None:
    await conn.execute("DELETE FROM bell WHERE year_id = ? AND number = ?", (year_id, number))


# Students a journal's lessons are for: the class's current list, or the group's members.
_JOURNAL_STUDENTS = """
    SELECT e.student_id FROM journal jj JOIN enrollment e ON e.class_id = jj.class_id AND e.to_date IS NULL
     WHERE jj.id = {j}
    UNION
    SELECT m.student_id FROM journal jj JOIN group_member m ON m.group_id = jj.group_id AND m.to_date IS NULL
     WHERE jj.id = {j}
"""


async def add_slot(conn, journal_id: int, weekday: int, lesson_number: int, room: str = "") -> int:
    """Put a journal's lesson into the weekly timetable, refusing double bookings."""
    j = await _one(conn, f"SELECT j.*, g.class_id AS group_class_id, {JOURNAL_TITLE_SQL}"
                         f" FROM journal j {JOURNAL_JOINS} WHERE j.id = ?", (journal_id,))
    if j is None or j["archived_at"]:
        raise SchoolError("Такой нагрузки нет.")
    when = f"{WEEKDAYS[weekday]}, {lesson_number}-й урок"
    if await _one(conn, "SELECT 1 FROM timetable_slot WHERE journal_id = ? AND weekday = ? AND lesson_number = ?",
                  (journal_id, weekday, lesson_number)):
        raise SchoolError(f"{when}: этот урок уже стоит в расписании.")
    others = """
        SELECT ts.id, j2.id AS journal_id, j2.teacher_id, j2.class_id, j2.group_id, g2.class_id AS group_class_id,
               s2.name AS subject_name, coalesce(c2.parallel || c2.letter, g2.name) AS target_name
          FROM timetable_slot ts JOIN journal j2 ON j2.id = ts.journal_id AND j2.archived_at IS NULL
          JOIN subject s2 ON s2.id = j2.subject_id
          LEFT JOIN class c2 ON c2.id = j2.class_id LEFT JOIN study_group g2 ON g2.id = j2.group_id
         WHERE ts.weekday = ? AND ts.lesson_number = ? AND j2.id <> ?
    """
    busy = await _all(conn, others, (weekday, lesson_number, journal_id))
    if not busy:
        return await _insert_slot(conn, journal_id, weekday, lesson_number, room)
    for other in busy:
        if other["teacher_id"] == j["teacher_id"]:
            raise SchoolError(f"{when}: у учителя {j['t_last']} {j['t_first'][0]}. {j['t_middle'][:1]}. уже урок — "
                              f"{other['subject_name']}, {other['target_name']}.")
    for other in busy:
        # Whole class vs anything of that class, even before the subgroups have members.
        classes_mine = {j["class_id"], j["group_class_id"]} - {None}
        classes_other = {other["class_id"], other["group_class_id"]} - {None}
        whole_mine = j["class_id"] is not None
        whole_other = other["class_id"] is not None
        if classes_mine & classes_other and (whole_mine or whole_other):
            raise SchoolError(f"{when}: у класса уже урок — {other['subject_name']}, {other['target_name']}.")
        overlap = await _one(
            conn,
            f"SELECT count(*) AS n FROM ({_JOURNAL_STUDENTS.format(j='?')}) a"
            f" WHERE a.student_id IN ({_JOURNAL_STUDENTS.format(j='?')})",
            (journal_id, journal_id, other["journal_id"], other["journal_id"]),
        )
        if overlap["n"]:
            raise SchoolError(f"{when}: у {overlap['n']} учащихся уже урок — {other['subject_name']}, "
                              f"{other['target_name']}.")
    return await _insert_slot(conn, journal_id, weekday, lesson_number, room)


async def _insert_slot(conn, journal_id: int, weekday: int, lesson_number: int, room: str) -> int:
    return (await conn.execute(
        "INSERT INTO timetable_slot(journal_id, weekday, lesson_number, room) VALUES (?, ?, ?, ?)",
        (journal_id, weekday, lesson_number, " ".join(room.split())[:20]))).lastrowid


async def delete_slot(conn, slot_id: int) -> None:
    await conn.execute("DELETE FROM timetable_slot WHERE id = ?", (slot_id,))


async def class_timetable(db: Database, class_id: int) -> list[sqlite3.Row]:
    """The week of a class: its own journals and those of its subgroups and its students' groups."""
    return await db.fetchall(
        f"""
        SELECT ts.id, ts.weekday, ts.lesson_number, ts.room, j.id AS journal_id, {JOURNAL_TITLE_SQL}
          FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id AND j.archived_at IS NULL
          {JOURNAL_JOINS}
         WHERE j.class_id = :c OR g.class_id = :c
            OR j.group_id IN (SELECT m.group_id FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                               WHERE e.class_id = :c AND e.to_date IS NULL AND m.to_date IS NULL)
         ORDER BY ts.weekday, ts.lesson_number, s.name
        """,
        {"c": class_id},
    )


async def class_journals(db: Database, class_id: int) -> list[sqlite3.Row]:
    """Journals whose lessons a class's timetable shows: its own, its subgroups', its students' groups'."""
    return await db.fetchall(
        f"""
        SELECT DISTINCT j.id, {JOURNAL_TITLE_SQL}
          FROM journal j {JOURNAL_JOINS}
         WHERE j.archived_at IS NULL AND (j.class_id = :c OR g.class_id = :c
            OR j.group_id IN (SELECT m.group_id FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                               WHERE e.class_id = :c AND e.to_date IS NULL AND m.to_date IS NULL))
         ORDER BY s.name, target_name
        """,
        {"c": class_id},
    )


async def journal(db: Database, journal_id: int) -> sqlite3.Row | None:
    return await db.fetchone(f"SELECT j.*, {JOURNAL_TITLE_SQL} FROM journal j {JOURNAL_JOINS} WHERE j.id = ?",
                             (journal_id,))
