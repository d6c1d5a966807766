"""Issuing credentials (§2.3): one-time passwords and a printable A4 sheet of cut-out slips.

Who may issue to whom: the deputy to staff and to any family, the sysadmin to anyone
(recovery), a class teacher to the students of their own class and to those students'
parents — and only to accounts that are nothing but family, so that a class teacher can
never reset a colleague's account who happens to be a parent in the class.

A password exists only in the one response that shows the sheet (or the API answer): the
database gets its Argon2 hash, the record gets who issued whose credentials when. That
record (credential_issue) is itself a log and stays outside the ledger, like sessions.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field

import anyio
import msgspec
import segno
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody
from markupsafe import Markup

from .. import clock
from ..db import Database
from ..errors import Forbidden, NotFound, UserError
from ..netinfo import server_urls
from ..school import people
from ..school import store as school
from ..timeutil import now_text
from ..web.access import current_user
from ..web.forms import form_list
from ..web.templating import page
from .passwords import hash_password_async, one_time_password
from .roles import FAMILY, ROLE_LABELS
from .store import User

log = logging.getLogger("zhurnal.credentials")

# The deputy issues to staff and families, the sysadmin to anyone (recovery); a class
# teacher to their own class (checked per row below). The director does not issue.
ISSUERS = {"roles": {"deputy", "sysadmin", "class_teacher"}}
STAFF_ISSUERS = {"roles": {"deputy", "sysadmin"}}
ADMIN_ISSUERS = ("deputy", "sysadmin")
STAFF_ROLES = frozenset({"director", "deputy", "sysadmin", "teacher", "staff"})

# A whole class with its parents is under a hundred; the cap bounds the Argon2 work
# (and memory) one request can cause. Hashing shares the server's two Argon2 slots.
MAX_PER_SHEET = 300
SLIPS_PER_PAGE = 8  # 2 columns × 4 rows on A4; see the @media print rules in zhurnal.css

# An enrolment that has not ended: today's class and, during a move, the next one too.
# :today is the school's date from the one clock (server/clock.py).
_NOT_ENDED = "(e.to_date IS NULL OR e.to_date >= :today)"


class CredentialRefused(UserError):
    """Issuing refused as a whole; nothing was changed. The message is Russian."""

    status_code = 403


@dataclass
class Target:
    """A person credentials may be issued to, with what decides whether they may."""

    person_id: int
    account_id: int
    login: str
    last_name: str
    first_name: str
    middle_name: str
    sex: str | None
    position: str | None
    archived_at: str | None
    disabled_at: str | None
    left_on: str | None
    has_password: bool
    last_issued_at: str | None
    roles: frozenset[str]
    # (kind, child's name or '', consent_at, class_id, class name, class is open)
    links: list[sqlite3.Row] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def open_class_ids(self) -> set[int]:
        return {r["class_id"] for r in self.links if r["class_id"] is not None and r["class_open"]}

    @property
    def family_only(self) -> bool:
        return self.roles <= FAMILY

    @property
    def no_consent(self) -> bool:
        """A parent who cannot log in yet: no child's consent recorded (same rule as auth.py)."""
        return self.roles == frozenset({"parent"}) and not any(
            r["consent_at"] for r in self.links if r["kind"] == "parent")

    def role_line(self) -> str:
        """Who this is, as the slip says it: «родитель: Абрамова Майя, 5А»."""
        parts = []
        if self.roles & STAFF_ROLES:
            parts.append(self.position or ", ".join(ROLE_LABELS[r].lower() for r in ROLE_LABELS
                                                     if r in self.roles and r in STAFF_ROLES))
        if "student" in self.roles:
            classes = sorted({r["class_name"] for r in self.links if r["kind"] == "student" and r["class_name"]})
            parts.append(("учащаяся" if self.sex == "ж" else "учащийся") + "".join(f", {c}" for c in classes))
        if "parent" in self.roles:
            children = [f"{r['child_last']} {r['child_first']}" + (f", {r['class_name']}" if r["class_name"] else "")
                        for r in self.links if r["kind"] == "parent"]
            parts.append("родитель: " + "; ".join(dict.fromkeys(children)) if children else "родитель")
        return "; ".join(parts)

    def sort_key(self) -> tuple:
        # Families together on the sheet: a student, then their parents.
        for r in self.links:
            if r["kind"] == "parent":
                return (r["class_name"] or "", r["child_last"], r["child_first"], 1, self.last_name, self.first_name)
        cls = next((r["class_name"] for r in self.links if r["kind"] == "student"), "") or ""
        return (cls, self.last_name, self.first_name, 0, "", "")


