"""JSON API of the school structure (/api/v1): the same area functions as the pages.

Reads for those who may see the thing, writes for those who manage it; SchoolError
becomes 400 with its Russian message (server/web/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from .. import clock
from ..errors import Forbidden, NotFound
from ..web.access import current_user
from . import people, store, structure
from .errors import SchoolError
from .guards import CLASS_KEEPERS, CLASS_READERS, MANAGE, VIEW
from .pages import read, write
from .validate import clean_name, parse_class_name, parse_date, parse_email, parse_hours, parse_phone, parse_sex

TAGS = ["Школа"]
STAFF_ANY = {"roles": {"director", "deputy", "sysadmin", "teacher", "class_teacher", "staff"}}


def _rows(rows) -> list[dict]:
    return [dict(r) for r in rows]


class Created(msgspec.Struct):
    """Создано (или изменено): id записи."""

    id: int


class Period(msgspec.Struct):
    """Учебный период (четверть, полугодие, год): даты и когда закрыт."""

    id: int
    year_id: int
    kind: str
    number: int
    starts_on: str
    ends_on: str
    closed_at: str | None
    closed_by: int | None


class Holiday(msgspec.Struct):
    id: int
    year_id: int
    name: str
    starts_on: str
    ends_on: str


class Year(msgspec.Struct):
    """Учебный год: `status` — planned, open, closed; `current` — год, в котором живёт школа."""

    id: int
    name: str
    starts_on: str
    ends_on: str
    status: str
    closed_at: str | None
    closed_by: int | None
    opens_on: str | None
    current: bool
    periods: list[Period]
    holidays: list[Holiday]


class ClassRow(msgspec.Struct):
    """Класс текущего года: `students` — сколько учащихся в списке."""

    id: int
    name: str
    parallel: int
    letter: str
    period_kind: str
    class_teacher_id: int | None
    students: int


class Parent(msgspec.Struct):
    id: int
    last_name: str
    first_name: str
    middle_name: str | None
    relation: str | None
    consent: bool
    diary_form: str | None


class ClassStudent(msgspec.Struct):
    id: int
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: str | None
    study_form: str | None
    parents: list[Parent]


class ClassList(msgspec.Struct):
    """Класс и его список: учащиеся с родителями."""

    id: int
    name: str
    year: str
    class_teacher_id: int | None
    students: list[ClassStudent]


class Subject(msgspec.Struct):
    id: int
    name: str
    short_name: str | None
    archived_at: str | None


class Group(msgspec.Struct):
    """Группа текущего года: `members` — id учащихся в ней сейчас."""

    id: int
    year_id: int
    name: str
    kind: str
    class_id: int | None
    archived_at: str | None
    class_name: str | None
    members: list[int]


class Slot(msgspec.Struct):
    """Урок в расписании класса: день недели 1–6, номер урока, журнал; `for` — класс или группа."""

    id: int
    weekday: int
    lesson_number: int
    room: str | None
    journal_id: int
    subject: str
    for_: str = msgspec.field(name="for")


class Staff(msgspec.Struct):
    id: int
    last_name: str
    first_name: str
    middle_name: str | None
    position: str | None
    login: str | None
    roles: list[str]


class SchoolInfo(msgspec.Struct):
    """Школа: постоянный идентификатор, название, адрес, код района (для выгрузки в район)."""

    uid: str
    name: str
    address: str | None
    district_code: str | None


@get("/api/v1/school", opt=VIEW, tags=TAGS)
async def api_school(request: Request) -> SchoolInfo:
    """Сведения о школе."""
    row = await read(request, store.school)
    if row is None:
        raise NotFound("Школа ещё не создана.")
    return SchoolInfo(**{k: row[k] for k in ("uid", "name", "address", "district_code")})


@get("/api/v1/years", opt=VIEW, tags=TAGS)
async def api_years(request: Request) -> list[Year]:
    """Учебные годы с периодами и каникулами."""
    return msgspec.convert(await read(request, _years), list[Year])


def _years(conn) -> list[dict]:
    # `status` as people see it (planned, open, closed: a current year closed in June is
    # closed), `current` the year the school lives in (server/years/lifecycle.py).
    from ..years.lifecycle import state
    return [{**dict(y), "status": state(y), "current": y["status"] == "open",
             "periods": _rows(structure.periods(conn, y["id"])),
             "holidays": _rows(structure.holidays(conn, y["id"]))} for y in structure.years(conn)]


@get("/api/v1/classes", opt=CLASS_READERS, tags=TAGS)
async def api_classes(request: Request) -> list[ClassRow]:
    """Классы текущего года, которые может видеть пользователь."""
    return msgspec.convert(await read(request, _classes, current_user(request)), list[ClassRow])


def _classes(conn, user) -> list[dict]:
    rows = structure.classes(conn, structure.open_year(conn)["id"])
    readable = people.readable_class_ids(conn, user)  # one query, not one per class
    return [
        {"id": c["id"], "name": c["name"], "parallel": c["parallel"], "letter": c["letter"],
         "period_kind": c["period_kind"], "class_teacher_id": c["class_teacher_id"], "students": c["students"]}
        for c in rows if readable is None or c["id"] in readable
    ]


@get("/api/v1/classes/{class_id:int}", opt=CLASS_READERS, tags=TAGS)
async def api_class(request: Request, class_id: FromPath[int]) -> ClassList:
    """Класс и его список (ФИО, дата рождения, форма обучения, родители)."""
    return msgspec.convert(await read(request, _class, current_user(request), class_id), ClassList)


def _class(conn, user, class_id: int) -> dict:
    info = store.class_info(conn, class_id)
    if info is None:
        raise NotFound("Такого класса нет.")
    if not people.can_read_class(conn, user, class_id):
        raise Forbidden("Это не ваш класс.")
    students: dict[int, dict] = {}
    for r in people.class_families(conn, class_id):
        st = students.setdefault(r["student_id"], {
            "id": r["student_id"], "last_name": r["last_name"], "first_name": r["first_name"],
            "middle_name": r["middle_name"], "birth_date": r["birth_date"], "study_form": r["study_form"],
            "parents": []})
        if r["parent_id"]:
            st["parents"].append({"id": r["parent_id"], "last_name": r["p_last"], "first_name": r["p_first"],
                                  "middle_name": r["p_middle"], "relation": r["relation"],
                                  "consent": r["consent_at"] is not None, "diary_form": r["diary_form"]})
    return {"id": info["id"], "name": info["name"], "year": info["year_name"],
            "class_teacher_id": info["class_teacher_id"], "students": list(students.values())}


@dataclass
class ClassIn:
    name: str
    class_teacher_id: int | None = None
    period_kind: str | None = None


@post("/api/v1/classes", opt=MANAGE, tags=TAGS, status_code=201)
async def api_class_create(request: Request, data: JSONBody[ClassIn]) -> Created:
    """Создать класс в текущем учебном году."""
    parallel, letter = parse_class_name(data.name)
    return Created(await write(request, _create_class, parallel, letter, data.class_teacher_id, data.period_kind))


def _create_class(conn, actor: int, parallel: int, letter: str, class_teacher_id: int | None,
                  period_kind: str | None) -> int:
    return structure.save_class(conn, actor, structure.open_year(conn)["id"], parallel, letter, class_teacher_id,
                                period_kind)


@put("/api/v1/classes/{class_id:int}", opt=MANAGE, tags=TAGS)
async def api_class_update(request: Request, class_id: FromPath[int], data: JSONBody[ClassIn]) -> Created:
    """Изменить класс (название, классный руководитель, периоды)."""
    year_id = await read(request, structure.class_year, class_id)
    if year_id is None:
        raise NotFound("Такого класса нет.")
    parallel, letter = parse_class_name(data.name)
    await write(request, structure.save_class, year_id, parallel, letter, data.class_teacher_id, data.period_kind,
                class_id)
    return Created(class_id)


@get("/api/v1/subjects", opt=STAFF_ANY, tags=TAGS)
async def api_subjects(request: Request) -> list[Subject]:
    """Предметы."""
    return msgspec.convert(_rows(await read(request, structure.subjects)), list[Subject])


@dataclass
class SubjectIn:
    name: str
    short_name: str = ""


@post("/api/v1/subjects", opt=MANAGE, tags=TAGS, status_code=201)
async def api_subject_create(request: Request, data: JSONBody[SubjectIn]) -> Created:
    """Добавить предмет."""
    return Created(await write(request, structure.save_subject, data.name, data.short_name))


@get("/api/v1/groups", opt=VIEW, tags=TAGS)
async def api_groups(request: Request) -> list[Group]:
    """Группы текущего года с составом."""
    return msgspec.convert(await read(request, _groups), list[Group])


def _groups(conn) -> list[dict]:
    groups = structure.groups(conn, structure.open_year(conn)["id"])
    members = structure.members_of_groups(conn, [g["id"] for g in groups])  # everyone's, in one query
    return [{**dict(g), "members": members[g["id"]]} for g in groups]


@dataclass
class JournalIn:
    subject_id: int
    teacher_id: int
    hours_per_week: float
    class_id: int | None = None
    group_id: int | None = None


@post("/api/v1/journals", opt=MANAGE, tags=TAGS, status_code=201)
async def api_journal_create(request: Request, data: JSONBody[JournalIn]) -> Created:
    """Добавить нагрузку (журнал): предмет, класс или группа, учитель, часы."""
    return Created(await write(request, _create_journal, data.subject_id, data.class_id, data.group_id,
                               data.teacher_id, data.hours_per_week))


def _create_journal(conn, actor: int, subject_id: int, class_id: int | None, group_id: int | None, teacher_id: int,
                    hours: float) -> int:
    year = structure.open_year(conn)
    return structure.save_journal(conn, actor, year["id"], subject_id, class_id, group_id, teacher_id,
                                  parse_hours(hours))


@get("/api/v1/timetable", opt=CLASS_READERS, tags=TAGS)
async def api_timetable(request: Request, class_id: Annotated[int, QueryParameter(name="class_id")]) -> list[Slot]:
    """Расписание класса на неделю."""
    return msgspec.convert(await read(request, _timetable, current_user(request), class_id), list[Slot])


def _timetable(conn, user, class_id: int) -> list[dict]:
    if not people.can_read_class(conn, user, class_id):
        raise Forbidden("Это не ваш класс.")
    return [{"id": s["id"], "weekday": s["weekday"], "lesson_number": s["lesson_number"], "room": s["room"],
             "journal_id": s["journal_id"], "subject": s["subject_name"], "for": s["target_name"]}
            for s in structure.class_timetable(conn, class_id)]


@dataclass
class SlotIn:
    journal_id: int
    weekday: int
    lesson_number: int
    room: str = ""


@post("/api/v1/timetable", opt=MANAGE, tags=TAGS, status_code=201)
async def api_slot_create(request: Request, data: JSONBody[SlotIn]) -> Created:
    """Поставить урок в расписание (двойные занятия класса и учителя отклоняются)."""
    if not (1 <= data.weekday <= 6 and 0 <= data.lesson_number <= 12):
        raise SchoolError("День недели 1–6, номер урока 0–12.")
    return Created(await write(request, structure.add_slot, data.journal_id, data.weekday, data.lesson_number,
                               data.room))


@dataclass
class StudentIn:
    last_name: str
    first_name: str
    birth_date: str
    sex: str
    middle_name: str = ""
    study_form: str = "очная"
    from_date: str | None = None


@post("/api/v1/classes/{class_id:int}/students", opt=CLASS_KEEPERS, tags=TAGS, status_code=201)
async def api_student_create(request: Request, class_id: FromPath[int], data: JSONBody[StudentIn]) -> Created:
    """Зачислить учащегося в класс."""
    if not await read(request, people.can_manage_class, current_user(request), class_id):
        raise Forbidden("Список класса ведёт его классный руководитель.")
    sid = await write(request, people.create_student, class_id, clean_name(data.last_name, "Фамилия"),
                      clean_name(data.first_name, "Имя"), clean_name(data.middle_name, "Отчество", False),
                      parse_date(data.birth_date, "Дата рождения"), parse_sex(data.sex), data.study_form,
                      parse_date(data.from_date or clock.today().isoformat(), "Дата зачисления"))
    return Created(sid)


@get("/api/v1/staff", opt=VIEW, tags=TAGS)
async def api_staff(request: Request) -> list[Staff]:
    """Сотрудники с должностями и ролями."""
    return [Staff(**{"id": p["id"], "last_name": p["last_name"], "first_name": p["first_name"],
             "middle_name": p["middle_name"], "position": p["position"], "login": p["login"],
             "roles": (p["roles"] or "").split(",")}) for p in await read(request, people.staff_list)]


@dataclass
class StaffIn:
    last_name: str
    first_name: str
    position: str
    roles: list[str]
    middle_name: str = ""
    phone: str = ""
    email: str = ""


@post("/api/v1/staff", opt=MANAGE, tags=TAGS, status_code=201)
async def api_staff_create(request: Request, data: JSONBody[StaffIn]) -> Created:
    """Добавить сотрудника (учётная запись создаётся без пароля; доступ выдаёт заместитель директора)."""
    pid = await write(request, people.create_staff, clean_name(data.last_name, "Фамилия"),
                      clean_name(data.first_name, "Имя"), clean_name(data.middle_name, "Отчество", False),
                      data.position.strip(), set(data.roles), parse_phone(data.phone), parse_email(data.email))
    return Created(pid)


ROUTES = [api_school, api_years, api_classes, api_class, api_class_create, api_class_update, api_subjects,
          api_subject_create, api_groups, api_journal_create, api_timetable,
          api_slot_create, api_student_create, api_staff, api_staff_create]
