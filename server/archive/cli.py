"""`zhurnal archive build --period ID | --year ID [--classes 5А,5Б]`, `archive list`, `archive
verify DIR`, `archive cancel`. The console's build runs in this process (at nice 10) and prints
its progress; bad input is a Russian message and exit status 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..config import Settings
from ..db import connect_sync
from . import build, verify
from .collect import ArchiveError


def add_parser(sub, data_arg) -> None:
    p = sub.add_parser("archive", help="архив журналов: PDF и XLSX за период или год")
    asub = p.add_subparsers(dest="archive_command", metavar="ДЕЙСТВИЕ", required=True)
    b = asub.add_parser("build", help="собрать архив (печатает папку)")
    g = b.add_mutually_exclusive_group(required=True)
    g.add_argument("--period", type=int, metavar="НОМЕР", help="учебный период (четверть, полугодие)")
    g.add_argument("--year", type=int, metavar="НОМЕР", help="учебный год целиком")
    b.add_argument("--classes", default="", metavar="5А,5Б", help="только эти классы")
    data_arg(b)
    data_arg(asub.add_parser("list", help="собранные архивы"))
    v = asub.add_parser("verify", help="проверить архив: файлы, журнал аудита, данные")
    v.add_argument("folder", type=Path, metavar="ПАПКА")
    data_arg(v)
    data_arg(asub.add_parser("cancel", help="отменить идущую сборку"))


def run(settings: Settings, args) -> int:
    data = settings.data_dir
    if not settings.db_path.exists():
        raise ArchiveError(f"В папке {data} нет базы журнала.")
    if args.archive_command == "build":
        os.nice(build.NICE)  # the teachers' requests first
        classes = [c for c in args.classes.replace(" ", ",").split(",") if c] or None

        def show(state: dict) -> None:
            print(f"\r{state['done']}/{state['total']} {state.get('current', '')[:60]:<60}", end="", file=sys.stderr)

        try:
            folder = build.run(data, settings.db_path, period_id=args.period, year_id=args.year, classes=classes,
                               progress=show)
        except build.Cancelled:
            print("\nСборка отменена.", file=sys.stderr)
            return 1
        print(file=sys.stderr)
        print(folder)
        return 0
    if args.archive_command == "list":
        items = build.listing(data)
        if not items:
            print("Архивов нет.")
        for a in items:
            state = "" if a["closed"] else " (черновик)"
            print(f"{a['name']}\t{a['label']}{state}\t{a['created']}\t{len(a['files'])} файлов\t"
                  f"{a['size'] / 1_000_000:.1f} МБ".replace(".", ","))
        return 0
    if args.archive_command == "cancel":
        if not build.request_cancel(data):
            raise ArchiveError("Сейчас архив не собирается.")
        print("Сборка будет остановлена после текущего документа.")
        return 0
    folder = args.folder if args.folder.is_absolute() or args.folder.exists() else build.root(data) / args.folder
    if not folder.is_dir():
        raise ArchiveError(f"Папки архива «{args.folder}» нет.")
    conn = connect_sync(settings.db_path)
    try:
        conn.execute("PRAGMA query_only=ON")
        conn.execute("BEGIN")
        problems = verify.check(folder, conn)
    finally:
        conn.close()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print("Архив цел: файлы совпадают с манифестом, журнал аудита не нарушен, данные совпадают с журналом.")
    return 0
