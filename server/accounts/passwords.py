"""Password hashing with Argon2id at the OWASP-recommended cost, and the password rules."""

from __future__ import annotations

import secrets

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: Argon2id with one of its equivalent settings —
# m=7 MiB, t=5, p=1 (the list gives m=19 MiB t=2 … m=7 MiB t=5 as the same strength). The
# low-memory one: the server's budget is 100 MB on a Pi, and two logins at once held
# 2 × 19 MiB of it (bench/run.py journal: peak 105 MB with 19 MiB, under 90 MB with 7 MiB);
# on x86 and a Pi it is also the faster of the two (~18 ms against ~36 ms here).
# Hashes made with other settings still verify; login re-hashes them (needs_rehash).
_hasher = PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1)

MIN_LENGTH = 8
MAX_LENGTH = 128
# One-time passwords: no look-alike characters, easy to type from a printed slip.
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """True for a hash made with other Argon2 settings than ours (an older version's)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Each Argon2 computation holds its memory (7 MiB; 19 MiB for hashes of older versions): a
# class of parents logging in at once must not take 40 threads' worth. Two at a time keep
# the server within its memory budget on a Pi.
_ARGON2_SLOTS: anyio.CapacityLimiter | None = None


def _slots() -> anyio.CapacityLimiter:
    global _ARGON2_SLOTS
    if _ARGON2_SLOTS is None:
        _ARGON2_SLOTS = anyio.CapacityLimiter(2)
    return _ARGON2_SLOTS


async def hash_password_async(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password, limiter=_slots())


async def verify_password_async(password_hash: str, password: str) -> bool:
    # Argon2 takes tens of milliseconds: keep it off the event loop.
    return await anyio.to_thread.run_sync(verify_password, password_hash, password, limiter=_slots())


# A fixed hash to verify against when the login is unknown, so that an unknown login
# takes as long as a wrong password and logins cannot be discovered by timing.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


async def burn_time() -> None:
    await verify_password_async(_DUMMY_HASH, "x")


def one_time_password(length: int = 10) -> str:
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(length))


def password_problem(password: str, login: str = "") -> str | None:
    """Why `password` may not be chosen, in Russian, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Пароль должен быть не короче {MIN_LENGTH} символов."
    if len(password) > MAX_LENGTH:
        return f"Пароль должен быть не длиннее {MAX_LENGTH} символов."
    if login and password.lower() == login.lower():
        return "Пароль не должен совпадать с логином."
    if password.isdigit() and len(set(password)) <= 2:
        return "Пароль слишком простой."
    return None
