"""Logins for new people: Latin transliteration of the surname plus initials (ivanova.ap)."""

from __future__ import annotations

import sqlite3

# Close to the passport rules (ГОСТ 52535.1-2006 / МВД), simplified: only [a-z].
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "iu", "я": "ia",
}


def translit(text: str) -> str:
    out = "".join(_TRANSLIT.get(ch, ch if ch.isascii() and ch.isalnum() else "") for ch in text.lower())
    return out


def login_base(last_name: str, first_name: str, middle_name: str = "") -> str:
    initials = "".join(translit(p)[:1] for p in (first_name, middle_name) if p)
    base = translit(last_name)[:20] or "user"
    return f"{base}.{initials}" if initials else base


def free_login(conn: sqlite3.Connection, last_name: str, first_name: str, middle_name: str = "") -> str:
    """A login not yet taken: ivanova.ap, then ivanova.ap2, ivanova.ap3 …"""
    base = login_base(last_name, first_name, middle_name)
    rows = conn.execute(
        "SELECT login FROM account WHERE login = ? OR login LIKE ? ESCAPE '\\'",
        (base, base.replace("_", "\\_").replace("%", "\\%") + "%"),
    ).fetchall()
    taken = {r[0].lower() for r in rows}
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"
