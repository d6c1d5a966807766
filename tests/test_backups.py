"""Encrypted backups and restore: what the admin can rely on, and every bad input refused.

Backups are real files in temp folders, made through the same functions the server and
`zhurnal backup` use; the `age` tool (Debian package `age`) checks that the files are
plain age files both ways."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import csrf_from, login, make_client

from backups import archive, create, keys, restore, retention, scheduler, state, status, usb
from backups.errors import BackupError
from server import clock
from server.cli import main
from server.config import load_settings
from server.db import Database, DatabaseTooNew, latest_version, migrations

REPO = Path(__file__).resolve().parents[1]
AGE = shutil.which("age")
needs_age = pytest.mark.skipif(AGE is None, reason="the `age` tool is not installed (apt-get install age)")


# --- helpers -------------------------------------------------------------------------

def settings_for(data: Path, **kw):
    return load_settings(data, mdns=False, **kw)


def set_up_keys(data: Path, key_file: Path) -> str:
    """Backup set-up as `zhurnal backup setup` does it; returns the recovery public key."""
    _, public = keys.set_up(data, deliver=lambda text: keys.write_recovery_key_file(key_file, text))
    return public


def run_cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def row_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed(data: Path) -> list[str]:
    return [e.name for e in status.list_backups(data / "backups")]


@pytest.fixture
def school(data_dir, tmp_path):
    """The demo school with backups set up: (data dir, recovery key file)."""
    key = tmp_path / "recovery.txt"
    set_up_keys(data_dir, key)
    return data_dir, key


@pytest.fixture
def backup(school):
    """One good backup of the demo school: (data dir, recovery key file, backup path)."""
    data, key = school
    entry = create.create_backup(settings_for(data), "manual")
    return data, key, entry.path


# --- set-up and keys -------------------------------------------------------------------

def test_admin_gets_the_recovery_key_once_in_age_format_and_the_server_keeps_only_its_public_half(capsys, data_dir, tmp_path):
    key = tmp_path / "safe" / "recovery.txt"
    key.parent.mkdir()
    code, out, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", key)
    assert code == 0, err
    text = key.read_text()
    lines = text.splitlines()
    assert any(line.startswith("# created: ") for line in lines)
    public = next(line.split(": ", 1)[1] for line in lines if line.startswith("# public key: "))
    secret = next(line for line in lines if line.startswith("AGE-SECRET-KEY-1"))
    assert keys.age.recipient_from_identity(secret) == public
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    server_key = data_dir / "keys" / "backup-server.key"
    assert oct(server_key.stat().st_mode & 0o777) == "0o600"
    # Nowhere in the data folder (database included) is the recovery private key.
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert public in (data_dir / "keys" / "backup-recipients.txt").read_text()
    # A second set-up is refused and does not touch the existing key file.
    code, _, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", tmp_path / "other.txt")
    assert code == 2 and "уже настроено" in err
    assert not (tmp_path / "other.txt").exists()


def test_backups_refuse_to_run_before_set_up(capsys, data_dir):
    code, out, err = run_cli(capsys, "backup", "create", "--data", data_dir)
    assert code == 2 and "не настроено" in err and "backup setup" in err
    assert listed(data_dir) == []


def test_setup_refuses_to_put_the_recovery_key_into_the_data_folder_or_over_a_file(capsys, data_dir, tmp_path):
    code, _, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", data_dir / "k.txt")
    assert code == 2 and "папке данных" in err
    existing = tmp_path / "exists.txt"
    existing.write_text("мой файл")
    code, _, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", existing)
    assert code == 2 and "уже существует" in err
    assert existing.read_text() == "мой файл"
    assert not keys.is_set_up(data_dir)  # nothing half set up: no key was lost


def test_extra_recipient_can_open_new_backups(capsys, school, tmp_path):
    data, _ = school
    district_secret, district_public = keys.age.generate_identity()
    code, _, err = run_cli(capsys, "backup", "add-recipient", "--data", data, district_public, "--label", "район")
    assert code == 0, err
    code, _, err = run_cli(capsys, "backup", "add-recipient", "--data", data, "age1notakey")
    assert code == 2 and "Ошибка" in err
    entry = create.create_backup(settings_for(data))
    manifest = create.verify_backup(settings_for(data), entry.path, [keys.age.parse_identity(district_secret)])
    assert manifest["school_name"]


# --- the file format and the age tool ----------------------------------------------------

def test_backup_is_a_manifest_and_the_database_in_a_compressed_tar(backup):
    data, _, path = backup
    with open(path, "rb") as f:
        raw = io.BytesIO()
        keys.age.decrypt(f, raw, [keys.server_identity(data)])
    raw.seek(0)
    with tarfile.open(fileobj=raw, mode="r:gz") as tar:
        assert tar.getnames() == ["manifest.json", "zhurnal.sqlite3"]
        manifest = json.loads(tar.extractfile("manifest.json").read())
        db = tar.extractfile("zhurnal.sqlite3").read()
    # Format 2 (issue 11): the school's files follow the database; this school has none yet.
    assert manifest["format"] == "zhurnal-backup" and manifest["format_version"] == 2
    assert manifest["files"] == []
    assert manifest["schema_version"] == latest_version()
    assert manifest["app_version"] and manifest["created_at"].endswith("Z")
    assert manifest["school_uid"] == sqlite3.connect(data / "zhurnal.sqlite3").execute("SELECT uid FROM school").fetchone()[0]
    assert manifest["database"]["sha256"] == hashlib.sha256(db).hexdigest()
    assert manifest["tables"]["person"] > 1000 and manifest["tables"]["feed_epoch"] == 1


@needs_age
def test_age_tool_decrypts_our_backup_with_the_recovery_key(backup, tmp_path):
    data, key, path = backup
    out = tmp_path / "plain.tar.gz"
    subprocess.run([AGE, "-d", "-i", str(key), "-o", str(out), str(path)], check=True, capture_output=True)
    with tarfile.open(out, "r:gz") as tar:
        assert tar.getnames() == ["manifest.json", "zhurnal.sqlite3"]
        manifest = json.loads(tar.extractfile("manifest.json").read())
        db = tar.extractfile("zhurnal.sqlite3").read()
    assert hashlib.sha256(db).hexdigest() == manifest["database"]["sha256"]


def _plain_archive(data: Path, tmp_path: Path, mutate=None) -> Path:
    """A tar.gz made as a backup is made, unencrypted (for the age tool to encrypt)."""
    db = data / "zhurnal.sqlite3"
    if mutate:
        db = tmp_path / "mutated.sqlite3"
        shutil.copy(data / "zhurnal.sqlite3", db)
        conn = sqlite3.connect(db)
        mutate(conn)
        conn.commit()
        conn.close()
    snap = archive.take_snapshot(db, tmp_path / "snap.sqlite3")
    out = tmp_path / "backup.tar.gz"
    with open(out, "wb") as f:
        archive.write_tar(f, snap.manifest, snap.path)
    return out


@needs_age
def test_our_restore_reads_a_file_the_age_tool_encrypted_to_our_keys(capsys, school, tmp_path):
    data, key = school
    plain = _plain_archive(data, tmp_path)
    recovery_public = keys.age.load_identities(key)[0].recipient
    by_age = tmp_path / "zhurnal-by-age.tar.gz.age"
    subprocess.run([AGE, "-r", recovery_public, "-o", str(by_age), str(plain)], check=True, capture_output=True)
    fresh = tmp_path / "new-machine"
    code, out, err = run_cli(capsys, "backup", "restore", "--data", fresh, by_age, "--key", key, "--yes")
    assert code == 0, err
    assert "База восстановлена" in out
    # The server key opens a file the age tool encrypted to the whole recipients file too.
    by_age_server = tmp_path / "to-recipients.age"
    subprocess.run([AGE, "-R", str(data / "keys" / "backup-recipients.txt"), "-o", str(by_age_server), str(plain)],
                   check=True, capture_output=True)
    code, out, err = run_cli(capsys, "backup", "verify", "--data", data, by_age_server)
    assert code == 0 and "Копия в порядке" in out, err


# --- bad input is refused, nothing changes --------------------------------------------------

def _bad_files(data: Path, key: Path, good: Path, tmp_path: Path) -> dict[str, tuple[Path, Path, str]]:
    """name → (file, key file, expected words in the message)."""
    wrong_key = tmp_path / "wrong.txt"
    secret, public = keys.age.generate_identity()
    wrong_key.write_text(keys.key_file_text(secret, public))
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.age"
    truncated.write_bytes(raw[: len(raw) // 2])
    flipped = tmp_path / "flipped.age"
    flipped.write_bytes(raw[:-200] + bytes([raw[-200] ^ 0x04]) + raw[-199:])
    not_backup = tmp_path / "notes.age"
    not_backup.write_text("Это список покупок, а не копия.\n" * 50)
    # A real age file to our key, but what is inside is not a backup.
    foreign = tmp_path / "foreign.age"
    recipients = keys.require_set_up(data)
    with open(foreign, "wb") as f:
        keys.age.encrypt(io.BytesIO(b"just some bytes" * 1000), f, recipients)
    # A backup from a newer Zhurnal (schema the program does not know yet).
    newer = tmp_path / "newer.age"
    plain = _plain_archive(data, tmp_path, lambda c: c.execute(
        "INSERT INTO schema_version VALUES (999, 'future', '2030-01-01T00:00:00Z')"))
    with open(plain, "rb") as src, open(newer, "wb") as f:
        keys.age.encrypt(src, f, recipients)
    return {
        "wrong key": (good, wrong_key, "Ключ не подходит"),
        "truncated": (truncated, key, "повреждён или обрезан"),
        "bit-flipped": (flipped, key, "повреждён"),
        "not an age file": (not_backup, key, "Это не зашифрованный файл"),
        "not a backup inside": (foreign, key, "не является резервной копией"),
        "newer schema": (newer, key, "более новой версией"),
        "missing file": (tmp_path / "nowhere.age", key, "не найден"),
        "key file is not a key": (good, not_backup, "Неверный формат ключа"),
    }


def test_every_bad_input_is_refused_with_exit_2_and_the_database_untouched(capsys, backup, tmp_path):
    data, key, good = backup
    db = data / "zhurnal.sqlite3"
    before, backups_before = digest(db), listed(data)
    for name, (file, key_file, words) in _bad_files(data, key, good, tmp_path).items():
        for command in ("restore", "verify"):
            extra = ["--yes"] if command == "restore" else []
            code, out, err = run_cli(capsys, "backup", command, "--data", data, file, "--key", key_file, *extra)
            assert code == 2, (name, command, out, err)
            assert err.startswith("Ошибка: ") and words in err, (name, err)
            assert "Traceback" not in err
        assert digest(db) == before, name
        assert listed(data) == backups_before, name
        assert not list((data / "backups").glob(".restore-*")) and not list((data / "backups").glob(".verify-*"))
    # And a restore onto an empty machine leaves it empty.
    fresh = tmp_path / "fresh"
    code, _, err = run_cli(capsys, "backup", "restore", "--data", fresh, tmp_path / "flipped.age", "--key", key, "--yes")
    assert code == 2 and not (fresh / "zhurnal.sqlite3").exists()


def test_a_full_disk_fails_the_backup_with_a_message_and_leaves_no_file(capsys, school, monkeypatch):
    data, _ = school
    real = archive.write_backup

    class FullDisk(io.RawIOBase):
        def __init__(self, f):
            self.f, self.n = f, 0

        def write(self, b):
            self.n += len(b)
            if self.n > 100_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(b)

    monkeypatch.setattr(archive, "write_backup", lambda out, *a, **kw: real(FullDisk(out), *a, **kw))
    code, out, err = run_cli(capsys, "backup", "create", "--data", data)
    assert code == 2 and "Недостаточно места на диске" in err
    assert listed(data) == [] and not [p for p in (data / "backups").iterdir() if p.name.startswith((".tmp", ".snap"))]
    assert "Недостаточно места" in state.read(data)["last_failure"]["reason"]
    # Too little room is seen before anything is written, too.
    monkeypatch.setattr(archive, "write_backup", real)
    monkeypatch.setattr(status, "free_bytes", lambda path: 1000)
    code, _, err = run_cli(capsys, "backup", "create", "--data", data)
    assert code == 2 and "свободно 0 МБ" in err


def test_power_lost_mid_backup_leaves_no_file_that_passes_for_a_backup(capsys, school, tmp_path):
    data, _ = school
    # Incompressible rows make the backup slow enough to be caught in the middle.
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    conn.execute("CREATE TABLE scratch (b BLOB)")
    conn.executemany("INSERT INTO scratch VALUES (randomblob(65536))", [()] * 600)
    conn.commit()
    conn.close()
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "backup", "create", "--data", str(data)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    folder = data / "backups"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".tmp-") and p.stat().st_size > 0 for p in folder.glob(".tmp-*")):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the backup finished before it could be interrupted"
    assert list(folder.glob(".tmp-*")), "the kill came before the encrypted file was being written"
    assert listed(data) == []
    code, out, _ = run_cli(capsys, "backup", "list", "--data", data)
    assert "Резервных копий нет" in out and ".tmp-" not in out
    # The next backup cleans up what was left and succeeds.
    code, out, err = run_cli(capsys, "backup", "create", "--data", data)
    assert code == 0, err
    assert listed(data) == [Path(out.strip()).name]
    assert not [p for p in folder.iterdir() if p.name.startswith((".tmp-", ".snap-", ".verify-"))]


# --- consistency while the school keeps working, and restore ------------------------------

def test_a_backup_made_while_teachers_keep_writing_restores_to_a_consistent_database(capsys, school, tmp_path):
    data, key = school
    db = data / "zhurnal.sqlite3"
    stop = threading.Event()
    batches = [0]

    def writer():
        # Each transaction writes 10 rows: a consistent copy holds whole transactions only.
        conn = sqlite3.connect(db, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO login_event(at, login_key, ip, outcome) VALUES "
                             "(strftime('%Y-%m-%dT%H:%M:%SZ','now'), 'x', ?, 'ok')", [(f"batch{batches[0]}",)] * 10)
            conn.execute("COMMIT")
            batches[0] += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while batches[0] < 5:
            time.sleep(0.001)
        started = batches[0]
        entry = create.create_backup(settings_for(data), "manual")
        during = batches[0] - started
        while batches[0] < started + during + 5:
            time.sleep(0.001)
    finally:
        stop.set()
        thread.join()
    assert during > 0, "no write happened while the backup ran"
    fresh = tmp_path / "restored"
    code, _, err = run_cli(capsys, "backup", "restore", "--data", fresh, entry.path, "--key", key, "--yes")
    assert code == 0, err
    conn = sqlite3.connect(fresh / "zhurnal.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    partial = conn.execute("SELECT ip, count(*) FROM login_event WHERE login_key = 'x' GROUP BY ip HAVING count(*) != 10").fetchall()
    assert partial == []
    copied = conn.execute("SELECT count(DISTINCT ip) FROM login_event WHERE login_key = 'x'").fetchone()[0]
    conn.close()
    assert started <= copied < batches[0]


def test_a_restore_on_an_empty_machine_brings_the_demo_school_back(capsys, demo_template, tmp_path):
    data = tmp_path / "old-machine"
    shutil.copytree(demo_template, data)
    key = tmp_path / "recovery.txt"
    set_up_keys(data, key)
    code, out, err = run_cli(capsys, "backup", "create", "--data", data)
    assert code == 0, err
    made = Path(out.strip())
    assert made.exists() and made.parent == data / "backups"
    usb_stick = tmp_path / "usb"
    usb_stick.mkdir()
    shutil.copy(made, usb_stick)
    shutil.rmtree(data)  # the old machine died
    fresh = tmp_path / "new-machine"
    code, out, err = run_cli(capsys, "backup", "restore", "--data", fresh, usb_stick / made.name, "--key", key, "--yes")
    assert code == 0, err
    assert "Школа:" in out and "Средняя общеобразовательная школа № 7" in out
    restored, original = row_counts(fresh / "zhurnal.sqlite3"), row_counts(demo_template / "zhurnal.sqlite3")
    assert restored.pop("feed_epoch") == original.pop("feed_epoch", 1) + 1  # the restore's own epoch
    assert restored == original
    conn = sqlite3.connect(fresh / "zhurnal.sqlite3")
    reason, source = conn.execute("SELECT reason, source FROM feed_epoch ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    assert reason.startswith("восстановление из резервной копии") and source == made.name
    assert state.read(fresh)["restores"][0]["file"] == made.name
    with make_client(fresh, backup_auto=False) as c:  # and the school works: people log in
        login(c, "director")


def test_restore_at_the_console_makes_a_safety_copy_and_asks_to_confirm(capsys, backup, tmp_path, monkeypatch):
    data, key, path = backup
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    conn.execute("UPDATE school SET name = 'Изменено после копии'")
    conn.commit()
    conn.close()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "нет")
    code, out, _ = run_cli(capsys, "backup", "restore", "--data", data, path)
    assert code == 1 and "отменено" in out
    assert _school_name(data) == "Изменено после копии"
    monkeypatch.setattr("builtins.input", lambda prompt: "да")
    code, out, err = run_cli(capsys, "backup", "restore", "--data", data, path)
    assert code == 0, err
    assert _school_name(data) != "Изменено после копии"
    safety = [e for e in status.list_backups(data / "backups", state.read(data)) if e.kind == "safety"]
    assert len(safety) == 1 and safety[0].keep
    prepared = restore.prepare_restore(settings_for(data), safety[0].path, [keys.server_identity(data)])
    assert prepared.school_name == "Изменено после копии"
    prepared.discard()


def _school_name(data: Path) -> str:
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    try:
        return conn.execute("SELECT name FROM school").fetchone()[0]
    finally:
        conn.close()


def test_console_restore_is_refused_while_the_server_runs(capsys, backup):
    data, key, path = backup
    with make_client(data, backup_auto=False):
        code, _, err = run_cli(capsys, "backup", "restore", "--data", data, path, "--key", key, "--yes")
    assert code == 2 and "Сервер Журнала запущен" in err


def test_running_database_swap_refuses_a_newer_schema_before_anything_changes(backup, tmp_path):
    import asyncio

    data, _, _ = backup
    newer = tmp_path / "newer.sqlite3"
    shutil.copy(data / "zhurnal.sqlite3", newer)
    conn = sqlite3.connect(newer)
    conn.execute("INSERT INTO schema_version VALUES (999, 'future', '2030-01-01T00:00:00Z')")
    conn.commit()
    conn.close()
    before = digest(data / "zhurnal.sqlite3")

    async def attempt():
        db = Database(data / "zhurnal.sqlite3", 2)
        await db.open()
        called = []
        try:
            with pytest.raises(DatabaseTooNew, match="более новой версией"):
                await db.replace_file(newer, lambda: called.append(1))
            assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM person").fetchone()[0]) > 1000  # still serving
        finally:
            await db.close()
        assert called == []

    asyncio.run(attempt())
    assert digest(data / "zhurnal.sqlite3") == before


def test_an_older_backup_is_migrated_on_restore(capsys, school, tmp_path):
    data, key = school
    # A database as a Zhurnal from before the backups migration (0003) left it.
    old_db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old_db)
    for version, name, sql in migrations()[:2]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, '2026-09-01T00:00:00Z')", (version, name))
    conn.execute("INSERT INTO school(id, uid, name, created_at) VALUES (1, 'old-uid', 'Старая школа', '2026-09-01T00:00:00Z')")
    conn.commit()
    conn.close()
    snap = archive.take_snapshot(old_db, tmp_path / "snap.sqlite3")
    assert snap.manifest["schema_version"] == 2
    old = tmp_path / "old.age"
    with open(old, "wb") as f:
        archive.write_backup(f, keys.require_set_up(data), snap.manifest, snap.path)
    fresh = tmp_path / "fresh"
    code, _, err = run_cli(capsys, "backup", "restore", "--data", fresh, old, "--key", key, "--yes")
    assert code == 0, err
    conn = sqlite3.connect(fresh / "zhurnal.sqlite3")
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == latest_version()
    assert [r[0] for r in conn.execute("SELECT reason FROM feed_epoch ORDER BY id")][0] == "начало"
    assert conn.execute("SELECT name FROM school").fetchone()[0] == "Старая школа"
    conn.close()


def test_restore_test_with_the_recovery_key_changes_nothing_and_is_remembered(capsys, backup):
    data, key, path = backup
    before = digest(data / "zhurnal.sqlite3")
    code, out, err = run_cli(capsys, "backup", "test-restore", "--data", data, "--key", key)
    assert code == 0 and "Проверка восстановления прошла" in out, err
    assert digest(data / "zhurnal.sqlite3") == before
    test = state.read(data)["last_restore_test"]
    assert test["ok"] and test["file"] == path.name
    code, out, _ = run_cli(capsys, "backup", "list", "--data", data)
    assert "Проверка восстановления:" in out and "прошла" in out and path.name in out


# --- retention, schedule, USB ------------------------------------------------------------

def test_retention_keeps_7_daily_5_weekly_12_monthly_marked_and_study_period_backups():
    start = datetime(2025, 1, 1, 2, 0)
    items = [retention.Item(f"b{i:03d}", start + timedelta(days=i)) for i in range(400)]  # to 2026-02-04
    items.append(retention.Item("manual-same-day", datetime(2026, 2, 4, 14, 0)))
    items.append(retention.Item("marked", datetime(2025, 3, 3, 2, 0), keep=True))
    kept = retention.to_keep(items, 7, 5, 12, periods=[(date(2025, 1, 9), date(2025, 3, 23))])
    by_name = {i.name: i.at for i in items}
    days = sorted({by_name[n].date() for n in kept}, reverse=True)
    # 7 daily: the last 7 days, newest of each day; all of the last 48 hours.
    assert {"manual-same-day", "b399", "b398"} <= kept and "b397" in kept
    assert [d.isoformat() for d in days[:7]] == [(date(2026, 2, 4) - timedelta(days=i)).isoformat() for i in range(7)]
    # 5 weekly: the newest backup of each of the last 5 ISO weeks (Sundays, but the current week's newest).
    weekly = {by_name[n].date() for n in kept if by_name[n].weekday() == 6 and by_name[n].date() < date(2026, 1, 29)}
    assert {date(2026, 1, 25), date(2026, 1, 18), date(2026, 1, 11)} <= weekly
    # 12 monthly: the last day of each month back to March 2025 (with February 2026 the 12th).
    monthly = {(by_name[n].year, by_name[n].month) for n in kept}
    assert (2025, 3) in monthly and (2025, 2) not in monthly or "marked" in kept
    assert date(2025, 3, 31) in {by_name[n].date() for n in kept}
    assert date(2025, 2, 28) not in {by_name[n].date() for n in kept}
    # Marked for good, and the last backup within the study period 09.01–23.03.2025.
    assert "marked" in kept and date(2025, 3, 23) in {by_name[n].date() for n in kept}
    assert len(kept) <= 7 + 5 + 12 + 3
    # Beyond 48 hours, one per day: a second backup of an older day goes.
    extra = items + [retention.Item("older-manual", datetime(2026, 1, 31, 15, 0))]
    assert "older-manual" in retention.to_keep(extra, 7, 5, 12) and "b395" not in retention.to_keep(extra, 7, 5, 12)
    assert retention.to_keep([], 7, 5, 12) == set()


def test_pruning_deletes_old_backups_but_never_marked_ones(school):
    data, _ = school
    settings = settings_for(data, backup_keep_daily=2, backup_keep_weekly=0, backup_keep_monthly=0)
    folder = data / "backups"
    folder.mkdir(exist_ok=True)
    first = create.create_backup(settings)
    status.set_keep(settings, first.name, True)
    for days in (5, 4, 3):  # older files copied in under older names
        when = clock.now() - timedelta(days=days)
        shutil.copy(first.path, folder / archive.new_name(folder, when))
    create.create_backup(settings)
    left = listed(data)
    assert first.name in left and len(left) == 3  # two newest days + the marked one


@pytest.mark.parametrize("now, last, failed, due", [
    ("2026-11-30 08:00", None, None, True),                          # never backed up
    ("2026-11-30 08:00", "2026-11-29 02:00", None, True),            # machine was off at 02:00
    ("2026-11-30 08:00", "2026-11-30 02:00", None, False),           # tonight's is done
    ("2026-11-30 01:59", "2026-11-29 02:01", None, False),           # not yet time
    ("2026-11-30 02:00", "2026-11-29 02:01", None, True),            # time
    ("2026-11-30 01:00", "2026-11-28 23:00", None, True),            # older than 24 h
    ("2026-11-30 08:00", "2026-11-28 02:00", "2026-11-30 07:30", False),  # failed 30 min ago: wait
    ("2026-11-30 08:00", "2026-11-28 02:00", "2026-11-30 06:30", True),   # failed 90 min ago: retry
])
def test_catch_up_decides_when_a_backup_is_due(now, last, failed, due):
    tz = timezone(timedelta(hours=3))
    parse = lambda s: datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=tz) if s else None  # noqa: E731
    assert scheduler.backup_due(parse(now), parse(last), parse(failed), dtime(2, 0), timedelta(hours=1)) is due
    sleep = scheduler.seconds_to_next_check(parse(now), dtime(2, 0), 300)
    assert 1 <= sleep <= 300


def test_running_server_catches_up_when_the_last_backup_is_two_days_old(school):
    data, _ = school
    with state.update(data) as s:
        s["last_success"] = {"at": (clock.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "file": "old"}
    with make_client(data, backup_check_seconds=1):
        deadline = time.monotonic() + 90  # the two-year demo: ~13 s on a loaded machine

        def recorded() -> bool:  # the file is in place a moment before the state names it
            names = listed(data)
            return bool(names) and state.read(data).get("last_success", {}).get("file") == names[0]

        while not recorded() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(listed(data)) == 1
        st = state.read(data)
        assert st["backups"][listed(data)[0]]["kind"] == "nightly"
        assert st["last_success"]["file"] == listed(data)[0]


def test_usb_copy_is_verified_and_a_pulled_drive_leaves_no_backup_there(school, tmp_path):
    data, _ = school
    stick = tmp_path / "stick"
    stick.mkdir()
    settings = settings_for(data, backup_usb_dir=str(stick))
    entry = create.create_backup(settings)  # the nightly path copies to USB by itself
    assert (stick / entry.name).read_bytes() == entry.path.read_bytes()
    assert state.read(data)["last_usb"]["ok"]

    def pull_out(stage, done, total):
        if stage == "copy":
            shutil.rmtree(stick)

    with pytest.raises(BackupError, match="USB"):
        usb.copy_to_usb(settings, entry.name, progress=pull_out)
    assert not stick.exists() or not list(stick.iterdir())
    assert state.read(data)["last_usb"]["ok"] is False
    with pytest.raises(BackupError, match="недоступна"):
        usb.copy_to_usb(settings)


def test_a_stick_the_service_may_not_write_says_what_to_do(school, tmp_path, monkeypatch):
    """A stick the desktop mounted for the person at the screen: the service user may not
    write there. The tests run as root, who may write anywhere, so the operating system's
    refusal is played by Path.mkdir on that one folder."""
    import errno
    from pathlib import Path

    data, _ = school
    stick = tmp_path / "media" / "pi" / "ZHURNAL"
    stick.mkdir(parents=True)
    entry = create.create_backup(settings_for(data))
    settings = settings_for(data, backup_usb_dir=str(stick))
    real_mkdir = Path.mkdir

    def refused(self, *args, **kwargs):
        if str(self).startswith(str(stick)):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refused)
    with pytest.raises(BackupError, match="Нет права записи на USB-накопитель.*fstab") as e:
        usb.copy_to_usb(settings, entry.name)
    assert str(stick) in str(e.value)
    last = state.read(data)["last_usb"]
    assert last["ok"] is False and "fstab" in last["reason"]
    assert not any(stick.rglob("*"))


def test_usb_drive_is_found_by_its_label_only_when_mounted(tmp_path):
    media = tmp_path / "media" / "admin" / "ZHURNAL"
    media.mkdir(parents=True)
    patterns = [str(tmp_path / "media" / "*" / "{label}")]
    assert usb.find_labeled_volume("ZHURNAL", patterns, by_label=str(tmp_path / "none"), require_mount=False) == media
    assert usb.find_labeled_volume("ZHURNAL", patterns, by_label=str(tmp_path / "none")) is None  # not a mount point
    assert usb.find_labeled_volume("../etc", patterns, require_mount=False) is None
    by_label = tmp_path / "by-label"
    by_label.mkdir()
    (tmp_path / "sdb1").touch()
    (by_label / "STICK").symlink_to(tmp_path / "sdb1")
    mounts = tmp_path / "mounts"
    mounts.write_text(f"{tmp_path}/sdb1 /mnt/my\\040stick vfat rw 0 0\n")
    assert usb.find_labeled_volume("STICK", [], str(by_label), str(mounts)) == Path("/mnt/my stick")


# --- the admin page over HTTP -----------------------------------------------------------

def _client(data):
    return make_client(data, backup_auto=False)


def test_admin_sets_up_backups_on_the_page_and_sees_the_recovery_key_once(data_dir):
    with _client(data_dir) as c:
        login(c, "sysadmin")
        page = c.get("/admin/backups")
        assert page.status_code == 200 and "Настроить резервное копирование" in page.text
        r = c.post("/admin/backups/setup", data={"csrf_token": csrf_from(page.text)})
        assert r.status_code == 200
        assert "<svg" in r.text and "AGE-SECRET-KEY-1" in r.text and "один раз" in r.text
        assert "<script>" not in r.text and "<style" not in r.text and " style=" not in r.text
        secret = "AGE-SECRET-KEY-1" + r.text.split("AGE-SECRET-KEY-1")[1].split("<")[0].replace(" ", "")
        assert keys.age.recipient_from_identity(secret.strip()) in (data_dir / "keys" / "backup-recipients.txt").read_text()
        again = c.get("/admin/backups")
        assert secret not in again.text and "Создать копию сейчас" in again.text
        r = c.post("/admin/backups/setup", data={"csrf_token": csrf_from(again.text)})
        assert r.status_code == 409 and "уже настроено" in r.text and secret not in r.text


def test_admin_page_lists_backups_and_restores_one_after_confirmation(school):
    data, key = school
    with _client(data) as c:
        login(c, "sysadmin")
        token = csrf_from(c.get("/admin/backups").text)
        r = c.post("/admin/backups/create", data={"csrf_token": token}, follow_redirects=True)
        assert r.status_code == 200 and "Резервная копия создана и проверена" in r.text
        (name,) = listed(data)
        assert name in r.text and "вручную" in r.text
        conn = sqlite3.connect(data / "zhurnal.sqlite3")
        conn.execute("UPDATE school SET name = 'Школа после копии'")
        conn.commit()
        conn.close()
        confirm = c.post("/admin/backups/restore", data={"csrf_token": token, "file": name})
        assert confirm.status_code == 200
        assert "Восстановить базу из резервной копии?" in confirm.text
        assert "Средняя общеобразовательная школа № 7" in confirm.text and "Учащихся" in confirm.text
        assert _school_name(data) == "Школа после копии"  # nothing changed before confirmation
        restore_token = confirm.text.split('name="token" value="')[1].split('"')[0]
        done = c.post("/admin/backups/restore/confirm", data={"csrf_token": token, "token": restore_token})
        assert done.status_code == 200 and "База восстановлена" in done.text
        assert "Средняя общеобразовательная школа № 7" in _school_name(data)
        # The running server serves the restored database right away.
        c.cookies.clear()
        login(c, "sysadmin")
        page = c.get("/admin/backups")
        assert "перед восстановлением" in page.text and "Восстановления" in page.text
        # The same confirmation cannot be used twice.
        again = c.post("/admin/backups/restore/confirm", data={"csrf_token": csrf_from(page.text), "token": restore_token})
        assert again.status_code == 409 and "устарело" in again.text
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    assert conn.execute("SELECT count(*) FROM feed_epoch").fetchone()[0] == 2
    conn.close()


def test_restore_from_an_uploaded_file_needs_the_right_recovery_key(school, tmp_path):
    data, key = school
    entry = create.create_backup(settings_for(data))
    wrong_secret, _ = keys.age.generate_identity()
    with _client(data) as c:
        login(c, "sysadmin")
        token = csrf_from(c.get("/admin/backups").text)
        # The server key is also tried, so this server's own file opens: use a foreign school's key set-up.
        (data / "keys" / "backup-server.key").rename(tmp_path / "away.key")
        files = {"backup": (entry.name, entry.path.read_bytes(), "application/octet-stream")}
        r = c.post("/admin/backups/restore/upload", data={"csrf_token": token, "key_text": wrong_secret}, files=files)
        assert r.status_code == 409 and "Ключ не подходит" in r.text
        files = {"backup": (entry.name, entry.path.read_bytes(), "application/octet-stream"),
                 "key_file": ("recovery.txt", key.read_bytes(), "text/plain")}
        r = c.post("/admin/backups/restore/upload", data={"csrf_token": token}, files=files)
        assert r.status_code == 200 and "Восстановить базу из резервной копии?" in r.text
        restore_token = r.text.split('name="token" value="')[1].split('"')[0]
        r = c.post("/admin/backups/restore/cancel", data={"csrf_token": token, "token": restore_token},
                   follow_redirects=True)
        assert "Восстановление отменено" in r.text
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    assert conn.execute("SELECT count(*) FROM feed_epoch").fetchone()[0] == 1  # no restore happened
    conn.close()
    assert not list((data / "backups").glob(".restore-*"))


def test_restore_test_with_the_recovery_key_from_the_page(backup):
    data, key, path = backup
    with _client(data) as c:
        login(c, "deputy")
        page = c.get("/admin/backups")
        assert "Проверить восстановление" in page.text and "Восстановить…" not in page.text  # deputy: no restore
        token = csrf_from(page.text)
        r = c.post("/admin/backups/test-restore", data={"csrf_token": token, "file": path.name},
                   files={"key_file": ("k.txt", key.read_bytes(), "text/plain")})
        assert r.status_code == 200 and "Проверка восстановления прошла" in r.text
        r = c.post("/admin/backups/test-restore", data={"csrf_token": token, "key_text": "AGE-SECRET-KEY-1XYZ"})
        assert r.status_code == 409 and "Неверный формат ключа" in r.text


def test_director_sees_backups_but_has_no_buttons(backup):
    data, _, path = backup
    with _client(data) as c:
        login(c, "director")
        page = c.get("/admin/backups")
        assert page.status_code == 200 and path.name in page.text
        assert "Создать копию сейчас" not in page.text and "Восстановить…" not in page.text


def test_deputy_and_director_see_a_failed_backup_on_their_home_page(school):
    data, _ = school
    create.create_backup(settings_for(data))
    state.record_failure(data, "Недостаточно места на диске для создания резервной копии.")
    with _client(data) as c:
        for who in ("deputy", "director"):
            c.cookies.clear()
            login(c, who)
            home = c.get("/").text
            assert "Резервная копия не создана" in home and "Недостаточно места на диске" in home, who
        c.cookies.clear()
        login(c, "teacher01")
        assert "Резервная копия не создана" not in c.get("/").text
    create.create_backup(settings_for(data))  # the next success clears the alarm
    with _client(data) as c:
        login(c, "deputy")
        assert "Резервная копия не создана" not in c.get("/").text


def test_audit_verify_finds_the_last_entries_cut_off_by_comparing_with_the_backups(school, capsys):
    """A hash chain cannot notice its last entries deleted together with the data they
    describe; each backup records how far the chain went, and `audit verify` compares."""
    import sqlite3

    from conftest import make_client, login
    from test_journal import Teacher, lessons_of

    from server.cli import main as cli_main

    data, _ = school
    (day, n), = lessons_of(data, 1, before=clock.today(), count=1)
    with make_client(data) as client:
        login(client, "teacher01")
        t = Teacher(client, 1)
        student = next(s for s in t.students
                       if t.cell(s, day, n, "").status_code == 200 and t.cell(s, day, n, "3").status_code == 200)
    entry = create.create_backup(settings_for(data))
    head = state.read(data)["backups"][entry.name]["audit_head"]
    assert head and head["id"] > 0
    assert cli_main(["audit", "verify", "--data", str(data)]) == 0
    # Someone removes the grade and its audit entry directly in SQLite: chain and data agree.
    conn = sqlite3.connect(data / "zhurnal.sqlite3")
    key = conn.execute("SELECT key FROM audit_log WHERE id = ?", (head["id"],)).fetchone()[0]
    assert key.startswith("grade:") and key.endswith(f":{student}:0")
    lesson_id = int(key.split(":")[1])
    conn.execute("DELETE FROM grade WHERE lesson_id = ? AND student_id = ?", (lesson_id, student))
    conn.execute("DELETE FROM audit_log WHERE id = ?", (head["id"],))
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--data", str(data)]) == 1
    assert f"заканчивается записью № {head['id']}" in capsys.readouterr().err
    # After a restore the chain is shorter on purpose: the backups before it do not count.
    state.record_restore(data, {"file": entry.name})
    assert cli_main(["audit", "verify", "--data", str(data)]) == 0


# --- the school's files (issue 11) ---------------------------------------------------------

def _school_files(data: Path) -> dict[str, bytes]:
    """Every file under the data folder's file folders, by its name in a backup."""
    return {p.relative_to(data).as_posix(): p.read_bytes()
            for top in archive.FILE_FOLDERS if (data / top).is_dir()
            for p in sorted((data / top).rglob("*")) if p.is_file()}


