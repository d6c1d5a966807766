"""An update the district offers (district/updates.py), as the school receives it.

The district's answer to the round's mark request names the offered bundle (version, schema
version, sha256, size). A version newer than the running one is downloaded once into
`DATA/updates/district/zhurnal-VERSION.tar` and checked here as an uploaded bundle is:
sha256 and size as announced, the signature by a release key this program trusts, every file,
the version inside as announced. What happened is kept in `DATA/updates/district.json`
(no migration: the offer is a file, as the update's own state is). A bad bundle or an older
version is recorded and not fetched again for that version; a download cut short is tried
again next round. Nothing is installed here: the sysadmin sees «Район предлагает версию X»
on /admin/update and queues it exactly like an uploaded bundle (server/appliance/update.py).
The log says versions and reasons only (nothing personal)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from server import __version__, clock
from server.appliance import release
from server.appliance import update as updates
from server.config import Settings
from server.errors import UserError
from server.fsutil import write_atomic

log = logging.getLogger("zhurnal.sync")

MAX_BYTES = release.MAX_BYTES
STATE = "district.json"


def _folder(settings: Settings) -> Path:
    return updates.updates_dir(settings) / "district"


def _state_path(settings: Settings) -> Path:
    return updates.updates_dir(settings) / STATE


def state(settings: Settings) -> dict:
    try:
        st = json.loads(_state_path(settings).read_text(encoding="utf-8"))
        return st if isinstance(st, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(settings: Settings, st: dict) -> None:
    updates.updates_dir(settings).mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(_state_path(settings), json.dumps(st, ensure_ascii=False, indent=1), mode=0o640)


def _newer(version: str) -> bool:
    try:
        return release.version_key(version) > release.version_key(__version__)
    except TypeError:  # '1.a' against '1.2': not comparable, not newer
        return False


def _meta(raw) -> dict | None:
    """The announced offer, or None when it is not what a district sends."""
    if not isinstance(raw, dict):
        return None
    try:
        meta = {"id": int(raw["id"]), "version": str(raw["version"]), "schema_version": int(raw["schema_version"]),
                "sha256": str(raw["sha256"]).lower(), "size": int(raw["size"])}
    except (KeyError, TypeError, ValueError):
        return None
    if (not re.fullmatch(r"[0-9a-f]{64}", meta["sha256"]) or not 0 < meta["size"] <= MAX_BYTES
            or not re.fullmatch(r"[0-9A-Za-z.+-]{1,40}", meta["version"])):
        return None
    return meta


def consider(settings: Settings, raw, fetch) -> str:
    """Act on the district's announcement (`raw`, from the mark's answer); `fetch(meta, out,
    start)` downloads the bundle from byte `start` into the open file `out`. Returns what was done: 'none', 'older',
    'seen', 'fetched' or 'refused'. Raises what `fetch` raises on a broken connection."""
    if raw is None:
        return "none"
    meta = _meta(raw)
    if meta is None:
        log.warning("Район прислал непонятное описание обновления — пропущено.")
        return "refused"
    version = meta["version"]
    st = state(settings)
    if not _newer(version):
        # Installed already (or the district went back): a bundle fetched earlier is of no use.
        for old in _folder(settings).glob("zhurnal-*.tar"):
            old.unlink(missing_ok=True)
        if st.get("version") != version:
            log.info("Район предлагает версию %s, она не новее установленной (%s): не скачиваю.", version, __version__)
            _write(settings, {"version": version, "state": "older", "at": _stamp()})
        return "older"
    if st.get("version") == version and st.get("state") in ("ready", "refused"):
        return "seen"  # at most once per version
    folder = _folder(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A download cut short goes on from where it stopped next round (a bundle is tens of MB, a
    # school's link may move tens of KB at a time); named by the announced checksum, so a
    # changed offer starts afresh.
    part = folder / f".partial-{meta['sha256']}.tar"
    for other in folder.glob(".partial-*.tar"):
        if other != part:
            other.unlink(missing_ok=True)
    done = False
    try:
        digest = hashlib.sha256()
        with open(part, "a+b") as out:
            out.seek(0)
            for block in iter(lambda: out.read(1024 * 1024), b""):
                digest.update(block)
            have = out.tell()
            sink = _Hashing(out, digest, meta["size"] - have)
            if have > meta["size"]:
                sink.restart()
            if out.tell() < meta["size"]:  # all of it there: a round stopped before the check
                fetch(meta, sink, out.tell())
        done = True
        digest = sink.digest
        size = part.stat().st_size
        problem = None
        if size != meta["size"] or digest.hexdigest() != meta["sha256"]:
            problem = (f"пакет от района не совпадает с его описанием (размер {size} вместо {meta['size']} "
                       "или контрольная сумма) — он изменён или повреждён")
        else:
            try:
                bundle = release.open_bundle(part, work=folder)
            except release.BundleError as e:
                problem = str(e)
            else:
                facts = {"version": bundle.version, "schema_version": bundle.schema_version, "key_id": bundle.key_id}
                bundle.discard()
                if facts["version"] != version:
                    problem = f"в пакете версия {facts['version']}, а район объявил {version}"
        if problem:
            log.warning("Обновление %s от района отклонено: %s.", version, problem)
            _write(settings, {"version": version, "state": "refused", "reason": problem, "at": _stamp()})
            return "refused"
        for old in folder.glob("zhurnal-*.tar"):
            old.unlink(missing_ok=True)
        target = folder / f"zhurnal-{version}.tar"
        os.replace(part, target)
        _write(settings, {"version": version, "state": "ready", "file": target.name, "sha256": meta["sha256"],
                          "size": meta["size"], "schema_version": facts["schema_version"], "key_id": facts["key_id"],
                          "at": _stamp()})
        log.info("Скачано обновление %s, предложенное районом: подпись верна. Установить его может администратор "
                 "на странице «Обновление программы».", version)
        return "fetched"
    finally:
        if done:  # checked (kept or refused): the partial file has served
            part.unlink(missing_ok=True)


class _Hashing:
    """A file that hashes what is written and refuses more than announced; `restart()` when
    the district sends the whole file instead of the rest."""

    def __init__(self, out, digest, limit: int):
        self.out, self.digest, self.left = out, digest, limit
        self.full = limit + out.tell()

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.digest, self.left = hashlib.sha256(), self.full

    def write(self, data: bytes) -> None:
        if len(data) > self.left:
            data = data[:self.left + 1]  # one byte too many is enough to tell
        self.left -= len(data)
        self.digest.update(data)
        self.out.write(data)
        if self.left < 0:
            raise _TooBig()


class _TooBig(Exception):
    pass


def http_fetch(url: str, opener, timeout: float, traffic):
    """`fetch` for `consider` over the sync's HTTP opener (proxy settings and all)."""

    def fetch(meta: dict, out, start: int = 0) -> None:
        headers = {"User-Agent": "zhurnal-sync/1"}
        if start:
            headers["Range"] = f"bytes={start}-"
        req = urllib.request.Request(url + f"&offer={meta['id']}", headers=headers)
        traffic.requests += 1
        try:
            with opener.open(req, timeout=timeout) as r:
                if start and r.status != 206:
                    out.restart()
                for block in iter(lambda: r.read(256 * 1024), b""):
                    traffic.received += len(block)
                    out.write(block)
        except _TooBig:
            return  # the size check in `consider` refuses it
        except urllib.error.HTTPError as e:
            raise DownloadFailed(f"район не отдал пакет обновления (ответ {e.code})") from None
        except (urllib.error.URLError, OSError, TimeoutError, ValueError) as e:
            raise DownloadFailed(f"связь прервалась при скачивании обновления ({getattr(e, 'reason', e)})") from None
        except Exception as e:  # http.client's IncompleteRead and the like
            raise DownloadFailed(f"связь прервалась при скачивании обновления ({type(e).__name__})") from None

    return fetch


class DownloadFailed(Exception):
    """The download broke off: tried again next round."""


def ready(settings: Settings) -> dict | None:
    """The downloaded, checked offer the sysadmin may queue: {"version", "at", "path", …}."""
    st = state(settings)
    if st.get("state") != "ready" or not _newer(str(st.get("version", ""))):
        return None
    path = _folder(settings) / Path(str(st.get("file", ""))).name
    if not path.is_file():
        return None
    return {**st, "path": path, "fingerprint": release.fingerprint(str(st.get("key_id", "")))}


def queue(settings: Settings, by: str) -> release.Bundle:
    """Queue the offered bundle exactly as an uploaded one (checked again on the way)."""
    offer = ready(settings)
    if offer is None:
        raise UserError("Район сейчас не предлагает версию новее установленной.")
    folder = updates.updates_dir(settings)
    fd, name = tempfile.mkstemp(prefix=".district-", suffix=".tar", dir=folder)
    os.close(fd)
    copy = Path(name)
    try:
        shutil.copyfile(offer["path"], copy)
        return updates.queue(settings, copy, by)
    finally:
        copy.unlink(missing_ok=True)


def _stamp() -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
