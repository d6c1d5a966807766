"""The КТП's rules: what an item may be (№, topic, hours, a date or a school week, a work type)
and the check of a whole plan — every row, every reason named, all or nothing."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ..errors import UserError
from ..journal.rules import JournalError, check_topic
from ..school.validate import parse_date
from ..timeutil import ru_date

if TYPE_CHECKING:
    from ..journal.store import JournalInfo

MAX_ITEMS = 400          # a year of a 6-hour subject is ~204 lessons; 400 leaves room
MAX_NUMBER = 999
MAX_HOURS = 20
# An item's fields as a file's columns, the page's form and the API name them.
COLUMNS = ("number", "topic", "hours", "date", "week", "work_type")


class PlanRejected(JournalError):
    """Rows that cannot be taken: (line, reasons) each; nothing was written."""

    def __init__(self, errors: list[tuple[int, list[str]]], unit: str = "строк"):
        super().__init__(f"КТП не сохранён: {unit} с ошибками — {len(errors)}. Ничего не изменено.")
        self.errors = errors


@dataclass
class PlanRow:
    line: int
    number: int
    topic: str
    hours: float
    planned_date: str | None
    planned_week: int | None
    work_type: str


def week_of(info: JournalInfo, day: str) -> int:
    """Week of the school year: week 1 is the Monday–Sunday week holding the first day."""
    start = date.fromisoformat(info.year_start)
    monday = start - timedelta(days=start.weekday())
    return (date.fromisoformat(day) - monday).days // 7 + 1


def hours_text(value: float | None) -> str:
    if value is None:
        return ""
    return (str(int(value)) if float(value).is_integer() else str(value)).replace(".", ",")


def norm(text: str | None) -> str:
    """How names are compared: case, «ё» and punctuation do not count."""
    return " ".join(re.sub(r"[\W_]+", " ", (text or "").lower().replace("ё", "е")).split())


def work_type_lookup(work_types: list[sqlite3.Row]) -> dict[str, str]:
    """Name as typed → code: «контрольная работа», «Контрольная», «control» all mean control."""
    out = {}
    for w in work_types:
        name = norm(w["name"])
        out[name] = out[norm(w["code"])] = w["code"]
        if name.endswith(" работа"):
            out.setdefault(name[: -len(" работа")], w["code"])
    return out


def _number(text: str, problems: list[str]) -> int | None:
    text = (text or "").strip()
    if not text:
        problems.append("Не указан номер темы (столбец «№»).")
        return None
    m = re.fullmatch(r"(\d{1,4})\.?", text)  # «1.» as Word numbers its lists
    if not m or not 1 <= int(m.group(1)) <= MAX_NUMBER:
        problems.append(f"Номер «{text[:10]}»: нужно целое число от 1 до {MAX_NUMBER}.")
        return None
    return int(m.group(1))


def _hours(text: str, problems: list[str]) -> float:
    text = (text or "").strip()
    if not text:
        return 1.0
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_HOURS or value * 2 != int(value * 2):
        problems.append(f"Часы «{text[:10]}»: нужно число от 0,5 до {MAX_HOURS} с шагом 0,5, например 1 или 2.")
        return 1.0
    return value


def _planned_date(text: str, info: JournalInfo, problems: list[str]) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = parse_date(text, "Дата")
    except UserError as e:
        problems.append(e.message)
        return None
    if not info.year_start <= day <= info.year_end:
        problems.append(f"Дата {ru_date(day)} — вне учебного года ({ru_date(info.year_start)}–"
                        f"{ru_date(info.year_end)}).")
    elif info.is_holiday(day):
        problems.append(f"Дата {ru_date(day)} приходится на каникулы.")
    return day


def _planned_week(text: str, info: JournalInfo, problems: list[str]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    last = week_of(info, info.year_end)
    if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= last:
        problems.append(f"Неделя «{text[:10]}»: нужно целое число от 1 до {last} (неделя учебного года).")
        return None
    return int(text)


def check_rows(rows: list[tuple[int, dict[str, str]]], info: JournalInfo, work_types: list[sqlite3.Row],
               *, place: str = "строке", unit: str = "строк",
               unknown_types: dict[str, list[int]] | None = None) -> list[PlanRow]:
    """Every row checked, every reason named; raises PlanRejected unless all rows are clean.
    With `unknown_types` (a file's rows), a work type not known is «урок» and noted there
    (word → its rows) instead of being an error."""
    if not rows:
        raise JournalError("В КТП нет ни одной темы.")
    if len(rows) > MAX_ITEMS:
        raise JournalError(f"В КТП больше {MAX_ITEMS} тем: проверьте файл.")
    lookup = work_type_lookup(work_types)
    names = ", ".join(w["name"] for w in work_types)
    seen: dict[int, int] = {}
    out: list[PlanRow] = []
    errors: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        problems: list[str] = []
        number = _number(cells.get("number", ""), problems)
        if number is not None:
            if number in seen:
                problems.append(f"Номер {number} повторяется: он уже есть в {place} {seen[number]}.")
            else:
                seen[number] = line
        try:
            topic = check_topic(cells.get("topic", ""))
        except JournalError as e:
            problems.append(e.message)
            topic = ""
        hours = _hours(cells.get("hours", ""), problems)
        planned_date = _planned_date(cells.get("date", ""), info, problems)
        planned_week = _planned_week(cells.get("week", ""), info, problems)
        raw_type = (cells.get("work_type") or "").strip()
        work_type = lookup.get(norm(raw_type)) if raw_type else "lesson"
        if work_type is None and unknown_types is not None:
            unknown_types.setdefault(raw_type[:40], []).append(line)
            work_type = "lesson"
        if work_type is None:
            problems.append(f"Вид работы «{raw_type[:40]}» неизвестен. Можно: {names}.")
        if problems:
            errors.append((line, problems))
        else:
            out.append(PlanRow(line, number, topic, hours, planned_date, planned_week, work_type))
    if errors:
        raise PlanRejected(errors, unit)
    return out


def check_item(cells: dict[str, str], info: JournalInfo, work_types: list[sqlite3.Row]) -> PlanRow:
    """The single item of the add/edit form; its reasons joined into one message."""
    try:
        return check_rows([(1, {k: cells.get(k, "") for k in COLUMNS})], info, work_types)[0]
    except PlanRejected as e:
        raise JournalError(" ".join(reason for _, reasons in e.errors for reason in reasons)) from None
