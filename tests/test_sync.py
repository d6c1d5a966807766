"""District sync, both ends, against a real PostgreSQL (a throwaway cluster started here).

The school's view (sync.profile.snapshot of its database) and the district's (the records
it holds) must be equal — per entity, row counts and checksums — after uploads through a
proxy that cuts connections at random bytes, duplicates and reorders requests, after
kill -9 of either end, after USB sticks imported in the wrong order, and after a restore.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from district import store
from district.pgtemp import Cluster, find_bin
from server import ledger
from server.config import load_settings
from sync import chunk as chunks
from sync import profile, school

ZHURNAL = str(Path(sys.executable).with_name("zhurnal"))


@pytest.fixture(scope="session")
def pg(tmp_path_factory):
    if find_bin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL не установлен, а тесты синхронизации без него не идут (tests/run.sh ставит "
                        "пакет postgresql).")
        pytest.skip("PostgreSQL не установлен (sudo apt install postgresql): тесты района пропущены.")
    cluster = Cluster().start()
    yield cluster
    cluster.destroy()


_n = iter(range(10**6))


@pytest.fixture
def district(pg):
    """A fresh district database: (url, the district's age public key)."""
    url = pg.create_database(f"district_{os.getpid()}_{next(_n)}")
    with store.connect(url) as conn, conn.transaction():
        public = store.init(conn)
    return url, public


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the district server did not start on port {port}")


class DistrictServer:
    def __init__(self, url: str, port: int | None = None):
        self.url, self.port = url, port or free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([ZHURNAL, "district", "serve", "--database", self.url, "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port)
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server(district):
    srv = DistrictServer(district[0]).start()
    yield srv
    srv.stop()


def set_up_school(data_dir: Path, district, base_url: str, code: str = "sch-1") -> object:
    url, public = district
    key = school.setup(data_dir, base_url, public, code)
    with store.connect(url) as conn, conn.transaction():
        store.add_school(conn, code, "МБОУ СОШ № 1", key)
    return load_settings(data_dir, mdns=False, sync_timeout_seconds=5, sync_proxy="none")


def school_view(settings) -> dict:
    conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
    try:
        return dict(profile.snapshot(conn, profile.Context(conn)))
    finally:
        conn.close()


def district_view(url: str, code: str = "sch-1") -> dict:
    with store.connect(url) as conn:
        return store.records(conn, code)


def assert_equal(settings, url: str, code: str = "sch-1") -> None:
    mine, theirs = school_view(settings), district_view(url, code)
    assert profile.checksums(mine) == profile.checksums(theirs)
    assert mine == theirs


def assert_nothing_twice(url: str, code: str = "sch-1") -> None:
    with store.connect(url) as conn:
        sid = conn.execute("SELECT id FROM school WHERE code = %s", (code,)).fetchone()[0]
        received = conn.execute("SELECT coalesce(sum(entries), 0) FROM chunk_receipt WHERE school_id = %s"
                                " AND kind = 'changes'", (sid,)).fetchone()[0]
        changes = conn.execute("SELECT count(*) FROM change WHERE school_id = %s", (sid,)).fetchone()[0]
        counted = conn.execute("SELECT changes_received FROM school WHERE id = %s", (sid,)).fetchone()[0]
        everything = conn.execute("SELECT coalesce(sum(entries), 0) FROM chunk_receipt WHERE school_id = %s",
                                  (sid,)).fetchone()[0]
        applied = conn.execute("SELECT count(*) FROM ingest_log WHERE school = %s AND outcome = 'applied'",
                               (code,)).fetchone()[0]
        receipts = conn.execute("SELECT count(*) FROM chunk_receipt WHERE school_id = %s", (sid,)).fetchone()[0]
    assert changes == received and counted == everything
    assert applied == receipts


def change_grades(settings, n: int, value: str = "3", offset: int = 0) -> list[str]:
    """Change `n` existing grades the way the journal does (row + ledger entry in one transaction)."""
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    keys = []
    rows = conn.execute("SELECT lesson_id, student_id, position, value, work_type FROM grade ORDER BY lesson_id,"
                        " student_id LIMIT ? OFFSET ?", (n, offset)).fetchall()
    for lesson_id, student_id, position, old, work_type in rows:
        new = value if old != value else "4"
        conn.execute("UPDATE grade SET value = ? WHERE lesson_id = ? AND student_id = ? AND position = ?",
                     (new, lesson_id, student_id, position))
        key = f"grade:{lesson_id}:{student_id}:{position}"
        ledger.record(conn, None, "grade", key, {"value": old, "work_type": work_type},
                      {"value": new, "work_type": work_type})
        keys.append(key)
    conn.execute("COMMIT")
    conn.close()
    return keys


# --- the profile ------------------------------------------------------------------------------------

PINNED_PROFILE = {
    "school": ("uid", "name", "address", "district_code"),
    "academic_year": ("name", "starts_on", "ends_on", "status"),
    "study_period": ("year_id", "kind", "number", "starts_on", "ends_on", "closed_at"),
    "period": ("closed",),
    "holiday": ("year_id", "name", "starts_on", "ends_on"),
    "class": ("year_id", "parallel", "letter", "class_teacher_id", "period_kind", "archived_at"),
    "subject": ("name", "short_name", "archived_at"),
    "study_group": ("year_id", "name", "kind", "class_id", "archived_at"),
    "group_member": ("group_id", "student_id", "from_date", "to_date"),
    "journal": ("year_id", "subject_id", "class_id", "group_id", "teacher_id", "hours_per_week", "archived_at"),
    "bell": ("year_id", "number", "starts_at", "ends_at"),
    "timetable_slot": ("journal_id", "weekday", "lesson_number"),
    "person": "students: ФИО, birth_date, archived_at; staff: ФИО, position, archived_at; nobody else",
    "account_role": "staff roles only, as person_id and role",
    "student": ("study_form", "left_on"),
    "enrollment": ("student_id", "class_id", "from_date", "to_date"),
    "guardian": "student_id and consent as a flag",
    "setting": ("grade_one_allowed", "first_grade_marks", "forecast_threshold"),
    "work_type": ("name", "weight", "is_control", "sort"),
    "plan_item": ("journal_id", "number", "hours", "planned_date", "planned_week", "work_type"),
    "lesson": ("journal_id", "date", "lesson_number", "topic", "work_type", "plan_item_id", "status", "substitute_id"),
    "grade": ("value", "work_type"),
    "attendance": ("mark",),
    "period_grade": ("value",),
}


def test_the_profile_is_what_the_docs_say():
    """Changing what leaves the school is a code change with this test (152-ФЗ)."""
    assert list(profile.PROFILE) == list(PINNED_PROFILE)
    for entity, pinned in PINNED_PROFILE.items():
        fn = profile.PROFILE[entity]
        if isinstance(pinned, tuple) and isinstance(fn, profile.Columns):
            assert fn.names == pinned, entity
    assert profile.SETTINGS == PINNED_PROFILE["setting"]
    # Every entity the profile names is one the ledger writes; every ledger entity that does not
    # leave is a decision written here — a table that joins the ledger must be placed.
    assert all(e == "period" or e in ledger.TABLES for e in profile.PROFILE)
    assert set(ledger.TABLES) - set(profile.PROFILE) == {
        "account", "class_access", "homework",
        # The school's own working records (issues 12, 13, 16): the deputy's remarks to a teacher,
        # «посещаемость отмечена», staff away (a reason may be a health matter), timetable changes
        # of dates (the lessons themselves leave with their dates), promotion decisions and debts,
        # the links between a year and the next.
        "journal_remark", "register_taken", "staff_absence", "timetable_change", "promotion", "promotion_order",
        "year_link"}
    for never in ("account", "homework", "session", "login_event", "message", "message_attachment", "class_access",
                  "credential_issue", "import_log"):
        assert never not in profile.PROFILE


def test_nothing_private_leaves_the_school(data_dir, district):
    settings = set_up_school(data_dir, district, "http://127.0.0.1:9")
    conn = sqlite3.connect(settings.db_path)
    # Contacts, consent dates and a reason, so that their absence below means something.
    conn.execute("UPDATE person SET phone = '+7 900 111-22-33', email = 'mama@example.ru'")
    conn.execute("UPDATE guardian SET consent_at = '2026-09-01T08:00:00Z'")
    secret = conn.execute("SELECT value FROM setting WHERE key = 'login_key_secret'").fetchone()[0]
    parent_only = {r[0] for r in conn.execute(
        "SELECT id FROM person WHERE id IN (SELECT parent_id FROM guardian) AND id NOT IN (SELECT person_id FROM student)"
        " AND id NOT IN (SELECT teacher_id FROM journal) AND id NOT IN (SELECT a.person_id FROM account a JOIN"
        " account_role r ON r.account_id = a.id WHERE r.role NOT IN ('parent', 'student'))")}
    hashes = [r[0] for r in conn.execute("SELECT password_hash FROM account LIMIT 5")]
    homework = [r[0] for r in conn.execute("SELECT text FROM homework WHERE text <> '' LIMIT 5")]
    conn.commit()
    conn.close()
    with school.locked(data_dir):
        school.seal_pending(settings)
    with store.connect(district[0]) as c:
        keys = store.identities(c)
    text = []
    for _, _, f in school.outbox(data_dir):
        ch, _ = chunks.parse(f.read_bytes())
        plain, payload = ch.open(keys)
        text.append(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        for key, _ in payload.get("r", []):
            assert profile.entity_of(key) in profile.PROFILE
    blob = "\n".join(text)
    assert "+7 900" not in blob and "mama@example.ru" not in blob
    assert secret not in blob and "login_key_secret" not in blob
    assert "2026-09-01T08:00:00Z" not in blob and '"consent":true' in blob
    assert not any(h in blob for h in hashes) and "$argon2" not in blob
    assert not any(h in blob for h in homework)
    sent_people = {int(k.split(":")[1]) for k in re.findall(r'"(person:\d+)"', blob)}
    assert parent_only and sent_people and not parent_only & sent_people
    assert '"password' not in blob and '"login"' not in blob and '"phone"' not in blob


# --- chunks and ingest ---------------------------------------------------------------------------

def test_ingest_refuses_unknown_schools_bad_signatures_gaps_and_changed_replays(data_dir, district):
    url, public = district
    settings = set_up_school(data_dir, district, "http://127.0.0.1:9")
    with school.locked(data_dir):
        school.seal_pending(settings)
    files = [f for _, _, f in school.outbox(data_dir)]
    assert len(files) > 3
    with store.connect(url, autocommit=True) as conn:
        # A gap: the second chunk before the first.
        with pytest.raises(store.DistrictError, match="Пропуск") as e:
            store.ingest(conn, school.wire_bytes(files[1]))
        assert e.value.code == "gap"
        # An altered chunk: its signature no longer matches.
        wire = bytearray(school.wire_bytes(files[0]))
        wire[-100] ^= 1
        with pytest.raises(store.DistrictError, match="Подпись пакета") as e:
            store.ingest(conn, bytes(wire))
        assert e.value.code == "bad_signature"
        # Another school's key for this code.
        other = chunks.new_signing_key()
        with conn.transaction():
            store.add_school(conn, "sch-2", "Чужая", chunks.public_text(other))
        ch, _ = chunks.parse(school.wire_bytes(files[0]))
        forged = dict(ch.header, school="sch-3")
        blob = chunks.seal({k: v for k, v in forged.items() if k != "v"}, b"x", public, other)
        with pytest.raises(store.DistrictError, match="не зарегистрирована") as e:
            store.ingest(conn, blob)
        assert e.value.code == "unknown_school"
        assert conn.execute("SELECT count(*) FROM record").fetchone()[0] == 0
        # In order: applied; the same bytes again: nothing changes.
        first = store.ingest(conn, school.wire_bytes(files[0]))
        assert first["status"] == "applied"
        again = store.ingest(conn, school.wire_bytes(files[0]))
        assert again["status"] == "duplicate" and again["seq"] == 1
        # A different chunk claiming the same number (re-signed by the school's own key): refused.
        ch0, _ = chunks.parse(school.wire_bytes(files[0]))
        twin = chunks.seal({k: v for k, v in ch0.header.items() if k != "v"}, chunks.compress({"r": []}), public,
                           school.signing_key(data_dir))
        with pytest.raises(store.DistrictError, match="другим содержимым"):
            store.ingest(conn, twin)
        log_lines = conn.execute("SELECT outcome, message FROM ingest_log ORDER BY id").fetchall()
    outcomes = [o for o, _ in log_lines]
    assert {"gap", "bad_signature", "unknown_school", "applied", "duplicate", "replay"} <= set(outcomes)
    assert all("а" <= m[0].lower() <= "я" or m[0] in "«П" for _, m in log_lines)


def test_cli_setup_prints_the_key_and_keeps_it_private(data_dir, district):
    r = subprocess.run([ZHURNAL, "sync", "setup", "--data", str(data_dir), "--district", "http://127.0.0.1:9",
                        "--district-key", district[1], "--school", "sch-1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    key_line = r.stdout.strip().splitlines()[-1]
    assert key_line.startswith("zhs1")
    path = data_dir / "keys" / "sync-school.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent == data_dir / "keys"  # beside the backup keys
    bad = subprocess.run([ZHURNAL, "sync", "setup", "--data", str(data_dir), "--district", "ftp://x",
                          "--district-key", district[1], "--school", "sch-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Адрес района" in bad.stderr
    bad = subprocess.run([ZHURNAL, "sync", "setup", "--data", str(data_dir), "--district", "http://x",
                          "--district-key", "age1nope", "--school", "sch-1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "не открытый ключ района" in bad.stderr
    r = subprocess.run([ZHURNAL, "district", "add-school", "--database", district[0], "sch-1", "--name", "Школа",
                        "--key", key_line], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    bad = subprocess.run([ZHURNAL, "district", "add-school", "--database", district[0], "sch-9", "--name", "Школа",
                          "--key", "zhs1xyz"], capture_output=True, text=True)
    assert bad.returncode == 2 and "не открытый ключ школы" in bad.stderr
    r = subprocess.run([ZHURNAL, "sync", "status", "--data", str(data_dir)], capture_output=True, text=True)
    assert r.returncode == 0 and "Ждут отправки" in r.stdout
    # No district there: `sync now` says so in Russian and exits 1.
    r = subprocess.run([ZHURNAL, "sync", "now", "--data", str(data_dir)], capture_output=True, text=True,
                       env={**os.environ, "ZHURNAL_SYNC_TIMEOUT_SECONDS": "3"})
    assert r.returncode == 1 and "Район не отвечает" in r.stderr


# --- end to end over HTTP ---------------------------------------------------------------------------

def test_upload_makes_the_district_equal_and_an_empty_round_is_one_small_request(data_dir, district, server):
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    r = school.run_round(settings)
    assert r.complete and r.chunks_sent > 3
    assert_equal(settings, district[0])
    assert_nothing_twice(district[0])
    empty = school.run_round(settings)
    assert empty.complete and empty.chunks_sent == 0
    assert empty.traffic.requests == 1 and empty.traffic.sent + empty.traffic.received < 2000
    keys = change_grades(settings, 40)
    r = school.run_round(settings)
    assert r.complete and r.changes_sent == 40
    assert_equal(settings, district[0])
    st = school.status(settings)
    assert st["changes_pending"] == 0 and st["last_error"] is None
    theirs = district_view(district[0])
    assert all(theirs[k]["value"] in ("3", "4") for k in keys)
    # The CLI: everything is there, exit 0.
    r = subprocess.run([ZHURNAL, "sync", "now", "--data", str(data_dir)], capture_output=True, text=True,
                       env={**os.environ, "ZHURNAL_SYNC_PROXY": "none"})
    assert r.returncode == 0 and "есть все изменения" in r.stdout


class FaultProxy:
    """A TCP proxy on loopback that cuts connections at random bytes, delays them, and
    replays (duplicates) captured requests later — out of order."""

    def __init__(self, upstream: int, seed: int, cut_p: float = 0.5, delay_p: float = 0.1, dup_p: float = 0.2):
        self.upstream, self.rng = upstream, random.Random(seed)
        self.cut_p, self.delay_p, self.dup_p = cut_p, delay_p, dup_p
        self.cuts = self.dups = 0
        self.bytes = 0
        self.captured: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.enabled = True
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        rng = self.rng
        cut_at = rng.randint(1, 12_000) if self.enabled and rng.random() < self.cut_p else None
        if self.enabled and rng.random() < self.delay_p:
            time.sleep(rng.uniform(0.05, 0.3))
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return
        state = {"n": 0, "cut": False}
        request = bytearray()
        lock = threading.Lock()

        def pump(src, dst, record):
            try:
                while True:
                    data = src.recv(8192)
                    if not data:
                        break
                    with lock:
                        if cut_at is not None and state["n"] + len(data) >= cut_at:
                            data = data[:cut_at - state["n"]]
                            state["cut"] = True
                        state["n"] += len(data)
                        self.bytes += len(data)
                    if record:
                        request.extend(data)
                    if data:
                        dst.sendall(data)
                    if state["cut"]:
                        break
            except OSError:
                pass
            finally:
                for s in (client, up):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=pump, args=(client, up, True), daemon=True)
        t.start()
        pump(up, client, False)
        t.join(5)
        client.close()
        up.close()
        if state["cut"]:
            self.cuts += 1
        if self.enabled and request and rng.random() < self.dup_p:
            self.captured.append(bytes(request))
        if self.captured and rng.random() < 0.3:
            self._replay(self.captured.pop(rng.randrange(len(self.captured))))

    def _replay(self, request: bytes):
        try:
            with socket.create_connection(("127.0.0.1", self.upstream), timeout=10) as s:
                s.sendall(request)
                s.shutdown(socket.SHUT_WR)
                while s.recv(8192):
                    pass
            self.dups += 1
        except OSError:
            pass

    def flush(self):
        while self.captured:
            self._replay(self.captured.pop(0))

    def close(self):
        self._stop = True
        self.sock.close()


def test_a_hundred_random_cuts_duplicates_and_reordering_change_nothing(data_dir, district, server):
    proxy = FaultProxy(server.port, seed=15, cut_p=0.6)
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{proxy.port}")
    try:
        rounds = 0
        failures = 0
        while proxy.cuts < 100 and rounds < 2000:
            rounds += 1
            if rounds % 40 == 0:
                change_grades(settings, 25, offset=rounds)  # the school goes on working meanwhile
            try:
                school.run_round(settings)
            except school.SyncError:
                failures += 1
        proxy.enabled = False
        assert proxy.cuts >= 100 and failures > 0
        proxy.flush()
        r = school.run_round(settings)
        assert r.complete
        proxy.flush()
    finally:
        proxy.close()
    assert proxy.dups > 0
    assert_equal(settings, district[0])
    assert_nothing_twice(district[0])


def test_kill_9_of_the_district_and_of_the_school_mid_upload(data_dir, district, server):
    proxy = FaultProxy(server.port, seed=9, cut_p=0, delay_p=1.0, dup_p=0)  # slow: every request waits
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{proxy.port}")
    env = {**os.environ, "ZHURNAL_SYNC_PROXY": "none", "ZHURNAL_SYNC_TIMEOUT_SECONDS": "5"}

    def receipts() -> int:
        with store.connect(district[0]) as c:
            return c.execute("SELECT count(*) FROM chunk_receipt").fetchone()[0]

    try:
        # The school's upload runs as its own process; the district is killed under it.
        up = subprocess.Popen([ZHURNAL, "sync", "now", "--data", str(data_dir)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while receipts() < 3 and time.monotonic() < end:
            time.sleep(0.05)
        server.kill9()
        assert up.wait(60) == 1  # the district went away: not everything is there
        server.start()
        # Now the school is killed mid-upload (and mid-sealing of what it had left).
        change_grades(settings, 300)
        up = subprocess.Popen([ZHURNAL, "sync", "now", "--data", str(data_dir)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = receipts()
        while receipts() < before + 2 and time.monotonic() < end + 60:
            time.sleep(0.02)
        up.send_signal(signal.SIGKILL)
        up.wait()
        proxy.delay_p = 0
        r = subprocess.run([ZHURNAL, "sync", "now", "--data", str(data_dir)], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        proxy.close()
    assert_equal(settings, district[0])
    assert_nothing_twice(district[0])


# --- USB -----------------------------------------------------------------------------------------------

def test_usb_sticks_in_the_wrong_order_and_twice(data_dir, district, tmp_path):
    settings = set_up_school(data_dir, district, "http://127.0.0.1:9")
    stick_a, stick_b = tmp_path / "a", tmp_path / "b"
    stick_a.mkdir()
    stick_b.mkdir()
    r = subprocess.run([ZHURNAL, "sync", "export", "--data", str(data_dir), str(stick_a)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    change_grades(settings, 30)
    assert school.export(settings, stick_b)
    imp = [ZHURNAL, "district", "import", "--database", district[0]]
    r = subprocess.run(imp + [str(stick_b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert_equal(settings, district[0])
    for stick in (stick_a, stick_b):  # the older stick after the newer one, and the newer one again
        r = subprocess.run(imp + [str(stick)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert "Принято пакетов: 0" in r.stdout
    assert_equal(settings, district[0])
    assert_nothing_twice(district[0])
    # The older stick's acknowledgement is behind; the newer one's empties the outbox.
    assert school.outbox(data_dir)
    r = subprocess.run([ZHURNAL, "sync", "import-ack", "--data", str(data_dir),
                        str(stick_a / school.ack_name("sch-1"))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([ZHURNAL, "sync", "import-ack", "--data", str(data_dir),
                        str(stick_b / school.ack_name("sch-1"))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not school.outbox(data_dir)
    # A forged acknowledgement (wrong proof) moves nothing.
    change_grades(settings, 5, offset=100)
    school.export(settings, stick_a)
    pending = school.outbox(data_dir)
    e, s, _ = pending[-1]
    (stick_a / "forged.json").write_text(json.dumps({"school": "sch-1", "epoch": e, "seq": s, "proof": "00" * 32}))
    moved, _ = school.import_ack(data_dir, stick_a / "forged.json")
    assert not moved and school.outbox(data_dir) == pending


# --- after a restore ------------------------------------------------------------------------------------

def test_restore_to_an_older_backup_starts_a_new_epoch_and_the_lost_week_comes_back(data_dir, district, server,
                                                                                    tmp_path):
    from backups import create, restore
    from backups import keys as backup_keys

    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete
    recovery = tmp_path / "recovery.txt"
    backup_keys.set_up(data_dir, deliver=recovery.write_text)
    entry = create.create_backup(settings, "manual", usb_copy=False)
    # «A week» of work after the backup, uploaded to the district.
    week = change_grades(settings, 60, value="2")
    assert school.run_round(settings).complete
    lost_values = {k: v for k, v in district_view(district[0]).items() if k in week}
    # The disk fails; the sysadmin restores the week-old backup.
    prepared = restore.prepare_restore(settings, entry.path, backup_keys.load_key_file(recovery))
    restore.install_offline(settings, prepared)
    r = school.run_round(settings)
    assert r.complete
    assert school.read_state(data_dir)["sealed"]["epoch"] == 2
    assert_equal(settings, district[0])
    with store.connect(district[0]) as conn:
        offered = store.lost_file(conn, "sch-1")
    assert {i["key"] for i in offered["items"]} == set(week)
    assert all(i["state"] == lost_values[i["key"]] for i in offered["items"])
    # The school's sysadmin reviews the file and re-applies it; it goes back to the district.
    path = tmp_path / "zhurnal-lost-sch-1.json"
    path.write_text(json.dumps(offered, ensure_ascii=False, default=str))
    r = subprocess.run([ZHURNAL, "sync", "reapply", "--data", str(data_dir), str(path)], capture_output=True, text=True)
    assert r.returncode == 0 and "Можно вернуть: 60 из 60" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([ZHURNAL, "sync", "reapply", "--data", str(data_dir), str(path), "--yes"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "Возвращено изменений: 60" in r.stdout, r.stdout + r.stderr
    assert school.run_round(settings).complete
    assert_equal(settings, district[0])
    theirs = district_view(district[0])
    assert all(theirs[k] == lost_values[k] for k in week)
    r = subprocess.run([ZHURNAL, "audit", "verify", "--data", str(data_dir)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- the pages ------------------------------------------------------------------------------------------

def test_the_sysadmins_page_sets_up_and_sends(data_dir, district, server):
    from conftest import login, make_client, session_csrf

    with make_client(data_dir) as client:
        login(client, "sysadmin")
        page = client.get("/admin/sync")
        assert page.status_code == 200 and "ещё не настроена" in page.text
        csrf = session_csrf(client)
        r = client.post("/admin/sync/setup", data={"csrf_token": csrf, "district": "нет", "district_key": district[1],
                                                   "school": "sch-1"})
        assert r.status_code == 400 and "Адрес района" in r.text
        r = client.post("/admin/sync/setup", data={"csrf_token": csrf, "district": f"http://127.0.0.1:{server.port}",
                                                   "district_key": district[1], "school": "sch-1"})
        assert r.status_code == 200
        key = re.search(r"(zhs1[0-9a-z]+)", r.text).group(1)
        r = client.post("/admin/sync/now", data={"csrf_token": csrf})
        assert r.status_code == 409 and "не зарегистрирована" in r.text  # the district does not know the school yet
        with store.connect(district[0]) as conn, conn.transaction():
            store.add_school(conn, "sch-1", "МБОУ СОШ № 1", key)
        r = client.post("/admin/sync/now", data={"csrf_token": csrf})
        assert r.status_code == 200 and "У района есть все изменения школы" in r.text, r.text[-2000:]
        assert "Ждут отправки</dt><dd>0 изменений" in r.text
        client.cookies.clear()
        login(client, "director")
        assert "sch-1" in client.get("/admin/sync").text
    assert_equal(load_settings(data_dir, mdns=False), district[0])


def test_district_users_see_the_dashboard_and_only_the_admin_takes_files(data_dir, district, server):
    from litestar.testing import TestClient

    from district.web import create_app
    from server.accounts.passwords import hash_password

    url = district[0]
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete
    with store.connect(url) as conn, conn.transaction():
        store.create_account(conn, "rono", "Иванова Мария Петровна", "admin", hash_password("rayon-parol"))
        store.create_account(conn, "inspector", "Петров Пётр", "inspector", hash_password("rayon-parol"))
    with TestClient(create_app(url), base_url="http://district.local") as c:
        assert c.get("/", follow_redirects=False).status_code == 303
        assert c.get("/api/v1/district/schools").status_code == 401
        page = c.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post("/login", data={"login": "rono", "password": "нет", "csrf_token": csrf})
        assert r.status_code == 400 and "Неверный логин или пароль" in r.text
        r = c.post("/login", data={"login": "rono", "password": "rayon-parol", "csrf_token": csrf},
                   follow_redirects=False)
        assert r.status_code == 303
        home = c.get("/")
        assert home.status_code == 200 and "МБОУ СОШ № 1" in home.text and "sch-1" in home.text
        schools = c.get("/api/v1/district/schools").json()["schools"]
        assert schools[0]["code"] == "sch-1" and schools[0]["changes_received"] >= 0 and schools[0]["epoch"] == 1
        detail = c.get("/schools/sch-1")
        assert detail.status_code == 200 and "По периодам" in detail.text and "1 четв." in detail.text
        with store.connect(url) as conn, conn.transaction():
            figures = store.school_detail(conn, "sch-1")["periods"]
        first = figures[0]
        assert first["lessons"] > 0 and first["grades"] > 0 and 0 < first["filled_percent"] <= 100
        assert first["students"] > 0 and {x["parallel"] for x in first["by_parallel"]} >= {5, 9}
        assert all(2 <= float(x["avg"]) <= 5 for x in first["by_parallel"])
        assert c.get("/schools/sch-1/lost.json").status_code == 200
        assert c.get("/schools/nope").status_code == 404
        c.cookies.clear()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"login": "inspector", "password": "rayon-parol", "csrf_token": csrf})
        assert c.get("/").status_code == 200
        assert c.get("/schools/sch-1/lost.json").status_code == 403
        r = c.post("/schools/sch-1/lost/handed", data={})
        assert r.status_code == 403


def test_a_district_that_lost_its_data_gets_the_full_state_again(data_dir, pg, server):
    url = server.url
    with store.connect(url) as conn:
        public = store.public_key(conn)
    settings = set_up_school(data_dir, (url, public), f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete
    change_grades(settings, 10)
    assert school.run_round(settings).complete
    # The district's database is made anew (restored from an old dump, say): the school notices.
    with store.connect(url) as conn, conn.transaction():
        conn.execute("UPDATE school SET epoch = 0, seq = 0, last_id = 0")
        conn.execute("DELETE FROM record")
        conn.execute("DELETE FROM chunk_receipt")
    assert school.run_round(settings).complete
    assert_equal(settings, url)


def test_retries_back_off_with_jitter_up_to_the_interval():
    from sync.uploader import next_delay

    settings = load_settings(Path("/nonexistent"), mdns=False)
    assert settings.sync_interval == 15  # the default the issue asks for
    rng = random.Random(1)
    delays = [next_delay(settings, n, rng) for n in range(1, 12)]
    assert 7.5 <= delays[0] <= 15  # the first retry comes soon: a connection coming back is noticed
    assert all(d <= 15 * 60 for d in delays) and delays[-1] >= 15 * 60 * 0.5
    assert len({round(d, 3) for d in delays}) == len(delays)  # jitter: no two schools in step
    assert next_delay(settings, 0) == 15 * 60


def test_the_proxy_setting_is_honoured(data_dir, district, server):
    """An HTTP proxy (here: a plain forwarder to the district) carries the upload when
    sync_proxy names it, although the district's own address is unreachable."""
    proxy = FaultProxy(server.port, seed=1, cut_p=0, delay_p=0, dup_p=0)
    try:
        settings = set_up_school(data_dir, district, "http://127.0.0.1:9")
        with pytest.raises(school.Unreachable):
            school.run_round(settings)
        via = load_settings(data_dir, mdns=False, sync_proxy=f"http://127.0.0.1:{proxy.port}")
        assert school.run_round(via).complete
        assert proxy.bytes > 0
    finally:
        proxy.close()
    assert_equal(settings, district[0])


def test_a_snapshot_cut_short_by_a_crash_is_abandoned_for_the_next_epoch(data_dir, district, server, monkeypatch):
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete
    # A restore happened (a new feed epoch); the school dies after the first chunk of the new
    # epoch's snapshot, and that chunk even reached the district.
    conn = sqlite3.connect(settings.db_path)
    conn.execute("INSERT INTO feed_epoch(started_at, reason) VALUES ('2026-12-01T10:00:00Z', 'восстановление')")
    conn.commit()
    conn.close()
    real = school._write_chunk
    written = []

    def dies_after_one(data, header, plain, cfg, key):
        if written:
            raise KeyboardInterrupt("kill -9")
        real(data, header, plain, cfg, key)
        written.append(header)

    monkeypatch.setattr(school, "_write_chunk", dies_after_one)
    with pytest.raises(KeyboardInterrupt), school.locked(data_dir):
        school.seal_pending(settings)
    monkeypatch.setattr(school, "_write_chunk", real)
    assert written[0]["epoch"] == 2 and written[0]["kind"] == "snapshot" and not written[0]["final"]
    (e, s, f), = school.outbox(data_dir)
    with store.connect(district[0], autocommit=True) as c:
        assert store.ingest(c, school.wire_bytes(f))["status"] == "applied"
    # Restarted: epoch 2 is abandoned, epoch 3 brings the whole state.
    assert school.run_round(settings).complete
    assert school.read_state(data_dir)["sealed"]["epoch"] == 3
    assert_equal(settings, district[0])
    with store.connect(district[0]) as c:
        assert not store.lost_file(c, "sch-1")["items"]  # nothing was lost: the state is the same
