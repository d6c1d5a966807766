"""Accounts, roles and sessions in SQL. Other areas call these functions, never the SQL."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta

import aiosqlite

from .. import ledger
from ..db import Database
from ..errors import UserError
from ..timeutil import now_text
from .roles import ROLE_LABELS, STORED_ROLES


class AccountError(UserError):
    """A request about accounts that cannot be done; the message is Russian."""


@dataclass(frozen=True)
class User:
    """The person behind a request: account, person, effective roles, session."""

    account_id: int
    person_id: int
    login: str
    last_name: str
    first_name: str
    middle_name: str
    roles: frozenset[str]
    must_change_password: bool = False
    csrf_token: str = ""
    session_hash: str = ""
    kiosk: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def short_name(self) -> str:
        initials = "".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def role_labels(self) -> list[str]:
        return [label for role, label in ROLE_LABELS.items() if role in self.roles]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_USER_COLUMNS = """
       a.id AS account_id, a.login, a.must_change_password, a.disabled_at, a.password_hash,
       p.id AS person_id, p.last_name, p.first_name, p.middle_name,
       (SELECT group_concat(role) FROM account_role r WHERE r.account_id = a.id) AS roles,
       EXISTS (SELECT 1 FROM class c JOIN academic_year y ON y.id = c.year_id
               WHERE c.class_teacher_id = p.id AND c.archived_at IS NULL
                 AND y.status = 'open') AS is_class_teacher
