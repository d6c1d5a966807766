"""The program's one clock: every "now" and "today" of the server, the CLI and the demo
comes from here, never from `datetime.now()`, `date.today()`, `time.time()` or SQLite's
`'now'`.

By default it is the wall clock. Tests (and a demo shown on a chosen date) start it at a
fixed moment — the `clock` setting (`ZHURNAL_CLOCK=2026-11-18T10:15`) or `set_now()` — and
from there it runs on with real time, so timeouts still expire; `advance()` moves it
forward (an idle kiosk session ends without sleeping 90 s). `freeze()` stops it, for a test
that compares exact timestamps.

Intervals (how long a request or a backup took) are not "now": they use
`time.monotonic()`, which no setting moves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

_offset = timedelta(0)        # added to the wall clock
_frozen: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc) + _offset


def local_now() -> datetime:
    """The current moment in the server's own time zone (the school's)."""
    return now().astimezone()


def today() -> date:
    """The school's date today (local time)."""
    return local_now().date()


def timestamp() -> float:
    """Seconds since the epoch, as time.time() would say on this clock."""
    return now().timestamp()


def parse_moment(text: str) -> datetime:
    """'2026-11-18', '2026-11-18T10:15' (local time) or with an offset/Z → aware datetime.

    Raises ValueError with a Russian message."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Время «{text}» не понято: нужно ГГГГ-ММ-ДД или ГГГГ-ММ-ДДTЧЧ:ММ.") from None
    if value.tzinfo is None:
        value = value.astimezone()  # local time, as a person means it
    return value.astimezone(timezone.utc)


def set_now(at: datetime | date | str | None) -> None:
    """Start the clock at `at` (it then runs on); None puts it back on the wall clock."""
    global _offset, _frozen
    _frozen = None
    if at is None:
        _offset = timedelta(0)
        return
    if isinstance(at, str):
        at = parse_moment(at)
    elif not isinstance(at, datetime):
        at = datetime(at.year, at.month, at.day, 10, 0).astimezone()
    elif at.tzinfo is None:
        at = at.astimezone()
    _offset = at.astimezone(timezone.utc) - datetime.now(timezone.utc)


def freeze(at: datetime | date | str | None = None) -> None:
    """Stop the clock at `at` (or where it is now)."""
    global _frozen
    if at is not None:
        set_now(at)
    _frozen = now()


@contextmanager
def frozen_at(at: datetime | date | str) -> Iterator[None]:
    """The clock stopped at `at` for a block, then as it was before (the demo writes its school
    as set up on the eve of the year)."""
    global _offset, _frozen
    saved = (_offset, _frozen)
    freeze(at)
    try:
        yield
    finally:
        _offset, _frozen = saved


def advance(**delta: float) -> None:
    """Move the clock forward, e.g. advance(seconds=91) or advance(days=1)."""
    global _offset, _frozen
    step = timedelta(**delta)
    if _frozen is not None:
        _frozen += step
    else:
        _offset += step


def is_set() -> bool:
    return _frozen is not None or _offset != timedelta(0)


def monotonic() -> float:
    """For intervals only (timeouts, durations): never moved by set_now()."""
    return time.monotonic()
