"""Students, parents and staff: records, moves between classes, leaving, consent, access.

Every person gets an account at once (login made from the name, no password: nobody can
log in with it) so that roles are known from the start; credentials are issued later
(credentials.py), which is when a password first exists.

Plain functions on a sqlite3 connection (`db.read` / `db.write`). Every change of a person,
an account's roles, an enrolment, a group membership, a parent link or a consent is a
ledger entry in the same transaction, with the acting account (`actor`).
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from .. import ledger
from ..accounts import store as accounts
from ..accounts.logins import free_login
from ..accounts.roles import STORED_ROLES
from ..timeutil import now_text
from .errors import SchoolError
from .validate import RELATIONS, STUDY_FORMS

NO_PASSWORD = ""  # an account that has never had credentials issued


def _one(conn: sqlite3.Connection, sql: str, params=()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _all(conn: sqlite3.Connection, sql: str, params=()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _new_person_with_account(conn: sqlite3.Connection, actor: int | None, last: str, first: str, middle: str,
                             roles: set[str], **fields) -> int:
    person_id = accounts.create_person(conn, actor, last, first, middle, **fields)
    login = free_login(conn, last, first, middle)
    accounts.create_account(conn, actor, person_id, login, NO_PASSWORD, roles, must_change_password=True)
    return person_id


def _record_around(conn: sqlite3.Connection, actor: int | None, entity: str, where: str, params: tuple, sql: str,
                   sql_params: tuple) -> None:
    """Run one UPDATE over several rows of `entity` and record each row it changed."""
    before = ledger.states(conn, entity, where, params)
    conn.execute(sql, sql_params)
    ledger.record_changes(conn, actor, entity, before, ledger.states(conn, entity, where, params))


# --- students --------------------------------------------------------------------------

def find_student(conn: sqlite3.Connection, last: str, first: str, middle: str, birth_date: str) -> sqlite3.Row | None:
    return _one(conn, "SELECT p.id FROM person p JOIN student s ON s.person_id = p.id WHERE p.last_name = ?"
                      " AND p.first_name = ? AND p.middle_name = ? AND p.birth_date = ?",
                (last, first, middle, birth_date))


def create_student(conn: sqlite3.Connection, actor: int | None, class_id: int, last: str, first: str, middle: str,
                   birth_date: str, sex: str, study_form: str, from_date: str) -> int:
    if study_form not in STUDY_FORMS:
        raise SchoolError(f"Форма обучения: одна из {', '.join(STUDY_FORMS)}.")
    if find_student(conn, last, first, middle, birth_date):
        raise SchoolError(f"Учащийся {last} {first} {middle} ({birth_date}) уже есть в школе.")
    cls = _one(conn, "SELECT c.*, y.starts_on, y.ends_on, y.status, y.name AS year_name FROM class c"
                     " JOIN academic_year y ON y.id = c.year_id WHERE c.id = ? AND c.archived_at IS NULL", (class_id,))
    if cls is None:
        raise SchoolError("Такого класса нет.")
    if cls["status"] == "closed":
        raise SchoolError(f"Учебный год {cls['year_name']} закрыт: в его классы не зачисляют.")
    person_id = _new_person_with_account(conn, actor, last, first, middle, {"student"}, sex=sex, birth_date=birth_date)
    enrol(conn, actor, person_id, class_id, study_form, max(from_date, cls["starts_on"]))
    return person_id


def enrol(conn: sqlite3.Connection, actor: int | None, person_id: int, class_id: int, study_form: str,
          from_date: str) -> None:
    """A person with an account becomes a student of `class_id` from `from_date` (checked by the caller)."""
    ledger.insert(conn, actor, "student", {"person_id": person_id, "study_form": study_form})
    ledger.insert(conn, actor, "enrollment", {"student_id": person_id, "class_id": class_id, "from_date": from_date})


def update_student(conn: sqlite3.Connection, actor: int | None, student_id: int, last: str, first: str, middle: str,
                   birth_date: str, sex: str, study_form: str) -> None:
    if study_form not in STUDY_FORMS:
        raise SchoolError(f"Форма обучения: одна из {', '.join(STUDY_FORMS)}.")
    same = find_student(conn, last, first, middle, birth_date)
    if same and same["id"] != student_id:
        raise SchoolError(f"Учащийся {last} {first} {middle} с такой датой рождения уже есть.")
    ledger.update(conn, actor, "person", student_id, {"last_name": last, "first_name": first, "middle_name": middle,
                                                      "birth_date": birth_date, "sex": sex})
    ledger.update(conn, actor, "student", student_id, {"study_form": study_form})


def move_student(conn: sqlite3.Connection, actor: int | None, student_id: int, class_id: int, on_date: str) -> None:
    """From `on_date` the student is in `class_id`; the old class keeps them until the day before."""
    current = _one(conn, "SELECT * FROM enrollment WHERE student_id = ? AND to_date IS NULL", (student_id,))
    if current and current["class_id"] == class_id:
        raise SchoolError("Учащийся уже в этом классе.")
    if current and on_date <= current["from_date"]:
        raise SchoolError("Дата перевода должна быть позже даты зачисления в текущий класс.")
    if not _one(conn, "SELECT 1 FROM class WHERE id = ? AND archived_at IS NULL", (class_id,)):
        raise SchoolError("Такого класса нет.")
    if current:
        day_before = (date.fromisoformat(on_date) - timedelta(days=1)).isoformat()
        ledger.update(conn, actor, "enrollment", current["id"], {"to_date": day_before})
        # Subgroups of the old class do not follow the student.
        _record_around(conn, actor, "group_member", "student_id = ?", (student_id,),
                       "UPDATE group_member SET to_date = ? WHERE student_id = ? AND to_date IS NULL AND group_id IN"
                       " (SELECT id FROM study_group WHERE kind = 'subgroup' AND class_id = ?)",
                       (day_before, student_id, current["class_id"]))
    ledger.insert(conn, actor, "enrollment", {"student_id": student_id, "class_id": class_id, "from_date": on_date})
    ledger.update(conn, actor, "student", student_id, {"left_on": None, "left_reason": None})


def student_leaves(conn: sqlite3.Connection, actor: int | None, student_id: int, on_date: str, reason: str) -> None:
    """Выбытие: the student's last day is `on_date`; the history stays, the account is disabled."""
    current = _one(conn, "SELECT * FROM enrollment WHERE student_id = ? AND to_date IS NULL", (student_id,))
    if current is None:
        raise SchoolError("Учащийся уже не числится ни в одном классе.")
    if on_date < current["from_date"]:
        raise SchoolError("Дата выбытия раньше даты зачисления.")
    reason = " ".join(reason.split())[:200]
    if not reason:
        raise SchoolError("Укажите причину выбытия (например, «переезд, приказ № 12 от 01.12.2026»).")
    ledger.update(conn, actor, "enrollment", current["id"], {"to_date": on_date})
    _record_around(conn, actor, "group_member", "student_id = ?", (student_id,),
                   "UPDATE group_member SET to_date = ? WHERE student_id = ? AND to_date IS NULL", (on_date, student_id))
    ledger.update(conn, actor, "student", student_id, {"left_on": on_date, "left_reason": reason})
    _record_around(conn, actor, "account", "person_id = ?", (student_id,),
                   "UPDATE account SET disabled_at = ? WHERE person_id = ?", (now_text(), student_id))
    conn.execute("DELETE FROM session WHERE account_id IN (SELECT id FROM account WHERE person_id = ?)", (student_id,))


