"""Building an archive: one read snapshot, every document of the scope rendered, the manifest
sealed with the ledger's head, then one rename into `DATA/archive/NAME/`. Progress is the file
`DATA/archive/.build.json` (the page and the CLI read it); `DATA/archive/.cancel` asks the
running build to stop. The server starts the build as a child process at nice 10
(`python -m server.archive.worker`), so the pages never wait for it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable

from .. import clock, collation, ledger
from ..fsutil import fsync_dir, write_atomic
from . import collect, render
from .collect import ArchiveError, Scope

FOLDER = "archive"
STATE = ".build.json"
CANCEL = ".cancel"
MANIFEST = "manifest.json"
NICE = 10
_children: list[subprocess.Popen] = []   # the server's workers, reaped when the state is read


class Cancelled(Exception):
    pass


def root(data: Path) -> Path:
    return Path(data) / FOLDER


def snapshot(db_path: Path) -> sqlite3.Connection:
    """A read-only connection holding one read transaction: every document sees the same state."""
    conn = collation.register(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None))
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = 1")
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM audit_log").fetchone()  # the snapshot starts at the first read
    return conn


def folder_name(conn: sqlite3.Connection, scope: Scope) -> str:
    """The archive's folder: the year and the period (and the classes when only some): a second
    build of the same scope replaces the first."""
    name = scope.year["name"].replace("/", "-")
    if scope.period is not None:
        name += f"_{scope.period['number']}-" + ("четверть" if scope.period["kind"] == "quarter" else "полугодие")
    else:
        name += "_год"
    if scope.class_ids is not None:
        names = [r[0] for r in conn.execute(
            "SELECT parallel || letter FROM class WHERE id IN (SELECT value FROM json_each(?))"
            " ORDER BY parallel, letter", (json.dumps(scope.class_ids),))]
        name += "_" + "-".join(names)
    return name


def documents(conn: sqlite3.Connection, scope: Scope) -> list[dict]:
    """The plan of a build: per class its journals' PDF and XLSX and its ведомость, in order."""
    docs = []
    for cls in collect.classes_in(conn, scope):
        for jid in collect.journals_of_class(conn, cls["id"]):
            docs.append({"kind": "journal", "journal_id": jid, "class": cls["name"]})
        docs.append({"kind": "summary", "class_id": cls["id"], "class": cls["name"]})
    if scope.class_ids is None:   # groups across classes (electives, ИГЗ) belong to no class: the whole school's build
        from ..journal.store import journal_info
        for jid in collect.cross_class_journals(conn, scope.year["id"]):
            info = journal_info(conn, jid)
            if scope.period is None or info.period_kind == scope.period["kind"]:
                docs.append({"kind": "journal", "journal_id": jid, "class": "Группы"})
    return docs


def data_of(conn: sqlite3.Connection, doc: dict, scope: Scope, today: str) -> dict:
    if doc["kind"] == "journal":
        return collect.journal_data(conn, doc["journal_id"], scope)
    cls = next(c for c in collect.classes_in(conn, scope) if c["id"] == doc["class_id"])
    return collect.summary_data(conn, cls, scope, today)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-" else "_" for ch in text).strip("_")


def file_stem(doc: dict, d: dict) -> str:
    if doc["kind"] == "journal":
        target = "" if d["target"] == doc["class"] else f"_{_safe(d['target'])}"
        return f"{_safe(doc['class'])}_{_safe(d['subject'])}{target}_ж{doc['journal_id']}"
    return f"{_safe(doc['class'])}_сводная_ведомость"


def _state_path(data: Path) -> Path:
    return root(data) / STATE


