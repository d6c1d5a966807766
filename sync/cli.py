"""`zhurnal sync …` (the school) and `zhurnal district …` (the district server)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from server.config import Settings
from server.errors import UserError


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, metavar="ПАПКА",
                   help="папка с базой и ключами (по умолчанию ./data или $ZHURNAL_DATA)")


def _db_arg(p: argparse.ArgumentParser) -> None:
    # Every command takes --data (DESIGN.md); the district keeps everything in PostgreSQL,
    # so its commands accept the folder and need nothing from it.
    _data_arg(p)
    p.add_argument("--database", required=True, metavar="АДРЕС",
                   help="база района PostgreSQL, например postgresql://zhurnal:пароль@localhost/zhurnal_district")


def add_parsers(sub) -> None:
    p = sub.add_parser("sync", help="синхронизация с районом (школа)")
    ssub = p.add_subparsers(dest="sync_command", metavar="ДЕЙСТВИЕ", required=True)
    c = ssub.add_parser("setup", help="настроить: адрес и ключ района, код школы; печатает ключ школы")
    _data_arg(c)
    c.add_argument("--district", required=True, metavar="АДРЕС", help="адрес сервера района, например https://zhurnal.rono.ru")
    c.add_argument("--district-key", required=True, metavar="КЛЮЧ", help="открытый ключ района (age1…)")
    c.add_argument("--school", required=True, metavar="КОД", help="код школы, выданный районом")
    c = ssub.add_parser("now", help="отправить изменения сейчас (код 0 — у района есть всё)")
    _data_arg(c)
    c = ssub.add_parser("status", help="состояние синхронизации")
    _data_arg(c)
    c = ssub.add_parser("export", help="записать неотправленные пакеты в папку (USB-накопитель)")
    _data_arg(c)
    c.add_argument("dir", type=Path, metavar="ПАПКА")
    c = ssub.add_parser("import-ack", help="прочитать подтверждение района с USB-накопителя")
    _data_arg(c)
    c.add_argument("file", type=Path, metavar="ФАЙЛ")
    c = ssub.add_parser("reapply", help="вернуть изменения, которые район сохранил после восстановления школы")
    _data_arg(c)
    c.add_argument("file", type=Path, metavar="ФАЙЛ")
    c.add_argument("--yes", action="store_true", help="применить без вопроса (иначе только показать)")

    p = sub.add_parser("district", help="сервер района")
    dsub = p.add_subparsers(dest="district_command", metavar="ДЕЙСТВИЕ", required=True)
    c = dsub.add_parser("init", help="подготовить базу района; печатает открытый ключ района")
    _db_arg(c)
    c = dsub.add_parser("add-school", help="зарегистрировать школу (или её новый ключ)")
    _db_arg(c)
    c.add_argument("code", metavar="КОД")
    c.add_argument("--name", required=True, metavar="НАЗВАНИЕ")
    c.add_argument("--key", required=True, metavar="КЛЮЧ", help="открытый ключ школы (печатает zhurnal sync setup)")
    c = dsub.add_parser("serve", help="запустить сервер района")
    _db_arg(c)
    c.add_argument("--host", default="0.0.0.0", metavar="АДРЕС")
    c.add_argument("--port", type=int, default=8100, metavar="ПОРТ")
    c = dsub.add_parser("import", help="принять пакеты с USB-накопителя и записать на него подтверждения")
    _db_arg(c)
    c.add_argument("dir", type=Path, metavar="ПАПКА")
    c = dsub.add_parser("offer-update", help="предложить школам пакет обновления (проверяется подпись выпуска)")
    _db_arg(c)
    c.add_argument("bundle", type=Path, metavar="ПАКЕТ", help="файл zhurnal-ВЕРСИЯ.tar (deploy/bundle.sh)")
    c = dsub.add_parser("user", help="создать сотрудника района (или сменить ему пароль и роль)")
    _db_arg(c)
    c.add_argument("login", metavar="ЛОГИН")
    c.add_argument("--name", required=True, metavar="ФИО")
    c.add_argument("--role", required=True, choices=["admin", "inspector"], metavar="РОЛЬ",
                   help="admin — администратор района, inspector — только просмотр")
    c.add_argument("--password", default=None, metavar="ПАРОЛЬ", help="если не указан, будет спрошен")


def run_sync(settings: Settings, args) -> int:
    from . import school

    cmd = args.sync_command
    data = settings.data_dir
    if cmd == "setup":
        from server.db import migrate

        if not settings.db_path.exists():
            raise UserError(f"В папке {data} нет базы журнала.")
        migrate(settings.db_path)
        public = school.setup(data, args.district, args.district_key, args.school)
        print("Синхронизация с районом настроена. Открытый ключ школы — передайте его в район для регистрации:")
        print(public)
        return 0
    if cmd == "now":
        try:
            r = school.run_round(settings)
        except school.Unreachable as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 1
        except school.SyncError as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 1
        print(f"Отправлено пакетов: {r.chunks_sent}, изменений: {r.changes_sent}.")
        if r.complete:
            print("У района есть все изменения школы.")
            return 0
        print("Отправлено не всё: повторите позже.", file=sys.stderr)
        return 1
    if cmd == "status":
        st = school.status(settings)
        if not st["set_up"]:
            print("Синхронизация с районом не настроена (zhurnal sync setup).")
            return 0
        mark = st["district_mark"]
        print(f"Район: {st['district_url']}, код школы {st['school_code']}")
        print(f"Ключ школы: {st['public_key']}")
        print(f"Последняя успешная отправка: {school.ru_time(st['last_success'])}")
        print(f"Ждут отправки: изменений {st['changes_pending']}, пакетов {st['chunks_pending']}")
        print(f"Отметка района: эпоха {mark['epoch']}, пакет № {mark['seq']}")
        if st["last_error"]:
            print(f"Последняя ошибка ({school.ru_time(st['last_error_at'])}): {st['last_error']}")
        return 0
    if cmd == "export":
        written = school.export(settings, args.dir)
        print(f"Записано пакетов: {len(written)} в {args.dir}." if written else
              f"Новых пакетов нет: в {args.dir} уже всё, чего район не подтвердил.")
        return 0
    if cmd == "import-ack":
        moved, ack = school.import_ack(data, args.file)
        print(f"Подтверждение района принято: у района есть пакеты до № {ack['seq']} (эпоха {ack['epoch']})." if moved
              else "Это подтверждение уже учтено раньше — ничего не изменилось.")
        return 0
    if cmd == "reapply":
        from . import lost

        return lost.cli_reapply(settings, args.file, args.yes)
    raise UserError("Неизвестное действие.")


def run_district(args) -> int:
    from district import store

    cmd = args.district_command
    if cmd == "serve":
        from server.cli import check_can_listen

        check_can_listen(args.host, args.port)
        import uvicorn

        from district.web import create_app

        with store.connect(args.database) as conn:
            store.require_init(conn)
        print(f"Сервер района запущен: http://{args.host if args.host != '0.0.0.0' else 'localhost'}:{args.port}/")
        sys.stdout.flush()
        uvicorn.run(create_app(args.database), host=args.host, port=args.port, log_level="warning",
                    server_header=False)
        return 0
    with store.connect(args.database) as conn:
        if cmd == "init":
            with conn.transaction():
                public = store.init(conn)
            print("База района готова. Открытый ключ района — его указывают школы в zhurnal sync setup --district-key:")
            print(public)
            return 0
        if cmd == "add-school":
            with conn.transaction():
                new = store.add_school(conn, args.code, args.name, args.key)
            print(f"Школа «{args.name}» ({args.code}) {'зарегистрирована' if new else 'обновлена: новый ключ и название'}.")
            return 0
        if cmd == "import":
            from district.usb import import_dir

            return import_dir(conn, args.dir)
        if cmd == "offer-update":
            from district import updates

            facts = updates.check(args.bundle)  # before anything is written
            with conn.transaction():
                updates.offer(conn, args.bundle, facts)
            print(f"Школам предложена версия {facts['version']} (подпись {release_fingerprint(facts['key_id'])} верна, "
                  f"{facts['size']} байт). Школы скачают пакет при следующей синхронизации; устанавливает его "
                  "администратор школы на странице «Обновление программы».")
            return 0
        if cmd == "user":
            from server.accounts.passwords import hash_password, password_problem

            password = args.password
            if password is None:
                password = getpass.getpass("Пароль: ")
            problem = password_problem(password, args.login)
            if problem:
                raise UserError(problem)
            store.require_init(conn)
            with conn.transaction():
                store.create_account(conn, args.login, args.name, args.role, hash_password(password))
            print(f"Сотрудник района «{args.login}» ({store.ROLES[args.role]}) может входить.")
            return 0
    raise UserError("Неизвестное действие.")


def release_fingerprint(kid: str) -> str:
    from server.appliance.release import fingerprint

    return fingerprint(kid)


def dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)
