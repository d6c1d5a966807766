"""Classes of the open year and the groups: subgroups of a class, groups across classes,
individual and home-schooling groups (§3.2.5)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ... import clock
from ...errors import NotFound
from ...web.forms import form_list, int_or_none, see_other
from .. import store, structure
from ..errors import SchoolError
from ..guards import MANAGE, VIEW, can_manage
from ..validate import GROUP_KINDS, PERIOD_KIND_PLURAL, parse_class_name
from . import read, render, submit, write


# --- classes -------------------------------------------------------------------------------

def wanted_year(request: Request) -> int | None:
    """The year a set-up page was asked for (`?year=ID`; the current one without it)."""
    return int_or_none(request.query_params.get("year"))


def _classes_view(conn, wanted: int | None) -> dict:
    choice = structure.year_choice(conn, wanted)
    year = choice["year"]
    return {**choice, "classes": structure.classes(conn, year["id"]) if year else [],
            "staff": structure.staff_people(conn)}


async def _classes_page(request: Request, error: str | None = None, form: dict | None = None,
                        edit=None) -> Response:
    view = await read(request, _classes_view, edit["year_id"] if edit else wanted_year(request))
    return render(request, "school/classes.html", error, form, period_plural=PERIOD_KIND_PLURAL, edit=edit,
                  can_manage=can_manage(request) and not view["year_closed"], **view)


@get("/school/classes", opt=VIEW)
async def classes_page(request: Request) -> Response:
    return await _classes_page(request)


async def _class_or_404(request: Request, class_id: int):
    row = await read(request, structure.live_class, class_id)
    if row is None:
        raise NotFound("Такого класса нет.")
    return row


@get("/school/classes/{class_id:int}", opt=MANAGE)
async def class_edit_page(request: Request, class_id: FromPath[int]) -> Response:
    return await _classes_page(request, edit=await _class_or_404(request, class_id))


def _save_class(conn, actor: int, edit, name: str, class_teacher_id: int | None, period_kind: str | None,
                wanted: int | None = None) -> int:
    year = structure.year_choice(conn, wanted)["year"] if wanted else structure.open_year(conn)
    if year is None:
        raise SchoolError("Сначала создайте учебный год.")
    parallel, letter = parse_class_name(name)
    return structure.save_class(conn, actor, edit["year_id"] if edit else year["id"], parallel, letter,
                                class_teacher_id, period_kind, edit["id"] if edit else None)


def _year_q(request: Request) -> str:
    wanted = wanted_year(request)
    return f"?year={wanted}" if wanted else ""


async def _class_form(request: Request, class_id: int | None) -> Response:
    edit = await _class_or_404(request, class_id) if class_id else None
    return await submit(
        request,
        lambda f: write(request, _save_class, edit, f.get("name", ""), int_or_none(f.get("class_teacher_id")),
                        f.get("period_kind") or None, wanted_year(request)),
        lambda error, form: _classes_page(request, error, form, edit),
        lambda _: see_other("/school/classes" + (f"?year={edit['year_id']}" if edit else _year_q(request)),
                            "saved" if class_id else "created"))


@post("/school/classes", opt=MANAGE)
async def class_create(request: Request) -> Response:
    return await _class_form(request, None)


@post("/school/classes/{class_id:int}", opt=MANAGE)
async def class_update(request: Request, class_id: FromPath[int]) -> Response:
    return await _class_form(request, class_id)


@post("/school/classes/{class_id:int}/archive", opt=MANAGE)
async def class_archive(request: Request, class_id: FromPath[int]) -> Response:
    edit = await _class_or_404(request, class_id)
    return await submit(request, lambda _: write(request, structure.archive_class, class_id),
                        lambda error, _: _classes_page(request, error, {}, edit),
                        lambda _: see_other("/school/classes", "archived"))


# --- groups --------------------------------------------------------------------------------

def _groups_view(conn, wanted: int | None) -> dict:
    choice = structure.year_choice(conn, wanted)
    year = choice["year"]
    return {**choice, "groups": structure.groups(conn, year["id"]) if year else [],
            "classes": structure.classes(conn, year["id"]) if year else []}


async def _groups_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    view = await read(request, _groups_view, wanted_year(request))
    return render(request, "school/groups.html", error, form, group_kinds=GROUP_KINDS,
                  can_manage=can_manage(request) and not view["year_closed"], **view)


@get("/school/groups", opt=VIEW)
async def groups_page(request: Request) -> Response:
    return await _groups_page(request)


def _create_group(conn, actor: int, name: str, kind: str, class_id: int | None, wanted: int | None = None) -> int:
    year = structure.year_choice(conn, wanted)["year"] if wanted else structure.open_year(conn)
    if year is None:
        raise SchoolError("Сначала создайте учебный год.")
    return structure.save_group(conn, actor, year["id"], name, kind, class_id, [], clock.today().isoformat())


@post("/school/groups", opt=MANAGE)
async def group_create(request: Request) -> Response:
    return await submit(
        request,
        lambda f: write(request, _create_group, f.get("name", ""), f.get("kind", ""), int_or_none(f.get("class_id")),
                        wanted_year(request)),
        lambda error, form: _groups_page(request, error, form),
        lambda group_id: see_other(f"/school/groups/{group_id}", "created"))


def _group_view(conn, group_id: int, class_param: int | None) -> dict:
    group = structure.group(conn, group_id)
    if group is None:
        raise NotFound("Такой группы нет.")
    members = structure.group_members(conn, group_id)
    pick = group["class_id"] or class_param
    return {"group": group, "members": members, "classes": structure.classes(conn, group["year_id"]),
            "pick_class": pick, "candidates": store.class_roster(conn, pick) if pick else [],
            "member_ids": {m["id"] for m in members}}


async def _group_page(request: Request, group_id: int, error: str | None = None) -> Response:
    view = await read(request, _group_view, group_id, int_or_none(request.query_params.get("class")))
    return render(request, "school/group.html", error, group_kinds=GROUP_KINDS, can_manage=can_manage(request), **view)


@get("/school/groups/{group_id:int}", opt=VIEW)
async def group_page(request: Request, group_id: FromPath[int]) -> Response:
    return await _group_page(request, group_id)


def _save_members(conn, actor: int, group_id: int, class_id: int | None, checked: list[int]) -> None:
    """The checked students of the shown class are in the group; other classes' members stay."""
    group = structure.group(conn, group_id)
    if group is None:
        raise NotFound("Такой группы нет.")
    shown = {r["id"] for r in store.class_roster(conn, class_id)} if class_id else set()
    others = [m["id"] for m in structure.group_members(conn, group_id) if m["id"] not in shown]
    structure.save_group(conn, actor, group["year_id"], group["name"], group["kind"], group["class_id"],
                         others + [s for s in checked if s in shown], clock.today().isoformat(), group_id)


@post("/school/groups/{group_id:int}/members", opt=MANAGE)
async def group_members_save(request: Request, group_id: FromPath[int]) -> Response:
    async def act(form: dict) -> int | None:
        class_id = int_or_none(form.get("class_id"))
        checked = [int(x) for x in await form_list(request, "student_id") if x.isdigit()]
        await write(request, _save_members, group_id, class_id, checked)
        return class_id

    return await submit(request, act, lambda error, _: _group_page(request, group_id, error),
                        lambda class_id: see_other(f"/school/groups/{group_id}?class={class_id or ''}", "saved"))


@post("/school/groups/{group_id:int}/archive", opt=MANAGE)
async def group_archive(request: Request, group_id: FromPath[int]) -> Response:
    await write(request, structure.set_archived, "study_group", group_id, True)
    return see_other("/school/groups", "archived")


ROUTES = [classes_page, class_edit_page, class_create, class_update, class_archive,
          groups_page, group_create, group_page, group_members_save, group_archive]
