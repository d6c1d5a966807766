"""Is the school's server well? Plain checks, each a function returning one `Check`.

The sysadmin's page (/admin/health), a line on the administration's home page and
`zhurnal doctor` show the same checks. Nothing here needs the web app: every check reads the
data folder, the database (read-only) and the machine (/sys, /proc under `system_root`,
which tests point at a fake folder).

A check's status: "ok"; "info" (not applicable or not set up, nobody needs to act);
"warn" and "fail" (a person must look: `zhurnal doctor` exits 1).

What is remembered between runs (disk samples for the trend, the last `PRAGMA quick_check`,
the server's starts) lives in `DATA/health/state.json`, not in the database: a restore must
not roll it back, and a read-only check must not write the school's database.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from . import __version__, clock, collation
from .config import Settings
from .fsutil import write_atomic

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
LABELS = {OK: "в порядке", INFO: "—", WARN: "внимание", FAIL: "ошибка"}
# No date before this one is possible: this version of the program did not exist yet.
PROGRAM_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
# A clock corrected backwards by a few minutes (NTP after a fast RTC) is not an impossible date.
CLOCK_SLACK = timedelta(hours=1)
# A date this far after the newest record is suspicious too (a Pi's clock reset to the future).
CLOCK_AHEAD = timedelta(days=200)
DISK_SAMPLES_DAYS = 90
DISK_TREND_DAYS = 30
DISK_WARN_DAYS_LEFT = 30
TEMP_WARN_C = 75.0   # the Pi starts to throttle at 80 °C
TEMP_FAIL_C = 82.0
QUICK_CHECK_MAX_AGE = timedelta(days=8)
QUICK_CHECK_EVERY = timedelta(days=1)
STARTS_KEPT = 50
# Raspberry Pi firmware flags (vcgencmd get_throttled): now, and since boot.
UNDERVOLT_NOW, CAPPED_NOW, THROTTLED_NOW, SOFT_LIMIT_NOW = 1 << 0, 1 << 1, 1 << 2, 1 << 3
UNDERVOLT_SEEN, CAPPED_SEEN, THROTTLED_SEEN, SOFT_LIMIT_SEEN = 1 << 16, 1 << 17, 1 << 18, 1 << 19


@dataclass
class Check:
    key: str
    title: str
    status: str
    summary: str
    details: list[str] = field(default_factory=list)

    @property
    def needs_person(self) -> bool:
        return self.status in (WARN, FAIL)

    @property
    def label(self) -> str:
        return LABELS[self.status]


# --- what is remembered -------------------------------------------------------------------------

def _state_path(data_dir: Path) -> Path:
    return Path(data_dir) / "health" / "state.json"


def read_state(data_dir: Path) -> dict:
    try:
        loaded = json.loads(_state_path(data_dir).read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        return {}


@contextmanager
def update_state(data_dir: Path) -> Iterator[dict]:
    """Read, let the caller change, write back atomically; the server and the console may both."""
    path = _state_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(".state.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = read_state(data_dir)
        yield state
        write_atomic(path, json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True))
    finally:
        os.close(fd)


def _stamp(at: datetime | None = None) -> str:
    return (at or clock.now()).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ru_time(at: datetime | None) -> str:
    return at.astimezone().strftime("%d.%m.%Y %H:%M") if at else "—"


_ru = ru_time


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} мин."
    if minutes < 48 * 60:
        return f"{minutes // 60} ч"
    return f"{minutes // (24 * 60)} сут."


def _mb(n: float) -> str:
    if abs(n) >= 10_000_000_000:
        return f"{n / 1e9:.0f} ГБ"
    if abs(n) >= 1_000_000_000:
        return f"{n / 1e9:.1f} ГБ".replace(".", ",")
    return f"{n / 1e6:.0f} МБ"


def record_start(settings: Settings) -> None:
    """`zhurnal serve` started (for «запусков за неделю»)."""
    try:
        with update_state(settings.data_dir) as s:
            s["starts"] = ([_stamp()] + list(s.get("starts") or []))[:STARTS_KEPT]
    except OSError:
        pass  # the checks are a help; the server starts anyway


# --- the machine -------------------------------------------------------------------------------

def _root(settings: Settings) -> Path:
    return Path(settings.system_root or "/")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def cpu_temperature(settings: Settings) -> float | None:
    """°C of the CPU's thermal zone (the Pi's cpu-thermal, a PC's x86_pkg_temp), else the hottest."""
    zones = sorted((_root(settings) / "sys/class/thermal").glob("thermal_zone*"))
    readings = {}
    for zone in zones:
        raw = _read(zone / "temp")
        if raw and raw.lstrip("-").isdigit():
            readings[_read(zone / "type") or zone.name] = int(raw) / 1000
    for name in ("cpu-thermal", "cpu_thermal", "x86_pkg_temp", "soc_thermal"):
        if name in readings:
            return readings[name]
    return max(readings.values()) if readings else None


