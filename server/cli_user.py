"""`zhurnal user …`: accounts at the console, for when nobody can log in."""

from __future__ import annotations

from .accounts import store
from .accounts.passwords import hash_password, one_time_password, password_problem
from .accounts.roles import ROLE_LABELS, parse_roles
from .accounts.routes import LOGIN_RULE, valid_login
from .cli import UserError
from .config import Settings
from .db import Database, migrate
from .school.structure import set_up_school

# Changes made here are ledger entries with no account (the console) and this reason.
CONSOLE = "консоль: zhurnal user {}"


async def run(settings: Settings, args) -> int:
    # Only `create` may start a database (the first sysadmin of an empty server); the others
    # would otherwise leave a stray empty school behind a mistyped --data.
    if args.user_command != "create" and not settings.db_path.exists():
        raise UserError(f"В папке {settings.data_dir} нет базы журнала. Укажите папку данных параметром --data.")
    migrate(settings.db_path)
    db = Database(settings.db_path, read_connections=1)
    await db.open()
    try:
        return await COMMANDS[args.user_command](db, args)
    except store.AccountError as e:
        raise UserError(str(e)) from e
    finally:
        await db.close()


def _password(args, login: str) -> tuple[str, bool]:
    """(password, must change at first login): the given one, or a one-time one."""
    if args.password is None:
        return one_time_password(), True
    problem = password_problem(args.password, login)
    if problem:
        raise UserError(problem)
    return args.password, False


async def create(db: Database, args) -> int:
    if not valid_login(args.login):
        raise UserError(LOGIN_RULE)
    try:
        roles = parse_roles(args.roles)
    except ValueError as e:
        raise UserError(str(e)) from e
    if not roles:
        raise UserError("Укажите хотя бы одну роль.")
    if not await db.read(_has_school) and not args.school:
        raise UserError("База пуста: укажите название школы параметром --school.")
    password, must_change = _password(args, args.login)
    await db.write(_create, args, roles, hash_password(password), must_change)
    print(f"Создан пользователь {args.login} ({', '.join(ROLE_LABELS[r] for r in sorted(roles))}).")
    if must_change:
        print(f"Одноразовый пароль: {password}  (сменить при первом входе)")
    return 0


def _has_school(conn) -> bool:
    return conn.execute("SELECT 1 FROM school").fetchone() is not None


def _create(conn, args, roles: frozenset[str], password_hash: str, must_change: bool) -> None:
    reason = CONSOLE.format("create")
    if args.school:
        set_up_school(conn, None, args.school, reason=reason)
    person_id = store.create_person(conn, None, args.last_name.strip(), args.first_name.strip(),
                                    args.middle_name.strip(), reason=reason)
    store.create_account(conn, None, person_id, args.login, password_hash, roles, must_change, reason)


async def reset_password(db: Database, args) -> int:
    # A password is not school data: nothing of it goes to the ledger (credentials are their own record).
    row = await db.read(store.find_account, args.login)
    if row is None:
        raise UserError(f"Нет учётной записи с логином «{args.login}».")
    password, must_change = _password(args, args.login)
    await db.write(store.set_password, row["account_id"], hash_password(password), must_change)
    print(f"Пароль пользователя {row['login']} сброшен, все его сеансы завершены.")
    if must_change:
        print(f"Одноразовый пароль: {password}  (сменить при первом входе)")
    return 0


async def set_roles(db: Database, args) -> int:
    try:
        roles = parse_roles(args.roles)
    except ValueError as e:
        raise UserError(str(e)) from e
    await db.write(store.set_roles, None, args.login, roles, CONSOLE.format("set-roles"))
    print(f"Роли {args.login}: {', '.join(ROLE_LABELS[r] for r in sorted(roles)) or 'нет'}.")
    return 0


async def list_users(db: Database, args) -> int:
    rows = await db.read(store.list_accounts)
    for r in rows:
        flags = []
        if r["must_change_password"]:
            flags.append("одноразовый пароль")
        if r["disabled_at"]:
            flags.append("отключён")
        name = f"{r['last_name']} {r['first_name']} {r['middle_name']}".strip()
        print(f"{r['login']:<16} {name:<40} {r['roles'] or '-':<30} {'; '.join(flags)}")
    print(f"Всего: {len(rows)}")
    return 0


COMMANDS = {"create": create, "reset-password": reset_password, "set-roles": set_roles, "list": list_users}
