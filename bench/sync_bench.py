"""District sync figures (`python bench/run.py sync`): a demo school uploads to a district
server (its own process, PostgreSQL in a throwaway cluster) through a byte-counting proxy
on loopback.

- bytes_per_change: bytes on the wire (both ways, HTTP included) per change uploaded;
- empty_round_bytes / empty_round_requests: a round with nothing to send;
- changes_per_s: school → district end to end (sealing, HTTP, ingest) for a batch of changes;
- ingest_changes_per_s / copy_rows_per_s: the district applying the same change chunks in
  process, against PostgreSQL's own COPY of the same rows into a table shaped like `change`;
- resent_bytes_after_cut: a connection cut at a random byte mid-upload, then the next round:
  the bytes sent beyond the chunks themselves (at most the chunk in flight), with max_chunk_bytes;
- catch_up_s: 30 days of a school's changes over a simulated 256 kbit/s link;
- school_cpu_ms_per_change: the school process's CPU per change while uploading.
"""

from __future__ import annotations

import json
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

ZHURNAL = str(Path(sys.executable).with_name("zhurnal"))


class Proxy:
    """Counts bytes both ways; can throttle (bytes per second) and cut one connection."""

    def __init__(self, upstream: int):
        self.upstream = upstream
        self.bytes = 0
        self.connections = 0
        self.rate: float | None = None
        self.cut_next_at: int | None = None
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, client):
        with self.lock:
            self.connections += 1
            cut, self.cut_next_at = self.cut_next_at, None
        up = socket.create_connection(("127.0.0.1", self.upstream))
        state = {"n": 0, "done": False}

        def pump(src, dst):
            try:
                while not state["done"]:
                    data = src.recv(4096)
                    if not data:
                        break
                    if cut is not None and state["n"] + len(data) >= cut:
                        data = data[:cut - state["n"]]
                        state["done"] = True
                    state["n"] += len(data)
                    with self.lock:
                        self.bytes += len(data)
                    if self.rate:
                        time.sleep(len(data) / self.rate)
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (client, up):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        t = threading.Thread(target=pump, args=(client, up), daemon=True)
        t.start()
        pump(up, client)
        t.join(10)
        client.close()
        up.close()


def _change(db: Path, n: int, seed: int) -> None:
    """`n` grade changes as the journal writes them (row and ledger entry, one transaction
    per hundred, as teachers' saves arrive)."""
    from server import ledger

    rng = random.Random(seed)
    conn = sqlite3.connect(db, isolation_level=None)
    grades = conn.execute("SELECT lesson_id, student_id, position, value, work_type FROM grade").fetchall()
    done = 0
    while done < n:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(min(100, n - done)):
            i = rng.randrange(len(grades))
            lesson_id, student_id, position, old, work_type = grades[i]
            new = rng.choice([v for v in ("2", "3", "4", "5") if v != old])
            conn.execute("UPDATE grade SET value = ? WHERE lesson_id = ? AND student_id = ? AND position = ?",
                         (new, lesson_id, student_id, position))
            ledger.record(conn, 7, "grade", f"grade:{lesson_id}:{student_id}:{position}",
                          {"value": old, "work_type": work_type}, {"value": new, "work_type": work_type})
            grades[i] = (lesson_id, student_id, position, new, work_type)
            done += 1
        conn.execute("COMMIT")
    conn.close()


