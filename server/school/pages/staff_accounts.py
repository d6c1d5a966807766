"""Staff management in the browser (issue 16), not only at the console: a staff member who left
is disabled — their account and person, with the reason, ledger entries through people.py;
their journals stay, read-only (journal/access.py), until the load goes to another teacher —
and brought back; every account of the school listed (`zhurnal user list` in the browser)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath

from ...accounts import store as accounts
from ...accounts.roles import ROLE_LABELS
from ...web.forms import see_other
from .. import people
from ..guards import MANAGE
from . import read, render, submit, write
from .staff import _staff_person_page

ACCOUNT_LISTERS = {"roles": {"deputy", "sysadmin"}}
SHOWN = 300  # rows of the accounts list at once; a filter narrows the rest


@post("/school/staff/{person_id:int}/leave", opt=MANAGE)
async def staff_leave(request: Request, person_id: FromPath[int]) -> Response:
    """Уволился: the account is disabled, the journals stay read-only until reassigned."""
    return await submit(request, lambda f: write(request, people.staff_leaves, person_id, f.get("reason", "")),
                        lambda error, _: _staff_person_page(request, person_id, error),
                        lambda _: see_other(f"/school/staff/{person_id}", "saved"))


@post("/school/staff/{person_id:int}/return", opt=MANAGE)
async def staff_return(request: Request, person_id: FromPath[int]) -> Response:
    return await submit(request, lambda _: write(request, people.staff_returns, person_id),
                        lambda error, _: _staff_person_page(request, person_id, error),
                        lambda _: see_other(f"/school/staff/{person_id}", "saved"))


def _state(a) -> str:
    if a["disabled_at"]:
        return "отключена"
    if not a["has_password"]:
        return "доступ не выдан"
    return "вход с временным паролем" if a["must_change_password"] else "действует"


@get("/school/accounts", opt=ACCOUNT_LISTERS)
async def accounts_page(request: Request) -> Response:
    """Every account: login, person, roles, state; filtered by role and by a name or login."""
    role = request.query_params.get("role", "")
    text = request.query_params.get("q", "").strip()
    rows = await read(request, accounts.list_accounts)
    wanted = text.casefold().replace("ё", "е")
    found = []
    for a in rows:
        roles = set(filter(None, (a["roles"] or "").split(",")))
        if role and role not in roles:
            continue
        name = f"{a['last_name']} {a['first_name']} {a['middle_name']}"
        if wanted and wanted not in f"{a['login']} {name}".casefold().replace("ё", "е"):
            continue
        found.append({"login": a["login"], "name": name, "roles": [ROLE_LABELS[r] for r in ROLE_LABELS if r in roles],
                      "state": _state(a), "disabled": bool(a["disabled_at"])})
    return render(request, "school/accounts.html", rows=found[:SHOWN], total=len(found), shown=SHOWN, role=role,
                  q=text, role_labels={r: ROLE_LABELS[r] for r in ROLE_LABELS if r != "class_teacher"})


ROUTES = [staff_leave, staff_return, accounts_page]
