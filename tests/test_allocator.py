"""The allocator settings of long jobs (nps_nlp.allocator): what is set, what an operator's choice keeps, and that
freed pages really go back to the system. Each case runs in a fresh process: the settings are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from nps_nlp import allocator

pytestmark = pytest.mark.skipif(allocator._glibc() is None, reason="glibc's allocator only")

PROBE = textwrap.dedent("""
    import ctypes, json, psutil
    from nps_nlp import allocator
    process = psutil.Process()
    mb = lambda: process.memory_info().rss / 2**20
    tuned = allocator.tune()
    again = allocator.tune()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    base = mb()
    blocks = [libc.malloc(4000) for _ in range(40000)]  # 160 MB of heap in small blocks
    for block in blocks:
        ctypes.memset(block, 1, 4000)
    for block in blocks[:-1]:  # the last one stays: the heap's top is not free, so free() alone keeps every page
        libc.free(block)
    held = mb() - base
    released = allocator.release()
    print(json.dumps({"tuned": tuned, "again": again, "held": held, "released": released, "after": mb() - base}))
""")


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "NPS_ALLOCATOR"}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_tuned_caps_the_arenas_and_gives_freed_heap_pages_back() -> None:
    got = _probe()
    assert got["tuned"] == {"MALLOC_ARENA_MAX": 2}
    assert got["again"] == got["tuned"]  # once per process
    assert got["held"] > 100  # free() kept the pages
    assert got["released"] is True and got["after"] < 20  # release() handed them back


def test_an_operators_malloc_variable_wins() -> None:
    got = _probe(MALLOC_ARENA_MAX="4")
    assert got["tuned"] == {} and got["released"] is True


def test_allocator_default_leaves_everything_alone() -> None:
    got = _probe(NPS_ALLOCATOR="default")
    assert got["tuned"] == {} and got["released"] is False
    assert got["after"] > 100  # nothing was handed back