def run(tmp: Path) -> dict:
    import contextlib

    from district import store
    from district.pgtemp import Cluster
    from server.config import load_settings
    from server.demo import build_demo
    from sync import chunk as chunks
    from sync import school

    with contextlib.redirect_stdout(sys.stderr):
        build_demo(load_settings(tmp / "data", mdns=False), "demo-parol")
    cluster = Cluster().start()
    server = None
    try:
        url = cluster.create_database("district")
        with store.connect(url) as conn, conn.transaction():
            public = store.init(conn)
        port = _free_port()
        server = subprocess.Popen([ZHURNAL, "district", "serve", "--database", url, "--host", "127.0.0.1",
                                   "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(port)
        proxy = Proxy(port)
        data = tmp / "data"
        key = school.setup(data, f"http://127.0.0.1:{proxy.port}", public, "bench")
        with store.connect(url) as conn, conn.transaction():
            store.add_school(conn, "bench", "Школа для замеров", key)
        settings = load_settings(data, mdns=False, sync_proxy="none", sync_timeout_seconds=60)

        # The first round: the school's full state (the epoch's snapshot).
        t = time.perf_counter()
        first = school.run_round(settings)
        snapshot_s = time.perf_counter() - t
        snapshot_bytes = proxy.bytes

        # A batch of changes end to end, with the school's CPU.
        n = 20_000
        _change(settings.db_path, n, 1)
        b0, cpu0, t = proxy.bytes, time.process_time(), time.perf_counter()
        with school.locked(data):
            school.seal_pending(settings)
        kept = [school.wire_bytes(f) for _, _, f in school.outbox(data)]  # for the ingest figure below
        r = school.run_round(settings)
        batch_s = time.perf_counter() - t
        cpu_ms = (time.process_time() - cpu0) * 1000
        batch_bytes = proxy.bytes - b0
        assert r.complete and r.changes_sent == n, r

        # A round with nothing to send.
        b0, c0 = proxy.bytes, proxy.connections
        school.run_round(settings)
        empty_bytes, empty_requests = proxy.bytes - b0, proxy.connections - c0

        # A cut at a random byte in the middle of an upload.
        _change(settings.db_path, 8_000, 2)
        with school.locked(data):
            school.seal_pending(settings)
        sizes = [len(school.wire_bytes(f)) for _, _, f in school.outbox(data)]
        sent = 0
        rng = random.Random(3)

        # The cut hits the second chunk's request.
        def cut_second():
            while proxy.connections < c0 + 2:  # this round's GET and its first POST have started
                time.sleep(0.001)
            proxy.cut_next_at = rng.randint(1, sizes[1])

        c0 = proxy.connections
        threading.Thread(target=cut_second, daemon=True).start()
        try:
            sent += school.run_round(settings).traffic.sent
        except school.SyncError as e:
            sent += e.traffic.sent
        st_after = school.run_round(settings)
        sent += st_after.traffic.sent
        # Bodies sent by both rounds, less the chunks themselves: what the cut cost.
        resent = max(0, sent - sum(sizes))

        # 30 days offline (a demo school makes ~1 700 changes a school day), then a 256 kbit/s link.
        _change(settings.db_path, 30 * 1_700, 4)
        proxy.rate = 256_000 / 8
        t = time.perf_counter()
        r = school.run_round(settings)
        catch_up_s = time.perf_counter() - t
        proxy.rate = None
        assert r.complete

        # Ingest and COPY of the same change rows, in this process, into a fresh district.
        url2 = cluster.create_database("district2")
        with store.connect(url2) as conn, conn.transaction():
            store.init(conn)
            conn.execute("DELETE FROM district_setting")
            with store.connect(url) as c1:
                secret = c1.execute("SELECT value FROM district_setting WHERE key = 'age_identity'").fetchone()[0]
            conn.execute("INSERT INTO district_setting(key, value) VALUES ('age_identity', %s)", (secret,))
            store.add_school(conn, "bench", "Школа для замеров", key)
        with store.connect(url2, autocommit=True) as conn:
            keys = store.identities(conn)
            # The district must hold the epoch's snapshot before the changes.
            conn.execute("UPDATE school SET epoch = 1, seq = %s, last_id = %s WHERE code = 'bench'",
                         (chunks.parse(kept[0])[0].seq - 1, chunks.parse(kept[0])[0].header["first"] - 1))
            rows = []
            for w in kept:
                ch, _ = chunks.parse(w)
                _, payload = ch.open(keys)
                prev_id, prev_at = ch.header["first"] - 1, 0
                for i, (did, dat, acc, k, v, reason) in enumerate(payload["e"]):
                    prev_id += did
                    prev_at += dat
                    rows.append((1, 1, ch.seq, i, prev_id, store._ts(prev_at), acc, k.split(":")[0], k,
                                 json.dumps(v, ensure_ascii=False), reason))
            t = time.perf_counter()
            for w in kept:
                store.ingest(conn, w, "bench", keys)
            ingest_s = time.perf_counter() - t
            conn.execute("CREATE TABLE copy_probe (LIKE change INCLUDING ALL)")
            t = time.perf_counter()
            with conn.transaction():
                with conn.cursor().copy("COPY copy_probe (school_id, epoch, seq, n, entry_id, at, account_id, entity,"
                                        " key, state, reason) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            copy_s = time.perf_counter() - t
        return {
            "benchmark": "sync",
            "snapshot_records": first.changes_sent, "snapshot_s": round(snapshot_s, 2),
            "snapshot_bytes": snapshot_bytes,
            "changes": n,
            "bytes_per_change": round(batch_bytes / n, 1),
            "empty_round_bytes": empty_bytes, "empty_round_requests": empty_requests,
            "changes_per_s": round(n / batch_s),
            "ingest_changes_per_s": round(len(rows) / ingest_s),
            "copy_rows_per_s": round(len(rows) / copy_s),
            "resent_bytes_after_cut": resent, "max_chunk_bytes": max(sizes),
            "catch_up_changes": 30 * 1_700, "catch_up_s": round(catch_up_s, 1),
            "school_cpu_ms_per_change": round(cpu_ms / n, 3),
        }
    finally:
        if server:
            server.terminate()
            server.wait()
        cluster.destroy()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("сервер района не запустился")
