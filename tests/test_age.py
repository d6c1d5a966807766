"""Tests for backups/age.py: community test vectors, interop with `age`, tampering, memory.

The vectors' passphrase files and armored files go through tests/agetools.py (scrypt
identities and the armor decoder, which the backups never use) into the same reader."""

import base64
import gzip
import hashlib
import io
import lzma
import os
import pty
import select
import shutil
import subprocess
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import agetools
import pytest

from backups import age

CCTV = Path(__file__).resolve().parents[2] / "shared/testdata/age-cctv"
AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(
    AGE is None, reason="the `age` tool is not installed (apt-get install age)"
)

CHUNK = 64 * 1024
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * 1024 * 1024 + 123]

# Example key pair from the age specification (c2sp.org/age).
SPEC_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"


# --- Community test vectors (C2SP CCTV age/testdata) --------------------------------

EXPECTED_ERROR = {
    "no match": age.NoIdentityMatch,
    "HMAC failure": age.HeaderMACError,
    "header failure": age.HeaderError,
    "payload failure": age.PayloadError,
    "armor failure": agetools.ArmorError,
}
UNSUPPORTED_REASON = (
    "mlkem768x25519 (post-quantum hybrid) identities are not implemented; "
    "Debian's age 1.1.1 cannot make such files either"
)


def _vector_names(*expect: str) -> list:
    """Vector file names, optionally only those with one of the given `expect:` values."""
    if not CCTV.is_dir():
        reason = f"age test vectors not found at {CCTV} (this clone has no ../shared)"
        return [pytest.param("", marks=pytest.mark.skip(reason=reason))]
    names = sorted(p.name for p in CCTV.iterdir() if p.is_file() and p.suffix != ".md")
    return [n for n in names if not expect or _load_vector(n)[0]["expect"] in expect]


def _load_vector(name: str):
    """Return (meta dict, list of identities, age file bytes) for one vector."""
    header, _, body = (CCTV / name).read_bytes().partition(b"\n\n")
    meta, identities = {}, []
    for line in header.decode().splitlines():
        key, _, value = line.partition(": ")
        if key == "identity":
            identities.append(value)
        elif key == "passphrase":
            identities.append(agetools.ScryptIdentity(value))
        else:
            meta[key] = value
    if meta.get("compressed") == "zlib":
        body = zlib.decompress(body)
    return meta, identities, body


def _supported(identities: list) -> list:
    """The identities this module implements (no post-quantum hybrid ones)."""
    return [i for i in identities if not str(i).startswith("AGE-SECRET-KEY-PQ-")]


def _run_vector(name: str, read_size: int | None = None):
    """Decrypt a vector; returns (meta, released plaintext, exception or None)."""
    meta, identities, body = _load_vector(name)
    ours = _supported(identities)
    if identities and not ours:
        pytest.skip(UNSUPPORTED_REASON)
    if not ours:  # vectors that must fail before any key is needed carry none
        ours = [age.generate_identity()[0]]
    armored = True if meta.get("armored") == "yes" else None
    out = io.BytesIO()
    try:
        if read_size is None:
            agetools.decrypt(io.BytesIO(body), out, ours, armored=armored)
        else:
            with agetools.reader(io.BytesIO(body), ours, armored=armored) as reader:
                while data := reader.read(read_size):
                    out.write(data)
    except age.AgeError as e:
        return meta, out.getvalue(), e
    return meta, out.getvalue(), None


@pytest.mark.parametrize("name", _vector_names())
def test_community_vector_decrypts_or_fails_as_expected(name):
    meta, plaintext, error = _run_vector(name)
    if meta["expect"] == "success":
        assert error is None, f"{name}: {error!r}"
    else:
        expected = EXPECTED_ERROR[meta["expect"]]
        assert isinstance(error, expected), f"{name}: expected {expected.__name__}, got {error!r}"
        if expected is age.HeaderError:
            assert not isinstance(error, age.HeaderMACError)
        assert error.message and not error.message.isascii()  # a Russian text for the user
    # Whatever was released before a failure must be the expected plaintext prefix.
    if "payload" in meta:
        assert hashlib.sha256(plaintext).hexdigest() == meta["payload"]
    else:
        assert plaintext == b""


@pytest.mark.parametrize("name", _vector_names("success", "payload failure"))
def test_community_vector_through_reader_object_releases_same_data(name):
    meta, plaintext, error = _run_vector(name, read_size=10_000)
    assert (error is None) == (meta["expect"] == "success")
    assert hashlib.sha256(plaintext).hexdigest() == meta["payload"]


