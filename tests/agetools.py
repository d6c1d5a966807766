"""The parts of age the backups do not use, kept for the tests: scrypt passphrase
identities and the ASCII armor (decrypt only).

They let tests/test_age.py run the community test vectors (C2SP CCTV) and read files the
`age` tool made with `-p` or `-a` through the production reader (backups/age.py): a
passphrase is one more kind of identity (`unwrap(stanzas)`), the armor one more source
(`.read(n)`). Moved here from backups/age.py (issue 10): the server never reads either.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import BinaryIO, Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from backups import age
from backups.age import FILE_KEY_SIZE, TAG_SIZE, AgeError, HeaderError, Stanza, b64_raw_decode

# age refuses scrypt work factors above 2**22 by default: higher ones take minutes and GiBs.
SCRYPT_MAX_WORK_FACTOR = 22
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
# Same bound as age: whitespace around the armor is allowed, but not unlimited amounts.
_ARMOR_MAX_WHITESPACE = 1024
_COLUMNS, _LINE_BYTES = age.COLUMNS, age.LINE_BYTES
_WORK_FACTOR = re.compile(r"[1-9][0-9]*")


class ArmorError(AgeError):
    """The ASCII armor (PEM) wrapping is malformed."""

    message = "Неверный формат текстовой (ASCII) оболочки файла резервной копии"


class ScryptIdentity:
    """A passphrase that unwraps `scrypt` stanzas (decryption only)."""

    def __init__(self, passphrase: str | bytes, max_work_factor: int = SCRYPT_MAX_WORK_FACTOR):
        self._passphrase = passphrase.encode() if isinstance(passphrase, str) else passphrase
        self.max_work_factor = max_work_factor

    def __repr__(self) -> str:
        return "ScryptIdentity(***)"

    def unwrap(self, stanzas: list[Stanza]) -> bytes | None:
        """Return the file key from the scrypt stanza, or None."""
        for s in stanzas:
            if s.args[0] != "scrypt":
                continue
            if len(s.args) != 3:
                raise HeaderError("scrypt stanza must have exactly two arguments")
            salt = b64_raw_decode(s.args[1].encode(), "scrypt salt")
            if len(salt) != 16:
                raise HeaderError("scrypt salt must be 16 bytes")
            if not _WORK_FACTOR.fullmatch(s.args[2]):
                raise HeaderError("scrypt work factor is not a canonical decimal")
            if len(s.args[2]) > 3 or int(s.args[2]) > self.max_work_factor:
                raise HeaderError(
                    f"scrypt work factor {s.args[2]} is too large",
                    "Файл защищён паролем со слишком высокой сложностью (scrypt)",
                )
            if len(s.body) != FILE_KEY_SIZE + TAG_SIZE:
                raise HeaderError("scrypt stanza body has the wrong length")
            salt = b"age-encryption.org/v1/scrypt" + salt
            kdf = Scrypt(salt=salt, length=32, n=1 << int(s.args[2]), r=8, p=1)
            wrap_key = kdf.derive(self._passphrase)
            try:
                return ChaCha20Poly1305(wrap_key).decrypt(bytes(12), s.body, None)
            except InvalidTag:
                continue  # wrong passphrase
        return None



class ArmorDecoder:
    """Strict PEM decoder (RFC 7468 strict form) with age's rules, as a `.read(n)` stream."""

    def __init__(self, src: age.Source):
        self._src = src
        self._started = False
        self._done = False
        self._pending = b""

    def _line(self) -> bytes:
        line = self._src.readline(_ARMOR_MAX_WHITESPACE + 2)
        if not line:
            raise ArmorError("unexpected end of armored file")
        if line.endswith(b"\n"):
            line = line[:-1]
        elif len(line) > _ARMOR_MAX_WHITESPACE:
            raise ArmorError("line too long")
        return line.removesuffix(b"\r")  # both LF and CRLF line endings are accepted

    def _start(self) -> None:
        skipped = 0
        while not (line := self._line()).strip():
            skipped += len(line) + 1
            if skipped > _ARMOR_MAX_WHITESPACE:
                raise ArmorError("too much leading whitespace")
        if line != ARMOR_BEGIN:
            raise ArmorError("invalid first line")
        self._started = True

    def _finish(self) -> None:
        # Only whitespace may follow the armor, otherwise the file is malleable.
        self._done = True
        rest = self._src.read(_ARMOR_MAX_WHITESPACE)
        if rest.strip():
            raise ArmorError("trailing data after armored file")
        if len(rest) == _ARMOR_MAX_WHITESPACE:
            raise ArmorError("too much trailing whitespace")

    def _decode_line(self) -> bytes:
        line = self._line()
        if line == ARMOR_END:
            self._finish()
            return b""
        if not line or len(line) > _COLUMNS:
            raise ArmorError("empty or too long line")
        try:
            data = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise ArmorError("invalid base64") from None
        if base64.b64encode(data) != line:
            raise ArmorError("non-canonical base64")
        if len(data) < _LINE_BYTES:  # only the last line may be short
            if self._line() != ARMOR_END:
                raise ArmorError("invalid closing line")
            self._finish()
        return data

    def read(self, n: int) -> bytes:
        if not self._started:
            self._start()
        parts, have = [self._pending], len(self._pending)
        while have < n and not self._done:
            parts.append(self._decode_line())
            have += len(parts[-1])
        data = b"".join(parts)
        self._pending = data[n:]
        return data[:n]


def reader(src: BinaryIO, identities: Iterable, *, armored: bool | None = None) -> age.AgeReader:
    """age's reader over `src`; `armored` None detects the ASCII armor, True requires it,
    False refuses it (as the `age` tool does)."""
    source = age.Source(src)
    if armored is None:
        armored = source.peek(_ARMOR_MAX_WHITESPACE + 16).lstrip().startswith(b"-----BEGIN")
    return age.AgeReader(ArmorDecoder(source) if armored else source, identities)


def decrypt(src: BinaryIO, dst: BinaryIO, identities: Iterable, *, armored: bool | None = None) -> None:
    """Decrypt `src` to `dst` as age.decrypt does, armored or not."""
    with reader(src, identities, armored=armored) as r:
        while data := r.read1(age.CHUNK_SIZE):
            dst.write(data)