# --- reading ----------------------------------------------------------------------------
# The people and family links of a set of persons, in two set-based queries. They read
# the school area's tables directly because the check and the slip need the same rows
# for any set of ids (a sheet, an API call); people.py answers per class or per list.

_TARGETS_SQL = """
SELECT p.id AS person_id, p.last_name, p.first_name, p.middle_name, p.sex, p.position, p.archived_at,
       a.id AS account_id, a.login, a.disabled_at, a.password_hash <> '' AS has_password,
       (SELECT left_on FROM student s WHERE s.person_id = p.id) AS left_on,
       (SELECT group_concat(role) FROM account_role r WHERE r.account_id = a.id) AS roles,
       (SELECT max(issued_at) FROM credential_issue ci WHERE ci.account_id = a.id) AS last_issued_at
  FROM person p JOIN account a ON a.person_id = p.id
 WHERE p.id IN (SELECT value FROM json_each(:ids))
"""
_LINKS_SQL = f"""
SELECT e.student_id AS person_id, 'student' AS kind, NULL AS child_last, NULL AS child_first,
       NULL AS consent_at, c.id AS class_id, c.parallel || c.letter AS class_name,
       (c.archived_at IS NULL AND y.status = 'open') AS class_open
  FROM enrollment e JOIN class c ON c.id = e.class_id JOIN academic_year y ON y.id = c.year_id
 WHERE e.student_id IN (SELECT value FROM json_each(:ids)) AND {_NOT_ENDED}
UNION ALL
SELECT g.parent_id, 'parent', s.last_name, s.first_name, g.consent_at, c.id, c.parallel || c.letter,
       (c.archived_at IS NULL AND y.status = 'open')
  FROM guardian g JOIN person s ON s.id = g.student_id
  LEFT JOIN enrollment e ON e.student_id = g.student_id AND {_NOT_ENDED}
  LEFT JOIN class c ON c.id = e.class_id
  LEFT JOIN academic_year y ON y.id = c.year_id
 WHERE g.parent_id IN (SELECT value FROM json_each(:ids))
"""


def load_targets(conn: sqlite3.Connection, person_ids: list[int], today: str) -> dict[int, Target]:
    """The people with their accounts and family links, as of `today` (ISO date)."""
    ids = json.dumps(sorted(set(person_ids)))
    rows = conn.execute(_TARGETS_SQL, {"ids": ids}).fetchall()
    links = conn.execute(_LINKS_SQL, {"ids": ids, "today": today}).fetchall()
    targets = {}
    for r in rows:
        roles = frozenset(filter(None, (r["roles"] or "").split(",")))
        targets[r["person_id"]] = Target(
            person_id=r["person_id"], account_id=r["account_id"], login=r["login"], last_name=r["last_name"],
            first_name=r["first_name"], middle_name=r["middle_name"], sex=r["sex"], position=r["position"],
            archived_at=r["archived_at"], disabled_at=r["disabled_at"], left_on=r["left_on"],
            has_password=bool(r["has_password"]), last_issued_at=r["last_issued_at"], roles=roles)
    for link in links:
        if link["person_id"] in targets:
            targets[link["person_id"]].links.append(link)
    return targets


async def my_class_ids(db: Database, user: User) -> set[int]:
    """The classes (open year) whose class teacher the user is."""
    if "class_teacher" not in user.roles:
        return set()
    return {c["id"] for c in await db.read(school.classes_of_class_teacher, user.person_id)}


def last_issues(conn: sqlite3.Connection) -> dict[int, str]:
    """When each account last got credentials: account id → time."""
    return {r["account_id"]: r["at"] for r in conn.execute(
        "SELECT account_id, max(issued_at) AS at FROM credential_issue GROUP BY account_id")}


# --- the rules ----------------------------------------------------------------------------

