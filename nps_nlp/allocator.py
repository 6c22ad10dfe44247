"""Keep a long-running process's memory level: the C allocator's arenas and handing freed memory back.

A tagging job or a service analyses chunk after chunk of answers; each chunk allocates token states, tokenizer
output and intermediate arrays, then frees them. glibc keeps freed heap pages unless the very top of the heap is
free, and every thread that allocates may get an arena of its own (up to 8 per core), each keeping its own freed
pages: the resident size creeps up although nothing is kept.

:func:`tune` caps the arenas at 2 and :func:`release` asks glibc to hand every freed page back (``malloc_trim``),
which a tagging job does after each chunk and the service after each heap freeze. glibc's thresholds stay
dynamic: a fixed 1 MiB mapping threshold would return the large per-layer arrays at once as well (about 90 MB
less at the peak of a 10k-row job), but every such array would then be a fresh mapping whose pages the kernel
zeroes, and tagging ran 20-30% slower. Both do nothing on other C libraries (macOS, musl) and where the operator set
``MALLOC_ARENA_MAX``, whose value wins. ``NPS_ALLOCATOR=default`` leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import lru_cache
from typing import Any

__all__ = ["release", "tune"]

_M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h); an operator sets it with MALLOC_ARENA_MAX instead
ARENAS = 2

_tuned: dict[str, int] = {}


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
    """Cap the allocator's arenas for a long-running job (once per process; best called before the encoder's threads
    start). Returns what was set (empty when nothing was: not glibc, ``NPS_ALLOCATOR`` is ``default``, or the
    operator set ``MALLOC_ARENA_MAX``)."""
    if _tuned or not _enabled():
        return dict(_tuned)
    libc = _glibc()
    if libc is None:
        return {}
    if "MALLOC_ARENA_MAX" not in os.environ and libc.mallopt(_M_ARENA_MAX, ARENAS) == 1:
        _tuned["MALLOC_ARENA_MAX"] = ARENAS
    return dict(_tuned)


def release() -> bool:
    """Hand the allocator's free pages back to the system (glibc's ``malloc_trim``). Returns whether any was."""
    libc = _glibc() if _enabled() else None
    return bool(libc.malloc_trim(0)) if libc is not None else False
