"""Subjects and the teaching load: who teaches which subject to which class or group, how
many hours a week. Each load row is a journal."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ...errors import NotFound
from ...web.forms import int_or_none, see_other
from .. import structure
from ..errors import SchoolError
from ..guards import MANAGE, VIEW, can_manage
from ..validate import parse_hours
from . import read, render, submit, write


# --- subjects -------------------------------------------------------------------------

async def _subjects_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    subjects = await read(request, structure.subjects, True)
    edit_id = int_or_none(request.query_params.get("edit"))
    return render(request, "school/subjects.html", error, form, subjects=subjects,
                  edit=next((s for s in subjects if s["id"] == edit_id), None), can_manage=can_manage(request))


@get("/school/subjects", opt=VIEW)
async def subjects_page(request: Request) -> Response:
    return await _subjects_page(request)


async def _subject_form(request: Request, subject_id: int | None) -> Response:
    return await submit(
        request,
        lambda f: write(request, structure.save_subject, f.get("name", ""), f.get("short_name", ""), subject_id),
        lambda error, form: _subjects_page(request, error, form),
        lambda _: see_other("/school/subjects", "saved" if subject_id else "created"))


@post("/school/subjects", opt=MANAGE)
async def subject_create(request: Request) -> Response:
    return await _subject_form(request, None)


@post("/school/subjects/{subject_id:int}", opt=MANAGE)
async def subject_update(request: Request, subject_id: FromPath[int]) -> Response:
    return await _subject_form(request, subject_id)


@post("/school/subjects/{subject_id:int}/archive", opt=MANAGE)
async def subject_archive(request: Request, subject_id: FromPath[int]) -> Response:
    archived = (await request.form()).get("archived") == "1"
    await write(request, structure.set_archived, "subject", subject_id, archived)
    return see_other("/school/subjects", "archived" if archived else "restored")


# --- the teaching load -----------------------------------------------------------------------

def _load_view(conn, wanted: int | None) -> dict:
    choice = structure.year_choice(conn, wanted)
    year = choice["year"]
    journals = structure.journals(conn, year["id"]) if year else []
    return {**choice, "journals": journals, "total_hours": sum(j["hours_per_week"] for j in journals),
            "subjects": structure.subjects(conn), "classes": structure.classes(conn, year["id"]) if year else [],
            "groups": structure.groups(conn, year["id"]) if year else [],
            "staff": structure.staff_people(conn, "teacher")}


def _wanted(request: Request) -> int | None:
    return int_or_none(request.query_params.get("year"))


def _year_q(request: Request) -> str:
    return f"?year={_wanted(request)}" if _wanted(request) else ""


async def _load_page(request: Request, error: str | None = None, form: dict | None = None,
                     year_id: int | None = None) -> Response:
    view = await read(request, _load_view, year_id or _wanted(request))
    edit_id = int_or_none(request.query_params.get("edit"))
    return render(request, "school/load.html", error, form, can_manage=can_manage(request) and not view["year_closed"],
                  edit=next((j for j in view["journals"] if j["id"] == edit_id), None), **view)


@get("/school/load", opt=VIEW)
async def load_page(request: Request) -> Response:
    return await _load_page(request)


def parse_target(text: str) -> tuple[int | None, int | None]:
    """'c:12' → (class 12, None); 'g:3' → (None, group 3)."""
    kind, _, raw = (text or "").partition(":")
    if kind not in ("c", "g") or not raw.isdigit():
        raise SchoolError("Выберите класс или группу.")
    return (int(raw), None) if kind == "c" else (None, int(raw))


def _create_load(conn, actor: int, form: dict, wanted: int | None = None) -> int:
    year = structure.year_choice(conn, wanted)["year"] if wanted else structure.open_year(conn)
    if year is None:
        raise SchoolError("Сначала создайте учебный год.")
    class_id, group_id = parse_target(form.get("target", ""))
    subject_id = int_or_none(form.get("subject_id"))
    teacher_id = int_or_none(form.get("teacher_id"))
    if subject_id is None or teacher_id is None:
        raise SchoolError("Выберите предмет и учителя.")
    return structure.save_journal(conn, actor, year["id"], subject_id, class_id, group_id, teacher_id,
                                  parse_hours(form.get("hours", "")))


@post("/school/load", opt=MANAGE)
async def load_create(request: Request) -> Response:
    return await submit(request, lambda f: write(request, _create_load, f, _wanted(request)),
                        lambda error, form: _load_page(request, error, form),
                        lambda _: see_other("/school/load" + _year_q(request), "created"))


@post("/school/load/{journal_id:int}", opt=MANAGE)
async def load_update(request: Request, journal_id: FromPath[int]) -> Response:
    """Another teacher or other hours for a journal; its lessons and grades stay with it."""
    j = await read(request, structure.journal, journal_id)
    if j is None or j["archived_at"]:
        raise NotFound("Такой нагрузки нет.")

    async def act(form: dict) -> None:
        teacher_id = int_or_none(form.get("teacher_id"))
        if teacher_id is None:
            raise SchoolError("Выберите учителя.")
        await write(request, structure.save_journal, j["year_id"], j["subject_id"], j["class_id"], j["group_id"],
                    teacher_id, parse_hours(form.get("hours", "")), journal_id)

    return await submit(request, act, lambda error, form: _load_page(request, error, form, j["year_id"]),
                        lambda _: see_other(f"/school/load?year={j['year_id']}", "saved"))


@post("/school/load/{journal_id:int}/archive", opt=MANAGE)
async def load_archive(request: Request, journal_id: FromPath[int]) -> Response:
    j = await read(request, structure.journal, journal_id)
    await write(request, structure.set_archived, "journal", journal_id, True)
    return see_other(f"/school/load?year={j['year_id']}" if j else "/school/load", "archived")


ROUTES = [subjects_page, subject_create, subject_update, subject_archive,
          load_page, load_create, load_update, load_archive]
