"""«Мой профиль» for families: the parent's own consent to processing each child's data and the
diary form chosen (§4.1.1) — who recorded them, when, on what document — and the request to
correct a child's personal data (§4.1.5); a student sees their own record and may send the
same request. Changing a consent or the diary form is done by the class teacher on a written
request (server/school/people.record_consent); the parent sees here that it was."""

from __future__ import annotations

import json
import sqlite3

from litestar import Request, Response, get, post

from .errors import UserError
from .school import store as school
from .messages import requests
from .web.access import current_user
from .web.forms import form_dict, int_or_none, ok_message, see_other
from .web.templating import page

FAMILY = {"roles": {"parent", "student"}}


def _recorded_by(conn: sqlite3.Connection, parent_id: int, student_id: int) -> sqlite3.Row | None:
    """The ledger's entry that recorded the consent now in force: who and when."""
    for e in conn.execute(
            "SELECT a.at, a.old, a.new, p.last_name, p.first_name, p.middle_name FROM audit_log a"
            " LEFT JOIN account ac ON ac.id = a.account_id LEFT JOIN person p ON p.id = ac.person_id"
            " WHERE a.key = ? ORDER BY a.id DESC", (f"guardian:{parent_id}:{student_id}",)):
        new = json.loads(e["new"]) if e["new"] else {}
        old = json.loads(e["old"]) if e["old"] else {}
        if new.get("consent_at") and not old.get("consent_at"):
            return e
    return None


def _profile(conn: sqlite3.Connection, user) -> dict:
    me = conn.execute("SELECT p.*, a.login FROM person p JOIN account a ON a.person_id = p.id WHERE p.id = ?",
                      (user.person_id,)).fetchone()
    children = []
    if user.has("parent"):
        for g in conn.execute(
                "SELECT g.*, p.last_name, p.first_name, p.middle_name FROM guardian g JOIN person p ON p.id = g.student_id"
                " WHERE g.parent_id = ? ORDER BY p.birth_date, p.first_name COLLATE RU", (user.person_id,)).fetchall():
            card = school.student_card(conn, g["student_id"])
            children.append({"g": g, "card": card,
                             "by": _recorded_by(conn, user.person_id, g["student_id"]) if g["consent_at"] else None})
    return {"me": me, "children": children,
            "self_card": school.student_card(conn, user.person_id) if user.has("student") else None,
            "requests": requests.requests_about(conn, user.person_id)}


async def _profile_page(request: Request, error: str | None = None, form: dict | None = None) -> Response:
    data = await request.app.state.db.read(_profile, current_user(request))
    return page("profile/index.html", status_code=400 if error else 200, error=error, form=form or {},
                ok=ok_message(request), **data)


@get("/profile", opt=FAMILY)
async def profile_page(request: Request) -> Response:
    return await _profile_page(request)


@post("/profile/data-correction", opt=FAMILY)
async def data_correction(request: Request) -> Response:
    """§4.1.5: what changed in the child's personal data, to the class teacher."""
    form = await form_dict(request)
    try:
        thread_id = await request.app.state.db.write(
            requests.start_data_correction, current_user(request), int_or_none(form.get("student_id")),
            form.get("body", ""))
    except UserError as e:
        if e.status_code == 404:
            raise
        return await _profile_page(request, e.message, form)
    return see_other(f"/messages/{thread_id}")


ROUTES = [profile_page, data_correction]