def throttled_flags(settings: Settings) -> int | None:
    """The Raspberry Pi firmware's throttling word, from sysfs or `vcgencmd`; None elsewhere."""
    root = _root(settings)
    raw = _read(root / "sys/devices/platform/soc/soc:firmware/get_throttled")
    if raw is None and not settings.system_root and shutil.which("vcgencmd"):
        try:
            out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5).stdout
            raw = out.strip().partition("=")[2] or None
        except (OSError, subprocess.SubprocessError):
            raw = None
    if raw is None:
        return None
    try:
        return int(raw, 16)
    except ValueError:
        return None


def undervoltage_now_hwmon(settings: Settings) -> bool | None:
    """Newer Pi kernels: hwmon «rpi_volt», in0_lcrit_alarm = 1 while the supply is too low."""
    for hw in (_root(settings) / "sys/class/hwmon").glob("hwmon*"):
        if _read(hw / "name") == "rpi_volt":
            alarm = _read(hw / "in0_lcrit_alarm")
            return alarm == "1" if alarm is not None else None
    return None


def uptime_seconds(settings: Settings) -> float | None:
    raw = _read(_root(settings) / "proc/uptime")
    try:
        return float(raw.split()[0]) if raw else None
    except ValueError:
        return None


# --- the checks -----------------------------------------------------------------------------------

def check_disk(settings: Settings, state: dict | None = None) -> Check:
    """Free space where the data (and backups) live, and how fast it goes (samples per day)."""
    where = settings.data_dir if Path(settings.data_dir).exists() else Path(".")
    usage = shutil.disk_usage(where)
    samples = _disk_samples(settings, usage.free, state)
    slope = _trend(samples)
    percent = usage.free * 100 / usage.total if usage.total else 0
    summary = f"свободно {_mb(usage.free)} из {_mb(usage.total)} ({percent:.0f} %)"
    details = []
    days_left = None
    if slope is not None:
        if slope < -1_000_000:
            days_left = usage.free / -slope
            details.append(f"Место убывает на {_mb(-slope)} в сутки: его хватит примерно на {days_left:.0f} дн.")
        else:
            details.append("За последние недели место почти не убывает.")
    else:
        details.append("Тенденция появится через несколько дней наблюдений.")
    status = OK
    min_free = settings.backup_min_free_mb * 1_000_000
    if usage.free < min_free:
        status = FAIL
        details.insert(0, f"Свободно меньше {settings.backup_min_free_mb} МБ: резервные копии и журнал могут "
                          "перестать записываться. Удалите лишние файлы или поставьте диск больше.")
    elif days_left is not None and days_left < DISK_WARN_DAYS_LEFT:
        status = WARN
        details.insert(0, f"При таком расходе место кончится примерно через {days_left:.0f} дн.")
    return Check("disk", "Диск", status, summary, details)


