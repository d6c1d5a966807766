"""Pages of the school structure (sysadmin and deputy manage, the director reads)
and of classes (the class teacher keeps their own class, §3.3.1)."""

from __future__ import annotations

from datetime import date

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath

from ..timeutil import school_year_start
from ..web.access import current_user
from ..web.forms import form_dict, form_list, int_or_none, ok_message, see_other
from ..web.templating import page
from . import people, store, structure
from .errors import SchoolError
from .validate import GROUP_KINDS, PERIOD_KIND_PLURAL, RELATIONS, STUDY_FORMS, PERIOD_KINDS, WEEKDAYS, clean_name, parse_class_name, parse_date, parse_hours, parse_email, parse_int, parse_phone, parse_sex, parse_time

# Who sees the school's set-up pages, and who changes them (§3.5.1, §3.4.2).
VIEW = {"roles": {"director", "deputy", "sysadmin"}}
MANAGE = {"roles": {"deputy", "sysadmin"}}


def can_manage(request: Request) -> bool:
    return current_user(request).has(*MANAGE["roles"])


async def year_required(db):
    """The open academic year, or the message that one must be created first."""
    year = await store.current_year(db)
    if year is None:
        raise SchoolError("Сначала создайте учебный год.")
    return year


YEAR_STATUS = {"planned": "планируется", "open": "текущий", "closed": "закрыт"}


async def _run(request: Request, fn, *args):
    """Run a write; returns the SchoolError message or None."""
    try:
        await request.app.state.db.write(fn, *args)
    except SchoolError as e:
        return e.message
    return None


# --- the school and its years ------------------------------------------------------------

async def _school_page(request: Request, error: str | None = None, form: dict | None = None,
                       status: int = 200) -> Response:
    db = request.app.state.db
    start = school_year_start(date.today())
    latest = await db.fetchone("SELECT starts_on FROM academic_year ORDER BY starts_on DESC LIMIT 1")
    if latest:
        start = int(latest["starts_on"][:4]) + 1
    return page("school/index.html", status_code=status, school=await store.school(db),
                years=await structure.years(db), year_status=YEAR_STATUS, can_manage=can_manage(request),
                ok=ok_message(request), error=error, form=form or {},
                suggested_start=f"{start}-09-01", suggested_end=f"{start + 1}-08-31")


@get("/school", opt=VIEW)
async def school_page(request: Request) -> Response:
    return await _school_page(request)


@post("/school", opt=MANAGE)
async def school_save(request: Request) -> Response:
    form = await form_dict(request)
    error = await _run(request, structure.save_school, form.get("name", ""), form.get("address", ""),
                       form.get("district_code", ""))
    if error:
        return await _school_page(request, error, form, 400)
    return see_other("/school", "saved")


@post("/school/years", opt=MANAGE)
async def year_create(request: Request) -> Response:
    form = await form_dict(request)
    try:
        starts_on = parse_date(form.get("starts_on", ""), "Начало года")
        ends_on = parse_date(form.get("ends_on", ""), "Конец года")
        year_id = await request.app.state.db.write(structure.create_year, starts_on, ends_on)
    except SchoolError as e:
        return await _school_page(request, e.message, form, 400)
    return see_other(f"/school/years/{year_id}", "created")


async def _year_page(request: Request, year_id: int, error: str | None = None, form: dict | None = None,
                     status: int = 200) -> Response:
    db = request.app.state.db
    year = await structure.year(db, year_id)
    if year is None:
        raise NotFoundException("Такого учебного года нет.")
    periods = await structure.periods(db, year_id)
    edit_id = int_or_none(request.query_params.get("edit_period"))
    return page("school/year.html", status_code=status, year=year, year_status=YEAR_STATUS,
                periods=periods, edit=next((p for p in periods if p["id"] == edit_id), None), holidays=await structure.holidays(db, year_id),
                period_name=structure.period_name, period_kinds=PERIOD_KINDS, can_manage=can_manage(request),
                ok=ok_message(request), error=error, form=form or {})


@get("/school/years/{year_id:int}", opt=VIEW)
async def year_page(request: Request, year_id: FromPath[int]) -> Response:
    return await _year_page(request, year_id)


