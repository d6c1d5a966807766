"""The server watches its own health: `zhurnal doctor` (exit 0 healthy, 1 needs a person, 2 bad
usage), the sysadmin's page, the line on the administration's home page, and no school data
on an impossible date. The machine (/sys, /proc) is a fake folder given by the `system_root`
setting: the real code reads it as it reads a Raspberry Pi's."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import login, make_client, session_csrf
from test_cli import run_cli
from test_journal import Teacher, lessons_of

from server import clock, health


def fake_machine(root: Path, temp_c: float | None = 47.2, throttled: str | None = "0", uptime: float = 93_784.5):
    """A Raspberry Pi's /sys and /proc as the kernel shows them."""
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "type").write_text("cpu-thermal\n")
    if temp_c is not None:
        (zone / "temp").write_text(f"{int(temp_c * 1000)}\n")
    firmware = root / "sys/devices/platform/soc/soc:firmware"
    firmware.mkdir(parents=True, exist_ok=True)
    if throttled is not None:
        (firmware / "get_throttled").write_text(throttled + "\n")
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/uptime").write_text(f"{uptime} 180000.00\n")
    return root


@pytest.fixture
def school(data_dir, tmp_path, capsys):
    """The demo school with backups set up and made (nothing left for a person to do), and a
    healthy Raspberry Pi under it."""
    machine = fake_machine(tmp_path / "machine")
    (data_dir / "zhurnal.toml").write_text(f'system_root = "{machine}"\nmdns = false\n', encoding="utf-8")
    assert run_cli(capsys, "backup", "setup", "--data", str(data_dir), "--recovery-key-out",
                   str(tmp_path / "recovery.txt"))[0] == 0
    assert run_cli(capsys, "backup", "create", "--data", str(data_dir))[0] == 0
    return data_dir, machine


def doctor(capsys, data_dir) -> tuple[int, str]:
    code, out, err = run_cli(capsys, "doctor", "--data", str(data_dir))
    return code, out + err


def test_doctor_says_all_is_well_on_a_healthy_pi_and_exits_0(capsys, school):
    data_dir, _ = school
    code, out = doctor(capsys, data_dir)
    assert code == 0, out
    assert "Всё в порядке." in out
    assert "Температура процессора: 47 °C" in out
    assert "Замедлений процессора после включения не было." in out
    assert "Питание: напряжение в норме" in out
    assert "компьютер включён 26 ч назад" in out
    assert "Синхронизация с районом: не настроено" in out
    assert "ошибок нет" in out  # the doctor ran PRAGMA quick_check
    assert "последняя копия" in out


@pytest.mark.parametrize("throttled, temp_c, status, expected", [
    ("50005", 61.0, "[ОШИБКА]", "Питание: напряжение питания сейчас слишком низкое"),
    ("50000", 61.0, "[ВНИМАНИЕ]", "Питание: после включения было пониженное напряжение"),
    ("0", 78.5, "[ВНИМАНИЕ]", "Температура процессора: 78 °C"),
    ("0", 86.0, "[ОШИБКА]", "Процессор перегрет"),
    ("e0004", 81.0, "[ОШИБКА]", "Сейчас процессор замедлен"),
])
def test_doctor_exits_1_when_the_pi_is_hot_throttled_or_underpowered(capsys, school, throttled, temp_c, status,
                                                                       expected):
    data_dir, machine = school
    fake_machine(machine, temp_c=temp_c, throttled=throttled)
    code, out = doctor(capsys, data_dir)
    assert code == 1, out
    assert expected in out
    assert any(line.startswith(status) for line in out.splitlines()), out
    assert "Нужно внимание:" in out


def test_doctor_refuses_bad_usage_with_exit_2(capsys, tmp_path):
    code, out = doctor(capsys, tmp_path / "нет-такой-папки")
    assert code == 2 and "Папки данных" in out
    code, _, err = run_cli(capsys, "doctor", "--verbose")
    assert code == 2 and "неизвестные аргументы" in err