def _disk_samples(settings: Settings, free: int, state: dict | None) -> list[tuple[float, int]]:
    """Free bytes per day (the last sample of each day, written at most hourly), for the trend."""
    today = clock.today().isoformat()
    state = state if state is not None else read_state(settings.data_dir)
    disk = dict(state.get("disk") or {})
    sampled = _parse(state.get("disk_sampled_at"))
    if today not in disk or not sampled or abs(clock.now() - sampled) > timedelta(hours=1):
        try:
            with update_state(settings.data_dir) as s:
                disk = dict(s.get("disk") or {})
                disk[today] = free
                for day in sorted(disk)[:-DISK_SAMPLES_DAYS]:
                    del disk[day]
                s["disk"], s["disk_sampled_at"] = disk, _stamp()
        except OSError:
            pass
    disk[today] = free
    points = []
    first = clock.today() - timedelta(days=DISK_TREND_DAYS)
    for day, value in disk.items():
        try:
            d = datetime.fromisoformat(day).date()
        except ValueError:
            continue
        if d >= first:
            points.append(((d - first).days, int(value)))
    return points


def _trend(points: list[tuple[float, int]]) -> float | None:
    """Bytes per day (least squares) over at least three days of samples; None before that."""
    if len(points) < 3 or max(x for x, _ in points) - min(x for x, _ in points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else None


def check_backups(settings: Settings) -> Check:
    """The newest backup's age and its last verification (backups/state.json)."""
    from backups import keys, state as backup_state, status as backup_status

    st = backup_state.read(settings.data_dir)
    if not keys.is_set_up(settings.data_dir):
        return Check("backups", "Резервные копии", WARN, "не настроены",
                     ["Администратор АСУ должен настроить резервное копирование на странице «Резервные копии»."])
    success = _parse((st.get("last_success") or {}).get("at"))
    verified = _parse((st.get("last_verified") or {}).get("at"))
    now = clock.now()
    summary = (f"последняя копия {_ru(success)} ({_ago(now - success)} назад)" if success else "копий ещё нет")
    details = [f"Последняя проверка копии: {_ru(verified)}." if verified else "Копии ещё не проверялись."]
    test = st.get("last_restore_test")
    if test:
        details.append(f"Проверка восстановления ключом восстановления: {'прошла' if test.get('ok') else 'НЕ прошла'} "
                       f"{_ru(_parse(test.get('at')))}.")
    problems = [p for p in backup_status.problems(settings, st) if not p.startswith("Мало места")]  # the disk check says it
    status = FAIL if problems else OK
    return Check("backups", "Резервные копии", status, summary, problems + details)


def sync_status(settings: Settings) -> dict | None:
    """The district sync's state for this page, or None when sync is not set up.

    A tiny read function for the sync area to fill in (it is built in parallel): return
    {"district": str, "last_success": datetime | None, "pending": int | None,
    "last_error": str | None} from its own state once `zhurnal sync setup` has been run."""
    from sync import school

    return school.health(settings)


def check_sync(settings: Settings) -> Check:
    st = sync_status(settings)
    if st is None:
        return Check("sync", "Синхронизация с районом", INFO, "не настроено")
    last = st.get("last_success")
    lag = clock.now() - last if last else None
    pending = st.get("pending")
    summary = f"последняя передача {_ru(last)} ({_ago(lag)} назад)" if lag is not None else "ещё не было передач"
    details = [f"Не передано изменений: {pending}."] if pending else []
    if st.get("last_error"):
        details.append(f"Последняя ошибка: {st['last_error']}")
    # No internet for a week is normal for some schools; the USB route exists (sync export).
    status = WARN if (lag is None or lag > timedelta(days=14)) and pending else OK
    return Check("sync", "Синхронизация с районом", status, summary, details)


def check_temperature(settings: Settings) -> Check:
    temp = cpu_temperature(settings)
    flags = throttled_flags(settings)
    if temp is None and flags is None:
        return Check("temperature", "Температура процессора", INFO, "датчика нет")
    summary = f"{temp:.0f} °C".replace(".", ",") if temp is not None else "—"
    status, details = OK, []
    if temp is not None and temp >= TEMP_FAIL_C:
        status = FAIL
        details.append("Процессор перегрет: сервер замедляется. Нужны радиатор или вентилятор, корпус не должен "
                       "стоять у батареи или на солнце.")
    elif temp is not None and temp >= TEMP_WARN_C:
        status = WARN
        details.append("Процессор горячий: близко к порогу, за которым он замедляется (80 °C).")
    if flags is not None:
        if flags & (THROTTLED_NOW | CAPPED_NOW | SOFT_LIMIT_NOW):
            status = FAIL if status == FAIL or flags & THROTTLED_NOW else WARN
            details.append("Сейчас процессор замедлен из-за перегрева или питания.")
        elif flags & (THROTTLED_SEEN | CAPPED_SEEN | SOFT_LIMIT_SEEN):
            status = WARN if status == OK else status
            details.append("После включения процессор замедлялся из-за перегрева или питания.")
        else:
            details.append("Замедлений процессора после включения не было.")
    return Check("temperature", "Температура процессора", status, summary, details)


def check_power(settings: Settings) -> Check:
    flags = throttled_flags(settings)
    hw = undervoltage_now_hwmon(settings)
    if flags is None and hw is None:
        return Check("power", "Питание", INFO, "не проверяется на этом компьютере")
    now = bool(flags is not None and flags & UNDERVOLT_NOW) or bool(hw)
    seen = bool(flags is not None and flags & UNDERVOLT_SEEN)
    advice = ("Блок питания слабый или кабель длинный/тонкий: при просадке напряжения карта памяти может "
              "повредиться. Поставьте официальный блок питания 5 В 3 А (Raspberry Pi 4) или 5 В 5 А (Pi 5).")
    if now:
        return Check("power", "Питание", FAIL, "напряжение питания сейчас слишком низкое", [advice])
    if seen:
        return Check("power", "Питание", WARN, "после включения было пониженное напряжение", [advice])
    return Check("power", "Питание", OK, "напряжение в норме")


def database_size(settings: Settings) -> int:
    path = settings.db_path
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def run_quick_check(settings: Settings) -> dict:
    """`PRAGMA quick_check` on the database (read-only), remembered with its time and duration."""
    started = time.monotonic()
    try:
        conn = collation.register(sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True, timeout=30))
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(20)")]
        finally:
            conn.close()
        result = "ok" if rows == ["ok"] else "; ".join(rows)[:1000]
    except sqlite3.Error as e:
        result = f"проверка не выполнена: {e}"
    entry = {"at": _stamp(), "result": result, "seconds": round(time.monotonic() - started, 2)}
    try:
        with update_state(settings.data_dir) as s:
            s["quick_check"] = entry
    except OSError:
        pass
    return entry


