"""The school's end: set-up, sealing the ledger into chunks, acknowledgements, the upload round.

Files (all in the data folder, beside the backups' keys and state):
- `keys/sync-school.key` — the school's Ed25519 signing key (PEM, 0600);
- `sync/config.json` — the district's address and age key, the school's code;
- `sync/state.json` — what is sealed, what the district acknowledged, the last round;
- `sync/outbox/EEEEEE-SSSSSSSS.zch` — sealed chunks not yet acknowledged, in order.

A chunk, once sealed, never changes: a retry, a second USB stick or a replay sends the very
same bytes, and the district applies (school, epoch, seq) once. The district's mark is the
checkpoint (CouchDB keeps one on both sides; here the district's is the truth and the
school asks for it in one request per round); an acknowledgement carries the chunk's proof
(see chunk.py), so only the district can make the school drop a chunk.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
import base64
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from server import clock, collation
from server.config import Settings
from server.errors import UserError
from server.fsutil import fsync_dir, write_atomic

from . import chunk as chunks
from . import profile

log = logging.getLogger("zhurnal.sync")

KEY_FILE = "sync-school.key"
CHANGES_PER_CHUNK = 1500
RECORDS_PER_SNAPSHOT_CHUNK = 4000
MAX_CHUNK_BYTES = 48_000  # compressed; a bad mobile link moves tens of KB at a time
SCAN_BATCH = 5000


class SyncError(UserError):
    """Sync cannot go on; the message is Russian and says what to do."""


class Unreachable(SyncError):
    """The district did not answer (no connection, timeout, proxy)."""


# --- where things are -----------------------------------------------------------------------------

def sync_dir(data: Path) -> Path:
    return Path(data) / "sync"


def outbox_dir(data: Path) -> Path:
    return sync_dir(data) / "outbox"


def key_path(data: Path) -> Path:
    return Path(data) / "keys" / KEY_FILE


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as e:
        raise SyncError(f"Файл {path} повреждён ({e}). Настройте синхронизацию заново.") from None


def config(data: Path) -> dict:
    return _read_json(sync_dir(data) / "config.json")


def is_set_up(data: Path) -> bool:
    cfg = config(data)
    return bool(cfg.get("district_url")) and key_path(data).exists()


def require_config(data: Path) -> dict:
    if not is_set_up(data):
        raise SyncError("Синхронизация с районом не настроена. Настройте её: zhurnal sync setup --district АДРЕС "
                        "--district-key age1… --school КОД (или на странице «Синхронизация с районом»).")
    return config(data)


def read_state(data: Path) -> dict:
    return _read_json(sync_dir(data) / "state.json")


def write_state(data: Path, st: dict) -> None:
    sync_dir(data).mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(sync_dir(data) / "state.json", json.dumps(st, ensure_ascii=False, indent=1))


def signing_key(data: Path):
    try:
        return chunks.load_signing_key(key_path(data).read_bytes())
    except FileNotFoundError:
        raise SyncError("Нет ключа подписи школы: выполните zhurnal sync setup.") from None


@contextlib.contextmanager
def locked(data: Path):
    """One sealer and sender at a time (the server's task, `sync now`, `sync export`)."""
    sync_dir(data).mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(sync_dir(data) / "lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- set-up ---------------------------------------------------------------------------------------

CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def check_code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 40 or not set(code.lower()) <= CODE_CHARS:
        raise SyncError(f"Код школы «{code}» не подходит: 1–40 латинских букв, цифр, точек, дефисов или "
                        "подчёркиваний (например, 045-shkola-3). Его выдаёт район.")
    return code


def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SyncError(f"Адрес района «{url}» не подходит: нужен адрес вида https://zhurnal.rono.ru "
                        "или http://10.0.0.5:8100.")
    return url.rstrip("/")


def setup(data: Path, district_url: str, district_key: str, school_code: str) -> str:
    """Save the district's address and key and the school's code; make the school's signing
    key once (kept on a repeated set-up). Returns the school's public key (zhs1…)."""
    url, code = check_url(district_url), check_code(school_code)
    try:
        recipient = chunks.check_recipient(district_key)
    except chunks.ChunkError as e:
        raise SyncError(str(e)) from None
    keys = Path(data) / "keys"
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_path(data)
    if not path.exists():
        key = chunks.new_signing_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(chunks.signing_key_pem(key))
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(keys)
    key = signing_key(data)
    old = config(data)
    if old and (old.get("school_code") != code or old.get("district_key") != recipient):
        # Another district or code: what was sealed for the old one is of no use.
        with locked(data):
            for f in outbox_dir(data).glob("*.zch"):
                f.unlink()
            write_state(data, {})
    sync_dir(data).mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(sync_dir(data) / "config.json", json.dumps(
        {"district_url": url, "district_key": recipient, "school_code": code,
         "set_up_at": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")}, ensure_ascii=False, indent=1))
    return chunks.public_text(key)


# --- the outbox -----------------------------------------------------------------------------------

def _name(epoch: int, seq: int) -> str:
    return f"{epoch:06d}-{seq:08d}.zch"


def outbox(data: Path) -> list[tuple[int, int, Path]]:
    found = []
    for f in outbox_dir(data).glob("*.zch"):
        try:
            e, s = f.stem.split("-")
            found.append((int(e), int(s), f))
        except ValueError:
            continue
    return sorted(found)


def wire_bytes(path: Path) -> bytes:
    ch, _ = chunks.parse(path.read_bytes(), path.name)
    return ch.wire


def _open_db(settings: Settings) -> sqlite3.Connection:
    if not settings.db_path.exists():
        raise SyncError(f"В папке {settings.data_dir} нет базы журнала.")
    conn = collation.register(sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True, isolation_level=None))
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def _feed_epoch(conn: sqlite3.Connection) -> list:
    row = conn.execute("SELECT id, started_at FROM feed_epoch ORDER BY id DESC LIMIT 1").fetchone()
    return list(row) if row else [0, ""]


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, "")


def _seconds(at: str) -> int:
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())


def _recover(data: Path, st: dict) -> dict:
    """`sealed` as the outbox says it, after a crash between a chunk file and state.json."""
    sealed = st.get("sealed")
    if st.get("sealing"):
        # A snapshot cut short by a crash: its epoch is abandoned (the district, if it saw
        # part of it, starts again with the next epoch's snapshot).
        abandoned = st.pop("sealing")
        for e, s, f in outbox(data):
            if e == abandoned:
                f.unlink()
        st["floor"] = max(st.get("floor", 0), abandoned)
    files = outbox(data)
    if files:
        e, s, f = files[-1]
        if not sealed or (e, s) > (sealed["epoch"], sealed["seq"]):
            ch, _ = chunks.parse(f.read_bytes(), f.name)
            h = ch.header
            if h["kind"] == "changes" or h.get("final"):
                sealed = {"epoch": e, "seq": s, "last": h["last"], "head": h["head"],
                          "feed_epoch": (sealed or {}).get("feed_epoch") if sealed and sealed["epoch"] == e
                          else st.get("pending_feed_epoch")}
    st["sealed"] = sealed
    return st


def _write_chunk(data: Path, header: dict, plain: bytes, cfg: dict, key) -> None:
    outbox_dir(data).mkdir(mode=0o700, parents=True, exist_ok=True)
    blob = chunks.seal(header, plain, cfg["district_key"], key)
    write_atomic(outbox_dir(data) / _name(header["epoch"], header["seq"]), blob)


def _split(records: list, make) -> list[bytes]:
    """Compressed payloads of at most MAX_CHUNK_BYTES, halving a batch that compresses worse."""
    plain = chunks.compress(make(records))
    if len(plain) <= MAX_CHUNK_BYTES or len(records) <= 1:
        return [(records, plain)]
    mid = len(records) // 2
    return _split(records[:mid], make) + _split(records[mid:], make)


def seal_pending(settings: Settings) -> int:
    """Seal the ledger's entries that left no chunk yet (a snapshot first when an epoch
    starts). Returns how many chunks were sealed. Call under `locked`."""
    data = settings.data_dir
    cfg = require_config(data)
    key = signing_key(data)
    st = _recover(data, read_state(data))
    sealed = st.get("sealed")
    school = cfg["school_code"]
    now = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    made = 0
    conn = _open_db(settings)
    try:
        conn.execute("BEGIN")  # one snapshot of the database for all that follows
        fe = _feed_epoch(conn)
        new_epoch = sealed is None or st.get("force_new_epoch") or sealed.get("feed_epoch") != fe
        if not new_epoch and sealed["last"]:
            row = conn.execute("SELECT hash FROM audit_log WHERE id = ?", (sealed["last"],)).fetchone()
            new_epoch = row is None or row[0] != sealed["head"]
        ctx = profile.Context(conn)
        if new_epoch:
            epoch = max((sealed or {}).get("epoch", 0), st.get("floor", 0),
                        (st.get("district") or {}).get("epoch", 0)) + 1
            st["sealing"] = epoch
            st["pending_feed_epoch"] = fe
            st.pop("force_new_epoch", None)
            write_state(data, st)
            # Chunks of the old epoch left in the outbox still go first: the district keeps
            # them, and what the restored school no longer has is offered back from there.
            head, head_hash = _head(conn)
            records = [[k, v] for k, v in profile.snapshot(conn, ctx)]
            parts = []
            for i in range(0, max(len(records), 1), RECORDS_PER_SNAPSHOT_CHUNK):
                parts += _split(records[i:i + RECORDS_PER_SNAPSHOT_CHUNK], lambda rs: {"r": rs})
            for seq, (rs, plain) in enumerate(parts, 1):
                _write_chunk(data, {"school": school, "epoch": epoch, "seq": seq, "kind": "snapshot",
                                    "first": 0, "last": head, "head": head_hash, "n": len(rs),
                                    "final": seq == len(parts), "created": now}, plain, cfg, key)
                made += 1
            sealed = {"epoch": epoch, "seq": len(parts), "last": head, "head": head_hash, "feed_epoch": fe}
            st.pop("sealing", None)
            st["sealed"] = sealed
            write_state(data, st)
        # The entries after the last sealed one: rows are [id, at, account, key, state, reason, hash].
        seq = sealed["seq"]
        batch: list = []
        scanned, scanned_hash = sealed["last"], sealed["head"]

        def encode(rows: list, first: int) -> dict:
            out, prev_id, prev_at = [], first - 1, 0
            for id_, t, account_id, k, v, reason, _ in rows:
                out.append([id_ - prev_id, t - prev_at, account_id, k, v, reason])
                prev_id, prev_at = id_, t
            return {"e": out}

        def flush(upto: int, upto_hash: str) -> None:
            nonlocal batch, seq, made, sealed
            if not batch:
                return
            first = sealed["last"] + 1
            parts = _split(batch, lambda rs: encode(rs, first))
            for i, (rs, _) in enumerate(parts):
                seq += 1
                last_part = i == len(parts) - 1
                part_last, part_hash = (upto, upto_hash) if last_part else (rs[-1][0], rs[-1][6])
                plain = chunks.compress(encode(rs, first))
                _write_chunk(data, {"school": school, "epoch": sealed["epoch"], "seq": seq, "kind": "changes",
                                    "first": first, "last": part_last, "head": part_hash, "n": len(rs),
                                    "created": now}, plain, cfg, key)
                made += 1
                sealed = {**sealed, "seq": seq, "last": part_last, "head": part_hash}
                st["sealed"] = sealed
                write_state(data, st)
                first = part_last + 1
            batch = []

        while True:
            rows = conn.execute("SELECT id, at, account_id, key, old, new, reason, hash FROM audit_log"
                                " WHERE id > ? ORDER BY id LIMIT ?", (scanned, SCAN_BATCH)).fetchall()
            if not rows:
                break
            for id_, at, account_id, key_text, old, new, reason, h in rows:
                scanned, scanned_hash = id_, h
                entity = profile.entity_of(key_text)
                if entity not in profile.PROFILE:
                    continue
                new_state = json.loads(new) if new is not None else None
                if entity == "period" and new_state == {"closed": False}:
                    new_state = None
                ok, out = profile.transform(ctx, key_text, new_state)
                extra = profile.followers(ctx, key_text, json.loads(old) if old else None, new_state)
                t = _seconds(at)
                for k, v in ([(key_text, out)] if ok else []) + extra:
                    batch.append([id_, t, account_id, k, v, reason, h])
                if len(batch) >= CHANGES_PER_CHUNK:
                    flush(scanned, scanned_hash)
        flush(scanned, scanned_hash)
    finally:
        conn.close()
    return made


# --- acknowledgements -----------------------------------------------------------------------------

def apply_ack(data: Path, epoch: int, seq: int, proof_hex: str) -> bool:
    """Drop the chunks up to (epoch, seq) when the proof matches our chunk (epoch, seq);
    True when the mark advanced. An acknowledgement of a chunk we no longer hold is old."""
    st = read_state(data)
    acked = st.get("acked") or {"epoch": 0, "seq": 0}
    if (epoch, seq) <= (acked["epoch"], acked["seq"]):
        return False
    path = outbox_dir(data) / _name(epoch, seq)
    if not path.exists():
        log.warning("Отметка района (эпоха %s, пакет %s) не относится к пакетам школы — пропущена.", epoch, seq)
        return False
    _, proof = chunks.parse(path.read_bytes(), path.name)
    try:
        sent = bytes.fromhex(proof_hex or "")
    except ValueError:
        sent = b""
    if proof is None or sent != proof:
        log.warning("Подтверждение района для пакета %s/%s не совпало с пакетом — пропущено.", epoch, seq)
        return False
    for e, s, f in outbox(data):
        if (e, s) <= (epoch, seq):
            f.unlink()
    st = read_state(data)
    st["acked"] = {"epoch": epoch, "seq": seq}
    st["district"] = {"epoch": epoch, "seq": seq}
    write_state(data, st)
    return True


def import_ack(data: Path, path: Path) -> tuple[bool, dict]:
    """Read an acknowledgement file the district wrote on a USB stick."""
    cfg = require_config(data)
    try:
        ack = json.loads(Path(path).read_text(encoding="utf-8"))
        epoch, seq, proof = int(ack["epoch"]), int(ack["seq"]), str(ack["proof"])
    except FileNotFoundError:
        raise SyncError(f"Файла {path} нет.") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise SyncError(f"Файл {path} — не подтверждение района (или он повреждён).") from None
    if ack.get("school") != cfg["school_code"]:
        raise SyncError(f"Подтверждение {Path(path).name} — для школы «{ack.get('school')}», а эта школа — "
                        f"«{cfg['school_code']}».")
    with locked(data):
        moved = apply_ack(data, epoch, seq, proof)
        st = read_state(data)
        if (ack.get("district_epoch") or 0) > (st.get("sealed") or {}).get("epoch", 0):
            st["district"] = {"epoch": int(ack["district_epoch"]), "seq": 0}
            st["force_new_epoch"] = True
            write_state(data, st)
    return moved, ack


# --- HTTP ------------------------------------------------------------------------------------------

@dataclass
class Traffic:
    requests: int = 0
    sent: int = 0
    received: int = 0


def _opener(settings: Settings):
    if settings.sync_proxy.strip().lower() in ("none", "нет", "-"):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    if settings.sync_proxy.strip():
        proxy = settings.sync_proxy.strip()
        return urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    return urllib.request.build_opener()  # http_proxy / https_proxy from the environment


def _call(settings: Settings, cfg: dict, method: str, path: str, body: bytes | None, traffic: Traffic,
          opener=None) -> tuple[int, dict]:
    url = cfg["district_url"] + path
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/octet-stream", "Accept": "application/json",
                                          "User-Agent": "zhurnal-sync/1"})
    traffic.requests += 1
    traffic.sent += len(body or b"")
    try:
        with (opener or _opener(settings)).open(req, timeout=settings.sync_timeout_seconds) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status = e.code
        try:
            raw = e.read()
        except Exception:
            raw = b""
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise Unreachable(f"Район не отвечает ({cfg['district_url']}): {reason}. Повторим позже.") from None
    except Exception as e:  # a cut mid-answer (http.client's IncompleteRead, BadStatusLine)
        raise Unreachable(f"Связь с районом прервалась ({type(e).__name__}). Повторим позже.") from None
    traffic.received += len(raw)
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if status >= 500 or (status >= 400 and "error" not in answer):
        raise Unreachable(f"Сервер района ответил ошибкой {status}. Повторим позже.")
    return status, answer


