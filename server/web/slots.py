"""Page slots: at most PAGE_SLOTS of the heavy pages (the grid, the diary's week, grades and
attendance) are being built at once in a process; the others wait their turn in order.

After the bell 300 parents' diaries and 30 teachers' grade saves arrive together. Without a
bound every page starts at once, each takes a read connection and a share of the one core,
and a save (or a 304, or a login) waits behind all of them: its p95 was seconds. With a
bound, pages wait on a semaphore — which costs nothing — and whatever is not a page goes
ahead: saves, revalidations answered 304 (checked before a slot is taken), the session
check, static files. Three: enough to keep the read connections and the core busy while a
page waits on SQLite, few enough that a save finds a read connection free.

The bound covers reading the page's data and building its rows (where its CPU goes); the
template is rendered after the handler returns, outside the slot.
"""

from __future__ import annotations

import asyncio

from litestar import Request

PAGE_SLOTS = 3


def page_slot(request: Request) -> asyncio.Semaphore:
    """The process's semaphore (made in the running loop on first use)."""
    state = request.app.state
    slots = state.get("page_slots")
    if slots is None:
        slots = state.page_slots = asyncio.Semaphore(PAGE_SLOTS)
    return slots
