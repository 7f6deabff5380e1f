# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""One invocation deadline: a Function URL event with little time left, and every consumer stops in time.

The production handler and server run in process against real parts: DuckDB for SQL, a TCP
endpoint that never answers for ``run_aws_cli``, the fake e-Stat (made slow) for e-Stat calls, and
a real stdio child for the stdio dispatch mode.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from estat_aws_mcp import deadline as one_deadline
from estat_aws_mcp.lambda_handler.app import START_RESERVE_S, build_function_url_handler
from estat_aws_mcp.lambda_handler.results import NOT_STARTED
from estat_aws_mcp.settings import Settings
from tests import processes
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat
from tests.lambda_handler.conftest import FakeLambdaContext, LogCapture, call, url_event

ENDLESS_SQL = "SELECT count(*) FROM range(100000000000) a, range(1000) b"


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (an AWS endpoint that hangs)."""
    with processes.silent_endpoint() as url:
        yield url


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat, silent_endpoint: str) -> None:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    monkeypatch.setenv("ESTAT_MCP_SQL_TIMEOUT_S", "20")
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    for name in ("ESTAT_MCP_AUTH_TOKEN", "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER", "ESTAT_MCP_DISPATCH", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def invoke(handler, body, remaining_s: float) -> tuple[object, float]:
    started = time.monotonic()
    response = handler.handle(url_event(body), FakeLambdaContext(remaining_s))
    elapsed = time.monotonic() - started
    assert response["statusCode"] == 200, response
    return json.loads(response["body"]), elapsed


def tool_text(answer: dict) -> str:
    return " ".join(part.get("text", "") for part in answer["result"]["content"])


@pytest.fixture
def production_handler(environment: None):
    return build_function_url_handler(Settings(), log=LogCapture().logger)


def test_sql_stops_before_the_invocation_ends(production_handler) -> None:
    answer, elapsed = invoke(production_handler, call("analyze_with_athena", sql=ENDLESS_SQL), remaining_s=4.0)
    assert elapsed < 4.0
    assert answer["result"]["isError"] is True
    assert "time limit" in tool_text(answer)


def test_run_aws_cli_stops_before_the_invocation_ends(production_handler) -> None:
    answer, elapsed = invoke(production_handler, call("run_aws_cli", command="aws logs describe-log-groups"), 4.0)
    assert elapsed < 4.0
    assert answer["result"]["isError"] is True


def test_run_aws_cli_itself_stops_at_its_reserve_before_the_deadline(environment: None) -> None:
    """The consumer, not only the dispatcher's last-second answer: the call ends by deadline - its reserve."""
    from estat_aws_mcp.awscli.service import RESPONSE_RESERVE_S, run_aws_cli

    started = time.monotonic()
    with one_deadline.invocation_deadline(4.0):
        result = run_aws_cli("aws logs describe-log-groups")
    elapsed = time.monotonic() - started
    assert result.error in {"deadline_exceeded", "cli_error", "aws_error"}, result
    assert elapsed < 4.0 - RESPONSE_RESERVE_S + 1.0  # its own stop, with slack for a loaded machine


def test_estat_calls_stop_before_the_invocation_ends(production_handler, fake_estat: FakeEstat) -> None:
    fake_estat.delay(8.0, times=None)  # e-Stat hangs longer than the invocation has left
    answer, elapsed = invoke(production_handler, call("search_estat_data", query="人口"), remaining_s=4.0)
    assert elapsed < 4.0
    assert answer["result"]["isError"] is True
    # The e-Stat client itself gave up (not the dispatcher abandoning the tool at the last moment).
    assert "e-Stat" in tool_text(answer) and "did not finish within the time left" not in tool_text(answer)


def test_batch_items_that_cannot_start_in_time_are_answered_at_once(production_handler) -> None:
    batch = [call("analyze_with_athena", id=i, sql=ENDLESS_SQL) for i in range(20)]
    answers, elapsed = invoke(production_handler, batch, remaining_s=5.0)
    assert elapsed < 5.0
    assert [a["id"] for a in answers] == list(range(20))
    started = [a for a in answers if "result" in a]
    refused = [a for a in answers if "error" in a]
    assert started and refused and len(started) + len(refused) == 20
    assert all(a["error"]["code"] == NOT_STARTED and "Not started" in a["error"]["message"] for a in refused)
    assert refused[0]["id"] > started[-1]["id"]  # the tail, in order


def test_the_deadline_is_set_once_and_read_everywhere() -> None:
    assert one_deadline.time_left() is None
    entered = time.monotonic()
    with one_deadline.invocation_deadline(10.0) as deadline:
        inside = time.monotonic()
        assert one_deadline.current_deadline() == deadline
        assert deadline is not None and entered + 10.0 <= deadline <= inside + 10.0
        # Bracketed by clock reads: exact, however slow the machine is between them.
        before = time.monotonic()
        left = one_deadline.time_left(reserve_s=0.5)
        after = time.monotonic()
        assert left is not None and deadline - 0.5 - after <= left <= deadline - 0.5 - before
        assert one_deadline.stop_by(60, reserve_s=3) == pytest.approx(deadline - 3)
        seen: list[float | None] = []
        thread = threading.Thread(target=lambda: seen.append(one_deadline.current_deadline()))
        thread.start()
        thread.join()
        assert seen == [None]  # a plain thread does not inherit it; anyio/asyncio workers do (copy_context)
    assert one_deadline.current_deadline() is None
    assert START_RESERVE_S > 0


@pytest.mark.slow
def test_stdio_dispatch_children_inherit_the_deadline(environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_MCP_DISPATCH", "stdio")
    handler = build_function_url_handler(Settings(), log=LogCapture().logger)
    answer, elapsed = invoke(handler, call("analyze_with_athena", sql=ENDLESS_SQL), remaining_s=9.0)
    assert elapsed < 9.0
    assert answer["result"]["isError"] is True
    assert "time limit" in tool_text(answer)
