"""A throwaway PostgreSQL cluster in a folder: for the tests, the benchmark and the
newcomer's demo (deploy/district-demo.sh). Not for a real district: that one is the
distribution's own PostgreSQL service (district/README.md).

PostgreSQL refuses to run as root: run as root, the cluster belongs to the `postgres`
system user (Debian's package makes it) and its commands run through `runuser`. It
listens only on a unix socket inside the folder (no TCP port, nothing on the network),
with fsync off (throwaway data)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    def __init__(self, base: Path | None = None, user: str = "zhurnal"):
        self.bin = find_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL не установлен (нужен пакет postgresql: sudo apt install postgresql).")
        self.base = Path(base or tempfile.mkdtemp(prefix="zhurnal-pg-"))
        self.base.mkdir(parents=True, exist_ok=True)
        self.data = self.base / "data"
        self.user = user
        self.os_user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            self.os_user = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chmod(self.base, 0o755)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        full = list(cmd)
        if self.os_user:
            full = ["runuser", "-u", self.os_user, "--"] + full
        return subprocess.run(full, check=check, capture_output=True, text=True)

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@/postgres?host={self.base}"

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}@/{dbname}?host={self.base}"

    def start(self) -> "Cluster":
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                      "--locale=C", "--no-sync")
        r = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l", str(self.base / "log"),
                      "-o", f"-k {self.base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
                            " -c full_page_writes=off -c max_connections=60", "start", check=False)
        if r.returncode != 0:
            log = (self.base / "log").read_text(errors="replace")[-2000:] if (self.base / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL не запустился: {r.stderr}\n{log}")
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
