"""Conditional GET for the pages read most (the grid, the diary week, grades, attendance).

A page carries an ETag built from what it was made of: the ledger's position (the last
entry's id and feed epoch — every change of school data is an entry, server/ledger.py, and
a restore from a backup starts a new epoch), the menu's unread-messages count (messages are
outside the ledger), the session and the account, today's date, the URL with its query, the
htmx header, the program's version and the settings. A browser revalidating with the same
tag gets 304 Not Modified before anything is read or rendered.

The position is the whole ledger's, not the journal's or the student's alone: any change
anywhere makes a fresh page. Coarser than it could be, but right by construction — no page
can show data newer than its tag (the position is read before the page), and there is no
per-journal counter to keep up on the hot write path. The session is in the tag, so another
user (or the same one after logging in again) never gets a 304 for someone else's copy.

Caching: these pages say `Cache-Control: private, no-cache` (a browser may keep the copy
but must ask every time; no proxy keeps it) instead of the `no-store` of every other page —
without a stored copy there is nothing to revalidate. The hall kiosk's sessions keep
`no-store` and get no tag: nothing of a child's stays on the shared screen's disk.
"""

from __future__ import annotations

import hashlib
import sqlite3

from litestar import Request, Response

from .. import __version__, clock

CACHE_CONTROL = "private, no-cache"


def ledger_position(conn: sqlite3.Connection) -> tuple[int, int]:
    """The last ledger entry's (id, epoch): one step down the primary key."""
    row = conn.execute("SELECT id, epoch_id FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1] or 0) if row else (0, 0)


def _settings_mark(request: Request) -> str:
    app_state = request.app.state
    mark = app_state.get("settings_mark")
    if mark is None:
        mark = hashlib.sha256(repr(app_state.settings).encode()).hexdigest()[:12]
        app_state.settings_mark = mark
    return mark


async def etag(request: Request) -> str | None:
    """The tag of the page this request would get now; None when it must not have one."""
    user = request.state.get("user") if "user" in request.state else None
    if user is None or user.kiosk:
        return None
    if "ledger_position" not in request.state:
        request.state.ledger_position = await request.app.state.db.read(ledger_position)
    entry, epoch = request.state.ledger_position
    unread = request.state.unread_messages if "unread_messages" in request.state else -1
    text = "|".join(map(str, (
        entry, epoch, unread, user.account_id, user.session_hash, clock.today().isoformat(), request.url.path,
        request.url.query, request.headers.get("hx-request", ""), __version__, _settings_mark(request))))
    return 'W/"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def fresh(request: Request, tag: str | None) -> bool:
    """The browser's copy (If-None-Match) is this tag."""
    if tag is None:
        return False
    sent = request.headers.get("if-none-match")
    if not sent:
        return False
    bare = tag[2:]
    return any(t.strip().removeprefix("W/") == bare for t in sent.split(","))


def not_modified(tag: str) -> Response:
    return Response(content=b"", status_code=304, headers={"etag": tag, "cache-control": CACHE_CONTROL})


def tagged(response: Response, tag: str | None) -> Response:
    """The rendered page with its tag (and the caching that lets a browser revalidate it)."""
    if tag is not None and response.status_code == 200:
        response.headers["etag"] = tag
        response.headers["cache-control"] = CACHE_CONTROL
    return response
