"""`/archive`: the administration's archive page (§1.6, §2.6, §3.4.7): the archives kept, for
download; the deputy (or director) starts a build, watches its progress (htmx polls
`/archive/progress`; the state is a file, so a reload finds it) and may cancel it."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

import anyio
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File

from ..errors import NotFound, UserError
from ..school.structure import period_name
from ..web.access import current_user
from ..web.forms import form_dict, int_or_none, see_other
from ..web.templating import page
from . import build

ADMIN = {"roles": {"director", "deputy"}}


def _choices(conn: sqlite3.Connection) -> dict:
    years = conn.execute("SELECT * FROM academic_year WHERE status <> 'planned' ORDER BY starts_on DESC").fetchall()
    periods = conn.execute(
        "SELECT p.*, y.name AS year_name FROM study_period p JOIN academic_year y ON y.id = p.year_id"
        " WHERE y.status <> 'planned' AND p.kind <> 'year' ORDER BY y.starts_on DESC, p.kind = 'half', p.number").fetchall()
    classes = conn.execute(
        "SELECT c.id, c.parallel || c.letter AS name, y.name AS year_name FROM class c"
        " JOIN academic_year y ON y.id = c.year_id WHERE y.status <> 'planned' AND c.archived_at IS NULL"
        " ORDER BY y.starts_on DESC, c.parallel, c.letter").fetchall()
    return {"years": years, "classes": classes,
            "periods": [{"id": p["id"], "label": f"{period_name(p['kind'], p['number'])} {p['year_name']}",
                         "closed": p["closed_at"] is not None} for p in periods]}


def _progress_ctx(request: Request) -> dict:
    state = build.read_state(request.app.state.settings.data_dir)
    return {"state": state, "running": bool(state and state.get("state") == "running")}


@get("/archive", opt=ADMIN)
async def archive_page(request: Request) -> Response:
    data = request.app.state.settings.data_dir
    choices = await request.app.state.db.read(_choices)
    items = await anyio.to_thread.run_sync(lambda: build.listing(data))
    return page("archive/index.html", archives=items, ok=request.query_params.get("ok"), error=None,
                quote=quote, **choices, **_progress_ctx(request))


@get("/archive/progress", opt=ADMIN)
async def archive_progress(request: Request) -> Response:
    return page("archive/_progress.html", user=current_user(request), **_progress_ctx(request))


@post("/archive/build", opt=ADMIN)
async def archive_build(request: Request) -> Response:
    form = await form_dict(request)
    data = request.app.state.settings.data_dir
    what = form.get("what", "")
    period_id = year_id = None
    if what.startswith("p"):
        period_id = int_or_none(what[1:])
    elif what.startswith("y"):
        year_id = int_or_none(what[1:])
    if period_id is None and year_id is None:
        raise UserError("Выберите учебный период или год.")
    classes = [c for c in (await request.form()).getall("classes", []) if isinstance(c, str) and c] or None

    def check_and_start():
        from ..db import connect_sync
        from .collect import scope_of
        conn = connect_sync(request.app.state.settings.db_path)
        try:
            scope_of(conn, period_id=period_id, year_id=year_id, classes=classes)   # a refusal before the child
        finally:
            conn.close()
        build.start(data, period_id=period_id, year_id=year_id, classes=classes)

    await anyio.to_thread.run_sync(check_and_start)
    return see_other("/archive", "Сборка архива начата.")


@post("/archive/cancel", opt=ADMIN)
async def archive_cancel(request: Request) -> Response:
    if not build.request_cancel(request.app.state.settings.data_dir):
        raise UserError("Сейчас архив не собирается.")
    return see_other("/archive", "Сборка будет остановлена после текущего документа.")


@get("/archive/{name:str}/{file_name:str}", opt=ADMIN)
async def archive_file(request: Request, name: FromPath[str], file_name: FromPath[str]) -> File:
    """A file of a kept archive: only a name its manifest lists (never a path from the client)."""
    data = request.app.state.settings.data_dir
    items = {a["name"]: a for a in await anyio.to_thread.run_sync(lambda: build.listing(data))}
    archive = items.get(name)
    if archive is None or not any(f["name"] == file_name for f in archive["files"]):
        raise NotFound("Такого файла в архиве нет.")
    path = build.root(data) / name / file_name
    media = "application/pdf" if file_name.endswith(".pdf") else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return File(path=path, filename=file_name, media_type=media)


ROUTES = [archive_page, archive_progress, archive_build, archive_cancel, archive_file]
