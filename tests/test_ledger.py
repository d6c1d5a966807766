"""The one ledger (server/ledger.py) as such: what any audited table gets from it."""

from __future__ import annotations

import server.ledger as ledger_mod
from server.db import connect_sync, migrate


def test_a_state_column_added_later_reads_older_entries_at_its_default(tmp_path, monkeypatch):
    """A release that adds a column to an audited table (e.g. a homework's due date) does not
    re-record every row: an older entry is read as if it had the column at its default, and a
    value set behind the program's back is still reported."""
    path = tmp_path / "z.sqlite3"
    migrate(path)
    conn = connect_sync(path)
    conn.execute("CREATE TABLE gadget (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    monkeypatch.setitem(ledger_mod.TABLES, "gadget", ledger_mod._t("gadget", ("id",), ("name",)))
    conn.execute("BEGIN")
    ledger_mod.insert(conn, None, "gadget", {"name": "мел"})
    conn.execute("COMMIT")
    assert ledger_mod.verify(conn)[0]
    # The next release adds a column; its default is what the older entry implies.
    conn.execute("ALTER TABLE gadget ADD COLUMN colour TEXT")
    monkeypatch.setitem(ledger_mod.TABLES, "gadget",
                        ledger_mod._t("gadget", ("id",), ("name", "colour"), added=(("colour", None),)))
    assert ledger_mod.verify(conn)[0]
    conn.execute("UPDATE gadget SET colour = 'белый'")  # behind the program's back
    ok, message = ledger_mod.verify(conn)
    assert not ok and "gadget:1" in message
    conn.close()
