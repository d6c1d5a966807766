"""Which backups to keep: 7 daily, 5 weekly, 12 monthly, one per study period, and the
ones marked to keep for good.

The buckets count days, weeks and months that *have* backups (as borg and restic do),
so a server that was off for a month still keeps seven recent days. In each bucket the
newest backup stays. The newest backup of all always stays, and so does every backup of
the last 48 hours before it: an admin who makes a copy at 10:00 may still want the one
from 02:00 if the data went wrong at 09:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Hashable, Iterable


@dataclass(frozen=True)
class Item:
    name: str
    at: datetime  # local time: "daily" means the school's days
    keep: bool = False  # marked by the admin, or a safety copy made before a restore


def _newest_per_bucket(items: list[Item], key: Callable[[Item], Hashable], count: int) -> set[str]:
    kept, seen = set(), set()
    for item in items:  # newest first
        if len(seen) >= count:
            break
        bucket = key(item)
        if bucket not in seen:
            seen.add(bucket)
            kept.add(item.name)
    return kept


def to_keep(items: Iterable[Item], daily: int = 7, weekly: int = 5, monthly: int = 12,
            periods: Iterable[tuple[date, date]] = (), recent: timedelta = timedelta(hours=48)) -> set[str]:
    """Names of the backups to keep; the others may be deleted.

    `periods` are study periods (quarters, halves, years) as (first day, last day): the
    newest backup made within each is kept for good. The study_period table feeds it
    (archive.study_periods); before that table existed, only `keep` marks did this job.
    """
    ordered = sorted(items, key=lambda i: i.at, reverse=True)
    if not ordered:
        return set()
    kept = {i.name for i in ordered if i.keep or i.at >= ordered[0].at - recent}
    kept |= _newest_per_bucket(ordered, lambda i: i.at.date(), daily)
    kept |= _newest_per_bucket(ordered, lambda i: i.at.isocalendar()[:2], weekly)
    kept |= _newest_per_bucket(ordered, lambda i: (i.at.year, i.at.month), monthly)
    for start, end in periods:
        inside = next((i for i in ordered if start <= i.at.date() <= end), None)
        if inside is not None:
            kept.add(inside.name)
    return kept
