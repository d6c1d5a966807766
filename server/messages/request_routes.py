"""Pages of the family's requests (server/messages/requests.py): the class teacher marks a
request to correct personal data done (§4.1.5); the administration chooses who of it receives
families' messages (§4.1.6)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ..web.access import current_user
from ..web.forms import form_dict, form_list, ok_message, see_other
from ..web.templating import page
from . import requests
from .audience import MessageError

ADMINISTRATION = {"roles": {"director", "deputy", "sysadmin"}}
CHOOSERS = {"roles": {"director", "deputy"}}


@post("/messages/{thread_id:int}/done", opt={"any_user": True})
async def request_done(request: Request, thread_id: FromPath[int]) -> Response:
    """The recipient of a request marks it done (or not done again)."""
    form = await form_dict(request)
    await request.app.state.db.write(requests.set_done, current_user(request), thread_id, form.get("done", "1") == "1")
    return see_other(f"/messages/{thread_id}", "saved")


def _choice(conn) -> dict:
    return {"roles": requests.admin_roles(conn), "people": requests.admin_people(conn)}


async def _choice_page(request: Request, error: str | None = None) -> Response:
    return page("messages/family_admin.html", status_code=400 if error else 200, error=error,
                ok=ok_message(request), choices=requests.ADMIN_CHOICES,
                can_change=current_user(request).has(*CHOOSERS["roles"]),
                **await request.app.state.db.read(_choice))


@get("/school/family-messages", opt=ADMINISTRATION)
async def family_messages_page(request: Request) -> Response:
    """Who of the administration receives families' messages (§4.1.6)."""
    return await _choice_page(request)


@post("/school/family-messages", opt=CHOOSERS)
async def family_messages_save(request: Request) -> Response:
    roles = await form_list(request, "role")
    try:
        await request.app.state.db.write(requests.set_admin_roles, current_user(request).account_id, roles)
    except MessageError as e:
        return await _choice_page(request, e.message)
    return see_other("/school/family-messages", "saved")


ROUTES = [request_done, family_messages_page, family_messages_save]