def student(conn: sqlite3.Connection, student_id: int) -> sqlite3.Row | None:
    return _one(conn, """
        SELECT p.*, s.study_form, s.left_on, s.left_reason, a.login,
               c.id AS class_id, c.parallel || c.letter AS class_name, c.class_teacher_id
          FROM student s JOIN person p ON p.id = s.person_id
          LEFT JOIN account a ON a.person_id = p.id
          LEFT JOIN enrollment e ON e.id = (SELECT id FROM enrollment WHERE student_id = p.id
                                              ORDER BY from_date DESC LIMIT 1)
          LEFT JOIN class c ON c.id = e.class_id
         WHERE s.person_id = ?
        """, (student_id,))


def enrollment_history(conn: sqlite3.Connection, student_id: int) -> list[sqlite3.Row]:
    return _all(conn, "SELECT e.*, c.parallel || c.letter AS class_name, y.name AS year_name FROM enrollment e"
                      " JOIN class c ON c.id = e.class_id JOIN academic_year y ON y.id = c.year_id"
                      " WHERE e.student_id = ? ORDER BY e.from_date", (student_id,))


# --- parents ----------------------------------------------------------------------------

def find_parent(conn: sqlite3.Connection, last: str, first: str, middle: str, phone: str | None) -> sqlite3.Row | None:
    """The same parent again: same name and the same phone (or, without a phone, the same name
    among the parents of the given children is checked by the caller)."""
    return _one(conn, "SELECT p.id FROM person p JOIN account a ON a.person_id = p.id"
                      " JOIN account_role r ON r.account_id = a.id"
                      " WHERE r.role = 'parent' AND p.last_name = ? AND p.first_name = ? AND p.middle_name = ?"
                      " AND coalesce(p.phone, '') = coalesce(?, '')", (last, first, middle, phone))


