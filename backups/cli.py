"""`zhurnal backup …`: set-up, create, list, verify, restore, test-restore, add-recipient, usb.

Exit status 0 on success; 2 with a Russian message on stderr when the input is bad (wrong
key, damaged file, not a backup, newer version, missing file, full disk) — and then
nothing was changed. Progress bars go to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.config import Settings
from server.timeutil import parse_stored

from . import create, keys, restore, state, status, usb
from .errors import BackupError

STAGES = {
    "snapshot": "Снимок базы",
    "check": "Контрольная сумма",
    "files": "Файлы школы",
    "write": "Сжатие и шифрование",
    "verify": "Проверка копии",
    "decrypt": "Расшифровка",
    "copy": "Запись на USB",
}


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, metavar="ПАПКА",
                   help="папка с базой и ключами (по умолчанию ./data или $ZHURNAL_DATA)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("backup", help="резервные копии: настройка, создание, проверка, восстановление")
    sub = p.add_subparsers(dest="backup_command", metavar="ДЕЙСТВИЕ", required=True)

    s = sub.add_parser("setup", help="создать ключи; ключ восстановления записывается в ФАЙЛ")
    _data_arg(s)
    s.add_argument("--recovery-key-out", type=Path, required=True, metavar="ФАЙЛ",
                   help="куда записать ключ восстановления (не в папку данных: распечатать и в сейф)")
    s.add_argument("--replace-recovery-key", action="store_true",
                   help="выдать новый ключ восстановления, если прежний потерян")

    c = sub.add_parser("create", help="создать резервную копию сейчас (печатает путь к файлу)")
    _data_arg(c)

    l_ = sub.add_parser("list", help="список резервных копий и их состояние")
    _data_arg(l_)

    v = sub.add_parser("verify", help="полностью проверить файл копии")
    _data_arg(v)
    v.add_argument("file", type=Path, metavar="ФАЙЛ")
    v.add_argument("--key", type=Path, default=None, metavar="ФАЙЛ_КЛЮЧА",
                   help="ключ (по умолчанию ключ сервера)")

    r = sub.add_parser("restore", help="восстановить базу из копии")
    _data_arg(r)
    r.add_argument("file", type=Path, metavar="ФАЙЛ")
    r.add_argument("--key", type=Path, default=None, metavar="ФАЙЛ_КЛЮЧА",
                   help="ключ восстановления (по умолчанию ключ сервера, если он есть)")
    r.add_argument("--yes", action="store_true", help="не спрашивать подтверждения")

    t = sub.add_parser("test-restore", help="проверить восстановление ключом восстановления (база не меняется)")
    _data_arg(t)
    t.add_argument("file", type=Path, nargs="?", default=None, metavar="ФАЙЛ",
                   help="файл копии (по умолчанию последняя)")
    t.add_argument("--key", type=Path, required=True, metavar="ФАЙЛ_КЛЮЧА")

    a = sub.add_parser("add-recipient", help="шифровать копии также для этого открытого ключа age1…")
    _data_arg(a)
    a.add_argument("public_key", metavar="КЛЮЧ")
    a.add_argument("--label", default="", metavar="ЧЕЙ", help="чей это ключ (например, «район»)")

    u = sub.add_parser("usb", help="записать копию на USB-накопитель (по умолчанию последнюю)")
    _data_arg(u)
    u.add_argument("name", nargs="?", default=None, metavar="ИМЯ_ФАЙЛА")


class _Bars:
    """rich progress bars on stderr, only when it is a terminal."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        self._progress = Progress(TextColumn("{task.description:<22}"), BarColumn(), TaskProgressColumn(),
                                  TimeRemainingColumn(), console=console, disable=not console.is_terminal)
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "_Bars":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(STAGES.get(stage, stage), total=max(total, 1))
        self._progress.update(self._tasks[stage], completed=done, total=max(total, 1))


def _local(at: str | None) -> str:
    return parse_stored(at).astimezone().strftime("%d.%m.%Y %H:%M") if at else "—"


def run(settings: Settings, args: argparse.Namespace) -> int:
    """One command; a UserError (BackupError, DatabaseError) goes up to server.cli: exit 2."""
    try:
        return COMMANDS[args.backup_command](settings, args)
    except KeyboardInterrupt:
        print("Прервано: ничего не изменено.", file=sys.stderr)
        return 130


def _setup(settings: Settings, args) -> int:
    # Resolved (`..`, symbolic links) before comparing: OTHER/../DATA/key.txt is inside the
    # data folder, DATA/../key.txt is not.
    out = args.recovery_key_out.expanduser().resolve()
    data = settings.data_dir.resolve()
    if out == data or data in out.parents:
        raise BackupError("Ключ восстановления нельзя хранить в папке данных сервера: укажите файл вне неё "
                          "(например, на USB-накопителе), распечатайте ключ и удалите файл.")
    _, public = keys.set_up(settings.data_dir, args.replace_recovery_key,
                            deliver=lambda text: keys.write_recovery_key_file(out, text))
    print(f"Ключ восстановления записан в {out}")
    print(f"Открытый ключ восстановления: {public}")
    print("Распечатайте ключ и передайте директору для хранения в сейфе; файл с сервера удалите. "
          "На сервере остаётся только открытый ключ.")
    return 0


def _create(settings: Settings, args) -> int:
    with _Bars() as bars:
        entry = create.create_backup(settings, "manual", bars)
    print(entry.path.absolute())
    return 0


