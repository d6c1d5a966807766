"""`zhurnal serve --workers 2` (server/workers.py, server/duties.py): two real processes on
one data folder over HTTP — a login made on one is good on the other (sessions, CSRF, the
kiosk's idle logout and throttling live in the database), the background duties run in
exactly one and move to the other when it dies, and SIGTERM stops the server with status 0."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PASSWORD
from test_backups import listed, set_up_keys
from test_cli import free_port

from server.duties import LOCK_FILE
from server.workers import ENV, default_workers, from_env, to_env

REPO = Path(__file__).resolve().parents[1]


class Server:
    def __init__(self, data: Path, workers: int, **env: str):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--host", "127.0.0.1",
             "--port", str(self.port), "--no-mdns", "--workers", str(workers)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **env})
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stdout.read()
            try:
                if self.request("GET", "/login")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("the server did not start")

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        """One request on a new connection (so the kernel may hand it to either worker)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            headers = {k.lower(): v for k, v in r.getheaders()}
            headers["set-cookie"] = "; ".join(r.msg.get_all("set-cookie") or [])
            return r.status, headers, r.read().decode()
        finally:
            conn.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def two_workers(data_dir, tmp_path):
    set_up_keys(data_dir, tmp_path / "recovery-key.txt")  # so that the duties make a backup at start
    server = Server(data_dir, 2)
    yield server
    server.stop()


def login(server: Server, name: str) -> tuple[str, str, str]:
    """Log in through the form: (cookie header, CSRF token, worker that answered)."""
    status, headers, html = server.request("GET", "/login")
    pre = re.search(r"zhurnal_csrf=([^;]+)", headers["set-cookie"]).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    status, headers, _ = server.request(
        "POST", "/login", f"login={name}&password={PASSWORD}&csrf_token={token}",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"zhurnal_csrf={pre}"})
    assert status == 303, status
    session = re.search(r"zhurnal_session=([^;]+)", headers["set-cookie"]).group(1)
    cookie = f"zhurnal_session={session}"
    _, _, page = server.request("GET", "/password", headers={"Cookie": cookie})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return cookie, csrf, headers["x-zhurnal-worker"]


def until_both(server: Server, fn, tries: int = 200) -> dict[str, object]:
    """Call fn() (→ (worker, result)) on new connections until each worker answered once."""
    seen: dict[str, object] = {}
    for _ in range(tries):
        worker, result = fn()
        seen.setdefault(worker, result)
        if len(seen) == 2:
            return seen
    raise AssertionError(f"only workers {list(seen)} answered")


