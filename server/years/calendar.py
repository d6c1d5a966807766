"""The Russian school calendar offered for a year (§3.4.8, ФОП's usual pattern): quarters and
half-years, the year, the autumn, winter and spring holidays. A template to edit, not a rule:
the school's own dates are what it saves.

The pattern: lessons from 1 September (2 September when the 1st is a Sunday); autumn holidays
of nine days from the Saturday between 25 and 31 October, winter holidays from 29 December to
the Sunday between 7 and 13 January, spring holidays of nine days from the Saturday between
22 and 28 March; the year's lessons end on the last weekday on or before 26 May. The year
record itself runs to 31 August (summer holidays)."""

from __future__ import annotations

from datetime import date, timedelta


def _weekday_from(day: date, weekday: int) -> date:
    """The first `weekday` (Monday 0 … Sunday 6) on or after `day`."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def template(start_year: int) -> dict:
    """The calendar of the school year starting in September of `start_year`."""
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
    holidays = [{"name": "Осенние каникулы", "starts_on": autumn.isoformat(), "ends_on": autumn_end.isoformat()},
                {"name": "Зимние каникулы", "starts_on": winter.isoformat(), "ends_on": winter_end.isoformat()},
                {"name": "Весенние каникулы", "starts_on": spring.isoformat(), "ends_on": spring_end.isoformat()}]
    return {"name": f"{y0}/{y1}", "starts_on": f"{y0}-09-01", "ends_on": f"{y1}-08-31",
            "periods": periods, "holidays": holidays,
            "note": "Примерный календарь по образцу ФОП; дополнительные каникулы первоклассников в феврале "
                    "и сроки ГИА для 9 и 11 классов школа задаёт сама."}
