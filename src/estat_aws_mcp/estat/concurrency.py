"""A process-wide bound on in-flight e-Stat requests that works across event loops.

``asyncio.Semaphore`` belongs to the loop it was first used on, but the Lambda in-process handler
runs every invocation under a fresh ``anyio.run`` (a new loop each time), and tests or threads may
run several loops at once. :class:`ProcessLimiter` keeps its count under a ``threading.Lock`` and
wakes waiters on their own loop with ``call_soon_threadsafe``, so one instance bounds the whole
process whatever loop a caller runs on. Waiters are served first come, first served.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ProcessLimiter:
    """At most ``limit`` holders at a time across all threads and event loops of the process."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._in_use = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_use(self) -> int:
        return self._in_use

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._in_use < self.limit and not self._waiters:
                self._in_use += 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (loop, waiter)
            self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            with self._lock:
                try:
                    self._waiters.remove(entry)
                    granted = False
                except ValueError:
                    granted = True  # release() already handed us the slot: pass it on
            if granted:
                self.release()
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                try:
                    # The slot moves to the waiter (in_use unchanged); it runs on its own loop.
                    loop.call_soon_threadsafe(_grant, waiter)
                except RuntimeError:
                    continue  # that loop is closed: its waiter is gone
                return
            if self._in_use <= 0:
                raise RuntimeError("ProcessLimiter released more times than acquired")
            self._in_use -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


def _grant(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
    # A waiter cancelled after being popped releases the slot itself (see acquire()).


_limiters: dict[int, ProcessLimiter] = {}
_limiters_lock = threading.Lock()


def process_limiter(limit: int) -> ProcessLimiter:
    """The limiter shared by every client of the process configured with ``limit``."""
    with _limiters_lock:
        limiter = _limiters.get(limit)
        if limiter is None:
            limiter = _limiters[limit] = ProcessLimiter(limit)
        return limiter
