"""The server process's memory: its budget is 100 MB on a Raspberry Pi (bench/run.py journal
prints rss_peak_mb). Two measures taken at start-up by `zhurnal serve`."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
BIG_BLOCK = 1024 * 1024


def return_big_blocks_to_the_os() -> bool:
    """Blocks of 1 MiB and more get their own mapping, given back to the system when freed.

    Argon2 takes 7 MiB per login. glibc's default threshold moves up after the first such
    block is freed, and later blocks then come from the heap of whichever worker thread ran
    the login: each of those heaps kept its 7 MiB for good (20 logins at once raised the
    server from 83 to 103 MB and it stayed there). A fixed threshold stops that.
    Returns False where there is no glibc (nothing else to do there)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, BIG_BLOCK))
    except (OSError, AttributeError):
        return False


def settle_memory() -> None:
    """Move everything built at start-up (Litestar's routes and schemas, compiled templates,
    the modules: ~65,000 objects) out of the garbage collector's sight.

    Otherwise every full collection walks them all: on a 2-core VM that is 15–40 ms, and it
    fell inside every twentieth journal page (grid p95 46 ms against p50 7 ms; with this,
    p95 under 10 ms). These objects live as long as the process; `gc.unfreeze()` at
    shutdown gives them back to the collector (release_memory)."""
    gc.collect()
    gc.freeze()


def release_memory() -> None:
    """At shutdown: what settle_memory froze is the collector's again (tests make many apps)."""
    gc.unfreeze()
