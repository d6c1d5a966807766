"""The school's grading settings (§3.2.3): whether the mark «1» is used, whether parallel 1
takes marks, the forecast's rounding threshold, and the work types with their weights.

The administration reads the page, the deputy and the sysadmin change it (the school's
set-up rules). Each form is one transaction that records every change in the ledger
(ledger.TABLES "setting" and "work_type", so `zhurnal audit verify` checks them): a weight
changes every average and forecast at once, so who changed it and when must be on record."""

from __future__ import annotations

import json
import re
import sqlite3

from litestar import Request, Response, get, post

from .. import ledger
from ..planning.rules import norm  # names the КТП import would read as the same work type clash
from ..web.access import current_user
from ..web.forms import form_dict, ok_message, see_other
from ..web.templating import page
from .rules import JournalError, forecast, weighted_average

VIEW = {"roles": {"director", "deputy", "sysadmin"}}
MANAGE = {"roles": {"deputy", "sysadmin"}}

# The settings this page owns, with their defaults (server/migrations/0005_journal.sql).
SETTINGS = {"grade_one_allowed": "0", "first_grade_marks": "0", "forecast_threshold": "0.5"}
SETTING_LABELS = {
    "grade_one_allowed": "Отметка «1» используется",
    "first_grade_marks": "Отметки в 1 классе",
    "forecast_threshold": "Порог округления прогноза",
}
MAX_WEIGHT = 10            # the work_type table's CHECK
MAX_NAME = 60
MAX_WORK_TYPES = 30        # every lesson panel lists them all in one select
HISTORY_LIMIT = 20

_NUMBER = re.compile(r"(\d{1,3})?(?:[.,](\d+))?")


def ru_number(value: float) -> str:
    """1.5 → '1,5'; 2.0 → '2'; 0.55 → '0,55'."""
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


# --- parsing the forms (pure) ------------------------------------------------------------------

def _decimal(text: str, what: str, example: str, field: str) -> float:
    """A number as a person types it: «1,5» or «1.5», at most two decimals (averages have two)."""
    value = (text or "").strip().replace(" ", "")
    if not value:
        raise JournalError(f"{what}: не указано. Введите число, например {example}.", field)
    m = _NUMBER.fullmatch(value)
    if not m or not (m.group(1) or m.group(2)):
        raise JournalError(f"{what}: «{value[:20]}» — не число. Введите число, например {example}.", field)
    if m.group(2) and len(m.group(2)) > 2:
        raise JournalError(f"{what}: не больше двух знаков после запятой (введено «{value[:20]}»).", field)
    return float(value.replace(",", "."))


def parse_weight(text: str, what: str, field: str) -> float:
    weight = _decimal(text, what, "1,5", field)
    if not 0 < weight <= MAX_WEIGHT:
        raise JournalError(f"{what}: должен быть больше 0 и не больше {MAX_WEIGHT} (введено «{text.strip()[:20]}»).",
                           field)
    return weight


def parse_threshold(text: str) -> float:
    what = "Порог округления прогноза"
    threshold = _decimal(text, what, "0,5", "forecast_threshold")
    if not 0 < threshold < 1:
        raise JournalError(f"{what}: должен быть больше 0 и меньше 1, например 0,5 (введено «{text.strip()[:20]}»).",
                           "forecast_threshold")
    return threshold


def clean_type_name(text: str, what: str, field: str) -> str:
    """A work type's name as the journal and the diary show it. Russian, like everything the
    journal shows (§2.7) — which also keeps a name from reading as another type's Latin code
    in the КТП import (planning.rules.work_type_lookup takes both)."""
    name = " ".join((text or "").split())
    if not name:
        raise JournalError(f"{what}: не указано.", field)
    if len(name) > MAX_NAME:
        raise JournalError(f"{what}: не длиннее {MAX_NAME} знаков.", field)
    if not re.search(r"[а-яё]", name, re.I):
        raise JournalError(f"{what}: «{name[:30]}» — пишется по-русски.", field)
    return name


def type_state(name: str, weight: float, is_control: bool) -> dict:
    """What the ledger records of a work type (ledger.TABLES["work_type"]: is_control as a bool)."""
    return {"name": name, "weight": float(weight), "is_control": bool(is_control)}


# --- the writes (they run inside Database.write) ----------------------------------------------

