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
from pathlib import Path
from typing import Callable, Hashable, Iterable

from server.config import Settings
from server.fsutil import fsync_dir

from . import state, status


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


def prune(settings: Settings, where: Path, periods: Iterable[tuple[date, date]],
          extra_keep: set[str] = frozenset()) -> list[str]:
    """Delete the backups in `where` (the backups folder or the USB one) that the plan no
    longer needs; returns their names. `extra_keep`: names kept whatever the plan says."""
    st = state.read(settings.data_dir)
    entries = status.list_backups(where, st)
    items = [Item(e.name, e.local_time.replace(tzinfo=None), e.keep or e.name in extra_keep) for e in entries]
    keep = to_keep(items, settings.backup_keep_daily, settings.backup_keep_weekly,
                   settings.backup_keep_monthly, periods)
    gone = [e.name for e in entries if e.name not in keep]
    for name in gone:
        (where / name).unlink(missing_ok=True)
    if gone:
        fsync_dir(where)
        if where == state.folder(settings):
            with state.update(settings.data_dir) as s:
                for name in gone:
                    s["backups"].pop(name, None)
    return gone


def kept_names(settings: Settings) -> set[str]:
    """The backups marked «хранить всегда»."""
    return {n for n, m in state.read(settings.data_dir)["backups"].items() if m.get("keep")}