def check_database(settings: Settings, state: dict | None = None) -> Check:
    if not settings.db_path.exists():
        return Check("database", "База данных", WARN, "базы ещё нет",
                     ["Она появится при первом запуске сервера (zhurnal serve)."])
    size = database_size(settings)
    qc = (state if state is not None else read_state(settings.data_dir)).get("quick_check")
    summary = f"{_mb(size)}"
    if not qc:
        # Not a problem by itself: the health page and `zhurnal doctor` run the check.
        return Check("database", "База данных", INFO, summary, ["Проверка целостности ещё не выполнялась."])
    at = _parse(qc.get("at"))
    when = f"Проверка целостности {_ru(at)} ({str(qc.get('seconds', 0)).replace('.', ',')} с): "
    if qc.get("result") != "ok":
        return Check("database", "База данных", FAIL, summary,
                     [when + f"найдены ошибки — {qc.get('result')}. Не выключайте сервер, сделайте резервную копию "
                      "и обратитесь за помощью (восстановление из копии: backups/README.md)."])
    if at and clock.now() - at > QUICK_CHECK_MAX_AGE:
        return Check("database", "База данных", INFO, summary,
                     [when + "ошибок нет, но проверка давно не выполнялась."])
    return Check("database", "База данных", OK, summary, [when + "ошибок нет."])


