"""The `zhurnal` command: serve, demo, user … (see DESIGN.md, "Stable surface").

Exit status 0 on success, 2 on bad input with a Russian message on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import socket
import sys
from dataclasses import replace
from pathlib import Path

from .config import Settings, default_data_dir, load_settings
from .db import migrate
from .errors import UserError as _UserError

# argparse speaks English; the people at this console are Russian school admins.
_ARGPARSE_RU = {
    "usage: ": "использование: ",
    "positional arguments": "аргументы",
    "options": "параметры",
    "show this help message and exit": "показать эту справку и выйти",
    "the following arguments are required: %s": "не указаны обязательные аргументы: %s",
    "unrecognized arguments: %s": "неизвестные аргументы: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "неверный выбор: %(value)r (возможно: %(choices)s)",
    "argument %(argument_name)s: %(message)s": "аргумент %(argument_name)s: %(message)s",
    "invalid %(type)s value: %(value)r": "неверное значение: %(value)r",
    "expected one argument": "нужно одно значение",
    "%(prog)s: error: %(message)s\n": "%(prog)s: ошибка: %(message)s\n",
}
argparse._ = lambda s: _ARGPARSE_RU.get(s, s)  # type: ignore[attr-defined]

log = logging.getLogger("zhurnal")


# Bad input at the console: printed in Russian, exit status 2 (server/errors.py).
UserError = _UserError


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, metavar="ПАПКА",
                   help="папка с базой и ключами (по умолчанию ./data или $ZHURNAL_DATA)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhurnal", description="Электронный классный журнал и дневник.")
    sub = parser.add_subparsers(dest="command", metavar="КОМАНДА", required=True)

    p = sub.add_parser("serve", help="запустить сервер школы")
    _data_arg(p)
    p.add_argument("--host", default=None, metavar="АДРЕС", help="адрес (по умолчанию 0.0.0.0 — вся сеть)")
    p.add_argument("--port", type=int, default=None, metavar="ПОРТ", help="порт (по умолчанию 8000)")
    p.add_argument("--no-mdns", action="store_true", help="не объявлять сервер в сети по mDNS")
    p.add_argument("--workers", type=int, default=None, metavar="ЧИСЛО",
                   help="сколько процессов запустить (по умолчанию — по числу ядер, сколько позволяет память)")

    p = sub.add_parser("demo", help="создать демонстрационную школу")
    _data_arg(p)
    p.add_argument("--password", default=None, metavar="ПАРОЛЬ", help="пароль всех демо-пользователей")

    p = sub.add_parser("user", help="учётные записи (восстановление доступа с консоли)")
    usub = p.add_subparsers(dest="user_command", metavar="ДЕЙСТВИЕ", required=True)
    c = usub.add_parser("create", help="создать пользователя")
    _data_arg(c)
    c.add_argument("login", metavar="ЛОГИН",
                   help="3–32 латинские буквы, цифры, точки, дефисы или подчёркивания (например, orlova.mp)")
    c.add_argument("--last-name", required=True, metavar="ФАМИЛИЯ")
    c.add_argument("--first-name", required=True, metavar="ИМЯ")
    c.add_argument("--middle-name", default="", metavar="ОТЧЕСТВО")
    c.add_argument("--roles", required=True, metavar="РОЛИ", help="через запятую, например sysadmin,teacher")
    c.add_argument("--password", default=None, metavar="ПАРОЛЬ",
                   help="пароль; если не указан, выдаётся одноразовый, который нужно сменить при входе")
    c.add_argument("--school", default=None, metavar="НАЗВАНИЕ", help="название школы (для пустой базы)")
    r = usub.add_parser("reset-password", help="выдать новый одноразовый пароль")
    _data_arg(r)
    r.add_argument("login", metavar="ЛОГИН")
    r.add_argument("--password", default=None, metavar="ПАРОЛЬ",
                   help="новый пароль; если не указан, выдаётся одноразовый, который нужно сменить при входе")
    s = usub.add_parser("set-roles", help="задать роли пользователя")
    _data_arg(s)
    s.add_argument("login", metavar="ЛОГИН")
    s.add_argument("roles", metavar="РОЛИ",
                   help="через запятую: director, deputy, sysadmin, teacher, staff, parent, student")
    l_ = usub.add_parser("list", help="список пользователей")
    _data_arg(l_)

    from backups import cli as backups_cli

    backups_cli.add_parser(sub)
    from .appliance import cli as appliance_cli

    appliance_cli.add_parser(sub, _data_arg)  # doctor, update, tls, migrate

    from sync import cli as sync_cli

    sync_cli.add_parsers(sub)

    from .archive import cli as archive_cli

    archive_cli.add_parser(sub, _data_arg)

    p = sub.add_parser("audit", help="журнал аудита изменений журнала")
    asub = p.add_subparsers(dest="audit_command", metavar="ДЕЙСТВИЕ", required=True)
    v = asub.add_parser("verify", help="проверить цепочку записей и совпадение данных с журналом аудита")
    _data_arg(v)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosqlite logs SQL parameters at DEBUG (grades, message text): never, whatever the level.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "district":
            from sync import cli as sync_cli

            return sync_cli.run_district(args)
        data = args.data if args.data is not None else default_data_dir()
        if data.exists() and not data.is_dir():
            raise UserError(f"«{data}» — это файл, а не папка. Укажите папку данных параметром --data.")
        if args.command == "serve":
            return serve(load_settings(data, host=args.host, port=args.port, mdns=False if args.no_mdns else None,
                                       workers=args.workers))
        if args.command == "demo":
            from .demo import build_demo

            return build_demo(load_settings(data), args.password)
        if args.command == "user":
            from . import cli_user

            return asyncio.run(cli_user.run(load_settings(data), args))
        if args.command == "audit":
            return audit_verify(load_settings(data))
        if args.command == "archive":
            from .archive import cli as archive_cli

            return archive_cli.run(load_settings(data), args)
        if args.command == "sync":
            from sync import cli as sync_cli

            return sync_cli.run_sync(load_settings(data), args)
        if args.command == "backup":
            from backups import cli as backups_cli

            return backups_cli.run(load_settings(data), args)
        from .appliance import cli as appliance_cli

        if args.command in appliance_cli.COMMANDS:
            return appliance_cli.run(load_settings(data), args)
    except UserError as e:
        print(f"Ошибка: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `zhurnal user list | head`: the reader has gone, which is not an error. Python would
        # complain again while flushing stdout at exit: point it at /dev/null first.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def audit_verify(settings: Settings) -> int:
    """Exit 0 when the audit chain is intact and the data match it; 1 naming the first problem."""
    from .db import connect_sync, latest_version, refuse_newer, schema_version
    from .ledger import check_anchors, uncovered, verify

    if not settings.db_path.exists():
        raise UserError(f"В папке {settings.data_dir} нет базы журнала.")
    # A check of evidence changes nothing: no migration here (a newer or older schema is
    # a message), and the connection only reads.
    refuse_newer(settings.db_path)
    conn = connect_sync(settings.db_path)
    try:
        current, known = schema_version(conn), latest_version()
        if current < known:
            raise UserError(f"База данных старой версии (схема {current}, программа знает {known}). Проверка "
                            "делается на базе текущей версии: запустите сервер один раз (он обновит базу) "
                            "и повторите. База не изменена.")
        if uncovered(conn):
            raise UserError("Журнал изменений этой базы ещё не охватывает все таблицы, которые ведёт эта версия "
                            "программы: запустите сервер один раз (он дополнит журнал) и повторите. База не изменена.")
        conn.execute("PRAGMA query_only=ON")
        ok, message = verify(conn)
        if ok:
            anchors_ok, problem = check_anchors(conn, _backup_anchors(settings))
            if not anchors_ok:
                ok, message = False, problem
    finally:
        conn.close()
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def _backup_anchors(settings: Settings) -> list[tuple[str, dict]]:
    """The audit heads of the backups made since the last restore (a restore rolls the
    chain back on purpose), from DATA/backups/state.json."""
    from backups import state

    from .timeutil import ru_datetime

    st = state.read(settings.data_dir)
    since = max((r.get("at") or "" for r in st.get("restores") or []), default="")
    return [(ru_datetime(meta["created_at"]), meta["audit_head"]) for meta in st.get("backups", {}).values()
            if meta.get("audit_head") and meta.get("created_at", "") > since]


def check_can_listen(host: str, port: int) -> None:
    """Take the address once before anything is written or printed, so that a port in use
    (the demo started twice), a privileged port or a foreign address is a Russian message
    and exit status 2, not uvicorn's English error after «запущен»."""
    if not 1 <= port <= 65535:
        raise UserError(f"Порт — число от 1 до 65535, а указано {port}.")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        raise UserError(f"Неизвестный адрес «{host}» (параметр --host).") from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UserError(f"Порт {port} уже занят: Журнал уже запущен или порт занят другой программой. "
                                "Остановите её или укажите другой порт, например --port 8080.") from None
            if e.errno == errno.EACCES:
                raise UserError(f"Порт {port} может занять только администратор (root). Укажите порт от 1024, "
                                "например --port 8000.") from None
            if e.errno == errno.EADDRNOTAVAIL:
                raise UserError(f"Адрес {host} не принадлежит этому компьютеру (параметр --host).") from None
            raise UserError(f"Не удаётся открыть порт {port} на адресе {host}: {e.strerror}.") from None


