"""One settings object: defaults for a demo on a laptop, overridden by
`DATA/zhurnal.toml`, then by `ZHURNAL_*` environment variables, then by CLI flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import UserError


class ConfigError(UserError):
    """A settings file or variable that cannot be used; the message is Russian."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "0.0.0.0"
    port: int = 8000
    mdns: bool = True
    # Single-label mDNS host name: the school opens http://<mdns_hostname>.local:<port>
    mdns_hostname: str = "zhurnal"
    # A session ends after this long without a request (a teacher's day fits in it).
    session_idle_minutes: int = 8 * 60
    # Failed-login throttling, see server/accounts/throttle.py for why three keys.
    login_window_minutes: int = 15
    login_max_failures_account_address: int = 5
    login_max_failures_account: int = 20
    login_max_failures_address: int = 100
    max_request_bytes: int = 2_000_000
    # The hall kiosk (/kiosk): its session ends after this many seconds without input,
    # in the browser (static/kiosk.js) and on the server (server/web/access.py).
    kiosk_idle_seconds: int = 90
    # Attachments to messages: per file, and how many files per message.
    message_attachment_mb: int = 5
    message_attachments_max: int = 3
    read_connections: int = 4
    # Processes of `zhurnal serve` (server/workers.py): 0 — one per core, as memory allows.
    workers: int = 0
    # Backups (backups/README.md): nightly at backup_time (local, HH:MM), and never older
    # than 24 h while the server runs; checked every backup_check_seconds.
    backup_auto: bool = True
    backup_time: str = "02:00"
    backup_check_seconds: int = 300
    backup_retry_minutes: int = 60
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 5
    backup_keep_monthly: int = 12
    backup_min_free_mb: int = 1024
    # USB copy: a folder, or the label of a drive mounted under /media or /mnt.
    backup_usb_dir: str = ""
    backup_usb_label: str = ""
    # District sync (sync/README.md): a round every sync_interval minutes; while the district
    # is unreachable, retries from sync_retry_seconds doubling up to the interval (with jitter).
    sync_interval: int = 15
    sync_retry_seconds: int = 15
    sync_timeout_seconds: int = 30
    # HTTP proxy for the upload: empty — the http_proxy/https_proxy environment; "none" — none.
    sync_proxy: str = ""
    # The program's clock (server/clock.py) starts at this moment and runs on — for a demo
    # shown on a chosen date and for tests, e.g. "2026-11-18T10:15". Empty: the real time.
    clock: str = ""
    # Health checks (server/health.py) read /sys and /proc under this folder instead of "/"
    # (tests give a fake one). Empty: the real system.
    system_root: str = ""
    # HTTPS on the LAN once `zhurnal tls setup` made the school's certificates: the HTTPS port;
    # plain HTTP then either redirects to HTTPS ("redirect", except the page that offers the
    # school's CA certificate) or keeps working ("all"); addresses in tls_http_allow (the hall
    # kiosk, comma-separated) keep plain HTTP whatever tls_http says.
    # Journal control (server/reports/control.py, §3.4.4): a student with fewer grades in a
    # period is flagged («не менее трёх отметок за четверть»); a grade entered more than this
    # many days after its lesson is late.
    control_min_grades: int = 3
    control_grade_days: int = 3
    https_port: int = 8443
    tls_http: str = "redirect"
    tls_http_allow: str = ""

    @property
    def db_path(self) -> Path:
        return self.data_dir / "zhurnal.sqlite3"


def default_data_dir() -> Path:
    return Path(os.environ.get("ZHURNAL_DATA") or "data")


def load_settings(data_dir: Path | None = None, **overrides) -> Settings:
    """Settings for DATA: the TOML file in it, the environment, then `overrides`."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    values: dict = {}
    toml_path = data_dir / "zhurnal.toml"
    if toml_path.exists():
        try:
            values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"Файл настроек {toml_path} повреждён: {e}") from e
    known = {f.name: f for f in fields(Settings)}
    for name in known:
        env = os.environ.get("ZHURNAL_" + name.upper())
        if env is not None and name != "data_dir":
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError("Неизвестные настройки: " + ", ".join(sorted(unknown)))
    settings = Settings(data_dir=data_dir)
    converted = {}
    for name, raw in values.items():
        if name == "data_dir":
            continue
        default = getattr(settings, name)
        if isinstance(default, bool):
            converted[name] = _boolean(name, raw)
        elif isinstance(default, int):
            if isinstance(raw, bool):
                raise ConfigError(f"Настройка {name}: ожидалось целое число, получено «{raw}».")
            try:
                converted[name] = int(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"Настройка {name}: ожидалось целое число, получено «{raw}».") from None
        else:
            converted[name] = str(raw)
    result = replace(settings, **converted)
    _check(result)
    return result


_TRUE = ("1", "true", "yes", "on", "да")
_FALSE = ("0", "false", "no", "off", "нет", "")


def _boolean(name: str, raw) -> bool:
    """true/false (also 1/0, yes/no, да/нет); anything else is a typo, not False."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"Настройка {name}: нужно true или false (да или нет), а указано «{raw}».")


def _check(s: Settings) -> None:
    """Values a setting cannot take: said at load, not discovered at 2 a.m."""
    import re

    m = re.fullmatch(r"(\d{1,2}):(\d{2})", s.backup_time.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ConfigError(f"Настройка backup_time: время в формате ЧЧ:ММ, например 02:00, а указано «{s.backup_time}».")
    if s.workers < 0 or s.workers > 64:
        raise ConfigError(f"Настройка workers: число процессов от 1 до 64 (0 — по числу ядер), а указано {s.workers}.")
    if s.clock:
        from .clock import parse_moment

        try:
            parse_moment(s.clock)
        except ValueError as e:
            raise ConfigError(f"Настройка clock: {e}") from None