def refusal(user: User, target: Target, my_classes: set[int]) -> str | None:
    """Why `user` may not issue credentials to `target` (a 403), or None."""
    if target.roles & {"director", "deputy", "sysadmin"} and target.person_id != user.person_id:
        # A one-time password for the administration would be a way to take over its
        # account; those are reset by the person themselves or at the server's console.
        return (f"{target.name} — член администрации школы: пароль меняется самим человеком "
                "или на консоли сервера (zhurnal user reset-password).")
    if user.has(*ADMIN_ISSUERS):
        return None
    in_my_class = bool(target.open_class_ids & my_classes)
    if in_my_class and target.family_only:
        return None
    if in_my_class:
        # A parent who is also on the staff: their account opens the journal too.
        return (f"{target.name} — сотрудник школы: реквизиты доступа сотрудникам выдаёт "
                "заместитель директора (п. 2.3 Регламента).")
    return "Классный руководитель выдаёт доступ только учащимся своего класса и их родителям (п. 2.3 Регламента)."


def conflict(user: User, target: Target) -> str | None:
    """Why this account cannot get credentials now (a 409), or None."""
    if target.person_id == user.person_id:
        return "Свой пароль меняйте на странице «Сменить пароль»."
    if target.disabled_at or target.archived_at:
        # Disabled on purpose (a student who left, a teacher who quit): issuing must not
        # quietly bring the account back.
        why = " — учащийся выбыл из школы" if target.left_on else ""
        return (f"Учётная запись «{target.name}» отключена{why}. Доступ не выдаётся; "
                "если человек вернулся, сначала восстановите его в школе.")
    return None


async def check_issue(db: Database, user: User, person_ids: list[int], in_scope) -> list[Target]:
    """The targets of an issue request, or CredentialRefused naming the first problem.

    `in_scope(target)` is the page's own list (this class, the staff): ids from elsewhere
    are refused even for the administration, so a page never issues more than it shows.
    """
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        raise CredentialRefused("Отметьте хотя бы одного человека.", status_code=400)
    if len(ids) > MAX_PER_SHEET:
        raise CredentialRefused(f"За один раз можно выдать доступ не больше чем {MAX_PER_SHEET} людям.", status_code=400)
    targets = await db.read(load_targets, ids, clock.today().isoformat())
    missing = [i for i in ids if i not in targets]
    if missing:
        raise CredentialRefused("Нет такого человека (возможно, список устарел — обновите страницу).", status_code=404)
    my_classes = await my_class_ids(db, user)
    chosen = [targets[i] for i in ids]
    for t in chosen:
        if in_scope is not None and not in_scope(t):
            raise CredentialRefused(f"{t.name} — не из этого списка.", status_code=403)
        if (why := refusal(user, t, my_classes)) is not None:
            raise CredentialRefused(why, status_code=403)
    for t in chosen:
        if (why := conflict(user, t)) is not None:
            raise CredentialRefused(why, status_code=409)
    return chosen


# --- issuing ----------------------------------------------------------------------------

@dataclass
class Slip:
    person_id: int
    name: str
    role_line: str
    login: str
    password: str
    no_consent: bool
    family: bool


async def _hash_all(passwords: list[str]) -> list[str]:
    hashes: list[str] = [""] * len(passwords)

    async def one(i: int) -> None:
        hashes[i] = await hash_password_async(passwords[i])  # shares the server's Argon2 slots

    async with anyio.create_task_group() as tg:
        for i in range(len(passwords)):
            tg.start_soon(one, i)
    return hashes


def _store_issue(conn: sqlite3.Connection, plan: list[tuple[int, str]], by_account: int) -> None:
    now = now_text()
    cur = conn.executemany(
        "UPDATE account SET password_hash = ?, must_change_password = 1, password_changed_at = ?"
        " WHERE id = ? AND disabled_at IS NULL",
        [(h, now, account_id) for account_id, h in plan],
    )
    if cur.rowcount != len(plan):
        # Disabled while the passwords were being hashed: give out nothing.
        raise CredentialRefused("Пока готовились пароли, одну из учётных записей отключили. Повторите выдачу.", status_code=409)
    conn.executemany(
        "INSERT INTO credential_issue(account_id, issued_by, issued_at) VALUES (?, ?, ?)",
        [(account_id, by_account, now) for account_id, _ in plan],
    )
    # A new password ends every session of the old one (someone may have had the old slip).
    conn.execute("DELETE FROM session WHERE account_id IN (SELECT value FROM json_each(?))",
                 (json.dumps([a for a, _ in plan]),))