def save_settings(conn: sqlite3.Connection, account_id: int, values: dict[str, str]) -> None:
    """Store the settings that changed, each with its ledger entry."""
    old = dict(conn.execute("SELECT key, value FROM setting WHERE key IN ('grade_one_allowed', 'first_grade_marks',"
                            " 'forecast_threshold')").fetchall())
    for key, value in values.items():
        assert key in SETTINGS, key
        before = old.get(key, SETTINGS[key])
        if value == before:
            continue
        conn.execute("INSERT INTO setting(key, value) VALUES (?, ?)"
                     " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
        ledger.record(conn, account_id, "setting", f"setting:{key}", before, value)


def save_work_types_form(conn: sqlite3.Connection, account_id: int, form: dict[str, str]) -> None:
    """The work types' table as the page sends it: every row at once (a row missing from the
    form — a type added meanwhile — stays as it is). The rows are read in the transaction
    that writes them."""
    edits = []
    for code, old_name, *_ in work_types(conn):
        if f"name_{code}" not in form and f"weight_{code}" not in form:
            continue
        name = clean_type_name(form.get(f"name_{code}", ""), f"Название вида работы «{old_name}»", f"name_{code}")
        weight = parse_weight(form.get(f"weight_{code}", ""), f"Вес вида работы «{old_name}»", f"weight_{code}")
        edits.append((code, name, weight, form.get(f"control_{code}") == "1"))
    save_work_types(conn, account_id, edits)


def save_work_types(conn: sqlite3.Connection, account_id: int,
                    edits: list[tuple[str, str, float, bool]]) -> None:
    """(code, name, weight, is_control) for the types edited; unknown codes are skipped."""
    rows = {r[0]: r for r in conn.execute("SELECT code, name, weight, is_control FROM work_type ORDER BY sort, code")}
    changed = {}
    for code, name, weight, is_control in edits:
        row = rows.get(code)
        if row is None:
            continue
        new = type_state(name, weight, is_control)
        if new != type_state(row[1], row[2], row[3]):
            changed[code] = new
    # The unchanged names first: a clash is reported on the name that was typed.
    final = {code: (changed[code]["name"] if code in changed else r[1]) for code, r in rows.items()}
    seen: dict[str, str] = {}
    for code in sorted(final, key=lambda c: (c in changed and final[c] != rows[c][1], rows[c][1])):
        key = norm(final[code])
        if key in seen:
            raise JournalError(f"Название вида работы «{final[code]}»: такое название уже есть у другого вида работы.",
                               f"name_{code}")
        seen[key] = code
    # Two names swapped would trip UNIQUE half-way: renamed rows step aside first.
    for code, new in changed.items():
        if new["name"] != rows[code][1]:
            conn.execute("UPDATE work_type SET name = ? WHERE code = ?", ("\x00" + code, code))
    for code, new in changed.items():
        conn.execute("UPDATE work_type SET name = ?, weight = ?, is_control = ? WHERE code = ?",
                     (new["name"], new["weight"], int(new["is_control"]), code))
        row = rows[code]
        ledger.record(conn, account_id, "work_type", f"work_type:{code}", type_state(row[1], row[2], row[3]), new)


def add_work_type(conn: sqlite3.Connection, account_id: int, name: str, weight: float, is_control: bool) -> str:
    """A new work type after the others; its code is 'custom1', 'custom2' …"""
    rows = conn.execute("SELECT code, name, sort FROM work_type").fetchall()
    if len(rows) >= MAX_WORK_TYPES:
        raise JournalError(f"Видов работ не может быть больше {MAX_WORK_TYPES}: измените один из имеющихся.")
    if norm(name) in {norm(r[1]) for r in rows}:
        raise JournalError(f"Название вида работы «{name}»: такой вид работы уже есть.", "new_name")
    codes = {r[0] for r in rows}
    number = 1 + max((int(c[6:]) for c in codes if re.fullmatch(r"custom\d{1,9}", c)), default=0)
    while f"custom{number}" in codes:
        number += 1
    code = f"custom{number}"
    conn.execute("INSERT INTO work_type(code, name, weight, is_control, sort) VALUES (?, ?, ?, ?, ?)",
                 (code, name, weight, int(is_control), 1 + max((r[2] for r in rows), default=0)))
    ledger.record(conn, account_id, "work_type", f"work_type:{code}", None, type_state(name, weight, is_control))
    return code


# --- reading ----------------------------------------------------------------------------------

def threshold_example(threshold: float) -> str:
    """«при пороге 0,5: 3,5 → 4, 3,49 → 3» — from forecast() itself, so it cannot drift."""
    up, down = round(3 + threshold, 2), round(3 + threshold - 0.01, 2)
    return (f"при пороге {ru_number(threshold)}: {ru_number(up)} → {forecast(up, threshold)}, "
            f"{ru_number(down)} → {forecast(down, threshold)}")


def formula_example(work_types: list) -> str | None:
    """The weighted average worked through for the heaviest and the lightest work type."""
    if len(work_types) < 2:
        return None
    heavy = max(work_types, key=lambda w: w["weight"])
    light = min((w for w in work_types if w["code"] != heavy["code"]), key=lambda w: w["weight"])
    average = weighted_average([("5", heavy["weight"]), ("4", light["weight"])])
    hw, lw = ru_number(heavy["weight"]), ru_number(light["weight"])
    return (f"5 за «{heavy['name']}» (вес {hw}) и 4 за «{light['name']}» (вес {lw}): "
            f"(5×{hw} + 4×{lw}) / ({hw} + {lw}) = {ru_number(average)}")


def _state_text(entity: str, key: str, text: str | None) -> str:
    if text is None:
        return "—"
    value = json.loads(text)
    if entity == "work_type" and isinstance(value, dict):
        return (f"{value.get('name')}, вес {ru_number(value.get('weight') or 0)}"
                + (", оценочная процедура" if value.get("is_control") else ""))
    if key == "setting:forecast_threshold":
        return ru_number(float(value))
    return {"1": "да", "0": "нет"}.get(str(value), str(value))


def history(conn: sqlite3.Connection) -> list[dict]:
    """The latest changes of these settings, newest first (key ranges: the audit_key index);
    the ledger's «исходное состояние» entries are not changes."""
    rows = conn.execute(
        "SELECT a.at, a.entity, a.key, a.old, a.new, p.last_name, p.first_name, p.middle_name"
        " FROM audit_log a LEFT JOIN account ac ON ac.id = a.account_id LEFT JOIN person p ON p.id = ac.person_id"
        " WHERE ((a.key >= 'setting:' AND a.key < 'setting;') OR (a.key >= 'work_type:' AND a.key < 'work_type;'))"
        " AND a.reason <> ? ORDER BY a.id DESC LIMIT ?", (ledger.BASELINE_REASON, HISTORY_LIMIT)).fetchall()
    out = []
    for r in rows:
        if r["entity"] == "setting":
            what = SETTING_LABELS.get(r["key"].split(":", 1)[1], r["key"])
        else:
            what = "Новый вид работы" if r["old"] is None else "Вид работы"
        who = f"{r['last_name']} {(r['first_name'] or '')[:1]}." if r["last_name"] else "—"
        out.append({"at": r["at"], "who": who, "what": what,
                    "old": _state_text(r["entity"], r["key"], r["old"]),
                    "new": _state_text(r["entity"], r["key"], r["new"])})
    return out


def settings_of(conn: sqlite3.Connection) -> dict[str, str]:
    stored = dict(conn.execute("SELECT key, value FROM setting WHERE key IN ('grade_one_allowed',"
                               " 'first_grade_marks', 'forecast_threshold')").fetchall())
    return {**SETTINGS, **stored}


def work_types(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT code, name, weight, is_control FROM work_type ORDER BY sort, code").fetchall()


def page_data(conn: sqlite3.Connection) -> dict:
    return {"settings": settings_of(conn), "work_types": work_types(conn), "history": history(conn)}


# --- routes ------------------------------------------------------------------------------------

async def _grading_page(request: Request, error: JournalError | None = None, form: dict | None = None,
                        posted: str = "", status: int = 200) -> Response:
    data = await request.app.state.db.read(page_data)
    threshold = float(data["settings"]["forecast_threshold"])
    return page("journal/grading.html", status_code=status, **data, threshold=threshold,
                threshold_example=threshold_example(threshold), formula_example=formula_example(data["work_types"]),
                ru_number=ru_number, can_manage=current_user(request).has(*MANAGE["roles"]),
                can_add=len(data["work_types"]) < MAX_WORK_TYPES,
                ok=ok_message(request), error=error.message if error else None,
                error_field=error.field if error else None, form=form or {}, posted=posted)


@get("/school/grading", opt=VIEW)
async def grading_page(request: Request) -> Response:
    return await _grading_page(request)


@post("/school/grading/settings", opt=MANAGE)
async def settings_save(request: Request) -> Response:
    """The marks used and the forecast's threshold, in one form (unchecked box: off)."""
    form = await form_dict(request)
    try:
        values = {"grade_one_allowed": "1" if form.get("grade_one_allowed") == "1" else "0",
                  "first_grade_marks": "1" if form.get("first_grade_marks") == "1" else "0",
                  "forecast_threshold": f"{parse_threshold(form.get('forecast_threshold', '')):g}"}
        await request.app.state.db.write(save_settings, current_user(request).account_id, values)
    except JournalError as e:
        return await _grading_page(request, e, form, "settings", 400)
    return see_other("/school/grading", "saved")


@post("/school/grading/work-types", opt=MANAGE)
async def work_types_save(request: Request) -> Response:
    """Every row of the table at once; a row missing from the form (added meanwhile) stays."""
    form = await form_dict(request)
    try:
        await request.app.state.db.write(save_work_types_form, current_user(request).account_id, form)
    except JournalError as e:
        return await _grading_page(request, e, form, "types", 400)
    return see_other("/school/grading", "saved")


@post("/school/grading/work-types/new", opt=MANAGE)
async def work_type_create(request: Request) -> Response:
    form = await form_dict(request)
    try:
        name = clean_type_name(form.get("new_name", ""), "Название нового вида работы", "new_name")
        weight = parse_weight(form.get("new_weight", ""), "Вес нового вида работы", "new_weight")
        await request.app.state.db.write(add_work_type, current_user(request).account_id, name, weight,
                                         form.get("new_control") == "1")
    except JournalError as e:
        return await _grading_page(request, e, form, "new", 400)
    return see_other("/school/grading", "created")


ROUTES = [grading_page, settings_save, work_types_save, work_type_create]
