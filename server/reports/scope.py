"""What a report covers and who may see it (§2.6: summary forms only to those who need them).

- The span: a study period (quarter, half-year, year) or dates from–to inside one school year.
- Who: the administration (director, deputy) the whole school; a class teacher their class;
  a teacher their own journals; never families (the routes' guard keeps them out, and no
  function here answers for them)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from ..errors import Forbidden, NotFound, UserError
from ..journal.store import current_period
from ..school.structure import period_name
from ..timeutil import ru_date

ADMIN = ("director", "deputy")
REPORT_ROLES = {"director", "deputy", "teacher", "class_teacher"}
NOT_YOUR_CLASS = "Отчёты по классу доступны администрации и классному руководителю этого класса (п. 2.6 Регламента)."
ADMIN_ONLY = "Сводные отчёты по школе доступны директору и заместителю директора (п. 2.6 Регламента)."


class ReportError(UserError):
    """A report that cannot be made as asked; the message is Russian and says why."""


@dataclass(frozen=True)
class Span:
    """The dates a report covers: a study period, or from–to inside one school year."""

    year_id: int
    year_name: str
    start: str
    end: str
    period: dict | None = None          # the study_period row when the span is a period

    @property
    def period_id(self) -> int | None:
        return self.period["id"] if self.period else None

    @property
    def label(self) -> str:
        if self.period:
            return f"{period_name(self.period['kind'], self.period['number'])} {self.year_name} учебного года"
        return f"с {ru_date(self.start)} по {ru_date(self.end)}"

    def as_of(self, today: str) -> str:
        """The day whose class lists the report takes: the span's end, or today if sooner."""
        return max(self.start, min(self.end, today))

    def query(self) -> str:
        return f"period={self.period['id']}" if self.period else f"from={self.start}&to={self.end}"


def _period_row(conn: sqlite3.Connection, period_id: int) -> dict:
    row = conn.execute("SELECT p.*, y.name AS year_name FROM study_period p JOIN academic_year y ON y.id = p.year_id"
                       " WHERE p.id = ?", (period_id,)).fetchone()
    if row is None:
        raise NotFound("Такого учебного периода нет.")
    return dict(row)


def _iso(text: str, what: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ReportError(f"{what}: дата в формате ГГГГ-ММ-ДД.") from None


def span(conn: sqlite3.Connection, period_id: int | None, start: str | None, end: str | None, today: str,
         kind: str = "quarter") -> Span:
    """The span asked for: `period_id`, else from–to (`start`, `end`), else the current period of
    `kind` in the open year (the last one begun, as the journal's grid chooses)."""
    if period_id is not None:
        p = _period_row(conn, period_id)
        return Span(p["year_id"], p["year_name"], p["starts_on"], p["ends_on"], p)
    if start or end:
        if not (start and end):
            raise ReportError("Укажите обе даты: с какого и по какое число.")
        start, end = _iso(start, "Начало"), _iso(end, "Конец")
        if start > end:
            raise ReportError("Начало периода позже его конца.")
        year = conn.execute("SELECT * FROM academic_year WHERE starts_on <= ? AND ends_on >= ?", (start, start)
                            ).fetchone()
        if year is None or end > year["ends_on"]:
            raise ReportError("Даты должны лежать внутри одного учебного года.")
        return Span(year["id"], year["name"], start, end)
    year = conn.execute("SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1").fetchone()
    if year is None:
        raise ReportError("Нет открытого учебного года: сначала его создаёт администратор АСУ.")
    periods = conn.execute("SELECT * FROM study_period WHERE year_id = ? AND kind = ? ORDER BY number",
                           (year["id"], kind)).fetchall() or conn.execute(
        "SELECT * FROM study_period WHERE year_id = ? AND kind <> 'year' ORDER BY starts_on", (year["id"],)).fetchall()
    p = current_period(periods, today)
    if p is None:
        raise ReportError("У учебного года нет периодов: их вносит администратор АСУ.")
    return Span(year["id"], year["name"], p["starts_on"], p["ends_on"], {**dict(p), "year_name": year["name"]})


def periods(conn: sqlite3.Connection, year_id: int) -> list[sqlite3.Row]:
    """The year's periods for the report forms' choice (quarters, halves, the year)."""
    return conn.execute("SELECT * FROM study_period WHERE year_id = ?"
                        " ORDER BY CASE kind WHEN 'quarter' THEN 1 WHEN 'trimester' THEN 2 WHEN 'half' THEN 3 ELSE 4 END, number",
                        (year_id,)).fetchall()


# --- who ----------------------------------------------------------------------------------------

def is_admin(user) -> bool:
    return user.has(*ADMIN)


def require_admin(user) -> None:
    if not is_admin(user):
        raise Forbidden(ADMIN_ONLY)


def led_classes(conn: sqlite3.Connection, user, year_id: int | None = None) -> list[sqlite3.Row]:
    """The classes this person leads (of `year_id`, else of every year), newest first."""
    return conn.execute(
        "SELECT c.*, c.parallel || c.letter AS name FROM class c JOIN academic_year y ON y.id = c.year_id"
        " WHERE c.class_teacher_id = ? AND c.archived_at IS NULL AND (? IS NULL OR c.year_id = ?)"
        " ORDER BY y.starts_on DESC, c.parallel, c.letter", (user.person_id, year_id, year_id)).fetchall()


def class_for(conn: sqlite3.Connection, user, class_id: int) -> sqlite3.Row:
    """The class if this person may see its reports: 404 none, 403 not theirs."""
    row = conn.execute("SELECT c.*, c.parallel || c.letter AS name, y.name AS year_name FROM class c"
                       " JOIN academic_year y ON y.id = c.year_id WHERE c.id = ?", (class_id,)).fetchone()
    if row is None:
        raise NotFound("Такого класса нет.")
    if not (is_admin(user) or row["class_teacher_id"] == user.person_id):
        raise Forbidden(NOT_YOUR_CLASS)
    return row


def default_class(conn: sqlite3.Connection, user, class_id: int | None, year_id: int) -> int | None:
    """The class a class-scoped report shows: the one asked for (checked), else for a person who
    is not the administration the class they lead this year (403 when none)."""
    if class_id is not None:
        return class_for(conn, user, class_id)["id"]
    if is_admin(user):
        return None
    mine = led_classes(conn, user, year_id)
    if not mine:
        raise Forbidden(NOT_YOUR_CLASS)
    return mine[0]["id"]
