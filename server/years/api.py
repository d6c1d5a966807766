"""JSON API of the year lifecycle (/api/v1, tag «Учебный год»): the calendar template offered
for a year; the years themselves are `GET /api/v1/years` (server/school/api.py)."""

from __future__ import annotations

import msgspec
from litestar import Request, get

from ..school.errors import SchoolError
from . import calendar

TAGS = ["Учебный год"]


class TemplatePeriod(msgspec.Struct):
    kind: str
    number: int
    starts_on: str
    ends_on: str


class TemplateHoliday(msgspec.Struct):
    name: str
    starts_on: str
    ends_on: str


class CalendarTemplate(msgspec.Struct):
    """Примерный календарь года: периоды (quarter, half, trimester, year), каникулы, пояснение."""

    name: str
    starts_on: str
    ends_on: str
    periods: list[TemplatePeriod]
    holidays: list[TemplateHoliday]
    note: str


STAFF = {"roles": {"director", "deputy", "sysadmin", "teacher", "class_teacher", "staff"}}


@get("/api/v1/calendar/template", opt=STAFF, tags=TAGS)
async def api_calendar_template(request: Request) -> CalendarTemplate:
    """Примерный календарь учебного года (`?year=ГГГГ` — год начала, 1 сентября): четверти,
    полугодия, год и каникулы по образцу ФОП; школа правит его при создании года."""
    raw = request.query_params.get("year", "")
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise SchoolError("Укажите год начала учебного года: ?year=ГГГГ (например, 2027).", "year")
    return msgspec.convert(calendar.template(int(raw)), CalendarTemplate)


ROUTES = [api_calendar_template]