def _add_files_as_users(data: Path) -> dict[str, bytes]:
    """A homework file and a message attachment, uploaded as a teacher does; and an archive
    PDF (a later issue writes those) in a subfolder. Returns the school's files."""

    from test_journal import Teacher, lessons_of
    from test_messages import pid, send

    (day, n), = lessons_of(data, 1, after=clock.today(), count=1)
    with make_client(data, backup_auto=False) as c:
        login(c, "teacher01")
        r = Teacher(c, 1).homework(day, n, "Прочитать параграф 12", "30",
                                   files={"file": ("задание.pdf", b"%PDF-1.4 homework " * 100, "application/pdf")})
        assert r.status_code == 200 and "задание.pdf" in r.text
        send(c, kind="person", to=pid(data, "parent0001"), subject="Справка", body="Во вложении.",
             files={"files": ("справка.jpg", bytes(range(256)) * 40, "image/jpeg")})
    archived = data / "archive" / "2025-2026" / "5А.pdf"
    archived.parent.mkdir(parents=True)
    archived.write_bytes(b"%PDF-1.4 archive")
    found = _school_files(data)
    assert {k.split("/")[0] for k in found} == {"files", "messages", "archive"} and len(found) == 3
    return found


def test_the_schools_files_go_into_the_backup_are_verified_listed_and_come_back(capsys, school, tmp_path):
    data, key = school
    files = _add_files_as_users(data)
    code, out, err = run_cli(capsys, "backup", "create", "--data", data)
    assert code == 0, err
    made = Path(out.strip())
    # In the archive after the database, each with its SHA-256 in the manifest.
    raw = io.BytesIO()
    with open(made, "rb") as f:
        keys.age.decrypt(f, raw, [keys.server_identity(data)])
    raw.seek(0)
    with tarfile.open(fileobj=raw, mode="r:gz") as tar:
        assert tar.getnames() == ["manifest.json", "zhurnal.sqlite3", *sorted(files)]
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {
        p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    # Counted in the list, checked by verify.
    code, out, _ = run_cli(capsys, "backup", "list", "--data", data)
    size_mb = f"{sum(map(len, files.values())) / 1_000_000:.1f}".replace(".", ",")
    assert f"файлов 3 ({size_mb} МБ)" in out
    code, out, err = run_cli(capsys, "backup", "verify", "--data", data, made, "--key", key)
    assert code == 0 and "файлов 3" in out, err
    code, out, err = run_cli(capsys, "backup", "test-restore", "--data", data, "--key", key)
    assert code == 0 and "файлы на месте (3)" in out, err
    assert state.read(data)["last_restore_test"]["files"] == 3
    # The machine dies; the files come back on the new one, readable by the server only.
    fresh = tmp_path / "new-machine"
    code, out, err = run_cli(capsys, "backup", "restore", "--data", fresh, made, "--key", key, "--yes")
    assert code == 0 and "Файлов:" in out, err
    assert _school_files(fresh) == files
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in fresh.rglob("*") if p.is_file()
               and p.parts[-3 if "archive" in p.parts else -2] in archive.FILE_FOLDERS)
    assert not list((fresh / "backups").glob(".restore-*"))
    with make_client(fresh, backup_auto=False) as c:  # and the homework file opens from the journal
        login(c, "teacher01")
        lesson_id = sqlite3.connect(fresh / "zhurnal.sqlite3").execute(
            "SELECT lesson_id FROM homework WHERE file_path IS NOT NULL").fetchone()[0]
        r = c.get(f"/homework-files/{lesson_id}")
        assert r.status_code == 200 and r.content == files[next(p for p in files if p.startswith("files/"))]