# --- the clock --------------------------------------------------------------------------------------

def newest_record(conn: sqlite3.Connection) -> datetime | None:
    """The newest time in the ledger (among its last entries: cheap on any size)."""
    try:
        row = conn.execute("SELECT max(at) FROM (SELECT at FROM audit_log ORDER BY id DESC LIMIT 1000)").fetchone()
    except sqlite3.Error:
        return None
    return _parse(row[0]) if row else None


def earliest_possible(conn: sqlite3.Connection | None) -> tuple[datetime, str]:
    """The earliest moment "now" can be, and why (Russian, for the message)."""
    from .appliance.release import build_time

    floor, why = PROGRAM_EPOCH, "эта версия программы тогда ещё не существовала"
    built = build_time()
    if built and built > floor:
        floor, why = built, f"программа собрана {_ru(built)}"
    newest = newest_record(conn) if conn is not None else None
    if newest and newest > floor:
        floor, why = newest, f"в журнале уже есть записи от {_ru(newest)}"
    return floor, why


def impossible_date(floor: tuple[datetime, str], now: datetime | None = None) -> str | None:
    """The Russian refusal when the clock is before what has already happened; None if sane.
    Whatever the clock: one set by the `clock` setting (a demo shown on a chosen date) is as
    bound by what has already happened as the machine's own."""
    now = now or clock.now()
    at, why = floor
    if now >= at - CLOCK_SLACK:
        return None
    return (f"Часы сервера показывают невозможную дату — {_ru(now)}: {why}. Пока часы не исправлены, "
            "отметки и другие данные школы не записываются, чтобы не попасть под неверной датой. "
            "Сообщите администратору АСУ: страница «Состояние сервера».")


def check_clock(settings: Settings, conn: sqlite3.Connection | None) -> Check:
    now = clock.now()
    floor = earliest_possible(conn)
    summary = f"на сервере {_ru(now)}"
    problem = impossible_date(floor, now)
    if problem:
        return Check("clock", "Часы", FAIL, summary, [
            problem, "Как исправить: подключите сервер к сети с интернетом или к школьному серверу времени (NTP), "
            "или установите время вручную: sudo date -s \"2026-11-18 10:15\". У Raspberry Pi нет часов с "
            "батарейкой: после выключения без сети дата сбивается — поставьте модуль часов (RTC)."])
    newest = newest_record(conn) if conn is not None else None
    if newest and now - newest > CLOCK_AHEAD:
        return Check("clock", "Часы", WARN, summary, [
            f"Последняя запись в журнале сделана {_ru(newest)}, более {CLOCK_AHEAD.days} дней назад. Если дата на "
            "сервере неверна, исправьте её до того, как вносить отметки."])
    return Check("clock", "Часы", OK, summary,
                 ["Сравните со своими часами: если время неверно, отметки получат неверную дату."])


# --- the service ---------------------------------------------------------------------------------------

