"""Bells (lesson times) and the weekly timetable of the open year."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ...web.forms import form_dict, int_or_none, see_other
from .. import structure
from ..errors import SchoolError
from ..guards import MANAGE, VIEW, can_manage
from ..validate import WEEKDAYS, parse_int, parse_time
from . import read, render, submit, write

BELL_ROWS = range(0, 10)  # the lessons the bells form shows: 0 (before the first) to 9


# --- bells -------------------------------------------------------------------------------

def _wanted(request: Request) -> int | None:
    return int_or_none(request.query_params.get("year"))


def _year_q(request: Request) -> str:
    return f"?year={_wanted(request)}" if _wanted(request) else ""


def _bells_view(conn, wanted: int | None) -> dict:
    choice = structure.year_choice(conn, wanted)
    year = choice["year"]
    return {**choice, "bells": {b["number"]: b for b in structure.bells(conn, year["id"])} if year else {}}


async def _bells_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    view = await read(request, _bells_view, _wanted(request))
    return render(request, "school/bells.html", error, form, can_manage=can_manage(request) and not view["year_closed"],
                  **view)


@get("/school/bells", opt=VIEW)
async def bells_page(request: Request) -> Response:
    return await _bells_page(request)


def _save_bells(conn, actor: int, form: dict, wanted: int | None = None) -> None:
    year = structure.year_choice(conn, wanted)["year"] if wanted else structure.open_year(conn)
    if year is None:
        raise SchoolError("Сначала создайте учебный год.")
    rows = []
    for n in BELL_ROWS:
        start, end = form.get(f"start_{n}", ""), form.get(f"end_{n}", "")
        if start or end:
            rows.append((n, parse_time(start, f"Урок {n}, начало"), parse_time(end, f"Урок {n}, конец")))
    structure.set_bells(conn, actor, year["id"], rows, BELL_ROWS)


@post("/school/bells", opt=MANAGE)
async def bells_save(request: Request) -> Response:
    """All bell rows at once: a filled row is saved, an emptied one removed, in one transaction."""
    return await submit(request, lambda f: write(request, _save_bells, f, _wanted(request)),
                        lambda error, form: _bells_page(request, error, form),
                        lambda _: see_other("/school/bells" + _year_q(request), "saved"))


# --- the timetable ---------------------------------------------------------------------------

def _timetable_view(conn, class_id: int | None, wanted: int | None = None) -> dict:
    if class_id is not None and wanted is None:
        wanted = structure.class_year(conn, class_id)  # a class's timetable is in its own year
    choice = structure.year_choice(conn, wanted)
    year = choice["year"]
    classes = structure.classes(conn, year["id"]) if year else []
    cls = next((c for c in classes if c["id"] == class_id), classes[0] if classes else None)
    view: dict = {**choice, "classes": classes, "cls": cls, "weekdays": WEEKDAYS}
    if cls:
        grid: dict = {}
        for slot in structure.class_timetable(conn, cls["id"]):
            grid.setdefault((slot["weekday"], slot["lesson_number"]), []).append(slot)
        bells = {b["number"]: b for b in structure.bells(conn, year["id"])}
        view.update(grid=grid, bells=bells, lesson_numbers=sorted(set(bells) | {n for _, n in grid} | set(range(1, 7))),
                    journals=structure.class_journals(conn, cls["id"]))
    return view


async def _timetable_page(request: Request, class_id: int | None, error: str | None = None,
                          form: dict | None = None) -> Response:
    view = await read(request, _timetable_view, class_id, _wanted(request))
    return render(request, "school/timetable.html", error, form,
                  can_manage=can_manage(request) and not view["year_closed"], **view)


@get("/school/timetable", opt=VIEW)
async def timetable_page(request: Request) -> Response:
    return await _timetable_page(request, int_or_none(request.query_params.get("class")))


@post("/school/timetable", opt=MANAGE)
async def timetable_add(request: Request) -> Response:
    async def act(form: dict) -> int | None:
        journal_id = int_or_none(form.get("journal_id"))
        if journal_id is None:
            raise SchoolError("Выберите предмет из нагрузки.")
        weekday = parse_int(form.get("weekday"), "День недели", 1, 6)
        number = parse_int(form.get("lesson_number"), "Номер урока", 0, 12)
        await write(request, structure.add_slot, journal_id, weekday, number, form.get("room", ""))
        return int_or_none(form.get("class"))

    return await submit(
        request, act,
        lambda error, form: _timetable_page(request, int_or_none(form.get("class")), error, form),
        lambda class_id: see_other(f"/school/timetable?class={class_id or ''}", "saved"))


@post("/school/timetable/{slot_id:int}/delete", opt=MANAGE)
async def timetable_delete(request: Request, slot_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    await write(request, structure.delete_slot, slot_id)
    return see_other(f"/school/timetable?class={int_or_none(form.get('class')) or ''}", "deleted")


ROUTES = [bells_page, bells_save, timetable_page, timetable_add, timetable_delete]