def _signed_query(data: Path, cfg: dict, purpose: str = "mark") -> str:
    t = int(clock.timestamp())
    sig = signing_key(data).sign(f"{purpose}:{cfg['school_code']}:{t}".encode())
    return urllib.parse.urlencode({"school": cfg["school_code"], "t": t,
                                   "sig": base64.urlsafe_b64encode(sig).decode().rstrip("=")})


@dataclass
class RoundResult:
    complete: bool = False
    chunks_sent: int = 0
    changes_sent: int = 0
    sealed: int = 0
    traffic: Traffic = field(default_factory=Traffic)


def _mark(settings: Settings, cfg: dict, traffic: Traffic, opener) -> dict:
    status, answer = _call(settings, cfg, "GET", "/api/v1/sync/mark?" + _signed_query(settings.data_dir, cfg),
                           None, traffic, opener)
    if status != 200:
        raise SyncError(answer.get("error") or f"Район ответил {status}.")
    return answer


def _take_mark(data: Path, answer: dict) -> None:
    epoch, seq = int(answer.get("epoch", 0)), int(answer.get("seq", 0))
    if epoch or seq:
        apply_ack(data, epoch, seq, answer.get("proof", ""))
    st = read_state(data)
    st["district"] = {"epoch": epoch, "seq": seq}
    acked = st.get("acked") or {"epoch": 0, "seq": 0}
    if (epoch, seq) < (acked["epoch"], acked["seq"]):
        # The district has less than it acknowledged (its database restored or made anew):
        # a new epoch gives it the school's full state again.
        log.warning("У района меньше, чем он подтверждал (эпоха %s, пакет %s): отправляю полное состояние заново.",
                    epoch, seq)
        st["force_new_epoch"] = True
        st["acked"] = {"epoch": epoch, "seq": seq}
        for e, s, f in outbox(data):
            f.unlink()  # chunks that continue what the district no longer has
        write_state(data, st)
        return
    sealed = st.get("sealed") or {}
    if epoch > sealed.get("epoch", 0) and not any(e >= epoch for e, _, _ in outbox(data)):
        # The district has an epoch this school never sealed (set up again, a new machine):
        # what follows must be a new epoch above it, starting with the full state.
        st["force_new_epoch"] = True
        for e, s, f in outbox(data):
            f.unlink()
    write_state(data, st)


