"""The district's PostgreSQL store: set-up, schools, ingest of chunks, the dashboard's figures.

Plain `def f(conn, …)` functions over a psycopg 3 connection; the caller owns the
transaction (`with conn.transaction():`)."""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import psycopg

from backups import age
from server.errors import UserError
from sync import chunk as chunks
from sync import profile

log = logging.getLogger("zhurnal.district")

PARTITIONS = 16
PARTITIONED = ("chunk_receipt", "record", "change", "epoch_before", "lost_change")


class DistrictError(UserError):
    """A refusal with a Russian message; `code` tells a school's program what happened."""

    def __init__(self, message: str, code: str = "refused", status_code: int = 409, mark: dict | None = None):
        super().__init__(message, status_code=status_code)
        self.code = code
        self.mark = mark


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"Не удаётся подключиться к базе района PostgreSQL ({first}). Проверьте адрес "
                        "--database, что PostgreSQL запущен и что пользователь и пароль верны.") from None


# --- set-up -------------------------------------------------------------------------------------------

def init(conn: psycopg.Connection) -> str:
    """Create the schema (again: nothing changes) and the district's age key; returns its
    public key (age1…), which every school's set-up takes."""
    conn.execute(resources.files("district").joinpath("schema.sql").read_text(encoding="utf-8"))
    for table in PARTITIONED:
        for r in range(PARTITIONS):
            # `record` is updated in place all day: room on its pages lets PostgreSQL keep a new
            # version beside the old one without touching the indexes (HOT updates).
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table}_p{r:02d} PARTITION OF {table}"
                         f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {r})"
                         + (" WITH (fillfactor = 70)" if table == "record" else ""))
    conn.execute("CREATE INDEX IF NOT EXISTS change_key ON change (school_id, key, epoch, seq, n)")
    conn.execute("CREATE INDEX IF NOT EXISTS record_entity ON record (school_id, entity)")
    conn.execute("CREATE INDEX IF NOT EXISTS ingest_log_school ON ingest_log (school, id)")
    row = conn.execute("SELECT value FROM district_setting WHERE key = 'age_identity'").fetchone()
    if row is None:
        secret, public = age.generate_identity()
        conn.execute("INSERT INTO district_setting(key, value) VALUES ('age_identity', %s)", (secret,))
        return public
    return age.recipient_from_identity(row[0])


