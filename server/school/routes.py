"""The school's pages: every route of the page families in server/school/pages/ (the import
pages are import_routes.py, the JSON API api.py). Other areas that show a school page of
their own (grading settings) take the same guards from here."""

from __future__ import annotations

from .guards import MANAGE, VIEW, can_manage
from . import start
from .pages import classes, load, staff, staff_accounts, students, timetable, years

__all__ = ["MANAGE", "ROUTES", "VIEW", "can_manage"]

ROUTES = [*students.ROUTES, *years.ROUTES, *classes.ROUTES, *load.ROUTES, *timetable.ROUTES, *staff.ROUTES,
          *start.ROUTES, *staff_accounts.ROUTES]
