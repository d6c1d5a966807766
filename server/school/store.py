"""Reading the school's structure. Row-level access questions are answered here too."""

from __future__ import annotations

import sqlite3

from ..db import Database

# A class's name as people say it: 5А, 11Б.
CLASS_NAME_SQL = "(c.parallel || c.letter)"
# Enrolment that is current today.
CURRENT_ENROLLMENT = "e.from_date <= date('now', 'localtime') AND (e.to_date IS NULL OR e.to_date >= date('now', 'localtime'))"


async def school(db: Database) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM school WHERE id = 1")


async def current_year(db: Database) -> sqlite3.Row | None:
    return await db.fetchone(
        "SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1"
    )


async def classes_of_class_teacher(db: Database, person_id: int) -> list[sqlite3.Row]:
    return await db.fetchall(
        f"""
        SELECT c.id, {CLASS_NAME_SQL} AS name, y.name AS year_name,
               (SELECT count(*) FROM enrollment e WHERE e.class_id = c.id AND {CURRENT_ENROLLMENT}) AS students,
               (SELECT count(DISTINCT g.parent_id) FROM guardian g JOIN enrollment e ON e.student_id = g.student_id
                 WHERE e.class_id = c.id AND {CURRENT_ENROLLMENT} AND g.consent_at IS NULL) AS parents_without_consent
          FROM class c JOIN academic_year y ON y.id = c.year_id
         WHERE c.class_teacher_id = ? AND c.archived_at IS NULL AND y.status = 'open'
         ORDER BY c.parallel, c.letter
        """,
        (person_id,),
    )


async def children_of(db: Database, parent_id: int) -> list[sqlite3.Row]:
    """The parent's children whose data the parent may see (consent recorded, §4.1.1)."""
    return await db.fetchall(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.middle_name,
               {CLASS_NAME_SQL} AS class_name, c.id AS class_id,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle
          FROM guardian g
          JOIN person p ON p.id = g.student_id
          LEFT JOIN enrollment e ON e.student_id = p.id AND {CURRENT_ENROLLMENT}
          LEFT JOIN class c ON c.id = e.class_id
          LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE g.parent_id = ? AND g.consent_at IS NOT NULL
         ORDER BY p.birth_date, p.first_name
        """,
        (parent_id,),
    )


async def student_card(db: Database, student_id: int) -> sqlite3.Row | None:
    return await db.fetchone(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.middle_name,
               {CLASS_NAME_SQL} AS class_name, c.id AS class_id,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle
          FROM student s JOIN person p ON p.id = s.person_id
          LEFT JOIN enrollment e ON e.student_id = p.id AND {CURRENT_ENROLLMENT}
          LEFT JOIN class c ON c.id = e.class_id
          LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE s.person_id = ?
        """,
        (student_id,),
    )


async def class_info(db: Database, class_id: int) -> sqlite3.Row | None:
    return await db.fetchone(
        f"""
        SELECT c.id, {CLASS_NAME_SQL} AS name, c.class_teacher_id, y.name AS year_name,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle
          FROM class c JOIN academic_year y ON y.id = c.year_id
          LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE c.id = ?
        """,
        (class_id,),
    )


async def class_roster(db: Database, class_id: int) -> list[sqlite3.Row]:
    """Students now in the class with their parents, alphabetical."""
    return await db.fetchall(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.middle_name, p.birth_date, s.study_form,
               (SELECT group_concat(pp.last_name || ' ' || pp.first_name || ' ' || pp.middle_name
                                    || CASE WHEN g.consent_at IS NULL THEN ' (нет согласия)' ELSE '' END
                                    || CASE WHEN g.diary_form = 'paper' THEN ' (бумажный дневник)' ELSE '' END,
                                    '; ')
                  FROM guardian g JOIN person pp ON pp.id = g.parent_id
                 WHERE g.student_id = p.id) AS parents
          FROM enrollment e
          JOIN student s ON s.person_id = e.student_id
          JOIN person p ON p.id = e.student_id
         WHERE e.class_id = ? AND {CURRENT_ENROLLMENT}
         ORDER BY p.last_name, p.first_name, p.middle_name
        """,
        (class_id,),
    )


async def school_counts(db: Database) -> sqlite3.Row:
    return await db.fetchone(
        f"""
        SELECT (SELECT count(*) FROM class c JOIN academic_year y ON y.id = c.year_id
                 WHERE y.status = 'open' AND c.archived_at IS NULL) AS classes,
               (SELECT count(DISTINCT e.student_id) FROM enrollment e WHERE {CURRENT_ENROLLMENT}) AS students,
               (SELECT count(DISTINCT r.account_id) FROM account_role r
                 WHERE r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff')) AS staff,
               (SELECT count(DISTINCT parent_id) FROM guardian) AS parents,
               (SELECT count(DISTINCT parent_id) FROM guardian WHERE consent_at IS NOT NULL) AS parents_consented
        """
    )


# --- writing (used by the demo now; the structure pages come with the school issue) ---

async def insert_year(conn, name: str, starts_on: str, ends_on: str) -> int:
    cur = await conn.execute(
        "INSERT INTO academic_year(name, starts_on, ends_on, status) VALUES (?, ?, ?, 'open')",
        (name, starts_on, ends_on),
    )
    return cur.lastrowid


async def insert_class(conn, year_id: int, parallel: int, letter: str, class_teacher_id: int | None) -> int:
    cur = await conn.execute(
        "INSERT INTO class(year_id, parallel, letter, class_teacher_id) VALUES (?, ?, ?, ?)",
        (year_id, parallel, letter, class_teacher_id),
    )
    return cur.lastrowid


async def insert_students(conn, rows: list[tuple[int, str, int, str]]) -> None:
    """Make persons students and enrol them: rows of (person_id, study_form, class_id, from_date)."""
    await conn.executemany("INSERT INTO student(person_id, study_form) VALUES (?, ?)",
                           [(p, form) for p, form, _, _ in rows])
    await conn.executemany("INSERT INTO enrollment(student_id, class_id, from_date) VALUES (?, ?, ?)",
                           [(p, c, d) for p, _, c, d in rows])


async def insert_guardians(conn, rows: list[tuple[int, int, str, str | None, str]]) -> None:
    """Rows of (parent_id, student_id, relation, consent_at, diary_form)."""
    await conn.executemany(
        "INSERT INTO guardian(parent_id, student_id, relation, consent_at, diary_form) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
