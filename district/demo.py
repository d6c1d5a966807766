"""`sh deploy/district-demo.sh`: a district and two demo schools on one machine."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from server.config import load_settings
from server.demo import build_demo

from . import store
from .pgtemp import Cluster

ROOT = Path("district-demo")
SCHOOLS = [("demo-7", "МБОУ СОШ № 7 (демо)"), ("demo-12", "МБОУ Гимназия № 12 (демо)")]


def main() -> int:
    p = argparse.ArgumentParser(prog="district-demo")
    p.add_argument("--port", type=int, default=8100)
    args = p.parse_args()
    ROOT.mkdir(exist_ok=True)
    cluster = Cluster(ROOT.resolve() / "postgresql").start()
    server = None
    try:
        url = cluster.create_database("district")
        with store.connect(url) as conn, conn.transaction():
            public = store.init(conn)
            from server.accounts.passwords import hash_password

            store.create_account(conn, "rono", "Сотрудник управления образования", "admin",
                                 hash_password("rayon-parol"))
            store.create_account(conn, "inspector", "Инспектор", "inspector", hash_password("rayon-parol"))
        zh = str(Path(sys.executable).with_name("zhurnal"))
        server = subprocess.Popen([zh, "district", "serve", "--database", url, "--host", "127.0.0.1",
                                   "--port", str(args.port)])
        time.sleep(3)
        from sync import school

        for code, name in SCHOOLS:
            data = ROOT / code
            if not (data / "zhurnal.sqlite3").exists():
                print(f"Создаю демо-школу {name} …")
                with contextlib.redirect_stdout(sys.stderr):
                    build_demo(load_settings(data, mdns=False), "demo-parol")
            shutil.rmtree(data / "sync", ignore_errors=True)  # the district below is new
            key = school.setup(data, f"http://127.0.0.1:{args.port}", public, code)
            with store.connect(url) as conn, conn.transaction():
                store.add_school(conn, code, name, key)
            r = school.run_round(load_settings(data, mdns=False, sync_proxy="none"))
            print(f"{name}: отправлено пакетов {r.chunks_sent}, записей {r.changes_sent}.")
        print(f"\nСервер района: http://localhost:{args.port}/  (логин rono, пароль rayon-parol;"
              " inspector — только просмотр)")
        print("Школы: zhurnal sync now --data district-demo/demo-7 отправит новые изменения. Остановить: Ctrl+C.")
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait()
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
