"""The year lifecycle's pages (under /school/years/…): the closing checklist of a period and of
the year, closing and reopening, creating the next year from this one, opening it, promotion
by the director's order. Parse → one read or one write → render, as the school's pages do."""

from __future__ import annotations

import logging

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import FromPath

from .. import clock
from ..errors import NotFound
from ..school.errors import SchoolError
from ..school.pages import read, render, submit, write
from ..school.structure import period_name
from ..web.access import current_user
from ..web.forms import form_dict, int_or_none, see_other
from . import calendar, lifecycle, prepare, promotion

log = logging.getLogger("zhurnal.years")

VIEW = {"roles": {"director", "deputy", "sysadmin"}}
DECIDERS = {"roles": {"director", "deputy"}}            # close the year, open the next, the order
REOPENERS = {"roles": {"deputy"}}                       # reopening is the deputy's, with a reason
PREPARERS = {"roles": {"director", "deputy", "sysadmin"}}  # the next year's calendar, classes, load

OK = {"closed": "Закрыто.", "reopened": "Открыто снова.", "next": "Следующий учебный год создан.",
      "opened": "Учебный год открыт и стал текущим.", "scheduled": "Открытие учебного года назначено.",
      "confirmed": "Решения по классу подтверждены.", "order": "Приказ сохранён.",
      "applied": "Приказ исполнен: учащиеся переведены.", "debt": "Задолженность отмечена."}


def _today() -> str:
    return clock.today().isoformat()


def _ok(request: Request) -> str | None:
    return OK.get(request.query_params.get("ok", ""))


def _page(request: Request, template: str, error: str | None = None, form: dict | None = None, **context):
    response = render(request, template, error, form, period_name=period_name, **context)
    return response


# --- the years ----------------------------------------------------------------------------------

@get("/school/lifecycle", opt=VIEW)
async def years_page(request: Request) -> Response:
    """Every year with its state; what can be done with each."""
    years = await read(request, lifecycle.overview)
    return _page(request, "years/index.html", years=years, ok_text=_ok(request), today=_today())


# --- closing: the checklist ------------------------------------------------------------------------

def _close_view(conn, year_id: int, period_id: int | None, today: str) -> dict:
    return lifecycle.checklist(conn, year_id, period_id, today)


async def _close_page(request: Request, year_id: int, error: str | None = None) -> Response:
    period_id = int_or_none(request.query_params.get("period"))
    view = await read(request, _close_view, year_id, period_id, _today())
    return _page(request, "years/close.html", error, ok_text=_ok(request), **view)


@get("/school/years/{year_id:int}/close", opt=VIEW)
async def close_page(request: Request, year_id: FromPath[int]) -> Response:
    return await _close_page(request, year_id)


def _confirmed(form: dict) -> None:
    if form.get("confirm") != "1":
        raise SchoolError("Отметьте, что вы проверили список и подтверждаете закрытие.")


