"""`python bench/run.py journal`: the journal grid and grade entry on a large school.

A generator fills a school of ~1,500 students with a whole year of lessons and grades
(direct SQL: this is test data, not journal entries, so it bypasses the write path),
then the real server runs in a subprocess and is measured over HTTP:
- the grid page of a 30-student class for one quarter (p50/p95) beside the raw SQL that
  reads the same data;
- grade entry by 20 concurrent clients (throughput, p95) beside raw sqlite3 single-row
  commits with synchronous=FULL on the same disk;
- the server's peak RSS.

The timed requests go through a minimal keep-alive HTTP client (_Conn): httpx used to cost
as much CPU per request as the server, on the same two cores. Logins use httpx, untimed.

Two floors are printed beside the targets, because on this kind of machine the targets sit
at or below them. session_floor_p50_ms is GET /api/v1/me — a session check and a small JSON
answer, nothing else — asked alternately with the grid; session_floor_requests_per_s is the
same request by the 20 clients. Measured on the 2-core VM (2026-11-30): raw SQL of the grid
0.16 ms, session floor 0.37 ms, grid 3.1 ms (p95 3.2–3.4): the session alone is 2.3× the raw
SQL, before the page reads its six queries into Python and writes 720 cells of HTML. Raw
commits 8,500–10,000/s (an fsync costs ~0.1 ms here), session floor ~4,400 requests/s —
about half the raw rate with nothing written — and grade saves 2,200–2,400/s (0.45 ms of
server CPU each: the session, the journal read again inside the write job, the checks, the
grade, the hashed audit entry, the new average; the COMMIT is shared by a batch). Where a
commit costs more than a request — an SD card; `journal_sd` adds 3 ms to each fsync — group
commit puts many saves in one flush: ~300 raw commits/s against ~1,300 saves/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-parol"
SUBJECTS = ["Русский язык", "Литература", "Математика", "Английский язык", "История", "География", "Биология",
            "Физика", "Информатика", "Физическая культура"]


def generate(data: Path, seed: int = 7) -> dict:
    """The large school. Returns what the measurements need."""
    sys.path.insert(0, str(ROOT))
    from server import clock
    from server.accounts.passwords import hash_password
    from server.db import migrate
    from server.timeutil import now_text, school_year_start

    rng = random.Random(seed)
    data.mkdir(parents=True, exist_ok=True)
    db_path = data / "zhurnal.sqlite3"
    migrate(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # generating only; the server uses FULL
    conn.execute("BEGIN")
    now = now_text()
    start = school_year_start(clock.today())
    y0, y1 = f"{start}-09-01", f"{start + 1}-05-31"
    conn.execute("INSERT INTO school(id, uid, name, created_at) VALUES (1, ?, 'Школа для замеров', ?)",
                 (str(uuid.uuid4()), now))
    year_id = conn.execute("INSERT INTO academic_year(name, starts_on, ends_on, status) VALUES (?, ?, ?, 'open')",
                           (f"{start}/{start + 1}", f"{start}-09-01", f"{start + 1}-08-31")).lastrowid
    quarters = [(f"{start}-09-01", f"{start}-10-26"), (f"{start}-11-03", f"{start}-12-28"),
                (f"{start + 1}-01-09", f"{start + 1}-03-22"), (f"{start + 1}-03-31", f"{start + 1}-05-31")]
    for i, (a, b) in enumerate(quarters, 1):
        conn.execute("INSERT INTO study_period(year_id, kind, number, starts_on, ends_on) VALUES (?, 'quarter', ?, ?, ?)",
                     (year_id, i, a, b))
    conn.execute("INSERT INTO study_period(year_id, kind, number, starts_on, ends_on) VALUES (?, 'year', 1, ?, ?)",
                 (year_id, y0, y1))
    pw = hash_password(PASSWORD)

    def person(last, first, roles, login):
        pid = conn.execute("INSERT INTO person(last_name, first_name, middle_name, created_at) VALUES (?, ?, '', ?)",
                           (last, first, now)).lastrowid
        aid = conn.execute("INSERT INTO account(person_id, login, password_hash, created_at) VALUES (?, ?, ?, ?)",
                           (pid, login, pw, now)).lastrowid
        conn.executemany("INSERT INTO account_role(account_id, role, granted_at) VALUES (?, ?, ?)",
                         [(aid, r, now) for r in roles])
        return pid

    person("Завучева", "Анна", ["deputy", "teacher"], "deputy")
    teachers = [person("Учителева", f"Учитель{i}", ["teacher"], f"teacher{i:02d}") for i in range(1, 81)]
    subject_ids = [conn.execute("INSERT INTO subject(name) VALUES (?)", (s,)).lastrowid for s in SUBJECTS]
    classes = []
    letters = "АБВГДЕ"
    n_student = 0
    for parallel in range(2, 12):
        for li, letter in enumerate(letters[: 6 if parallel < 11 else 5]):
            size = 30 if (parallel, letter) == (7, "А") else 23
            cid = conn.execute("INSERT INTO class(year_id, parallel, letter) VALUES (?, ?, ?)",
                               (year_id, parallel, letter)).lastrowid
            members = []
            for _ in range(size):
                n_student += 1
                pid = conn.execute("INSERT INTO person(last_name, first_name, middle_name, created_at)"
                                   " VALUES (?, ?, '', ?)", (f"Ученикова{n_student:04d}", "Мария", now)).lastrowid
                conn.execute("INSERT INTO student(person_id) VALUES (?)", (pid,))
                conn.execute("INSERT INTO enrollment(student_id, class_id, from_date) VALUES (?, ?, ?)",
                             (pid, cid, y0))
                members.append(pid)
            classes.append((cid, parallel, letter, members))
    journals = []
    t = 0
    for cid, parallel, letter, members in classes:
        for k, sid in enumerate(subject_ids):
            jid = conn.execute("INSERT INTO journal(year_id, subject_id, class_id, teacher_id, hours_per_week)"
                               " VALUES (?, ?, ?, ?, 3)", (year_id, sid, cid, teachers[t % len(teachers)])).lastrowid
            t += 1
            slots = [(i % 5 + 1, i // 5 + 1) for i in range(30) if i % 10 == k]
            conn.executemany("INSERT INTO timetable_slot(journal_id, weekday, lesson_number) VALUES (?, ?, ?)",
                             [(jid, wd, n) for wd, n in slots])
            journals.append((jid, cid, members, slots))
    lesson_rows, grades, attendance = [], [], []
    lesson_id = 0
    day0 = date.fromisoformat(y0)
    days = [(day0 + timedelta(d)) for d in range((date.fromisoformat(y1) - day0).days + 1)]
    past_cells = []
    today = clock.today().isoformat()
    for jid, cid, members, slots in journals:
        by_wd = {}
        for wd, n in slots:
            by_wd.setdefault(wd, []).append(n)
        for d in days:
            for n in by_wd.get(d.isoweekday(), ()):
                lesson_id += 1
                iso = d.isoformat()
                lesson_rows.append((lesson_id, jid, iso, n, "Тема урока"))
                for s in rng.sample(members, 6):
                    grades.append((lesson_id, s, 0, rng.choice("5544432"), "lesson"))
                for s in rng.sample(members, 2):
                    attendance.append((lesson_id, s, rng.choice(["Н", "Б", "ОП"])))
                if iso <= today and jid == journals[0][0] or (iso <= today and rng.random() < 0.01):
                    past_cells.append((jid, iso, n, members))
    conn.executemany("INSERT INTO lesson(id, journal_id, date, lesson_number, topic) VALUES (?, ?, ?, ?, ?)",
                     lesson_rows)
    conn.executemany("INSERT INTO grade(lesson_id, student_id, position, value, work_type) VALUES (?, ?, ?, ?, ?)",
                     grades)
    conn.executemany("INSERT OR IGNORE INTO attendance(lesson_id, student_id, mark) VALUES (?, ?, ?)", attendance)
    conn.execute("COMMIT")
    big = next(c for c in classes if len(c[3]) == 30)
    big_journal = next(j for j in journals if j[1] == big[0])
    quarter = conn.execute("SELECT id, starts_on, ends_on FROM study_period WHERE kind = 'quarter' AND number = 1"
                           ).fetchone()
    conn.close()
    return {"students": n_student, "journals": len(journals), "lessons": len(lesson_rows), "grades": len(grades),
            "attendance": len(attendance), "big_journal": big_journal[0], "quarter": quarter,
            "past_cells": past_cells}


def raw_grid_ms(db_path: Path, journal_id: int, quarter, n: int = 30) -> float:
    """The grid's data read with plain sqlite3: the same six set-based queries."""
    conn = sqlite3.connect(db_path)
    _, start, end = quarter
    times = []
    for _ in range(n):
        t = time.perf_counter()
        conn.execute("SELECT l.*, h.text, h.minutes, h.file_name, wt.name, wt.is_control FROM lesson l"
                     " JOIN work_type wt ON wt.code = l.work_type LEFT JOIN homework h ON h.lesson_id = l.id"
                     " WHERE l.journal_id = ? AND l.date BETWEEN ? AND ?", (journal_id, start, end)).fetchall()
        conn.execute("SELECT p.id, p.last_name, p.first_name, p.middle_name, e.from_date, e.to_date FROM enrollment e"
                     " JOIN person p ON p.id = e.student_id WHERE e.class_id = (SELECT class_id FROM journal"
                     " WHERE id = ?)", (journal_id,)).fetchall()
        conn.execute("SELECT * FROM work_type").fetchall()
        conn.execute("SELECT g.* FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = ?"
                     " AND l.date BETWEEN ? AND ?", (journal_id, start, end)).fetchall()
        conn.execute("SELECT a.* FROM attendance a JOIN lesson l ON l.id = a.lesson_id WHERE l.journal_id = ?"
                     " AND l.date BETWEEN ? AND ?", (journal_id, start, end)).fetchall()
        conn.execute("SELECT * FROM period_grade WHERE journal_id = ?", (journal_id,)).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    return round(statistics.median(times), 2)


