"""The Russian school calendar offered for a year (§3.4.8, ФОП's usual pattern): quarters and
half-years, the year, the autumn, winter and spring holidays. A template to edit, not a rule:
the school's own dates are what it saves.

The pattern: lessons from 1 September (2 September when the 1st is a Sunday); autumn holidays
of nine days from the Saturday between 25 and 31 October, winter holidays from 29 December to
the Sunday between 7 and 13 January, spring holidays of nine days from the Saturday between
22 and 28 March; the year's lessons end on the last weekday on or before 26 May. The year
record itself runs to 31 August (summer holidays). Public holidays in term time (23 February,
8 March, 1 and 9 May; 4 November lies in the autumn holidays) are one-day holidays when they
fall on a school day (Monday to Saturday): the government's transfers of days off are announced
each autumn and the school adds them itself."""

from __future__ import annotations

from datetime import date, timedelta

from ..school.errors import SchoolError

# Public holidays (ТК РФ, ст. 112) that fall in term time; 4 November is in the autumn holidays,
# 1–8 January in the winter ones.
PUBLIC_HOLIDAYS = ((2, 23, "День защитника Отечества"), (3, 8, "Международный женский день"),
                   (5, 1, "Праздник Весны и Труда"), (5, 9, "День Победы"))


def _weekday_from(day: date, weekday: int) -> date:
    """The first `weekday` (Monday 0 … Sunday 6) on or after `day`."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def template(start_year: int, trimesters: bool = False) -> dict:
    """The calendar of the school year starting in September of `start_year`; with `trimesters`,
    the three trimesters too (1 September – 30 November, 1 December – end of February, 1 March –
    the last day of lessons), for the classes that study by them."""
    y0, y1 = start_year, start_year + 1
    first = date(y0, 9, 1)
    if first.weekday() == 6:
        first += timedelta(days=1)
    autumn = _weekday_from(date(y0, 10, 25), 5)
    autumn_end = max(autumn + timedelta(days=8), date(y0, 11, 4))
    winter, winter_end = date(y0, 12, 29), _weekday_from(date(y1, 1, 7), 6)
    spring = _weekday_from(date(y1, 3, 22), 5)
    spring_end = spring + timedelta(days=8)
    last = date(y1, 5, 26)
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    day = timedelta(days=1)
    quarters = [(first, autumn - day), (autumn_end + day, winter - day), (winter_end + day, spring - day),
                (spring_end + day, last)]
    periods = [{"kind": "quarter", "number": n, "starts_on": a.isoformat(), "ends_on": b.isoformat()}
               for n, (a, b) in enumerate(quarters, 1)]
    periods += [{"kind": "half", "number": 1, "starts_on": first.isoformat(), "ends_on": (winter - day).isoformat()},
                {"kind": "half", "number": 2, "starts_on": (winter_end + day).isoformat(),
                 "ends_on": last.isoformat()},
                {"kind": "year", "number": 1, "starts_on": first.isoformat(), "ends_on": last.isoformat()}]
    if trimesters:
        march = date(y1, 3, 1)
        thirds = [(first, date(y0, 11, 30)), (date(y0, 12, 1), march - day), (march, last)]
        periods[4:4] = [{"kind": "trimester", "number": n, "starts_on": a.isoformat(), "ends_on": b.isoformat()}
                        for n, (a, b) in enumerate(thirds, 1)]
    holidays = [{"name": "Осенние каникулы", "starts_on": autumn.isoformat(), "ends_on": autumn_end.isoformat()},
                {"name": "Зимние каникулы", "starts_on": winter.isoformat(), "ends_on": winter_end.isoformat()},
                {"name": "Весенние каникулы", "starts_on": spring.isoformat(), "ends_on": spring_end.isoformat()}]
    for month, day_of_month, name in PUBLIC_HOLIDAYS:
        d = date(y1, month, day_of_month)
        inside = any(h["starts_on"] <= d.isoformat() <= h["ends_on"] for h in holidays)
        if d.weekday() != 6 and first <= d <= last and not inside:
            holidays.append({"name": name, "starts_on": d.isoformat(), "ends_on": d.isoformat()})
    holidays.sort(key=lambda h: h["starts_on"])
    return {"name": f"{y0}/{y1}", "starts_on": f"{y0}-09-01", "ends_on": f"{y1}-08-31",
            "periods": periods, "holidays": holidays,
            "note": "Примерный календарь по образцу ФОП; дополнительные каникулы первоклассников в феврале "
                    "и сроки ГИА для 9 и 11 классов школа задаёт сама."}


def from_form(form: dict, start_year: int) -> tuple[list, list]:
    """The calendar a person edited from the template (fields `quarter1_from`, `quarter1_to`, …,
    `h0_name`, `h0_from`, `h0_to`, …; see templates/years/_calendar_fields.html): the periods
    with their dates (a field left empty keeps the template's), the holidays as listed (a row
    cleared is left out). A form without holiday rows takes the template's holidays; the
    trimesters are in it when the form has their rows."""
    tpl = template(start_year, trimesters="trimester1_from" in form)
    periods = []
    for p in tpl["periods"]:
        key = f"{p['kind']}{p['number']}"
        periods.append({**p, "starts_on": parse_iso(form.get(f"{key}_from")) or p["starts_on"],
                        "ends_on": parse_iso(form.get(f"{key}_to")) or p["ends_on"]})
    holidays = []
    for i in range(HOLIDAY_ROWS_MAX):
        name = " ".join(form.get(f"h{i}_name", "").split())
        a, b = parse_iso(form.get(f"h{i}_from")), parse_iso(form.get(f"h{i}_to"))
        if name or a or b:
            if not (name and a and b):
                raise SchoolError("У каникул укажите название и обе даты (или очистите строку).")
            holidays.append({"name": name, "starts_on": a, "ends_on": b})
    if not any(f"h{i}_name" in form for i in range(HOLIDAY_ROWS_MAX)):
        holidays = tpl["holidays"]
    return periods, holidays


def parse_iso(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise SchoolError(f"Дата «{text}» не распознана.") from None


HOLIDAY_ROWS_MAX = 20  # rows the form may send: the template's holidays and three empty ones


def holiday_rows(calendar: dict) -> int:
    return min(len(calendar["holidays"]) + 3, HOLIDAY_ROWS_MAX)