def read_state(data: Path) -> dict | None:
    """The last build's progress; a «running» build whose process is gone is reported as broken."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)
    try:
        state = json.loads(_state_path(data).read_text())
    except (OSError, ValueError):
        return None
    if state.get("starting") and state.get("pid") == os.getpid():
        # Announced by this server, the worker not yet reporting: alive while one of our children is.
        if not _children:
            state.update(state="failed", message="Сборка прервалась (процесс завершился).")
    elif state.get("state") == "running" and not _alive(state.get("pid")):
        state["state"] = "failed"
        state["message"] = "Сборка прервалась (процесс завершился)."
    return state


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (a child nobody reaped yet) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _write_state(data: Path, state: dict) -> None:
    root(data).mkdir(parents=True, exist_ok=True)
    write_atomic(_state_path(data), json.dumps(state, ensure_ascii=False).encode())


def running(data: Path) -> dict | None:
    state = read_state(data)
    return state if state and state.get("state") == "running" else None


def request_cancel(data: Path) -> bool:
    """Ask the running build to stop (it checks between documents); False when none runs."""
    state = running(data)
    if state is None:
        return False
    (root(data) / CANCEL).write_text("cancel")
    return True


def run(data: Path, db_path: Path, *, period_id: int | None = None, year_id: int | None = None,
        classes: list[str] | None = None, progress: Callable[[dict], None] | None = None,
        worker: bool = False) -> Path:
    """Build the archive of the scope; returns its folder. Raises ArchiveError on a bad scope,
    Cancelled when asked to stop (nothing of this build is left then)."""
    data = Path(data)
    base = root(data)
    base.mkdir(parents=True, exist_ok=True)
    # The server's worker was checked and announced by start(); it leaves a «cancel» that came before it was up.
    if not worker:
        if running(data) is not None:
            raise ArchiveError("Архив уже собирается: дождитесь окончания или отмените сборку.")
        (base / CANCEL).unlink(missing_ok=True)
    conn = snapshot(db_path)
    work: Path | None = None
    state: dict = {"state": "running", "pid": os.getpid(), "started": _now(), "done": 0, "total": 0}
    try:
        scope = collect.scope_of(conn, period_id=period_id, year_id=year_id, classes=classes)
        docs = documents(conn, scope)
        if not docs:
            raise ArchiveError("В выбранном периоде нет классов для архива.")
        name = folder_name(conn, scope)
        head = ledger.head(conn)
        today = clock.today().isoformat()
        state.update(scope=scope.as_json(), label=scope.label, name=name, total=len(docs))
        _write_state(data, state)
        work = base / f".build-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        period_start = scope.period["starts_on"] if scope.period else scope.year["starts_on"]
        files = []
        for i, doc in enumerate(docs):
            if (base / CANCEL).exists():
                raise Cancelled()
            d = data_of(conn, doc, scope, today)
            fp = collect.fingerprint(d)
            stem = file_stem(doc, d)
            outputs = [(stem + ".pdf", render.pdf(d, fp, period_start))]
            if doc["kind"] == "journal":
                outputs.append((stem + ".xlsx", render.xlsx(d, fp)))
            for fname, blob in outputs:
                (work / fname).write_bytes(blob)
                files.append({"name": fname, "sha256": _sha256(blob), "size": len(blob), "fingerprint": fp,
                              **{k: v for k, v in doc.items() if k != "class"}, "class": doc["class"]})
            state.update(done=i + 1, current=stem)
            _write_state(data, state)
            if progress:
                progress(state)
        manifest = {"format": 1, "created": _now(), "school": collect.school_name(conn),
                    "scope": scope.as_json(), "label": scope.label, "closed": scope.closed,
                    "ledger_head": head, "files": files}
        write_atomic(work / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        for f in work.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(work)
        target = base / name
        _replace(work, target)
        work = None
        state.update(state="done", finished=_now(), folder=str(target), current="")
        _write_state(data, state)
        return target
    except Cancelled:
        state.update(state="cancelled", finished=_now(), message="Сборка отменена.")
        _write_state(data, state)
        raise
    except BaseException as e:
        msg = str(e) if isinstance(e, ArchiveError) else "Сборка архива не удалась (подробности в журнале сервера)."
        state.update(state="failed", finished=_now(), message=msg)
        _write_state(data, state)
        raise
    finally:
        conn.close()
        (base / CANCEL).unlink(missing_ok=True)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _replace(new: Path, target: Path) -> None:
    """The new archive takes the old one's place only now, when it is complete: the old one is
    moved aside, the new renamed in, the old deleted (a crash between leaves `.old-…`, cleaned
    by the next build)."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{os.getpid()}-{target.name}")
        os.rename(target, old)
    os.rename(new, target)
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    for stale in target.parent.glob(".old-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _sha256(blob: bytes) -> str:
    import hashlib
    return hashlib.sha256(blob).hexdigest()


def start(data: Path, *, period_id: int | None = None, year_id: int | None = None,
          classes: list[str] | None = None) -> None:
    """Start a build in a child process at nice 10 (the server's «Собрать»)."""
    if running(data) is not None:
        raise ArchiveError("Архив уже собирается: дождитесь окончания или отмените сборку.")
    args = [sys.executable, "-m", "server.archive.worker", "--data", str(data)]
    if period_id is not None:
        args += ["--period", str(period_id)]
    if year_id is not None:
        args += ["--year", str(year_id)]
    if classes:
        args += ["--classes", ",".join(classes)]
    (root(data) / CANCEL).unlink(missing_ok=True)
    # «Идёт сборка» at once, before the worker is up; its first report replaces this.
    _write_state(data, {"state": "running", "pid": os.getpid(), "starting": True, "started": _now(), "done": 0,
                        "total": 0})
    # The worker's messages (a failure's traceback) go to a hidden log beside the state, never into a pipe
    # nobody reads (a full pipe would stop the worker).
    with open(root(data) / ".build.log", "wb") as log:
        child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 preexec_fn=lambda: os.nice(NICE), start_new_session=True)
    _children.append(child)


def listing(data: Path) -> list[dict]:
    """The archives kept, newest first: folder, what it covers, when built, size."""
    out = []
    base = root(data)
    if not base.is_dir():
        return out
    for d in base.iterdir():
        if d.name.startswith(".") or not d.is_dir():
            continue
        try:
            m = json.loads((d / MANIFEST).read_text())
        except (OSError, ValueError):
            continue
        out.append({"name": d.name, "label": m.get("label", ""), "created": m.get("created", ""),
                    "closed": m.get("closed", False), "files": m.get("files", []),
                    "size": sum(f.get("size", 0) for f in m.get("files", []))})
    out.sort(key=lambda a: a["created"], reverse=True)
    return out


def _now() -> str:
    return clock.now().isoformat(timespec="seconds")