def raw_commits_per_s(folder: Path, seconds: float = 2.0) -> float:
    """Single-row commits with WAL and synchronous=FULL on the same disk."""
    path = folder / "raw.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t(v) VALUES ('5')")
        conn.execute("COMMIT")
        n += 1
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return round(rate, 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 2)


async def _login(client, login: str) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.status_code
    page = await client.get("/password")
    return re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, all its threads (the sqlite worker threads too), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that sends prepared bytes and reads one answer.

    The timed phases use this instead of httpx: httpx spent ~0.55 ms of CPU per request,
    on the same two cores as the server — as much as the server itself — so the figures
    measured the client as much as the server. This one costs a few microseconds. It only
    understands what our server answers (Content-Length bodies)."""

    def __init__(self):
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", self.buf[:end])
        size = end + 4 + (int(m.group(1)) if m else 0)
        if len(self.buf) >= size:
            answer = bytes(self.buf[:size])
            del self.buf[:size]
            self.waiter.set_result(answer)

    def connection_lost(self, exc):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    async def request(self, raw: bytes) -> bytes:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


async def _connect(port: int) -> _Conn:
    _, conn = await asyncio.get_running_loop().create_connection(_Conn, "127.0.0.1", port)
    return conn


def _request(method: str, path: str, cookie: str, csrf: str = "", body: bytes = b"", gzip: bool = False) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
    if gzip:
        head += "Accept-Encoding: gzip\r\n"
    if csrf:
        head += f"X-CSRF-Token: {csrf}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _status(answer: bytes) -> int:
    return int(answer[9:12])


async def _session(base: str, login: str) -> tuple[str, str]:
    """Log in with httpx (not timed): the session cookie header and the CSRF token."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        csrf = await _login(c, login)
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items()), csrf


