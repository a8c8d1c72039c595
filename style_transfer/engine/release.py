"""Giving a finished run's memory back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018  # glibc only (not musl, not macOS)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


_LIBC = _load_libc()  # at import: a run closed while the interpreter shuts down can no longer look it up


def release_memory() -> bool:
    """Return the heap's free pages to the OS (glibc's ``malloc_trim(0)``); False where there is no glibc."""
    if _LIBC is None:
        return False
    _LIBC.malloc_trim(0)
    return True
