"""The report pages (`/reports…`): parse the query, run one report function on one read snapshot
(pages.py decides who may see it), render — the page (printable), or `?format=xlsx` the same
tables as an XLSX book. Remarks are written here (the deputy), through remarks.py."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from markupsafe import Markup, escape

from .. import clock
from ..errors import UserError
from ..web.access import current_user
from ..web.forms import form_dict, int_or_none, see_other
from ..web.templating import page
from . import pages, progress, remarks, scope, table
from .pages import Report

READERS = {"roles": scope.REPORT_ROLES}
ADMIN = {"roles": set(scope.ADMIN)}
TEACHERS = {"roles": {"director", "deputy", "teacher"}}
DEPUTY = {"roles": {"deputy"}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def td(value, column: table.Column) -> Markup:
    """One cell of a report table as HTML (its link, its class, the Russian number)."""
    text = escape(table.fmt(value, column.kind))
    cls = "k-" + column.kind + (f" {value.cls}" if isinstance(value, table.Cell) and value.cls else "")
    if isinstance(value, table.Cell) and value.href:
        text = Markup(f'<a href="{escape(value.href)}">{text}</a>')
    return Markup(f'<td class="{cls}">{text}</td>')


def _query(request: Request) -> dict:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


def _xlsx(report: Report) -> Response:
    data = table.xlsx(report.tables, [line for line in report.heading() if line])
    name = f"{report.file_name}.xlsx"
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(name)}"})


def _render(request: Request, template: str, report: Report, **ctx) -> Response:
    q = _query(request)
    if q.get("format") == "xlsx":
        return _xlsx(report)
    xlsx_href = request.url.path + "?" + urlencode({**q, "format": "xlsx"})

    def sort_href(i: int) -> str:
        desc = "1" if q.get("sort") == str(i) and q.get("desc") != "1" else "0"
        return request.url.path + "?" + urlencode({**{k: v for k, v in q.items() if k not in ("sort", "desc")},
                                                   "sort": i, "desc": desc})

    return page(template, report=report, xlsx_href=xlsx_href, cell=td, zip=zip, sort_href=sort_href,
                by_choices=list(progress.BY.items()), **ctx)


def _today() -> str:
    return clock.today().isoformat()


def _index(conn, user) -> dict:
    year = conn.execute("SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1").fetchone()
    classes = [] if year is None else conn.execute(
        "SELECT id, parallel || letter AS name FROM class WHERE year_id = ? AND archived_at IS NULL"
        " ORDER BY parallel, letter", (year["id"],)).fetchall()
    return {"admin": scope.is_admin(user), "classes": classes if scope.is_admin(user) else [],
            "led": scope.led_classes(conn, user, year["id"] if year else None),
            "teacher": user.has("teacher")}


@get("/reports", opt=READERS)
async def reports_index(request: Request) -> Response:
    data = await request.app.state.db.read(_index, current_user(request))
    return page("reports/index.html", **data)


@get("/reports/progress", opt=READERS)
async def progress_page(request: Request) -> Response:
    report = await request.app.state.db.read(pages.progress_report, current_user(request), _query(request), _today())
    return _render(request, "reports/report.html", report)


@get("/reports/results", opt=READERS)
async def results_page(request: Request) -> Response:
    report = await request.app.state.db.read(pages.results_report, current_user(request), _query(request), _today())
    return _render(request, "reports/report.html", report)


@get("/reports/attendance", opt=READERS)
async def attendance_page(request: Request) -> Response:
    report = await request.app.state.db.read(pages.attendance_report, current_user(request), _query(request),
                                             _today())
    return _render(request, "reports/report.html", report)


@get("/reports/movement", opt=ADMIN)
async def movement_page(request: Request) -> Response:
    report = await request.app.state.db.read(pages.movement_report, current_user(request), _query(request), _today())
    return _render(request, "reports/report.html", report)


@get("/reports/classes/{class_id:int}/summary", opt=READERS)
async def summary_page(request: Request, class_id: FromPath[int]) -> Response:
    report = await request.app.state.db.read(pages.summary_report, current_user(request), class_id, _query(request),
                                             _today())
    return _render(request, "reports/report.html", report)


@get("/reports/classes/{class_id:int}/analysis", opt=READERS)
async def analysis_page(request: Request, class_id: FromPath[int]) -> Response:
    report = await request.app.state.db.read(pages.analysis_report, current_user(request), class_id, _query(request),
                                             _today())
    return _render(request, "reports/report.html", report)


@get("/reports/my-journals", opt=TEACHERS)
async def my_journals_page(request: Request) -> Response:
    settings = request.app.state.settings
    report = await request.app.state.db.read(pages.teacher_report, current_user(request), _query(request), _today(),
                                             settings.control_min_grades)
    return _render(request, "reports/report.html", report)


def _limits(request: Request) -> tuple[int, int]:
    s = request.app.state.settings
    return s.control_min_grades, s.control_grade_days


@get("/reports/journal-control", opt=ADMIN)
async def control_page(request: Request) -> Response:
    report = await request.app.state.db.read(pages.control_report, current_user(request), _query(request), _today(),
                                             *_limits(request))
    return _render(request, "reports/control.html", report)


async def _detail(request: Request, journal_id: int, q: dict, *, error: str | None = None,
                  typed: dict | None = None, status: int = 200) -> Response:
    user = current_user(request)
    data = await request.app.state.db.read(pages.control_detail, user, journal_id, q, _today(), *_limits(request))
    due = (date.fromisoformat(_today()) + timedelta(days=7)).isoformat()
    return page("reports/control_journal.html", status_code=status, **data, fmt=table.fmt, error=error, typed=typed,
                due_default=due, can_remark=user.has("deputy"))


@get("/reports/journal-control/{journal_id:int}", opt=ADMIN)
async def control_journal_page(request: Request, journal_id: FromPath[int]) -> Response:
    return await _detail(request, journal_id, _query(request))


@post("/reports/journal-control/{journal_id:int}/remarks", opt=DEPUTY)
async def remark_add(request: Request, journal_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    q = {"period": form["period"]} if form.get("period") else {}
    try:
        await request.app.state.db.write(remarks.add, current_user(request), journal_id, form.get("text", ""),
                                         form.get("due_on", ""), int_or_none(form.get("period")))
    except UserError as e:
        if e.status_code != 400:
            raise
        return await _detail(request, journal_id, q, error=e.message, typed=form, status=400)
    return see_other(f"/reports/journal-control/{journal_id}?" + urlencode(q) + "#remarks", "created")


@post("/reports/remarks/{remark_id:int}/done", opt=DEPUTY)
async def remark_done(request: Request, remark_id: FromPath[int]) -> Response:
    form = await form_dict(request)
    journal_id = await request.app.state.db.write(remarks.set_done, current_user(request), remark_id,
                                                  form.get("done", "1") != "0")
    back = form.get("back", "")
    if not back.startswith("/reports/"):
        back = f"/reports/journal-control/{journal_id}"
    return see_other(back, "saved")


@get("/reports/certificate", opt=ADMIN)
async def certificate_page(request: Request) -> Response:
    report = await request.app.state.db.read(pages.certificate, current_user(request), _query(request), _today(),
                                             *_limits(request))
    return _render(request, "reports/certificate.html", report)


ROUTES = [reports_index, progress_page, results_page, attendance_page, movement_page, summary_page, analysis_page,
          my_journals_page, control_page, control_journal_page, remark_add, remark_done, certificate_page]