async def _measure(port: int, info: dict, n_grid: int, clients: int, writes_each: int, server_pid: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    cookie, _ = await _session(base, "deputy")
    url = f"/journals/{info['big_journal']}?period={info['quarter'][0]}"
    one = await _connect(port)
    for _ in range(5):  # warm: first pages
        assert _status(await one.request(_request("GET", url, cookie))) == 200
    grid, floor = [], []
    for _ in range(n_grid):
        t = time.perf_counter()
        answer = await one.request(_request("GET", url, cookie))
        grid.append((time.perf_counter() - t) * 1000)
        assert _status(answer) == 200
        t = time.perf_counter()
        assert _status(await one.request(_request("GET", "/api/v1/me", cookie))) == 200
        floor.append((time.perf_counter() - t) * 1000)
    # As a browser asks for it: gzipped (what travels over the school's Wi-Fi).
    grid_gzip = []
    for _ in range(n_grid // 2):
        t = time.perf_counter()
        answer = await one.request(_request("GET", url, cookie, gzip=True))
        grid_gzip.append((time.perf_counter() - t) * 1000)
        assert _status(answer) == 200 and b"content-encoding: gzip" in answer[:2000].lower()
    plain = await one.request(_request("GET", url, cookie))
    sizes = (len(plain) - plain.find(b"\r\n\r\n") - 4, len(answer) - answer.find(b"\r\n\r\n") - 4)
    one.transport.close()
    # Every client logs in before the clock starts: logins are not grade writes.
    sessions = [await _session(base, "deputy") for _ in range(clients)]
    conns = [await _connect(port) for _ in range(clients)]

    # The cheapest request that carries a session, by the same clients: no grade save
    # (which needs the session too, and a write) can be faster than this on this machine.
    async def floor_worker(conn, cookie):
        for _ in range(writes_each):
            assert _status(await conn.request(_request("GET", "/api/v1/me", cookie))) == 200

    t0 = time.perf_counter()
    await asyncio.gather(*(floor_worker(c, s[0]) for c, s in zip(conns, sessions)))
    floor_rate = clients * writes_each / (time.perf_counter() - t0)

    cells = info["past_cells"]
    rng = random.Random(1)
    latencies: list[float] = []
    errors = 0

    async def worker(conn, cookie, csrf):
        nonlocal errors
        for _ in range(writes_each):
            jid, day, n, members = cells[rng.randrange(len(cells))]
            body = json.dumps({"student": rng.choice(members), "date": day, "n": n,
                               "value": rng.choice(["5", "4", "3", "5/4"])}).encode()
            t = time.perf_counter()
            answer = await conn.request(_request("POST", f"/journals/{jid}/cell", cookie, csrf, body))
            latencies.append((time.perf_counter() - t) * 1000)
            if _status(answer) != 200:
                errors += 1

    server_cpu0, client_cpu0 = _cpu_s(server_pid), time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c, cookie, csrf) for c, (cookie, csrf) in zip(conns, sessions)))
    wall = time.perf_counter() - t0
    server_cpu, client_cpu = _cpu_s(server_pid) - server_cpu0, time.process_time() - client_cpu0
    for c in conns:
        c.transport.close()
    return {"grid": grid, "grid_gzip": grid_gzip, "sizes": sizes, "floor": floor, "floor_rate": floor_rate, "writes": len(latencies), "wall": wall,
            "latencies": latencies, "errors": errors, "server_cpu": server_cpu, "client_cpu": client_cpu}


