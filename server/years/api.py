"""JSON API of the year lifecycle (/api/v1, tag «Учебный год»): the calendar template offered
for a year; the years themselves are `GET /api/v1/years` (server/school/api.py)."""

from __future__ import annotations

from litestar import Request, get

from ..school.errors import SchoolError
from . import calendar

TAGS = ["Учебный год"]
STAFF = {"roles": {"director", "deputy", "sysadmin", "teacher", "class_teacher", "staff"}}


@get("/api/v1/calendar/template", opt=STAFF, tags=TAGS)
async def api_calendar_template(request: Request) -> dict:
    """Примерный календарь учебного года (`?year=ГГГГ` — год начала, 1 сентября): четверти,
    полугодия, год и каникулы по образцу ФОП; школа правит его при создании года."""
    raw = request.query_params.get("year", "")
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise SchoolError("Укажите год начала учебного года: ?year=ГГГГ (например, 2027).", "year")
    return calendar.template(int(raw))


ROUTES = [api_calendar_template]