def require_init(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT to_regclass('district_setting')").fetchone()
    if row[0] is None:
        raise UserError("База района ещё не подготовлена: выполните zhurnal district init --database АДРЕС.")


def identities(conn: psycopg.Connection) -> list:
    require_init(conn)
    row = conn.execute("SELECT value FROM district_setting WHERE key = 'age_identity'").fetchone()
    return [age.parse_identity(row[0])]


def public_key(conn: psycopg.Connection) -> str:
    require_init(conn)
    row = conn.execute("SELECT value FROM district_setting WHERE key = 'age_identity'").fetchone()
    return age.recipient_from_identity(row[0])


def add_school(conn: psycopg.Connection, code: str, name: str, key: str) -> bool:
    """Register a school (or change its name and key: a new machine); True when new."""
    require_init(conn)
    from sync.school import SyncError, check_code

    try:
        code = check_code(code)
    except SyncError as e:
        raise UserError(str(e)) from None
    name = (name or "").strip()
    if not name:
        raise UserError("Укажите название школы: --name «МБОУ СОШ № 3».")
    try:
        chunks.parse_public(key)
    except chunks.ChunkError as e:
        raise UserError(str(e)) from None
    row = conn.execute("INSERT INTO school(code, name, public_key) VALUES (%s, %s, %s)"
                       " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, public_key = EXCLUDED.public_key"
                       " RETURNING (xmax = 0)", (code, name, key.strip())).fetchone()
    return bool(row[0])


# --- ingest -------------------------------------------------------------------------------------------

def _mark(row) -> dict:
    return {"epoch": row["epoch"], "seq": row["seq"], "proof": row["proof"]}


def _school(conn: psycopg.Connection, code: str, lock: bool = False):
    sql = ("SELECT id, code, name, public_key, epoch, seq, last_id, head, proof, in_snapshot FROM school"
           " WHERE code = %s" + (" FOR UPDATE" if lock else ""))
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(sql, (code,)).fetchone()


def log_outcome(conn: psycopg.Connection, school: str, epoch: Any, seq: Any, via: str, outcome: str,
                message: str) -> None:
    conn.execute("INSERT INTO ingest_log(school, epoch, seq, via, outcome, message) VALUES (%s, %s, %s, %s, %s, %s)",
                 (school[:60], epoch if isinstance(epoch, int) else None, seq if isinstance(seq, int) else None,
                  via, outcome, message))
    if outcome != "applied" and outcome != "duplicate":
        conn.execute("UPDATE school SET last_error = %s, last_error_at = now() WHERE code = %s", (message, school))


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def ingest(conn: psycopg.Connection, data: bytes, via: str = "http", keys: list | None = None) -> dict:
    """Verify, decrypt and apply one chunk in one transaction (the caller's connection must
    be outside a transaction). Returns {"status": "applied"|"duplicate", "epoch", "seq",
    "proof", "entries"}; raises DistrictError (logged) otherwise."""
    assert conn.autocommit, "ingest makes its own transaction per chunk"
    try:
        ch, _ = chunks.parse(data, "Пакет")
    except chunks.ChunkError as e:
        with conn.transaction():
            log_outcome(conn, "?", None, None, via, "refused", str(e))
        raise DistrictError(str(e), "bad_chunk", 400) from None
    try:
        with conn.transaction():
            return _ingest(conn, ch, via, keys)
    except DistrictError as e:
        with conn.transaction():
            log_outcome(conn, ch.school, ch.epoch, ch.seq, via, e.code, str(e))
        log.warning("Пакет отклонён (%s): %s", via, e)
        raise


def _ingest(conn: psycopg.Connection, ch: chunks.Chunk, via: str, keys: list | None) -> dict:
    school = _school(conn, ch.school, lock=True)
    if school is None:
        raise DistrictError(f"Школа с кодом «{ch.school}» не зарегистрирована в районе. Район регистрирует её "
                            "командой zhurnal district add-school.", "unknown_school", 403)
    if not ch.verify(chunks.parse_public(school["public_key"])):
        raise DistrictError(f"Подпись пакета № {ch.seq} (эпоха {ch.epoch}) не совпадает с ключом школы "
                            f"«{ch.school}», зарегистрированным в районе: пакет отклонён. Если школа заново "
                            "настроила синхронизацию, зарегистрируйте её новый ключ.", "bad_signature", 403)
    h = ch.header
    epoch, seq, kind = ch.epoch, ch.seq, h["kind"]
    digest = hashlib.sha256(ch.wire).hexdigest()
    cur_mark = (school["epoch"], school["seq"])
    if (epoch, seq) <= cur_mark:
        seen = conn.execute("SELECT digest, proof FROM chunk_receipt WHERE school_id = %s AND epoch = %s AND seq = %s",
                            (school["id"], epoch, seq)).fetchone()
        if seen and seen[0] == digest:
            conn.execute("UPDATE school SET last_contact = now() WHERE id = %s", (school["id"],))
            log_outcome(conn, ch.school, epoch, seq, via, "duplicate", f"Пакет № {seq} (эпоха {epoch}) уже был "
                        "принят — повтор ничего не изменил.")
            return {"status": "duplicate", "epoch": school["epoch"], "seq": school["seq"], "proof": school["proof"],
                    "entries": 0}
        if epoch < school["epoch"]:
            raise DistrictError(f"Пакет № {seq} относится к старой эпохе {epoch} школы «{ch.school}», а район уже "
                                f"получает эпоху {school['epoch']}: пакет не применён.", "old_epoch",
                                mark=_mark(school))
        raise DistrictError(f"Пакет № {seq} (эпоха {epoch}) школы «{ch.school}» уже был принят с другим "
                            "содержимым — повтор отклонён.", "replay")
    if epoch == school["epoch"]:
        if seq != school["seq"] + 1:
            raise DistrictError(f"Пропуск: от школы «{ch.school}» получены пакеты эпохи {epoch} до № "
                                f"{school['seq']}, а пришёл № {seq}. Нужны пакеты с № {school['seq'] + 1} "
                                f"по № {seq - 1}: сначала они.", "gap", mark=_mark(school))
        if kind == "changes" and (school["in_snapshot"] or int(h.get("first", 0)) != school["last_id"] + 1):
            raise DistrictError(f"Пропуск: пакет № {seq} школы «{ch.school}» начинается с записи № {h.get('first')}, "
                                f"а район получил записи до № {school['last_id']}.", "gap", mark=_mark(school))
        if kind == "snapshot" and not school["in_snapshot"]:
            raise DistrictError(f"Пакет № {seq} школы «{ch.school}» — часть полного состояния, которое уже "
                                "получено целиком.", "gap", mark=_mark(school))
    else:  # a new epoch
        if seq != 1 or kind != "snapshot":
            raise DistrictError(f"Пропуск: школа «{ch.school}» начала эпоху {epoch}, но её первый пакет (№ 1, "
                                f"полное состояние) ещё не получен — пришёл № {seq}.", "gap", mark=_mark(school))
    plain, payload = ch.open(keys if keys is not None else identities(conn))
    proof = chunks.proof_of(plain).hex()
    sid = school["id"]
    if not isinstance(payload, dict):
        raise DistrictError(f"Пакет № {seq} школы «{ch.school}» повреждён.", "bad_chunk", 400)
    if kind == "snapshot":
        records = payload.get("r") or []
        _check_profile(ch, (k for k, _ in records))
        if epoch != school["epoch"]:
            _start_epoch(conn, school)
        _apply_states(conn, sid, epoch, int(h["last"]), [(k, v) for k, v in records])
        n = len(records)
        last_change_at = None
        if h.get("final"):
            _finish_epoch(conn, sid, epoch)
    elif kind == "changes":
        entries = payload.get("e") or []
        _check_profile(ch, (e[3] for e in entries))
        # The rows are made by PostgreSQL from the chunk's own JSON text (ids and times are
        # deltas: running sums), so the states are not encoded again here: that re-encoding
        # was a third of the ingest's time (issue 15's ingest figure).
        conn.execute(_INSERT_CHANGES, {"s": sid, "e": epoch, "q": seq, "first": int(h["first"]),
                                       "p": zlib.decompress(plain).decode()})
        # The current state from the rows just inserted: the last row of each key in the chunk
        # (found here), upserted from `change` without sending the states twice.
        last: dict[str, tuple[int, bool]] = {}
        for n_, e in enumerate(entries):
            last[e[3]] = (n_, e[4] is None)
        keep = [n_ for n_, deleted in last.values() if not deleted]
        gone = [k for k, (_, deleted) in last.items() if deleted]
        if keep:
            conn.execute(
                "INSERT INTO record (school_id, key, entity, state, epoch, entry_id)"
                " SELECT school_id, key, entity, state, epoch, entry_id FROM change"
                "  WHERE school_id = %(s)s AND epoch = %(e)s AND seq = %(q)s AND n = ANY(%(n)s)"
                " ON CONFLICT (school_id, key) DO UPDATE SET state = EXCLUDED.state, epoch = EXCLUDED.epoch,"
                " entry_id = EXCLUDED.entry_id", {"s": sid, "e": epoch, "q": seq, "n": keep})
        if gone:
            conn.execute("DELETE FROM record WHERE school_id = %s AND key = ANY(%s)", (sid, gone))
        n = len(entries)
        last_change_at = _ts(sum(e[1] for e in entries)) if entries else None
    else:
        raise DistrictError(f"Пакет № {seq} школы «{ch.school}» неизвестного вида «{kind}».", "bad_chunk", 400)
    conn.execute("INSERT INTO chunk_receipt(school_id, epoch, seq, digest, proof, kind, entries, bytes, via)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                 (sid, epoch, seq, digest, proof, kind, n, len(ch.wire), via))
    in_snapshot = kind == "snapshot" and not h.get("final")
    conn.execute("UPDATE school SET epoch = %s, seq = %s, last_id = %s, head = %s, proof = %s, in_snapshot = %s,"
                 " last_contact = now(), last_chunk_at = now(), changes_received = changes_received + %s,"
                 " chunks_received = chunks_received + 1, last_change_at = coalesce(%s, last_change_at),"
                 " last_error = NULL, last_error_at = NULL WHERE id = %s",
                 (epoch, seq, int(h["last"]), str(h.get("head", "")), proof, in_snapshot,
                  n, last_change_at, sid))
    log_outcome(conn, ch.school, epoch, seq, via, "applied", f"Принят пакет № {seq} (эпоха {epoch}): {n} записей.")
    return {"status": "applied", "epoch": epoch, "seq": seq, "proof": proof, "entries": n}


def _check_profile(ch: chunks.Chunk, keys) -> None:
    for key in keys:
        if profile.entity_of(str(key)) not in profile.PROFILE:
            raise DistrictError(f"Пакет № {ch.seq} школы «{ch.school}» содержит данные «{profile.entity_of(str(key))}», "
                                "которые школа не передаёт району (профиль синхронизации): пакет отклонён.",
                                "profile", 400)


_INSERT_CHANGES = """
INSERT INTO change (school_id, epoch, seq, n, entry_id, at, account_id, entity, key, state, reason)
SELECT %(s)s, %(e)s, %(q)s, t.ord - 1, %(first)s - 1 + sum((t.x->>0)::bigint) OVER w,
       to_timestamp(sum((t.x->>1)::bigint) OVER w), (t.x->>2)::integer, split_part(t.x->>3, ':', 1), t.x->>3,
       CASE WHEN jsonb_typeof(t.x->4) = 'null' THEN NULL ELSE t.x->4 END, coalesce(t.x->>5, '')
  FROM jsonb_array_elements((%(p)s::text::jsonb)->'e') WITH ORDINALITY AS t(x, ord)
WINDOW w AS (ORDER BY t.ord)"""

_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS incoming (key text, state jsonb, entry_id bigint)"
          " ON COMMIT DELETE ROWS")
_UPSERT = ("INSERT INTO record (school_id, key, entity, state, epoch, entry_id)"
           " SELECT %s, key, split_part(key, ':', 1), state, %s, entry_id FROM incoming"
           " ON CONFLICT (school_id, key) DO UPDATE SET state = EXCLUDED.state, epoch = EXCLUDED.epoch,"
           " entry_id = EXCLUDED.entry_id")


def _stage(conn: psycopg.Connection, rows) -> None:
    """COPY (key, state JSON text, entry id) rows into the transaction's staging table
    (emptied at commit; one use per chunk's transaction)."""
    conn.execute(_STAGE)
    with conn.cursor().copy("COPY incoming (key, state, entry_id) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)


def _apply_states(conn: psycopg.Connection, sid: int, epoch: int, entry_id: int, records: list) -> None:
    if records:
        _stage(conn, ((k, json.dumps(v, ensure_ascii=False), entry_id) for k, v in records))
        conn.execute(_UPSERT, (sid, epoch))


def _apply_changes(conn: psycopg.Connection, sid: int, epoch: int, final: dict[str, tuple]) -> None:
    puts = [(k, s, e) for k, (s, e) in final.items() if s is not None]
    gone = [k for k, (s, _) in final.items() if s is None]
    if puts:
        _stage(conn, puts)
        conn.execute(_UPSERT, (sid, epoch))
    if gone:
        conn.execute("DELETE FROM record WHERE school_id = %s AND key = ANY(%s)", (sid, gone))


def _start_epoch(conn: psycopg.Connection, school) -> None:
    """Keep the district's view as it was before the school's new epoch (once: a snapshot
    that was cut short and started again keeps the first view)."""
    sid = school["id"]
    if not school["in_snapshot"]:
        conn.execute("DELETE FROM epoch_before WHERE school_id = %s", (sid,))
        conn.execute("INSERT INTO epoch_before (school_id, key, entity, state)"
                     " SELECT school_id, key, entity, state FROM record WHERE school_id = %s", (sid,))


def _finish_epoch(conn: psycopg.Connection, sid: int, epoch: int) -> None:
    """The new epoch's full state is in: what the district had and the school no longer has
    becomes lost_change; records the snapshot did not name go."""
    conn.execute(
        "INSERT INTO lost_change (school_id, epoch, key, entity, district_state, school_state, last_at, last_account,"
        " last_reason)"
        " SELECT b.school_id, %s, b.key, b.entity, b.state, r.state, c.at, c.account_id, coalesce(c.reason, '')"
        "   FROM epoch_before b"
        "   LEFT JOIN record r ON r.school_id = b.school_id AND r.key = b.key AND r.epoch = %s"
        "   LEFT JOIN LATERAL (SELECT at, account_id, reason FROM change c WHERE c.school_id = b.school_id"
        "                      AND c.key = b.key ORDER BY epoch DESC, seq DESC, n DESC LIMIT 1) c ON true"
        "  WHERE b.school_id = %s AND r.state IS DISTINCT FROM b.state",
        (epoch, epoch, sid))
    conn.execute("DELETE FROM record WHERE school_id = %s AND epoch < %s", (sid, epoch))
    conn.execute("DELETE FROM epoch_before WHERE school_id = %s", (sid,))


def signed_school(conn: psycopg.Connection, code: str, purpose: str, t: int, sig: bytes):
    """The school whose key signed `purpose:code:t` (a school's GET request); DistrictError if none."""
    school = _school(conn, code)
    if school is None:
        raise DistrictError(f"Школа с кодом «{code}» не зарегистрирована в районе.", "unknown_school", 403)
    try:
        chunks.parse_public(school["public_key"]).verify(sig, f"{purpose}:{code}:{t}".encode())
    except Exception:
        raise DistrictError(f"Подпись запроса школы «{code}» не совпадает с её ключом, зарегистрированным в районе.",
                            "bad_signature", 403) from None
    return school


def mark(conn: psycopg.Connection, code: str, t: int, sig: bytes, now: float) -> dict:
    """The school's mark for its signed request (and its last contact)."""
    school = signed_school(conn, code, "mark", t, sig)
    conn.execute("UPDATE school SET last_contact = now() WHERE id = %s", (school["id"],))
    return {**_mark(school), "in_snapshot": school["in_snapshot"]}


# --- the dashboard ---------------------------------------------------------------------------------

def schools(conn: psycopg.Connection) -> list[dict]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    rows = cur.execute(
        "SELECT s.code, s.name, s.epoch, s.seq, s.last_contact, s.last_chunk_at, s.last_change_at,"
        "       s.changes_received, s.chunks_received, s.last_error, s.last_error_at, s.in_snapshot,"
        "       (SELECT count(*) FROM lost_change l WHERE l.school_id = s.id AND l.handed_back_at IS NULL) AS lost,"
        "       extract(epoch FROM now() - s.last_change_at)::bigint AS lag_s,"
        "       extract(epoch FROM now() - s.last_contact)::bigint AS silent_s"
        "  FROM school s ORDER BY s.name, s.code").fetchall()
    return rows


def school_detail(conn: psycopg.Connection, code: str) -> dict | None:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    s = cur.execute("SELECT id, code, name, epoch, seq, last_contact, changes_received, last_error, last_error_at"
                    " FROM school WHERE code = %s", (code,)).fetchone()
    if s is None:
        return None
    sid = s["id"]
    periods = cur.execute(
        "SELECT split_part(key, ':', 2)::int AS id, state->>'kind' AS kind, (state->>'number')::int AS number,"
        "       state->>'starts_on' AS starts_on, state->>'ends_on' AS ends_on,"
        "       (state->>'year_id')::int AS year_id"
        "  FROM record WHERE school_id = %s AND entity = 'study_period' AND state->>'kind' <> 'year'"
        " ORDER BY starts_on", (sid,)).fetchall()
    # Lessons by period once (a temporary table of this read), then each figure in one pass.
    conn.execute(
        "CREATE TEMP TABLE les ON COMMIT DROP AS"
        " SELECT p.id AS period, split_part(l.key, ':', 2) AS lesson_id, l.state->>'journal_id' AS journal_id,"
        "        coalesce(l.state->>'topic', '') <> '' AS has_topic"
        "   FROM record l JOIN (SELECT split_part(key, ':', 2)::int AS id, state->>'starts_on' AS a,"
        "                              state->>'ends_on' AS b FROM record"
        "                        WHERE school_id = %(s)s AND entity = 'study_period' AND state->>'kind' <> 'year') p"
        "     ON l.state->>'date' BETWEEN p.a AND p.b"
        "  WHERE l.school_id = %(s)s AND l.entity = 'lesson'", {"s": sid})
    conn.execute("CREATE INDEX ON les (lesson_id)")
    lessons = {r["period"]: r for r in cur.execute(
        "SELECT period, count(*) AS lessons, count(*) FILTER (WHERE has_topic) AS with_topic FROM les GROUP BY period")}
    grades = dict(conn.execute(
        "SELECT les.period, count(*) FROM record g JOIN les ON les.lesson_id = split_part(g.key, ':', 2)"
        " WHERE g.school_id = %s AND g.entity = 'grade' GROUP BY les.period", (sid,)).fetchall())
    absences = dict(conn.execute(
        "SELECT les.period, count(*) FROM record a JOIN les ON les.lesson_id = split_part(a.key, ':', 2)"
        " WHERE a.school_id = %s AND a.entity = 'attendance' GROUP BY les.period", (sid,)).fetchall())
    by_parallel: dict[int, list] = {}
    for r in cur.execute(
            "SELECT les.period, (c.state->>'parallel')::int AS parallel, round(avg((g.state->>'value')::numeric), 2)"
            "       AS avg, count(*) AS n"
            "  FROM record g JOIN les ON les.lesson_id = split_part(g.key, ':', 2)"
            "  JOIN record j ON j.school_id = g.school_id AND j.key = 'journal:' || les.journal_id"
            "  JOIN record c ON c.school_id = g.school_id AND c.key = 'class:' || (j.state->>'class_id')"
            " WHERE g.school_id = %s AND g.entity = 'grade' AND g.state->>'value' IN ('1', '2', '3', '4', '5')"
            " GROUP BY les.period, parallel ORDER BY parallel", (sid,)):
        by_parallel.setdefault(r["period"], []).append({"parallel": r["parallel"], "avg": r["avg"], "n": r["n"]})
    figures = []
    for p in periods:
        students = cur.execute(
            "SELECT count(DISTINCT state->>'student_id') FROM record WHERE school_id = %s AND entity = 'enrollment'"
            "   AND state->>'from_date' <= %s AND (state->>'to_date' IS NULL OR state->>'to_date' >= %s)",
            (sid, p["ends_on"], p["starts_on"])).fetchone()["count"]
        ls = lessons.get(p["id"]) or {"lessons": 0, "with_topic": 0}
        filled = round(100 * ls["with_topic"] / ls["lessons"]) if ls["lessons"] else None
        figures.append({**p, "students": students, "lessons": ls["lessons"], "grades": grades.get(p["id"], 0),
                        "absences": absences.get(p["id"], 0), "filled_percent": filled,
                        "by_parallel": by_parallel.get(p["id"], [])})
    counts = {r["entity"]: r["count"] for r in cur.execute(
        "SELECT entity, count(*) FROM record WHERE school_id = %s GROUP BY entity ORDER BY entity", (sid,)).fetchall()}
    lost = cur.execute("SELECT id, epoch, key, entity, district_state, school_state, last_at, last_reason, detected_at"
                       " FROM lost_change WHERE school_id = %s AND handed_back_at IS NULL ORDER BY id LIMIT 500",
                       (sid,)).fetchall()
    log_rows = cur.execute("SELECT at, epoch, seq, via, outcome, message FROM ingest_log WHERE school = %s"
                           " ORDER BY id DESC LIMIT 20", (code,)).fetchall()
    return {**s, "periods": figures, "counts": counts, "lost": lost, "log": log_rows}


def lost_file(conn: psycopg.Connection, code: str) -> dict:
    """The changes a restored school lost, as the file its sysadmin reviews and re-applies."""
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    s = cur.execute("SELECT id, code, name FROM school WHERE code = %s", (code,)).fetchone()
    if s is None:
        raise UserError(f"Школы «{code}» нет в районе.")
    items = cur.execute("SELECT id, epoch, key, entity, district_state, school_state, last_at, last_account,"
                        " last_reason FROM lost_change WHERE school_id = %s AND handed_back_at IS NULL ORDER BY id",
                        (s["id"],)).fetchall()
    return {"kind": "zhurnal-lost-changes", "v": 1, "school": s["code"], "school_name": s["name"],
            "made_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "items": [{"id": i["id"], "key": i["key"], "entity": i["entity"], "state": i["district_state"],
                       "school_state": i["school_state"],
                       "at": i["last_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if i["last_at"] else None,
                       "account_id": i["last_account"], "reason": i["last_reason"]} for i in items]}


def mark_handed_back(conn: psycopg.Connection, code: str, ids: list[int]) -> int:
    cur = conn.execute("UPDATE lost_change SET handed_back_at = now() WHERE school_id = (SELECT id FROM school"
                       " WHERE code = %s) AND id = ANY(%s) AND handed_back_at IS NULL", (code, ids))
    return cur.rowcount


def records(conn: psycopg.Connection, code: str) -> dict[str, Any]:
    """{key: state} of everything the district holds for the school."""
    rows = conn.execute("SELECT key, state FROM record WHERE school_id = (SELECT id FROM school WHERE code = %s)",
                        (code,)).fetchall()
    return {k: v for k, v in rows}


# --- district users ---------------------------------------------------------------------------------

ROLES = {"admin": "администратор района", "inspector": "инспектор (только просмотр)"}


def create_account(conn: psycopg.Connection, login: str, name: str, role: str, password_hash: str) -> None:
    if role not in ROLES:
        raise UserError(f"Роль «{role}» неизвестна: admin (администратор района) или inspector (только просмотр).")
    conn.execute("INSERT INTO district_account(login, name, role, password_hash) VALUES (%s, %s, %s, %s)"
                 " ON CONFLICT (login) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,"
                 " password_hash = EXCLUDED.password_hash, disabled_at = NULL", (login, name, role, password_hash))


def account_by_login(conn: psycopg.Connection, login: str):
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute("SELECT id, login, name, role, password_hash FROM district_account"
                       " WHERE lower(login) = lower(%s) AND disabled_at IS NULL", (login,)).fetchone()


def new_session(conn: psycopg.Connection, account_id: int, token_hash: str, csrf: str) -> None:
    conn.execute("INSERT INTO district_session(token_hash, account_id, csrf_token) VALUES (%s, %s, %s)",
                 (token_hash, account_id, csrf))


def session_user(conn: psycopg.Connection, token_hash: str, idle_minutes: int):
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    row = cur.execute("SELECT a.id, a.login, a.name, a.role, s.csrf_token FROM district_session s"
                      " JOIN district_account a ON a.id = s.account_id"
                      " WHERE s.token_hash = %s AND a.disabled_at IS NULL"
                      " AND s.last_seen_at > now() - make_interval(mins => %s)", (token_hash, idle_minutes)).fetchone()
    if row:
        conn.execute("UPDATE district_session SET last_seen_at = now() WHERE token_hash = %s"
                     " AND last_seen_at < now() - interval '1 minute'", (token_hash,))
    return row


def end_session(conn: psycopg.Connection, token_hash: str) -> None:
    conn.execute("DELETE FROM district_session WHERE token_hash = %s", (token_hash,))