@post("/school/years/{year_id:int}/close", opt=DECIDERS)
async def year_close(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> None:
        _confirmed(form)
        await write(request, lifecycle.close_year, year_id, form.get("reason", ""))

    return await submit(request, act, lambda error, _: _close_page(request, year_id, error),
                        lambda _: see_other("/school/lifecycle?ok=closed"))


@post("/school/years/{year_id:int}/reopen", opt=REOPENERS)
async def year_reopen(request: Request, year_id: FromPath[int]) -> Response:
    return await submit(request, lambda f: write(request, lifecycle.reopen_year, year_id, f.get("reason", "")),
                        lambda error, _: _close_page(request, year_id, error),
                        lambda _: see_other("/school/lifecycle?ok=reopened"))


@post("/school/years/{year_id:int}/periods/{period_id:int}/close", opt=DECIDERS)
async def period_close(request: Request, year_id: FromPath[int], period_id: FromPath[int]) -> Response:
    async def act(form: dict) -> None:
        _confirmed(form)
        await write(request, lifecycle.close_period, period_id, form.get("reason", ""))

    return await submit(request, act, lambda error, _: _close_page(request, year_id, error),
                        lambda _: see_other(f"/school/years/{year_id}/close?period={period_id}&ok=closed"))


@post("/school/years/{year_id:int}/periods/{period_id:int}/reopen", opt=REOPENERS)
async def period_reopen(request: Request, year_id: FromPath[int], period_id: FromPath[int]) -> Response:
    return await submit(
        request, lambda f: write(request, lifecycle.reopen_period, period_id, f.get("reason", "")),
        lambda error, _: _close_page(request, year_id, error),
        lambda _: see_other(f"/school/years/{year_id}/close?period={period_id}&ok=reopened"))


# --- the next year ------------------------------------------------------------------------------

async def _next_page(request: Request, year_id: int, error: str | None = None, form: dict | None = None):
    view = await read(request, prepare.plan, year_id)
    return _page(request, "years/next.html", error, form, kinds_labels={"quarter": "четверти", "trimester": "триместры", "half": "полугодия"},
                 holiday_rows=calendar.holiday_rows(view["calendar"]), **view)


@get("/school/years/{year_id:int}/next", opt=PREPARERS)
async def next_page(request: Request, year_id: FromPath[int]) -> Response:
    return await _next_page(request, year_id)


@post("/school/years/{year_id:int}/next", opt=PREPARERS)
async def next_create(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> int:
        start = (await read(request, prepare.plan, year_id))["start"]
        periods, holidays = calendar.from_form(form, start)
        kinds = {p: form[f"kind{p}"] for p in range(1, 12) if form.get(f"kind{p}")}
        letters = [x for x in form.get("first_letters", "").replace(",", " ").split() if x]
        result = await write(request, prepare.create_next, year_id, periods, holidays, kinds, letters,
                             form.get("copy_load") == "1", form.get("copy_timetable") == "1")
        return result["year_id"]

    return await submit(request, act, lambda error, form: _next_page(request, year_id, error, form),
                        lambda new_id: see_other(f"/school/lifecycle?ok=next&year={new_id}"))


@post("/school/years/{year_id:int}/open", opt=DECIDERS)
async def year_open(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> bool:
        on = calendar.parse_iso(form.get("opens_on"))
        return await write(request, lifecycle.schedule_opening, year_id, on, _today())

    async def again(error: str, _form: dict) -> Response:
        years = await read(request, lifecycle.overview)
        return _page(request, "years/index.html", error, years=years, ok_text=None, today=_today())

    return await submit(request, act, again,
                        lambda now: see_other(f"/school/lifecycle?ok={'opened' if now else 'scheduled'}"))


# --- promotion --------------------------------------------------------------------------------------

def _promotion_view(conn, year_id: int) -> dict:
    y = lifecycle.year(conn, year_id)
    return {"year": y, "order": promotion.order(conn, year_id), "next_year": promotion.next_year(conn, year_id),
            "classes": promotion.summary(conn, year_id), "decisions": promotion.DECISIONS}


async def _promotion_page(request: Request, year_id: int, error: str | None = None, form: dict | None = None):
    view = await read(request, _promotion_view, year_id)
    settings = request.app.state.settings
    from backups import keys
    return _page(request, "years/promotion.html", error, form, ok_text=_ok(request),
                 backups_ready=keys.is_set_up(settings.data_dir), **view)


@get("/school/years/{year_id:int}/promotion", opt=VIEW)
async def promotion_page(request: Request, year_id: FromPath[int]) -> Response:
    return await _promotion_page(request, year_id)


@post("/school/years/{year_id:int}/promotion/order", opt=DECIDERS)
async def order_save(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> None:
        await write(request, promotion.save_order, year_id, form.get("number", ""),
                    calendar.parse_iso(form.get("signed_on")), calendar.parse_iso(form.get("access_until")))

    return await submit(request, act, lambda error, form: _promotion_page(request, year_id, error, form),
                        lambda _: see_other(f"/school/years/{year_id}/promotion?ok=order"))


def _class_view(conn, year_id: int, class_id: int) -> dict:
    y = lifecycle.year(conn, year_id)
    cls = conn.execute("SELECT id, parallel, letter, parallel || letter AS name FROM class WHERE id = ? AND year_id = ?",
                       (class_id, year_id)).fetchone()
    if cls is None:
        raise NotFound("Такого класса в этом году нет.")
    return {"year": y, "cls": cls, **promotion.class_decisions(conn, year_id, class_id),
            "order": promotion.order(conn, year_id)}


async def _class_page(request: Request, year_id: int, class_id: int, error: str | None = None,
                      form: dict | None = None) -> Response:
    view = await read(request, _class_view, year_id, class_id)
    return _page(request, "years/promotion_class.html", error, form, ok_text=_ok(request),
                 decisions=promotion.DECISIONS, attestats=promotion.ATTESTATS, debt_status=promotion.DEBT_STATUS,
                 **view)


@get("/school/years/{year_id:int}/promotion/classes/{class_id:int}", opt=VIEW)
async def promotion_class_page(request: Request, year_id: FromPath[int], class_id: FromPath[int]) -> Response:
    return await _class_page(request, year_id, class_id)


def _decisions_from(form: dict) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for key, value in form.items():
        field, _, sid = key.rpartition("_")
        if field in ("decision", "next_class_id", "debt", "debt_until", "attestat", "left_to") and sid.isdigit():
            if field == "next_class_id":
                value = int_or_none(value)
            elif field == "debt_until":
                value = calendar.parse_iso(value)
            out.setdefault(int(sid), {})[field] = value
    return out


@post("/school/years/{year_id:int}/promotion/classes/{class_id:int}", opt=DECIDERS)
async def promotion_class_confirm(request: Request, year_id: FromPath[int], class_id: FromPath[int]) -> Response:
    async def act(form: dict) -> int:
        return await write(request, promotion.confirm_class, year_id, class_id, _decisions_from(form))

    return await submit(request, act, lambda error, form: _class_page(request, year_id, class_id, error, form),
                        lambda _: see_other(f"/school/years/{year_id}/promotion?ok=confirmed"))


@post("/school/years/{year_id:int}/promotion/debt/{student_id:int}", opt=DECIDERS)
async def debt_save(request: Request, year_id: FromPath[int], student_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    await write(request, promotion.set_debt_status, year_id, student_id, form.get("debt_status") or None)
    return see_other(f"/school/years/{year_id}/promotion/classes/{int_or_none(form.get('class')) or 0}?ok=debt"
                     if form.get("class") else f"/school/years/{year_id}/promotion?ok=debt")


@get("/school/years/{year_id:int}/promotion.csv", opt=VIEW)
async def promotion_csv(request: Request, year_id: FromPath[int]) -> Response:
    y = await read(request, lifecycle.year, year_id)
    text = await read(request, promotion.decisions_csv, year_id)
    name = f"perevod-{y['name'].replace('/', '-')}.csv"
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def apply_order(db, settings, actor: int | None, year_id: int, backup: bool = True) -> int:
    """Back up first (when backups are set up), then one transaction per class. Returns how many
    students were moved. The demo calls it too (without a backup: it has no keys)."""
    classes = await db.read(promotion.ready, year_id)
    if not classes:
        return 0
    if backup:
        from backups import create, keys
        if keys.is_set_up(settings.data_dir):
            try:
                await anyio.to_thread.run_sync(create.create_backup, settings, "manual")
            except Exception as e:  # a failed backup stops the order: nothing is moved
                raise SchoolError(f"Резервная копия перед переводом не создана, приказ не исполнен: {e}") from e
    moved = 0
    for class_id in classes:
        moved += await db.write(promotion.apply_class, actor, year_id, class_id)
    return moved


@post("/school/years/{year_id:int}/promotion/apply", opt=DECIDERS)
async def promotion_apply(request: Request, year_id: FromPath[int]) -> Response:
    async def act(form: dict) -> int:
        _confirmed(form)
        return await apply_order(request.app.state.db, request.app.state.settings, current_user(request).account_id,
                                 year_id)

    return await submit(request, act, lambda error, form: _promotion_page(request, year_id, error, form),
                        lambda _: see_other(f"/school/years/{year_id}/promotion?ok=applied"))


ROUTES = [years_page, close_page, year_close, year_reopen, period_close, period_reopen, next_page, next_create,
          year_open, promotion_page, order_save, promotion_class_page, promotion_class_confirm, debt_save,
          promotion_csv, promotion_apply]