def test_a_restore_in_the_running_server_brings_the_files_back_and_keeps_the_replaced_ones_in_the_safety_copy(school):
    data, key = school
    files = _add_files_as_users(data)
    entry = create.create_backup(settings_for(data))
    assert entry.meta["files"] == 3
    # After the backup: one file lost, one new one.
    lost = data / next(p for p in files if p.startswith("messages/"))
    lost.unlink()
    (data / "files" / "later").write_bytes(b"after the backup")
    with _client(data) as c:
        login(c, "sysadmin")
        page = c.get("/admin/backups")
        size_mb = f"{sum(map(len, files.values())) / 1_000_000:.1f}".replace(".", ",")
        assert f"3 ({size_mb} МБ)" in page.text  # the list counts the files
        token = csrf_from(page.text)
        confirm = c.post("/admin/backups/restore", data={"csrf_token": token, "file": entry.name})
        assert "Файлов (домашние задания, вложения)" in confirm.text and "3 (" in confirm.text
        restore_token = confirm.text.split('name="token" value="')[1].split('"')[0]
        done = c.post("/admin/backups/restore/confirm", data={"csrf_token": token, "token": restore_token})
        assert done.status_code == 200 and "База восстановлена" in done.text
    assert _school_files(data) == files
    assert not list((data / "backups").glob(".files-before-restore-*"))
    # The state before the restore is in the safety copy, files included.
    safety = next(e for e in status.list_backups(data / "backups", state.read(data)) if e.kind == "safety")
    manifest = create.verify_backup(settings_for(data), safety.path)
    assert "files/later" in {f["path"] for f in manifest["files"]}
    assert lost.relative_to(data).as_posix() not in {f["path"] for f in manifest["files"]}


