"""Query deadlines: the configured timeout, capped by an explicit deadline and the Lambda's remaining time.

Each check brackets the computed deadline between the clock read just before and just after the call,
so it is exact however long the machine takes between the two reads (no tolerance to tune).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace

from estat_aws_mcp.deadline import current_deadline, invocation_deadline
from estat_aws_mcp.lambda_handler.app import seconds_left
from estat_aws_mcp.sql import MIN_QUERY_S, SAFETY_MARGIN_S, query_deadline


def bracketed(compute: Callable[[], float]) -> tuple[float, float, float]:
    """(clock before, computed deadline, clock after)."""
    before = time.monotonic()
    value = compute()
    return before, value, time.monotonic()


def test_timeout_alone() -> None:
    before, deadline, after = bracketed(lambda: query_deadline(30))
    assert before + 30 <= deadline <= after + 30


def test_explicit_deadline_caps_the_timeout() -> None:
    explicit = time.monotonic() + 5
    assert query_deadline(30, deadline=explicit) == explicit


def test_lambda_remaining_time_caps_with_a_safety_margin() -> None:
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 20_000)
    before = time.monotonic()
    with invocation_deadline(seconds_left(context)) as invocation:
        after = time.monotonic()
        assert invocation is not None and invocation == current_deadline()
        assert before + 20 <= invocation <= after + 20  # 20,000 ms left
        assert query_deadline(240) == invocation - SAFETY_MARGIN_S
    before, deadline, after = bracketed(lambda: query_deadline(240))
    assert before + 240 <= deadline <= after + 240  # reset after the block


def test_never_less_than_the_minimum() -> None:
    with invocation_deadline(0.5):
        before, deadline, after = bracketed(lambda: query_deadline(240))
    assert before + MIN_QUERY_S <= deadline <= after + MIN_QUERY_S