def _systemd_restarts() -> int | None:
    if not shutil.which("systemctl"):
        return None
    try:
        out = subprocess.run(["systemctl", "show", "zhurnal.service", "-p", "NRestarts", "--value"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return int(value) if out.returncode == 0 and value.isdigit() else None


def check_uptime(settings: Settings, state: dict | None = None) -> Check:
    state = state if state is not None else read_state(settings.data_dir)
    up = uptime_seconds(settings)
    starts = [t for t in (_parse(s) for s in state.get("starts") or []) if t]
    now = clock.now()
    parts = []
    if up is not None:
        parts.append(f"компьютер включён {_ago(timedelta(seconds=up))} назад")
    if starts:
        parts.append(f"сервер запущен {_ru(starts[0])}")
    week = [t for t in starts if now - t < timedelta(days=7)]
    day = [t for t in starts if now - t < timedelta(days=1)]
    details = [f"Запусков сервера за 7 дней: {len(week)}."]
    restarts = _systemd_restarts() if not settings.system_root else None
    status = OK
    if restarts:
        details.append(f"Служба перезапускалась после сбоя: {restarts} раз (sudo journalctl -u zhurnal).")
        status = WARN
    if len(day) > 5:
        details.append(f"За сутки сервер запускался {len(day)} раз: возможно, он падает или компьютер "
                       "теряет питание.")
        status = WARN
    return Check("uptime", "Работа сервера", status, "; ".join(parts) or "—", details)


def check_program(settings: Settings) -> Check:
    from .appliance import update as updates
    from .db import latest_version

    info = updates.status(settings)
    summary = f"версия {__version__}, схема базы {latest_version()}"
    details = []
    last = info.get("last")
    status = OK
    if last:
        when = _ru(_parse(last.get("finished_at") or last.get("started_at")))
        if last.get("ok"):
            details.append(f"Последнее обновление: {last.get('from')} → {last.get('to')}, {when}.")
        elif last.get("state") == "running":
            details.append(f"Идёт обновление до {last.get('to')} (начато {when}).")
        else:
            status = WARN
            details.append(f"Обновление до {last.get('to')} не удалось ({when}) и отменено: {last.get('error')}")
    from sync import offer as district_offer

    offered = district_offer.ready(settings)
    if offered and not info.get("pending"):
        # Not a problem (the status stays): a choice for the sysadmin, named where they look.
        details.append(f"Район предлагает версию {offered['version']}: пакет скачан и проверен, установить — "
                       "на странице «Обновление программы» (/admin/update).")
    return Check("program", "Программа", status, summary, details)


def check_tls(settings: Settings) -> Check:
    from .appliance import tls

    return tls.health(settings)


# --- all of them ---------------------------------------------------------------------------------------

def _read_conn(settings: Settings) -> sqlite3.Connection | None:
    if not settings.db_path.exists():
        return None
    try:
        return collation.register(sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True, timeout=5))
    except sqlite3.Error:
        return None


def quick_check_due(settings: Settings, state: dict | None = None) -> bool:
    qc = (state if state is not None else read_state(settings.data_dir)).get("quick_check") or {}
    at = _parse(qc.get("at"))
    return settings.db_path.exists() and (at is None or abs(clock.now() - at) > QUICK_CHECK_EVERY)


def run_all(settings: Settings, *, quick_check: bool | None = False) -> list[Check]:
    """Every check, in the order a person reads them. Blocking: run it in a thread.

    `quick_check`: True runs `PRAGMA quick_check` first (zhurnal doctor), None runs it when the
    last one is older than a day (the health page), False only reports the last one."""
    if quick_check or (quick_check is None and quick_check_due(settings)):
        if settings.db_path.exists():
            run_quick_check(settings)
    state = read_state(settings.data_dir)
    conn = _read_conn(settings)
    try:
        return [
            check_clock(settings, conn),
            check_disk(settings, state),
            check_backups(settings),
            check_database(settings, state),
            check_temperature(settings),
            check_power(settings),
            check_sync(settings),
            check_uptime(settings, state),
            check_program(settings),
            check_tls(settings),
        ]
    finally:
        if conn is not None:
            conn.close()


_recent: dict[str, tuple[float, list[Check]]] = {}
PROBLEMS_CACHE_SECONDS = 60


def problems(settings: Settings) -> list[Check]:
    """The checks that need a person, for the home page (backups have their own line there);
    the same answer for a minute, so the home page does not run every check on each visit."""
    key = str(Path(settings.data_dir).resolve())
    cached = _recent.get(key)
    if cached and time.monotonic() - cached[0] < PROBLEMS_CACHE_SECONDS:
        return cached[1]
    found = [c for c in run_all(settings) if c.needs_person and c.key != "backups"]
    _recent[key] = (time.monotonic(), found)
    return found


def forget_cached(settings: Settings) -> None:
    _recent.pop(str(Path(settings.data_dir).resolve()), None)