def run_round(settings: Settings, opener=None) -> RoundResult:
    """One upload round: seal what is new, ask the district's mark, send the chunks it lacks
    in order. Raises Unreachable / SyncError (recorded in state.json for the page)."""
    data = settings.data_dir
    cfg = require_config(data)
    result = RoundResult()
    opener = opener or _opener(settings)
    with locked(data):
        st = read_state(data)
        st["last_attempt"] = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        write_state(data, st)
        try:
            result.sealed = seal_pending(settings)
            mark = _mark(settings, cfg, result.traffic, opener)
            offered = mark.get("update")
            _take_mark(data, mark)
            if read_state(data).get("force_new_epoch"):
                result.sealed += seal_pending(settings)
            for attempt in range(2):
                restart = False
                for e, s, f in outbox(data):
                    ch, proof = chunks.parse(f.read_bytes(), f.name)
                    status, answer = _call(settings, cfg, "POST", "/api/v1/sync/chunks", ch.wire, result.traffic,
                                           opener)
                    if status == 200:
                        if "epoch" not in answer or "seq" not in answer:
                            raise Unreachable("Ответ района оборвался. Повторим позже.")
                        apply_ack(data, int(answer["epoch"]), int(answer["seq"]), answer.get("proof", ""))
                        result.chunks_sent += 1
                        result.changes_sent += int(ch.header.get("n", 0))
                        continue
                    if answer.get("code") == "old_epoch" and attempt == 0:
                        _take_mark(data, answer.get("mark") or {})
                        st = read_state(data)
                        st["force_new_epoch"] = True
                        write_state(data, st)
                        for e2, s2, f2 in outbox(data):
                            f2.unlink()
                        result.sealed += seal_pending(settings)
                        restart = True
                        break
                    raise SyncError(answer.get("error") or f"Район не принял пакет № {s}: ответ {status}.")
                if not restart:
                    break
        except UserError as e:
            e.traffic = result.traffic  # what the round had sent before it stopped
            st = read_state(data)
            st.update(last_error=str(e), last_error_at=clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                      failures=int(st.get("failures", 0)) + 1)
            write_state(data, st)
            raise
        st = read_state(data)
        result.complete = not outbox(data)
        st.update(last_success=clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"), last_error=None, last_error_at=None,
                  failures=0)
        write_state(data, st)
        if offered is not None:
            _consider_offer(settings, cfg, offered, result.traffic, opener)
    return result


