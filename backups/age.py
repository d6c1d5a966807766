"""The age v1 file format (https://c2sp.org/age) for encrypted backups.

Files written here decrypt with the standard `age` tool and vice versa: X25519 recipients
and identities, binary files, both directions streaming one 64 KiB chunk at a time. That
is all the backups use. Another kind of identity is any object with `unwrap(stanzas)`
(returning the file key or None), and the reader takes any `.read(n)` source: the tests
add the spec's scrypt passphrases and the ASCII armor that way (tests/agetools.py) to run
the community test vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO, Iterable, NamedTuple, Protocol, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION_LINE = b"age-encryption.org/v1\n"
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
FILE_KEY_SIZE = 16
NONCE_SIZE = 16
# Stanza body lines: 64 base64 columns, i.e. 48 bytes.
COLUMNS = 64
LINE_BYTES = 48
# Our own bound on one header line, so garbage without newlines cannot eat memory.
_MAX_HEADER_LINE = 64 * 1024

_B64_RAW = re.compile(rb"[A-Za-z0-9+/]*")
_OTHER_VERSION = re.compile(rb"age-encryption\.org/[\x21-\x7e]+\n")  # version = 1*VCHAR


class AgeError(Exception):
    """Base error; `.message` is the Russian text for users, `.detail` is for logs."""

    message = "Не удалось обработать зашифрованный файл резервной копии"

    def __init__(self, detail: str = "", message: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if message is not None:
            self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class KeyFormatError(AgeError, ValueError):
    """A key, recipient or identity file is malformed."""

    message = "Неверный формат ключа"


class NoIdentityMatch(AgeError):
    """None of the given identities can unwrap the file key."""

    message = "Ключ не подходит к этому файлу резервной копии"


class HeaderError(AgeError):
    """The header is malformed or must be refused."""

    message = "Заголовок файла резервной копии повреждён или имеет неверный формат"


class HeaderMACError(HeaderError):
    """The header parsed and the key unwrapped, but the header MAC is wrong."""

    message = "Заголовок файла резервной копии изменён или повреждён"


class PayloadError(AgeError):
    """The encrypted payload is corrupted, truncated or has trailing data."""

    message = "Файл резервной копии повреждён или обрезан"


# --- Bech32 (BIP 173 without the 90-character limit, as the spec says) ---------------

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: Iterable[int]) -> int:
    """BIP 173 checksum polynomial."""
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def _bech32_hrp_expand(hrp: str) -> list[int]:
    """Expand the human-readable part for checksumming."""
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup bits; without padding, leftover bits must be fewer than from_bits and zero."""
    acc = bits = 0
    out = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits or (acc << (to_bits - bits)) & maxv:
        raise KeyFormatError("bech32: invalid padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    """Encode bytes as lowercase Bech32 with the given human-readable part."""
    hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    polymod = _bech32_polymod(_bech32_hrp_expand(hrp) + values + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[v] for v in values + checksum)


def bech32_decode(s: str) -> tuple[str, bytes]:
    """Decode Bech32; returns the human-readable part in its original case and the data."""
    if not s.isascii() or (s.lower() != s and s.upper() != s):
        raise KeyFormatError("bech32: mixed case or non-ASCII")
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s):
        raise KeyFormatError("bech32: separator at invalid position")
    hrp = s[:pos]
    if any(not 33 <= ord(c) <= 126 for c in hrp):
        raise KeyFormatError("bech32: invalid character in human-readable part")
    try:
        values = [_BECH32_CHARSET.index(c) for c in s[pos + 1 :].lower()]
    except ValueError:
        raise KeyFormatError("bech32: invalid character in data part") from None
    # The checksum is always computed over the lowercase string.
    if _bech32_polymod(_bech32_hrp_expand(hrp.lower()) + values) != 1:
        raise KeyFormatError("bech32: invalid checksum")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


# --- Keys --------------------------------------------------------------------------

_IDENTITY_HRP = "AGE-SECRET-KEY-"
_RECIPIENT_HRP = "age"
_UNSUPPORTED_KEY = "Этот тип ключа не поддерживается"


def _b64_raw(data: bytes) -> bytes:
    """Unpadded standard base64, as the age header uses."""
    return base64.b64encode(data).rstrip(b"=")


def b64_raw_decode(s: bytes, what: str) -> bytes:
    """Strict unpadded base64: no padding, no stray characters, canonical trailing bits."""
    if not _B64_RAW.fullmatch(s) or len(s) % 4 == 1:
        raise HeaderError(f"invalid base64 in {what}")
    data = base64.b64decode(s + b"=" * (-len(s) % 4))
    if _b64_raw(data) != s:
        raise HeaderError(f"non-canonical base64 in {what}")
    return data


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 with 32 bytes of output, as everywhere in the spec."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def parse_recipient(recipient: str) -> bytes:
    """Parse an `age1...` recipient into its 32-byte X25519 public key."""
    hrp, key = bech32_decode(recipient)
    if hrp != _RECIPIENT_HRP:
        raise KeyFormatError(f"unsupported recipient type {hrp!r}", _UNSUPPORTED_KEY)
    if len(key) != 32:
        raise KeyFormatError("X25519 recipient must be 32 bytes")
    return key


class X25519Identity:
    """An X25519 secret key; `.recipient` is the matching `age1...` string."""

    def __init__(self, secret: bytes):
        if len(secret) != 32:
            raise KeyFormatError("X25519 identity must be 32 bytes")
        self._key = X25519PrivateKey.from_private_bytes(secret)
        self._public = self._key.public_key().public_bytes_raw()
        self.recipient = bech32_encode(_RECIPIENT_HRP, self._public)

    def __repr__(self) -> str:
        # Never put the secret into logs or tracebacks.
        return f"X25519Identity(recipient={self.recipient!r})"

    def secret_string(self) -> str:
        """The `AGE-SECRET-KEY-1...` text form of this identity."""
        return bech32_encode(_IDENTITY_HRP, self._key.private_bytes_raw()).upper()

    def unwrap(self, stanzas: list[Stanza]) -> bytes | None:
        """Return the file key from a matching X25519 stanza, or None."""
        ours = []
        for s in stanzas:
            if s.args[0] != "X25519":
                continue  # the spec: ignore stanzas of other types
            if len(s.args) != 2:
                raise HeaderError("X25519 stanza must have exactly one argument")
            share = b64_raw_decode(s.args[1].encode(), "X25519 share")
            if len(share) != 32:
                raise HeaderError("X25519 share must be 32 bytes")
            # Checked before decrypting to avoid partitioning oracle attacks (spec).
            if len(s.body) != FILE_KEY_SIZE + TAG_SIZE:
                raise HeaderError("X25519 stanza body has the wrong length")
            ours.append((share, s.body))
        for share, body in ours:
            try:
                shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # cryptography refuses the all-zero result of low-order points
                shared = bytes(32)
            if shared == bytes(32):
                raise HeaderError("X25519 shared secret is all zeros")
            wrap_key = _hkdf(shared, share + self._public, b"age-encryption.org/v1/X25519")
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(bytes(12), body, None)
            except InvalidTag:
                continue  # addressed to someone else
        return None


class Unwrapper(Protocol):
    """An identity: the file key from the header's stanzas, or None if none is for it."""

    def unwrap(self, stanzas: list[Stanza]) -> bytes | None: ...


Identity = Union[str, X25519Identity, Unwrapper]


def parse_identity(identity: str) -> X25519Identity:
    """Parse an `AGE-SECRET-KEY-1...` string."""
    hrp, secret = bech32_decode(identity)
    if hrp != _IDENTITY_HRP:
        raise KeyFormatError(f"unsupported identity type {hrp!r}", _UNSUPPORTED_KEY)
    return X25519Identity(secret)


def generate_identity() -> tuple[str, str]:
    """Make a new key pair: (`AGE-SECRET-KEY-1...`, `age1...`)."""
    identity = X25519Identity(X25519PrivateKey.generate().private_bytes_raw())
    return identity.secret_string(), identity.recipient


def recipient_from_identity(identity: str) -> str:
    """The `age1...` recipient of an `AGE-SECRET-KEY-1...` identity."""
    return parse_identity(identity).recipient


def parse_identities(text: str) -> list[X25519Identity]:
    """Parse an identity file: one key per line, `#` comments and blank lines ignored."""
    identities = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")  # age reads lines with bufio.Scanner, which drops CR
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(parse_identity(line))
        except KeyFormatError as e:
            raise KeyFormatError(
                f"line {number}: {e.detail}", f"{e.message} (строка {number} файла ключей)"
            ) from None
    if not identities:
        raise KeyFormatError("no identities found", "В файле ключей нет ни одного ключа")
    return identities


def load_identities(path: str | os.PathLike) -> list[X25519Identity]:
    """Read an identity file such as the one `age-keygen` writes."""
    return parse_identities(Path(path).read_text(encoding="utf-8"))


# --- Input plumbing ------------------------------------------------------------------


class Source:
    """Buffered reader over any `.read(n)` object: exact reads, bounded lines, peeking."""

    def __init__(self, raw):
        self._raw = raw
        self._buf = b""

    def peek(self, n: int) -> bytes:
        while len(self._buf) < n and (data := self._raw.read(n - len(self._buf))):
            self._buf += data
        return self._buf[:n]

    def read(self, n: int) -> bytes:
        """Exactly n bytes, fewer only at end of input."""
        parts = []
        if self._buf:
            parts.append(self._buf[:n])
            self._buf = self._buf[n:]
            n -= len(parts[0])
        while n > 0:
            data = self._raw.read(n)
            if not data:
                break
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def readline(self, limit: int) -> bytes:
        """One line with its LF; without LF if longer than limit or at end of input."""
        start = 0
        while True:
            i = self._buf.find(b"\n", start, limit)
            if i >= 0:
                line, self._buf = self._buf[: i + 1], self._buf[i + 1 :]
                return line
            if len(self._buf) >= limit:
                line, self._buf = self._buf[:limit], self._buf[limit:]
                return line
            start = len(self._buf)
            data = self._raw.read(4096)
            if not data:
                line, self._buf = self._buf, b""
                return line
            self._buf += data


# --- Header --------------------------------------------------------------------------


class Stanza(NamedTuple):
    args: list[str]
    body: bytes


def _header_line(src: Source) -> bytes:
    line = src.readline(_MAX_HEADER_LINE)
    if not line.endswith(b"\n"):
        raise HeaderError("header is truncated or has an overlong line")
    return line


def _parse_header(src: Source) -> tuple[list[Stanza], bytes, bytes]:
    """Read the header; returns stanzas, the MAC and the exact bytes the MAC covers."""
    line = src.readline(_MAX_HEADER_LINE)
    if line != VERSION_LINE:
        if _OTHER_VERSION.fullmatch(line):
            raise HeaderError(
                f"unsupported version {line!r}", "Версия формата файла не поддерживается"
            )
        raise HeaderError("malformed version line", "Это не зашифрованный файл резервной копии")
    covered = bytearray(line)
    stanzas = []
    while True:
        line = _header_line(src)
        if line.startswith(b"---"):
            parts = line[:-1].split(b" ")
            if parts[0] != b"---" or len(parts) != 2:
                raise HeaderError("malformed MAC line")
            mac = b64_raw_decode(parts[1], "header MAC")
            if len(mac) != 32:
                raise HeaderError("header MAC must be 32 bytes")
            covered += b"---"  # the MAC covers the header up to "---", without the space
            break
        if not line.startswith(b"->"):
            raise HeaderError(f"unexpected header line {line[:16]!r}")
        parts = line[:-1].split(b" ")
        if parts[0] != b"->" or len(parts) < 2:
            raise HeaderError("malformed stanza line")
        if any(not arg or any(c < 33 or c > 126 for c in arg) for arg in parts[1:]):
            raise HeaderError("invalid stanza argument")
        covered += line
        body = bytearray()
        while True:  # body lines are full 64 columns until a shorter (maybe empty) one
            line = _header_line(src)
            covered += line
            data = b64_raw_decode(line[:-1], "stanza body")
            if len(data) > LINE_BYTES:
                raise HeaderError("stanza body line longer than 64 columns")
            body += data
            if len(data) < LINE_BYTES:
                break
        stanzas.append(Stanza([a.decode("ascii") for a in parts[1:]], bytes(body)))
    if not stanzas:
        raise HeaderError("header has no recipient stanzas")
    return stanzas, mac, bytes(covered)


def _as_identities(identities: Iterable[Identity]) -> list[Unwrapper]:
    result = [parse_identity(i) if isinstance(i, str) else i for i in identities]
    if not result:
        raise ValueError("no identities given")
    return result


def _read_header(src: Source, identities: list) -> bytes:
    """Parse the header, unwrap the file key and check the MAC; returns the file key."""
    stanzas, mac, covered = _parse_header(src)
    # Passphrase files must be authenticated by the passphrase alone (spec): a header rule,
    # whichever identities are given.
    if any(s.args[0] == "scrypt" for s in stanzas) and len(stanzas) != 1:
        raise HeaderError("an scrypt stanza must be the only one in the header")
    for identity in identities:
        file_key = identity.unwrap(stanzas)
        if file_key is not None:
            break
    else:
        raise NoIdentityMatch("no identity matched any recipient stanza")
    expected = hmac.new(_hkdf(file_key, b"", b"header"), covered, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        raise HeaderMACError("bad header MAC")
    return file_key


def _chunk_nonce(counter: int, last: bool) -> bytes:
    """11-byte big-endian chunk counter, then 0x01 for the final chunk."""
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --- Writing ------------------------------------------------------------------------


def _x25519_stanza(file_key: bytes, recipient: bytes) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    except ValueError:
        raise KeyFormatError("X25519 recipient is a low-order point") from None
    wrap_key = _hkdf(shared, share + recipient, b"age-encryption.org/v1/X25519")
    body = _b64_raw(ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None))
    lines = [body[i : i + COLUMNS] for i in range(0, len(body), COLUMNS)]
    if not lines or len(lines[-1]) == COLUMNS:
        lines.append(b"")  # the body always ends with a line shorter than 64 columns
    return b"-> X25519 " + _b64_raw(share) + b"\n" + b"".join(line + b"\n" for line in lines)


class AgeWriter(io.BufferedIOBase):
    """Writable file object that encrypts to `dst`; does not close `dst`."""

    def __init__(self, dst: BinaryIO, recipients: Iterable[str]):
        super().__init__()
        keys = [parse_recipient(r) for r in recipients]
        if not keys:
            raise ValueError("no recipients given")
        file_key = os.urandom(FILE_KEY_SIZE)
        header = VERSION_LINE + b"".join(_x25519_stanza(file_key, k) for k in keys) + b"---"
        mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
        nonce = os.urandom(NONCE_SIZE)
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._dst = dst
        self._buf = bytearray()
        self._counter = 0
        self._aborted = False
        self._failure: BaseException | None = None
        dst.write(header + b" " + _b64_raw(mac) + b"\n" + nonce)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._failure is not None:
            # gzip/tar flush on their way out after a failed write: give them the real
            # cause (a full disk), not a "closed file" error that would hide it.
            raise self._failure
        if self.closed or self._aborted:
            raise ValueError("write to a closed or aborted AgeWriter")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            # A full chunk is sealed only once more data arrives: only then is it
            # known not to be the final one.
            if len(self._buf) == CHUNK_SIZE:
                self._seal(last=False)
            take = CHUNK_SIZE - len(self._buf)
            self._buf += view[:take]
            view = view[take:]
        return size

    def _seal(self, last: bool) -> None:
        chunk = self._aead.encrypt(_chunk_nonce(self._counter, last), bytes(self._buf), None)
        self._buf.clear()
        self._counter += 1
        try:
            self._dst.write(chunk)
        except BaseException as e:
            self._aborted = True
            self._failure = e
            raise

    def close(self) -> None:
        """Write the final chunk (unless aborted) and mark closed."""
        if not self.closed:
            try:
                if not self._aborted:
                    self._seal(last=True)
            finally:
                super().close()

    def abort(self) -> None:
        """Close without the final chunk, so the output is detectably truncated."""
        self._aborted = True
        self.close()

    def __exit__(self, exc_type, exc, tb):
        # A backup interrupted by an error must not look complete to the reader.
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self):
        # IOBase.__del__ would close(), i.e. finalize a half-written file; never do that.
        pass


