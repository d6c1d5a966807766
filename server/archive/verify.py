"""`zhurnal archive verify DIR`: the files against the manifest (SHA-256, size, nothing missing
or added), the ledger's chain (`ledger.verify`) and the manifest's head entry in it, and each
document's data against the live database (its fingerprint recomputed from the same scope) —
so a PDF that no longer matches the journal it came from is named."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from .. import clock, ledger
from . import build, collect
from .collect import ArchiveError


def check(folder: Path, conn: sqlite3.Connection) -> list[str]:
    """The problems found (Russian sentences); empty when the archive holds."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / build.MANIFEST).read_text())
    except FileNotFoundError:
        raise ArchiveError(f"В папке «{folder}» нет манифеста архива ({build.MANIFEST}).") from None
    except ValueError:
        return [f"Манифест {folder / build.MANIFEST} повреждён."]
    problems = []
    listed = {f["name"] for f in manifest["files"]}
    for f in manifest["files"]:
        path = folder / f["name"]
        if not path.is_file():
            problems.append(f"Нет файла {f['name']}.")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != f["sha256"]:
            problems.append(f"Файл {f['name']} изменён после сборки (SHA-256 не совпадает с манифестом).")
    for path in folder.iterdir():
        if path.name not in listed and path.name != build.MANIFEST:
            problems.append(f"Лишний файл {path.name}: его нет в манифесте.")
    ok, message = ledger.verify(conn)
    if not ok:
        problems.append(f"Журнал аудита: {message}")
    head = manifest.get("ledger_head")
    if head:
        row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (head["id"],)).fetchone()
        if row is None or row[0] != head["hash"]:
            problems.append(f"Запись журнала аудита № {head['id']}, на которой собран архив, в базе другая или её нет.")
    sc = manifest["scope"]
    try:
        scope = collect.scope_of(conn, period_id=sc["period_id"], year_id=None if sc["period_id"] else sc["year_id"])
    except ArchiveError as e:
        return problems + [f"Период архива: {e}"]
    scope.class_ids = sc.get("class_ids")
    today = clock.today().isoformat()
    seen: dict[tuple, str] = {}
    for f in manifest["files"]:
        key = (f["kind"], f.get("journal_id"), f.get("class_id"))
        if key not in seen:
            try:
                seen[key] = collect.fingerprint(build.data_of(conn, f, scope, today))
            except (ArchiveError, StopIteration):
                seen[key] = ""
        if seen[key] != f["fingerprint"]:
            problems.append(f"Файл {f['name']} не совпадает с журналом: данные изменились после сборки архива.")
    return problems