def test_a_file_that_does_not_match_its_hash_or_escapes_its_folder_is_refused(capsys, school, tmp_path):
    data, key = school
    _add_files_as_users(data)
    recipients = keys.require_set_up(data)
    db_before, files_before = digest(data / "zhurnal.sqlite3"), _school_files(data)

    def made_with(change) -> Path:
        """A backup made by hand (tar, gzip, age) with the manifest changed and each file
        stored under the name the changed manifest gives it."""
        snap = archive.take_snapshot(data / "zhurnal.sqlite3", tmp_path / f"snap-{change.__name__}.sqlite3",
                                     files_from=data)
        sources = [data / f["path"] for f in snap.manifest["files"]]
        change(snap.manifest)
        plain = io.BytesIO()
        with tarfile.open(fileobj=plain, mode="w:gz") as tar:
            body = json.dumps(snap.manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            tar.add(snap.path, "zhurnal.sqlite3")
            for f, source in zip(snap.manifest["files"], sources):
                tar.add(source, f["path"])
        out = tmp_path / f"{change.__name__}.age"
        with open(out, "wb") as f:
            keys.age.encrypt(io.BytesIO(plain.getvalue()), f, recipients)
        return out

    def other_hash(m):
        m["files"][0]["sha256"] = "0" * 64

    def escapes(m):
        m["files"][0]["path"] = "files/../../keys/backup-server.key"

    def elsewhere(m):
        m["files"][0]["path"] = "keys/backup-server.key"

    for change, words in ((other_hash, "Контрольная сумма файла"), (escapes, "не является резервной копией"),
                          (elsewhere, "не является резервной копией")):
        bad = made_with(change)
        for command in ("verify", "restore"):
            extra = ["--yes"] if command == "restore" else []
            code, out, err = run_cli(capsys, "backup", command, "--data", data, bad, "--key", key, *extra)
            assert code == 2 and words in err, (change.__name__, command, err)
    assert digest(data / "zhurnal.sqlite3") == db_before and _school_files(data) == files_before
    assert not list((data / "backups").glob(".restore-*"))


def test_an_older_backup_without_files_still_verifies_and_restores_and_leaves_the_files_alone(capsys, school, tmp_path):
    """A format-1 backup (the database only) knows nothing of the files: they stay."""
    data, key = school
    files = _add_files_as_users(data)
    snap = archive.take_snapshot(data / "zhurnal.sqlite3", tmp_path / "snap.sqlite3")
    manifest = {k: v for k, v in snap.manifest.items() if k != "files"} | {"format_version": 1}
    old = tmp_path / "zhurnal-20261101T230000Z.tar.gz.age"
    with open(old, "wb") as f:
        archive.write_backup(f, keys.require_set_up(data), manifest, snap.path)
    code, out, err = run_cli(capsys, "backup", "verify", "--data", data, old)
    assert code == 0 and "Копия в порядке" in out and "файлов" not in out, err
    code, out, err = run_cli(capsys, "backup", "restore", "--data", data, old, "--yes")
    assert code == 0 and "Файлов:" not in out, err
    assert _school_files(data) == files


# --- decrypted copies do not linger (issue 11) ------------------------------------------------

def _staging(data: Path) -> list[Path]:
    return sorted((data / "backups").glob(".restore-*"))


def _open_restore(c, data: Path, name: str) -> str:
    token = csrf_from(c.get("/admin/backups").text)
    confirm = c.post("/admin/backups/restore", data={"csrf_token": token, "file": name})
    assert confirm.status_code == 200 and "Восстановить базу из резервной копии?" in confirm.text
    return confirm.text.split('name="token" value="')[1].split('"')[0]


def test_a_decrypted_copy_is_private_and_gone_when_cancelled_expired_or_the_server_stops(backup):
    # The clock moves forward below; conftest puts it back at the suite's moment.
    data, _, path = backup
    (data / "files").mkdir(exist_ok=True)
    (data / "files" / "hw").write_bytes(b"homework")
    entry = create.create_backup(settings_for(data))
    with _client(data) as c:
        login(c, "sysadmin")
        # Cancelled: gone at once.
        restore_token = _open_restore(c, data, entry.name)
        (staged,) = _staging(data)
        assert oct(staged.stat().st_mode & 0o777) == "0o700"
        for p in staged.rglob("*"):
            assert oct(p.stat().st_mode & 0o777) == ("0o700" if p.is_dir() else "0o600"), p
        assert (staged / "zhurnal.sqlite3").exists() and (staged / "files" / "hw").read_bytes() == b"homework"
        token = csrf_from(c.get("/admin/backups").text)
        r = c.post("/admin/backups/restore/cancel", data={"csrf_token": token, "token": restore_token},
                   follow_redirects=True)
        assert "Восстановление отменено" in r.text and _staging(data) == []
        # Left waiting: gone once it expires (a few minutes) on the program's clock, without any request.
        assert restore.PENDING_TTL <= timedelta(minutes=15)
        restore_token = _open_restore(c, data, entry.name)
        assert len(_staging(data)) == 1
        clock.advance(seconds=restore.PENDING_TTL.total_seconds() - 60)
        time.sleep(2 * restore.SWEEP_SECONDS + 0.5)
        assert len(_staging(data)) == 1  # not yet
        clock.advance(seconds=61)
        deadline = time.monotonic() + 10
        while _staging(data) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _staging(data) == []
        r = c.post("/admin/backups/restore/confirm", data={"csrf_token": token, "token": restore_token})
        assert r.status_code == 409 and "устарело" in r.text
        # Left waiting when the server stops: gone with it.
        _open_restore(c, data, entry.name)
        assert len(_staging(data)) == 1
    assert _staging(data) == []
    assert state.read(data)["restores"] == []  # nothing was restored


def test_a_decrypted_copy_left_by_a_crash_is_gone_at_the_next_start(backup):
    data, _, path = backup
    crash = ("import os, signal, sys; from backups import keys, restore; from server.config import load_settings;"
             f"s = load_settings({str(data)!r}, mdns=False);"
             f"p = restore.prepare_restore(s, {str(path)!r}, [keys.server_identity(s.data_dir)]);"
             "print(p.folder, flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", crash], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = Path(proc.stdout.strip())
    assert left.exists() and _staging(data) == [left]
    with _client(data):
        assert _staging(data) == []
    # And a restore at the console also clears what a killed one left.
    proc = subprocess.run([sys.executable, "-c", crash], cwd=REPO, capture_output=True, text=True)
    assert _staging(data) == [Path(proc.stdout.strip())]
    prepared = restore.prepare_restore(settings_for(data), path, [keys.server_identity(data)])
    assert _staging(data) == [prepared.folder]
    prepared.discard()
    assert _staging(data) == []


# --- the recovery key's file, and state.json (issue 11) ----------------------------------------

def test_setup_resolves_the_recovery_key_path_before_comparing_it_with_the_data_folder(capsys, data_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    sneaky = other / ".." / data_dir.name / "key.txt"  # OTHER/../DATA/key.txt
    code, _, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", sneaky)
    assert code == 2 and "папке данных" in err
    assert not (data_dir / "key.txt").exists() and not keys.is_set_up(data_dir)
    link = tmp_path / "link-to-data"
    link.symlink_to(data_dir)
    code, _, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", link / "key.txt")
    assert code == 2 and "папке данных" in err
    beside = data_dir / ".." / "x.key"  # DATA/../x.key is outside the data folder
    code, out, err = run_cli(capsys, "backup", "setup", "--data", data_dir, "--recovery-key-out", beside)
    assert code == 0, err
    assert (tmp_path / "x.key").read_text().count("AGE-SECRET-KEY-1") == 1 and keys.is_set_up(data_dir)


def test_state_json_with_the_audit_anchors_is_written_atomically_with_a_folder_fsync(school, monkeypatch):
    from server import fsutil

    data, _ = school
    synced = []
    real = fsutil.fsync_dir
    monkeypatch.setattr(fsutil, "fsync_dir", lambda path: (synced.append(Path(path)), real(path)))
    with state.update(data) as s:
        s["last_attempt"] = "x"
    assert synced == [data / "backups"]
    assert state.read(data)["last_attempt"] == "x"
    assert oct((data / "backups" / "state.json").stat().st_mode & 0o777) == "0o600"
    assert not list((data / "backups").glob(".state.json.tmp"))
