"""JSON API of the reports (/api/v1/reports…, tag «Отчёты»): the same functions as the pages
(pages.py: one snapshot, who may see it decided there), the tables as objects keyed by their
columns' JSON names. Stable: the сводная ведомость and the journal control."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath

from .. import clock
from ..web.access import current_user
from . import control, pages, summary, table
from .routes import ADMIN, READERS

TAGS = ["Отчёты"]


def _q(request: Request) -> dict:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


def _span_json(span) -> dict | None:
    if span is None:
        return None
    return {"year_id": span.year_id, "period_id": span.period_id, "starts_on": span.start, "ends_on": span.end,
            "label": span.label}


def _report_json(report: pages.Report) -> dict:
    return {"title": report.title, "span": _span_json(report.span), "lines": [x for x in report.lines if x],
            "tables": [{"title": t.title, "columns": [{"key": c.key, "title": c.title, "kind": c.kind}
                                                      for c in t.columns],
                        "rows": table.as_json(t),
                        "totals": table.as_json(table.Table(t.title, t.columns, t.foot))} for t in report.tables]}


def _summary(conn, user, class_id: int, q: dict, today: str) -> dict:
    return summary.as_json(pages.summary_data(conn, user, class_id, q, today))


@get("/api/v1/reports/classes/{class_id:int}/summary", opt=READERS, tags=TAGS, summary="Сводная ведомость класса")
async def api_summary(request: Request, class_id: FromPath[int]) -> dict:
    """Сводная ведомость учёта успеваемости класса (п. 1.6, 3.4.9): учащиеся (id, имя) × предметы ×
    учебные периоды класса и год — итоговая отметка (`grade`), средневзвешенный балл (`average`) и
    прогноз (`forecast`) за каждый период. `period` — показать периоды по этот включительно (по
    умолчанию все). Администрации — любой класс, классному руководителю — свой."""
    return await request.app.state.db.read(_summary, current_user(request), class_id, _q(request),
                                           clock.today().isoformat())


def _control(conn, user, q: dict, today: str, min_grades: int, grade_days: int) -> dict:
    report = pages.control_report(conn, user, q, today, min_grades, grade_days)
    min_grades, grade_days = pages.control_settings(q, min_grades, grade_days)
    return {"span": _span_json(report.span), "min_grades": min_grades, "grade_days": grade_days,
            "journals": [control.as_json(c, report.span, min_grades, grade_days) for c in report.extra["checks"]]}


@get("/api/v1/reports/journal-control", opt=ADMIN, tags=TAGS, summary="Контроль ведения журналов")
async def api_control(request: Request) -> dict:
    """Контроль ведения журналов за период (п. 3.4.4): по объекту на журнал — а) КТП (`plan`),
    б) своевременность записи уроков (`lessons`), в) отметок (`grades`), г) накопляемость
    (`accumulation`), д) отмеченная посещаемость (`attendance`), е) выполнение программы
    (`programme_pct`), ж) замены и не состоявшиеся уроки; `problems` — что исправить и где.
    `period` — учебный период (или `from`, `to`); фильтры `teacher`, `class_id`, `subject`;
    `min_grades` — сколько отметок должно быть у учащегося. Директору и заместителю директора."""
    s = request.app.state.settings
    return await request.app.state.db.read(_control, current_user(request), _q(request), clock.today().isoformat(),
                                           s.control_min_grades, s.control_grade_days)


def _run(fn):
    async def handler(request: Request) -> dict:
        report = await request.app.state.db.read(fn, current_user(request), _q(request), clock.today().isoformat())
        return _report_json(report)
    return handler


@get("/api/v1/reports/progress", opt=READERS, tags=TAGS, summary="Успеваемость и качество")
async def api_progress(request: Request) -> dict:
    """Успеваемость и качество за период (`period`, или `from` и `to`) в разрезе `by`: class,
    parallel, subject, teacher, school; `class_id` — один класс (классному руководителю — свой)."""
    return await _run(pages.progress_report)(request)


@get("/api/v1/reports/results", opt=READERS, tags=TAGS, summary="Итоги успеваемости")
async def api_results(request: Request) -> dict:
    """Отличники, хорошисты, с одной «4», с одной «3», неуспевающие (с предметами), не аттестованные
    (с предметами и причинами) за период; `class_id` — один класс."""
    return await _run(pages.results_report)(request)


@get("/api/v1/reports/attendance", opt=READERS, tags=TAGS, summary="Посещаемость")
async def api_attendance(request: Request) -> dict:
    """Посещаемость за период: по классам (вся школа) или по учащимся (`class_id`) — пропущено уроков
    по причинам (Б, У, Н), опоздания, % пропущенных, дни пропущенные целиком; учащиеся выше порога
    (`threshold`, %)."""
    return await _run(pages.attendance_report)(request)


@get("/api/v1/reports/movement", opt=ADMIN, tags=TAGS, summary="Наполняемость и движение")
async def api_movement(request: Request) -> dict:
    """Наполняемость классов на дату (`date`) и движение учащихся за период: прибытия и выбытия с
    датами и причинами."""
    return await _run(pages.movement_report)(request)


ROUTES = [api_summary, api_control, api_progress, api_results, api_attendance, api_movement]