async def issue(db: Database, user: User, targets: list[Target]) -> list[Slip]:
    """New one-time passwords for `targets` (already checked), stored in one transaction."""
    targets = sorted(targets, key=Target.sort_key)
    passwords = [one_time_password() for _ in targets]
    hashes = await _hash_all(passwords)
    await db.write(_store_issue, [(t.account_id, h) for t, h in zip(targets, hashes)], user.account_id)
    # Counts and ids only: no names, logins or passwords in the log.
    log.info("Выданы реквизиты доступа: %d уч. записей, выдал account_id=%d", len(targets), user.account_id)
    return [Slip(t.person_id, t.name, t.role_line(), t.login, p, t.no_consent, t.family_only)
            for t, p in zip(targets, passwords)]


# --- the sheet ------------------------------------------------------------------------------

def sheet_addresses(urls: list[str]) -> tuple[list[str], str]:
    """What the slip prints (the first address, plus an IP one) and what its QR code holds.

    The QR code holds the IP address when there is one: it is scanned by phones, and many
    Android phones do not resolve .local names; the printed .local name stays readable.
    """
    first = urls[0]
    ip = next((u for u in urls if not u.split("//", 1)[-1].split(":")[0].endswith(".local")), None)
    shown = [first] + ([ip] if ip and ip != first else [])
    return shown, ip or first


def qr_svg(url: str) -> Markup:
    # Inline SVG with a viewBox (so CSS sizes it) and no style attributes (the CSP).
    return Markup(segno.make(url, error="m", micro=False).svg_inline(border=2, omitsize=True, svgclass="qr",
                                                                    lineclass=None))


async def sheet(request: Request, slips: list[Slip], back: str) -> Response:
    shown, qr_url = sheet_addresses(server_urls(request.app.state.settings))
    school_row = await request.app.state.db.read(school.school)
    return page(
        "credentials/sheet.html",
        pages=[slips[i:i + SLIPS_PER_PAGE] for i in range(0, len(slips), SLIPS_PER_PAGE)],
        count=len(slips), no_consent=[s for s in slips if s.no_consent], addresses=shown, qr_url=qr_url,
        qr=qr_svg(qr_url), school_name=school_row["name"] if school_row else "", issued_on=now_text(), back=back,
    )


async def _person_ids(request: Request) -> list[int]:
    try:
        return [int(v) for v in await form_list(request, "person_id")]
    except ValueError:
        raise CredentialRefused("Неверный номер человека в запросе.", status_code=400) from None


async def _issue_from_page(request: Request, in_scope, back: str, again) -> Response:
    """The form's POST: the sheet, or a refusal (403/404 as error pages, the rest on the list)."""
    db, user = request.app.state.db, current_user(request)
    ids: list[int] = []
    try:
        ids = await _person_ids(request)
        slips = await issue(db, user, await check_issue(db, user, ids, in_scope))
    except CredentialRefused as e:
        if e.status_code in (403, 404):
            raise  # the error page (server/web/errors.py)
        return await again(e.message, set(ids), e.status_code)
    return await sheet(request, slips, back)


# --- a class's students and parents (the class teacher, §2.3) --------------------------------

async def _class_or_refuse(request: Request, class_id: int):
    user = current_user(request)
    db = request.app.state.db
    info = await db.read(school.class_info, class_id)
    if info is None:
        raise NotFound("Такого класса нет.")
    if not user.has(*ADMIN_ISSUERS) and class_id not in await my_class_ids(db, user):
        raise Forbidden("Это не ваш класс: доступ родителям и учащимся выдаёт их классный руководитель.")
    return info