def find_parent_of_student(conn: sqlite3.Connection, student_id: int, last: str, first: str,
                           middle: str) -> sqlite3.Row | None:
    """A parent of this student with this name: the match when no phone is given (never by
    name alone across the school: a namesake would be shown another family's child)."""
    return _one(conn, "SELECT p.id FROM guardian g JOIN person p ON p.id = g.parent_id"
                      " WHERE g.student_id = ? AND p.last_name = ? AND p.first_name = ? AND p.middle_name = ?",
                (student_id, last, first, middle))


def create_parent(conn: sqlite3.Connection, actor: int | None, last: str, first: str, middle: str,
                  phone: str | None, email: str | None) -> int:
    return _new_person_with_account(conn, actor, last, first, middle, {"parent"}, phone=phone, email=email)


def add_parent(conn: sqlite3.Connection, actor: int | None, student_id: int, last: str, first: str, middle: str,
               phone: str | None, email: str | None, relation: str) -> int:
    """A parent typed on the student's page: the one the school has (same name and phone, or
    this student's parent of that name), else a new person; linked to the student."""
    found = (find_parent(conn, last, first, middle, phone) if phone
             else find_parent_of_student(conn, student_id, last, first, middle))
    parent_id = found["id"] if found else create_parent(conn, actor, last, first, middle, phone, email)
    link_parent(conn, actor, parent_id, student_id, relation)
    return parent_id


def link_parent(conn: sqlite3.Connection, actor: int | None, parent_id: int, student_id: int, relation: str) -> None:
    if relation not in RELATIONS:
        raise SchoolError(f"Кем приходится: одно из {', '.join(RELATIONS)}.")
    _record_around(conn, actor, "guardian", "parent_id = ? AND student_id = ?", (parent_id, student_id),
                   "INSERT INTO guardian(parent_id, student_id, relation) VALUES (?, ?, ?)"
                   " ON CONFLICT(parent_id, student_id) DO UPDATE SET relation = excluded.relation",
                   (parent_id, student_id, relation))


def unlink_parent(conn: sqlite3.Connection, actor: int | None, parent_id: int, student_id: int) -> None:
    ledger.delete(conn, actor, "guardian", (parent_id, student_id))


def update_contact(conn: sqlite3.Connection, actor: int | None, person_id: int, last: str, first: str, middle: str,
                   phone: str | None, email: str | None) -> None:
    ledger.update(conn, actor, "person", person_id, {"last_name": last, "first_name": first, "middle_name": middle,
                                                     "phone": phone, "email": email})


