"""The school's structure: its details, years, periods, holidays, classes, subjects, groups,
the teaching load (journals), bells and the timetable.

Plain functions on a sqlite3 connection: reads run through `db.read(fn)`, writes through
`db.write(fn)` as one transaction. A write validates first and raises SchoolError with a
Russian message (nothing is written then); every change it makes is a ledger entry
(server/ledger.py) in the same transaction, with the acting account (`actor`)."""

from __future__ import annotations

import sqlite3
import uuid

from .. import ledger
from ..accounts.roles import STAFF
from ..timeutil import now_text, ru_date
from .errors import SchoolError
from .validate import GROUP_KINDS, PERIOD_KIND_PLURAL, PERIOD_KINDS, WEEKDAYS, ru_class_name


def _one(conn: sqlite3.Connection, sql: str, params=()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _all(conn: sqlite3.Connection, sql: str, params=()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


# --- school details ---------------------------------------------------------------

def set_up_school(conn: sqlite3.Connection, actor: int | None, name: str, address: str = "",
                  district_code: str = "", uid: str | None = None, reason: str = "") -> None:
    """The school's row, made once (an empty server's set-up, the console, the demo); if it
    is there already, only its name changes."""
    name = name.strip()[:200]
    if not name:
        raise SchoolError("Название школы не может быть пустым.", "name")
    if _one(conn, "SELECT 1 FROM school WHERE id = 1"):
        ledger.update(conn, actor, "school", 1, {"name": name}, reason)
        return
    ledger.insert(conn, actor, "school", {
        "id": 1, "uid": uid or str(uuid.uuid4()), "name": name, "address": address.strip()[:300],
        "district_code": district_code.strip()[:30], "created_at": now_text()}, reason)


def save_school(conn: sqlite3.Connection, actor: int | None, name: str, address: str, district_code: str) -> None:
    if not name.strip():
        raise SchoolError("Название школы не может быть пустым.", "name")
    ledger.update(conn, actor, "school", 1, {"name": name.strip()[:200], "address": address.strip()[:300],
                                             "district_code": district_code.strip()[:30]})


# --- years --------------------------------------------------------------------------

def years(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return _all(conn, "SELECT * FROM academic_year ORDER BY starts_on DESC")


def year(conn: sqlite3.Connection, year_id: int) -> sqlite3.Row | None:
    return _one(conn, "SELECT * FROM academic_year WHERE id = ?", (year_id,))


def open_year(conn: sqlite3.Connection) -> sqlite3.Row:
    """The open academic year, or the message that one must be created first."""
    row = _one(conn, "SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1")
    if row is None:
        raise SchoolError("Сначала создайте учебный год.")
    return row


def year_is_closed(row) -> bool:
    return bool(row["closed_at"]) or row["status"] == "closed"


def year_choice(conn: sqlite3.Connection, wanted: int | None) -> dict:
    """The year a set-up page shows and edits: the one asked for (`?year=ID`), else the current
    one, else the latest planned. `year_q` keeps the choice in the page's links and forms (empty
    for the current year); a closed year is shown read-only (`year_closed`)."""
    all_years = years(conn)
    current = next((y for y in all_years if y["status"] == "open"), None)
    chosen = next((y for y in all_years if y["id"] == wanted), None) or current or (all_years[0] if all_years else None)
    return {"year": chosen, "years": all_years, "year_closed": bool(chosen and year_is_closed(chosen)),
            "year_q": f"?year={chosen['id']}" if chosen and current and chosen["id"] != current["id"] else ""}


def check_year_open(conn: sqlite3.Connection, year_id: int | None) -> None:
    """Nothing of a closed year's structure changes: its journals are the archive (§1.4.4)."""
    row = _one(conn, "SELECT name, status, closed_at FROM academic_year WHERE id = ?", (year_id,))
    if row is not None and year_is_closed(row):
        raise SchoolError(f"Учебный год {row['name']} закрыт: его классы, группы, нагрузка и расписание не меняются.")


def latest_year_start(conn: sqlite3.Connection) -> str | None:
    row = _one(conn, "SELECT starts_on FROM academic_year ORDER BY starts_on DESC LIMIT 1")
    return row["starts_on"] if row else None


def create_year(conn: sqlite3.Connection, actor: int | None, starts_on: str, ends_on: str) -> int:
    if not starts_on < ends_on:
        raise SchoolError("Учебный год должен заканчиваться позже, чем начинается.")
    if ends_on > f"{int(starts_on[:4]) + 1}-12-31":
        raise SchoolError("Учебный год не может быть длиннее календарного года с небольшим запасом.")
    name = f"{starts_on[:4]}/{int(starts_on[:4]) + 1}"
    if _one(conn, "SELECT 1 FROM academic_year WHERE name = ?", (name,)):
        raise SchoolError(f"Учебный год {name} уже есть.")
    overlap = _one(conn, "SELECT name FROM academic_year WHERE starts_on <= ? AND ends_on >= ?", (ends_on, starts_on))
    if overlap:
        raise SchoolError(f"Даты пересекаются с учебным годом {overlap['name']}.")
    # The first year is open at once; later ones wait for the year-lifecycle step.
    has_open = _one(conn, "SELECT 1 FROM academic_year WHERE status = 'open'")
    return ledger.insert(conn, actor, "academic_year", {
        "name": name, "starts_on": starts_on, "ends_on": ends_on, "status": "planned" if has_open else "open"})


# --- periods and holidays --------------------------------------------------------------

def period_name(kind: str, number: int) -> str:
    if kind == "year":
        return "Год"
    ending = {"quarter": "я", "trimester": "й"}.get(kind, "е")  # 1-я четверть, 1-й триместр, 1-е полугодие
    return f"{number}-{ending} {PERIOD_KINDS[kind]}"


def periods(conn: sqlite3.Connection, year_id: int) -> list[sqlite3.Row]:
    return _all(conn, "SELECT * FROM study_period WHERE year_id = ?"
                      " ORDER BY CASE kind WHEN 'quarter' THEN 1 WHEN 'trimester' THEN 2 WHEN 'half' THEN 3 ELSE 4 END, number", (year_id,))


def period(conn: sqlite3.Connection, period_id: int) -> sqlite3.Row | None:
    return _one(conn, "SELECT * FROM study_period WHERE id = ?", (period_id,))


def save_period(conn: sqlite3.Connection, actor: int | None, year_id: int, kind: str, number: int, starts_on: str,
                ends_on: str, period_id: int | None = None) -> int:
    y = year(conn, year_id)
    if y is None:
        raise SchoolError("Такого учебного года нет.")
    if kind not in PERIOD_KINDS:
        raise SchoolError("Вид периода: четверть, триместр, полугодие или год.")
    limit = {"quarter": 4, "trimester": 3, "half": 2, "year": 1}[kind]
    if not 1 <= number <= limit:
        raise SchoolError(f"Номер периода «{PERIOD_KINDS[kind]}»: от 1 до {limit}.")
    if starts_on > ends_on:
        raise SchoolError("Период должен заканчиваться не раньше, чем начинается.")
    if not (y["starts_on"] <= starts_on and ends_on <= y["ends_on"]):
        raise SchoolError(
            f"{period_name(kind, number)}: даты {ru_date(starts_on)}–{ru_date(ends_on)} выходят за пределы "
            f"учебного года {y['name']} ({ru_date(y['starts_on'])}–{ru_date(y['ends_on'])})."
        )
    same = _one(conn, "SELECT id FROM study_period WHERE year_id = ? AND kind = ? AND number = ? AND id IS NOT ?",
                (year_id, kind, number, period_id))
    if same:
        raise SchoolError(f"{period_name(kind, number)} в этом году уже есть.")
    clash = _one(conn, "SELECT kind, number FROM study_period WHERE year_id = ? AND kind = ? AND id IS NOT ?"
                       " AND starts_on <= ? AND ends_on >= ?", (year_id, kind, period_id, ends_on, starts_on))
    if clash:
        raise SchoolError(f"Даты пересекаются с периодом «{period_name(clash['kind'], clash['number'])}».")
    values = {"kind": kind, "number": number, "starts_on": starts_on, "ends_on": ends_on}
    if period_id is None:
        return ledger.insert(conn, actor, "study_period", {"year_id": year_id, **values})
    ledger.update(conn, actor, "study_period", period_id, values)
    return period_id


def holidays(conn: sqlite3.Connection, year_id: int) -> list[sqlite3.Row]:
    return _all(conn, "SELECT * FROM holiday WHERE year_id = ? ORDER BY starts_on", (year_id,))


def holiday_year(conn: sqlite3.Connection, holiday_id: int) -> int | None:
    row = _one(conn, "SELECT year_id FROM holiday WHERE id = ?", (holiday_id,))
    return row[0] if row else None


def apply_calendar(conn: sqlite3.Connection, actor: int | None, year_id: int, calendar: dict) -> int:
    """Fill a year with a calendar (server/years/calendar.py's template: quarters, trimesters,
    half-years, the year and the holidays) in one transaction: only periods the year lacks and
    holidays that overlap none it has; each is then edited as any other. Returns how many were added."""
    y = year(conn, year_id)
    if y is None:
        raise SchoolError("Такого учебного года нет.")
    if y["status"] == "closed":
        raise SchoolError("Учебный год закрыт: его календарь не меняют.")
    added = 0
    for p in calendar["periods"]:
        if _one(conn, "SELECT 1 FROM study_period WHERE year_id = ? AND kind = ? AND number = ?",
                (year_id, p["kind"], p["number"])):
            continue
        save_period(conn, actor, year_id, p["kind"], p["number"], p["starts_on"], p["ends_on"])
        added += 1
    for h in calendar["holidays"]:
        if _one(conn, "SELECT 1 FROM holiday WHERE year_id = ? AND starts_on <= ? AND ends_on >= ?",
                (year_id, h["ends_on"], h["starts_on"])):
            continue
        add_holiday(conn, actor, year_id, h["name"], h["starts_on"], h["ends_on"])
        added += 1
    return added


def add_holiday(conn: sqlite3.Connection, actor: int | None, year_id: int, name: str, starts_on: str,
                ends_on: str) -> int:
    y = year(conn, year_id)
    if y is None:
        raise SchoolError("Такого учебного года нет.")
    name = " ".join(name.split())[:100]
    if not name:
        raise SchoolError("Укажите название каникул, например «Осенние каникулы».")
    if starts_on > ends_on:
        raise SchoolError("Каникулы должны заканчиваться не раньше, чем начинаются.")
    if not (y["starts_on"] <= starts_on and ends_on <= y["ends_on"]):
        raise SchoolError(f"Каникулы выходят за пределы учебного года {y['name']}.")
    clash = _one(conn, "SELECT name FROM holiday WHERE year_id = ? AND starts_on <= ? AND ends_on >= ?",
                 (year_id, ends_on, starts_on))
    if clash:
        raise SchoolError(f"Даты пересекаются с каникулами «{clash['name']}».")
    return ledger.insert(conn, actor, "holiday", {"year_id": year_id, "name": name, "starts_on": starts_on,
                                                  "ends_on": ends_on})


def delete_holiday(conn: sqlite3.Connection, actor: int | None, holiday_id: int) -> None:
    ledger.delete(conn, actor, "holiday", holiday_id)


# --- classes ---------------------------------------------------------------------------

def classes(conn: sqlite3.Connection, year_id: int, include_archived: bool = False) -> list[sqlite3.Row]:
    return _all(conn, f"""
        SELECT c.*, c.parallel || c.letter AS name,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle,
               (SELECT count(*) FROM enrollment e WHERE e.class_id = c.id AND e.to_date IS NULL) AS students
          FROM class c LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE c.year_id = ? {"" if include_archived else "AND c.archived_at IS NULL"}
         ORDER BY c.parallel, c.letter
        """, (year_id,))


def live_class(conn: sqlite3.Connection, class_id: int) -> sqlite3.Row | None:
    """A class that is not archived, with its name."""
    return _one(conn, "SELECT c.*, c.parallel || c.letter AS name FROM class c WHERE c.id = ? AND c.archived_at IS NULL",
                (class_id,))


def class_year(conn: sqlite3.Connection, class_id: int) -> int | None:
    row = _one(conn, "SELECT year_id FROM class WHERE id = ?", (class_id,))
    return row[0] if row else None


def staff_people(conn: sqlite3.Connection, role: str | None = None) -> list[sqlite3.Row]:
    """People holding a staff role (for choosing a class teacher or a teacher)."""
    roles = (role,) if role else tuple(STAFF - {"class_teacher"})
    marks = ",".join("?" * len(roles))
    return _all(conn, f"""
        SELECT DISTINCT p.id, p.last_name, p.first_name, p.middle_name, p.position
          FROM person p JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id
         WHERE r.role IN ({marks}) AND p.archived_at IS NULL
         ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU
        """, roles)


def _check_staff(conn: sqlite3.Connection, person_id: int | None, role: str | None = None) -> None:
    if person_id is None:
        return
    roles = (role,) if role else tuple(STAFF - {"class_teacher"})
    marks = ",".join("?" * len(roles))
    ok = _one(conn, f"SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id"
                    f" JOIN person p ON p.id = a.person_id"
                    f" WHERE a.person_id = ? AND r.role IN ({marks}) AND p.archived_at IS NULL", (person_id, *roles))
    if not ok:
        what = "учителем" if role == "teacher" else "сотрудником школы"
        raise SchoolError(f"Выбранный человек не является {what}.")


def save_class(conn: sqlite3.Connection, actor: int | None, year_id: int, parallel: int, letter: str,
               class_teacher_id: int | None, period_kind: str | None = None, class_id: int | None = None) -> int:
    name = ru_class_name(parallel, letter)
    if year(conn, year_id) is None:
        raise SchoolError("Такого учебного года нет.")
    check_year_open(conn, year_id)
    if _one(conn, "SELECT 1 FROM class WHERE year_id = ? AND parallel = ? AND letter = ? AND id IS NOT ?",
            (year_id, parallel, letter, class_id)):
        raise SchoolError(f"Класс {name} в этом учебном году уже есть.")
    _check_staff(conn, class_teacher_id)
    if period_kind is not None and period_kind not in PERIOD_KIND_PLURAL:
        raise SchoolError("Класс учится по четвертям, триместрам или полугодиям.")
    if class_teacher_id is not None:
        other = _one(conn, "SELECT parallel || letter AS name FROM class WHERE year_id = ?"
                           " AND class_teacher_id = ? AND archived_at IS NULL AND id IS NOT ?",
                     (year_id, class_teacher_id, class_id))
        if other:
            raise SchoolError(f"Этот учитель уже классный руководитель {other['name']}.")
    values = {"parallel": parallel, "letter": letter, "class_teacher_id": class_teacher_id,
              "period_kind": period_kind or ("half" if parallel >= 10 else "quarter")}
    if class_id is None:
        return ledger.insert(conn, actor, "class", {"year_id": year_id, **values})
    ledger.update(conn, actor, "class", class_id, values)
    return class_id


def archive_class(conn: sqlite3.Connection, actor: int | None, class_id: int) -> None:
    check_year_open(conn, class_year(conn, class_id))
    if _one(conn, "SELECT 1 FROM enrollment WHERE class_id = ? AND to_date IS NULL", (class_id,)):
        raise SchoolError("В классе есть учащиеся: сначала переведите их в другой класс.")
    ledger.update(conn, actor, "class", class_id, {"archived_at": now_text()})


# --- subjects ----------------------------------------------------------------------------

def subjects(conn: sqlite3.Connection, include_archived: bool = False) -> list[sqlite3.Row]:
    where = "" if include_archived else "WHERE archived_at IS NULL"
    return _all(conn, f"SELECT * FROM subject {where} ORDER BY name COLLATE RU")


def save_subject(conn: sqlite3.Connection, actor: int | None, name: str, short_name: str = "",
                 subject_id: int | None = None) -> int:
    name = " ".join(name.split())[:100]
    if not name:
        raise SchoolError("Укажите название предмета.")
    # SQLite's NOCASE folds only Latin letters: compare Russian names in Python.
    for row in _all(conn, "SELECT id, name FROM subject WHERE id IS NOT ?", (subject_id,)):
        if row["name"].casefold() == name.casefold():
            raise SchoolError(f"Предмет «{row['name']}» уже есть.")
    values = {"name": name, "short_name": " ".join(short_name.split())[:20]}
    if subject_id is None:
        return ledger.insert(conn, actor, "subject", values)
    ledger.update(conn, actor, "subject", subject_id, values)
    return subject_id


def set_archived(conn: sqlite3.Connection, actor: int | None, table: str, row_id: int, archived: bool) -> None:
    assert table in ("subject", "study_group", "journal", "class")
    if table != "subject":
        row = _one(conn, f"SELECT year_id FROM {table} WHERE id = ?", (row_id,))
        check_year_open(conn, row[0] if row else None)
    ledger.update(conn, actor, table, row_id, {"archived_at": now_text() if archived else None})


# --- groups -------------------------------------------------------------------------------

def groups(conn: sqlite3.Connection, year_id: int) -> list[sqlite3.Row]:
    return _all(conn, """
        SELECT g.*, c.parallel || c.letter AS class_name,
               (SELECT count(*) FROM group_member m WHERE m.group_id = g.id AND m.to_date IS NULL) AS members
          FROM study_group g LEFT JOIN class c ON c.id = g.class_id
         WHERE g.year_id = ? AND g.archived_at IS NULL
         ORDER BY g.kind, g.name COLLATE RU
        """, (year_id,))


def group(conn: sqlite3.Connection, group_id: int) -> sqlite3.Row | None:
    """A group that is not archived, with the name of the class it divides."""
    return _one(conn, "SELECT g.*, c.parallel || c.letter AS class_name FROM study_group g"
                      " LEFT JOIN class c ON c.id = g.class_id WHERE g.id = ? AND g.archived_at IS NULL", (group_id,))


def group_members(conn: sqlite3.Connection, group_id: int) -> list[sqlite3.Row]:
    return _all(conn, """
        SELECT p.id, p.last_name, p.first_name, p.middle_name, c.parallel || c.letter AS class_name
          FROM group_member m JOIN person p ON p.id = m.student_id
          LEFT JOIN enrollment e ON e.student_id = p.id AND e.to_date IS NULL
          LEFT JOIN class c ON c.id = e.class_id
         WHERE m.group_id = ? AND m.to_date IS NULL
         ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU
        """, (group_id,))


def members_of_groups(conn: sqlite3.Connection, group_ids: list[int]) -> dict[int, list[int]]:
    """{group: its current members' ids}, in group_members' order, in one query."""
    members: dict[int, list[int]] = {g: [] for g in group_ids}
    if group_ids:
        for m in _all(conn, "SELECT m.group_id, m.student_id FROM group_member m JOIN person p ON p.id = m.student_id"
                            f" WHERE m.group_id IN ({','.join('?' * len(group_ids))}) AND m.to_date IS NULL"
                            " ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU", group_ids):
            members[m["group_id"]].append(m["student_id"])
    return members


def save_group(conn: sqlite3.Connection, actor: int | None, year_id: int, name: str, kind: str,
               class_id: int | None, student_ids: list[int], today: str, group_id: int | None = None) -> int:
    name = " ".join(name.split())[:100]
    if not name:
        raise SchoolError("Укажите название группы, например «5А англ. 1».")
    if kind not in GROUP_KINDS:
        raise SchoolError("Неизвестный вид группы.")
    check_year_open(conn, year_id)
    if kind == "subgroup" and class_id is None:
        raise SchoolError("Для подгруппы укажите класс, который она делит.")
    if kind != "subgroup":
        class_id = None
    if kind in ("individual", "home") and len(student_ids) > 1:
        raise SchoolError("В группе индивидуального обучения или обучения на дому — только один учащийся.")
    if _one(conn, "SELECT 1 FROM study_group WHERE year_id = ? AND name = ? AND id IS NOT ?", (year_id, name, group_id)):
        raise SchoolError(f"Группа «{name}» в этом году уже есть.")
    if student_ids:
        marks = ",".join("?" * len(student_ids))
        enrolled = _all(conn, f"SELECT e.student_id, e.class_id FROM enrollment e JOIN class c ON c.id = e.class_id"
                              f" WHERE e.to_date IS NULL AND c.year_id = ? AND e.student_id IN ({marks})",
                        (year_id, *student_ids))
        found = {r["student_id"]: r["class_id"] for r in enrolled}
        if len(found) != len(set(student_ids)):
            raise SchoolError("Некоторые выбранные учащиеся не числятся ни в одном классе этого года.")
        if kind == "subgroup" and any(c != class_id for c in found.values()):
            raise SchoolError("В подгруппу можно включить только учащихся этого класса.")
    values = {"name": name, "kind": kind, "class_id": class_id}
    if group_id is None:
        group_id = ledger.insert(conn, actor, "study_group", {"year_id": year_id, **values})
    else:
        ledger.update(conn, actor, "study_group", group_id, values)
    set_group_members(conn, actor, group_id, student_ids, today)
    return group_id


def set_group_members(conn: sqlite3.Connection, actor: int | None, group_id: int, student_ids: list[int],
                      today: str) -> None:
    """Membership becomes exactly `student_ids`; who leaves keeps their history (to_date)."""
    current = {r[0] for r in _all(conn, "SELECT student_id FROM group_member WHERE group_id = ? AND to_date IS NULL",
                                  (group_id,))}
    wanted = set(student_ids)
    if current == wanted:
        return
    before = ledger.states(conn, "group_member", "group_id = ?", (group_id,))
    conn.executemany("UPDATE group_member SET to_date = ? WHERE group_id = ? AND student_id = ? AND to_date IS NULL",
                     [(today, group_id, s) for s in sorted(current - wanted)])
    conn.executemany("INSERT OR IGNORE INTO group_member(group_id, student_id, from_date) VALUES (?, ?, ?)",
                     [(group_id, s, today) for s in sorted(wanted - current)])
    ledger.record_changes(conn, actor, "group_member", before,
                          ledger.states(conn, "group_member", "group_id = ?", (group_id,)))


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


def journals(conn: sqlite3.Connection, year_id: int, teacher_id: int | None = None) -> list[sqlite3.Row]:
    where = "AND j.teacher_id = :teacher" if teacher_id else ""
    return _all(conn, f"""
        SELECT j.*, {JOURNAL_TITLE_SQL}, t.archived_at AS teacher_left_at,
               (SELECT count(*) FROM timetable_slot ts WHERE ts.journal_id = j.id) AS slots
          FROM journal j {JOURNAL_JOINS}
         WHERE j.year_id = :year AND j.archived_at IS NULL {where}
         ORDER BY coalesce(c.parallel, 99), coalesce(c.letter, g.name), s.name COLLATE RU
        """, {"year": year_id, "teacher": teacher_id})


def save_journal(conn: sqlite3.Connection, actor: int | None, year_id: int, subject_id: int, class_id: int | None,
                 group_id: int | None, teacher_id: int, hours: float, journal_id: int | None = None) -> int:
    if (class_id is None) == (group_id is None):
        raise SchoolError("Укажите либо класс, либо группу.")
    check_year_open(conn, year_id)
    subject = _one(conn, "SELECT name FROM subject WHERE id = ? AND archived_at IS NULL", (subject_id,))
    if subject is None:
        raise SchoolError("Такого предмета нет.")
    if class_id is not None and not _one(conn, "SELECT 1 FROM class WHERE id = ? AND year_id = ?"
                                               " AND archived_at IS NULL", (class_id, year_id)):
        raise SchoolError("Такого класса в этом году нет.")
    if group_id is not None and not _one(conn, "SELECT 1 FROM study_group WHERE id = ? AND year_id = ?"
                                               " AND archived_at IS NULL", (group_id, year_id)):
        raise SchoolError("Такой группы в этом году нет.")
    _check_staff(conn, teacher_id, "teacher")
    dup = _one(conn, "SELECT 1 FROM journal WHERE year_id = ? AND subject_id = ? AND class_id IS ?"
                     " AND group_id IS ? AND archived_at IS NULL AND id IS NOT ?",
               (year_id, subject_id, class_id, group_id, journal_id))
    if dup:
        raise SchoolError(f"Нагрузка по предмету «{subject['name']}» для этого класса или группы уже есть.")
    values = {"subject_id": subject_id, "class_id": class_id, "group_id": group_id, "teacher_id": teacher_id,
              "hours_per_week": hours}
    if journal_id is None:
        return ledger.insert(conn, actor, "journal", {"year_id": year_id, **values})
    ledger.update(conn, actor, "journal", journal_id, values)
    return journal_id


# --- bells and the timetable ---------------------------------------------------------------

def bells(conn: sqlite3.Connection, year_id: int) -> list[sqlite3.Row]:
    return _all(conn, "SELECT * FROM bell WHERE year_id = ? ORDER BY number", (year_id,))


def _check_bell(conn: sqlite3.Connection, year_id: int, number: int, starts_at: str, ends_at: str) -> None:
    if starts_at >= ends_at:
        raise SchoolError(f"Урок {number}: конец должен быть позже начала.")
    clash = _one(conn, "SELECT number FROM bell WHERE year_id = ? AND number <> ? AND starts_at < ? AND ends_at > ?",
                 (year_id, number, ends_at, starts_at))
    if clash:
        raise SchoolError(f"Урок {number}: время пересекается с уроком {clash['number']}.")


_UPSERT_BELL = ("INSERT INTO bell(year_id, number, starts_at, ends_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(year_id, number) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at")


def save_bell(conn: sqlite3.Connection, actor: int | None, year_id: int, number: int, starts_at: str,
              ends_at: str) -> None:
    check_year_open(conn, year_id)
    _check_bell(conn, year_id, number, starts_at, ends_at)
    where = ("year_id = ? AND number = ?", (year_id, number))
    before = ledger.states(conn, "bell", *where)
    conn.execute(_UPSERT_BELL, (year_id, number, starts_at, ends_at))
    ledger.record_changes(conn, actor, "bell", before, ledger.states(conn, "bell", *where))


def set_bells(conn: sqlite3.Connection, actor: int | None, year_id: int, rows: list[tuple[int, str, str]],
              numbers: range) -> None:
    """The lessons `numbers` of the bell schedule become `rows` — (number, start, end) — all at
    once: each row is checked against the rows saved before it, and the ledger gets only what
    differs from before (saving the form unchanged records nothing)."""
    check_year_open(conn, year_id)
    where = ("year_id = ? AND number BETWEEN ? AND ?", (year_id, numbers.start, numbers.stop - 1))
    before = ledger.states(conn, "bell", *where)
    conn.execute("DELETE FROM bell WHERE " + where[0], where[1])
    for n, start, end in rows:
        _check_bell(conn, year_id, n, start, end)
        conn.execute(_UPSERT_BELL, (year_id, n, start, end))
    ledger.record_changes(conn, actor, "bell", before, ledger.states(conn, "bell", *where))


# Students a journal's lessons are for: the class's current list, or the group's members.
_JOURNAL_STUDENTS = """
    SELECT e.student_id FROM journal jj JOIN enrollment e ON e.class_id = jj.class_id AND e.to_date IS NULL
     WHERE jj.id = {j}
    UNION
    SELECT m.student_id FROM journal jj JOIN group_member m ON m.group_id = jj.group_id AND m.to_date IS NULL
     WHERE jj.id = {j}
"""


def add_slot(conn: sqlite3.Connection, actor: int | None, journal_id: int, weekday: int, lesson_number: int,
             room: str = "") -> int:
    """Put a journal's lesson into the weekly timetable, refusing double bookings."""
    j = _one(conn, f"SELECT j.*, g.class_id AS group_class_id, {JOURNAL_TITLE_SQL}"
                   f" FROM journal j {JOURNAL_JOINS} WHERE j.id = ?", (journal_id,))
    if j is None or j["archived_at"]:
        raise SchoolError("Такой нагрузки нет.")
    check_year_open(conn, j["year_id"])
    when = f"{WEEKDAYS[weekday]}, {lesson_number}-й урок"
    if _one(conn, "SELECT 1 FROM timetable_slot WHERE journal_id = ? AND weekday = ? AND lesson_number = ?",
            (journal_id, weekday, lesson_number)):
        raise SchoolError(f"{when}: этот урок уже стоит в расписании.")
    others = """
        SELECT ts.id, j2.id AS journal_id, j2.teacher_id, j2.class_id, j2.group_id, g2.class_id AS group_class_id,
               s2.name AS subject_name, coalesce(c2.parallel || c2.letter, g2.name) AS target_name
          FROM timetable_slot ts JOIN journal j2 ON j2.id = ts.journal_id AND j2.archived_at IS NULL
          JOIN subject s2 ON s2.id = j2.subject_id
          LEFT JOIN class c2 ON c2.id = j2.class_id LEFT JOIN study_group g2 ON g2.id = j2.group_id
         WHERE ts.weekday = ? AND ts.lesson_number = ? AND j2.id <> ? AND j2.year_id = ?
    """
    busy = _all(conn, others, (weekday, lesson_number, journal_id, j["year_id"]))
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
        overlap = _one(conn, f"SELECT count(*) AS n FROM ({_JOURNAL_STUDENTS.format(j='?')}) a"
                             f" WHERE a.student_id IN ({_JOURNAL_STUDENTS.format(j='?')})",
                       (journal_id, journal_id, other["journal_id"], other["journal_id"]))
        if overlap["n"]:
            raise SchoolError(f"{when}: у {overlap['n']} учащихся уже урок — {other['subject_name']}, "
                              f"{other['target_name']}.")
    return ledger.insert(conn, actor, "timetable_slot", {"journal_id": journal_id, "weekday": weekday,
                                                         "lesson_number": lesson_number,
                                                         "room": " ".join(room.split())[:20]})


def delete_slot(conn: sqlite3.Connection, actor: int | None, slot_id: int) -> None:
    row = _one(conn, "SELECT j.year_id FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id WHERE ts.id = ?",
               (slot_id,))
    check_year_open(conn, row[0] if row else None)
    ledger.delete(conn, actor, "timetable_slot", slot_id)


def class_timetable(conn: sqlite3.Connection, class_id: int) -> list[sqlite3.Row]:
    """The week of a class: its own journals and those of its subgroups and its students' groups."""
    return _all(conn, f"""
        SELECT ts.id, ts.weekday, ts.lesson_number, ts.room, j.id AS journal_id, {JOURNAL_TITLE_SQL}
          FROM timetable_slot ts JOIN journal j ON j.id = ts.journal_id AND j.archived_at IS NULL
          {JOURNAL_JOINS}
         WHERE j.class_id = :c OR g.class_id = :c
            OR j.group_id IN (SELECT m.group_id FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                               WHERE e.class_id = :c AND e.to_date IS NULL AND m.to_date IS NULL)
         ORDER BY ts.weekday, ts.lesson_number, s.name COLLATE RU
        """, {"c": class_id})


def class_journals(conn: sqlite3.Connection, class_id: int) -> list[sqlite3.Row]:
    """Journals whose lessons a class's timetable shows: its own, its subgroups', its students' groups'."""
    return _all(conn, f"""
        SELECT DISTINCT j.id, {JOURNAL_TITLE_SQL}
          FROM journal j {JOURNAL_JOINS}
         WHERE j.archived_at IS NULL AND (j.class_id = :c OR g.class_id = :c
            OR j.group_id IN (SELECT m.group_id FROM group_member m JOIN enrollment e ON e.student_id = m.student_id
                               WHERE e.class_id = :c AND e.to_date IS NULL AND m.to_date IS NULL))
         ORDER BY s.name COLLATE RU, target_name COLLATE RU
        """, {"c": class_id})


def journal(conn: sqlite3.Connection, journal_id: int) -> sqlite3.Row | None:
    return _one(conn, f"SELECT j.*, {JOURNAL_TITLE_SQL} FROM journal j {JOURNAL_JOINS} WHERE j.id = ?", (journal_id,))
