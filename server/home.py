"""The home page: one section per role the person holds."""

from __future__ import annotations

from datetime import date

import anyio.to_thread
from backups.service import problems as backup_problems
from litestar import Request, Response, get
from litestar.response import Redirect

from . import __version__, health
from .accounts import store as accounts
from .db import latest_version
from .diary import store as diary_store
from .messages import store as messages
from .netinfo import server_urls
from .journal import store as journal_store
from .school import store as school
from .web.access import load_user
from .web.templating import page


@get("/", opt={"public": True}, name="home")
async def home(request: Request) -> Response:
    db = request.app.state.db
    user = await load_user(request)
    if user is None:
        if await accounts.account_count(db) == 0:
            return Redirect("/setup", status_code=303)
        return Redirect("/login", status_code=303)
    if user.must_change_password:
        return Redirect("/password", status_code=303)
    if user.kiosk:
        return Redirect("/kiosk", status_code=303)
    ctx: dict = {"school": await school.school(db), "year": await school.current_year(db),
                 "announcements": await messages.pinned_for(db, user.person_id)}
    if user.has("director", "deputy", "sysadmin"):
        ctx["counts"] = await school.school_counts(db)
        ctx["failed_logins"] = await db.fetchval(
            "SELECT count(*) FROM login_event WHERE outcome IN ('bad_password', 'unknown_login', 'throttled')"
            " AND at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')"
        )
        # A failed nightly backup must reach the people responsible for it (§3.4.6).
        ctx["backup_problems"] = await anyio.to_thread.run_sync(backup_problems, request.app.state.settings)
        ctx["health_problems"] = await anyio.to_thread.run_sync(health.problems, request.app.state.settings)
    if user.has("sysadmin"):
        settings = request.app.state.settings
        ctx["urls"] = server_urls(settings)
        ctx["schema_version"] = latest_version()
        ctx["app_version"] = __version__
        ctx["data_dir"] = str(settings.data_dir.resolve())
    if user.has("class_teacher"):
        ctx["my_classes"] = await school.classes_of_class_teacher(db, user.person_id)
    if user.has("teacher") and ctx["year"]:
        ctx["my_journals"] = [j for j in await journal_store.journals_for(db, user, ctx["year"]["id"]) if j["mine"]]
        ctx["todo"] = await journal_store.todo(db, user.person_id)
    if user.has("parent"):
        ctx["children"] = await school.children_of(db, user.person_id)
        ctx["recent"] = {c["id"]: await diary_store.recent(db, c["id"], date.today()) for c in ctx["children"]}
    if user.has("student"):
        ctx["me_student"] = await school.student_card(db, user.person_id)
        ctx["my_recent"] = await diary_store.recent(db, user.person_id, date.today())
    return page("home/index.html", **ctx)


ROUTES = [home]
