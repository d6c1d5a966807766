"""Homework files (§3.2.6): kept under DATA/files/ with random names, never a name taken
from the client; served only to the journal's readers (and to the families, by the diary)."""

from __future__ import annotations

import secrets
from pathlib import Path

MAX_HOMEWORK_FILE = 10 * 1024 * 1024
UPLOAD_LIMIT = MAX_HOMEWORK_FILE + 100_000   # the request body: the file and the form around it
TOO_LARGE = f"Файл больше {MAX_HOMEWORK_FILE // 1024 // 1024} МБ."
# Over the request limit (413): the same, with what to do.
TOO_LARGE_UPLOAD = (f"Файл домашнего задания больше {MAX_HOMEWORK_FILE // 1024 // 1024} МБ: уменьшите его (например, "
                    "сохраните как PDF или сожмите фотографии) и приложите снова.")


def store_homework_file(data_dir: Path, name: str, data: bytes) -> tuple[str, str, int]:
    """Keep an uploaded file; → (shown name, path under DATA, size). The shown name is cleaned."""
    folder = Path(data_dir) / "files"
    folder.mkdir(parents=True, exist_ok=True)
    shown = Path(name.replace("\\", "/")).name.strip()[:120] or "файл"
    rel = f"files/{secrets.token_hex(12)}"
    (Path(data_dir) / rel).write_bytes(data)
    return shown, rel, len(data)


def discard(data_dir: Path, stored: tuple[str, str, int] | None) -> None:
    """A file stored for a write that was refused is not kept."""
    if stored:
        Path(data_dir, stored[1]).unlink(missing_ok=True)