def parents_of(conn: sqlite3.Connection, student_id: int) -> list[sqlite3.Row]:
    return _all(conn, """
        SELECT p.id, p.last_name, p.first_name, p.middle_name, p.phone, p.email, g.relation, g.consent_at,
               g.consent_document, g.diary_form, a.login, a.password_hash <> '' AS has_credentials
          FROM guardian g JOIN person p ON p.id = g.parent_id LEFT JOIN account a ON a.person_id = p.id
         WHERE g.student_id = ?
         ORDER BY g.relation, p.last_name COLLATE RU
        """, (student_id,))


def record_consent(conn: sqlite3.Connection, actor: int | None, parent_id: int, student_id: int, consent: bool,
                   diary_form: str, document: str | None = None, withdrawal: str | None = None) -> None:
    """§4.1.1: the parent's consent to processing the child's data and the chosen diary form.

    Who recorded it and when is the ledger's entry; `document` is what it was recorded on
    (number and date as typed; None keeps the one recorded before). A recorded consent is
    withdrawn on the parent's written request: `withdrawal` (else `document`) names it and goes
    into the ledger entry's reason; the consent's document is cleared (the ledger keeps both)
    and the parent's access to the child ends at once."""
    if diary_form not in ("electronic", "paper"):
        raise SchoolError("Форма дневника: электронный или бумажный.")
    row = _one(conn, "SELECT consent_at, consent_document FROM guardian WHERE parent_id = ? AND student_id = ?",
               (parent_id, student_id))
    if row is None:
        raise SchoolError("Этот человек не записан родителем учащегося.")
    reason = ""
    if consent:
        consent_at = row["consent_at"] or now_text()
        document = row["consent_document"] if document is None else (" ".join(document.split())[:200] or None)
    else:
        if row["consent_at"]:
            request = " ".join((withdrawal or document or "").split())[:200]
            if not request:
                raise SchoolError("Согласие отзывается по письменному заявлению родителя: укажите его номер и дату "
                                  "(например, «заявление № 5 от 20.05.2027»).")
            reason = f"отзыв согласия по заявлению: {request}"
        consent_at = document = None
    ledger.update(conn, actor, "guardian", (parent_id, student_id),
                  {"consent_at": consent_at, "consent_document": document, "diary_form": diary_form}, reason)
    if not consent:
        # Without consent the parent may not see this child; if no child is left, no session either.
        left = _one(conn, "SELECT 1 FROM guardian WHERE parent_id = ? AND consent_at IS NOT NULL", (parent_id,))
        if not left:
            conn.execute("DELETE FROM session WHERE account_id IN (SELECT id FROM account WHERE person_id = ?)",
                         (parent_id,))


def class_families(conn: sqlite3.Connection, class_id: int) -> list[sqlite3.Row]:
    """Students now in the class with each parent: one row per (student, parent); parentless students too."""
    return _all(conn, """
        SELECT s.id AS student_id, s.last_name, s.first_name, s.middle_name, s.birth_date, st.study_form,
               sa.login AS student_login, sa.password_hash <> '' AS student_has_credentials,
               p.id AS parent_id, p.last_name AS p_last, p.first_name AS p_first, p.middle_name AS p_middle,
               p.phone, g.relation, g.consent_at, g.diary_form,
               pa.login AS parent_login, pa.password_hash <> '' AS parent_has_credentials
          FROM enrollment e
          JOIN person s ON s.id = e.student_id JOIN student st ON st.person_id = s.id
          LEFT JOIN account sa ON sa.person_id = s.id
          LEFT JOIN guardian g ON g.student_id = s.id
          LEFT JOIN person p ON p.id = g.parent_id
          LEFT JOIN account pa ON pa.person_id = p.id
         WHERE e.class_id = ? AND e.to_date IS NULL
         ORDER BY s.last_name COLLATE RU, s.first_name COLLATE RU, s.middle_name COLLATE RU, g.relation
        """, (class_id,))


# --- staff ------------------------------------------------------------------------------

