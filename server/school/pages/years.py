"""The school's details and its academic years: periods (their dates) and holidays.
Closing a period is the journal's (server/journal/)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ... import clock
from ...errors import NotFound
from ...timeutil import school_year_start
from ...web.forms import int_or_none, see_other
from ...years import calendar
from .. import store, structure
from ..guards import MANAGE, VIEW, can_manage
from ..validate import PERIOD_KINDS, parse_date, parse_int
from . import read, render, submit, write

YEAR_STATUS = {"planned": "планируется", "open": "текущий", "closed": "закрыт"}


# --- the school and its years ------------------------------------------------------------

def _school_view(conn) -> dict:
    return {"school": store.school(conn), "years": structure.years(conn),
            "latest": structure.latest_year_start(conn)}


async def _school_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    view = await read(request, _school_view)
    latest = view.pop("latest")
    start = int(latest[:4]) + 1 if latest else school_year_start(clock.today())
    return render(request, "school/index.html", error, form, year_status=YEAR_STATUS, can_manage=can_manage(request),
                  suggested_start=f"{start}-09-01", suggested_end=f"{start + 1}-08-31", **view)


@get("/school", opt=VIEW)
async def school_page(request: Request) -> Response:
    return await _school_page(request)


@post("/school", opt=MANAGE)
async def school_save(request: Request) -> Response:
    return await submit(
        request,
        lambda f: write(request, structure.save_school, f.get("name", ""), f.get("address", ""),
                        f.get("district_code", "")),
        lambda error, form: _school_page(request, error, form),
        lambda _: see_other("/school", "saved"))


@post("/school/years", opt=MANAGE)
async def year_create(request: Request) -> Response:
    async def act(form: dict) -> int:
        starts_on = parse_date(form.get("starts_on", ""), "Начало года")
        ends_on = parse_date(form.get("ends_on", ""), "Конец года")
        return await write(request, structure.create_year, starts_on, ends_on)

    return await submit(request, act, lambda error, form: _school_page(request, error, form),
                        lambda year_id: see_other(f"/school/years/{year_id}", "created"))


# --- a year: periods and holidays ---------------------------------------------------------

def _year_view(conn, year_id: int) -> dict:
    year = structure.year(conn, year_id)
    if year is None:
        raise NotFound("Такого учебного года нет.")
    return {"year": year, "periods": structure.periods(conn, year_id), "holidays": structure.holidays(conn, year_id),
            "trimester_classes": conn.execute("SELECT count(*) FROM class WHERE year_id = ? AND archived_at IS NULL"
                                              " AND period_kind = 'trimester'", (year_id,)).fetchone()[0]}


async def _year_page(request: Request, year_id: int, error: str | None = None, form: dict | None = None) -> Response:
    view = await read(request, _year_view, year_id)
    edit_id = int_or_none(request.query_params.get("edit_period"))
    have = {(p["kind"], p["number"]) for p in view["periods"]}
    trimesters = request.query_params.get("trimesters") == "1" or view["trimester_classes"]
    missing = not view["periods"] or not view["holidays"] or (trimesters and ("trimester", 1) not in have)
    offer = calendar.template(int(view["year"]["starts_on"][:4]), bool(trimesters)) if missing else None
    if offer:  # only what the year lacks is offered (and added): its periods, the holidays if it has none
        offer["periods"] = [p for p in offer["periods"] if (p["kind"], p["number"]) not in have]
        offer["holidays"] = [] if view["holidays"] else offer["holidays"]
    return render(request, "school/year.html", error, form, year_status=YEAR_STATUS, calendar=offer,
                  holiday_rows=calendar.holiday_rows(offer) if offer and not view["holidays"] else 0,
                  trimesters_shown=bool(offer) and any(p["kind"] == "trimester" for p in offer["periods"]),
                  edit=next((p for p in view["periods"] if p["id"] == edit_id), None),
                  period_name=structure.period_name, period_kinds=PERIOD_KINDS, can_manage=can_manage(request),
                  **view)


@get("/school/years/{year_id:int}", opt=VIEW)
async def year_page(request: Request, year_id: FromPath[int]) -> Response:
    return await _year_page(request, year_id)


@post("/school/years/{year_id:int}/periods", opt=MANAGE)
async def period_create(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> None:
        number = parse_int(form.get("number"), "Номер периода", 1, 4)
        starts_on = parse_date(form.get("starts_on", ""), "Начало периода")
        ends_on = parse_date(form.get("ends_on", ""), "Конец периода")
        await write(request, structure.save_period, year_id, form.get("kind", ""), number, starts_on, ends_on)

    return await submit(request, act, lambda error, form: _year_page(request, year_id, error, form),
                        lambda _: see_other(f"/school/years/{year_id}", "created"))


@post("/school/periods/{period_id:int}", opt=MANAGE)
async def period_update(request: Request, period_id: FromPath[int]) -> Response:
    period = await read(request, structure.period, period_id)
    if period is None:
        raise NotFound("Такого периода нет.")

    async def act(form: dict) -> None:
        starts_on = parse_date(form.get("starts_on", ""), "Начало периода")
        ends_on = parse_date(form.get("ends_on", ""), "Конец периода")
        await write(request, structure.save_period, period["year_id"], period["kind"], period["number"], starts_on,
                    ends_on, period_id)

    return await submit(request, act, lambda error, form: _year_page(request, period["year_id"], error, form),
                        lambda _: see_other(f"/school/years/{period['year_id']}", "saved"))


@post("/school/years/{year_id:int}/holidays", opt=MANAGE)
async def holiday_create(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> None:
        starts_on = parse_date(form.get("h_starts_on", ""), "Начало каникул")
        ends_on = parse_date(form.get("h_ends_on", ""), "Конец каникул")
        await write(request, structure.add_holiday, year_id, form.get("name", ""), starts_on, ends_on)

    return await submit(request, act, lambda error, form: _year_page(request, year_id, error, form),
                        lambda _: see_other(f"/school/years/{year_id}", "created"))


@post("/school/years/{year_id:int}/calendar", opt=MANAGE)
async def year_calendar(request: Request, year_id: FromPath[int]) -> Response:
    """The Russian school calendar (quarters, half-years, holidays) put into a year that lacks them,
    with the dates as the person edited them on the page (a new school's first year; the next year
    has it on its own page). Periods the year has already and holidays overlapping its own are kept."""
    async def act(form: dict) -> int:
        y = await read(request, structure.year, year_id)
        if y is None:
            raise NotFound("Такого учебного года нет.")
        periods, holidays = calendar.from_form(form, int(y["starts_on"][:4]))
        if (await read(request, structure.holidays, year_id)):
            holidays = []  # a year with holidays of its own keeps them (a second click, a stale page)
        return await write(request, structure.apply_calendar, year_id, {"periods": periods, "holidays": holidays})

    return await submit(request, act, lambda error, form: _year_page(request, year_id, error, form),
                        lambda _: see_other(f"/school/years/{year_id}", "created"))


@post("/school/holidays/{holiday_id:int}/delete", opt=MANAGE)
async def holiday_delete(request: Request, holiday_id: FromPath[int]) -> Response:
    year_id = await read(request, structure.holiday_year, holiday_id)
    if year_id is None:
        raise NotFound("Таких каникул нет.")
    await write(request, structure.delete_holiday, holiday_id)
    return see_other(f"/school/years/{year_id}", "deleted")


ROUTES = [school_page, school_save, year_create, year_page, period_create, period_update, holiday_create, year_calendar,
          holiday_delete]
