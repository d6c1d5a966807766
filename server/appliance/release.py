"""Release bundles: what one holds, how it is signed, how a school checks it.

A bundle is one uncompressed tar (the wheels are compressed already) made by
`sh deploy/bundle.sh OUT_DIR` where the internet is, carried to the school on a USB stick:

    zhurnal-VERSION/
        install.sh          deploy/install.sh: `sudo sh install.sh` installs with no network
        deploy/             the systemd units, the settings example, the kiosk set-up
        wheels/             the program and every dependency, for x86-64 and aarch64, Python 3.11
        MANIFEST.json       version, database schema version, platforms, build date
        SHA256SUMS          `sha256sum -c` format: every file above
        SHA256SUMS.sig      Ed25519 signature of SHA256SUMS by the project's release key

Trust: the public keys a program accepts ship inside it (`release-keys.txt` beside this
file). An update is checked by the program already installed, so a bundle signed by anyone
else is refused. The first install has nothing installed to check with: install.sh checks
every file against SHA256SUMS, then the signature with the key inside the bundle, and prints
the key's fingerprint for the sysadmin to compare with the one the project publishes
(deploy/appliance.md). The private key never enters the repository.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import UserError

HERE = Path(__file__).resolve().parent
KEYS_FILE = HERE / "release-keys.txt"
BUILD_FILE = HERE / "build.json"  # written into the source copy by deploy/bundle.sh
SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
MANIFEST = "MANIFEST.json"
FORMAT = 1
PYTHON = "3.11"
# The platforms a bundle carries wheels for: x86-64 Debian 12 and 64-bit Raspberry Pi OS.
ARCHES = ("x86_64", "aarch64")
ARCH_NAMES = {"x86_64": "x86-64 (Debian 12, школьный ПК)", "aarch64": "aarch64 (64-битная Raspberry Pi OS)"}
MAX_MEMBERS = 2000
MAX_BYTES = 1024**3


class BundleError(UserError):
    """A bundle that must not be installed; the message is Russian and says why."""


@dataclass
class Bundle:
    root: Path                  # the unpacked folder (MANIFEST.json is in it)
    manifest: dict
    key_id: str
    temp: Path | None = None    # a folder to delete when done (the tar was unpacked there)
    files: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def schema_version(self) -> int:
        return int(self.manifest["schema_version"])

    @property
    def wheels(self) -> Path:
        return self.root / "wheels"

    def discard(self) -> None:
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            self.temp = None


# --- keys -----------------------------------------------------------------------------------

def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def fingerprint(kid: str) -> str:
    """A key id as a person compares it: 4328 c3c7 43b2 f48a."""
    return " ".join(kid[i:i + 4] for i in range(0, len(kid), 4))


def parse_keys(text: str) -> dict[str, Ed25519PublicKey]:
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(parts[1]))
        if key_id(public) != parts[0]:
            raise ValueError(f"release key {parts[0]}: the id does not match the key")
        found[parts[0]] = public
    return found


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """The release keys this program accepts (shipped inside it)."""
    return parse_keys(KEYS_FILE.read_text(encoding="utf-8"))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise BundleError(f"Не удалось прочитать ключ выпуска {path}: {e}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path}: это не ключ Ed25519.")
    return key


def new_key(path: Path) -> str:
    """A new release key pair: the private half (PEM, 0600) to `path`; returns the line for
    release-keys.txt."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{key_id(key.public_key())} {base64.b64encode(raw).decode()}"


# --- what the program knows about its own build ---------------------------------------------