def create_staff(conn: sqlite3.Connection, actor: int | None, last: str, first: str, middle: str, position: str,
                 roles: set[str], phone: str | None = None, email: str | None = None) -> int:
    roles = set(roles)
    if not roles or roles - (STORED_ROLES - {"parent", "student"}):
        raise SchoolError("Роли сотрудника: директор, заместитель директора, администратор АСУ, учитель, педработник.")
    exists = _one(conn, "SELECT p.id FROM person p WHERE p.last_name = ? AND p.first_name = ? AND p.middle_name = ?"
                        " AND p.position IS NOT NULL AND p.archived_at IS NULL", (last, first, middle))
    if exists:
        raise SchoolError(f"Сотрудник {last} {first} {middle} уже есть.")
    return _new_person_with_account(conn, actor, last, first, middle, roles, position=position[:100] or "сотрудник",
                                    phone=phone, email=email)


def staff_list(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return _all(conn, """
        SELECT p.id, p.last_name, p.first_name, p.middle_name, p.position, p.phone, p.email, p.archived_at,
               a.id AS account_id, a.login, a.password_hash <> '' AS has_credentials, a.disabled_at,
               (SELECT group_concat(role, ',') FROM account_role r WHERE r.account_id = a.id) AS roles,
               (SELECT group_concat(c.parallel || c.letter, ', ') FROM class c JOIN academic_year y ON y.id = c.year_id
                 WHERE c.class_teacher_id = p.id AND y.status = 'open' AND c.archived_at IS NULL) AS homeroom
          FROM person p JOIN account a ON a.person_id = p.id
         WHERE EXISTS (SELECT 1 FROM account_role r WHERE r.account_id = a.id
                        AND r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff'))
         ORDER BY p.archived_at IS NOT NULL, p.last_name COLLATE RU, p.first_name COLLATE RU
        """)


def set_staff_roles(conn: sqlite3.Connection, actor: int, person_id: int, roles: set[str]) -> None:
    """The deputy grants and revokes roles (§3.4.2); family roles are not touched here."""
    allowed = STORED_ROLES - {"parent", "student"}
    if roles - allowed:
        raise SchoolError("Недопустимая роль.")
    by_director = _one(conn, "SELECT 1 FROM account_role WHERE account_id = ? AND role = 'director'", (actor,))
    acc = _one(conn, "SELECT id FROM account WHERE person_id = ?", (person_id,))
    if acc is None:
        raise SchoolError("У этого человека нет учётной записи.")
    if acc["id"] == actor and "deputy" not in roles and _one(
            conn, "SELECT 1 FROM account_role WHERE account_id = ? AND role = 'deputy'", (acc["id"],)):
        raise SchoolError("Нельзя снять роль заместителя директора с самого себя.")
    current = {r[0] for r in _all(conn, "SELECT role FROM account_role WHERE account_id = ?", (acc["id"],))}
    appointed = (roles ^ current) & {"director", "deputy", "sysadmin"}
    if appointed and not by_director:
        # §3.1.1: the director appoints the deputy and the ASU administrator.
        raise SchoolError("Роли директора, заместителя директора и администратора АСУ назначает директор "
                          "(п. 3.1.1 Регламента).")
    accounts.change_roles(conn, actor, acc["id"], roles, allowed)


def staff_leaves(conn: sqlite3.Connection, actor: int, person_id: int, reason: str) -> None:
    """A staff member who left: their account is disabled and their person archived (both ledger
    entries, the reason with them), their sessions end. Their journals stay where they are —
    read-only (journal/access.py) until the teaching load is handed to another teacher."""
    reason = " ".join(reason.split())[:200]
    if not reason:
        raise SchoolError("Укажите основание (например, «уволилась, приказ № 45 от 20.05.2027»).")
    acc = _one(conn, "SELECT a.id, a.disabled_at FROM account a WHERE a.person_id = ? AND EXISTS"
                     " (SELECT 1 FROM account_role r WHERE r.account_id = a.id"
                     "   AND r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff'))", (person_id,))
    if acc is None:
        raise SchoolError("Такого сотрудника нет.")
    if acc["id"] == actor:
        raise SchoolError("Нельзя отключить собственную учётную запись.")
    if acc["disabled_at"]:
        raise SchoolError("Учётная запись уже отключена.")
    admin = _one(conn, "SELECT 1 FROM account_role WHERE account_id = ? AND role IN ('director', 'deputy', 'sysadmin')",
                 (acc["id"],))
    if admin and not _one(conn, "SELECT 1 FROM account_role WHERE account_id = ? AND role = 'director'", (actor,)):
        raise SchoolError("Члена администрации школы отключает директор (п. 3.1.1 Регламента).")
    now = now_text()
    ledger.update(conn, actor, "account", acc["id"], {"disabled_at": now}, reason)
    ledger.update(conn, actor, "person", person_id, {"archived_at": now}, reason)
    conn.execute("DELETE FROM session WHERE account_id = ?", (acc["id"],))


def staff_returns(conn: sqlite3.Connection, actor: int, person_id: int) -> None:
    """A staff member who left comes back: the account and the person are active again."""
    acc = _one(conn, "SELECT id, disabled_at FROM account WHERE person_id = ?", (person_id,))
    if acc is None or not acc["disabled_at"]:
        raise SchoolError("Учётная запись не отключена.")
    if _one(conn, "SELECT 1 FROM student WHERE person_id = ?", (person_id,)):
        raise SchoolError("Это учащийся: его возвращают переводом в класс на странице учащегося.")
    ledger.update(conn, actor, "account", acc["id"], {"disabled_at": None}, "возвращение на работу")
    ledger.update(conn, actor, "person", person_id, {"archived_at": None}, "возвращение на работу")


def class_access_list(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return _all(conn, """
        SELECT ca.person_id, ca.class_id, ca.granted_at, p.last_name, p.first_name, p.middle_name, p.position,
               c.parallel || c.letter AS class_name
          FROM class_access ca JOIN person p ON p.id = ca.person_id JOIN class c ON c.id = ca.class_id
         ORDER BY p.last_name COLLATE RU, c.parallel, c.letter
        """)


def grant_class_access(conn: sqlite3.Connection, actor: int, person_id: int, class_id: int) -> None:
    staff = _one(conn, "SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id"
                       " WHERE a.person_id = ? AND r.role IN ('staff', 'teacher')", (person_id,))
    if not staff:
        raise SchoolError("Доступ к классу выдаётся только педагогическим работникам.")
    if _one(conn, "SELECT 1 FROM class_access WHERE person_id = ? AND class_id = ?", (person_id, class_id)):
        return
    ledger.insert(conn, actor, "class_access", {"person_id": person_id, "class_id": class_id,
                                                "granted_at": now_text(), "granted_by": actor})


def revoke_class_access(conn: sqlite3.Connection, actor: int, person_id: int, class_id: int) -> None:
    ledger.delete(conn, actor, "class_access", (person_id, class_id))


# --- who may see and keep a class ---------------------------------------------------------

def can_read_class(conn: sqlite3.Connection, user, class_id: int) -> bool:
    """Row-level rule for a class's list and records."""
    if user.has("director", "deputy", "sysadmin"):
        return True
    row = _one(conn, "SELECT (SELECT class_teacher_id FROM class WHERE id = :c) = :p"
                     " OR EXISTS (SELECT 1 FROM class_access WHERE class_id = :c AND person_id = :p)",
               {"c": class_id, "p": user.person_id})
    return bool(row and row[0])


def readable_class_ids(conn: sqlite3.Connection, user) -> set[int] | None:
    """can_read_class for every class at once: None means all of them (the administration)."""
    if user.has("director", "deputy", "sysadmin"):
        return None
    rows = _all(conn, "SELECT id FROM class WHERE class_teacher_id = :p"
                      " UNION SELECT class_id FROM class_access WHERE person_id = :p", {"p": user.person_id})
    return {r[0] for r in rows}


def can_manage_class(conn: sqlite3.Connection, user, class_id: int) -> bool:
    """Who may change a class's list and records: the administration and its class teacher."""
    if user.has("deputy", "sysadmin"):
        return True
    return _one(conn, "SELECT 1 FROM class WHERE id = ? AND class_teacher_id = ?", (class_id, user.person_id)) is not None
