"""A checked file waits in DATA/imports/ between the preview and the confirmation: for the
session that uploaded it only, and an hour at most (it holds children's personal data)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ... import clock
from .rows import KINDS

PENDING_TTL_SECONDS = 3600


@dataclass
class Pending:
    token: str
    kind: str
    file_name: str
    data: bytes
    options: dict


_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def _pending_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "imports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _owner_tag(token: str, owner: str) -> str:
    # The session's hash is not written down as is; this ties the file to it all the same.
    return hashlib.sha256(f"{token}:{owner}".encode()).hexdigest()


def stash(data_dir: Path, data: bytes, kind: str, file_name: str, owner: str, options: dict | None = None) -> str:
    """Keep a checked file until it is confirmed; returns the token that names it. `options`:
    what was chosen with it (the class for the whole file; the КТП's journal)."""
    purge_pending(data_dir)
    token = secrets.token_urlsafe(24)
    folder = _pending_dir(data_dir)
    meta = {"kind": kind, "file_name": file_name, "owner": _owner_tag(token, owner), "options": options or {}}
    stashed_at = clock.timestamp()
    for suffix, content in ((".data", data), (".json", json.dumps(meta).encode())):
        path = folder / f"{token}{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        # Stamped with the program's clock, which purge_pending compares it with.
        os.utime(path, (stashed_at, stashed_at))
    return token


def load_pending(data_dir: Path, token: str, owner: str, kinds=KINDS) -> Pending | None:
    """The stashed file if `token` names one of this session's, of one of `kinds`, and it is not stale."""
    purge_pending(data_dir)
    if not _TOKEN.fullmatch(token or ""):
        return None
    folder = _pending_dir(data_dir)
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        if not hmac.compare_digest(meta.get("owner", ""), _owner_tag(token, owner)):
            return None
        data = (folder / f"{token}.data").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("kind") not in kinds:
        return None
    options = meta.get("options") if isinstance(meta.get("options"), dict) else {}
    return Pending(token, meta["kind"], str(meta.get("file_name", "")), data, options)


def drop_pending(data_dir: Path, token: str) -> None:
    if not _TOKEN.fullmatch(token or ""):
        return
    for suffix in (".data", ".json"):
        (_pending_dir(data_dir) / f"{token}{suffix}").unlink(missing_ok=True)


def purge_pending(data_dir: Path, now: float | None = None) -> None:
    """Uploaded files nobody confirmed within the hour hold personal data: delete them."""
    folder = Path(data_dir) / "imports"
    if not folder.is_dir():
        return
    limit = (now or clock.timestamp()) - PENDING_TTL_SECONDS
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue

