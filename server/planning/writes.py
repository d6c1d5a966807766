"""Changing a journal's КТП: an item by hand (add, edit, delete), a whole plan (a file, a copy
of another class's plan, the API). Each function takes the user and the journal's id and
decides access inside its own transaction (the journal's teacher or the deputy:
journal.access.for_writer), checks the rows against the journal and the work types read in
that same transaction (rules.py), writes, and records every item changed in the ledger
(`plan_item:<journal>:<item>`) with the action's text as the entries' reason — «Файл
«ктп.xlsx»: загружено тем: 34» — which the plan page shows as its history.

Replace or merge: while no lesson refers to any item of a journal's plan, a whole plan
replaces it. Once lessons were given by it, items cannot be deleted (lessons point at them),
so a whole plan updates the items whose number it names and adds new numbers; the other
items stay as they were."""

from __future__ import annotations

import sqlite3

from .. import ledger
from ..errors import NotFound
from ..journal import access
from ..journal.rules import JournalError
from ..timeutil import ru_date
from . import store
from .rules import PlanRow, check_item, check_rows, week_of

MAX_DETAIL = 300

_INSERT = ("INSERT INTO plan_item(journal_id, number, topic, hours, planned_date, planned_week, work_type)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")


def _keeper(conn, user, journal_id: int):
    return access.for_writer(conn, user, journal_id, refusal=access.PLAN_KEEPERS)


def _values(journal_id: int, r: PlanRow) -> tuple:
    return (journal_id, r.number, r.topic, r.hours, r.planned_date, r.planned_week, r.work_type)


def _states(conn, where: str, params: tuple) -> dict:
    return ledger.states(conn, "plan_item", where, params)


def _record(conn, user, before: dict, after: dict, detail: str) -> int | None:
    """The ledger entries of one action; → the id of its last entry (None: nothing changed)."""
    if not ledger.record_changes(conn, user.account_id, "plan_item", before, after, detail[:MAX_DETAIL]):
        return None
    return conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]


# The fields of an item a whole plan may lack (a КТП without dates): kept as they were.
_OPTIONAL = {"hours": ("hours",), "date": ("planned_date",), "week": ("planned_week",), "work_type": ("work_type",)}


def save_plan(conn: sqlite3.Connection, user, journal_id: int, cells: list[tuple[int, dict[str, str]]], source: str,
              place: str = "строке", unit: str = "строк", present: set[str] | None = None,
              unknown_types: dict | None = None) -> dict:
    """A whole plan (a file's rows, the API's items: (line, {column: text})), checked whole —
    PlanRejected lists every bad row and nothing is written. `source` names it in the history:
    «Файл «ктп.xlsx»». `present`: the fields the file has (None: all); an item of the same
    number keeps what the file does not say (its planned dates when the file has none).
    `unknown_types`: a file's work types not known become «урок» (noted there).
    → {mode, added, updated, kept, removed, detail, entry_id}."""
    info = _keeper(conn, user, journal_id)
    rows = check_rows(cells, info, store.work_types(conn), place=place, unit=unit, unknown_types=unknown_types)
    _keep_missing(conn, info.id, rows, present)
    return _save_rows(conn, user, info, rows, source)


def _keep_missing(conn, journal_id: int, rows: list[PlanRow], present: set[str] | None) -> int:
    """Fill the fields the file lacks from the items of the same number; → how many items kept some."""
    if present is None:
        return 0
    missing = [col for field, cols in _OPTIONAL.items() if field not in present for col in cols]
    if not missing:
        return 0
    old = {r["number"]: r for r in conn.execute("SELECT * FROM plan_item WHERE journal_id = ?", (journal_id,))}
    kept = 0
    for r in rows:
        before = old.get(r.number)
        if before is None:
            continue
        for col in missing:
            setattr(r, col, before[col])
        kept += 1
    return kept


def preview_plan(conn: sqlite3.Connection, user, journal_id: int, cells: list[tuple[int, dict[str, str]]],
                 present: set[str], unknown_types: dict) -> dict:
    """What saving a file's rows would do, without writing: PlanRejected as save_plan would.
    → {rows, mode, existing, replaced, updated, added, kept, kept_fields}."""
    info = _keeper(conn, user, journal_id)
    rows = check_rows(cells, info, store.work_types(conn), unknown_types=unknown_types)
    kept_fields = _keep_missing(conn, info.id, rows, present)
    existing = {r["number"] for r in conn.execute("SELECT number FROM plan_item WHERE journal_id = ?", (info.id,))}
    used = store.is_used(conn, info.id)
    numbers = {r.number for r in rows}
    return {"rows": rows, "mode": "merged" if used else "replaced", "existing": len(existing),
            "updated": len(numbers & existing), "added": len(numbers - existing),
            "kept": len(existing - numbers) if used else 0, "kept_fields": kept_fields,
            "names": {w["code"]: w["name"] for w in store.work_types(conn)}}


def copy_plan(conn: sqlite3.Connection, user, journal_id: int, source_id: int | None) -> dict:
    """Another class's plan of the same subject and parallel. Dates are not copied (the other
    class has its own timetable): an item keeps its week, or gets the week of its date."""
    info = _keeper(conn, user, journal_id)
    if source_id is None:
        raise JournalError("Выберите журнал, из которого скопировать КТП.")
    source = next((s for s in store.copy_sources(conn, info) if s["id"] == source_id), None)
    if source is None:
        raise JournalError("КТП можно скопировать только из журнала того же предмета и той же параллели, "
                           "в котором КТП уже есть.")
    items = conn.execute("SELECT * FROM plan_item WHERE journal_id = ? ORDER BY number", (source_id,)).fetchall()
    rows = [PlanRow(i, it["number"], it["topic"], it["hours"], None,
                    it["planned_week"] or (week_of(info, it["planned_date"]) if it["planned_date"] else None),
                    it["work_type"]) for i, it in enumerate(items, 1)]
    return _save_rows(conn, user, info, rows, f"Копия КТП журнала «{source['subject_name']}, {source['target_name']}»")


def _save_rows(conn, user, info, rows: list[PlanRow], source: str) -> dict:
    before = _states(conn, "journal_id = ?", (info.id,))
    existing = {r["number"] for r in conn.execute("SELECT number FROM plan_item WHERE journal_id = ?", (info.id,))}
    if not store.is_used(conn, info.id):
        conn.execute("DELETE FROM plan_item WHERE journal_id = ?", (info.id,))
        conn.executemany(_INSERT, [_values(info.id, r) for r in rows])
        result = {"mode": "replaced", "added": len(rows), "updated": 0, "kept": 0, "removed": len(existing)}
        detail = f"{source}: загружено тем: {len(rows)}"
        if existing:
            detail += f" (прежний КТП из {len(existing)} тем заменён)"
    else:
        updates = [r for r in rows if r.number in existing]
        conn.executemany(
            "UPDATE plan_item SET topic = ?, hours = ?, planned_date = ?, planned_week = ?, work_type = ?"
            " WHERE journal_id = ? AND number = ?",
            [(r.topic, r.hours, r.planned_date, r.planned_week, r.work_type, info.id, r.number) for r in updates])
        added = [r for r in rows if r.number not in existing]
        conn.executemany(_INSERT, [_values(info.id, r) for r in added])
        result = {"mode": "merged", "added": len(added), "updated": len(updates),
                  "kept": len(existing) - len(updates), "removed": 0}
        detail = (f"{source}: добавлено тем: {len(added)}, обновлено: {len(updates)}, не затронуто: {result['kept']}"
                  " (по КТП уже проведены уроки, поэтому он дополнен по номерам, а не заменён)")
    after = _states(conn, "journal_id = ?", (info.id,))
    return {**result, "detail": detail, "entry_id": _record(conn, user, before, after, detail)}


def add_item(conn: sqlite3.Connection, user, journal_id: int, cells: dict[str, str]) -> int:
    """One item from the page's form; → its id."""
    info = _keeper(conn, user, journal_id)
    row = check_item(cells, info, store.work_types(conn))
    if conn.execute("SELECT 1 FROM plan_item WHERE journal_id = ? AND number = ?", (info.id, row.number)).fetchone():
        raise JournalError(f"Тема № {row.number} уже есть в КТП: выберите другой номер.")
    item_id = conn.execute(_INSERT, _values(info.id, row)).lastrowid
    _record(conn, user, {}, _states(conn, "id = ?", (item_id,)), f"Добавлена тема № {row.number} «{row.topic[:120]}»")
    return item_id


def _item(conn, info, item_id: int) -> sqlite3.Row:
    item = conn.execute("SELECT * FROM plan_item WHERE id = ? AND journal_id = ?", (item_id, info.id)).fetchone()
    if item is None:
        raise NotFound("Такой темы в КТП этого журнала нет.")
    return item


def update_item(conn: sqlite3.Connection, user, journal_id: int, item_id: int, cells: dict[str, str]) -> None:
    info = _keeper(conn, user, journal_id)
    item = _item(conn, info, item_id)
    row = check_item(cells, info, store.work_types(conn))
    if row.number != item["number"] and conn.execute(
            "SELECT 1 FROM plan_item WHERE journal_id = ? AND number = ?", (info.id, row.number)).fetchone():
        raise JournalError(f"Тема № {row.number} уже есть в КТП: выберите другой номер.")
    before = _states(conn, "id = ?", (item_id,))
    conn.execute("UPDATE plan_item SET number = ?, topic = ?, hours = ?, planned_date = ?, planned_week = ?,"
                 " work_type = ? WHERE id = ?", (row.number, row.topic, row.hours, row.planned_date,
                                                 row.planned_week, row.work_type, item_id))
    moved = f" (был № {item['number']})" if row.number != item["number"] else ""
    _record(conn, user, before, _states(conn, "id = ?", (item_id,)),
            f"Изменена тема № {row.number}{moved} «{row.topic[:120]}»")


def delete_item(conn: sqlite3.Connection, user, journal_id: int, item_id: int) -> None:
    """Only an item no lesson refers to: a given topic stays, it can still be edited."""
    info = _keeper(conn, user, journal_id)
    item = _item(conn, info, item_id)
    lesson = conn.execute("SELECT date FROM lesson WHERE plan_item_id = ? ORDER BY date LIMIT 1",
                          (item_id,)).fetchone()
    if lesson is not None:
        raise JournalError(f"По теме № {item['number']} уже проведён урок ({ru_date(lesson['date'])}): удалить её "
                           "нельзя, можно только изменить.")
    before = _states(conn, "id = ?", (item_id,))
    conn.execute("DELETE FROM plan_item WHERE id = ?", (item_id,))
    _record(conn, user, before, {}, f"Удалена тема № {item['number']} «{item['topic'][:120]}»")
