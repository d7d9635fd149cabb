"""Fewer malloc arenas for a process that serves from many threads.

glibc gives each thread that meets a busy arena another one, up to 8 per core, and memory freed in one
arena is not reused by the others: with 40 request threads and SQLite's per-connection caches, a
`promojobs serve` on SQLite grew by ~1 MiB a minute for ten minutes and more (docs/reliability.md). Two
arenas keep it flat. Must run before any thread starts; it does nothing where malloc is not glibc's or
when the operator chose with MALLOC_ARENA_MAX.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas() -> bool:
    """Return True when the limit was set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, ARENAS))
    except (OSError, AttributeError):  # not glibc
        return False