def test_vectors_cover_x25519_scrypt_and_armor_and_skip_only_hybrid():
    if not CCTV.is_dir():
        pytest.skip(f"age test vectors not found at {CCTV} (this clone has no ../shared)")
    names = _vector_names()
    skipped = [n for n in names if (ids := _load_vector(n)[1]) and not _supported(ids)]
    assert skipped and all(n.startswith(("hybrid", "armor_hybrid")) for n in skipped)
    for needed in ("x25519", "scrypt", "armor_x25519", "armor_scrypt", "stream_two_chunks"):
        assert needed in names and needed not in skipped


def test_armored_vectors_are_detected_without_being_told():
    if not CCTV.is_dir():
        pytest.skip(f"age test vectors not found at {CCTV} (this clone has no ../shared)")
    for name in ("armor_x25519", "armor_crlf", "armor_whitespace_outside", "armor_scrypt"):
        meta, identities, body = _load_vector(name)
        out = io.BytesIO()
        agetools.decrypt(io.BytesIO(body), out, identities)
        assert hashlib.sha256(out.getvalue()).hexdigest() == meta["payload"]


def test_the_backups_reader_takes_binary_files_only_and_the_armor_stays_in_the_tests():
    """Backups are binary age files; an armored one (`age -a`) is refused by the server's
    reader in Russian, and opens through the tests' armor decoder."""
    identity, recipient = age.generate_identity()
    binary = io.BytesIO()
    age.encrypt(io.BytesIO(b"journal"), binary, [recipient])
    body = base64.b64encode(binary.getvalue())
    armored = b"\n".join([agetools.ARMOR_BEGIN, *(body[i:i + 64] for i in range(0, len(body), 64)),
                          agetools.ARMOR_END, b""])
    with pytest.raises(age.HeaderError) as info:
        age.decrypt(io.BytesIO(armored), io.BytesIO(), [identity])
    assert info.value.message == "Это не зашифрованный файл резервной копии"
    out = io.BytesIO()
    agetools.decrypt(io.BytesIO(armored), out, [identity])
    assert out.getvalue() == b"journal"
    assert not hasattr(age, "ScryptIdentity") and "armor" not in age.AgeReader.__init__.__code__.co_varnames


# --- Keys ---------------------------------------------------------------------------


def test_spec_example_identity_gives_spec_recipient():
    assert age.recipient_from_identity(SPEC_IDENTITY) == SPEC_RECIPIENT
    assert age.parse_identity(SPEC_IDENTITY).secret_string() == SPEC_IDENTITY
    assert age.parse_recipient(SPEC_RECIPIENT) == age.parse_identity(SPEC_IDENTITY)._public


def test_bech32_matches_bip173_examples():
    for valid in ("A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                  "?1ezyfcl"):
        age.bech32_decode(valid)
    for invalid in ("A12uEL5L", "a12uel5m", "li1dgmt3", "A1G7SGD8", "10a06t8", "1qzzfhee",
                    "pzry9x0s0muk", "x1b4n0q5v"):
        with pytest.raises(age.KeyFormatError):
            age.bech32_decode(invalid)
    hrp, data = age.bech32_decode(age.bech32_encode("test", b"\x00\xffhello"))
    assert (hrp, data) == ("test", b"\x00\xffhello")


def test_generated_keys_round_trip_and_hide_the_secret_in_repr():
    identity, recipient = age.generate_identity()
    assert identity.startswith("AGE-SECRET-KEY-1") and recipient.startswith("age1")
    assert age.recipient_from_identity(identity) == recipient
    assert identity not in repr(age.parse_identity(identity))


@pytest.mark.parametrize("bad", [
    SPEC_RECIPIENT,                      # a recipient where an identity is expected
    SPEC_IDENTITY.lower(),               # age identities are upper case
    SPEC_IDENTITY[:-1] + "Q",            # checksum
    SPEC_IDENTITY[:20] + SPEC_IDENTITY[21:],
    "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG",
    "",
])
def test_malformed_identity_is_refused(bad):
    with pytest.raises(age.KeyFormatError) as info:
        age.parse_identity(bad)
    assert not info.value.message.isascii()


@pytest.mark.parametrize("bad", [SPEC_IDENTITY, SPEC_RECIPIENT.upper(), SPEC_RECIPIENT[:-1] + "q",
                                 age.bech32_encode("age", bytes(31))])
def test_malformed_recipient_is_refused(bad):
    with pytest.raises(age.KeyFormatError):
        age.parse_recipient(bad)


def test_identity_file_ignores_comments_and_blank_lines():
    other, _ = age.generate_identity()
    text = f"# created: today\n# public key: {SPEC_RECIPIENT}\n{SPEC_IDENTITY}\r\n\n{other}\n"
    assert [i.recipient for i in age.parse_identities(text)] == [
        SPEC_RECIPIENT, age.recipient_from_identity(other)]
    with pytest.raises(age.KeyFormatError, match="строка 2"):
        age.parse_identities(f"# comment\n{SPEC_IDENTITY} \n")
    with pytest.raises(age.KeyFormatError):
        age.parse_identities("# only a comment\n\n")


# --- Round trips and file-object use ------------------------------------------------


def _encrypt(data: bytes, recipients) -> bytes:
    out = io.BytesIO()
    age.encrypt(io.BytesIO(data), out, recipients)
    return out.getvalue()


def _decrypt(blob: bytes, identities, decrypt=age.decrypt) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(blob), out, identities)
    return out.getvalue()


