"""Reading the school for other areas (home page, diary, messages, credentials): plain
functions on a sqlite3 connection, run with `db.read(fn, …)` or inside the caller's own read."""

from __future__ import annotations

import sqlite3

from .. import clock

# A class's name as people say it: 5А, 11Б.
CLASS_NAME_SQL = "(c.parallel || c.letter)"
# Enrolment that is current on :today (the program's clock, passed as a parameter).
CURRENT_ENROLLMENT = "e.from_date <= :today AND (e.to_date IS NULL OR e.to_date >= :today)"


def _today() -> str:
    return clock.today().isoformat()


def school(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM school WHERE id = 1").fetchone()


def current_year(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1").fetchone()


def classes_of_class_teacher(conn: sqlite3.Connection, person_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        f"""
        SELECT c.id, {CLASS_NAME_SQL} AS name, y.name AS year_name,
               (SELECT count(*) FROM enrollment e WHERE e.class_id = c.id AND {CURRENT_ENROLLMENT}) AS students,
               (SELECT count(DISTINCT g.parent_id) FROM guardian g JOIN enrollment e ON e.student_id = g.student_id
                 WHERE e.class_id = c.id AND {CURRENT_ENROLLMENT} AND g.consent_at IS NULL) AS parents_without_consent
          FROM class c JOIN academic_year y ON y.id = c.year_id
         WHERE c.class_teacher_id = :person AND c.archived_at IS NULL AND y.status = 'open'
         ORDER BY c.parallel, c.letter
        """,
        {"person": person_id, "today": _today()},
    ).fetchall()


def children_of(conn: sqlite3.Connection, parent_id: int) -> list[sqlite3.Row]:
    """The parent's children whose data the parent may see (consent recorded, §4.1.1)."""
    return conn.execute(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.middle_name,
               {CLASS_NAME_SQL} AS class_name, c.id AS class_id,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle
          FROM guardian g
          JOIN person p ON p.id = g.student_id
          LEFT JOIN enrollment e ON e.student_id = p.id AND {CURRENT_ENROLLMENT}
          LEFT JOIN class c ON c.id = e.class_id
          LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE g.parent_id = :parent AND g.consent_at IS NOT NULL
         ORDER BY p.birth_date, p.first_name COLLATE RU
        """,
        {"parent": parent_id, "today": _today()},
    ).fetchall()


def student_card(conn: sqlite3.Connection, student_id: int) -> sqlite3.Row | None:
    return conn.execute(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.middle_name,
               {CLASS_NAME_SQL} AS class_name, c.id AS class_id,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle
          FROM student s JOIN person p ON p.id = s.person_id
          LEFT JOIN enrollment e ON e.student_id = p.id AND {CURRENT_ENROLLMENT}
          LEFT JOIN class c ON c.id = e.class_id
          LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE s.person_id = :student
        """,
        {"student": student_id, "today": _today()},
    ).fetchone()


def class_info(conn: sqlite3.Connection, class_id: int) -> sqlite3.Row | None:
    return conn.execute(
        f"""
        SELECT c.id, {CLASS_NAME_SQL} AS name, c.class_teacher_id, y.name AS year_name, y.status AS year_status,
               t.last_name AS ct_last, t.first_name AS ct_first, t.middle_name AS ct_middle
          FROM class c JOIN academic_year y ON y.id = c.year_id
          LEFT JOIN person t ON t.id = c.class_teacher_id
         WHERE c.id = ?
        """,
        (class_id,),
    ).fetchone()


def class_roster(conn: sqlite3.Connection, class_id: int) -> list[sqlite3.Row]:
    """Students now in the class with their parents, alphabetical."""
    return conn.execute(
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
         WHERE e.class_id = :class AND {CURRENT_ENROLLMENT}
         ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU
        """,
        {"class": class_id, "today": _today()},
    ).fetchall()


def school_counts(conn: sqlite3.Connection) -> sqlite3.Row:
    return conn.execute(
        f"""
        SELECT (SELECT count(*) FROM class c JOIN academic_year y ON y.id = c.year_id
                 WHERE y.status = 'open' AND c.archived_at IS NULL) AS classes,
               (SELECT count(DISTINCT e.student_id) FROM enrollment e WHERE {CURRENT_ENROLLMENT}) AS students,
               (SELECT count(DISTINCT r.account_id) FROM account_role r
                 WHERE r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff')) AS staff,
               (SELECT count(DISTINCT parent_id) FROM guardian) AS parents,
               (SELECT count(DISTINCT parent_id) FROM guardian WHERE consent_at IS NOT NULL) AS parents_consented
        """,
        {"today": _today()},
    ).fetchone()