def serve(settings: Settings) -> int:
    import uvicorn

    from .app import create_app
    from .memory import return_big_blocks_to_the_os
    from .netinfo import server_urls

    from . import health, workers
    from .appliance import tls
    from .school.imports import purge_pending as purge_pending_imports

    check_can_listen(settings.host, settings.port)
    https = tls.is_set_up(settings)  # `zhurnal tls setup` was run: HTTPS too (server/appliance/tls.py)
    if https:
        tls.check_files(settings)
        check_can_listen(settings.host, settings.https_port)
    # A missing database is created empty: the first visit shows the set-up page.
    migrate(settings.db_path)
    health.record_start(settings)
    return_big_blocks_to_the_os()
    print("Электронный журнал запущен. Откройте в браузере:")
    for url in (tls.https_urls(settings) if https else []) + server_urls(settings):
        print("   ", url)
    sys.stdout.flush()
    options = {"log_level": "warning", "proxy_headers": False, "server_header": False}
    # systemd stops the service with SIGTERM: a clean stop is exit status 0, not death by the
    # signal (uvicorn raises the signal again once it has shut down).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if https:
        if workers.resolved(settings) > 1:
            print("С HTTPS сервер пока работает одним процессом (параметр workers не действует).")
        tls.serve_both(create_app(settings, warm=True), settings, **options)
        return 0
    count = workers.resolved(settings)
    if count > 1:
        purge_pending_imports(settings.data_dir)  # once, not by every worker as it starts
        os.environ[workers.ENV] = workers.to_env(replace(settings, workers=count))
        print(f"Процессов сервера: {count}.")
        sys.stdout.flush()
        uvicorn.run("server.workers:app", factory=True, workers=count, host=settings.host, port=settings.port,
                    **options)
        return 0
    uvicorn.run(create_app(settings, warm=True), host=settings.host, port=settings.port, **options)
    return 0


if __name__ == "__main__":
    # `python -m server.cli` runs this file as a second module, `__main__`, whose UserError
    # is not the server.cli.UserError that demo.py and cli_user.py raise: run the real one.
    from server.cli import main as _main

    sys.exit(_main())
