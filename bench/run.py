"""Benchmarks that print one JSON object of figures: `python bench/run.py NAME`.

Not timed tests: figures to compare between machines (a school PC, a Raspberry Pi) and
between versions. Each benchmark builds what it needs in a temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHMARKS = {}
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise


def benchmark(fn):
    BENCHMARKS[fn.__name__] = fn
    return fn


def _demo(tmp: Path):
    from server.config import load_settings
    from server.demo import build_demo

    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON figures
        build_demo(load_settings(tmp / "data", mdns=False), "demo-parol")
    return load_settings(tmp / "data", mdns=False), time.perf_counter() - started


def _timings(fn, n: int) -> dict:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"n": n, "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(n * 0.95) - 1], 2), "max_ms": round(times[-1], 2)}


@benchmark
def pages(n: int = 50) -> dict:
    """Demo build time, login time, home/class page times and GET /api/v1/me (the session check)
    over HTTP (in-process client)."""
    from litestar.testing import TestClient

    from server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings, demo_s = _demo(Path(tmp))
        with TestClient(create_app(settings)) as client:
            def login():
                client.cookies.clear()
                token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
                r = client.post("/login", data={"login": "teacher01", "password": "demo-parol", "csrf_token": token},
                                follow_redirects=False)
                assert r.status_code == 303

            login_t = _timings(login, 10)
            home_t = _timings(lambda: client.get("/").raise_for_status(), n)
            # The session check alone (every request pays it) and a small JSON answer.
            me_t = _timings(lambda: client.get("/api/v1/me").raise_for_status(), n * 4)
            class_id = client.get("/").text.split('href="/classes/')[1].split('"')[0]
            class_t = _timings(lambda: client.get(f"/classes/{class_id}").raise_for_status(), n)
    return {"benchmark": "pages", "demo_build_s": round(demo_s, 2), "login": login_t, "home": home_t,
            "me": me_t, "class_list": class_t}


def _fill(db: Path, size_mb: int) -> None:
    """Grow the database to about `size_mb` with rows shaped like journal data (numbers,
    short Russian text, ids): it compresses as real data does, not as zeros or noise."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, student INTEGER, lesson INTEGER,"
                 " mark TEXT, token TEXT, note TEXT)")
    while db.stat().st_size < size_mb * 1_000_000:
        conn.execute("BEGIN")
        conn.execute("""
            WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
            INSERT INTO bench_rows(student, lesson, mark, token, note)
            SELECT abs(random() % 800), abs(random() % 40000), substr('2345нб', 1 + abs(random() % 6), 1),
                   hex(randomblob(8)), 'Тема урока ' || (x % 97) || ': упражнение ' || (x % 311) || ', стр. ' || (x % 250)
              FROM n""")
        conn.execute("COMMIT")
    conn.close()


