"""The invocation's deadline: set once by whoever knows it, read by every part that must stop in time.

The Lambda handler knows when the runtime will kill the invocation
(``context.get_remaining_time_in_millis()``) and enters :func:`invocation_deadline` once per
invocation. Inside that block every consumer reads the same value:

- the SQL engines (:func:`estat_aws_mcp.sql.query_deadline`) stop and cancel a query before it;
- ``run_aws_cli`` (:mod:`estat_aws_mcp.awscli.service`) stops issuing AWS requests before it;
- the e-Stat client (:mod:`estat_aws_mcp.estat.client`) bounds its attempts and retries by it;
- the Lambda dispatchers (in-process and stdio) give up on a request, or refuse to start one,
  before it; a stdio child inherits it through :data:`CHILD_DEADLINE_ENV`.

Each consumer keeps its own reserve (the time it needs after stopping to answer) and asks
:func:`time_left` or :func:`stop_by`. Outside any block there is no deadline (``None``): local
servers and tests are bounded only by the consumers' own timeouts.

The value lives in a :class:`~contextvars.ContextVar`, so it reaches tasks and worker threads
started inside the block (``asyncio`` tasks and ``anyio.to_thread`` copy the context) and never
leaks into another invocation.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

#: Internal: the Lambda parent hands its deadline to a stdio dispatch child as a wall-clock epoch
#: time (``time.time()``), because monotonic clocks are not comparable across processes in general.
CHILD_DEADLINE_ENV = "ESTAT_MCP_INVOCATION_DEADLINE_EPOCH"

# time.monotonic() value at which the current invocation ends; None when nobody set one.
_deadline: ContextVar[float | None] = ContextVar("estat_aws_mcp_invocation_deadline", default=None)


@contextlib.contextmanager
def invocation_deadline(remaining_s: float | None) -> Iterator[float | None]:
    """Within the block, the invocation ends ``remaining_s`` seconds from now (``None``: no deadline).

    Yields the absolute :func:`time.monotonic` deadline (or ``None``).
    """
    if remaining_s is None:
        token = _deadline.set(None)
    else:
        token = _deadline.set(time.monotonic() + max(0.0, float(remaining_s)))
    try:
        yield _deadline.get()
    finally:
        _deadline.reset(token)


def current_deadline() -> float | None:
    """The invocation's absolute :func:`time.monotonic` deadline, or ``None`` when there is none."""
    return _deadline.get()


def time_left(reserve_s: float = 0.0) -> float | None:
    """Seconds until the deadline less ``reserve_s`` (may be negative), or ``None`` without a deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return deadline - reserve_s - time.monotonic()


def stop_by(budget_s: float, *, reserve_s: float = 0.0, minimum_s: float = 0.0, deadline: float | None = None) -> float:
    """The :func:`time.monotonic` time a piece of work must stop by.

    The earliest of: ``budget_s`` from now (the work's own timeout), an explicit ``deadline`` from
    the caller, and the invocation's deadline less ``reserve_s``; never less than ``minimum_s``
    from now.
    """
    now = time.monotonic()
    finish = now + budget_s
    if deadline is not None:
        finish = min(finish, deadline)
    invocation = _deadline.get()
    if invocation is not None:
        finish = min(finish, invocation - reserve_s)
    return max(finish, now + minimum_s)


def child_environment_entry() -> dict[str, str]:
    """``{CHILD_DEADLINE_ENV: epoch}`` for a child process serving this invocation, or ``{}``."""
    left = time_left()
    if left is None:
        return {}
    return {CHILD_DEADLINE_ENV: f"{time.time() + left:.3f}"}


def remaining_from_environment(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds left according to :data:`CHILD_DEADLINE_ENV` (a stdio dispatch child), else ``None``."""
    raw = (os.environ if environ is None else environ).get(CHILD_DEADLINE_ENV)
    if not raw:
        return None
    try:
        return max(0.0, float(raw) - time.time())
    except ValueError:
        return None
