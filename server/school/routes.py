"""Pages of the school structure (sysadmin and deputy manage, the director reads)
and of classes (the class teacher keeps their own class, §3.3.1)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath

from ..web.access import current_user
from ..web.forms import form_dict, ok_message, see_other
from ..web.templating import page
from . import store, structure
from .errors import SchoolError

# Who sees the school's set-up pages, and who changes them (§3.5.1, §3.4.2).
VIEW = {"roles": {"director", "deputy", "sysadmin"}}
MANAGE = {"roles": {"deputy", "sysadmin"}}


def can_manage(request: Request) -> bool:
    return current_user(request).has(*MANAGE["roles"])


async def current_year_or_none(request: Request):
    return await store.current_year(request.app.state.db)


# --- subjects -------------------------------------------------------------------------

async def _subjects_page(request: Request, error: str | None = None, form: dict | None = None,
                         status: int = 200) -> Response:
    db = request.app.state.db
    return page("school/subjects.html", status_code=status, subjects=await structure.subjects(db, True),
                can_manage=can_manage(request), ok=ok_message(request), error=error, form=form or {})


@get("/school/subjects", opt=VIEW)
async def subjects_page(request: Request) -> Response:
    return await _subjects_page(request)


@post("/school/subjects", opt=MANAGE)
async def subject_create(request: Request) -> Response:
    form = await form_dict(request)
    try:
        await request.app.state.db.write(structure.save_subject, form.get("name", ""), form.get("short_name", ""))
    except SchoolError as e:
        return await _subjects_page(request, e.message, form, 400)
    return see_other("/school/subjects", "created")


@post("/school/subjects/{subject_id:int}/archive", opt=MANAGE)
async def subject_archive(request: Request, subject_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    archived = form.get("archived") == "1"
    await request.app.state.db.write(structure.set_archived, "subject", subject_id, archived)
    return see_other("/school/subjects", "archived" if archived else "restored")


# --- a class's list ------------------------------------------------------------------------

@get("/classes/{class_id:int}", opt={"roles": {"director", "deputy", "sysadmin", "class_teacher"}})
async def class_page(request: Request, class_id: FromPath[int]) -> Response:
    user = current_user(request)
    db = request.app.state.db
    info = await store.class_info(db, class_id)
    if info is None:
        raise NotFoundException("Такого класса нет.")
    # A class teacher sees their own class only (§3.3.1); the administration sees all.
    if not user.has("director", "deputy", "sysadmin") and info["class_teacher_id"] != user.person_id:
        raise PermissionDeniedException("Это не ваш класс: список класса видит его классный руководитель.")
    return page("school/class.html", cls=info, students=await store.class_roster(db, class_id))


ROUTES = [subjects_page, subject_create, subject_archive, class_page]