def test_two_workers_answer_one_school_and_run_the_duties_once(two_workers, data_dir):
    server = two_workers
    pids = {str(p) for p in _children(server.proc.pid)}
    assert len(pids) == 2
    cookie, csrf, login_worker = login(server, "teacher01")
    assert login_worker in pids

    # A session made on one worker is good on both, and so is its CSRF token: a grade saved
    # through each.
    def grid():
        status, headers, html = server.request("GET", "/journals/1", headers={"Cookie": cookie})
        assert status == 200 and "Русский язык" in html
        return headers["x-zhurnal-worker"], (headers["etag"], headers["x-zhurnal-duties"])

    answers = until_both(server, grid)
    assert len({tag for tag, _ in answers.values()}) == 1  # the same page, the same tag, whoever answers
    # Exactly one of the two runs the background duties: the one holding the lock.
    holder = (data_dir / LOCK_FILE).read_text().strip()
    assert holder in pids
    assert {w: duties for w, (_, duties) in answers.items()} == {w: "1" if w == holder else "0" for w in pids}
    day, n, student = _empty_cell(data_dir)

    def save(value: str):
        def one():
            status, headers, body = server.request(
                "POST", "/journals/1/cell", f'{{"student": {student}, "date": "{day}", "n": {n}, "value": "{value}"}}',
                {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"})
            assert status == 200, body
            return headers["x-zhurnal-worker"], body
        return one

    values = iter("2345" * 50)
    until_both(server, lambda: save(next(values))())
    # Without the token: refused on whichever worker answers.
    for _ in range(6):
        status, _, _ = server.request("POST", "/journals/1/cell", "{}",
                                      {"Cookie": cookie, "Content-Type": "application/json"})
        assert status == 403

    # The duty holder made the one backup at start.
    deadline = time.monotonic() + 90
    while not listed(data_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)
    assert len(listed(data_dir)) == 1, listed(data_dir)

    # The holder dies: the other takes the duties over, the supervisor starts a new worker,
    # and the session still works.
    os.kill(int(holder), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = (data_dir / LOCK_FILE).read_text().strip()
        if now and now != holder:
            break
        time.sleep(0.3)
    # The survivor, or the worker the supervisor started in place of the dead one (whichever
    # took the lock first): a live worker of this server either way.
    assert now != holder and now in {str(p) for p in _children(server.proc.pid)}
    for _ in range(5):
        status, headers, _ = server.request("GET", "/journals/1", headers={"Cookie": cookie})
        assert status == 200 and headers["x-zhurnal-worker"] != holder
        assert headers["x-zhurnal-duties"] == ("1" if headers["x-zhurnal-worker"] == now else "0")
    assert len(listed(data_dir)) == 1  # the new holder finds today's backup made

    assert server.stop() == 0


def test_the_kiosk_idle_logout_and_login_throttling_hold_across_workers(data_dir):
    server = Server(data_dir, 2, ZHURNAL_KIOSK_IDLE_SECONDS="2")
    try:
        # Throttling: failures counted in the database, whichever worker saw them.
        workers, statuses = set(), []
        for _ in range(8):
            status, headers, html = server.request("GET", "/login")
            pre = re.search(r"zhurnal_csrf=([^;]+)", headers["set-cookie"]).group(1)
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            status, headers, html = server.request(
                "POST", "/login", f"login=teacher01&password=wrong&csrf_token={token}",
                {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"zhurnal_csrf={pre}"})
            workers.add(headers["x-zhurnal-worker"])
            statuses.append((status, "Слишком много неудачных попыток" in html))
        assert statuses[-1][1], statuses  # the 6th try onwards is throttled (5 per account and address)
        # The kiosk: a kiosk session idle longer than kiosk_idle_seconds is over on every worker.
        status, headers, html = server.request("GET", "/kiosk")
        pre = re.search(r"zhurnal_csrf=([^;]+)", headers["set-cookie"]).group(1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        status, headers, _ = server.request(
            "POST", "/kiosk/login", f"login=parent0001&password={PASSWORD}&csrf_token={token}",
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"zhurnal_csrf={pre}; zhurnal_kiosk=1"})
        assert status == 303, status
        cookie = re.search(r"zhurnal_session=[^;]+", headers["set-cookie"]).group(0)
        assert server.request("GET", "/diary", headers={"Cookie": cookie})[0] == 200
        time.sleep(4.5)  # real processes: the real clock runs on from the suite's moment
        answered = {server.request("GET", "/diary", headers={"Cookie": cookie})[0] for _ in range(4)}
        assert 200 not in answered, answered
    finally:
        assert server.stop() == 0


def test_one_worker_also_stops_with_status_0_on_sigterm(data_dir):
    server = Server(data_dir, 1)
    assert "x-zhurnal-worker" not in server.request("GET", "/login")[1]
    assert server.stop() == 0


def test_the_default_is_the_cores_bounded_by_memory(monkeypatch, tmp_path):
    assert default_workers(cores=4, memory_mb=8000) == 4
    assert default_workers(cores=4, memory_mb=350) == 2  # 150 MB a worker
    assert default_workers(cores=4, memory_mb=100) == 1
    assert default_workers(cores=1, memory_mb=None) == 1
    from server.config import ConfigError, load_settings

    monkeypatch.setenv("ZHURNAL_WORKERS", "-1")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path)
    assert "workers" in e.value.message
    monkeypatch.setenv("ZHURNAL_WORKERS", "3")
    settings = load_settings(tmp_path, port=8123)
    monkeypatch.setenv(ENV, to_env(settings))
    assert from_env() == settings


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    found = []
    for p in out.split():
        cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        if b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
            found.append(int(p))
    return found


def _empty_cell(data_dir: Path) -> tuple[str, int, int]:
    from test_journal import lessons_of, q

    from server import clock

    (day, n), = lessons_of(data_dir, 1, before=clock.today(), count=1)
    student = q(data_dir, "SELECT e.student_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id"
                          " WHERE j.id = 1 ORDER BY e.student_id LIMIT 1")[0][0]
    return day, n, student


def test_the_web_restore_is_refused_with_several_workers(data_dir):
    from conftest import login as form_login
    from conftest import session_csrf
    from litestar.testing import TestClient

    from server.app import create_app
    from server.config import load_settings

    app = create_app(load_settings(data_dir, mdns=False), worker=True)
    with TestClient(app=app, base_url="http://testserver.local") as c:
        form_login(c, "sysadmin")
        csrf = session_csrf(c)
        for path in ("/admin/backups/restore", "/admin/backups/restore/confirm"):
            r = c.post(path, data={"file": "x", "token": "y", "csrf_token": csrf})
            assert r.status_code == 409 and "выполняется с консоли" in r.text, (path, r.status_code)