def test_doctor_finds_a_damaged_database(capsys, school):
    data_dir, _ = school
    db = data_dir / "zhurnal.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:  # a sector of the SD card gone bad in the middle of the file
        f.seek(page_size * (pages // 2))
        f.write(b"\xff" * page_size * 4)
    code, out = doctor(capsys, data_dir)
    assert code == 1
    db_line = next(line for line in out.splitlines() if "База данных" in line)
    assert db_line.startswith("[ОШИБКА]"), out
    assert "Не выключайте сервер" in out


def test_doctor_warns_when_the_disk_will_be_full_within_a_month(capsys, school):
    data_dir, _ = school
    # What the server remembered over the last ten days: the free space fell fast.
    import shutil

    free = shutil.disk_usage(data_dir).free
    today = clock.today()
    samples = {(today - timedelta(days=d)).isoformat(): free + d * free // 10 for d in range(10, 0, -1)}
    (data_dir / "health").mkdir(exist_ok=True)
    state = health.read_state(data_dir)
    state["disk"] = samples
    (data_dir / "health/state.json").write_text(json.dumps(state))
    code, out = doctor(capsys, data_dir)
    assert code == 1, out
    assert "место кончится примерно через 10 дн." in out
    assert "[ВНИМАНИЕ] Диск:" in out


def test_the_sysadmin_sees_every_check_on_the_health_page_and_can_run_the_database_check(school):
    data_dir, machine = school
    fake_machine(machine, temp_c=79.0)
    with make_client(data_dir) as c:
        login(c, "sysadmin")
        r = c.get("/admin/health")
        assert r.status_code == 200
        for title in ("Часы", "Диск", "Резервные копии", "База данных", "Температура процессора", "Питание",
                      "Синхронизация с районом", "Работа сервера", "Программа", "HTTPS"):
            assert f"<th scope=\"row\">{title}</th>" in r.text
        assert "Нужно внимание: Температура процессора." in r.text
        assert "79 °C" in r.text
        r = c.post("/admin/health/check-db", data={"csrf_token": session_csrf(c)}, follow_redirects=False)
        assert r.status_code == 303
        assert "Проверка целостности базы выполнена." in c.get(r.headers["location"]).text
        # The deputy sees the line on the home page, and may read the page, not run checks.
        c.cookies.clear()
        login(c, "deputy")
        home = c.get("/").text
        assert 'id="health-alert"' in home and "Температура процессора — 79 °C" in home
        assert c.get("/admin/health").status_code == 200
        assert "Проверить целостность базы сейчас" not in c.get("/admin/health").text


def test_the_home_page_has_no_server_line_when_all_is_well(school):
    data_dir, _ = school
    with make_client(data_dir) as c:
        login(c, "deputy")
        assert 'id="health-alert"' not in c.get("/").text
        c.cookies.clear()
        login(c, "teacher01")
        assert "Сервер:" not in c.get("/").text


# --- the clock -----------------------------------------------------------------------------------------

def test_a_date_before_the_program_existed_is_impossible():
    floor = health.earliest_possible(None)
    message = health.impossible_date(floor, now=datetime(1970, 1, 1, 3, tzinfo=timezone.utc))
    assert message and "01.01.1970" in message and "не записываются" in message
    assert health.impossible_date(floor, now=datetime(2026, 11, 18, 10, tzinfo=timezone.utc)) is None


def test_no_grades_are_recorded_on_an_impossible_date_and_the_sysadmin_is_told_why(data_dir, capsys):
    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    today = clock.now()
    with make_client(data_dir) as c:
        # The server ran with a right clock ten days from now (the deputy changed a setting then) …
        clock.set_now(clock.now() + timedelta(days=10))
        login(c, "deputy")
        r = c.post("/school/grading/settings", data={"forecast_threshold": "0,6", "csrf_token": session_csrf(c)},
                   follow_redirects=False)
        assert r.status_code == 303
        c.cookies.clear()
        # … then it rebooted without the internet and its clock went back to today.
        clock.set_now(today)
        login(c, "teacher01")  # logging in still works
        t = Teacher(c, 1)
        student = t.students[0]
        before = sqlite3.connect(data_dir / "zhurnal.sqlite3").execute("SELECT count(*) FROM grade").fetchone()[0]
        r = t.cell(student, day, n, "5")
        assert r.status_code == 409, r.text  # the grid shows a 4xx answer's words under the cell
        assert "Часы сервера показывают невозможную дату" in r.text and "в журнале уже есть записи от" in r.text
        # The JSON API the same way, and an HTML form gets the Russian page.
        r = c.put(f"/api/v1/journals/1/lessons/{day}/{n}/cells/{student}", json={"text": "4"},
                  headers={"X-CSRF-Token": session_csrf(c)})
        assert r.status_code == 409 and "невозможную дату" in r.json()["error"]
        r = c.post("/messages", data={"csrf_token": session_csrf(c), "subject": "x", "body": "y"})
        assert r.status_code == 409 and "невозможную дату" in r.text
        after = sqlite3.connect(data_dir / "zhurnal.sqlite3").execute("SELECT count(*) FROM grade").fetchone()[0]
        assert after == before
        assert c.get("/journals/1").status_code == 200  # reading goes on
        c.cookies.clear()
        login(c, "sysadmin")
        page = c.get("/admin/health").text
        assert 'id="check-clock"' in page and "невозможную дату" in page and "sudo date -s" in page
    code, out = doctor(capsys, data_dir)
    assert code == 1 and "[ОШИБКА]   Часы:" in out
    # A clock the program is told to use (a demo shown on a chosen date) is taken as meant.
    clock.set_now(clock.now() + timedelta(days=10, minutes=1))
    with make_client(data_dir) as c:
        login(c, "teacher01")
        assert Teacher(c, 1).cell(student, day, n, "5").status_code == 200
