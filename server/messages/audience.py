"""Who may write to whom (§3.3.3), answered on the server for every message.

Staff (teachers, class teachers, other staff, the administration) write to any staff
member, to the students they teach or lead and to those students' parents, and to whole
classes they teach or lead; the administration to every class and to the whole school.
A parent or a student writes only to the child's teachers and class teacher and to the
administration the school chose (§4.1.6) — never to other parents or to arbitrary people. Replies inside a thread are decided by the thread
(store.py). The recipient picker is built from these same queries, so it offers exactly
the people a message may be sent to.

The rules read the school's and the journal's tables (classes, enrolments, groups,
journals): they are the messages area's own question, asked nowhere else.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .. import clock
from ..accounts.store import User
from ..errors import UserError


class MessageError(UserError):
    """A message that cannot be sent or read; the message is Russian and says why."""


ADMINISTRATION = ("director", "deputy", "sysadmin")
STAFF = ("director", "deputy", "sysadmin", "teacher", "class_teacher", "staff")
KINDS = ("person", "class_parents", "class_students", "staff", "school_parents", "school_students")
KIND_LABELS = {
    "person": "Человеку",
    "class_parents": "Родителям класса",
    "class_students": "Учащимся класса",
    "staff": "Всем сотрудникам",
    "school_parents": "Всем родителям школы",
    "school_students": "Всем учащимся школы",
}

# Today's enrolments and group memberships; :today is the school's date from the one clock.
CURRENT_E = "e.from_date <= :today AND (e.to_date IS NULL OR e.to_date >= :today)"
CURRENT_GM = "gm.from_date <= :today AND (gm.to_date IS NULL OR gm.to_date >= :today)"
ACTIVE = "EXISTS (SELECT 1 FROM account ac WHERE ac.person_id = {col} AND ac.disabled_at IS NULL)"

# Classes of the open year a staff member teaches, leads or was granted; all for :admin.
MY_CLASSES = """
    SELECT c.id FROM class c JOIN academic_year y ON y.id = c.year_id
     WHERE y.status = 'open' AND c.archived_at IS NULL
       AND (:admin OR c.class_teacher_id = :me
            OR c.id IN (SELECT j.class_id FROM journal j WHERE j.teacher_id = :me AND j.archived_at IS NULL)
            OR c.id IN (SELECT g.class_id FROM journal j JOIN study_group g ON g.id = j.group_id
                         WHERE j.teacher_id = :me AND j.archived_at IS NULL)
            OR c.id IN (SELECT ca.class_id FROM class_access ca WHERE ca.person_id = :me))
"""
# Groups of the open year the staff member teaches (electives cross classes).
MY_GROUPS = """
    SELECT g.id FROM journal j JOIN study_group g ON g.id = j.group_id JOIN academic_year y ON y.id = g.year_id
     WHERE j.teacher_id = :me AND j.archived_at IS NULL AND g.archived_at IS NULL AND y.status = 'open'
"""
STAFF_PEOPLE = """
    SELECT a.person_id FROM account a JOIN account_role r ON r.account_id = a.id JOIN person p ON p.id = a.person_id
     WHERE r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff')
       AND a.disabled_at IS NULL AND p.archived_at IS NULL
"""
MY_STUDENTS = f"""
    SELECT e.student_id FROM enrollment e WHERE {CURRENT_E} AND e.class_id IN ({MY_CLASSES})
    UNION
    SELECT gm.student_id FROM group_member gm WHERE {CURRENT_GM} AND gm.group_id IN ({MY_GROUPS})
"""
# Parents may see (and so be written about) only children whose consent is recorded (§4.1.1).
MY_PARENTS = f"SELECT g.parent_id FROM guardian g WHERE g.consent_at IS NOT NULL AND g.student_id IN ({MY_STUDENTS})"
# §4.1.6: families write to the administration too — to the people the school chose to receive
# such messages (setting `family_admin_recipients`, a JSON list of roles; nobody until chosen).
FAMILY_ADMINISTRATION = """
    SELECT a.person_id FROM account a JOIN account_role r ON r.account_id = a.id JOIN person p ON p.id = a.person_id
     WHERE r.role IN (SELECT value FROM json_each(coalesce(
             (SELECT value FROM setting WHERE key = 'family_admin_recipients'), '[]')))
       AND a.disabled_at IS NULL AND p.archived_at IS NULL