def _list(settings: Settings, args) -> int:
    st = state.read(settings.data_dir)
    entries = status.list_backups(state.folder(settings), st)
    if not keys.is_set_up(settings.data_dir):
        print("Резервное копирование не настроено (zhurnal backup setup --recovery-key-out ФАЙЛ).")
    if not entries:
        print("Резервных копий нет.")
    for e in entries:
        verified = f"проверена {_local(e.verified_at)}" if e.verified_at else "не проверена"
        keep = ", хранить всегда" if e.keep else ""
        files = f"файлов {e.files} ({e.files_mb} МБ)" if e.files is not None else "файлы: —"
        print(f"{e.local_time:%d.%m.%Y %H:%M}  {e.size_mb:>8} МБ  {e.kind_label:<22} {files:<22} "
              f"{verified}{keep}  {e.path}")
    print()
    print(f"Последняя удачная копия: {_local((st.get('last_success') or {}).get('at'))}")
    failure = st.get("last_failure")
    if failure:
        print(f"Последняя ошибка: {_local(failure.get('at'))}: {failure.get('reason')}")
    test = st.get("last_restore_test")
    if test:
        print(f"Проверка восстановления: {_local(test.get('at'))}: {'прошла' if test.get('ok') else test.get('reason')}")
    free = status.free_mb(settings)
    low = " — мало!" if free < settings.backup_min_free_mb else ""
    print(f"Свободно на диске: {free} МБ{low}")
    return 0


def _identities(settings: Settings, key: Path | None) -> list:
    if key is not None:
        return keys.load_key_file(key)
    if keys.is_set_up(settings.data_dir):
        return [keys.server_identity(settings.data_dir)]
    raise BackupError("Укажите ключ восстановления: --key ФАЙЛ_КЛЮЧА (на этом сервере нет ключа сервера).")


def _verify(settings: Settings, args) -> int:
    identities = _identities(settings, args.key)
    with _Bars() as bars:
        manifest = create.verify_backup(settings, args.file, identities, bars)
    files = f", файлов {len(manifest['files'])}" if "files" in manifest else ""
    print(f"Копия в порядке: сделана {_local(manifest['created_at'])}, школа «{manifest.get('school_name') or '—'}», "
          f"строк {sum(manifest['tables'].values())}{files}.")
    return 0


def _summary(p: restore.Prepared) -> str:
    rows = [("Копия", p.source), ("Сделана", f"{p.created_at.astimezone():%d.%m.%Y %H:%M}"),
            ("Школа", p.school_name),
            ("Версия", f"{p.manifest.get('app_version')} (схема {p.manifest['schema_version']})")]
    rows += [(label.capitalize(), n) for label, n in p.counts] + [("Всего строк", p.total_rows)]
    if p.has_files:
        rows.append(("Файлов", f"{p.files_count} ({p.files_mb} МБ)"))
    lines = [f"{label + ':':<18}{value}" for label, value in rows]
    if p.other_school:
        lines.append(f"ВНИМАНИЕ: это копия другой школы; сейчас в базе — {p.current_school['name']}.")
    return "\n".join(lines)


def _restore(settings: Settings, args) -> int:
    identities = _identities(settings, args.key)
    if state.server_running(settings.data_dir):
        raise BackupError(restore.SERVER_RUNS)
    with _Bars() as bars:
        prepared = restore.prepare_restore(settings, args.file, identities, progress=bars)
    try:
        print("Копия расшифрована и проверена:")
        print(_summary(prepared))
        replacing = settings.db_path.exists()
        if not args.yes:
            if not sys.stdin.isatty():
                raise BackupError("Подтвердите восстановление: добавьте --yes.")
            question = ("Текущая база будет заменена (перед этим сохранится её копия). Восстановить? [да/нет]: "
                        if replacing else "Установить эту базу? [да/нет]: ")
            if input(question).strip().lower() not in ("да", "д", "yes", "y"):
                print("Восстановление отменено: база не изменена.")
                return 1
        entry = restore.install_offline(settings, prepared)
    finally:
        prepared.discard()
    print(f"База восстановлена из {prepared.source}.")
    if entry["safety_copy"]:
        print(f"Прежняя база сохранена: {state.folder(settings) / entry['safety_copy']}")
    if not keys.is_set_up(settings.data_dir):
        print("На этом компьютере резервное копирование ещё не настроено: выполните "
              "«zhurnal backup setup --recovery-key-out ФАЙЛ».")
    return 0


def _test_restore(settings: Settings, args) -> int:
    identities = keys.load_key_file(args.key)
    with _Bars() as bars:
        prepared = restore.trial_restore(settings, args.file, identities, bars)
    files = f", файлы на месте ({prepared.files_count})" if prepared.has_files else ""
    print(f"Проверка восстановления прошла: копия {prepared.source} от {prepared.created_at.astimezone():%d.%m.%Y %H:%M} "
          f"расшифрована ключом восстановления, база цела ({prepared.total_rows} строк){files}.")
    return 0


def _add_recipient(settings: Settings, args) -> int:
    r = keys.add_recipient(settings.data_dir, args.public_key, args.label)
    print(f"Следующие копии будут зашифрованы и для ключа {r.public_key} ({r.label}).")
    return 0


def _usb(settings: Settings, args) -> int:
    with _Bars() as bars:
        path = usb.copy_to_usb(settings, args.name, bars)
    print(path)
    return 0


COMMANDS = {
    "setup": _setup, "create": _create, "list": _list, "verify": _verify, "restore": _restore,
    "test-restore": _test_restore, "add-recipient": _add_recipient, "usb": _usb,
}
