"""`zhurnal demo`: a deterministic, realistic school for trying Zhurnal out.

22 classes 1А–11Б of 25 students, their parents (brothers and sisters share them),
about 40 staff. The same seed and the same date give the same school. Logins follow
DESIGN.md: director, deputy, sysadmin, teacher01… (teacher01 is the class teacher of
5А), staff01…, parent0001…, student0001…; student numbering starts in 5А so that
student0001 is in a class that gets marks (parallel 1 has none). parent0001 is the
parent of student0001 and of a younger child.

The journals come last (server/demo/journal.py): a КТП and every lesson from 1 September to
yesterday with topics, attendance, grades, homework, a few substitutions, two cancelled
lessons and the period grades of ended periods — except journal 1's (teacher01's Русский
язык, 5А) last 5 lessons before today, left empty for teacher01's to-do list and the tests.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import uuid
from dataclasses import dataclass, field, replace
from datetime import date

from .. import clock, collation
from . import journal as demo_journal
from . import school as demo_school
from ..accounts import store as accounts
from ..accounts.passwords import hash_password
from ..errors import UserError
from ..config import Settings
from ..db import Database, connect_sync, migrate
from .names import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES, feminine_surname, patronymic
from ..school import people, structure
from ..timeutil import school_year_start
from ..years import lifecycle, promotion
from ..years import routes as year_routes

DEFAULT_PASSWORD = "demo-parol"
SEED = 20260901
SCHOOL_NAME = "МБОУ «Средняя общеобразовательная школа № 7»"
DEMO = "демо-школа (zhurnal demo)"  # the reason of the ledger's entries for the people the demo makes
ORDER_NUMBER = "52-у"  # the director's order of promotion of last year's students
CLASS_ORDER = [(p, letter) for p in list(range(5, 12)) + list(range(1, 5)) for letter in "АБ"]  # 5А first, see above
STUDENTS_PER_CLASS = 25
FIRST_SURNAME = min(SURNAMES)
OTHER_SURNAMES = [s for s in SURNAMES if s != FIRST_SURNAME]

_RUS, _MATH, _ENG = "учитель русского языка и литературы", "учитель математики", "учитель английского языка"
_HIST, _PE = "учитель истории и обществознания", "учитель физической культуры"
# 26 subject teachers, as many per subject as its hours need; the first 14 become class
# teachers of 5А–11Б (teacher01, a teacher of Russian, gets 5А).
SUBJECT_POSITIONS = [
    _RUS, _MATH, _ENG, _HIST, "учитель биологии", _RUS, _MATH, _ENG, "учитель географии", "учитель физики",
    _RUS, _MATH, _ENG, "учитель химии", _RUS, _MATH, _ENG, _HIST, "учитель информатики", _PE, _ENG, _PE,
    "учитель музыки", "учитель изобразительного искусства", "учитель технологии", "учитель ОБЗР",
]


@dataclass
class Person:
    last: str
    first: str
    middle: str
    sex: str
    birth: str | None = None
    position: str | None = None
    login: str | None = None
    roles: set[str] = field(default_factory=set)
    id: int | None = None


def _adult(rng: random.Random, sex: str, last: str | None = None) -> Person:
    surname = last or rng.choice(SURNAMES)
    father = rng.choice(MALE_FIRST_NAMES)
    if sex == "м":
        return Person(surname, rng.choice(MALE_FIRST_NAMES), patronymic(father, "м"), "м")
    return Person(feminine_surname(surname), rng.choice(FEMALE_FIRST_NAMES), patronymic(father, "ж"), "ж")


def plan_school(today: date) -> dict:
    """Everything the demo holds, as plain data; no database involved."""
    rng = random.Random(SEED)
    start = school_year_start(today)
    staff: list[Person] = []

    def add_staff(sex: str, position: str, login: str, roles: set[str]) -> Person:
        p = _adult(rng, sex)
        p.position, p.login, p.roles = position, login, roles
        p.birth = date(rng.randint(1962, 1998), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        staff.append(p)
        return p

    add_staff("ж", "директор", "director", {"director"})
    add_staff("ж", "заместитель директора по учебно-воспитательной работе", "deputy", {"deputy", "teacher"})
    add_staff("м", "администратор АСУ, учитель информатики", "sysadmin", {"sysadmin", "teacher"})
    teachers = []
    for i in range(1, 35):
        position = "учитель начальных классов" if i > 26 else SUBJECT_POSITIONS[(i - 1) % len(SUBJECT_POSITIONS)]
        sex = "м" if rng.random() < 0.2 else "ж"
        teachers.append(add_staff(sex, position, f"teacher{i:02d}", {"teacher"}))
    add_staff("ж", "педагог-психолог", "staff01", {"staff"})
    add_staff("ж", "социальный педагог", "staff02", {"staff"})

    # Class teachers: subject teachers for 5–11, primary teachers for 1–4; teacher01 gets 5А.
    subject_teachers = [t for t in teachers if t.position != "учитель начальных классов"]
    primary_teachers = [t for t in teachers if t.position == "учитель начальных классов"]
    classes = []
    for parallel, letter in CLASS_ORDER:
        pool = subject_teachers if parallel >= 5 else primary_teachers
        teacher = pool.pop(0)
        classes.append({"parallel": parallel, "letter": letter, "teacher": teacher, "students": []})

    # Families: a family has 1–3 children in different parallels; parents shared.
    students: list[Person] = []
    families: list[tuple[list[Person], list[tuple[Person, str]]]] = []
    free = {(c["parallel"], c["letter"]): STUDENTS_PER_CLASS for c in classes}
    by_key = {(c["parallel"], c["letter"]): c for c in classes}
    order = list(CLASS_ORDER)
    while any(free.values()):
        key = next(k for k in order if free[k])
        # The very first family is parent0001's: two children, 5А and a younger one; its
        # surname comes first in the alphabet, so its 5А child is student0001.
        first_family = not families
        family_surname = FIRST_SURNAME if first_family else rng.choice(OTHER_SURNAMES)
        father_name = rng.choice(MALE_FIRST_NAMES)
        n_children = 1 if rng.random() < 0.75 else (2 if rng.random() < 0.85 else 3)
        if first_family:
            n_children = 2
        keys = [key]
        candidates = [k for k in order if free[k] and k[0] < key[0]] or [k for k in order if free[k] and k != key]
        rng.shuffle(candidates)
        for k in candidates:
            if len(keys) >= n_children:
                break
            if all(k[0] != other[0] for other in keys):
                keys.append(k)
        children = []
        for k in keys:
            free[k] -= 1
            sex = "м" if rng.random() < 0.5 else "ж"
            first = rng.choice(MALE_FIRST_NAMES if sex == "м" else FEMALE_FIRST_NAMES)
            last = family_surname if sex == "м" else feminine_surname(family_surname)
            born_year = start - k[0] - 6
            child = Person(last, first, patronymic(father_name, sex), sex,
                           birth=date(born_year, rng.randint(1, 12), rng.randint(1, 28)).isoformat())
            children.append(child)
            by_key[k]["students"].append(child)
        mother = _adult(rng, "ж", family_surname)
        parents = [(mother, "мать")]
        if rng.random() < 0.6:
            father = Person(family_surname, father_name, patronymic(rng.choice(MALE_FIRST_NAMES), "м"), "м")
            parents.append((father, "отец"))
        families.append((children, parents))

    # Logins in class order (5А first), then parents in the order of their first child.
    n = 0
    for c in classes:
        c["students"].sort(key=lambda s: (collation.key(s.last), collation.key(s.first)))
    for c in classes:
        for s in c["students"]:
            n += 1
            s.login, s.roles = f"student{n:04d}", {"student"}
            students.append(s)
    families.sort(key=lambda f: min(int(ch.login[7:]) for ch in f[0]))
    m = 0
    for _, parents in families:
        for p, _ in parents:
            m += 1
            p.login, p.roles = f"parent{m:04d}", {"parent"}
    return {"start": start, "staff": staff, "classes": classes, "families": families, "rng": rng}


def build_demo(settings: Settings, password: str | None) -> int:
    if settings.db_path.exists():
        raise UserError(
            f"В папке {settings.data_dir} уже есть база журнала. Демо-школа создаётся только в пустой папке: "
            "укажите другую папку параметром --data."
        )
    password = password or DEFAULT_PASSWORD
    # Built in a side folder and moved into place at the end: an interrupted build never
    # leaves a half-made school that the next `demo.sh` would take for a finished one.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    building = settings.data_dir / ".demo-building"
    shutil.rmtree(building, ignore_errors=True)
    side = replace(settings, data_dir=building)
    migrate(side.db_path)
    plan = plan_school(clock.today())
    asyncio.run(_write(side, plan, hash_password(password)))
    conn = connect_sync(side.db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file before it moves
    finally:
        conn.close()
    os.replace(side.db_path, settings.db_path)
    shutil.rmtree(building, ignore_errors=True)
    print_logins(plan, password)
    return 0


async def _write(settings: Settings, plan: dict, password_hash: str) -> None:
    """Last year first, as the school lived it: its journals, its closing in June, the
    promotion by the director's order, then this year opening on 1 September and its journals —
    the closing and the promotion through the same functions as the deputy's pages."""
    db = Database(settings.db_path, read_connections=1)
    await db.open()
    start = plan["start"]
    try:
        ids = await db.write(_build_school, plan, password_hash)
        # Last year's journals (it is the open year now): a whole year, the year grades too.
        await demo_journal.fill(db, date(start, 6, 1))
        deputy = ids["deputy_account"]
        with clock.frozen_at(f"{start}-06-05T10:00:00Z"):
            await db.write(lifecycle.close_year, deputy, ids["last_year"], "")
        with clock.frozen_at(f"{start}-06-10T11:00:00Z"):
            await db.write(promotion.save_order, deputy, ids["last_year"], ORDER_NUMBER, f"{start}-06-10", None)
            for class_id in ids["last_classes"]:
                await db.write(promotion.confirm_class, deputy, ids["last_year"], class_id, {})
            await year_routes.apply_order(db, settings, deputy, ids["last_year"], backup=False)
        with clock.frozen_at(f"{start}-08-31T12:00:00Z"):
            await db.write(_fill_groups, ids["pending_groups"], f"{start}-09-01")
        with clock.frozen_at(min(clock.parse_moment(f"{start}-09-01T06:00:00Z"), clock.now())):
            await db.write(lifecycle.schedule_opening, deputy, ids["this_year"], None, clock.today().isoformat())
            # Last year's graduates and leavers logged in until 31 August.
            await db.write(lifecycle.roll, clock.today().isoformat())
        # This year's journals: from 1 September to yesterday.
        await demo_journal.fill(db, clock.today())
    finally:
        await db.close()


