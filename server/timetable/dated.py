"""The timetable of a date: the weekly timetable plus what was changed for that date.

`lesson_keys` is the one function that says which lessons a journal has between two dates —
the journal's grid columns, the diary's week, the teacher's day and `GET /api/v1/me/lessons`
all call it. A lesson is there when

- the weekly timetable has it on that weekday (`timetable_slot`), the day is in one of the
  year's study periods (quarters or halves: `terms`; lessons stop in May though the year runs
  to 31 August), it is not a holiday and the lesson was not moved away from it
  (`timetable_change.from_date/from_number`);
- or a change put it there: moved in from another day or lesson number, or an extra lesson
  (`timetable_change.date/lesson_number`);
- or something was recorded for it (a `lesson` row): what was written stays in sight even
  if the timetable changed later.

A substitution or a cancellation does not change which lessons there are: it is the lesson's
own row (`lesson.status`, `lesson.substitute_id`), planned ahead or recorded after the fact.

No database here: the callers read a journal's slots, holidays and changes (journal_info,
the diary's student_journals, timetable/store.py) and pass them in."""

from __future__ import annotations

import bisect

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

Key = tuple[str, int]  # (date, lesson number)


@dataclass(frozen=True)
class Changes:
    """A journal's changes: lessons a change put on a (date, number) — `placed` (moved in or
    extra) — and the (date, number) that lost their lesson to a move (`away`), each → the change."""

    placed: Mapping[Key, Mapping[str, Any]] = field(default_factory=dict)
    away: Mapping[Key, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]]) -> "Changes":
        """From timetable_change rows as dicts (date, lesson_number, from_date, from_number, …)."""
        placed, away = {}, {}
        for r in rows:
            placed[(r["date"], r["lesson_number"])] = r
            if r["from_date"]:
                away[(r["from_date"], r["from_number"])] = r
        return cls(placed, away)

    @classmethod
    def from_json(cls, text: str | None) -> "Changes":
        """From the JSON array a query builds with CHANGES_JSON_SQL."""
        return cls.of(json.loads(text)) if text else NO_CHANGES


NO_CHANGES = Changes()

# One journal's changes as a JSON array (inside a query over `journal j`): journal_info reads
# the journal and its changes in one query.
CHANGES_JSON_SQL = """
    (SELECT json_group_array(json_object('id', tc.id, 'journal_id', tc.journal_id, 'date', tc.date,
                                         'lesson_number', tc.lesson_number, 'from_date', tc.from_date,
                                         'from_number', tc.from_number, 'room', tc.room, 'reason', tc.reason))
       FROM timetable_change tc WHERE tc.journal_id = j.id)
"""


class Timetabled(Protocol):
    """What lesson_keys needs of a journal (journal.store.JournalInfo has it)."""

    slots: dict[int, list[int]]
    year_start: str
    year_end: str
    changes: Changes
    terms: list[tuple[str, str]]   # the year's study periods (none yet: every day of the year)

    def is_holiday(self, day: str) -> str | None: ...


def lesson_keys(journal: Timetabled, start: str, end: str, recorded: Iterable[Mapping]) -> list[Key]:
    """(date, lesson number) of every lesson of the journal in [start, end]: the weekly
    timetable's (holidays and lessons moved away left out), those a change put there, and
    every recorded lesson of `recorded` (rows with date and lesson_number)."""
    keys: set[Key] = set()
    first = max(start, journal.year_start)
    last = min(end, journal.year_end)
    day = date.fromisoformat(first)
    stop = date.fromisoformat(last) if first <= last else day - timedelta(days=1)
    away = journal.changes.away
    terms = journal.terms
    while day <= stop:
        iso = day.isoformat()
        numbers = journal.slots.get(day.isoweekday(), ())
        if numbers and not journal.is_holiday(iso) and (not terms or any(a <= iso <= b for a, b in terms)):
            keys.update((iso, n) for n in numbers if (iso, n) not in away)
        day += timedelta(days=1)
    keys.update(k for k in journal.changes.placed if start <= k[0] <= end)
    keys.update((r["date"], r["lesson_number"]) for r in recorded)
    return sorted(keys)


def is_scheduled(journal: Timetabled, day: str, number: int) -> bool:
    """Whether the timetable of `day` has this lesson (holidays are the caller's to check:
    a lesson recorded before the holidays were moved onto its day stays editable)."""
    if (day, number) in journal.changes.placed:
        return True
    weekday = date.fromisoformat(day).isoweekday()
    return number in journal.slots.get(weekday, ()) and (day, number) not in journal.changes.away


NEXT_LESSON_DAYS = 60


def next_lesson(journal: Timetabled, day: str, cancelled: Iterable[Key] = (),
                within_days: int = NEXT_LESSON_DAYS) -> Key | None:
    """The journal's first lesson after `day` that takes place (`cancelled` left out): when
    homework set on `day` is due, unless the teacher chose another date."""
    start = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    end = (date.fromisoformat(day) + timedelta(days=within_days)).isoformat()
    skip = set(cancelled)
    return next((k for k in lesson_keys(journal, start, end, ()) if k not in skip), None)


def next_lesson_in(keys: list[Key], day: str, cancelled: Iterable[Key] = (),
                   within_days: int = NEXT_LESSON_DAYS) -> Key | None:
    """`next_lesson` over the journal's `lesson_keys` of a span already read (sorted, covering
    `day` + within_days): the same answer without walking the timetable again."""
    end = (date.fromisoformat(day) + timedelta(days=within_days)).isoformat()
    skip = set(cancelled)
    for k in keys[bisect.bisect_right(keys, (day, 99)):]:
        if k[0] > end:
            return None
        if k not in skip:
            return k
    return None


def moved_away(journal: Timetabled, start: str, end: str) -> list[tuple[Key, Mapping[str, Any]]]:
    """The lessons moved away from a date in [start, end]: ((date, number), change) — the diary
    and the teacher's day say where each went."""
    return sorted(((k, c) for k, c in journal.changes.away.items() if start <= k[0] <= end), key=lambda kc: kc[0])


def holiday_test(holidays: list[tuple[str, str]]) -> Callable[[str], str | None]:
    return lambda day: next((f"{a}–{b}" for a, b in holidays if a <= day <= b), None)
