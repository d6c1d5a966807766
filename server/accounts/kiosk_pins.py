"""Kiosk PINs: the first login of a family with no device at home (issue 16).

A one-time password is refused at the hall kiosk (server/kiosk.py): choosing one's own password
on a screen in the hall is not private. A family whose only access is that kiosk gets a PIN
slip from the class teacher instead: eight digits that open only kiosk sessions — the diary
read-only, messages to read, a session that ends after kiosk_idle_seconds without a touch. The
PIN never needs changing: it is not a password of the person's choosing, it works nowhere
else (not at /login, not in the API), and the slip stays with the family like a door key.
Issuing a new PIN replaces the old one and ends the account's kiosk sessions.

The rules of who may issue to whom are the credentials' (credentials.check_issue: the class
teacher to their own class's families, the deputy and the sysadmin to any family); staff get
no PIN — the kiosk is for families. Like a password, the PIN exists only in the one response
that shows the sheet; the database keeps its Argon2 hash and credential_issue who issued it."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3

from litestar import Request, Response, post
from litestar.params import FromPath

from ..netinfo import server_urls
from ..school import store as school
from ..timeutil import now_text
from ..web.access import current_user
from ..web.templating import page
from . import credentials
from .credentials import CredentialRefused, Slip, Target, _class_or_refuse, _class_page, _person_ids
from .passwords import hash_password_async

log = logging.getLogger("zhurnal.credentials")
PIN_DIGITS = 8


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def _store_pins(conn: sqlite3.Connection, plan: list[tuple[int, str]], by_account: int) -> None:
    now = now_text()
    cur = conn.executemany("UPDATE account SET kiosk_pin_hash = ? WHERE id = ? AND disabled_at IS NULL",
                           [(h, account_id) for account_id, h in plan])
    if cur.rowcount != len(plan):
        raise CredentialRefused("Пока готовились ПИН-коды, одну из учётных записей отключили. Повторите выдачу.",
                                status_code=409)
    conn.executemany("INSERT INTO credential_issue(account_id, issued_by, issued_at) VALUES (?, ?, ?)",
                     [(account_id, by_account, now) for account_id, _ in plan])
    # The old slip's PIN opens nothing any more, and neither does a kiosk session started with it.
    conn.execute("DELETE FROM session WHERE kiosk = 1 AND account_id IN (SELECT value FROM json_each(?))",
                 (json.dumps([a for a, _ in plan]),))


async def issue_pins(db, user, targets: list[Target]) -> list[Slip]:
    """New kiosk PINs for `targets` (checked by credentials.check_issue), in one transaction."""
    staff = next((t for t in targets if not t.family_only), None)
    if staff is not None:
        raise CredentialRefused(f"{staff.name} — сотрудник школы: на киоске входят только родители и учащиеся.",
                                status_code=403)
    targets = sorted(targets, key=Target.sort_key)
    pins = [new_pin() for _ in targets]
    hashes = [await hash_password_async(p) for p in pins]
    await db.write(_store_pins, [(t.account_id, h) for t, h in zip(targets, hashes)], user.account_id)
    log.info("Выданы ПИН-коды для киоска: %d уч. записей, выдал account_id=%d", len(targets), user.account_id)
    return [Slip(t.person_id, t.name, t.role_line(), t.login, p, t.no_consent, True) for t, p in zip(targets, pins)]


@post("/classes/{class_id:int}/kiosk-pins", opt=credentials.ISSUERS)
async def class_kiosk_pins(request: Request, class_id: FromPath[int]) -> Response:
    """The class teacher's PIN slips for the families marked on the credentials page."""
    info = await _class_or_refuse(request, class_id)
    db, user = request.app.state.db, current_user(request)
    ids: list[int] = []
    try:
        ids = await _person_ids(request)
        targets = await credentials.check_issue(db, user, ids, lambda t: class_id in {r["class_id"] for r in t.links})
        slips = await issue_pins(db, user, targets)
    except CredentialRefused as e:
        if e.status_code in (403, 404):
            raise
        return await _class_page(request, info, e.message, set(ids), e.status_code)
    school_row = await db.read(school.school)
    shown, _ = credentials.sheet_addresses(server_urls(request.app.state.settings))
    pages = [slips[i:i + credentials.SLIPS_PER_PAGE] for i in range(0, len(slips), credentials.SLIPS_PER_PAGE)]
    return page("credentials/pin_sheet.html", pages=pages, count=len(slips), school_name=school_row["name"] if school_row
                else "", issued_on=now_text(), back=f"/classes/{class_id}/credentials",
                no_consent=[s for s in slips if s.no_consent], addresses=shown)


ROUTES = [class_kiosk_pins]
