"""Benchmarks that print one JSON object of figures: `python bench/run.py NAME`.

Not timed tests: figures to compare between machines (a school PC, a Raspberry Pi) and
between versions. Each benchmark builds what it needs in a temporary folder.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCHMARKS = {}


def benchmark(fn):
    BENCHMARKS[fn.__name__] = fn
    return fn


def _demo(tmp: Path):
    from server.config import load_settings
    from server.demo import build_demo

    started = time.perf_counter()
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
    """Demo build time, login time and home/class page times over HTTP (in-process client)."""
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
            class_id = client.get("/").text.split('href="/classes/')[1].split('"')[0]
            class_t = _timings(lambda: client.get(f"/classes/{class_id}").raise_for_status(), n)
    return {"benchmark": "pages", "demo_build_s": round(demo_s, 2), "login": login_t, "home": home_t,
            "class_list": class_t}


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in BENCHMARKS:
        print("Использование: python bench/run.py ИМЯ; есть: " + ", ".join(sorted(BENCHMARKS)), file=sys.stderr)
        return 2
    print(json.dumps(BENCHMARKS[sys.argv[1]](), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
