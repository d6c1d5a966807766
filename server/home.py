"""The home page: one section per role the person holds."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import anyio.to_thread
from backups.status import problems as backup_problems
from litestar import Request, Response, get
from litestar.response import Redirect

from . import __version__, clock, health
from .accounts import store as accounts
from .accounts.store import User
from .db import latest_version
from .diary import due as diary_due
from .diary import store as diary_store
from .messages import requests as message_requests
from .messages import store as messages
from .netinfo import server_urls
from .reports import remarks as report_remarks
from .journal import access as journal_access
from .journal import store as journal_store
from .school import start as school_start
from .school import store as school
from .timetable import store as timetable
from .web.access import load_user
from .web.templating import page
from .years import debts as year_debts


def _own_parts(conn: sqlite3.Connection, user: User, child_ids: list[int], today: date) -> dict:
    """The parts of the home page read from this program's own areas (messages, logins, the
    diary), in one snapshot."""
    ctx: dict = {"announcements": messages.pinned_for(conn, user.person_id)}
    if user.has("director", "deputy", "sysadmin"):
        ctx["failed_logins"] = accounts.failed_logins(conn, timedelta(days=1))
    if user.has("parent"):
        ctx["recent"] = {child_id: diary_store.recent(conn, child_id, today) for child_id in child_ids}
        ctx["due"] = {child_id: diary_due.next_school_day(conn, child_id, today) for child_id in child_ids}
    if user.has("director", "deputy", "sysadmin", "teacher", "staff"):
        ctx["open_requests"] = message_requests.open_requests(conn, user.person_id)
    if user.has("student"):
        ctx["my_recent"] = diary_store.recent(conn, user.person_id, today)
        ctx["my_due"] = diary_due.next_school_day(conn, user.person_id, today)
    # Academic debts until their result is marked (server/years/debts.py): each sees those that concern them.
    iso = today.isoformat()
    if user.has("director", "deputy"):
        ctx["debts"] = year_debts.open_debts(conn, iso)
    elif user.has("class_teacher"):
        ctx["debts"] = year_debts.open_debts(conn, iso, class_teacher=user.person_id)
    family = child_ids + ([user.person_id] if user.has("student") else [])
    if family:
        ctx["family_debts"] = year_debts.open_debts(conn, iso, student_ids=family)
    closed = conn.execute("SELECT * FROM academic_year WHERE status = 'open' AND closed_at IS NOT NULL"
                          " ORDER BY starts_on DESC LIMIT 1").fetchone()
    if closed is not None:
        # Between years (the year closed in June, the next opens in September; the closed one stays
        # current until then): say so, and what comes next.
        ctx["between"] = {"closed": closed, "next": conn.execute(
            "SELECT * FROM academic_year WHERE status = 'planned' ORDER BY starts_on LIMIT 1").fetchone()}
    return ctx


@get("/", opt={"public": True}, name="home")
async def home(request: Request) -> Response:
    db = request.app.state.db
    user = await load_user(request)
    if user is None:
        if await db.read(accounts.account_count) == 0:
            return Redirect("/setup", status_code=303)
        return Redirect("/login", status_code=303)
    if user.kiosk:
        return Redirect("/kiosk", status_code=303)
    if user.must_change_password:
        return Redirect("/password", status_code=303)
    ctx: dict = {"school": await db.read(school.school), "year": await db.read(school.current_year)}
    if user.has("director", "deputy", "sysadmin"):
        ctx["counts"] = await db.read(school.school_counts)
        # A failed nightly backup must reach the people responsible for it (§3.4.6).
        ctx["backup_problems"] = await anyio.to_thread.run_sync(backup_problems, request.app.state.settings)
        ctx["health_problems"] = await anyio.to_thread.run_sync(health.problems, request.app.state.settings)
    if user.has("sysadmin", "deputy"):
        # A new school's first days: what to do next, while the set-up is not finished (server/school/start.py;
        # consents and families' credentials go on all year: they stay on /school/start).
        steps = await db.read(school_start.checklist)
        if not all(s.done for s in steps[:school_start.SET_UP_STEPS]):
            ctx["first_steps"] = steps
    if user.has("sysadmin"):
        settings = request.app.state.settings
        ctx["urls"] = server_urls(settings)
        ctx["schema_version"] = latest_version()
        ctx["app_version"] = __version__
        ctx["data_dir"] = str(settings.data_dir.resolve())
    if user.has("class_teacher"):
        ctx["my_classes"] = await db.read(school.classes_of_class_teacher, user.person_id)
    if user.has("teacher"):
        # The teacher's day starts the page (server/timetable/).
        ctx["my_day"] = await db.read(timetable.teacher_home_day, user.person_id, clock.today().isoformat())
    if user.has("teacher") and ctx["year"]:
        ctx["my_journals"] = [j for j in await db.read(journal_access.journals_for, user, ctx["year"]["id"])
                              if j["mine"]]
        ctx["todo"] = await db.read(journal_store.todo, user.person_id, clock.today().isoformat())
        ctx["remarks"] = await db.read(report_remarks.for_teacher, user.person_id)
    if user.has("parent"):
        ctx["children"] = await db.read(school.children_of, user.person_id)
    if user.has("student"):
        ctx["me_student"] = await db.read(school.student_card, user.person_id)
    ctx.update(await db.read(_own_parts, user, [c["id"] for c in ctx.get("children", [])], clock.today()))
    return page("home/index.html", **ctx)


ROUTES = [home]