@pytest.mark.parametrize("size", SIZES)
def test_backup_round_trips_for_each_of_two_keys(size):
    data = os.urandom(size)
    (id1, rec1), (id2, rec2) = age.generate_identity(), age.generate_identity()
    blob = _encrypt(data, [rec1, rec2])
    assert _decrypt(blob, [id1]) == data
    assert _decrypt(blob, [id2]) == data
    chunks = max(1, -(-size // CHUNK))
    assert len(blob) - blob.index(b"\n---") - 49 - 16 == size + 16 * chunks


def test_wrong_key_is_refused_with_russian_message():
    _, recipient = age.generate_identity()
    blob = _encrypt(b"grades", [recipient])
    with pytest.raises(age.NoIdentityMatch) as info:
        _decrypt(blob, [age.generate_identity()[0]])
    assert info.value.message == "Ключ не подходит к этому файлу резервной копии"
    assert str(info.value).startswith("Ключ не подходит")


def test_tar_streams_through_writer_and_reader(tmp_path):
    identity, recipient = age.generate_identity()
    files = {"db.sqlite3": os.urandom(200_000), "keys/school.txt": b"\xd0\xba" * 1000}
    blob = io.BytesIO()
    with age.AgeWriter(blob, [recipient]) as writer:
        with tarfile.open(fileobj=writer, mode="w|gz") as tar:
            for name, content in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    blob.seek(0)
    reader = age.AgeReader(blob, [identity])
    with reader, tarfile.open(fileobj=reader, mode="r|*") as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar}
    assert got == files


def test_gzip_and_lzma_stream_through_writer_and_reader():
    identity, recipient = age.generate_identity()
    data = os.urandom(50_000) * 7
    for opener in (lambda f, m: gzip.GzipFile(fileobj=f, mode=m), lzma.LZMAFile):
        blob = io.BytesIO()
        with age.AgeWriter(blob, [recipient]) as writer, opener(writer, "wb") as packed:
            packed.write(data)
        blob.seek(0)
        with age.AgeReader(blob, [identity]) as reader, opener(reader, "rb") as packed:
            assert packed.read() == data


def test_backup_interrupted_by_an_error_cannot_be_restored():
    identity, recipient = age.generate_identity()
    blob = io.BytesIO()
    with pytest.raises(RuntimeError):
        with age.AgeWriter(blob, [recipient]) as writer:
            writer.write(b"half of the database")
            raise RuntimeError("disk full")
    with pytest.raises(age.PayloadError):
        _decrypt(blob.getvalue(), [identity])


# --- Tampering ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed():
    identity, recipient = age.generate_identity()
    data = os.urandom(2 * CHUNK + 500)
    blob = _encrypt(data, [recipient])
    header_end = blob.index(b"\n---") + len(b"\n--- ") + 43 + 1
    return identity, data, blob, header_end


def test_any_changed_header_byte_is_refused(sealed):
    identity, _, blob, header_end = sealed
    for pos in range(header_end):
        tampered = bytearray(blob)
        tampered[pos] ^= 0x01
        with pytest.raises((age.HeaderError, age.NoIdentityMatch)):
            _decrypt(bytes(tampered), [identity])


def test_changed_mac_is_reported_as_mac_failure(sealed):
    identity, _, blob, header_end = sealed
    tampered = bytearray(blob)
    pos = header_end - 44  # first character of the base64 MAC
    tampered[pos] = ord("A") if tampered[pos] != ord("A") else ord("B")
    with pytest.raises(age.HeaderMACError):
        _decrypt(bytes(tampered), [identity])


def test_changed_payload_byte_is_refused(sealed):
    identity, data, blob, header_end = sealed
    for pos in (header_end, header_end + 16, header_end + 16 + CHUNK + 5, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[pos] ^= 0x80
        with pytest.raises(age.PayloadError):
            _decrypt(bytes(tampered), [identity])


def test_truncated_or_extended_backup_is_refused(sealed):
    identity, data, blob, header_end = sealed
    first_chunk_end = header_end + 16 + CHUNK + 16
    for cut in (10, header_end - 1, header_end + 8, first_chunk_end, first_chunk_end + 100,
                len(blob) - 1):
        with pytest.raises((age.HeaderError, age.PayloadError)):
            _decrypt(blob[:cut], [identity])
    with pytest.raises(age.PayloadError):
        _decrypt(blob + b"\x00", [identity])


def test_reader_releases_authenticated_data_then_reports_truncation(sealed):
    identity, data, blob, header_end = sealed
    cut = header_end + 16 + 2 * (CHUNK + 16)  # drop the final chunk entirely
    reader = age.AgeReader(io.BytesIO(blob[:cut]), [identity])
    assert reader.read(3 * CHUNK) == data[: 2 * CHUNK]
    with pytest.raises(age.PayloadError):
        reader.read(1)


# --- Interop with the age command-line tool -----------------------------------------


@needs_age
@pytest.mark.parametrize("size", SIZES)
def test_age_tool_decrypts_our_backups_with_either_key(tmp_path, size):
    data = os.urandom(size)
    keys = [age.generate_identity() for _ in range(2)]
    (tmp_path / "backup.age").write_bytes(_encrypt(data, [r for _, r in keys]))
    for n, (identity, _) in enumerate(keys):
        keyfile = tmp_path / f"key{n}.txt"
        keyfile.write_text(f"# our key\n{identity}\n")
        result = subprocess.run([AGE, "-d", "-i", str(keyfile), str(tmp_path / "backup.age")],
                                capture_output=True, check=True)
        assert result.stdout == data


@needs_age
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_we_restore_files_the_age_tool_encrypted(tmp_path, size, armor):
    data = os.urandom(size)
    keys = [age.generate_identity() for _ in range(2)]
    (tmp_path / "plain").write_bytes(data)
    args = [AGE, *(["-a"] if armor else []), "-r", keys[0][1], "-r", keys[1][1],
            "-o", str(tmp_path / "plain.age"), str(tmp_path / "plain")]
    subprocess.run(args, check=True)
    blob = (tmp_path / "plain.age").read_bytes()
    for identity, _ in keys:
        assert _decrypt(blob, [identity], agetools.decrypt if armor else age.decrypt) == data


@needs_age
@pytest.mark.skipif(AGE_KEYGEN is None, reason="age-keygen is not installed")
def test_key_file_from_age_keygen_works_both_ways(tmp_path):
    keyfile = tmp_path / "key.txt"
    subprocess.run([AGE_KEYGEN, "-o", str(keyfile)], check=True, capture_output=True)
    [identity] = age.load_identities(keyfile)
    tool_recipient = subprocess.run([AGE_KEYGEN, "-y", str(keyfile)], check=True,
                                    capture_output=True, text=True).stdout.strip()
    assert identity.recipient == tool_recipient
    (tmp_path / "b.age").write_bytes(_encrypt(b"journal", [tool_recipient]))
    result = subprocess.run([AGE, "-d", "-i", str(keyfile), str(tmp_path / "b.age")],
                            check=True, capture_output=True)
    assert result.stdout == b"journal"


def _age_encrypt_with_passphrase(src: Path, dst: Path, passphrase: str) -> None:
    # age reads passphrases only from a terminal, so give it a pseudo-terminal.
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child process
        os.execv(AGE, [AGE, "-p", "-o", str(dst), str(src)])
    output, answered = b"", 0
    try:
        while select.select([fd], [], [], 30)[0]:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            while answered < 2 and output.count(b"passphrase") > answered:
                os.write(fd, passphrase.encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert status == 0, output


@needs_age
def test_we_restore_passphrase_file_from_age_tool(tmp_path):
    (tmp_path / "plain").write_bytes(b"report card")
    _age_encrypt_with_passphrase(tmp_path / "plain", tmp_path / "plain.age", "верный пароль")
    blob = (tmp_path / "plain.age").read_bytes()
    assert _decrypt(blob, [agetools.ScryptIdentity("верный пароль")]) == b"report card"
    with pytest.raises(age.NoIdentityMatch):
        _decrypt(blob, [agetools.ScryptIdentity("неверный пароль")])


# --- Memory -------------------------------------------------------------------------


class _RandomSource(io.RawIOBase):
    """Produces `size` random bytes on the fly and hashes what it handed out."""

    def __init__(self, size: int):
        self.left, self.sha = size, hashlib.sha256()

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        data = os.urandom(n)
        buffer[:n] = data
        self.sha.update(data)
        self.left -= n
        return n


class _HashSink(io.RawIOBase):
    def __init__(self):
        self.sha = hashlib.sha256()

    def writable(self):
        return True

    def write(self, data):
        self.sha.update(data)
        return len(data)


def test_large_backup_streams_in_flat_memory(tmp_path):
    identity, recipient = age.generate_identity()
    source, sink = _RandomSource(64 * 1024 * 1024), _HashSink()
    tracemalloc.start()
    try:
        with open(tmp_path / "big.age", "wb") as f:
            age.encrypt(source, f, [recipient])
        with open(tmp_path / "big.age", "rb") as f:
            age.decrypt(f, sink, [identity])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.sha.digest() == source.sha.digest()
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"
