"""The district offers a release bundle to its schools (`zhurnal district offer-update BUNDLE`).

The district checks the bundle with the release keys of its own program (the same file the
schools trust, server/appliance/release-keys.txt) before offering it, and keeps it in
PostgreSQL (`update_offer` + `update_offer_piece`, 1 MiB pieces of bytea): the district keeps
everything there, and a piece at a time means neither the offer nor a download holds a
bundle of tens of MB in memory. One offer at a time: a new one replaces the last.

The district never installs anything at a school: a school's sync round asks for the offer,
downloads a newer version into its data folder and checks it again (sha256 and the signature,
with its own keys); its sysadmin decides to apply it (sync/offer.py, /admin/update)."""

from __future__ import annotations

import hashlib
from datetime import timezone
from importlib import resources
from pathlib import Path

import psycopg

from server.appliance import release
from server.errors import UserError

from . import store

PIECE = 1024 * 1024


def _ensure_tables(conn: psycopg.Connection) -> None:
    # No migrations for the district's schema: every statement is IF NOT EXISTS, so running it
    # again adds the offer's tables to a district set up before them.
    conn.execute(resources.files("district").joinpath("schema.sql").read_text(encoding="utf-8"))


def check(path: Path) -> dict:
    """The bundle's facts after the same checks an update makes (signature, every file);
    BundleError (Russian) otherwise."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} — папка. Укажите файл пакета zhurnal-ВЕРСИЯ.tar, как его собирает deploy/bundle.sh.")
    if not path.exists():
        raise UserError(f"Файла {path} нет.")
    bundle = release.open_bundle(path)
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(PIECE), b""):
                digest.update(block)
        return {"version": bundle.version, "schema_version": bundle.schema_version, "key_id": bundle.key_id,
                "sha256": digest.hexdigest(), "size": path.stat().st_size, "file_name": path.name}
    finally:
        bundle.discard()


def offer(conn: psycopg.Connection, path: Path, facts: dict) -> dict:
    """Store the checked bundle as the district's offer (replacing any earlier one)."""
    store.require_init(conn)
    _ensure_tables(conn)
    conn.execute("DELETE FROM update_offer")
    offer_id = conn.execute(
        "INSERT INTO update_offer(version, schema_version, sha256, size, key_id, file_name)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (facts["version"], facts["schema_version"], facts["sha256"], facts["size"], facts["key_id"],
         facts["file_name"])).fetchone()[0]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for n, block in enumerate(iter(lambda: f.read(PIECE), b"")):
            digest.update(block)
            conn.execute("INSERT INTO update_offer_piece(offer_id, n, data) VALUES (%s, %s, %s)", (offer_id, n, block))
    if digest.hexdigest() != facts["sha256"]:  # the file changed between the check and now
        raise UserError(f"Файл {Path(path).name} изменился во время записи. Повторите.")
    return {**facts, "id": offer_id}


def current(conn: psycopg.Connection) -> dict | None:
    """The offer as schools and the dashboard see it, None when there is none."""
    if conn.execute("SELECT to_regclass('update_offer')").fetchone()[0] is None:
        return None
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute("SELECT id, version, schema_version, sha256, size, key_id, file_name, offered_at"
                       " FROM update_offer ORDER BY id DESC LIMIT 1").fetchone()


def piece(conn: psycopg.Connection, offer_id: int, n: int) -> bytes | None:
    row = conn.execute("SELECT data FROM update_offer_piece WHERE offer_id = %s AND n = %s", (offer_id, n)).fetchone()
    return bytes(row[0]) if row else None


def as_json(o: dict | None) -> dict | None:
    if o is None:
        return None
    return {"id": o["id"], "version": o["version"], "schema_version": o["schema_version"], "sha256": o["sha256"],
            "size": o["size"], "offered_at": o["offered_at"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
