"""Backup keys: the recipients every backup is encrypted to, and the server's own key.

- `DATA/keys/backup-recipients.txt`: age's recipients-file format (`age -R` reads it),
  one `age1…` per line, each after a `# kind: label` comment. Kinds: `recovery` (the
  private half was shown once and lives in the director's safe), `server`, `extra`
  (the district, a second admin).
- `DATA/keys/backup-server.key`: the server's private key in age's key-file format
  (what `age-keygen` writes), mode 0600. It lets the server check its own backups every
  night and restore yesterday's state with one click; it is outside the database so that
  a copy of the database alone opens nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from server import clock
from server.fsutil import fsync_dir, write_atomic

from . import age
from .errors import NOT_SET_UP, BackupError

RECIPIENTS_FILE = "backup-recipients.txt"
SERVER_KEY_FILE = "backup-server.key"
KINDS = {"recovery": "ключ восстановления", "server": "ключ сервера", "extra": "дополнительный"}


@dataclass(frozen=True)
class Recipient:
    kind: str
    label: str
    public_key: str

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


def keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys"


def key_file_text(secret: str, public: str, comment: str = "") -> str:
    """An identity file as `age-keygen` writes it (plus our own comment lines first)."""
    created = clock.local_now().replace(microsecond=0).isoformat()
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [f"# created: {created}", f"# public key: {public}", secret]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Create `path` with mode 0600 from the start (never readable by others, even briefly);
    never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(path.parent)


def recipients(data_dir: Path) -> list[Recipient]:
    """The recipients in the order they were added; [] before set-up."""
    path = keys_dir(data_dir) / RECIPIENTS_FILE
    if not path.exists():
        return []
    found, kind, label = [], "extra", ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            head, sep, rest = line[1:].strip().partition(":")
            if sep and head.strip() in KINDS:
                kind, label = head.strip(), rest.strip()
            continue
        if line:
            try:
                age.parse_recipient(line)
            except age.KeyFormatError as e:
                raise BackupError(f"Файл {path} повреждён: {e.message}.") from None
            found.append(Recipient(kind, label, line))
            kind, label = "extra", ""
    return found


def _write_recipients(data_dir: Path, items: list[Recipient]) -> None:
    lines = ["# Получатели резервных копий Журнала: каждая копия шифруется для всех ключей ниже.",
             "# Формат age (age -R этот_файл). Не редактируйте без необходимости."]
    for r in items:
        lines += [f"# {r.kind}: {r.label}", r.public_key]
    # Public keys only: readable by others, like age's own recipients files.
    write_atomic(keys_dir(data_dir) / RECIPIENTS_FILE, "\n".join(lines) + "\n", mode=0o644)


def is_set_up(data_dir: Path) -> bool:
    try:
        kinds = {r.kind for r in recipients(data_dir)}
    except BackupError:
        return False
    return {"recovery", "server"} <= kinds and (keys_dir(data_dir) / SERVER_KEY_FILE).exists()


def require_set_up(data_dir: Path) -> list[str]:
    """The `age1…` recipients to encrypt to; refuses (in Russian) before set-up."""
    if not is_set_up(data_dir):
        raise BackupError(NOT_SET_UP)
    return [r.public_key for r in recipients(data_dir)]


def server_identity(data_dir: Path) -> age.X25519Identity:
    path = keys_dir(data_dir) / SERVER_KEY_FILE
    if not path.exists():
        raise BackupError(NOT_SET_UP)
    try:
        return age.load_identities(path)[0]
    except age.KeyFormatError as e:
        raise BackupError(f"Ключ сервера {path} повреждён: {e.message}.") from None


def set_up(data_dir: Path, replace_recovery: bool = False,
           deliver: Callable[[str], None] | None = None) -> tuple[str, str]:
    """Make the key pairs; returns the recovery key file text and its public key.

    The recovery private key is returned, never stored: the caller shows or writes it
    once. `deliver(text)` runs before the set-up is saved, so if it fails (a file that
    cannot be written) nothing is set up and no key is lost. With `replace_recovery` an
    existing set-up gets a new recovery key (old backups still open with the old one and
    with the server key).
    """
    kdir = keys_dir(data_dir)
    done = is_set_up(data_dir)
    if done and not replace_recovery:
        raise BackupError("Резервное копирование уже настроено: ключ восстановления был выдан при настройке.")
    if replace_recovery and not done:
        raise BackupError(NOT_SET_UP)
    kdir.mkdir(parents=True, exist_ok=True)
    os.chmod(kdir, 0o700)
    now = clock.local_now().strftime("%d.%m.%Y %H:%M")
    current = recipients(data_dir)
    if not done:
        server_key = kdir / SERVER_KEY_FILE
        if server_key.exists():
            server_pub = server_identity(data_dir).recipient  # an interrupted earlier set-up
        else:
            secret, server_pub = age.generate_identity()
            _write_private(server_key, key_file_text(secret, server_pub, "Ключ сервера Журнала для резервных копий. Не копируйте его никуда."))
        current = [r for r in current if r.kind == "extra"]
        current.insert(0, Recipient("server", f"создан {now}", server_pub))
    secret, recovery_pub = age.generate_identity()
    current = [r for r in current if r.kind != "recovery"]
    current.insert(0, Recipient("recovery", f"создан {now}", recovery_pub))
    text = key_file_text(secret, recovery_pub,
                         "Ключ восстановления резервных копий Журнала. Храните в сейфе директора.\n"
                         "Без него копию нельзя восстановить на новом компьютере.")
    if deliver is not None:
        deliver(text)
    _write_recipients(data_dir, current)
    return text, recovery_pub


def add_recipient(data_dir: Path, public_key: str, label: str) -> Recipient:
    """Encrypt future backups also to `public_key` (the district, a second admin)."""
    items = recipients(data_dir)
    if not is_set_up(data_dir):
        raise BackupError(NOT_SET_UP)
    public_key = public_key.strip()
    try:
        age.parse_recipient(public_key)
    except age.KeyFormatError as e:
        raise BackupError(f"{e.message}: нужен открытый ключ вида age1… .") from None
    if any(r.public_key == public_key for r in items):
        raise BackupError("Этот ключ уже есть среди получателей.")
    label = " ".join(label.split())[:100] or "без названия"
    new = Recipient("extra", label, public_key)
    _write_recipients(data_dir, items + [new])
    return new


def write_recovery_key_file(path: Path, text: str) -> None:
    """Write the recovery key for the admin; refuses to overwrite anything."""
    try:
        _write_private(path, text)
    except FileExistsError:
        raise BackupError(f"Файл {path} уже существует: укажите новый файл, существующий не будет перезаписан.") from None
    except OSError as e:
        raise BackupError(f"Не удалось записать ключ восстановления в {path}: {e.strerror}.") from None


def load_key_text(text: str) -> list[age.X25519Identity]:
    """Identities from the text of a key file or a pasted `AGE-SECRET-KEY-1…` line."""
    text = text.strip().replace("\r\n", "\n")
    if not text:
        raise BackupError("Ключ восстановления не указан.")
    # People retype the printed key in groups, or paste it in another case: Bech32 is
    # case-insensitive and has no spaces, so both are undone for key lines.
    lines = [line.strip() for line in text.split("\n")]
    lines = ["".join(line.split()).upper() if line.lower().startswith("age-secret-key-") else line
             for line in lines]
    try:
        return age.parse_identities("\n".join(lines))
    except age.KeyFormatError as e:
        raise BackupError(f"{e.message}: нужен ключ вида AGE-SECRET-KEY-1… .") from None


def load_key_file(path: Path) -> list[age.X25519Identity]:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise BackupError(f"Файл ключа {path} не найден.") from None
    except OSError as e:
        raise BackupError(f"Не удалось прочитать файл ключа {path}: {e.strerror}.") from None
    if len(data) > 64 * 1024:
        raise BackupError(f"Файл {path} не похож на файл ключа (слишком большой).")
    try:
        return load_key_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BackupError(f"Файл {path} не похож на файл ключа.") from None