def _consider_offer(settings: Settings, cfg: dict, offered, traffic: Traffic, opener) -> None:
    """The update the district offers (sync/offer.py); its trouble never fails the round."""
    from . import offer

    url = cfg["district_url"] + "/api/v1/sync/update/bundle?" + _signed_query(settings.data_dir, cfg, "update")
    try:
        offer.consider(settings, offered, offer.http_fetch(url, opener, settings.sync_timeout_seconds, traffic))
    except offer.DownloadFailed as e:
        log.warning("Обновление от района: %s. Повторю при следующей синхронизации.", e)
    except Exception:
        log.exception("Обновление от района: непредвиденная ошибка")


# --- USB --------------------------------------------------------------------------------------------

def export(settings: Settings, target: Path) -> list[Path]:
    """Write the chunks the district has not acknowledged to `target` (a stick's folder),
    reading an acknowledgement already on it first. Returns the files written."""
    data = settings.data_dir
    cfg = require_config(data)
    target = Path(target)
    if not target.is_dir():
        raise SyncError(f"Папки {target} нет (вставлен ли USB-накопитель?).")
    ack = target / ack_name(cfg["school_code"])
    if ack.exists():
        import_ack(data, ack)
    written = []
    with locked(data):
        seal_pending(settings)
        for e, s, f in outbox(data):
            out = target / f"{cfg['school_code']}-{_name(e, s)}"
            wire = wire_bytes(f)
            if out.exists() and out.read_bytes() == wire:
                continue
            try:
                write_atomic(out, wire, 0o644)
            except OSError as err:
                raise SyncError(f"Не удалось записать {out}: {err.strerror}.") from None
            written.append(out)
    return written