async def class_rows(db: Database, class_id: int, only_new: bool) -> list[dict]:
    """The class's students, each followed by their parents, for the list with checkboxes."""
    families = await db.read(people.class_families, class_id)
    ids = {r["student_id"] for r in families} | {r["parent_id"] for r in families if r["parent_id"]}
    targets = await db.read(load_targets, list(ids), clock.today().isoformat())
    rows, seen = [], set()
    for r in families:
        if r["student_id"] not in targets:  # every person has an account; a row without one is skipped
            continue
        if r["student_id"] not in seen:
            seen.add(r["student_id"])
            student = targets[r["student_id"]]
            rows.append({"t": student, "kind": "student", "relation": "учащаяся" if student.sex == "ж" else "учащийся",
                         "consent_at": None, "first": True})
        if r["parent_id"] in targets:
            rows.append({"t": targets[r["parent_id"]], "kind": "parent", "relation": r["relation"],
                         "consent_at": r["consent_at"], "first": r["parent_id"] not in seen})
            seen.add(r["parent_id"])
    if only_new:
        rows = [row for row in rows if not row["t"].has_password]
    return rows


async def _class_page(request: Request, info, error: str | None = None, checked: set[int] = frozenset(),
                      status: int = 200) -> Response:
    only_new = request.query_params.get("new") == "1"
    rows = await class_rows(request.app.state.db, info["id"], only_new)
    return page("credentials/class.html", status_code=status, cls=info, rows=rows, only_new=only_new,
                error=error, checked=checked, max_per_sheet=MAX_PER_SHEET, ok=None,
                is_admin=current_user(request).has(*ADMIN_ISSUERS))


@get("/classes/{class_id:int}/credentials", opt=ISSUERS)
async def class_credentials_page(request: Request, class_id: FromPath[int]) -> Response:
    return await _class_page(request, await _class_or_refuse(request, class_id))


@post("/classes/{class_id:int}/credentials", opt=ISSUERS)
async def class_credentials_issue(request: Request, class_id: FromPath[int]) -> Response:
    info = await _class_or_refuse(request, class_id)
    return await _issue_from_page(
        request, lambda t: class_id in {r["class_id"] for r in t.links}, f"/classes/{class_id}/credentials",
        lambda error, checked, status: _class_page(request, info, error, checked, status))


# --- staff (the deputy, §2.3, §3.4.3) ------------------------------------------------------

async def _staff_page(request: Request, error: str | None = None, checked: set[int] = frozenset(),
                      status: int = 200) -> Response:
    db = request.app.state.db
    only_new = request.query_params.get("new") == "1"
    staff = [s for s in await db.read(people.staff_list) if not only_new or not s["has_credentials"]]
    issued = await db.read(last_issues)
    return page("credentials/staff.html", status_code=status, staff=staff, issued=issued, only_new=only_new,
                error=error, checked=checked, me=current_user(request).person_id, ok=None)


@get("/school/staff/credentials", opt=STAFF_ISSUERS)
async def staff_credentials_page(request: Request) -> Response:
    return await _staff_page(request)


@post("/school/staff/credentials", opt=STAFF_ISSUERS)
async def staff_credentials_issue(request: Request) -> Response:
    return await _issue_from_page(
        request, lambda t: bool(t.roles & STAFF_ROLES), "/school/staff/credentials",
        lambda error, checked, status: _staff_page(request, error, checked, status))


# --- JSON API ----------------------------------------------------------------------------

@dataclass
class IssueRequest:
    person_ids: list[int]


class Issued(msgspec.Struct):
    """Выданный одноразовый пароль: его видно только в этом ответе."""

    person_id: int
    login: str
    password: str


class IssueAnswer(msgspec.Struct):
    issued: list[Issued]


@post("/api/v1/credentials", opt=ISSUERS, tags=["Доступ"], status_code=200)
async def api_issue(request: Request, data: JSONBody[IssueRequest]) -> IssueAnswer:
    """Выдать одноразовые пароли (по тем же правилам, что и страницы): ответ — единственное место, где виден пароль."""
    user = current_user(request)
    # A refusal (CredentialRefused) is answered as every API error is: {"error": …, "status": …}.
    targets = await check_issue(request.app.state.db, user, data.person_ids, None)
    slips = await issue(request.app.state.db, user, targets)
    return IssueAnswer([Issued(s.person_id, s.login, s.password) for s in slips])


ROUTES = [class_credentials_page, class_credentials_issue, staff_credentials_page, staff_credentials_issue, api_issue]