def build_info() -> dict:
    """{"version", "built_at", "commit"} of a program installed from a bundle; {} otherwise."""
    try:
        return json.loads(BUILD_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build_time() -> datetime | None:
    at = build_info().get("built_at")
    try:
        return datetime.fromisoformat(at).astimezone(timezone.utc) if at else None
    except ValueError:
        return None


# --- making a bundle (deploy/bundle.sh) -----------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def _listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name not in (SUMS, SIGNATURE))


def _program_wheel(wheels: Path) -> Path:
    found = sorted(wheels.glob("zhurnal-*.whl"))
    if len(found) != 1:
        raise BundleError(f"В {wheels} должен быть ровно один файл zhurnal-*.whl, найдено {len(found)}.")
    return found[0]


def seal(stage: Path, key: Ed25519PrivateKey, platforms: list[str], missing: dict[str, list[str]]) -> dict:
    """Write MANIFEST.json, SHA256SUMS and its signature into `stage` (the bundle's folder)."""
    wheel = _program_wheel(stage / "wheels")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        migrations = [n for n in names if re.fullmatch(r"server/migrations/\d{4}_\w+\.sql", n)]
        keys = parse_keys(z.read("server/appliance/release-keys.txt").decode())
        build = json.loads(z.read("server/appliance/build.json")) if "server/appliance/build.json" in names else {}
    kid = key_id(key.public_key())
    if kid not in keys:
        # The installed program would refuse its own next update.
        raise BundleError(f"Ключ {fingerprint(kid)} не записан в server/appliance/release-keys.txt "
                          "собираемой программы: школа не сможет проверить следующие обновления.")
    manifest = {
        "format": FORMAT, "name": "zhurnal", "version": wheel.name.split("-")[1],
        "schema_version": len(migrations), "python": PYTHON, "platforms": platforms,
        "missing": missing, "built_at": build.get("built_at") or datetime.now(timezone.utc).isoformat(
            timespec="seconds"), "commit": build.get("commit", ""),
    }
    (stage / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    sums = "".join(f"{_sha256(stage / name)}  {name}\n" for name in _listing(stage))
    (stage / SUMS).write_text(sums, encoding="utf-8")
    signature = key.sign(sums.encode("utf-8"))
    (stage / SIGNATURE).write_text(json.dumps({"key_id": kid, "signature": base64.b64encode(signature).decode()})
                                   + "\n", encoding="utf-8")
    return manifest


# --- checking a bundle (zhurnal update, install.sh) -----------------------------------------

def _unpack(path: Path, into: Path) -> Path:
    """Unpack a bundle's tar safely: regular files and folders under one top folder only."""
    try:
        tar = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as e:
        raise BundleError(f"Файл {path.name} не является пакетом обновления Журнала ({e}).") from None
    with tar:
        members = tar.getmembers()
        if not members or len(members) > MAX_MEMBERS or sum(m.size for m in members) > MAX_BYTES:
            raise BundleError(f"Файл {path.name} не похож на пакет обновления Журнала.")
        tops = set()
        for m in members:
            parts = Path(m.name).parts
            if (m.name.startswith("/") or ".." in parts or not parts or not (m.isfile() or m.isdir())):
                raise BundleError(f"Пакет {path.name} содержит недопустимый путь «{m.name[:100]}»: он отклонён.")
            tops.add(parts[0])
        if len(tops) != 1:
            raise BundleError(f"Пакет {path.name} должен содержать одну папку, а содержит {len(tops)}.")
        for m in members:
            target = into / m.name
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            with src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            if m.mode & 0o111:
                target.chmod(0o755)
    return into / tops.pop()


def open_bundle(path: Path, work: Path | None = None, keys: dict[str, Ed25519PublicKey] | None = None) -> Bundle:
    """Unpack (a .tar) or take (a folder) a bundle and check it whole: the signature by a
    trusted release key, every file against SHA256SUMS, nothing extra. BundleError if not."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"Файла {path} нет.")
    temp = None
    if path.is_dir():
        root = path
    else:
        temp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=work))
        try:
            root = _unpack(path, temp)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
    try:
        return _check(root, temp, trusted_keys() if keys is None else keys)
    except BaseException:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        raise


def _check(root: Path, temp: Path | None, keys: dict[str, Ed25519PublicKey]) -> Bundle:
    name = root.name
    try:
        sums = (root / SUMS).read_bytes()
        sig = json.loads((root / SIGNATURE).read_text(encoding="utf-8"))
        kid, signature = str(sig["key_id"]), base64.b64decode(sig["signature"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BundleError(f"{name}: нет подписи выпуска (файлы {SUMS} и {SIGNATURE}). Это не пакет Журнала "
                          "или он повреждён.") from None
    public = keys.get(kid)
    if public is None:
        raise BundleError(f"{name}: пакет подписан неизвестным ключом ({fingerprint(kid)}). Устанавливать его "
                          "нельзя: возьмите пакет из надёжного источника.")
    try:
        public.verify(signature, sums)
    except InvalidSignature:
        raise BundleError(f"{name}: подпись пакета неверна — пакет изменён или повреждён. Устанавливать его "
                          "нельзя.") from None
    listed = {}
    for line in sums.decode("utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        if not rel or ".." in Path(rel).parts or rel.startswith("/"):
            raise BundleError(f"{name}: неверная строка в {SUMS}.")
        listed[rel] = digest
    present = set(_listing(root))
    extra = sorted(present - set(listed))
    lost = sorted(set(listed) - present)
    if lost:
        raise BundleError(f"{name}: в пакете не хватает файлов ({', '.join(lost[:3])}): он скопирован не полностью.")
    if extra:
        raise BundleError(f"{name}: в пакете лишние файлы ({', '.join(extra[:3])}), не заверенные подписью.")
    for rel, digest in listed.items():
        if _sha256(root / rel) != digest:
            raise BundleError(f"{name}: файл {rel} повреждён (контрольная сумма не совпадает). Скопируйте "
                              "пакет заново.")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or manifest.get("name") != "zhurnal":
            raise ValueError
        str(manifest["version"]), int(manifest["schema_version"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BundleError(f"{name}: описание пакета ({MANIFEST}) не понято — нужна другая версия программы.") from None
    return Bundle(root=root, manifest=manifest, key_id=kid, temp=temp, files=sorted(listed))


def version_key(version: str) -> tuple:
    """'0.10.1' sorts after '0.9.3'."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+-]", version))


# --- the developer's side: `python -m server.appliance.release …` (deploy/bundle.sh) -------

def main(argv: list[str]) -> int:
    if argv[:1] == ["keygen"] and len(argv) == 2:
        print(new_key(Path(argv[1])))
        return 0
    if argv[:1] == ["seal"] and len(argv) >= 3:
        stage, key_path = Path(argv[1]), Path(argv[2])
        platforms = argv[3].split(",") if len(argv) > 3 and argv[3] else []
        missing = json.loads(argv[4]) if len(argv) > 4 else {}
        try:
            manifest = seal(stage, load_private_key(key_path), platforms, missing)
        except BundleError as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 2
        print(manifest["version"])
        return 0
    if argv[:1] == ["check"] and len(argv) == 2:
        try:
            b = open_bundle(Path(argv[1]))
        except BundleError as e:
            print(f"Ошибка: {e}", file=sys.stderr)
            return 1
        print(f"{b.version} {fingerprint(b.key_id)}")
        b.discard()
        return 0
    print("использование: python -m server.appliance.release keygen KEYFILE | seal STAGE KEYFILE [PLATFORMS] "
          "[MISSING_JSON] | check BUNDLE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