def ack_name(code: str) -> str:
    return f"zhurnal-ack-{code}.json"


# --- status -----------------------------------------------------------------------------------------

def pending_changes(settings: Settings) -> tuple[int, int]:
    """(changes in chunks not yet acknowledged, ledger entries not yet sealed)."""
    data = settings.data_dir
    in_chunks = 0
    for e, s, f in outbox(data):
        try:
            ch, _ = chunks.parse(f.read_bytes(), f.name)
            in_chunks += int(ch.header.get("n", 0))
        except chunks.ChunkError:
            pass
    sealed = (read_state(data).get("sealed") or {})
    unsealed = 0
    if settings.db_path.exists():
        conn = _open_db(settings)
        try:
            if sealed:
                unsealed = conn.execute("SELECT count(*) FROM audit_log WHERE id > ?", (sealed["last"],)).fetchone()[0]
            else:
                unsealed = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        finally:
            conn.close()
    return in_chunks, unsealed


def status(settings: Settings) -> dict:
    data = settings.data_dir
    cfg = config(data)
    st = read_state(data)
    in_chunks, unsealed = pending_changes(settings)
    return {
        "set_up": is_set_up(data),
        "district_url": cfg.get("district_url", ""),
        "school_code": cfg.get("school_code", ""),
        "public_key": chunks.public_text(signing_key(data)) if key_path(data).exists() else "",
        "last_success": st.get("last_success"),
        "last_attempt": st.get("last_attempt"),
        "last_error": st.get("last_error"),
        "last_error_at": st.get("last_error_at"),
        "district_mark": st.get("district") or {"epoch": 0, "seq": 0},
        "sealed": st.get("sealed") or {},
        "chunks_pending": len(outbox(data)),
        "changes_pending": in_chunks + unsealed,
    }


def health(settings: Settings) -> dict | None:
    """For `zhurnal doctor` and the health page (server/health.py); None before set-up."""
    if not is_set_up(settings.data_dir):
        return None
    st = status(settings)
    last = st["last_success"]
    return {"district": st["district_url"],
            "last_success": datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None,
            "pending": st["changes_pending"], "last_error": st["last_error"]}


def ru_time(stamp: str | None) -> str:
    if not stamp:
        return "никогда"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%d.%m.%Y %H:%M")
