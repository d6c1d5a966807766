"""Logging in: password check, throttling, consent, and the login record."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import replace
from datetime import timedelta

from ..config import Settings
from ..db import Database
from ..errors import UserError
from . import store
from .passwords import burn_time, hash_password_async, needs_rehash, verify_password_async
from .store import User

MAX_LOGIN_LENGTH = 64
MAX_PASSWORD_LENGTH = 128


class LoginRefused(UserError):
    """Login refused; `message` is Russian and safe to show (it never says which part was wrong)."""

    status_code = 401


BAD_CREDENTIALS = "Неверный логин или пароль."
# Every "wrong login or password" answer takes at least this long. burn_time makes an unknown
# login cost one Argon2 verification, but hashes of older settings (m=19 MiB, t=2, kept until
# their owner next logs in) cost twice as much: without a common floor, timing would tell
# which logins (made from names) exist. Above an old hash's cost on a Raspberry Pi.
REFUSAL_FLOOR_S = 0.3


async def authenticate(db: Database, settings: Settings, login: str, password: str, ip: str,
                       kiosk: bool = False) -> User:
    """The user for login+password, or LoginRefused. Every attempt is recorded.

    Throttling counts failures three ways: this login from this address (a typo-prone
    parent at the hall kiosk locks only themselves), this login from anywhere (guessing
    one teacher's password from many machines), and this address for any login
    (trying many accounts). The last limit is high so one kiosk cannot lock out a class.
    """
    started = time.monotonic()
    try:
        return await _authenticate(db, settings, login, password, ip, kiosk)
    except LoginRefused as e:
        if e.message == BAD_CREDENTIALS:
            await asyncio.sleep(max(0.0, REFUSAL_FLOOR_S - (time.monotonic() - started)))
        raise


def _look_up(conn: sqlite3.Connection, login: str, ip: str, window: timedelta):
    """What a login attempt needs, in one snapshot: (login key, recent failures, account row,
    consent recorded for a parent, the account's kiosk PIN hash)."""
    key = store.login_key(conn, login)
    failures = store.recent_failures(conn, key, ip, window)
    row = store.find_account(conn, login)
    consent = has_consent(conn, row["person_id"]) if row is not None else False
    pin = conn.execute("SELECT kiosk_pin_hash FROM account WHERE id = ?",
                       (row["account_id"],)).fetchone()[0] if row is not None else None
    return key, failures, row, consent, pin


async def _authenticate(db: Database, settings: Settings, login: str, password: str, ip: str,
                        kiosk: bool) -> User:
    login = (login or "").strip()
    password = password or ""
    if not login or not password:
        raise LoginRefused("Введите логин и пароль.", status_code=400)
    if len(login) > MAX_LOGIN_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise LoginRefused(BAD_CREDENTIALS)

    window = _window(settings)
    key, failures, row, consent, pin = await db.read(_look_up, login, ip, window)
    await _refuse_if_too_many(db, settings, key, ip, failures)

    if row is None:
        await burn_time()
        await db.write(store.record_login_event, key, None, ip, "unknown_login")
        raise LoginRefused(BAD_CREDENTIALS)
    # At the hall kiosk a family may log in with its kiosk PIN instead (server/accounts/kiosk_pins.py).
    by_pin = False
    if not row["password_hash"] or not await verify_password_async(row["password_hash"], password):
        by_pin = bool(kiosk and pin) and await verify_password_async(pin, password)
        if not by_pin:
            if not row["password_hash"] and not (kiosk and pin):
                # No credentials issued yet: as slow as an unknown login, or timing tells that the
                # person (logins are made from names) is at the school.
                await burn_time()
            await db.write(store.record_login_event, key, row["account_id"], ip, "bad_password")
            raise LoginRefused(BAD_CREDENTIALS)
    # The requests of a parallel burst all passed the check above before any of their failures
    # was recorded (Argon2 queues behind two slots): look again before accepting a right guess.
    await refuse_if_throttled(db, settings, key, ip)
    if row["disabled_at"]:
        await db.write(store.record_login_event, key, row["account_id"], ip, "disabled")
        raise LoginRefused("Учётная запись отключена. Обратитесь к администратору школы.", status_code=403)

    user = store._user(row)
    if kiosk and not (user.roles & {"parent", "student"} and not user.roles - {"parent", "student"}):
        await db.write(store.record_login_event, key, row["account_id"], ip, "disabled")
        raise LoginRefused("На киоске входят только родители и учащиеся. Сотрудники входят со своего компьютера.", status_code=403)
    if user.roles == frozenset({"parent"}) and not consent:
        # §4.1.1: without the parent's consent the school may not show the child's data.
        await db.write(store.record_login_event, key, row["account_id"], ip, "no_consent")
        raise LoginRefused(
            "Согласие на обработку персональных данных ещё не оформлено. "
            "Обратитесь к классному руководителю.",
            status_code=403,
        )
    if by_pin:
        # The PIN is not a one-time password: nothing to change, at the kiosk or anywhere.
        await db.write(store.record_login_event, key, row["account_id"], ip, "ok")
        return replace(user, must_change_password=False)
    if needs_rehash(row["password_hash"]):
        # A hash from an older version's Argon2 settings: store it again with today's. Same
        # password, same "must change" flag, sessions kept.
        await db.write(store.rehash_password, row["account_id"], row["password_hash"],
                       await hash_password_async(password))
    await db.write(store.record_login_event, key, row["account_id"], ip, "ok")
    return user


def _window(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.login_window_minutes)


async def refuse_if_throttled(db: Database, settings: Settings, key: str, ip: str) -> None:
    """LoginRefused (429) when this login or this address has failed too often lately."""
    failures = await db.read(store.recent_failures, key, ip, _window(settings))
    await _refuse_if_too_many(db, settings, key, ip, failures)


async def _refuse_if_too_many(db: Database, settings: Settings, key: str, ip: str,
                              failures: tuple[int, int, int]) -> None:
    pair, per_login, per_ip = failures
    if (pair >= settings.login_max_failures_account_address
            or per_login >= settings.login_max_failures_account
            or per_ip >= settings.login_max_failures_address):
        await db.write(store.record_login_event, key, None, ip, "throttled")
        raise LoginRefused(
            "Слишком много неудачных попыток входа. Подождите "
            f"{settings.login_window_minutes} минут и попробуйте снова "
            "или обратитесь к администратору.",
            status_code=429,
        )


def has_consent(conn: sqlite3.Connection, parent_person_id: int) -> bool:
    """A parent may log in once a child's consent is recorded (§4.1.1)."""
    return conn.execute("SELECT 1 FROM guardian WHERE parent_id = ? AND consent_at IS NOT NULL LIMIT 1",
                        (parent_person_id,)).fetchone() is not None
