"""The overall deadline of one invocation, set by whoever knows it (the Lambda handler).

API for the Lambda handler (engineer H5)::

    from estat_aws_mcp.awscli.deadline import invocation_deadline

    def handler(event, context):
        with invocation_deadline(context.get_remaining_time_in_millis() / 1000):
            return dispatch(event)

At init (outside any request), the handler may also call
``estat_aws_mcp.awscli.runner.warm_up()``: it imports awscli and loads the CloudWatch models
(~0.3-1 s, paid once per container instead of by the first caller).

Inside the block every ``run_aws_cli`` call stops issuing AWS requests in time to answer
(a reserve is kept for building the response). The value is held in a ``ContextVar`` (copied
into worker threads and tasks created inside the block) and, as a fallback for event loops
started before the block, in a process-wide slot: Lambda runs one invocation per process at a
time. Outside any block :data:`DEFAULT_CALL_BUDGET_S` bounds each call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

# Upper bound of one call when no invocation deadline is known (local servers, tests).
DEFAULT_CALL_BUDGET_S = 25.0
# Time kept back to format, encode and return the answer before the invocation ends.
RESPONSE_RESERVE_S = 1.5

_deadline_var: ContextVar[float | None] = ContextVar("estat_aws_mcp_awscli_deadline", default=None)
_process_deadline: float | None = None


@contextlib.contextmanager
def invocation_deadline(remaining_seconds: float) -> Iterator[float]:
    """Run the block with an absolute deadline ``remaining_seconds`` from now (monotonic clock)."""
    global _process_deadline
    deadline = time.monotonic() + max(0.0, float(remaining_seconds))
    token = _deadline_var.set(deadline)
    previous = _process_deadline
    _process_deadline = deadline
    try:
        yield deadline
    finally:
        _deadline_var.reset(token)
        _process_deadline = previous


def current_deadline() -> float | None:
    """The invocation's absolute monotonic deadline, if one was set."""
    value = _deadline_var.get()
    return value if value is not None else _process_deadline


def call_deadline(default_budget_s: float = DEFAULT_CALL_BUDGET_S) -> float:
    """Absolute monotonic time by which one call must have stopped talking to AWS."""
    now = time.monotonic()
    own = now + default_budget_s
    invocation = current_deadline()
    if invocation is None:
        return own
    return min(own, invocation - RESPONSE_RESERVE_S)
