"""Keep a long-running process's memory level: the C allocator's settings and handing freed memory back.

A tagging job or a service analyses chunk after chunk of answers; each chunk allocates token states, tokenizer
output and intermediate arrays of a few hundred kilobytes to some megabytes, then frees them. With glibc's
defaults two things make the resident size creep up although nothing is kept:

* the threshold above which a block gets its own memory mapping (returned to the system when freed) rises to the
  largest block freed so far, so after the first chunks the big arrays come from the heap, and the heap keeps
  freed pages unless its very top is free;
* every thread that allocates may get an arena of its own (8 per core), each with its own freed pages.

:func:`tune` fixes the mapping threshold at 1 MiB and the trim threshold at 4 MiB (the dynamic adjustment off)
and caps arenas at 2; :func:`release` asks glibc to hand every freed page back (``malloc_trim``), which a
tagging job calls after each chunk. Both do nothing on other C libraries (macOS, musl) and where the caller set
the same thing through glibc's environment variables (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_ARENA_MAX``): an operator's choice wins. ``NPS_ALLOCATOR=default`` leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import lru_cache
from typing import Any

__all__ = ["release", "tune"]

# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

#: (parameter, value, the environment variable through which an operator sets it instead)
_TUNING = ((_M_MMAP_THRESHOLD, 1 << 20, "MALLOC_MMAP_THRESHOLD_"),
           (_M_TRIM_THRESHOLD, 4 << 20, "MALLOC_TRIM_THRESHOLD_"),
           (_M_ARENA_MAX, 2, "MALLOC_ARENA_MAX"))

_tuned: dict[str, Any] = {}


@lru_cache(maxsize=1)
def _glibc() -> Any:
    """The process's glibc (``None`` elsewhere, or when it cannot be loaded)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
        return libc
    except (OSError, AttributeError):
        return None


def _enabled() -> bool:
    from nps_nlp._settings import get_settings

    return get_settings().allocator == "tuned"


def tune() -> dict[str, int]:
    """Set the allocator's thresholds and arena cap for a long-running job (once per process; best called before
    the encoder's threads start). Returns what was set (empty when nothing was: not glibc, or ``NPS_ALLOCATOR`` is
    ``default``)."""
    if _tuned or not _enabled():
        return dict(_tuned)
    libc = _glibc()
    if libc is None:
        return {}
    for param, value, env in _TUNING:
        if env not in os.environ and libc.mallopt(param, value) == 1:
            _tuned[env] = value
    return dict(_tuned)


def release() -> bool:
    """Hand the allocator's free pages back to the system (glibc's ``malloc_trim``). Returns whether any was."""
    libc = _glibc() if _enabled() else None
    return bool(libc.malloc_trim(0)) if libc is not None else False