"""
_USER_SQL = "SELECT" + _USER_COLUMNS + " FROM account a JOIN person p ON p.id = a.person_id"


def _roles_of(row: sqlite3.Row) -> frozenset[str]:
    roles = set(filter(None, (row["roles"] or "").split(",")))
    if row["is_class_teacher"]:
        roles.add("class_teacher")
    return frozenset(roles)


def _user(row: sqlite3.Row, **session) -> User:
    return User(
        account_id=row["account_id"],
        person_id=row["person_id"],
        login=row["login"],
        last_name=row["last_name"],
        first_name=row["first_name"],
        middle_name=row["middle_name"],
        roles=_roles_of(row),
        must_change_password=bool(row["must_change_password"]),
        **session,
    )


async def find_account(db: Database, login: str) -> sqlite3.Row | None:
    return await db.fetchone(_USER_SQL + " WHERE a.login = ?", (login,))


async def user_by_account(db: Database, account_id: int) -> User | None:
    row = await db.fetchone(_USER_SQL + " WHERE a.id = ?", (account_id,))
    return _user(row) if row else None


async def account_count(db: Database) -> int:
    return await db.fetchval("SELECT count(*) FROM account")


# --- sessions ---------------------------------------------------------------

async def create_session(db: Database, account_id: int, ip: str, kiosk: bool = False) -> tuple[str, str]:
    """A new session for the account: returns (cookie token, csrf token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = now_text()
    await db.execute_write(
        "INSERT INTO session(token_hash, account_id, csrf_token, created_at, last_seen_at, ip, kiosk)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_hash(token), account_id, csrf, now, now, ip, int(kiosk)),
    )
    return token, csrf


async def session_user(db: Database, token: str, idle: timedelta) -> tuple[User, str] | None:
    """The user of a live session and its last_seen_at, or None (unknown, expired, disabled)."""
    row = await db.fetchone(
        "SELECT s.csrf_token, s.kiosk, s.last_seen_at," + _USER_COLUMNS
        + " FROM session s JOIN account a ON a.id = s.account_id JOIN person p ON p.id = a.person_id"
        " WHERE s.token_hash = ? AND s.last_seen_at > ? AND a.disabled_at IS NULL",
        (token_hash(token), now_text(-idle)),
    )
    if row is None:
        return None
    user = _user(row, csrf_token=row["csrf_token"], session_hash=token_hash(token), kiosk=bool(row["kiosk"]))
    return user, row["last_seen_at"]


async def touch_session(db: Database, session_hash: str) -> None:
    await db.execute_write("UPDATE session SET last_seen_at = ? WHERE token_hash = ?", (now_text(), session_hash))


async def delete_session(db: Database, session_hash: str) -> None:
    await db.execute_write("DELETE FROM session WHERE token_hash = ?", (session_hash,))


async def purge_sessions(db: Database, idle: timedelta) -> int:
    async def run(conn: aiosqlite.Connection) -> int:
        cur = await conn.execute("DELETE FROM session WHERE last_seen_at <= ?", (now_text(-idle),))
        return cur.rowcount

    return await db.write(run)


# --- the login record ---------------------------------------------------------

async def login_key(db: Database, login: str) -> str:
    secret = await db.fetchval("SELECT value FROM setting WHERE key = 'login_key_secret'")
    return hmac.new(secret.encode(), login.strip().lower().encode(), hashlib.sha256).hexdigest()


async def record_login_event(db: Database, key: str, account_id: int | None, ip: str, outcome: str) -> None:
    await db.execute_write(
        "INSERT INTO login_event(at, login_key, account_id, ip, outcome) VALUES (?, ?, ?, ?, ?)",
        (now_text(), key, account_id, ip, outcome),
    )


async def recent_failures(db: Database, key: str, ip: str, window: timedelta) -> tuple[int, int, int]:
    """Failed logins in the window: (this login from this address, this login, this address).

    The first counts only failures since the last success of this login from this address.
    """
    row = await db.fetchone(
        """
        SELECT coalesce(sum(login_key = :key AND ip = :ip AND at > coalesce(
                   (SELECT max(at) FROM login_event
                     WHERE login_key = :key AND ip = :ip AND outcome = 'ok'), '')), 0),
               coalesce(sum(login_key = :key), 0),
               coalesce(sum(ip = :ip), 0)
          FROM login_event
         WHERE at > :since AND outcome IN ('bad_password', 'unknown_login')
           AND (login_key = :key OR ip = :ip)
        """,
        {"key": key, "ip": ip, "since": now_text(-window)},
    )
    return row[0], row[1], row[2]


async def login_events(db: Database, limit: int = 200, failures_only: bool = False) -> list[sqlite3.Row]:
    where = "WHERE e.outcome NOT IN ('ok', 'logout', 'password_changed')" if failures_only else ""
    return await db.fetchall(
        f"""
        SELECT e.at, e.ip, e.outcome, a.login, p.last_name, p.first_name, p.middle_name
          FROM login_event e
          LEFT JOIN account a ON a.id = e.account_id
          LEFT JOIN person p ON p.id = a.person_id
          {where}
         ORDER BY e.id DESC LIMIT ?
        """,
        (limit,),
    )


# --- creating accounts and changing roles ---------------------------------------------
# People, accounts and roles are school data: every change is a ledger entry (server/ledger.py)
# in the caller's transaction, with the acting account (None: the console or the set-up).
# Passwords are not: set_password below changes no ledger state.

def create_person(conn: sqlite3.Connection, actor: int | None, last_name: str, first_name: str,
                  middle_name: str = "", *, sex: str | None = None, birth_date: str | None = None,
                  position: str | None = None, phone: str | None = None, email: str | None = None,
                  reason: str = "") -> int:
    return ledger.insert(conn, actor, "person", {
        "last_name": last_name, "first_name": first_name, "middle_name": middle_name, "sex": sex,
        "birth_date": birth_date, "position": position, "phone": phone, "email": email, "created_at": now_text(),
    }, reason)


def create_account(conn: sqlite3.Connection, actor: int | None, person_id: int, login: str, password_hash: str,
                   roles: frozenset[str] | set[str], must_change_password: bool, reason: str = "") -> int:
    if conn.execute("SELECT 1 FROM account WHERE login = ?", (login,)).fetchone():
        raise AccountError(f"Логин «{login}» уже занят.")
    account_id = ledger.insert(conn, actor, "account", {
        "person_id": person_id, "login": login, "password_hash": password_hash,
        "must_change_password": int(must_change_password), "created_at": now_text(),
    }, reason)
    change_roles(conn, actor, account_id, set(roles), set(roles), reason)
    return account_id


def change_roles(conn: sqlite3.Connection, actor: int | None, account_id: int, roles: set[str],
                 within: set[str] | frozenset[str], reason: str = "") -> None:
    """Of the roles in `within`, the account holds exactly `roles` afterwards: new ones are
    granted, the others revoked (the ledger keeps both); roles it keeps keep their grant date."""
    held = {r[0] for r in conn.execute("SELECT role FROM account_role WHERE account_id = ?", (account_id,))}
    now = now_text()
    for role in sorted(held & set(within) - set(roles)):
        ledger.delete(conn, actor, "account_role", (account_id, role), reason)
    for role in sorted(set(roles) - held):
        ledger.insert(conn, actor, "account_role", {"account_id": account_id, "role": role, "granted_at": now}, reason)


def set_roles(conn: sqlite3.Connection, actor: int | None, login: str, roles: frozenset[str],
              reason: str = "") -> None:
    """The account's stored roles become exactly `roles` (the console's set-roles)."""
    row = conn.execute("SELECT id FROM account WHERE login = ?", (login,)).fetchone()
    if row is None:
        raise AccountError(f"Нет учётной записи с логином «{login}».")
    change_roles(conn, actor, row[0], set(roles), STORED_ROLES, reason)


async def set_password(db: Database, account_id: int, password_hash: str, must_change: bool,
                       keep_session: str | None = None) -> None:
    """Store a new password hash and end the account's other sessions."""

    async def run(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "UPDATE account SET password_hash = ?, must_change_password = ?, password_changed_at = ?"
            " WHERE id = ?",
            (password_hash, int(must_change), now_text(), account_id),
        )
        await conn.execute(
            "DELETE FROM session WHERE account_id = ? AND token_hash IS NOT ?", (account_id, keep_session)
        )

    await db.write(run)


async def rehash_password(db: Database, account_id: int, old_hash: str, new_hash: str) -> None:
    """The same password under new hash settings; nothing else changes. Only if the hash is
    still `old_hash` (a password changed meanwhile stays changed)."""
    await db.execute_write("UPDATE account SET password_hash = ? WHERE id = ? AND password_hash = ?",
                           (new_hash, account_id, old_hash))


async def list_accounts(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall(
        """
        SELECT a.login, a.must_change_password, a.disabled_at, p.last_name, p.first_name, p.middle_name,
               (SELECT group_concat(role, ',') FROM account_role r WHERE r.account_id = a.id) AS roles
          FROM account a JOIN person p ON p.id = a.person_id
         ORDER BY a.login
        """
    )
