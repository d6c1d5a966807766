"""Pages of the school structure: a class list."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.exceptions import NotFoundException, PermissionDeniedException

from ..web.access import current_user
from ..web.templating import page
from . import store


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


ROUTES = [class_page]
