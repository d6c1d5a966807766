"""Russian alphabetical order for names: the `RU` collation and `key` for Python's sorted().

SQLite's own order is by code points: «Ё» (U+0401) comes before «А», «ё» (U+0451) after «я»,
and capitals before small letters. Russian dictionaries and every school list put Ё with Е
(«Ежов, Ёжиков, Ершов»: ё counts as е, and only when two names differ in nothing else does
е come first) and ignore case. That is the order here, on every connection of the program
(`register`, called where a connection is opened: server/db.py and the read-only ones of
health, TLS and updates) and in `ORDER BY p.last_name COLLATE RU, …` wherever names are
listed (journal numbering, slips, recipient lists, reports). Latin letters and digits keep
their code-point order among themselves."""

from __future__ import annotations

import sqlite3
from functools import lru_cache

NAME = "RU"


@lru_cache(maxsize=65536)
def key(text: str | None) -> tuple[str, str, str]:
    """What `text` sorts by: ё as е and case ignored first; then е before ё; then the text itself."""
    text = text or ""
    lower = text.lower()
    return lower.replace("ё", "е"), lower, text


def compare(a: str | None, b: str | None) -> int:
    ka, kb = key(a), key(b)
    return (ka > kb) - (ka < kb)


def register(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Teach `conn` the `RU` collation (a query that names it fails on a connection without it)."""
    conn.create_collation(NAME, compare)
    return conn
