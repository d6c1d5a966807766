"""Time as stored (UTC text) and as shown (local, Russian style: 30.11.2026)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from . import clock

STORE_FMT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return clock.now()


def now_text(delta: timedelta = timedelta(0)) -> str:
    return (utcnow() + delta).strftime(STORE_FMT)


def parse_stored(text: str) -> datetime:
    # fromisoformat (3.11 reads the "Z") is C; strptime took ~20 µs on every request.
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ru_date(value: str | date | datetime | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = parse_stored(value).astimezone() if "T" in value else date.fromisoformat(value)
    return value.strftime("%d.%m.%Y")


def ru_datetime(value: str | datetime | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = parse_stored(value)
    return value.astimezone().strftime("%d.%m.%Y %H:%M")


def school_year_start(today: date) -> int:
    """The calendar year in which the current school year began (1 September)."""
    return today.year if today.month >= 9 else today.year - 1