"""
FAMILY_KIDS = """
    SELECT student_id FROM guardian WHERE parent_id = :me AND consent_at IS NOT NULL
    UNION SELECT person_id FROM student WHERE person_id = :me AND :student
"""
# The child's class teacher and the teachers of every journal the child is in now.
FAMILY_TEACHERS = f"""
    SELECT c.class_teacher_id AS person_id, e.student_id, NULL AS subject, c.parallel || c.letter AS class_name
      FROM enrollment e JOIN class c ON c.id = e.class_id
     WHERE {CURRENT_E} AND e.student_id IN ({FAMILY_KIDS}) AND c.class_teacher_id IS NOT NULL
    UNION ALL
    SELECT j.teacher_id, e.student_id, s.name, NULL
      FROM enrollment e JOIN journal j ON j.class_id = e.class_id JOIN subject s ON s.id = j.subject_id
     WHERE {CURRENT_E} AND e.student_id IN ({FAMILY_KIDS}) AND j.archived_at IS NULL
    UNION ALL
    SELECT j.teacher_id, gm.student_id, s.name, NULL
      FROM group_member gm JOIN journal j ON j.group_id = gm.group_id JOIN subject s ON s.id = j.subject_id
     WHERE {CURRENT_GM} AND gm.student_id IN ({FAMILY_KIDS}) AND j.archived_at IS NULL
"""


def is_staff(user: User) -> bool:
    return user.has(*STAFF)


def is_admin(user: User) -> bool:
    return user.has(*ADMINISTRATION)


def _params(user: User, **more) -> dict:
    return {"me": user.person_id, "admin": int(is_admin(user)), "student": int(user.has("student")),
            "today": clock.today().isoformat(), **more}


def allowed_sql(user: User) -> str:
    """SELECT person_id of everyone `user` may start a thread with (self excluded, accounts active)."""
    parts = []
    if is_staff(user):
        parts += [f"SELECT person_id FROM ({STAFF_PEOPLE})", f"SELECT student_id FROM ({MY_STUDENTS})",
                  f"SELECT parent_id FROM ({MY_PARENTS})"]
    if user.has("parent", "student"):
        parts.append(f"SELECT person_id FROM ({FAMILY_TEACHERS})")
        parts.append(f"SELECT person_id FROM ({FAMILY_ADMINISTRATION})")
    if not parts:
        return "SELECT NULL AS person_id WHERE 0"
    # A compound SELECT takes its column name from the first part: name it once here.
    parts[0] = parts[0].replace("SELECT person_id FROM", "SELECT person_id AS person_id FROM", 1)
    union = " UNION ".join(parts)
    return (f"SELECT x.person_id FROM ({union}) x"
            f" WHERE x.person_id <> :me AND {ACTIVE.format(col='x.person_id')}")


def _all(conn: sqlite3.Connection, sql: str, params: dict) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def may_write_to(conn: sqlite3.Connection, user: User, person_id: int) -> bool:
    rows = _all(conn, f"SELECT 1 FROM ({allowed_sql(user)}) WHERE person_id = :target",
                _params(user, target=person_id))
    return bool(rows)


def may_address_class(conn: sqlite3.Connection, user: User, class_id: int) -> bool:
    if not is_staff(user):
        return False
    rows = _all(conn, f"SELECT 1 FROM ({MY_CLASSES}) WHERE id = :cls", _params(user, cls=class_id))
    return bool(rows)


def kinds_for(user: User) -> list[str]:
    """The kinds of audience the person may start a thread with."""
    if is_admin(user):
        return list(KINDS)
    if is_staff(user):
        return ["person", "class_parents", "class_students", "staff"]
    return ["person"] if user.has("parent", "student") else []


# --- the recipient picker ----------------------------------------------------------------

@dataclass
class Contact:
    id: int
    name: str
    hint: str = ""


def _fio(r, prefix: str = "") -> str:
    return " ".join(p for p in (r[prefix + "last_name"], r[prefix + "first_name"], r[prefix + "middle_name"]) if p)


def my_classes(conn: sqlite3.Connection, user: User) -> list[sqlite3.Row]:
    if not is_staff(user):
        return []
    return _all(conn,
        f"SELECT c.id, c.parallel || c.letter AS name FROM class c WHERE c.id IN ({MY_CLASSES})"
        " ORDER BY c.parallel, c.letter", _params(user))


def picker_groups(conn: sqlite3.Connection, user: User) -> list[tuple[str, str]]:
    """(key, label) of the lists a person picks a recipient from."""
    groups: list[tuple[str, str]] = []
    if user.has("parent", "student"):
        groups.append(("teachers", "Учителя и классный руководитель"))
        if conn.execute("SELECT 1 FROM setting WHERE key = 'family_admin_recipients'").fetchone():
            groups.append(("administration", "Администрация школы"))
    if is_staff(user):
        groups.append(("staff", "Сотрудники школы"))
        groups += [(f"class:{c['id']}", f"{c['name']} класс: учащиеся и родители") for c in my_classes(conn, user)]
        groups += [(f"group:{g['id']}", f"Группа «{g['name']}»") for g in _all(conn,
            f"SELECT g.id, g.name FROM study_group g WHERE g.id IN ({MY_GROUPS}) AND g.class_id IS NULL"
            " ORDER BY g.name COLLATE RU", _params(user))]
    return groups


def family_contacts(conn: sqlite3.Connection, user: User) -> list[Contact]:
    """The child's teachers and class teacher, each with what they are to which child."""
    rows = _all(conn,
        f"""
        SELECT t.person_id, t.subject, t.class_name, k.first_name AS kid, p.last_name, p.first_name, p.middle_name
          FROM ({FAMILY_TEACHERS}) t JOIN person p ON p.id = t.person_id JOIN person k ON k.id = t.student_id
         WHERE t.person_id IN ({allowed_sql(user)})
         ORDER BY t.subject IS NOT NULL, p.last_name COLLATE RU, p.first_name COLLATE RU, t.subject
        """, _params(user))
    several = len({r["kid"] for r in rows}) > 1 and user.has("parent")
    found: dict[int, Contact] = {}
    roles: dict[int, dict[str, list[str]]] = {}  # teacher → child → what they are to the child
    for r in rows:
        found.setdefault(r["person_id"], Contact(r["person_id"], _fio(r)))
        what = f"классный руководитель {r['class_name']}" if r["subject"] is None else r["subject"]
        whats = roles.setdefault(r["person_id"], {}).setdefault(r["kid"], [])
        if what not in whats:
            whats.append(what)
    for person_id, by_kid in roles.items():
        parts = []
        for kid, whats in by_kid.items():
            # A primary-school class teacher teaches most subjects: name a few.
            text = ", ".join(whats[:3]) + (f" и ещё {len(whats) - 3}" if len(whats) > 3 else "")
            parts.append(f"{text} ({kid})" if several else text)
        found[person_id].hint = "; ".join(parts)
    return list(found.values())


