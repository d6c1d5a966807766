"""`zhurnal doctor`, `zhurnal update`, `zhurnal tls setup`, `zhurnal migrate` (deploy/appliance.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Settings

COMMANDS = ("doctor", "update", "tls", "migrate")
STATUS_MARKS = {"ok": "[ок]", "info": "[—]", "warn": "[ВНИМАНИЕ]", "fail": "[ОШИБКА]"}


def add_parser(sub, data_arg) -> None:
    p = sub.add_parser("doctor", help="проверить состояние сервера (выход 1, если нужен человек)")
    data_arg(p)

    p = sub.add_parser("update", help="обновить программу из пакета с откатом при ошибке")
    data_arg(p)
    p.add_argument("bundle", nargs="?", type=Path, metavar="ПАКЕТ", help="файл zhurnal-ВЕРСИЯ.tar (или его папка)")
    p.add_argument("--yes", action="store_true", help="не спрашивать подтверждения")
    p.add_argument("--check", action="store_true", help="только проверить подпись и содержимое пакета")
    p.add_argument("--rollback", action="store_true", help="вернуться к прежней версии")
    p.add_argument("--queued", action="store_true", help=argparse.SUPPRESS)  # zhurnal-update.service

    p = sub.add_parser("tls", help="HTTPS в сети школы")
    tsub = p.add_subparsers(dest="tls_command", metavar="ДЕЙСТВИЕ", required=True)
    s = tsub.add_parser("setup", help="создать сертификат школы и сертификат сервера")
    data_arg(s)

    p = sub.add_parser("migrate", help="обновить схему базы данных до этой версии программы")
    data_arg(p)
    p.add_argument("--known", action="store_true", help="только напечатать, до какой схемы знает программа")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from ..errors import UserError

    if args.command == "doctor":
        if not Path(settings.data_dir).is_dir():
            raise UserError(f"Папки данных {settings.data_dir} нет. Укажите её параметром --data.")
        return doctor(settings)
    if args.command == "migrate":
        return migrate(settings, args.known)
    if args.command == "tls":
        return tls_setup(settings)
    return update(settings, args)


def doctor(settings: Settings) -> int:
    from .. import clock, health

    checks = health.run_all(settings, quick_check=True)
    print(f"Состояние сервера Журнала ({clock.local_now():%d.%m.%Y %H:%M}), папка данных "
          f"{Path(settings.data_dir).resolve()}:")
    for c in checks:
        print(f"{STATUS_MARKS[c.status]:<10} {c.title}: {c.summary}")
        for line in c.details:
            print(f"           {line}")
    bad = [c.title for c in checks if c.needs_person]
    if bad:
        print(f"Нужно внимание: {', '.join(bad)}.")
        return 1
    print("Всё в порядке.")
    return 0


def migrate(settings: Settings, known_only: bool) -> int:
    from ..db import latest_version, migrate as run_migrations

    if known_only:
        print(latest_version())
        return 0
    before, after = run_migrations(settings.db_path)
    print(f"схема {before} → {after}" if before != after else f"схема {after}, изменений нет")
    return 0


def tls_setup(settings: Settings) -> int:
    from . import tls

    done = tls.setup(settings)
    if done["made_ca"]:
        print(f"Создан сертификат школы (удостоверяющий центр): {done['dir'] / 'ca.crt'}")
    else:
        print(f"Сертификат школы оставлен прежним: {done['dir'] / 'ca.crt'} (телефонам не нужно устанавливать его заново)")
    print(f"Отпечаток SHA-256 сертификата школы: {done['ca_fingerprint']}")
    print(f"Сертификат сервера до {done['until']:%d.%m.%Y} для: {', '.join(done['dns'] + done['ips'])}")
    if done["outside"]:
        print(f"Адреса {', '.join(done['outside'])} вне сети, для которой создан сертификат школы: по ним HTTPS не "
              f"будет работать. Если сервер переехал в другую сеть, удалите папку {done['dir']} и выполните "
              "zhurnal tls setup заново (сертификат школы придётся установить на телефоны ещё раз).")
    print(f"Перезапустите сервер (sudo systemctl restart zhurnal): он будет работать по HTTPS на порту "
          f"{settings.https_port}. Как установить сертификат школы на телефон — страница /tls на сервере.")
    return 0


def _ask(summary: str) -> bool:
    print(summary)
    if not sys.stdin.isatty():
        from ..errors import UserError

        raise UserError("Подтверждение не получено (нет терминала): добавьте --yes.")
    return input("Продолжить? [да/нет] ").strip().lower() in ("да", "д", "yes", "y")


def update(settings: Settings, args: argparse.Namespace) -> int:
    from ..errors import UserError
    from . import release, update as updates

    if args.queued:
        return updates.run_queued(settings)
    if args.rollback:
        if args.bundle or args.check:
            raise UserError("--rollback не сочетается с пакетом и --check.")
        record = updates.rollback(settings, confirm=(lambda s: print(s) or True) if args.yes else _ask)
        return 0 if record.get("ok") else 1
    if args.bundle is None:
        raise UserError("Укажите файл пакета: zhurnal update zhurnal-ВЕРСИЯ.tar")
    if args.check:
        bundle = release.open_bundle(args.bundle)
        try:
            print(f"Пакет Журнала {bundle.version} (схема базы {bundle.schema_version}), подпись верна: ключ "
                  f"{release.fingerprint(bundle.key_id)}.")
            for arch in bundle.manifest.get("platforms") or []:
                print(f"  {release.ARCH_NAMES.get(arch, arch)}")
            for arch, names in (bundle.manifest.get("missing") or {}).items():
                print(f"  Нет пакетов для {release.ARCH_NAMES.get(arch, arch)}: {', '.join(names)}")
        finally:
            bundle.discard()
        return 0
    try:
        updates.apply(settings, args.bundle, confirm=(lambda s: print(s) or True) if args.yes else _ask)
    except updates.UpdateFailed as e:
        print(f"Обновление не удалось: {e}", file=sys.stderr)
        return 1
    return 0