def encrypt(src: BinaryIO, dst: BinaryIO, recipients: Iterable[str]) -> None:
    """Encrypt the stream `src` to `dst` for the given `age1...` recipients."""
    with AgeWriter(dst, recipients) as writer:
        shutil.copyfileobj(src, writer, CHUNK_SIZE)


# --- Reading ------------------------------------------------------------------------


class AgeReader(io.BufferedIOBase):
    """Readable file object over an age file; header errors are raised on creation.

    Data is released chunk by chunk as authenticated; an error after some data
    (truncation, trailing garbage) is raised by the read that would otherwise have
    reported EOF.
    """

    def __init__(self, src: BinaryIO, identities: Iterable[Identity]):
        super().__init__()
        ids = _as_identities(identities)
        source = Source(src)
        file_key = _read_header(source, ids)
        nonce = source.read(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise HeaderError("missing payload nonce")
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._src = source
        self._counter = 0
        self._chunk = b""
        self._pos = 0
        self._eof = False
        self._error: AgeError | None = None

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        sealed = self._src.read(CHUNK_SIZE + TAG_SIZE)
        if not sealed:
            raise PayloadError("file is truncated: no final chunk")
        last = len(sealed) < CHUNK_SIZE + TAG_SIZE
        if last and self._counter > 0 and len(sealed) == TAG_SIZE:
            raise PayloadError("final chunk is empty")
        try:
            plain = self._aead.decrypt(_chunk_nonce(self._counter, last), sealed, None)
        except InvalidTag:
            if last:
                raise PayloadError(f"chunk {self._counter} failed authentication") from None
            # A full-size chunk can still be the final one (payload a multiple of 64 KiB).
            try:
                plain = self._aead.decrypt(_chunk_nonce(self._counter, True), sealed, None)
            except InvalidTag:
                raise PayloadError(f"chunk {self._counter} failed authentication") from None
            last = True
        self._counter += 1
        if last:
            self._eof = True
            try:
                if self._src.read(1):
                    self._error = PayloadError("trailing data after the final chunk")
            except AgeError as e:  # the source's own error (the tests' armor decoder)
                self._error = e
        return plain

    def _fill(self) -> bool:
        """Make unread plaintext available; False at a clean end of file."""
        while self._pos == len(self._chunk):
            if self._error is not None:
                raise self._error
            if self._eof:
                return False
            try:
                self._chunk, self._pos = self._next_chunk(), 0
            except AgeError as e:
                self._error = e
                raise
        return True

    def read1(self, size: int = -1) -> bytes:
        self._checkClosed()
        if not self._fill():
            return b""
        end = len(self._chunk) if size is None or size < 0 else self._pos + size
        data = self._chunk[self._pos : end]
        self._pos += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        self._checkClosed()
        want = -1 if size is None else size
        parts = []
        got = 0
        while want < 0 or got < want:
            try:
                data = self.read1(-1 if want < 0 else want - got)
            except AgeError:
                if parts:  # hand out what was authenticated; the error comes next call
                    break
                raise
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)


def decrypt(src: BinaryIO, dst: BinaryIO, identities: Iterable[Identity]) -> None:
    """Decrypt `src` to `dst`; on error `dst` may hold a partial plaintext to discard."""
    with AgeReader(src, identities) as reader:
        while data := reader.read1(CHUNK_SIZE):
            dst.write(data)
