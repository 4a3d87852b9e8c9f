"""Memory in the long-lived processes (the language server and its worker): when the
cyclic garbage collector runs, and giving freed memory back.

An analysis allocates a parse tree and its facts, tens of thousands of objects, and
frees them by reference counting alone: it makes no reference cycle (a test checks
that a finished analysis leaves nothing for ``gc.collect()``). Yet those allocations
trigger collections, and an older-generation one traverses every object the process
holds: pygls, lsprotocol's types, the engine's tables. So:

- ``freeze_long_lived()`` moves what the process holds once it is warmed up out of
  the collector's sight (``gc.freeze``);
- ``without_cyclic_gc()`` keeps the collector off while an analysis runs (the other
  threads allocate little meanwhile; the collector is on again when the last
  analysis under way ends).

Measured in the server on a 300-line file (``benchmarks/bench_lsp.py``), CPU per
analysis 8.7 ms with the collector as it was, 6.4 ms with both.

The worker also gives the C heap's free pages back after each reply
(``release_free_memory``, glibc's ``malloc_trim``): the large blocks of an analysis
(lists of lines, big dicts) are freed but stay mapped otherwise. About 1 ms, off the
critical path; on trainer.py it returns about 3 MB.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

_lock = threading.Lock()
_under_way = 0          # analyses running with the collector off
_was_enabled = False    # whether the collector was on before the first of them


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """No cyclic collection while the body runs (nestable, from any thread)."""
    global _under_way, _was_enabled
    with _lock:
        if _under_way == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _under_way += 1
    try:
        yield
    finally:
        with _lock:
            _under_way -= 1
            if _under_way == 0 and _was_enabled:
                gc.enable()


def freeze_long_lived() -> None:
    """Collect what is garbage now, then exempt every object still alive from later
    collections (modules, tables, the server's own objects: they live as long as the
    process)."""
    gc.collect()
    gc.freeze()


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim  # glibc only
    except Exception:  # another C library (musl, macOS, Windows): nothing to call
        return None
    return trim


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system, where the C library can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