def _fill_files(data_dir: Path, total_mb: int, count: int = 1500) -> tuple[int, int]:
    """Homework files and message attachments as a school has them, ~`total_mb` in all:
    mostly already compressed (PDF, JPEG, DOCX: random bytes here), one in five plain text.
    Returns (count, bytes)."""
    import os
    import random
    import secrets

    rng = random.Random(7)
    sizes = [rng.lognormvariate(0, 1) for _ in range(count)]
    scale = total_mb * 1_000_000 / sum(sizes)
    written = 0
    for i, weight in enumerate(sizes):
        size = max(1, int(weight * scale))
        folder = data_dir / ("files" if i % 3 else "messages")
        folder.mkdir(exist_ok=True)
        if i % 5 == 0:
            line = f"Домашнее задание № {i}: упражнения 1–{i % 40}, стр. {i % 250}.\n".encode()
            data = (line * (size // len(line) + 1))[:size]
        else:
            data = os.urandom(size)
        (folder / secrets.token_hex(12)).write_bytes(data)
        written += size
    return count, written


@benchmark
def backup(size_mb: int = 200, files_mb: int = 100) -> dict:
    """Nightly backup (snapshot, checks, hashing the files, gzip, age, verify), restore with
    the recovery key, and the `age` tool encrypting the same database file, on a ~200 MB
    database with ~100 MB of the school's files (homework, attachments) beside it."""
    import contextlib
    import resource
    import shutil
    import subprocess

    from backups import create, keys, restore

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON figures
            settings, _ = _demo(tmp)
        _fill(settings.db_path, size_mb)
        files, files_bytes = _fill_files(settings.data_dir, files_mb) if files_mb else (0, 0)
        db_mb = settings.db_path.stat().st_size / 1_000_000
        total_mb = db_mb + files_bytes / 1_000_000
        key = tmp / "recovery.txt"
        keys.set_up(settings.data_dir, deliver=key.write_text)
        stages: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            stages.setdefault(stage, time.perf_counter())

        started, cpu = time.perf_counter(), time.process_time()
        entry = create.create_backup(settings, "manual", progress, usb_copy=False)
        backup_s, backup_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        marks = sorted(stages.items(), key=lambda kv: kv[1]) + [("end", started + backup_s)]
        stage_s = {a[0]: round(b[1] - a[1], 2) for a, b in zip(marks, marks[1:])}

        from server.config import load_settings

        fresh = load_settings(tmp / "new-machine", mdns=False)
        started, cpu = time.perf_counter(), time.process_time()
        prepared = restore.prepare_restore(fresh, entry.path, keys.load_key_file(key))
        restore.install_offline(fresh, prepared)
        restore_s, restore_cpu_s = time.perf_counter() - started, time.process_time() - cpu

        age_s = None
        if shutil.which("age"):
            public = keys.load_key_file(key)[0].recipient
            started = time.perf_counter()
            subprocess.run(["age", "-r", public, "-o", str(tmp / "db.age"), str(settings.db_path)], check=True)
            age_s = time.perf_counter() - started
        max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "benchmark": "backup",
        "db_mb": round(db_mb, 1),
        "files": files,
        "files_mb": round(files_bytes / 1_000_000, 1),
        "backup_file_mb": round(entry.size / 1_000_000, 1),
        "backup_s": round(backup_s, 2),
        "backup_cpu_s": round(backup_cpu_s, 2),
        "backup_mb_per_s": round(total_mb / backup_s, 1),
        "backup_stages_s": stage_s,
        "restore_s": round(restore_s, 2),
        "restore_cpu_s": round(restore_cpu_s, 2),
        "restore_mb_per_s": round(total_mb / restore_s, 1),
        "age_cli_mb_per_s": round(db_mb / age_s, 1) if age_s else None,
        "max_rss_mb": round(max_rss_mb, 1),
    }


@benchmark
def journal() -> dict:
    """The journal grid and grade entry on a large school (bench/journal_bench.py)."""
    import journal_bench

    with tempfile.TemporaryDirectory() as tmp:
        return journal_bench.run(Path(tmp))


@benchmark
def journal_sd() -> dict:
    """The same with 3 ms added to every fsync (an SD card's flush), via an LD_PRELOAD shim:
    where commits cost more than requests, group commit is what keeps up."""
    import journal_bench

    with tempfile.TemporaryDirectory() as tmp:
        return journal_bench.run(Path(tmp), fsync_us=3000)


@benchmark
def reports() -> dict:
    """The reports on the large bench school (bench/reports_bench.py)."""
    import reports_bench

    with tempfile.TemporaryDirectory() as tmp:
        return reports_bench.run(Path(tmp))


@benchmark
def archive() -> dict:
    """The journal's archive (server/archive/): the year archive of one class (5А of the demo school:
    its journals from 1 September to yesterday, ~13 journals) built by the server's worker process
    at nice 10 — wall and CPU time, the worker's peak memory, pages and bytes; target ≤ 60 s.
    `ZHURNAL_CLOCK=2027-05-24T10:00 python bench/run.py archive`: the same on a whole year's lessons."""
    import os
    import resource
    import subprocess

    from server import clock
    from server.db import connect_sync

    if os.environ.get("ZHURNAL_CLOCK"):
        clock.set_now(os.environ["ZHURNAL_CLOCK"])   # the demo's lessons run to the day before
    with tempfile.TemporaryDirectory() as tmp:
        settings, _ = _demo(Path(tmp))
        conn = connect_sync(settings.db_path)
        year_id = conn.execute("SELECT id FROM academic_year WHERE status = 'open'").fetchone()[0]
        conn.close()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "server.archive.worker", "--data", str(settings.data_dir),
                        "--year", str(year_id), "--classes", "5А"], check=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        state = json.loads((settings.data_dir / "archive" / ".build.json").read_text())
        folder = Path(state["folder"])
        manifest = json.loads((folder / "manifest.json").read_text())
        pages = 0
        for f in manifest["files"]:
            if f["name"].endswith(".pdf"):
                info = subprocess.run(["pdfinfo", str(folder / f["name"])], capture_output=True, text=True).stdout
                pages += int(re.search(r"Pages:\s+(\d+)", info).group(1)) if "Pages:" in info else 0
    return {"benchmark": "archive", "scope": "year archive of 5А (demo school, lessons to yesterday)",
            "today": clock.today().isoformat(),
            "documents": state["total"], "files": len(manifest["files"]), "pdf_pages": pages,
            "bytes": sum(f["size"] for f in manifest["files"]), "wall_s": round(wall, 2),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
            "worker_peak_rss_mb": round(after.ru_maxrss / 1024, 1), "target_s": 60}


