"""Query deadlines: the configured timeout, capped by an explicit deadline and the Lambda's remaining time."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from estat_aws_mcp.deadline import invocation_deadline
from estat_aws_mcp.lambda_handler.app import seconds_left
from estat_aws_mcp.sql import MIN_QUERY_S, SAFETY_MARGIN_S, query_deadline


def test_timeout_alone() -> None:
    assert query_deadline(30) - time.monotonic() == pytest.approx(30, abs=0.5)


def test_explicit_deadline_caps_the_timeout() -> None:
    assert query_deadline(30, deadline=time.monotonic() + 5) - time.monotonic() == pytest.approx(5, abs=0.5)


def test_lambda_remaining_time_caps_with_a_safety_margin() -> None:
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 20_000)
    with invocation_deadline(seconds_left(context)):
        left = query_deadline(240) - time.monotonic()
    assert left == pytest.approx(20 - SAFETY_MARGIN_S, abs=0.5)
    assert query_deadline(240) - time.monotonic() == pytest.approx(240, abs=0.5)  # reset after the block


def test_never_less_than_the_minimum() -> None:
    with invocation_deadline(0.5):
        assert query_deadline(240) - time.monotonic() == pytest.approx(MIN_QUERY_S, abs=0.2)
