"""Giving a finished run's memory back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018  # glibc only (not musl, not macOS)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def release_memory() -> bool:
    """Return the heap's free pages to the OS (glibc's ``malloc_trim(0)``); False where there is no glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
