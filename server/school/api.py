"""JSON API of the school structure (/api/v1): the same area functions as the pages.

Reads for those who may see the thing, writes for those who manage it; SchoolError
becomes 400 with its Russian message (server/web/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from litestar import Request, get, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter

from ..web.access import current_user
from . import people, store, structure
from .errors import SchoolError
from .routes import CLASS_KEEPERS, CLASS_READERS, MANAGE, VIEW, year_required
from .validate import clean_name, parse_class_name, parse_date, parse_email, parse_hours, parse_phone, parse_sex

TAGS = ["Школа"]
STAFF_ANY = {"roles": {"director", "deputy", "sysadmin", "teacher", "class_teacher", "staff"}}


def _rows(rows) -> list[dict]:
    return [dict(r) for r in rows]


async def _year_id(request: Request) -> int:
    return (await year_required(request.app.state.db))["id"]


@get("/api/v1/school", opt=VIEW, tags=TAGS)
async def api_school(request: Request) -> dict:
    """Сведения о школе."""
    row = await store.school(request.app.state.db)
    return {k: row[k] for k in ("uid", "name", "address", "district_code")} if row else {}


@get("/api/v1/years", opt=VIEW, tags=TAGS)
async def api_years(request: Request) -> list[dict]:
    """Учебные годы с периодами и каникулами."""
    db = request.app.state.db
    out = []
    for y in await structure.years(db):
        item = dict(y)
        item["periods"] = _rows(await structure.periods(db, y["id"]))
        item["holidays"] = _rows(await structure.holidays(db, y["id"]))
        out.append(item)
    return out


@get("/api/v1/classes", opt=CLASS_READERS, tags=TAGS)
async def api_classes(request: Request) -> list[dict]:
    """Классы текущего года, которые может видеть пользователь."""
    db = request.app.state.db
    user = current_user(request)
    rows = await structure.classes(db, await _year_id(request))
    readable = await people.readable_class_ids(db, user)  # one query, not one per class
    return [
        {"id": c["id"], "name": c["name"], "parallel": c["parallel"], "letter": c["letter"],
         "period_kind": c["period_kind"], "class_teacher_id": c["class_teacher_id"], "students": c["students"]}
        for c in rows if readable is None or c["id"] in readable
    ]


@get("/api/v1/classes/{class_id:int}", opt=CLASS_READERS, tags=TAGS)
async def api_class(request: Request, class_id: FromPath[int]) -> dict:
    """Класс и его список (ФИО, дата рождения, форма обучения, родители)."""
    db = request.app.state.db
    info = await store.class_info(db, class_id)
    if info is None:
        raise NotFoundException("Такого класса нет.")
    if not await people.can_read_class(db, current_user(request), class_id):
        raise PermissionDeniedException("Это не ваш класс.")
    students: dict[int, dict] = {}
    for r in await people.class_families(db, class_id):
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
async def api_class_create(request: Request, data: JSONBody[ClassIn]) -> dict:
    """Создать класс в текущем учебном году."""
    parallel, letter = parse_class_name(data.name)
    class_id = await request.app.state.db.write(structure.save_class, await _year_id(request), parallel, letter,
                                                data.class_teacher_id, data.period_kind)
    return {"id": class_id}


@put("/api/v1/classes/{class_id:int}", opt=MANAGE, tags=TAGS)
async def api_class_update(request: Request, class_id: FromPath[int], data: JSONBody[ClassIn]) -> dict:
    """Изменить класс (название, классный руководитель, периоды)."""
    db = request.app.state.db
    row = await db.fetchone("SELECT year_id FROM class WHERE id = ?", (class_id,))
    if row is None:
        raise NotFoundException("Такого класса нет.")
    parallel, letter = parse_class_name(data.name)
    await db.write(structure.save_class, row["year_id"], parallel, letter, data.class_teacher_id,
                   data.period_kind, class_id)
    return {"id": class_id}


@get("/api/v1/subjects", opt=STAFF_ANY, tags=TAGS)
async def api_subjects(request: Request) -> list[dict]:
    """Предметы."""
    return _rows(await structure.subjects(request.app.state.db))


@dataclass
class SubjectIn:
    name: str
    short_name: str = ""


@post("/api/v1/subjects", opt=MANAGE, tags=TAGS, status_code=201)
async def api_subject_create(request: Request, data: JSONBody[SubjectIn]) -> dict:
    """Добавить предмет."""
    return {"id": await request.app.state.db.write(structure.save_subject, data.name, data.short_name)}


@get("/api/v1/groups", opt=VIEW, tags=TAGS)
async def api_groups(request: Request) -> list[dict]:
    """Группы текущего года с составом."""
    db = request.app.state.db
    groups = await structure.groups(db, await _year_id(request))
    members: dict[int, list[int]] = {g["id"]: [] for g in groups}
    if members:  # everyone's members in one query, in group_members' order
        for m in await db.fetchall(
                "SELECT m.group_id, m.student_id FROM group_member m JOIN person p ON p.id = m.student_id"
                f" WHERE m.group_id IN ({','.join('?' * len(members))}) AND m.to_date IS NULL"
                " ORDER BY p.last_name, p.first_name", list(members)):
            members[m["group_id"]].append(m["student_id"])
    return [{**dict(g), "members": members[g["id"]]} for g in groups]


@dataclass
class JournalIn:
    subject_id: int
    teacher_id: int
    hours_per_week: float
    class_id: int | None = None
    group_id: int | None = None


@post("/api/v1/journals", opt=MANAGE, tags=TAGS, status_code=201)
async def api_journal_create(request: Request, data: JSONBody[JournalIn]) -> dict:
    """Добавить нагрузку (журнал): предмет, класс или группа, учитель, часы."""
    jid = await request.app.state.db.write(structure.save_journal, await _year_id(request), data.subject_id,
                                           data.class_id, data.group_id, data.teacher_id,
                                           parse_hours(data.hours_per_week))
    return {"id": jid}


@get("/api/v1/timetable", opt=CLASS_READERS, tags=TAGS)
async def api_timetable(request: Request, class_id: Annotated[int, QueryParameter(name="class_id")]) -> list[dict]:
    """Расписание класса на неделю."""
    db = request.app.state.db
    if not await people.can_read_class(db, current_user(request), class_id):
        raise PermissionDeniedException("Это не ваш класс.")
    return [{"id": s["id"], "weekday": s["weekday"], "lesson_number": s["lesson_number"], "room": s["room"],
             "journal_id": s["journal_id"], "subject": s["subject_name"], "for": s["target_name"]}
            for s in await structure.class_timetable(db, class_id)]


@dataclass
class SlotIn:
    journal_id: int
    weekday: int
    lesson_number: int
    room: str = ""


@post("/api/v1/timetable", opt=MANAGE, tags=TAGS, status_code=201)
async def api_slot_create(request: Request, data: JSONBody[SlotIn]) -> dict:
    """Поставить урок в расписание (двойные занятия класса и учителя отклоняются)."""
    if not (1 <= data.weekday <= 6 and 0 <= data.lesson_number <= 12):
        raise SchoolError("День недели 1–6, номер урока 0–12.")
    return {"id": await request.app.state.db.write(structure.add_slot, data.journal_id, data.weekday,
                                                   data.lesson_number, data.room)}


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
async def api_student_create(request: Request, class_id: FromPath[int], data: JSONBody[StudentIn]) -> dict:
    """Зачислить учащегося в класс."""
    db = request.app.state.db
    if not await people.can_manage_class(db, current_user(request), class_id):
        raise PermissionDeniedException("Список класса ведёт его классный руководитель.")
    sid = await db.write(people.create_student, class_id, clean_name(data.last_name, "Фамилия"),
                         clean_name(data.first_name, "Имя"), clean_name(data.middle_name, "Отчество", False),
                         parse_date(data.birth_date, "Дата рождения"), parse_sex(data.sex), data.study_form,
                         parse_date(data.from_date or date.today().isoformat(), "Дата зачисления"))
    return {"id": sid}


@get("/api/v1/staff", opt=VIEW, tags=TAGS)
async def api_staff(request: Request) -> list[dict]:
    """Сотрудники с должностями и ролями."""
    return [{"id": p["id"], "last_name": p["last_name"], "first_name": p["first_name"],
             "middle_name": p["middle_name"], "position": p["position"], "login": p["login"],
             "roles": (p["roles"] or "").split(",")} for p in await people.staff_list(request.app.state.db)]


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
async def api_staff_create(request: Request, data: JSONBody[StaffIn]) -> dict:
    """Добавить сотрудника (учётная запись создаётся без пароля; доступ выдаёт заместитель директора)."""
    pid = await request.app.state.db.write(
        people.create_staff, clean_name(data.last_name, "Фамилия"), clean_name(data.first_name, "Имя"),
        clean_name(data.middle_name, "Отчество", False), data.position.strip(), set(data.roles),
        parse_phone(data.phone), parse_email(data.email))
    return {"id": pid}


ROUTES = [api_school, api_years, api_classes, api_class, api_class_create, api_class_update, api_subjects,
          api_subject_create, api_groups, api_journal_create, api_timetable,
          api_slot_create, api_student_create, api_staff, api_staff_create]
