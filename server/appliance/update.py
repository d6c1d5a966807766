"""Updates that cannot break a school: `zhurnal update BUNDLE` (and the sysadmin's page).

The program lives in versioned folders (deploy/install.sh):

    /opt/zhurnal/versions/0.1.0/venv
    /opt/zhurnal/versions/0.2.0/venv
    /opt/zhurnal/current  -> versions/0.2.0     what the service runs
    /opt/zhurnal/previous -> versions/0.1.0     kept for a manual rollback (update --rollback)

An update, driven by the version already installed (known to work):
 1. checks the bundle: the signature by a release key this program trusts, every file;
    refuses a bundle whose program is older than the database (a newer schema) or than itself;
 2. makes a backup (backups/: encrypted, kept) when backups are set up;
 3. installs the new version beside the old one (a new venv, `pip --no-index` from the bundle);
 4. runs the new version's migrations on a copy of the database;
 5. stops the service, keeps the database as it was (`DATA/updates/before-VERSION.sqlite3`),
    switches `current`, migrates the real database, starts the service and checks that the
    server answers;
 6. when any step after the switch fails: stops the new version, puts the database back as it
    was, switches back, starts the old version (program and data rolled back).
Only one update runs at a time. Each step is written to `DATA/updates/state.json` for the page.

The service: under systemd (/opt/zhurnal, the unit zhurnal.service) it is stopped and started
with systemctl; anywhere else (an install under --root, tests) no server may be running on the
data folder, and the check starts the new program on a loopback port for a moment.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from .. import __version__, clock, collation
from ..config import Settings
from ..errors import UserError
from ..fsutil import fsync_dir, write_atomic
from . import release

SYSTEM_APP = Path("/opt/zhurnal")
UNIT = "zhurnal.service"
HISTORY_KEPT = 20
ANSWER_TIMEOUT = 90.0       # a Pi compiles every template at start-up
INSTALL_TIMEOUT = 1800
REQUEST = "request.json"    # the page asks; zhurnal-update.path starts the root service


class UpdateRefused(UserError):
    """The bundle cannot be applied here; nothing was changed."""


class UpdateFailed(Exception):
    """A step failed; what was done has been undone (message in Russian)."""


# --- where things are ---------------------------------------------------------------------------

def app_root() -> Path | None:
    """/opt/zhurnal (or its stand-in under --root) when this program runs from versions/X/venv."""
    venv = Path(sys.prefix).resolve()  # run as /opt/zhurnal/current/venv/bin/zhurnal: the link resolved
    if venv.name == "venv" and venv.parent.parent.name == "versions":
        return venv.parent.parent.parent
    return None


def updates_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "updates"


def _state_path(settings: Settings) -> Path:
    return updates_dir(settings) / "state.json"


def status(settings: Settings) -> dict:
    """{"last": the last (or running) update, "history": [...], "pending": a queued request}."""
    try:
        st = json.loads(_state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        st = {}
    st.setdefault("history", [])
    st.setdefault("last", None)
    req = updates_dir(settings) / REQUEST
    try:
        st["pending"] = json.loads(req.read_text(encoding="utf-8")) if req.exists() else None
    except (OSError, ValueError):
        st["pending"] = None
    return st


def _write_state(settings: Settings, st: dict) -> None:
    d = updates_dir(settings)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    keep = {"last": st.get("last"), "history": st.get("history", [])[:HISTORY_KEPT]}
    write_atomic(_state_path(settings), json.dumps(keep, ensure_ascii=False, indent=1), mode=0o640)


def _stamp() -> str:
    return clock.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _one_at_a_time(settings: Settings) -> Iterator[None]:
    d = updates_dir(settings)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UpdateRefused("Обновление уже выполняется. Дождитесь его окончания.") from None
        yield
    finally:
        os.close(fd)


# --- the service ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once GET url answers as the app does (the login page, or the set-up page's redirect)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # loopback, our own certificate

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with opener.open(url, timeout=5) as r:
                if r.status == 200:
                    return True
        except urllib.error.HTTPError as e:
            if e.code == 303 and "/setup" in (e.headers.get("location") or ""):
                return True
            if e.code >= 500:
                return False
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    return False


@dataclass
class Service:
    """How this machine runs the server: systemd's unit, or nothing (a check starts it briefly)."""

    settings: Settings
    systemd: bool
    owner: tuple[int, int] | None = None  # the data folder's (uid, gid) when we run as root
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.systemd:
            subprocess.run(["systemctl", "stop", UNIT], check=True, capture_output=True, timeout=120)

    def start_and_check(self, program: Path) -> bool:
        if self.systemd:
            subprocess.run(["systemctl", "start", UNIT], check=True, capture_output=True, timeout=120)
            from .tls import is_set_up

            if is_set_up(self.settings):
                url = f"https://127.0.0.1:{self.settings.https_port}/login"
            else:
                url = f"http://127.0.0.1:{self.settings.port}/login"
            return _answers(url, ANSWER_TIMEOUT)
        return self.try_once(program)

    def try_once(self, program: Path) -> bool:
        """Start `program` on the data folder on a loopback port, ask it for a page, stop it."""
        port = _free_port()
        env = {**os.environ, "ZHURNAL_TLS_HTTP": "all", "ZHURNAL_HTTPS_PORT": str(_free_port())}
        proc = subprocess.Popen([str(program), "serve", "--data", str(self.settings.data_dir), "--host", "127.0.0.1",
                                 "--port", str(port), "--no-mdns"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, **_as_owner(self.owner))
        try:
            ok = _answers(f"http://127.0.0.1:{port}/login", ANSWER_TIMEOUT, alive=lambda: proc.poll() is None)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            if not ok:
                self.log.append(out[-3000:])
        return ok


def _as_owner(owner: tuple[int, int] | None) -> dict:
    """subprocess options that run a command as the data folder's owner (when we are root), so
    the files it makes (the database's WAL) stay usable by the service."""
    if owner is None:
        return {}
    return {"user": owner[0], "group": owner[1], "extra_groups": []}


def _data_owner(settings: Settings) -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    st = Path(settings.data_dir).stat()
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def _give_back(settings: Settings, owner: tuple[int, int] | None) -> None:
    """Files root made in the data folder (backups, snapshots, state) go to its owner."""
    if owner is None:
        return
    for dirpath, dirnames, filenames in os.walk(settings.data_dir):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.name == "zhurnal.toml" and p.parent == Path(settings.data_dir):
                continue  # root:zhurnal on purpose (deploy/install.sh)
            try:
                if p.lstat().st_uid == 0:
                    os.chown(p, *owner, follow_symlinks=False)
            except OSError:
                pass


def _which_service(settings: Settings, root: Path) -> Service:
    from backups.state import server_running

    owner = _data_owner(settings)
    if root.resolve() == SYSTEM_APP.resolve() and shutil.which("systemctl"):
        unit = subprocess.run(["systemctl", "cat", UNIT], capture_output=True, timeout=30)
        if unit.returncode == 0:
            if os.geteuid() != 0:
                raise UpdateRefused("Обновление останавливает и запускает службу: запустите его через sudo, "
                                    "например: sudo zhurnal update ФАЙЛ")
            return Service(settings, systemd=True, owner=owner)
    if server_running(settings.data_dir):
        raise UpdateRefused("Сервер Журнала сейчас работает с этой папкой данных. Остановите его и повторите "
                            "обновление.")
    return Service(settings, systemd=False, owner=owner)


# --- the database ---------------------------------------------------------------------------------

def schema_of(path: Path) -> int:
    from ..db import schema_version

    conn = collation.register(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    try:
        return schema_version(conn)
    finally:
        conn.close()


def snapshot(db: Path, target: Path) -> None:
    """A consistent copy of the database (SQLite's online backup), flushed to disk."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    src = collation.register(sqlite3.connect(f"file:{db}?mode=ro", uri=True))
    dst = collation.register(sqlite3.connect(tmp))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    fsync_dir(target.parent)


def put_back(db: Path, saved: Path) -> None:
    """The database as it was (`saved`, kept for another attempt) back in place."""
    from ..db import drop_aside, swap_database_file

    work = db.with_name(f".{db.name}.rollback")
    shutil.copyfile(saved, work)
    with open(work, "rb+") as f:
        os.fsync(f.fileno())
    os.chmod(work, 0o600)
    aside = swap_database_file(db, work)
    drop_aside(aside)


# --- the steps ----------------------------------------------------------------------------------

class Run:
    """One update (or rollback): its record in the state file and its console output."""

    def __init__(self, settings: Settings, record: dict, say: Callable[[str], None]):
        self.settings = settings
        self.record = record
        self.say = say
        st = status(settings)
        st["last"] = record
        self.state = st
        self.save()

    def save(self) -> None:
        _write_state(self.settings, self.state)

    def step(self, text: str) -> None:
        self.record["steps"].append({"at": _stamp(), "text": text})
        self.save()
        self.say(text)

    def finish(self, ok: bool, error: str | None = None) -> None:
        self.record.update(ok=ok, state="done" if ok else "failed", error=error, finished_at=_stamp())
        self.state["history"] = [self.record] + [h for h in self.state.get("history", [])
                                                 if h.get("id") != self.record.get("id")]
        self.save()


def _pip_install(base_python: str, venv: Path, bundle: release.Bundle, log: Path) -> None:
    made = subprocess.run([base_python, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=600)
    if made.returncode:
        raise UpdateFailed("не удалось создать окружение для новой версии (нужен пакет python3-venv): "
                           + (made.stderr.strip() or made.stdout.strip())[-400:])
    with open(log, "wb") as out:
        r = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--isolated", "--no-index",
                            "--no-cache-dir", "--disable-pip-version-check", "--find-links", str(bundle.wheels),
                            f"zhurnal=={bundle.version}"], stdout=out, stderr=subprocess.STDOUT,
                           timeout=INSTALL_TIMEOUT)
    if r.returncode:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise UpdateFailed("не удалось установить пакеты новой версии: " + " / ".join(tail))


def _work_dir(root: Path) -> Path | None:
    """Where a bundle is unpacked and checked. As root: a root-only folder beside the program,
    never in the data folder, whose owner (the service's user) could swap the checked files
    for others between the check and the install."""
    if os.geteuid() != 0:
        return None
    work = root / ".work"
    work.mkdir(mode=0o700, exist_ok=True)
    os.chmod(work, 0o700)
    return work


def _base_python() -> str:
    return getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable


def _link(root: Path, name: str, version: str) -> None:
    """root/name -> versions/VERSION, replaced atomically."""
    tmp = root / f".{name}.new"
    tmp.unlink(missing_ok=True)
    os.symlink(f"versions/{version}", tmp)
    os.replace(tmp, root / name)
    fsync_dir(root)


def linked(root: Path, name: str) -> str | None:
    try:
        return Path(os.readlink(root / name)).name
    except OSError:
        return None


def _run_new(program: Path, owner, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=3600, **_as_owner(owner))


def check_bundle(settings: Settings, bundle: release.Bundle) -> list[str]:
    """Why this bundle cannot be applied here (Russian), [] if it can."""
    import platform

    found = []
    if bundle.manifest.get("python") and bundle.manifest["python"] != f"{sys.version_info[0]}.{sys.version_info[1]}":
        found.append(f"Пакет собран для Python {bundle.manifest['python']}, а здесь Python "
                     f"{platform.python_version()}.")
    if release.version_key(bundle.version) == release.version_key(__version__):
        found.append(f"Версия {bundle.version} уже установлена.")
    elif release.version_key(bundle.version) < release.version_key(__version__):
        found.append(f"Пакет содержит версию {bundle.version}, она старее установленной ({__version__}). "
                     "Вернуться к прежней версии можно командой zhurnal update --rollback.")
    if settings.db_path.exists():
        current = schema_of(settings.db_path)
        if current > bundle.schema_version:
            found.append(f"База данных новее программы из пакета (схема {current}, программа {bundle.version} "
                         f"знает до {bundle.schema_version}). Нужен пакет новее.")
    arches = bundle.manifest.get("platforms") or []
    machine = platform.machine()
    if arches and machine in release.ARCHES and machine not in arches:
        found.append(f"В пакете нет программ для этого компьютера ({machine}).")
    elif machine in (bundle.manifest.get("missing") or {}):
        found.append(f"Для этого компьютера ({machine}) в пакете не хватает пакетов: "
                     f"{', '.join(bundle.manifest['missing'][machine])}.")
    return found


def apply(settings: Settings, bundle_path: Path, *, by: str = "консоль", say: Callable[[str], None] = print,
          confirm: Callable[[str], bool] = lambda summary: True) -> dict:
    """Apply a bundle (see the module's docstring). Raises UpdateRefused (nothing changed) or
    UpdateFailed (rolled back); returns the update's record."""
    root = app_root()
    if root is None:
        raise UpdateRefused("Эта копия Журнала установлена не через install.sh (нет папки versions): обновление "
                            "из пакета невозможно. Установите Журнал из пакета: sudo sh install.sh.")
    with _one_at_a_time(settings):
        bundle = release.open_bundle(bundle_path, work=_work_dir(root))
        try:
            problems = check_bundle(settings, bundle)
            if problems:
                raise UpdateRefused(" ".join(problems) + " Ничего не изменено.")
            service = _which_service(settings, root)
            summary = (f"Обновление Журнала {__version__} → {bundle.version} (подпись {release.fingerprint(bundle.key_id)} "
                       f"верна). Сервер будет остановлен на время обновления (обычно 1–3 минуты).")
            if not confirm(summary):
                raise UpdateRefused("Обновление отменено. Ничего не изменено.")
            record = {"id": _stamp() + "-" + bundle.version, "from": __version__, "to": bundle.version, "by": by,
                      "started_at": _stamp(), "state": "running", "ok": None, "steps": [], "error": None}
            run = Run(settings, record, say)
            run.step(f"Пакет {bundle.version} проверен: подпись ключа {release.fingerprint(bundle.key_id)}.")
            try:
                _apply(settings, root, bundle, service, run)
            except UpdateFailed as e:
                run.finish(False, str(e))
                _give_back(settings, service.owner)
                raise
            except BaseException as e:
                run.finish(False, f"непредвиденная ошибка: {e}")
                _give_back(settings, service.owner)
                raise
            run.finish(True)
            _give_back(settings, service.owner)
            return record
        finally:
            bundle.discard()


def _apply(settings: Settings, root: Path, bundle: release.Bundle, service: Service, run: Run) -> None:
    from backups import create as backup_create
    from backups import keys
    from backups import status as backup_status
    from backups.errors import BackupError

    db = settings.db_path
    updates = updates_dir(settings)
    old = linked(root, "current")
    if old is None:
        raise UpdateFailed(f"В {root} нет ссылки current: установка повреждена. Запустите sudo sh install.sh из пакета.")
    # 2. A backup, when there is a database and backups are set up.
    if db.exists() and keys.is_set_up(settings.data_dir):
        try:
            entry = backup_create.create_backup(settings, "manual", usb_copy=False)
            backup_status.set_keep(settings, entry.name, True)
        except BackupError as e:
            raise UpdateFailed(f"резервная копия не создана ({e}); обновление не начато") from None
        run.step(f"Резервная копия создана: {entry.name} (отмечена «хранить всегда»).")
    elif db.exists():
        run.step("Резервное копирование не настроено: шифрованная копия не сделана (для отката сохраняется "
                 "копия базы в папке данных).")
    # 3. The new version beside the old one.
    versions = root / "versions"
    target = versions / bundle.version
    log = updates / f"install-{bundle.version}.log"
    switched = False
    try:
        # An older or the same version is refused above: a folder of this version is a
        # leftover of an earlier attempt that failed.
        shutil.rmtree(target, ignore_errors=True)
        run.step(f"Устанавливаю версию {bundle.version} рядом с {old} (без интернета)…")
        # The venv's scripts name their own folder: it is built where it will live.
        _pip_install(_base_python(), target / "venv", bundle, log)
        new_program = target / "venv/bin/zhurnal"
        # 4. The migrations on a copy first.
        if db.exists():
            trial = Path(tempfile.mkdtemp(prefix=".trial-", dir=updates))
            try:
                snapshot(db, trial / db.name)
                _give_back(settings, service.owner)  # the new program runs as the data's owner
                r = _run_new(new_program, service.owner, "migrate", "--data", str(trial))
                if r.returncode:
                    raise UpdateFailed("новая версия не смогла обновить копию базы данных: "
                                       + (r.stderr.strip() or r.stdout.strip())[-800:])
                run.step(f"Копия базы обновлена новой версией: {r.stdout.strip()}")
            finally:
                shutil.rmtree(trial, ignore_errors=True)
    except UpdateFailed as e:
        shutil.rmtree(target, ignore_errors=True)
        raise UpdateFailed(f"{e}. Работает прежняя версия {old}, данные не изменены.") from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    # 5. Stop, keep the database as it was, switch, migrate, start, check.
    before = updates / f"before-{bundle.version}.sqlite3"
    had_db = db.exists()
    run.step("Останавливаю сервер…")
    try:
        service.stop()
    except subprocess.SubprocessError as e:
        shutil.rmtree(target, ignore_errors=True)
        raise UpdateFailed(f"не удалось остановить службу ({e})") from None
    try:
        if db.exists():
            snapshot(db, before)
        _link(root, "current", bundle.version)
        switched = True
        run.step(f"Переключено на версию {bundle.version}.")
        if db.exists():
            _give_back(settings, service.owner)
            r = _run_new(new_program, service.owner, "migrate", "--data", str(settings.data_dir))
            if r.returncode:
                raise UpdateFailed("новая версия не смогла обновить базу данных: "
                                   + (r.stderr.strip() or r.stdout.strip())[-800:])
            run.step(f"База данных обновлена: {r.stdout.strip()}")
        _give_back(settings, service.owner)
        run.step("Запускаю новую версию и проверяю, что сервер отвечает…")
        if not service.start_and_check(new_program):
            raise UpdateFailed("новая версия не отвечает после запуска"
                               + (f": {service.log[-1].strip()[-600:]}" if service.log else ""))
    except BaseException as e:
        why = str(e) if isinstance(e, UpdateFailed) else f"непредвиденная ошибка: {e}"
        run.step(f"Ошибка: {why}. Возвращаю прежнюю версию и данные…")
        _roll_back(settings, root, old, before if had_db else None, service, run, switched)
        shutil.rmtree(target, ignore_errors=True)
        if isinstance(e, UpdateFailed):
            raise UpdateFailed(f"{e}. Прежняя версия {old} и данные возвращены.") from None
        raise
    # Kept: the previous version and its database snapshot, for a manual rollback.
    _link(root, "previous", old)
    for p in updates.glob("before-*.sqlite3"):
        if p != before:
            p.unlink(missing_ok=True)
    for folder in versions.iterdir():
        if folder.name not in (bundle.version, old) and not folder.name.startswith("."):
            shutil.rmtree(folder, ignore_errors=True)
    run.step(f"Готово: работает версия {bundle.version}. Прежняя версия {old} сохранена для отката "
             "(zhurnal update --rollback).")


def _roll_back(settings: Settings, root: Path, old: str, before: Path | None, service: Service, run: Run,
               switched: bool) -> None:
    try:
        service.stop()
    except subprocess.SubprocessError:
        pass
    if before is not None and before.exists():
        put_back(settings.db_path, before)
        run.step("База данных возвращена в состояние до обновления.")
    elif before is None and settings.db_path.exists():
        # There was none: the new version made it at start-up, the old one may not read it.
        for p in [settings.db_path, *(settings.db_path.with_name(settings.db_path.name + x) for x in ("-wal", "-shm"))]:
            p.unlink(missing_ok=True)
    if switched:
        _link(root, "current", old)
        run.step(f"Снова работает версия {old}.")
    _give_back(settings, service.owner)
    program = root / "versions" / old / "venv/bin/zhurnal"
    if service.systemd:
        if service.start_and_check(program):
            run.step("Прежняя версия запущена и отвечает.")
        else:
            run.step("ВНИМАНИЕ: прежняя версия не отвечает после отката. Проверьте: sudo systemctl status zhurnal")


def rollback(settings: Settings, *, say: Callable[[str], None] = print,
             confirm: Callable[[str], bool] = lambda summary: True) -> dict:
    """Back to the previous version by hand. Its database snapshot goes back only when the
    previous program cannot read today's database (a migration ran): then what was entered
    since the update is lost, and the person is asked first; today's database is kept aside."""
    root = app_root()
    if root is None:
        raise UpdateRefused("Эта копия Журнала установлена не через install.sh: откатывать нечего.")
    with _one_at_a_time(settings):
        old, current = linked(root, "previous"), linked(root, "current")
        if not old or not (root / "versions" / old / "venv/bin/zhurnal").exists():
            raise UpdateRefused("Прежней версии нет: откатывать не на что.")
        service = _which_service(settings, root)
        program = root / "versions" / old / "venv/bin/zhurnal"
        r = subprocess.run([str(program), "migrate", "--known"], capture_output=True, text=True, timeout=120)
        known = int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else 0
        db = settings.db_path
        before = updates_dir(settings) / f"before-{current}.sqlite3"
        restore = db.exists() and schema_of(db) > known
        if restore and not before.exists():
            raise UpdateRefused(f"Версия {old} не может работать с нынешней базой данных, а копии базы до "
                                "обновления нет. Откат невозможен.")
        summary = f"Откат Журнала {current} → {old}."
        if restore:
            summary += (f" База данных вернётся в состояние на момент обновления: всё, что внесено после него, "
                        f"пропадёт (нынешняя база сохранится в {updates_dir(settings)}).")
        if not confirm(summary):
            raise UpdateRefused("Откат отменён. Ничего не изменено.")
        record = {"id": _stamp() + "-rollback", "from": current, "to": old, "by": "консоль", "rollback": True,
                  "started_at": _stamp(), "state": "running", "ok": None, "steps": [], "error": None}
        run = Run(settings, record, say)
        service.stop()
        if restore:
            snapshot(db, updates_dir(settings) / f"after-{current}.sqlite3")
            put_back(db, before)
            run.step("База данных возвращена в состояние до обновления.")
        _link(root, "current", old)
        _link(root, "previous", current)
        _give_back(settings, service.owner)
        run.step(f"Переключено на версию {old}.")
        ok = service.start_and_check(program)
        run.step("Сервер отвечает." if ok else "ВНИМАНИЕ: сервер не отвечает после отката.")
        run.finish(ok, None if ok else "сервер не отвечает после отката")
        _give_back(settings, service.owner)
        return record


# --- the page's way: a queued request that the root service carries out -----------------------------

def queue(settings: Settings, uploaded: Path, by: str) -> release.Bundle:
    """Check an uploaded bundle now (the page says at once if it is refused), then leave it for
    zhurnal-update.service (root), which systemd starts when the request file appears."""
    updates = updates_dir(settings)
    updates.mkdir(mode=0o700, parents=True, exist_ok=True)
    if status(settings).get("pending"):
        raise UpdateRefused("Обновление уже ждёт запуска. Дождитесь его окончания.")
    bundle = release.open_bundle(uploaded, work=updates)
    try:
        problems = check_bundle(settings, bundle)
        if problems:
            raise UpdateRefused(" ".join(problems) + " Ничего не изменено.")
        incoming = updates / "incoming"
        incoming.mkdir(mode=0o700, exist_ok=True)
        for old in incoming.iterdir():
            old.unlink(missing_ok=True)
        target = incoming / f"zhurnal-{bundle.version}.tar"
        shutil.move(str(uploaded), target)
        write_atomic(updates / REQUEST, json.dumps({"bundle": target.name, "version": bundle.version, "by": by,
                                                    "at": _stamp()}, ensure_ascii=False), mode=0o640)
        return bundle
    finally:
        bundle.discard()


def run_queued(settings: Settings, say: Callable[[str], None] = print) -> int:
    """zhurnal-update.service: carry out the page's request, if there is one."""
    req_path = updates_dir(settings) / REQUEST
    try:
        req = json.loads(req_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    req_path.unlink(missing_ok=True)  # never twice, whatever happens
    bundle = updates_dir(settings) / "incoming" / Path(str(req.get("bundle", ""))).name
    recorded = (status(settings).get("last") or {}).get("id")
    try:
        apply(settings, bundle, by=str(req.get("by", "страница")), say=say)
        return 0
    except (UpdateRefused, UpdateFailed, release.BundleError) as e:
        st = status(settings)
        if (st.get("last") or {}).get("id") == recorded:  # refused before it began: say so on the page
            record = {"id": _stamp() + "-refused", "from": __version__, "to": req.get("version"), "by": req.get("by"),
                      "started_at": _stamp(), "finished_at": _stamp(), "state": "failed", "ok": False,
                      "steps": [], "error": str(e)}
            st["last"] = record
            st["history"] = [record] + st.get("history", [])
            _write_state(settings, st)
        say(f"Ошибка: {e}")
        return 1
    finally:
        bundle.unlink(missing_ok=True)


def started_at(record: dict | None) -> datetime | None:
    if not record or not record.get("started_at"):
        return None
    return datetime.fromisoformat(record["started_at"])
