"""Password hashing with Argon2id at the OWASP-recommended cost, and the password rules."""

from __future__ import annotations

import secrets

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1. Kept modest so a
# Raspberry Pi can take a class of parents logging in at once at a kiosk.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MIN_LENGTH = 8
MAX_LENGTH = 128
# One-time passwords: no look-alike characters, easy to type from a printed slip.
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Each Argon2 computation holds 19 MiB: a class of parents logging in at once must not
# take 40 threads × 19 MiB. Two at a time keep the server near its memory budget on a Pi.
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
