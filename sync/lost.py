"""Changes the district kept that a restored school no longer has, handed back as a file.

After a restore from a backup the school starts a new epoch; the district compares its view
with the school's new full state and keeps what differs (district/store.py, lost_change).
Its admin downloads that as `zhurnal-lost-CODE.json`; here the school's sysadmin reviews it
(what the district had, what the school has now) and re-applies it: each item only where
the school's row is still as the district saw it after the restore (otherwise someone has
changed it since, and the item is shown as a conflict, not applied). Every re-applied
change is an ordinary ledger entry (reason «возвращено из района …») and so goes back to
the district with the next round.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from server import ledger
from server.config import Settings
from server.errors import UserError

from . import profile

REASON = "возвращено из района после восстановления из резервной копии"
# Derived states (a person's profile, a role, a consent flag, a setting, a period's closing)
# cannot be written back from what the district holds: those are re-entered by hand.
NOT_REAPPLIED = {"person", "account_role", "guardian", "setting", "period", "school"}


def read(path: Path | bytes, school_code: str) -> dict:
    try:
        raw = path if isinstance(path, bytes) else Path(path).read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        raise UserError(f"Файла {path} нет.") from None
    except (ValueError, UnicodeDecodeError):
        raise UserError("Это не файл изменений из района (он должен называться zhurnal-lost-КОД.json).") from None
    if not isinstance(data, dict) or data.get("kind") != "zhurnal-lost-changes" or not isinstance(data.get("items"), list):
        raise UserError("Это не файл изменений из района (он должен называться zhurnal-lost-КОД.json).")
    if data.get("school") != school_code:
        raise UserError(f"Файл — для школы «{data.get('school')}», а эта школа — «{school_code}».")
    return data


def _key_values(t: ledger.Audited, key: str) -> tuple:
    parts = key.split(":", len(t.key))[1:]
    if len(parts) != len(t.key):
        raise ValueError(key)
    return tuple(int(p) if p.lstrip("-").isdigit() else p for p in parts)


def _row(conn: sqlite3.Connection, t: ledger.Audited, values: tuple):
    where = " AND ".join(f"{k} = ?" for k in t.key)
    rows = list(t.rows(conn, where, values))
    return rows[0] if rows else None


def review(conn: sqlite3.Connection, items: list[dict]) -> list[dict]:
    """Each item with `status`: apply (the school's row is as the district saw it),
    same (already so), conflict (changed since), manual (re-entered by hand)."""
    ctx = profile.Context(conn)
    out = []
    for item in items:
        key, entity = str(item.get("key", "")), str(item.get("entity", ""))
        res = {**item, "status": "apply", "note": ""}
        if entity not in profile.PROFILE or entity in NOT_REAPPLIED:
            res.update(status="manual", note="такие данные возвращаются вручную")
            out.append(res)
            continue
        t = profile.shape(entity)
        try:
            row = _row(conn, t, _key_values(t, key))
        except (ValueError, sqlite3.Error):
            res.update(status="manual", note="запись не распознана")
            out.append(res)
            continue
        now = profile.transform(ctx, key, t.state_of(row))[1] if row is not None else None
        if now == item.get("state"):
            res.update(status="same", note="уже так")
        elif now != item.get("school_state"):
            res.update(status="conflict", note="после восстановления запись изменена в школе — не трогаем")
        out.append(res)
    order = {e: i for i, e in enumerate(profile.PROFILE)}
    out.sort(key=lambda r: (order.get(r.get("entity"), 999), str(r.get("key"))))
    return out


def apply(conn: sqlite3.Connection, account_id: int | None, items: list[dict]) -> tuple[int, list[str]]:
    """Re-apply the reviewed items whose status is `apply` (inside the caller's transaction);
    returns (applied, problems)."""
    done, problems = 0, []
    for item in review(conn, items):
        if item["status"] != "apply":
            continue
        key, entity, state = item["key"], item["entity"], item.get("state")
        t = profile.shape(entity)
        values = _key_values(t, key)
        before = _row(conn, t, values)
        conn.execute("SAVEPOINT reapply")
        try:
            if state is None:
                conn.execute(f"DELETE FROM {t.table} WHERE " + " AND ".join(f"{k} = ?" for k in t.key), values)
            else:
                cols = [c for c in state if c in t.columns and c not in t.key]
                if before is not None:
                    if cols:
                        conn.execute(f"UPDATE {t.table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE "
                                     + " AND ".join(f"{k} = ?" for k in t.key), [state[c] for c in cols] + list(values))
                else:
                    names = list(t.key) + cols
                    conn.execute(f"INSERT INTO {t.table}({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                                 list(values) + [state[c] for c in cols])
            after = _row(conn, t, values)
            ledger.record(conn, account_id, entity, key, t.state_of(before) if before is not None else None,
                          t.state_of(after) if after is not None else None, REASON)
            conn.execute("RELEASE reapply")
            done += 1
        except sqlite3.Error as e:
            conn.execute("ROLLBACK TO reapply")
            conn.execute("RELEASE reapply")
            problems.append(f"{key}: не удалось вернуть ({e}).")
    return done, problems


LABELS = {"apply": "вернуть", "same": "уже так", "conflict": "изменено в школе", "manual": "вручную"}


def cli_reapply(settings: Settings, path: Path, yes: bool) -> int:
    from server.db import connect_sync

    from .school import require_config

    cfg = require_config(settings.data_dir)
    data = read(path, cfg["school_code"])
    conn = connect_sync(settings.db_path)
    try:
        items = review(conn, data["items"])
        for r in items:
            print(f"[{LABELS[r['status']]}] {r['key']}: в районе {json.dumps(r.get('state'), ensure_ascii=False)}, "
                  f"в школе {json.dumps(r.get('school_state'), ensure_ascii=False)}"
                  + (f" — {r['note']}" if r["note"] else ""))
        todo = sum(r["status"] == "apply" for r in items)
        if not yes:
            print(f"Можно вернуть: {todo} из {len(items)}. Чтобы вернуть, повторите команду с --yes.")
            return 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            done, problems = apply(conn, None, data["items"])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    for p in problems:
        print(p, file=sys.stderr)
    print(f"Возвращено изменений: {done}. Они уйдут в район со следующей отправкой.")
    return 0


def summary(items: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in items:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def as_text(value: Any) -> str:
    return "нет" if value is None else json.dumps(value, ensure_ascii=False)