def _fill_groups(conn, pending: list[tuple[int, list[int]]], from_date: str) -> None:
    """This year's groups get their students once the promotion has enrolled them."""
    for group_id, student_ids in pending:
        structure.set_group_members(conn, None, group_id, student_ids, from_date)


def _last_year_plan(plan: dict) -> dict:
    """Last year's classes: this year's classes one parallel down (1st classes were not at school
    yet), and last year's 11th classes, who graduated, with their own families. Class teachers:
    a primary teacher keeps a class from 1st to 4th, then takes a new 1st class; a subject
    teacher keeps a class from 5th to 11th, then takes a new 5th (teacher01: 11А, now 5А)."""
    rng = random.Random(SEED + 1)
    by_key = {(c["parallel"], c["letter"]): c for c in plan["classes"]}
    classes = []
    for parallel in range(1, 12):
        for letter in "АБ":
            if parallel == 11:
                teacher, students = by_key[(5, letter)]["teacher"], []
            elif parallel == 4:
                teacher, students = by_key[(1, letter)]["teacher"], by_key[(5, letter)]["students"]
            else:
                teacher, students = by_key[(parallel + 1, letter)]["teacher"], by_key[(parallel + 1, letter)]["students"]
            classes.append({"parallel": parallel, "letter": letter, "teacher": teacher, "students": students})
    n = sum(len(c["students"]) for c in plan["classes"])
    m = sum(len(p) for _, p in plan["families"])
    families = []
    for c in classes:
        if c["parallel"] != 11:
            continue
        for _ in range(STUDENTS_PER_CLASS):
            surname = rng.choice(OTHER_SURNAMES)
            sex = "м" if rng.random() < 0.5 else "ж"
            father = rng.choice(MALE_FIRST_NAMES)
            n += 1
            child = Person(surname if sex == "м" else feminine_surname(surname),
                           rng.choice(MALE_FIRST_NAMES if sex == "м" else FEMALE_FIRST_NAMES), patronymic(father, sex),
                           sex, birth=date(plan["start"] - 18, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                           login=f"student{n:04d}", roles={"student"})
            c["students"].append(child)
            m += 1
            mother = _adult(rng, "ж", surname)
            mother.login, mother.roles = f"parent{m:04d}", {"parent"}
            families.append(([child], [(mother, "мать")]))
        c["students"].sort(key=lambda s: (collation.key(s.last), collation.key(s.first)))
    return {**plan, "start": plan["start"] - 1, "classes": classes, "families": families}


def _build_school(conn, plan: dict, password_hash: str) -> dict:
    """The school, its people and its structure through the school area's own (audited)
    functions, as the sysadmin and the class teachers would have entered them: this year's
    classes and load first (their ids are the ones the docs and tests know: journal 1 is
    teacher01's Русский язык in 5А), then last year with its students enrolled, its graduates
    and their families. This year's students are enrolled by last year's promotion (the 1st
    classes directly), so their groups are filled later. The parents' consents on 1 September
    at 09:00 of last year."""
    rng: random.Random = plan["rng"]
    start = plan["start"]
    last = _last_year_plan(plan)
    consents = []
    with clock.frozen_at(f"{start - 1}-08-31T12:00:00Z"):
        structure.set_up_school(conn, None, SCHOOL_NAME, "г. Светлогорск, ул. Школьная, д. 7", "04-217",
                                uid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), reason=DEMO)
        last_year = structure.create_year(conn, None, f"{start - 1}-09-01", f"{start}-08-31")
        # This year's structure is entered first (its ids are the documented ones), dated with
        # last year's so that the ledger runs in time.
        year_id = structure.create_year(conn, None, f"{start}-09-01", f"{start + 1}-08-31")

        def add(p: Person) -> None:
            # All demo accounts share one password, so one Argon2 hash serves them all
            # (hashing ~1700 passwords one by one would take minutes on a Raspberry Pi).
            p.id = accounts.create_person(conn, None, p.last, p.first, p.middle, sex=p.sex, birth_date=p.birth,
                                          position=p.position, reason=DEMO)
            accounts.create_account(conn, None, p.id, p.login, password_hash, p.roles, False, DEMO)

        forms, links = {}, []
        for p in plan["staff"]:
            add(p)
        for c in plan["classes"]:
            c["id"] = structure.save_class(conn, None, year_id, c["parallel"], c["letter"], c["teacher"].id)
            for s in c["students"]:
                add(s)
                forms[s.login] = "очная" if rng.random() > 0.01 else "на дому"
                if c["parallel"] == 1:  # new at school: the rest come by last year's promotion
                    people.enrol(conn, None, s.id, c["id"], forms[s.login], f"{start}-09-01")
        for children, parents in plan["families"]:
            for p, relation in parents:
                add(p)
                first_family = p.login == "parent0001"
                consent = first_family or rng.random() < 0.93
                paper = not first_family and rng.random() < 0.06
                for ch in children:
                    links.append((p.id, ch, relation))  # once the child is a student (enrolled below)
                    if consent or paper:
                        consents.append((p.id, ch, consent, "paper" if paper else "electronic"))
        pending = demo_school.fill(conn, plan, year_id, plan["classes"], members=False)
    with clock.frozen_at(f"{start - 1}-08-31T12:00:00Z"):
        for c in last["classes"]:
            c["id"] = structure.save_class(conn, None, last_year, c["parallel"], c["letter"], c["teacher"].id)
            for s in c["students"]:
                if s.id is None:
                    add(s)  # a graduate: only in last year's school
                people.enrol(conn, None, s.id, c["id"], forms.get(s.login, "очная"), f"{start - 1}-09-01")
        for children, parents in last["families"]:
            for p, relation in parents:
                add(p)
                for ch in children:
                    links.append((p.id, ch, relation))
                    consents.append((p.id, ch, True, "electronic"))
        for parent_id, child, relation in links:
            people.link_parent(conn, None, parent_id, child.id, relation)
        demo_school.fill(conn, last, last_year, last["classes"])
    with clock.frozen_at(f"{start - 1}-09-01T09:00:00Z"):
        for parent_id, child, consent, diary_form in consents:
            people.record_consent(conn, None, parent_id, child.id, consent, diary_form)
    deputy = conn.execute("SELECT id FROM account WHERE login = 'deputy'").fetchone()[0]
    return {"last_year": last_year, "this_year": year_id, "deputy_account": deputy,
            "last_classes": [c["id"] for c in last["classes"]], "pending_groups": pending}


def print_logins(plan: dict, password: str) -> None:
    n_students = sum(len(c["students"]) for c in plan["classes"])
    n_parents = sum(len(p) for _, p in plan["families"])
    print(f"Демо-школа создана: {SCHOOL_NAME}")
    print(f"Классов: {len(plan['classes'])}, учащихся: {n_students}, родителей: {n_parents}, "
          f"сотрудников: {len(plan['staff'])}")
    print(f"Пароль у всех демо-пользователей: {password}")
    print("Логины:")
    for login, who in [
        ("director", "директор"), ("deputy", "заместитель директора (куратор АСУ), учитель"),
        ("sysadmin", "администратор АСУ, учитель информатики"), ("teacher01", "учитель, классный руководитель 5А"),
        ("staff01", "педагог-психолог"), ("parent0001", "родитель двоих детей (student0001 и ещё один)"),
        ("student0001", "учащийся 5А"),
    ]:
        print(f"   {login:<12} {who}")