@benchmark
def archive_school() -> dict:
    """The whole year's archive of the 1,400-student bench school (bench/journal_bench.py: 52
    classes, 520 journals, a year of lessons and grades) built by the archive's worker process,
    with a real `zhurnal serve` on the same data answering a page a second meanwhile: the build's
    wall and CPU time and peak memory, and the server's peak memory (VmHWM) while it runs (issue 14)."""
    import os
    import resource
    import socket
    import subprocess
    import urllib.request

    sys.path.insert(0, str(Path(__file__).parent))
    import journal_bench

    from server.db import connect_sync

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with contextlib.redirect_stdout(sys.stderr):
            info = journal_bench.generate(data)
        conn = connect_sync(data / "zhurnal.sqlite3")
        year_id = conn.execute("SELECT id FROM academic_year WHERE status = 'open'").fetchone()[0]
        conn.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "ZHURNAL_WORKERS": "1"}
        server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--host",
                                   "127.0.0.1", "--port", str(port), "--no-mdns"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            worker = subprocess.Popen([sys.executable, "-m", "server.archive.worker", "--data", str(data),
                                       "--year", str(year_id)], stdout=subprocess.DEVNULL)
            answered = 0
            while worker.poll() is None:
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).read()
                    answered += 1
                time.sleep(1)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            status = Path(f"/proc/{server.pid}/status").read_text()
            server_hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
        finally:
            server.terminate()
            server.wait()
        state = json.loads((data / "archive" / ".build.json").read_text())
        manifest = json.loads((Path(state["folder"]) / "manifest.json").read_text())
    return {"benchmark": "archive_school", "school": {k: info[k] for k in ("students", "journals", "lessons", "grades")},
            "worker_exit": worker.returncode, "documents": state.get("total"), "files": len(manifest["files"]),
            "bytes": sum(f["size"] for f in manifest["files"]), "wall_s": round(wall, 1),
            "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
            "worker_peak_rss_mb": round(after.ru_maxrss / 1024, 1), "server_peak_rss_mb": round(server_hwm, 1),
            "server_pages_answered_during_build": answered}


@benchmark
def year() -> dict:
    """Closing the year and applying promotion on the large school (bench/year_bench.py)."""
    import year_bench

    with tempfile.TemporaryDirectory() as tmp:
        return year_bench.run(Path(tmp))


@benchmark
def plans() -> dict:
    """Query plans of the pages read most on a ten-year school (bench/plans.py)."""
    import plans as plans_bench

    with tempfile.TemporaryDirectory() as tmp:
        return plans_bench.run(Path(tmp))


@benchmark
def load() -> dict:
    """A whole school at once, 1 worker and N (bench/load_bench.py); ZHURNAL_BENCH_SCALE=k runs
    k times as many requests a phase."""
    import os

    import load_bench

    with tempfile.TemporaryDirectory() as tmp:
        return load_bench.run(Path(tmp), float(os.environ.get("ZHURNAL_BENCH_SCALE", "1")))


@benchmark
def sync() -> dict:
    """District sync: a demo school uploading to a district on loopback (bench/sync_bench.py)."""
    import sync_bench

    with tempfile.TemporaryDirectory() as tmp:
        return sync_bench.run(Path(tmp))


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in BENCHMARKS:
        print("Использование: python bench/run.py ИМЯ; есть: " + ", ".join(sorted(BENCHMARKS)), file=sys.stderr)
        return 2
    print(json.dumps(BENCHMARKS[sys.argv[1]](), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