def picker_people(conn: sqlite3.Connection, user: User, key: str) -> list[Contact]:
    """The people of one picker list, each one someone `user` may write to."""
    allowed = allowed_sql(user)
    if key == "teachers" and user.has("parent", "student"):
        return family_contacts(conn, user)
    if key == "administration" and user.has("parent", "student"):
        rows = _all(conn,
            f"SELECT p.id, p.last_name, p.first_name, p.middle_name, coalesce(p.position, '') AS hint"
            f" FROM person p WHERE p.id IN ({allowed}) AND p.id IN ({FAMILY_ADMINISTRATION})"
            " ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU", _params(user))
        return [Contact(r["id"], _fio(r), r["hint"]) for r in rows]
    if key == "staff" and is_staff(user):
        rows = _all(conn,
            f"SELECT p.id, p.last_name, p.first_name, p.middle_name, coalesce(p.position, '') AS hint"
            f" FROM person p WHERE p.id IN ({allowed}) AND p.id IN ({STAFF_PEOPLE})"
            " ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU", _params(user))
        return [Contact(r["id"], _fio(r), r["hint"]) for r in rows]
    kind, _, raw = key.partition(":")
    if kind not in ("class", "group") or not raw.isdigit() or not is_staff(user):
        return []
    members = (f"SELECT e.student_id FROM enrollment e WHERE {CURRENT_E} AND e.class_id = :target"
               if kind == "class" else
               f"SELECT gm.student_id FROM group_member gm WHERE {CURRENT_GM} AND gm.group_id = :target")
    # Each student, then their parents under them; only people the sender may write to.
    rows = _all(conn,
        f"""
        SELECT * FROM (
        SELECT s.id AS sid, s.last_name, s.first_name, s.middle_name, NULL AS pid,
               NULL AS p_last_name, NULL AS p_first_name, NULL AS p_middle_name, NULL AS relation
          FROM person s WHERE s.id IN ({members}) AND s.id IN ({allowed})
        UNION ALL
        SELECT s.id, s.last_name, s.first_name, s.middle_name, p.id, p.last_name, p.first_name, p.middle_name,
               g.relation
          FROM guardian g JOIN person s ON s.id = g.student_id JOIN person p ON p.id = g.parent_id
         WHERE g.student_id IN ({members}) AND g.consent_at IS NOT NULL AND p.id IN ({allowed}))
         ORDER BY last_name COLLATE RU, first_name COLLATE RU, middle_name COLLATE RU, sid, pid IS NOT NULL, p_last_name COLLATE RU
        """, _params(user, target=int(raw)))
    out = []
    for r in rows:
        if r["pid"] is None:
            out.append(Contact(r["sid"], _fio(r), "учащийся"))
        else:
            out.append(Contact(r["pid"], _fio(r, "p_"), f"{r['relation']}: {r['first_name']} {r['last_name']}"))
    return out


