"""Accounts, roles, sessions and the login record in SQL. Other areas call these functions,
never the SQL. Each is a plain `def f(conn, …)` run by `Database.read` or `Database.write`.

Sessions, the login record (and credential issues, credentials.py) are not school data: they
stay outside the ledger (server/ledger.py) — not audited, not verified, not sent to the
district. A role granted or an account created is school data and goes through the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta


from .. import ledger
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


def find_account(conn: sqlite3.Connection, login: str) -> sqlite3.Row | None:
    return conn.execute(_USER_SQL + " WHERE a.login = ?", (login,)).fetchone()


def user_by_account(conn: sqlite3.Connection, account_id: int) -> User | None:
    row = conn.execute(_USER_SQL + " WHERE a.id = ?", (account_id,)).fetchone()
    return _user(row) if row else None


def account_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM account").fetchone()[0]


# --- sessions ---------------------------------------------------------------
# Sessions and the login record below are not school data: they stay outside the ledger
# (server/ledger.py), as do credential issues (credentials.py) and messages. A session is
# a key to the door, the login record is itself a log; neither is sent to the district nor
# checked by `zhurnal audit verify`. Their times come from the one clock (server/clock.py),
# so a test moves the clock instead of waiting for a session to go idle.

def create_session(conn: sqlite3.Connection, account_id: int, ip: str, kiosk: bool = False) -> tuple[str, str]:
    """A new session for the account: returns (cookie token, csrf token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = now_text()
    conn.execute(
        "INSERT INTO session(token_hash, account_id, csrf_token, created_at, last_seen_at, ip, kiosk)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_hash(token), account_id, csrf, now, now, ip, int(kiosk)),
    )
    return token, csrf


def start_session(conn: sqlite3.Connection, account_id: int, ip: str, idle: timedelta,
                  kiosk: bool = False) -> tuple[str, str]:
    """Old sessions go, a new one comes, in one transaction: (cookie token, csrf token).
    Purging when someone logs in is cheap, and no timer is needed for it."""
    purge_sessions(conn, idle)
    return create_session(conn, account_id, ip, kiosk)


_SESSION_SQL = (
    "SELECT s.csrf_token, s.kiosk, s.last_seen_at," + _USER_COLUMNS
    + " FROM session s JOIN account a ON a.id = s.account_id JOIN person p ON p.id = a.person_id"
    " WHERE s.token_hash = ? AND s.last_seen_at > ? AND a.disabled_at IS NULL"
)


def session_user(conn: sqlite3.Connection, token: str, idle: timedelta) -> tuple[User, str] | None:
    """The user of a live session and its last_seen_at, or None (unknown, expired, disabled)."""
    hashed = token_hash(token)
    row = conn.execute(_SESSION_SQL, (hashed, now_text(-idle))).fetchone()
    if row is None:
        return None
    user = _user(row, csrf_token=row["csrf_token"], session_hash=hashed, kiosk=bool(row["kiosk"]))
    return user, row["last_seen_at"]


def touch_session(conn: sqlite3.Connection, session_hash: str) -> None:
    conn.execute("UPDATE session SET last_seen_at = ? WHERE token_hash = ?", (now_text(), session_hash))


def delete_session(conn: sqlite3.Connection, session_hash: str) -> None:
    conn.execute("DELETE FROM session WHERE token_hash = ?", (session_hash,))


def end_session(conn: sqlite3.Connection, user: User, ip: str) -> None:
    """Logging out: the session goes and the login record says so, in one transaction."""
    delete_session(conn, user.session_hash)
    record_login_event(conn, login_key(conn, user.login), user.account_id, ip, "logout")


def purge_sessions(conn: sqlite3.Connection, idle: timedelta) -> int:
    return conn.execute("DELETE FROM session WHERE last_seen_at <= ?", (now_text(-idle),)).rowcount


# --- the login record ---------------------------------------------------------

def login_key(conn: sqlite3.Connection, login: str) -> str:
    secret = conn.execute("SELECT value FROM setting WHERE key = 'login_key_secret'").fetchone()[0]
    return hmac.new(secret.encode(), login.strip().lower().encode(), hashlib.sha256).hexdigest()


def record_login_event(conn: sqlite3.Connection, key: str, account_id: int | None, ip: str, outcome: str) -> None:
    conn.execute(
        "INSERT INTO login_event(at, login_key, account_id, ip, outcome) VALUES (?, ?, ?, ?, ?)",
        (now_text(), key, account_id, ip, outcome),
    )


def recent_failures(conn: sqlite3.Connection, key: str, ip: str, window: timedelta) -> tuple[int, int, int]:
    """Failed logins in the window: (this login from this address, this login, this address).

    The first counts only failures since the last success of this login from this address.
    """
    row = conn.execute(
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
    ).fetchone()
    return row[0], row[1], row[2]


def failed_logins(conn: sqlite3.Connection, since: timedelta) -> int:
    """Failed and throttled logins in the last `since` (the administration's home page)."""
    return conn.execute(
        "SELECT count(*) FROM login_event WHERE outcome IN ('bad_password', 'unknown_login', 'throttled')"
        " AND at > ?", (now_text(-since),)).fetchone()[0]


def login_events(conn: sqlite3.Connection, limit: int = 200, failures_only: bool = False) -> list[sqlite3.Row]:
    where = "WHERE e.outcome NOT IN ('ok', 'logout', 'password_changed')" if failures_only else ""
    return conn.execute(
        f"""
        SELECT e.at, e.ip, e.outcome, a.login, p.last_name, p.first_name, p.middle_name
          FROM login_event e
          LEFT JOIN account a ON a.id = e.account_id
          LEFT JOIN person p ON p.id = a.person_id
          {where}
         ORDER BY e.id DESC LIMIT ?
        """,
        (limit,),
    ).fetchall()


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


def set_password(conn: sqlite3.Connection, account_id: int, password_hash: str, must_change: bool,
                 keep_session: str | None = None) -> None:
    """Store a new password hash and end the account's other sessions."""
    conn.execute(
        "UPDATE account SET password_hash = ?, must_change_password = ?, password_changed_at = ?"
        " WHERE id = ?",
        (password_hash, int(must_change), now_text(), account_id),
    )
    conn.execute("DELETE FROM session WHERE account_id = ? AND token_hash IS NOT ?", (account_id, keep_session))


def rehash_password(conn: sqlite3.Connection, account_id: int, old_hash: str, new_hash: str) -> None:
    """The same password under new hash settings; nothing else changes. Only if the hash is
    still `old_hash` (a password changed meanwhile stays changed)."""
    conn.execute("UPDATE account SET password_hash = ? WHERE id = ? AND password_hash = ?",
                 (new_hash, account_id, old_hash))


def list_accounts(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        """
        SELECT a.login, a.must_change_password, a.disabled_at, a.password_hash <> '' AS has_password,
               p.last_name, p.first_name, p.middle_name,
               (SELECT group_concat(role, ',') FROM account_role r WHERE r.account_id = a.id) AS roles
          FROM account a JOIN person p ON p.id = a.person_id
         ORDER BY a.login
        """
    ).fetchall()
