"""Page conversion and the kernel's transparent huge pages (THP): turned off for the process.

A fetch converts ~10 MB pages one after another, several at once when it is concurrent. Each page
allocates and frees buffers of that size: the VALUE lines, the parsed columns, the batch. Arrow's
allocator in pyarrow's wheels (mimalloc 3) asks the kernel for transparent huge pages on its arena
(``MADV_HUGEPAGE``) and hands freed memory back after a short delay. The next page then faults the
same memory in again, and every fault zeroes a whole 2 MiB page, however little of it is used.

- In ``perf``, zeroing huge pages was about a fifth of a concurrent fetch's CPU.
- On a virtual machine whose host is short of memory, each fresh huge page also costs the host; that
  shows as steal time. On the Firecracker VM where the benchmarks run, the same concurrent fetch then
  took up to 50 % longer.
- Turned off for the process, the pages are faulted in 4 KiB at a time, as they are used.

This is what mimalloc's own ``MIMALLOC_ALLOW_THP=0`` does. That variable only works in the
environment before pyarrow loads, so the engine does the same here, once, with ``prctl``
(``PR_SET_THP_DISABLE``). Other allocators in the process (Python's, DuckDB's) and child processes get
the same setting. Nothing else changes: where the kernel has no THP, or on a system other than Linux,
this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading

log = logging.getLogger(__name__)

#: <linux/prctl.h>
PR_SET_THP_DISABLE = 41
PR_GET_THP_DISABLE = 42

_lock = threading.Lock()
_state: bool | None = None  # None: not tried yet; else whether THP is off for this process


def transparent_huge_pages_disabled() -> bool:
    """Whether THP is off for this process (``prctl(PR_GET_THP_DISABLE)``); False where it cannot be asked."""
    result = _prctl(PR_GET_THP_DISABLE, 0)
    return result == 1


def disable_transparent_huge_pages() -> bool:
    """Turn THP off for this process, once (later calls return the first outcome). True when it is off.
    Never raises: a system without ``prctl``, or one that refuses it, keeps its pages as they are."""
    global _state
    if _state is not None:
        return _state
    with _lock:
        if _state is None:
            _state = _prctl(PR_SET_THP_DISABLE, 1) == 0 and transparent_huge_pages_disabled()
            log.debug("transparent huge pages off for this process: %s", _state)
    return _state


def _prctl(option: int, argument: int) -> int | None:
    """``prctl(option, argument, 0, 0, 0)`` from the C library, or None where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return int(prctl(option, argument, 0, 0, 0))
