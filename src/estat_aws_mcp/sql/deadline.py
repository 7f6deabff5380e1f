"""How long a query may run: the configured timeout, capped by the invocation's remaining time.

A Lambda invocation that outlives its timeout is killed without a response, and an Athena query
left running keeps costing money. The Lambda handler therefore records the invocation's deadline
(:func:`invocation_deadline_from_lambda_context`); engines then stop (and cancel) their query a
safety margin before it, and report that they did.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

#: Seconds kept in reserve before the invocation deadline to cancel the query and answer.
SAFETY_MARGIN_S = 3.0
#: The shortest time a query is given even when the invocation is nearly over.
MIN_QUERY_S = 1.0

# time.monotonic() value at which the current invocation ends; None outside Lambda.
_invocation_deadline: ContextVar[float | None] = ContextVar("estat_mcp_invocation_deadline", default=None)


@contextlib.contextmanager
def invocation_deadline(remaining_s: float) -> Iterator[None]:
    """Within this block, queries finish ``SAFETY_MARGIN_S`` before ``remaining_s`` from now."""
    token = _invocation_deadline.set(time.monotonic() + remaining_s)
    try:
        yield
    finally:
        _invocation_deadline.reset(token)


def invocation_deadline_from_lambda_context(context: Any) -> contextlib.AbstractContextManager[None]:
    """:func:`invocation_deadline` from a Lambda context object (``get_remaining_time_in_millis``)."""
    return invocation_deadline(context.get_remaining_time_in_millis() / 1000.0)


def query_deadline(timeout_s: float, *, deadline: float | None = None) -> float:
    """The ``time.monotonic()`` value a query must finish by.

    ``deadline`` (an explicit monotonic deadline from the caller) and the invocation's deadline
    both cap the configured ``timeout_s``.
    """
    now = time.monotonic()
    candidates = [now + timeout_s]
    if deadline is not None:
        candidates.append(deadline)
    invocation = _invocation_deadline.get()
    if invocation is not None:
        candidates.append(invocation - SAFETY_MARGIN_S)
    return max(min(candidates), now + MIN_QUERY_S)
