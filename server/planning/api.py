"""JSON API of the КТП (/api/v1/journals/{id}/plan), under the journal's tag in the OpenAPI:
the plan with what was given, and a whole plan uploaded with the same checks as a file."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from .. import clock
from ..journal.access import READ, READERS, WRITERS, Readable
from ..journal.rules import JournalError
from ..web.access import current_user
from ..web.api_contract import ApiError
from . import store, writes
from .rules import PlanRejected

TAGS = ["Журнал"]


class Given(msgspec.Struct):
    """Урок, на котором тема дана."""

    date: str
    lesson_number: int


class PlanItem(msgspec.Struct):
    id: int
    number: int
    topic: str
    hours: float
    planned_date: str | None
    planned_week: int | None
    work_type: str
    work_type_name: str
    given: list[Given]
    done: bool


class Plan(msgspec.Struct):
    """КТП журнала: часы по плану и проведённые, темы по порядку; кто и когда менял последним."""

    journal_id: int
    subject: str
    name: str
    planned_hours: float
    given_hours: float
    recorded_lessons: int
    items: list[PlanItem]
    updated_at: str | None
    updated_by: str | None


class PlanSaved(msgspec.Struct):
    """КТП загружен: `mode` — replaced (заменён целиком) или merged (темы обновлены по номерам)."""

    mode: str
    added: int
    updated: int
    kept: int
    removed: int


class RowReasons(msgspec.Struct):
    line: int
    reasons: list[str]


class PlanErrors(msgspec.Struct, omit_defaults=True):
    """КТП не принят: общий текст ошибки и, если ошибки в элементах, — по каждому элементу."""

    error: str
    status: int
    rows: list[RowReasons] = []


def _item_json(it: dict) -> dict:
    return {"id": it["id"], "number": it["number"], "topic": it["topic"], "hours": it["hours"],
            "planned_date": it["planned_date"], "planned_week": it["planned_week"], "work_type": it["work_type"],
            "work_type_name": it["work_type_name"], "given": it["given"], "done": it["done"]}


@get("/api/v1/journals/{journal_id:int}/plan", opt=READERS, dependencies=READ, tags=TAGS)
async def api_plan(request: Request, info: Readable) -> Plan:
    """КТП журнала: темы по порядку, по каждой — проведённые уроки (даты); часы по плану и проведённые."""
    data = await request.app.state.db.read(store.plan_api, info, clock.today().isoformat())
    view, last = data["view"], data["last"]
    who = " ".join(x for x in (last["last_name"], last["first_name"], last["middle_name"]) if x) if last else ""
    return msgspec.convert({
        "journal_id": info.id, "subject": info.row["subject_name"], "name": info.row["target_name"],
        "planned_hours": view["planned_hours"], "given_hours": view["given_hours"],
        "recorded_lessons": view["recorded_lessons"], "items": [_item_json(it) for it in view["items"]],
        "updated_at": last["at"] if last else None, "updated_by": who or None}, Plan)


@dataclass
class PlanItemIn:
    number: int
    topic: str
    hours: float = 1
    planned_date: str | None = None   # ГГГГ-ММ-ДД или ДД.ММ.ГГГГ
    planned_week: int | None = None   # неделя учебного года, 1 — первая
    work_type: str = "lesson"         # код (lesson, control …) или русское название


@dataclass
class PlanIn:
    items: list[PlanItemIn] = field(default_factory=list)


def _api_cells(it: PlanItemIn) -> dict[str, str]:
    return {"number": str(it.number), "topic": it.topic or "", "hours": str(it.hours),
            "date": it.planned_date or "", "week": "" if it.planned_week is None else str(it.planned_week),
            "work_type": it.work_type or ""}


@post("/api/v1/journals/{journal_id:int}/plan", opt=WRITERS, tags=TAGS, status_code=200,
      # The one error shape (ApiError) for a 400 too; a refused plan adds `rows` (PlanErrors).
      responses={400: ResponseSpec(ApiError, generate_examples=False, description=(
          "КТП не принят; ничего не изменено. Если ошибки в элементах — ещё поле `rows`: "
          "[{line: номер элемента с 1, reasons: [тексты ошибок]}]."))})
async def api_plan_save(request: Request, journal_id: FromPath[int],
                        data: JSONBody[PlanIn]) -> Response[PlanSaved]:
    """Загрузить КТП целиком, с теми же проверками, что и файл: всё или ничего (ошибки — по
    элементам, `line` — номер элемента с 1). Пока по темам нет уроков, КТП заменяется; потом
    темы обновляются по номерам и добавляются новые, остальные остаются."""
    cells = [(i, _api_cells(it)) for i, it in enumerate(data.items, 1)]
    try:
        result = await request.app.state.db.write(writes.save_plan, current_user(request), journal_id, cells,
                                                  "Загрузка через API", "элементе", "элементов")
    except PlanRejected as e:
        return Response(PlanErrors(e.message, 400, [RowReasons(line, list(reasons)) for line, reasons in e.errors]),
                        status_code=400)
    except JournalError as e:
        return Response(PlanErrors(e.message, 400), status_code=400)
    return Response(PlanSaved(**{k: result[k] for k in ("mode", "added", "updated", "kept", "removed")}))


ROUTES = [api_plan, api_plan_save]