@post("/school/years/{year_id:int}/periods", opt=MANAGE)
async def period_create(request: Request, year_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        kind = form.get("kind", "")
        number = parse_int(form.get("number"), "Номер периода", 1, 4)
        starts_on = parse_date(form.get("starts_on", ""), "Начало периода")
        ends_on = parse_date(form.get("ends_on", ""), "Конец периода")
        await request.app.state.db.write(structure.save_period, year_id, kind, number, starts_on, ends_on)
    except SchoolError as e:
        return await _year_page(request, year_id, e.message, form, 400)
    return see_other(f"/school/years/{year_id}", "created")


@post("/school/periods/{period_id:int}", opt=MANAGE)
async def period_update(request: Request, period_id: FromPath[int]) -> Response:
    db = request.app.state.db
    period = await db.fetchone("SELECT * FROM study_period WHERE id = ?", (period_id,))
    if period is None:
        raise NotFoundException("Такого периода нет.")
    form = await form_dict(request)
    try:
        starts_on = parse_date(form.get("starts_on", ""), "Начало периода")
        ends_on = parse_date(form.get("ends_on", ""), "Конец периода")
        await db.write(structure.save_period, period["year_id"], period["kind"], period["number"], starts_on,
                       ends_on, period_id)
    except SchoolError as e:
        return await _year_page(request, period["year_id"], e.message, form, 400)
    return see_other(f"/school/years/{period['year_id']}", "saved")


@post("/school/years/{year_id:int}/holidays", opt=MANAGE)
async def holiday_create(request: Request, year_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        starts_on = parse_date(form.get("h_starts_on", ""), "Начало каникул")
        ends_on = parse_date(form.get("h_ends_on", ""), "Конец каникул")
        await request.app.state.db.write(structure.add_holiday, year_id, form.get("name", ""), starts_on, ends_on)
    except SchoolError as e:
        return await _year_page(request, year_id, e.message, form, 400)
    return see_other(f"/school/years/{year_id}", "created")


@post("/school/holidays/{holiday_id:int}/delete", opt=MANAGE)
async def holiday_delete(request: Request, holiday_id: FromPath[int]) -> Response:
    db = request.app.state.db
    year_id = await db.fetchval("SELECT year_id FROM holiday WHERE id = ?", (holiday_id,))
    if year_id is None:
        raise NotFoundException("Таких каникул нет.")
    await db.write(structure.delete_holiday, holiday_id)
    return see_other(f"/school/years/{year_id}", "deleted")


# --- classes -------------------------------------------------------------------------------

async def _classes_page(request: Request, error: str | None = None, form: dict | None = None,
                        status: int = 200, edit=None) -> Response:
    db = request.app.state.db
    year = await store.current_year(db)
    return page("school/classes.html", status_code=status, year=year,
                classes=await structure.classes(db, year["id"]) if year else [],
                staff=await structure.staff_people(db), period_plural=PERIOD_KIND_PLURAL, edit=edit,
                can_manage=can_manage(request), ok=ok_message(request), error=error, form=form or {})


@get("/school/classes", opt=VIEW)
async def classes_page(request: Request) -> Response:
    return await _classes_page(request)


async def _class_row(request: Request, class_id: int):
    row = await request.app.state.db.fetchone(
        "SELECT c.*, c.parallel || c.letter AS name FROM class c WHERE c.id = ? AND c.archived_at IS NULL", (class_id,))
    if row is None:
        raise NotFoundException("Такого класса нет.")
    return row


@get("/school/classes/{class_id:int}", opt=MANAGE)
async def class_edit_page(request: Request, class_id: FromPath[int]) -> Response:
    return await _classes_page(request, edit=await _class_row(request, class_id))


async def _save_class(request: Request, class_id: int | None) -> Response:
    form = await form_dict(request)
    db = request.app.state.db
    edit = await _class_row(request, class_id) if class_id else None
    try:
        year = await year_required(db)
        parallel, letter = parse_class_name(form.get("name", ""))
        await db.write(structure.save_class, edit["year_id"] if edit else year["id"], parallel, letter,
                       int_or_none(form.get("class_teacher_id")), form.get("period_kind") or None, class_id)
    except SchoolError as e:
        return await _classes_page(request, e.message, form, 400, edit)
    return see_other("/school/classes", "saved" if class_id else "created")


@post("/school/classes", opt=MANAGE)
async def class_create(request: Request) -> Response:
    return await _save_class(request, None)


@post("/school/classes/{class_id:int}", opt=MANAGE)
async def class_update(request: Request, class_id: FromPath[int]) -> Response:
    return await _save_class(request, class_id)


@post("/school/classes/{class_id:int}/archive", opt=MANAGE)
async def class_archive(request: Request, class_id: FromPath[int]) -> Response:
    edit = await _class_row(request, class_id)
    error = await _run(request, structure.archive_class, class_id)
    if error:
        return await _classes_page(request, error, {}, 400, edit)
    return see_other("/school/classes", "archived")


# --- groups --------------------------------------------------------------------------------

async def _groups_page(request: Request, error: str | None = None, form: dict | None = None,
                       status: int = 200) -> Response:
    db = request.app.state.db
    year = await store.current_year(db)
    return page("school/groups.html", status_code=status, year=year,
                groups=await structure.groups(db, year["id"]) if year else [],
                classes=await structure.classes(db, year["id"]) if year else [], group_kinds=GROUP_KINDS,
                can_manage=can_manage(request), ok=ok_message(request), error=error, form=form or {})


@get("/school/groups", opt=VIEW)
async def groups_page(request: Request) -> Response:
    return await _groups_page(request)


@post("/school/groups", opt=MANAGE)
async def group_create(request: Request) -> Response:
    form = await form_dict(request)
    db = request.app.state.db
    try:
        year = await year_required(db)
        group_id = await db.write(structure.save_group, year["id"], form.get("name", ""), form.get("kind", ""),
                                  int_or_none(form.get("class_id")), [], date.today().isoformat())
    except SchoolError as e:
        return await _groups_page(request, e.message, form, 400)
    return see_other(f"/school/groups/{group_id}", "created")


async def _group_page(request: Request, group_id: int, error: str | None = None, status: int = 200) -> Response:
    db = request.app.state.db
    group = await db.fetchone("SELECT g.*, c.parallel || c.letter AS class_name FROM study_group g"
                              " LEFT JOIN class c ON c.id = g.class_id WHERE g.id = ? AND g.archived_at IS NULL",
                              (group_id,))
    if group is None:
        raise NotFoundException("Такой группы нет.")
    members = await structure.group_members(db, group_id)
    pick = group["class_id"] or int_or_none(request.query_params.get("class"))
    return page("school/group.html", status_code=status, group=group, members=members, group_kinds=GROUP_KINDS,
                classes=await structure.classes(db, group["year_id"]), pick_class=pick,
                candidates=await store.class_roster(db, pick) if pick else [],
                member_ids={m["id"] for m in members}, can_manage=can_manage(request),
                ok=ok_message(request), error=error)


@get("/school/groups/{group_id:int}", opt=VIEW)
async def group_page(request: Request, group_id: FromPath[int]) -> Response:
    return await _group_page(request, group_id)


@post("/school/groups/{group_id:int}/members", opt=MANAGE)
async def group_members_save(request: Request, group_id: FromPath[int]) -> Response:
    """The checked students of the shown class are in the group; other classes' members stay."""
    db = request.app.state.db
    form = await form_dict(request)
    group = await db.fetchone("SELECT * FROM study_group WHERE id = ? AND archived_at IS NULL", (group_id,))
    if group is None:
        raise NotFoundException("Такой группы нет.")
    class_id = int_or_none(form.get("class_id"))
    checked = [int(x) for x in await form_list(request, "student_id") if x.isdigit()]
    shown = {r["id"] for r in await store.class_roster(db, class_id)} if class_id else set()
    others = [m["id"] for m in await structure.group_members(db, group_id) if m["id"] not in shown]
    try:
        await db.write(structure.save_group, group["year_id"], group["name"], group["kind"], group["class_id"],
                       others + [s for s in checked if s in shown], date.today().isoformat(), group_id)
    except SchoolError as e:
        return await _group_page(request, group_id, e.message, 400)
    return see_other(f"/school/groups/{group_id}?class={class_id or ''}", "saved")


@post("/school/groups/{group_id:int}/archive", opt=MANAGE)
async def group_archive(request: Request, group_id: FromPath[int]) -> Response:
    await request.app.state.db.write(structure.set_archived, "study_group", group_id, True)
    return see_other("/school/groups", "archived")


# --- the teaching load -----------------------------------------------------------------------

async def _load_page(request: Request, error: str | None = None, form: dict | None = None,
                     status: int = 200) -> Response:
    db = request.app.state.db
    year = await store.current_year(db)
    journals = await structure.journals(db, year["id"]) if year else []
    edit_id = int_or_none(request.query_params.get("edit"))
    edit = next((j for j in journals if j["id"] == edit_id), None)
    return page("school/load.html", status_code=status, year=year, journals=journals, edit=edit,
                total_hours=sum(j["hours_per_week"] for j in journals),
                subjects=await structure.subjects(db), classes=await structure.classes(db, year["id"]) if year else [],
                groups=await structure.groups(db, year["id"]) if year else [],
                staff=await structure.staff_people(db, "teacher"),
                can_manage=can_manage(request), ok=ok_message(request), error=error, form=form or {})


@get("/school/load", opt=VIEW)
async def load_page(request: Request) -> Response:
    return await _load_page(request)


def parse_target(text: str) -> tuple[int | None, int | None]:
    """'c:12' → (class 12, None); 'g:3' → (None, group 3)."""
    kind, _, raw = (text or "").partition(":")
    if kind not in ("c", "g") or not raw.isdigit():
        raise SchoolError("Выберите класс или группу.")
    return (int(raw), None) if kind == "c" else (None, int(raw))


@post("/school/load", opt=MANAGE)
async def load_create(request: Request) -> Response:
    form = await form_dict(request)
    db = request.app.state.db
    try:
        year = await year_required(db)
        class_id, group_id = parse_target(form.get("target", ""))
        subject_id = int_or_none(form.get("subject_id"))
        teacher_id = int_or_none(form.get("teacher_id"))
        if subject_id is None or teacher_id is None:
            raise SchoolError("Выберите предмет и учителя.")
        await db.write(structure.save_journal, year["id"], subject_id, class_id, group_id, teacher_id,
                       parse_hours(form.get("hours", "")))
    except SchoolError as e:
        return await _load_page(request, e.message, form, 400)
    return see_other("/school/load", "created")


@post("/school/load/{journal_id:int}", opt=MANAGE)
async def load_update(request: Request, journal_id: FromPath[int]) -> Response:
    """Another teacher or other hours for a journal; its lessons and grades stay with it."""
    form = await form_dict(request)
    db = request.app.state.db
    j = await structure.journal(db, journal_id)
    if j is None or j["archived_at"]:
        raise NotFoundException("Такой нагрузки нет.")
    try:
        teacher_id = int_or_none(form.get("teacher_id"))
        if teacher_id is None:
            raise SchoolError("Выберите учителя.")
        await db.write(structure.save_journal, j["year_id"], j["subject_id"], j["class_id"], j["group_id"],
                       teacher_id, parse_hours(form.get("hours", "")), journal_id)
    except SchoolError as e:
        return await _load_page(request, e.message, form, 400)
    return see_other("/school/load", "saved")


@post("/school/load/{journal_id:int}/archive", opt=MANAGE)
async def load_archive(request: Request, journal_id: FromPath[int]) -> Response:
    await request.app.state.db.write(structure.set_archived, "journal", journal_id, True)
    return see_other("/school/load", "archived")


# --- bells and the timetable -------------------------------------------------------------------

async def _bells_page(request: Request, error: str | None = None, form: dict | None = None,
                      status: int = 200) -> Response:
    db = request.app.state.db
    year = await store.current_year(db)
    bells = {b["number"]: b for b in await structure.bells(db, year["id"])} if year else {}
    return page("school/bells.html", status_code=status, year=year, bells=bells, can_manage=can_manage(request),
                ok=ok_message(request), error=error, form=form or {})


@get("/school/bells", opt=VIEW)
async def bells_page(request: Request) -> Response:
    return await _bells_page(request)


@post("/school/bells", opt=MANAGE)
async def bells_save(request: Request) -> Response:
    """All bell rows at once: a filled row is saved, an emptied one removed, in one transaction."""
    form = await form_dict(request)
    db = request.app.state.db
    try:
        year = await year_required(db)
        rows = []
        for n in range(0, 10):
            start, end = form.get(f"start_{n}", ""), form.get(f"end_{n}", "")
            if start or end:
                rows.append((n, parse_time(start, f"Урок {n}, начало"), parse_time(end, f"Урок {n}, конец")))

        async def save_all(conn):
            for n in range(0, 10):
                await structure.delete_bell(conn, year["id"], n)
            for n, start, end in rows:
                await structure.save_bell(conn, year["id"], n, start, end)

        await db.write(save_all)
    except SchoolError as e:
        return await _bells_page(request, e.message, form, 400)
    return see_other("/school/bells", "saved")


async def _timetable_page(request: Request, class_id: int | None, error: str | None = None,
                          form: dict | None = None, status: int = 200) -> Response:
    db = request.app.state.db
    year = await store.current_year(db)
    classes = await structure.classes(db, year["id"]) if year else []
    cls = next((c for c in classes if c["id"] == class_id), classes[0] if classes else None)
    ctx: dict = {"year": year, "classes": classes, "cls": cls, "weekdays": WEEKDAYS}
    if cls:
        slots = await structure.class_timetable(db, cls["id"])
        grid: dict = {}
        for s_ in slots:
            grid.setdefault((s_["weekday"], s_["lesson_number"]), []).append(s_)
        bells = {b["number"]: b for b in await structure.bells(db, year["id"])}
        numbers = sorted(set(bells) | {n for _, n in grid} | set(range(1, 7)))
        ctx.update(grid=grid, bells=bells, lesson_numbers=numbers,
                   journals=await structure.class_journals(db, cls["id"]))
    return page("school/timetable.html", status_code=status, can_manage=can_manage(request),
                ok=ok_message(request), error=error, form=form or {}, **ctx)


@get("/school/timetable", opt=VIEW)
async def timetable_page(request: Request) -> Response:
    return await _timetable_page(request, int_or_none(request.query_params.get("class")))


@post("/school/timetable", opt=MANAGE)
async def timetable_add(request: Request) -> Response:
    form = await form_dict(request)
    class_id = int_or_none(form.get("class"))
    try:
        journal_id = int_or_none(form.get("journal_id"))
        if journal_id is None:
            raise SchoolError("Выберите предмет из нагрузки.")
        weekday = parse_int(form.get("weekday"), "День недели", 1, 6)
        number = parse_int(form.get("lesson_number"), "Номер урока", 0, 12)
        await request.app.state.db.write(structure.add_slot, journal_id, weekday, number, form.get("room", ""))
    except SchoolError as e:
        return await _timetable_page(request, class_id, e.message, form, 400)
    return see_other(f"/school/timetable?class={class_id or ''}", "saved")


@post("/school/timetable/{slot_id:int}/delete", opt=MANAGE)
async def timetable_delete(request: Request, slot_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    await request.app.state.db.write(structure.delete_slot, slot_id)
    return see_other(f"/school/timetable?class={int_or_none(form.get('class')) or ''}", "deleted")


# --- staff, roles and class access ----------------------------------------------------------

STAFF_ROLES = ["director", "deputy", "sysadmin", "teacher", "staff"]
# §3.4.2: the deputy grants and revokes roles; the director appoints the deputy and the admin (§3.1.1).
ROLE_GRANTORS = {"roles": {"director", "deputy"}}


async def _staff_page(request: Request, error: str | None = None, form: dict | None = None,
                      roles: list[str] | None = None, status: int = 200) -> Response:
    db = request.app.state.db
    return page("school/staff.html", status_code=status, staff=await people.staff_list(db),
                staff_roles=STAFF_ROLES, form_roles=roles or ["teacher"], can_manage=can_manage(request),
                can_roles=current_user(request).has(*ROLE_GRANTORS["roles"]),
                ok=ok_message(request), error=error, form=form or {})


@get("/school/staff", opt=VIEW)
async def staff_page(request: Request) -> Response:
    return await _staff_page(request)


@post("/school/staff", opt=MANAGE)
async def staff_create(request: Request) -> Response:
    form = await form_dict(request)
    roles = await form_list(request, "role")
    try:
        last = clean_name(form.get("last_name", ""), "Фамилия")
        first = clean_name(form.get("first_name", ""), "Имя")
        middle = clean_name(form.get("middle_name", ""), "Отчество", required=False)
        position = " ".join(form.get("position", "").split())
        if not position:
            raise SchoolError("Укажите должность.")
        await request.app.state.db.write(people.create_staff, last, first, middle, position, set(roles),
                                         parse_phone(form.get("phone", "")), parse_email(form.get("email", "")))
    except SchoolError as e:
        return await _staff_page(request, e.message, form, roles, 400)
    return see_other("/school/staff", "created")


async def _staff_person(request: Request, person_id: int, error: str | None = None, status: int = 200) -> Response:
    db = request.app.state.db
    person = next((p for p in await people.staff_list(db) if p["id"] == person_id), None)
    if person is None:
        raise NotFoundException("Такого сотрудника нет.")
    return page("school/staff_person.html", status_code=status, person=person, staff_roles=STAFF_ROLES,
                roles=set((person["roles"] or "").split(",")), ok=ok_message(request), error=error)


@get("/school/staff/{person_id:int}", opt=ROLE_GRANTORS)
async def staff_person_page(request: Request, person_id: FromPath[int]) -> Response:
    return await _staff_person(request, person_id)


@post("/school/staff/{person_id:int}/roles", opt=ROLE_GRANTORS)
async def staff_roles_save(request: Request, person_id: FromPath[int]) -> Response:
    roles = set(await form_list(request, "role"))
    error = await _run(request, people.set_staff_roles, person_id, roles, current_user(request).account_id)
    if error:
        return await _staff_person(request, person_id, error, 400)
    return see_other(f"/school/staff/{person_id}", "roles")


async def _access_page(request: Request, error: str | None = None, form: dict | None = None,
                       status: int = 200) -> Response:
    db = request.app.state.db
    year = await store.current_year(db)
    return page("school/access.html", status_code=status, grants=await people.class_access_list(db),
                staff=await structure.staff_people(db), classes=await structure.classes(db, year["id"]) if year else [],
                can_grant=current_user(request).has("deputy"), ok=ok_message(request), error=error, form=form or {})


@get("/school/access", opt=VIEW)
async def access_page(request: Request) -> Response:
    return await _access_page(request)


@post("/school/access", opt={"roles": {"deputy"}})
async def access_grant(request: Request) -> Response:
    form = await form_dict(request)
    person_id, class_id = int_or_none(form.get("person_id")), int_or_none(form.get("class_id"))
    if person_id is None or class_id is None:
        return await _access_page(request, "Выберите работника и класс.", form, 400)
    error = await _run(request, people.grant_class_access, person_id, class_id, current_user(request).account_id)
    if error:
        return await _access_page(request, error, form, 400)
    return see_other("/school/access", "access")


@post("/school/access/revoke", opt={"roles": {"deputy"}})
async def access_revoke(request: Request) -> Response:
    form = await form_dict(request)
    person_id, class_id = int_or_none(form.get("person_id")), int_or_none(form.get("class_id"))
    if person_id is not None and class_id is not None:
        await request.app.state.db.write(people.revoke_class_access, person_id, class_id)
    return see_other("/school/access", "access")


# --- subjects -------------------------------------------------------------------------

async def _subjects_page(request: Request, error: str | None = None, form: dict | None = None,
                         status: int = 200) -> Response:
    db = request.app.state.db
    subjects = await structure.subjects(db, True)
    edit_id = int_or_none(request.query_params.get("edit"))
    edit = next((s_ for s_ in subjects if s_["id"] == edit_id), None)
    return page("school/subjects.html", status_code=status, subjects=subjects, edit=edit,
                can_manage=can_manage(request), ok=ok_message(request), error=error, form=form or {})


@get("/school/subjects", opt=VIEW)
async def subjects_page(request: Request) -> Response:
    return await _subjects_page(request)


@post("/school/subjects", opt=MANAGE)
async def subject_create(request: Request) -> Response:
    form = await form_dict(request)
    try:
        await request.app.state.db.write(structure.save_subject, form.get("name", ""), form.get("short_name", ""))
    except SchoolError as e:
        return await _subjects_page(request, e.message, form, 400)
    return see_other("/school/subjects", "created")


@post("/school/subjects/{subject_id:int}", opt=MANAGE)
async def subject_update(request: Request, subject_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    try:
        await request.app.state.db.write(structure.save_subject, form.get("name", ""), form.get("short_name", ""),
                                         subject_id)
    except SchoolError as e:
        return await _subjects_page(request, e.message, form, 400)
    return see_other("/school/subjects", "saved")


@post("/school/subjects/{subject_id:int}/archive", opt=MANAGE)
async def subject_archive(request: Request, subject_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    archived = form.get("archived") == "1"
    await request.app.state.db.write(structure.set_archived, "subject", subject_id, archived)
    return see_other("/school/subjects", "archived" if archived else "restored")


# --- a class and its students (§3.3.1) -------------------------------------------------------

# Route-level: who may open class pages at all; the row-level rule (their class, or a
# granted class) is people.can_read_class / can_manage_class.
CLASS_READERS = {"roles": {"director", "deputy", "sysadmin", "class_teacher", "teacher", "staff"}}
CLASS_KEEPERS = {"roles": {"deputy", "sysadmin", "class_teacher"}}
# Moving a student and their leaving follow the director's order: the administration does it.
MOVERS = {"deputy", "sysadmin"}


@get("/my-class", opt={"roles": {"class_teacher"}})
async def my_class(request: Request) -> Response:
    mine = await store.classes_of_class_teacher(request.app.state.db, current_user(request).person_id)
    if not mine:
        raise NotFoundException("У вас нет классного руководства в текущем учебном году.")
    return see_other(f"/classes/{mine[0]['id']}")


async def _class_page(request: Request, class_id: int, error: str | None = None, form: dict | None = None,
                      status: int = 200) -> Response:
    user = current_user(request)
    db = request.app.state.db
    info = await store.class_info(db, class_id)
    if info is None:
        raise NotFoundException("Такого класса нет.")
    if not await people.can_read_class(db, user, class_id):
        raise PermissionDeniedException("Это не ваш класс: список класса видит его классный руководитель.")
    students: dict[int, dict] = {}
    for row in await people.class_families(db, class_id):
        st = students.setdefault(row["student_id"], {
            "id": row["student_id"], "last_name": row["last_name"], "first_name": row["first_name"],
            "middle_name": row["middle_name"], "birth_date": row["birth_date"], "study_form": row["study_form"],
            "parents": []})
        if row["parent_id"]:
            st["parents"].append({"last_name": row["p_last"], "first_name": row["p_first"],
                                  "middle_name": row["p_middle"], "relation": row["relation"],
                                  "consent_at": row["consent_at"], "diary_form": row["diary_form"]})
    parents = [p for st in students.values() for p in st["parents"]]
    return page("school/class.html", status_code=status, cls=info, students=list(students.values()),
                no_consent=sum(1 for p in parents if not p["consent_at"]),
                paper=sum(1 for p in parents if p["diary_form"] == "paper"),
                can_manage=await people.can_manage_class(db, user, class_id), study_forms=STUDY_FORMS,
                today=date.today().isoformat(), ok=ok_message(request), error=error, form=form or {})


@get("/classes/{class_id:int}", opt=CLASS_READERS)
async def class_page(request: Request, class_id: FromPath[int]) -> Response:
    return await _class_page(request, class_id)


async def _require_class_keeper(request: Request, class_id: int) -> None:
    if not await people.can_manage_class(request.app.state.db, current_user(request), class_id):
        raise PermissionDeniedException("Список класса ведёт его классный руководитель.")


def _student_fields(form: dict) -> tuple:
    return (clean_name(form.get("last_name", ""), "Фамилия"), clean_name(form.get("first_name", ""), "Имя"),
            clean_name(form.get("middle_name", ""), "Отчество", required=False),
            parse_date(form.get("birth_date", ""), "Дата рождения"), parse_sex(form.get("sex", "")),
            form.get("study_form", "очная"))


@post("/classes/{class_id:int}/students", opt=CLASS_KEEPERS)
async def student_create(request: Request, class_id: FromPath[int]) -> Response:
    await _require_class_keeper(request, class_id)
    form = await form_dict(request)
    try:
        last, first, middle, birth, sex, study_form = _student_fields(form)
        from_date = parse_date(form.get("from_date", "") or date.today().isoformat(), "Дата зачисления")
        await request.app.state.db.write(people.create_student, class_id, last, first, middle, birth, sex,
                                         study_form, from_date)
    except SchoolError as e:
        return await _class_page(request, class_id, e.message, form, 400)
    return see_other(f"/classes/{class_id}", "created")


async def _student_or_404(request: Request, student_id: int):
    s_ = await people.student(request.app.state.db, student_id)
    if s_ is None:
        raise NotFoundException("Такого учащегося нет.")
    return s_


async def _student_page(request: Request, student_id: int, error: str | None = None, form: dict | None = None,
                        status: int = 200) -> Response:
    db = request.app.state.db
    user = current_user(request)
    s_ = await _student_or_404(request, student_id)
    if not (s_["class_id"] and await people.can_read_class(db, user, s_["class_id"])):
        raise PermissionDeniedException("Сведения об учащемся видит классный руководитель его класса.")
    year = await store.current_year(db)
    return page("school/student.html", status_code=status, s=s_, parents=await people.parents_of(db, student_id),
                history=await people.enrollment_history(db, student_id),
                can_manage=await people.can_manage_class(db, user, s_["class_id"]),
                can_move=user.has(*MOVERS), classes=await structure.classes(db, year["id"]) if year else [],
                study_forms=STUDY_FORMS, relations=RELATIONS, today=date.today().isoformat(),
                ok=ok_message(request), error=error, form=form or {})


@get("/students/{student_id:int}", opt=CLASS_READERS)
async def student_page(request: Request, student_id: FromPath[int]) -> Response:
    return await _student_page(request, student_id)


async def _student_for_keeper(request: Request, student_id: int):
    s_ = await _student_or_404(request, student_id)
    if not s_["class_id"]:
        raise NotFoundException("Учащийся не числится ни в одном классе.")
    await _require_class_keeper(request, s_["class_id"])
    return s_


@post("/students/{student_id:int}", opt=CLASS_KEEPERS)
async def student_update(request: Request, student_id: FromPath[int]) -> Response:
    await _student_for_keeper(request, student_id)
    form = await form_dict(request)
    try:
        await request.app.state.db.write(people.update_student, student_id, *_student_fields(form))
    except SchoolError as e:
        return await _student_page(request, student_id, e.message, form, 400)
    return see_other(f"/students/{student_id}", "saved")


@post("/students/{student_id:int}/parents", opt=CLASS_KEEPERS)
async def parent_add(request: Request, student_id: FromPath[int]) -> Response:
    await _student_for_keeper(request, student_id)
    form = await form_dict(request)
    try:
        last = clean_name(form.get("p_last_name", ""), "Фамилия родителя")
        first = clean_name(form.get("p_first_name", ""), "Имя родителя")
        middle = clean_name(form.get("p_middle_name", ""), "Отчество родителя", required=False)
        phone, email = parse_phone(form.get("phone", "")), parse_email(form.get("email", ""))
        relation = form.get("relation", "")

        async def add(conn):
            found = (await people.find_parent(conn, last, first, middle, phone) if phone
                     else await people.find_parent_of_student(conn, student_id, last, first, middle))
            parent_id = found["id"] if found else await people.create_parent(conn, last, first, middle, phone, email)
            await people.link_parent(conn, parent_id, student_id, relation)

        await request.app.state.db.write(add)
    except SchoolError as e:
        return await _student_page(request, student_id, e.message, form, 400)
    return see_other(f"/students/{student_id}", "created")


@post("/students/{student_id:int}/parents/{parent_id:int}/consent", opt=CLASS_KEEPERS)
async def parent_consent(request: Request, student_id: FromPath[int], parent_id: FromPath[int]) -> Response:
    await _student_for_keeper(request, student_id)
    form = await form_dict(request)
    error = await _run(request, people.record_consent, parent_id, student_id, form.get("consent") == "1",
                       form.get("diary_form", "electronic"))
    if error:
        return await _student_page(request, student_id, error, form, 400)
    return see_other(f"/students/{student_id}", "consent")


@post("/students/{student_id:int}/move", opt={"roles": MOVERS})
async def student_move(request: Request, student_id: FromPath[int]) -> Response:
    await _student_or_404(request, student_id)
    form = await form_dict(request)
    try:
        class_id = int_or_none(form.get("class_id"))
        if class_id is None:
            raise SchoolError("Выберите класс.")
        await request.app.state.db.write(people.move_student, student_id, class_id,
                                         parse_date(form.get("on_date", ""), "Дата перевода"))
    except SchoolError as e:
        return await _student_page(request, student_id, e.message, form, 400)
    return see_other(f"/students/{student_id}", "moved")


@post("/students/{student_id:int}/leave", opt={"roles": MOVERS})
async def student_leave(request: Request, student_id: FromPath[int]) -> Response:
    await _student_or_404(request, student_id)
    form = await form_dict(request)
    try:
        await request.app.state.db.write(people.student_leaves, student_id,
                                         parse_date(form.get("on_date", ""), "Дата выбытия"), form.get("reason", ""))
    except SchoolError as e:
        return await _student_page(request, student_id, e.message, form, 400)
    return see_other(f"/students/{student_id}", "left")


ROUTES = [my_class, class_page, student_create, student_page, student_update, parent_add, parent_consent,
          student_move, student_leave,
          school_page, school_save, year_create, year_page, period_create, holiday_create, holiday_delete,
          classes_page, class_edit_page, class_create, class_update, class_archive,
          groups_page, group_create, group_page, group_members_save, group_archive,
          load_page, load_create, load_archive,
          bells_page, bells_save, timetable_page, timetable_add, timetable_delete,
          staff_page, staff_create, staff_person_page, staff_roles_save, access_page, access_grant, access_revoke,
          subjects_page, subject_create, subject_update, subject_archive,
          load_update, period_update]
