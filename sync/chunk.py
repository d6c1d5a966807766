"""The chunk: one file that travels by HTTP and on a USB stick alike.

    "ZHS1" | u16 header length | header (canonical JSON, plain) | u32 body length | body | signature (64)

- header: {"v", "school", "epoch", "seq", "kind": "changes"|"snapshot", "first", "last",
  "head", "n", "final", "created"} — who sent it and where it goes in the school's order;
  no personal data;
- body: the records, JSON compressed with zlib, then encrypted to the district's age key
  (backups/age.py, the same format as the `age` tool);
- signature: the school's Ed25519 key over everything before it (header and ciphertext), so
  the district refuses a forged or altered chunk before it decrypts anything.

On the school's disk a chunk file carries a local trailer after the wire bytes, "ZHL1" and
the 32-byte proof: sha256 of the compressed plaintext, which only the district can compute
again (it alone decrypts). The district's acknowledgement names (epoch, seq, proof), so a
forged acknowledgement cannot make the school drop chunks the district never had.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization

from backups import age
from server.errors import UserError

MAGIC = b"ZHS1"
LOCAL = b"ZHL1"
VERSION = 1
KEY_HRP = "zhs"  # the school's public key as text: zhs1… (bech32, like age's age1…)
SIG_LEN = 64


class ChunkError(UserError):
    """A chunk that cannot be read or trusted; the message is Russian."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def compress(records: Any) -> bytes:
    return zlib.compress(json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode(), 9)


def proof_of(plain: bytes) -> bytes:
    return hashlib.sha256(b"zhurnal-sync-ack\0" + plain).digest()


# --- keys ---------------------------------------------------------------------------------------

def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def signing_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_signing_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ChunkError("Ключ подписи школы повреждён: это не ключ Ed25519.")
    return key


def public_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return age.bech32_encode(KEY_HRP, raw)


def parse_public(text: str) -> Ed25519PublicKey:
    try:
        hrp, raw = age.bech32_decode(text.strip())
    except Exception:
        hrp, raw = "", b""
    if hrp != KEY_HRP or len(raw) != 32:
        raise ChunkError(f"«{text[:80]}» — не открытый ключ школы: он начинается с «zhs1» и его печатает "
                         "команда «zhurnal sync setup».")
    return Ed25519PublicKey.from_public_bytes(raw)


def check_recipient(text: str) -> str:
    try:
        age.parse_recipient(text.strip())
    except age.AgeError:
        raise ChunkError(f"«{text[:80]}» — не открытый ключ района: нужен ключ age, он начинается с «age1» "
                         "(его печатает «zhurnal district init»).") from None
    return text.strip()


# --- sealing and opening ------------------------------------------------------------------------

@dataclass
class Chunk:
    header: dict
    signed: bytes       # magic … body: what the signature covers
    body: bytes         # the ciphertext
    signature: bytes

    @property
    def wire(self) -> bytes:
        return self.signed + self.signature

    @property
    def school(self) -> str:
        return str(self.header.get("school", ""))

    @property
    def epoch(self) -> int:
        return int(self.header.get("epoch", 0))

    @property
    def seq(self) -> int:
        return int(self.header.get("seq", 0))

    def verify(self, public: Ed25519PublicKey) -> bool:
        try:
            public.verify(self.signature, self.signed)
            return True
        except InvalidSignature:
            return False

    def open(self, identities: list) -> tuple[bytes, Any]:
        """(compressed plaintext, records) — decrypted with the district's key."""
        try:
            plain = age.AgeReader(io.BytesIO(self.body), identities).read()
        except age.AgeError as e:
            raise ChunkError(f"Пакет № {self.seq} школы «{self.school}» не расшифровывается ключом района: "
                             f"{e}.") from None
        try:
            records = json.loads(zlib.decompress(plain))
        except (zlib.error, ValueError):
            raise ChunkError(f"Пакет № {self.seq} школы «{self.school}» повреждён: содержимое не читается.") from None
        return plain, records


def seal(header: dict, plain: bytes, recipient: str, key: Ed25519PrivateKey) -> bytes:
    """The local chunk file's bytes: wire bytes and the local proof trailer."""
    out = io.BytesIO()
    age.encrypt(io.BytesIO(plain), out, [recipient])
    body = out.getvalue()
    hdr = canonical({"v": VERSION, **header})
    signed = MAGIC + struct.pack(">H", len(hdr)) + hdr + struct.pack(">I", len(body)) + body
    return signed + key.sign(signed) + LOCAL + proof_of(plain)


def parse(data: bytes, what: str = "пакет") -> tuple[Chunk, bytes | None]:
    """(chunk, local proof or None) from wire bytes or a local file's bytes."""
    if data[:4] != MAGIC:
        raise ChunkError(f"{what}: это не пакет синхронизации Журнала.")
    try:
        (hlen,) = struct.unpack(">H", data[4:6])
        hdr = data[6:6 + hlen]
        (blen,) = struct.unpack(">I", data[6 + hlen:10 + hlen])
        end = 10 + hlen + blen
        header = json.loads(hdr)
    except (struct.error, ValueError):
        raise ChunkError(f"{what}: пакет обрезан или повреждён.") from None
    sig = data[end:end + SIG_LEN]
    if len(sig) != SIG_LEN or not isinstance(header, dict):
        raise ChunkError(f"{what}: пакет обрезан или повреждён.")
    rest = data[end + SIG_LEN:]
    proof = None
    if rest:
        if rest[:4] != LOCAL or len(rest) != 36:
            raise ChunkError(f"{what}: после пакета лишние данные.")
        proof = rest[4:]
    for field in ("school", "epoch", "seq", "kind"):
        if field not in header:
            raise ChunkError(f"{what}: в заголовке пакета нет поля «{field}».")
    return Chunk(header, data[:end], data[6 + hlen + 4:end], sig), proof