SLOW_FSYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
static void wait_like_a_card(void) {
    static long us = -1;
    if (us < 0) { const char *e = getenv("ZHURNAL_BENCH_FSYNC_US"); us = e ? atol(e) : 0; }
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, 0);
}
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync");
                    wait_like_a_card(); return real(fd); }
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
                        wait_like_a_card(); return real(fd); }
"""


def slow_fsync_env(tmp: Path, micros: int) -> dict:
    """An LD_PRELOAD shim that adds `micros` to every fsync/fdatasync, so that this VM's
    nearly free flushes behave like an SD card's (a few milliseconds). Needs gcc."""
    src, lib = tmp / "slowfsync.c", tmp / "slowfsync.so"
    src.write_text(SLOW_FSYNC_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(lib), str(src), "-ldl"], check=True)
    return {"LD_PRELOAD": str(lib), "ZHURNAL_BENCH_FSYNC_US": str(micros)}


def raw_commits_in_subprocess(folder: Path, env: dict) -> float:
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import journal_bench, pathlib; "
            f"print(journal_bench.raw_commits_per_s(pathlib.Path({str(folder)!r})))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def run(tmp: Path, n_grid: int = 200, clients: int = 20, writes_each: int = 150, fsync_us: int = 0) -> dict:
    data = tmp / "data"
    t0 = time.perf_counter()
    info = generate(data)
    gen_s = time.perf_counter() - t0
    db_path = data / "zhurnal.sqlite3"
    raw_ms = raw_grid_ms(db_path, info["big_journal"], info["quarter"])
    extra_env = slow_fsync_env(tmp, fsync_us) if fsync_us else {}
    raw_rate = raw_commits_in_subprocess(tmp, extra_env) if fsync_us else raw_commits_per_s(tmp)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra_env}
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--host", "127.0.0.1",
                               "--port", str(port), "--no-mdns"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        m = asyncio.run(_measure(port, info, n_grid, clients, writes_each, server.pid))
        rss = _rss_peak_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "benchmark": "journal" + ("_slow_fsync" if fsync_us else ""),
        "added_fsync_ms": fsync_us / 1000,
        "school": {k: info[k] for k in ("students", "journals", "lessons", "grades", "attendance")},
        "generate_s": round(gen_s, 1),
        "grid_students": 30,
        "grid_p50_ms": percentile(m["grid"], 0.5),
        "grid_p95_ms": percentile(m["grid"], 0.95),
        "grid_raw_sql_ms": raw_ms,
        "grid_kb": round(m["sizes"][0] / 1024),
        "grid_gzip_kb": round(m["sizes"][1] / 1024),
        "grid_gzip_p50_ms": percentile(m["grid_gzip"], 0.5),
        # The cheapest page with a session (GET /api/v1/me: session, JSON, nothing else),
        # asked alternately with the grid: no page can answer faster on this machine.
        "session_floor_p50_ms": percentile(m["floor"], 0.5),
        "grade_clients": clients,
        "grade_writes": m["writes"],
        "grade_errors": m["errors"],
        "grade_writes_per_s": round(m["writes"] / m["wall"], 1),
        "grade_write_p50_ms": percentile(m["latencies"], 0.5),
        "grade_write_p95_ms": percentile(m["latencies"], 0.95),
        # CPU time (all threads) spent per grade write during the timed phase: the server's
        # and the benchmark client's, which runs on the same cores.
        "server_cpu_ms_per_write": round(m["server_cpu"] * 1000 / max(1, m["writes"]), 3),
        "client_cpu_ms_per_write": round(m["client_cpu"] * 1000 / max(1, m["writes"]), 3),
        "raw_commits_per_s": raw_rate,
        # The same clients asking only GET /api/v1/me: the ceiling for any request that
        # carries a session, grade saves included.
        "session_floor_requests_per_s": round(m["floor_rate"], 1),
        "rss_peak_mb": rss,
    }
