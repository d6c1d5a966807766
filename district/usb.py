"""`zhurnal district import DIR`: the chunks a school brought on a USB stick.

Every `*.zch` on the stick is applied in (school, epoch, seq) order — a stick exported later
holds the earlier chunks again, and a stick imported twice or after a newer one changes
nothing; for every school seen, `zhurnal-ack-CODE.json` is written beside the chunks with
the district's mark and its proof, which the school reads (`zhurnal sync import-ack`, or
the page's USB button) to drop what the district has."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psycopg

from server.errors import UserError
from server.fsutil import write_atomic
from sync import chunk as chunks
from sync.school import ack_name

from . import store


def import_dir(conn: psycopg.Connection, folder: Path) -> int:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"Папки {folder} нет (вставлен ли USB-накопитель?).")
    conn.commit()
    conn.autocommit = True  # one transaction per chunk, made by store.ingest
    keys = store.identities(conn)
    found = []
    for f in sorted(folder.rglob("*.zch")):
        try:
            ch, _ = chunks.parse(f.read_bytes(), f.name)
            found.append(((ch.school, ch.epoch, ch.seq), f))
        except (chunks.ChunkError, OSError) as e:
            print(f"{f.name}: {e}", file=sys.stderr)
    found.sort()
    applied = duplicate = refused = 0
    schools: dict[str, Path] = {}
    for (code, epoch, seq), f in found:
        try:
            r = store.ingest(conn, f.read_bytes(), "usb", keys)
        except store.DistrictError as e:
            refused += 1
            print(f"{f.name}: {e}", file=sys.stderr)
            if e.code in ("unknown_school", "bad_signature"):
                continue
        else:
            applied += r["status"] == "applied"
            duplicate += r["status"] == "duplicate"
        schools[code] = f.parent
    for code, where in schools.items():
        row = conn.execute("SELECT epoch, seq, proof FROM school WHERE code = %s", (code,)).fetchone()
        if row is None:
            continue
        ack = {"kind": "zhurnal-sync-ack", "school": code, "epoch": row[0], "seq": row[1], "proof": row[2],
               "district_epoch": row[0]}
        write_atomic(where / ack_name(code), json.dumps(ack, ensure_ascii=False, indent=1), 0o644)
    print(f"Принято пакетов: {applied}; уже были приняты раньше: {duplicate}; отклонено: {refused}.")
    if schools:
        print("Подтверждения для школ записаны на накопитель: " + ", ".join(sorted(ack_name(c) for c in schools)))
    return 0 if not refused else 1