@dataclass
class Picker:
    """What the «new message» form offers, read in one snapshot."""

    groups: list[tuple[str, str]]
    chosen: str | None
    people: list[Contact]
    classes: list[sqlite3.Row]


def picker(conn: sqlite3.Connection, user: User, wanted: str | None, to: int | None) -> Picker:
    """The lists, the one shown (`wanted`, else the list that holds person `to` — «Написать» from
    a thread or a page —, else the first), its people, and the classes the person may address."""
    groups = picker_groups(conn, user)
    keys = [k for k, _ in groups]
    chosen = wanted if wanted in keys else (keys[0] if keys else None)
    people = picker_people(conn, user, chosen) if chosen else []
    if to is not None and chosen and not any(c.id == to for c in people):
        for key in keys:
            found = picker_people(conn, user, key)
            if any(c.id == to for c in found):
                chosen, people = key, found
                break
    return Picker(groups, chosen, people, my_classes(conn, user))


# --- recipients of a new thread ------------------------------------------------------------

def resolve(conn: sqlite3.Connection, user: User, kind: str, target: int | None) -> tuple[list[int], str, int | None]:
    """(recipient person ids, audience as shown, class id) for a new thread; MessageError if not allowed."""
    if kind not in kinds_for(user):
        raise MessageError("Так адресовать сообщение вам нельзя.")
    p = _params(user, target=target)
    class_id = None
    if kind == "person":
        if target is None or not may_write_to(conn, user, target):
            raise MessageError("Этому человеку вы написать не можете: выберите получателя из списка.")
        row = (_all(conn, "SELECT last_name, first_name, middle_name FROM person WHERE id = :target", p))[0]
        return [target], _fio(row), None
    if kind in ("class_parents", "class_students"):
        if target is None or not may_address_class(conn, user, target):
            raise MessageError("Писать всему классу может учитель этого класса, его классный руководитель"
                               " или администрация.")
        class_id = target
        name = (_all(conn, "SELECT parallel || letter AS n FROM class WHERE id = :target", p))[0]["n"]
        students = f"SELECT e.student_id FROM enrollment e WHERE {CURRENT_E} AND e.class_id = :target"
        label = f"Родителям {name}" if kind == "class_parents" else f"Учащимся {name}"
    elif kind == "staff":
        rows = _all(conn, f"SELECT person_id FROM ({STAFF_PEOPLE}) WHERE person_id <> :me", p)
        return [r[0] for r in rows], "Всем сотрудникам", None
    else:
        students = f"SELECT e.student_id FROM enrollment e WHERE {CURRENT_E}"
        label = "Всем родителям школы" if kind == "school_parents" else "Всем учащимся школы"
    if kind.endswith("parents"):
        sql = (f"SELECT DISTINCT g.parent_id FROM guardian g WHERE g.consent_at IS NOT NULL"
               f" AND g.student_id IN ({students}) AND {ACTIVE.format(col='g.parent_id')} AND g.parent_id <> :me")
    else:
        sql = f"SELECT DISTINCT s.id FROM person s WHERE s.id IN ({students}) AND {ACTIVE.format(col='s.id')}"
    return [r[0] for r in _all(conn, sql, p)], label, class_id
