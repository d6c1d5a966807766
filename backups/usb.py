"""Where the USB copy goes: a folder the admin configured, or a drive mounted with a label.

A labelled drive is looked for where desktops and admins mount drives (/media/USER/LABEL,
/media/LABEL, /run/media/USER/LABEL, /mnt/LABEL) and through /dev/disk/by-label and
/proc/mounts. Only a real mount point counts: an empty /mnt/LABEL left behind after the
stick was pulled is a folder on the SD card, and a "USB copy" there would be a lie.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

SUBFOLDER = "zhurnal-backups"
MEDIA_PATTERNS = ["/media/*/{label}", "/media/{label}", "/run/media/*/{label}", "/mnt/{label}"]
BY_LABEL = "/dev/disk/by-label"
MOUNTS = "/proc/mounts"


def _unescape_mount(path: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def find_labeled_volume(label: str, patterns: list[str] | None = None, by_label: str = BY_LABEL,
                        mounts: str = MOUNTS, require_mount: bool = True) -> Path | None:
    """The mount point of the drive called `label`, or None if it is not mounted."""
    if not label or "/" in label or label in (".", ".."):
        return None
    for pattern in patterns if patterns is not None else MEDIA_PATTERNS:
        for candidate in sorted(glob.glob(pattern.format(label=glob.escape(label)))):
            if os.path.isdir(candidate) and (not require_mount or os.path.ismount(candidate)):
                return Path(candidate)
    device = Path(by_label) / label
    if device.exists():
        real = os.path.realpath(device)
        try:
            with open(mounts, encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 2 and os.path.realpath(_unescape_mount(parts[0])) == real:
                        return Path(_unescape_mount(parts[1]))
        except OSError:
            return None
    return None
