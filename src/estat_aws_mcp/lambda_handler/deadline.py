"""The invocation's deadline, from the Lambda context, handed to the parts that must stop in time.

``run_aws_cli`` (:mod:`estat_aws_mcp.awscli.deadline`) and the SQL engines
(:mod:`estat_aws_mcp.sql.deadline`) each keep their own reserve before it; the in-process
dispatcher gives up on a request shortly before it so the client gets an answer, not a timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def seconds_left(context: Any) -> float | None:
    """Seconds until the invocation is killed, or None when the context does not say."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return max(0.0, float(remaining()) / 1000.0)
    except (TypeError, ValueError):
        return None


@contextlib.contextmanager
def invocation_deadlines(context: Any) -> Iterator[float | None]:
    """Within the block, the tools that honour a deadline see this invocation's."""
    remaining = seconds_left(context)
    if remaining is None:
        yield None
        return
    from estat_aws_mcp.awscli.deadline import invocation_deadline as awscli_deadline
    from estat_aws_mcp.sql.deadline import invocation_deadline as sql_deadline

    with awscli_deadline(remaining), sql_deadline(remaining):
        yield remaining
