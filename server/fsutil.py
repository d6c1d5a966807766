"""Files that must survive a power cut: written whole under a temporary name, flushed,
renamed into place, and the folder flushed so the rename itself is on disk."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path | str) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk.

    Some file systems (vfat or exFAT on a USB stick) refuse to fsync a folder: nothing more
    can be done there, so that is not an error."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path | str, data: str | bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that after a crash it holds the old or the new content,
    never a mix. The temporary file is created with `mode` (children's data: 0600 unless
    said otherwise), so the content is never readable by others even for a moment."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # an earlier leftover .tmp kept its own mode through O_TRUNC
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
