"""Staff: the list, a new member, roles (§3.4.2, §3.1.1) and the class access the deputy
grants to other staff (a psychologist reads a class's records)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ...errors import NotFound
from ...web.access import current_user
from ...web.forms import form_dict, form_list, int_or_none, see_other
from .. import people, store, structure
from ..errors import SchoolError
from ..guards import ACCESS_GRANTORS, MANAGE, ROLE_GRANTORS, VIEW, can_manage
from ..validate import clean_name, parse_email, parse_phone
from . import read, render, submit, write

STAFF_ROLES = ["director", "deputy", "sysadmin", "teacher", "staff"]


async def _staff_page(request: Request, error: str | None = None, form: dict | None = None,
                      roles: list[str] | None = None) -> Response:
    return render(request, "school/staff.html", error, form, staff=await read(request, people.staff_list),
                  staff_roles=STAFF_ROLES, form_roles=roles or ["teacher"], can_manage=can_manage(request),
                  can_roles=current_user(request).has(*ROLE_GRANTORS["roles"]))


@get("/school/staff", opt=VIEW)
async def staff_page(request: Request) -> Response:
    return await _staff_page(request)


@post("/school/staff", opt=MANAGE)
async def staff_create(request: Request) -> Response:
    roles = await form_list(request, "role")

    async def act(form: dict) -> None:
        last = clean_name(form.get("last_name", ""), "Фамилия")
        first = clean_name(form.get("first_name", ""), "Имя")
        middle = clean_name(form.get("middle_name", ""), "Отчество", required=False)
        position = " ".join(form.get("position", "").split())
        if not position:
            raise SchoolError("Укажите должность.")
        await write(request, people.create_staff, last, first, middle, position, set(roles),
                    parse_phone(form.get("phone", "")), parse_email(form.get("email", "")))

    return await submit(request, act, lambda error, form: _staff_page(request, error, form, roles),
                        lambda _: see_other("/school/staff", "created"))


def _staff_person(conn, person_id: int):
    person = next((p for p in people.staff_list(conn) if p["id"] == person_id), None)
    if person is None:
        raise NotFound("Такого сотрудника нет.")
    return person


def _staff_person_view(conn, person_id: int) -> dict:
    person = _staff_person(conn, person_id)
    year = store.current_year(conn)
    return {"person": person, "journals": structure.journals(conn, year["id"], person_id) if year else []}


async def _staff_person_page(request: Request, person_id: int, error: str | None = None) -> Response:
    view = await read(request, _staff_person_view, person_id)
    return render(request, "school/staff_person.html", error, staff_roles=STAFF_ROLES,
                  roles=set((view["person"]["roles"] or "").split(",")), can_manage=can_manage(request), **view)


@get("/school/staff/{person_id:int}", opt=ROLE_GRANTORS)
async def staff_person_page(request: Request, person_id: FromPath[int]) -> Response:
    return await _staff_person_page(request, person_id)


@post("/school/staff/{person_id:int}/roles", opt=ROLE_GRANTORS)
async def staff_roles_save(request: Request, person_id: FromPath[int]) -> Response:
    roles = set(await form_list(request, "role"))
    return await submit(request, lambda _: write(request, people.set_staff_roles, person_id, roles),
                        lambda error, _: _staff_person_page(request, person_id, error),
                        lambda _: see_other(f"/school/staff/{person_id}", "roles"))


# --- class access ---------------------------------------------------------------------------

def _access_view(conn) -> dict:
    year = store.current_year(conn)
    return {"grants": people.class_access_list(conn), "staff": structure.staff_people(conn),
            "classes": structure.classes(conn, year["id"]) if year else []}


async def _access_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    return render(request, "school/access.html", error, form, can_grant=current_user(request).has("deputy"),
                  **await read(request, _access_view))


@get("/school/access", opt=VIEW)
async def access_page(request: Request) -> Response:
    return await _access_page(request)


@post("/school/access", opt=ACCESS_GRANTORS)
async def access_grant(request: Request) -> Response:
    async def act(form: dict) -> None:
        person_id, class_id = int_or_none(form.get("person_id")), int_or_none(form.get("class_id"))
        if person_id is None or class_id is None:
            raise SchoolError("Выберите работника и класс.")
        await write(request, people.grant_class_access, person_id, class_id)

    return await submit(request, act, lambda error, form: _access_page(request, error, form),
                        lambda _: see_other("/school/access", "access"))


@post("/school/access/revoke", opt=ACCESS_GRANTORS)
async def access_revoke(request: Request) -> Response:
    form = await form_dict(request)
    person_id, class_id = int_or_none(form.get("person_id")), int_or_none(form.get("class_id"))
    if person_id is not None and class_id is not None:
        await write(request, people.revoke_class_access, person_id, class_id)
    return see_other("/school/access", "access")


ROUTES = [staff_page, staff_create, staff_person_page, staff_roles_save, access_page, access_grant, access_revoke]
