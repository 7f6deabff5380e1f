"""In-process dispatch: the SDK's stateless session per request, real error codes, the caller's id."""

from __future__ import annotations

import pytest
from mcp import types

from estat_aws_mcp.deadline import invocation_deadline
from estat_aws_mcp.lambda_handler.inprocess import InProcessRequestHandler
from tests.lambda_handler.conftest import BLOCKED_DONE, RELEASE_BLOCKED, FakeLambdaContext, call, rpc


@pytest.fixture(scope="module")
def dispatcher(test_server):
    handler = InProcessRequestHandler(test_server)
    yield handler
    handler.close()


def dispatch(dispatcher, message, remaining_s: float = 30.0):
    request = types.JSONRPCRequest.model_validate(message)
    with invocation_deadline(remaining_s):  # as the Lambda handler sets it
        return dispatcher.handle_request(request, FakeLambdaContext(remaining_s))


def test_tools_list_needs_no_initialize_and_keeps_the_callers_id(dispatcher) -> None:
    answer = dispatch(dispatcher, rpc("tools/list", id="abc-1"))
    assert isinstance(answer, types.JSONRPCResponse)
    assert answer.id == "abc-1"
    names = {tool["name"] for tool in answer.result["tools"]}
    assert {"echo", "blob", "slow", "uses_context"} <= names


def test_initialize_is_answered_like_any_other_request(dispatcher) -> None:
    params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    answer = dispatch(dispatcher, rpc("initialize", params, id=0))
    assert answer.id == 0
    assert answer.result["serverInfo"]["name"] == "handler-test"


@pytest.mark.parametrize("request_id", [7, "seven", 0])
def test_tool_call_result_carries_the_request_id(dispatcher, request_id) -> None:
    answer = dispatch(dispatcher, call("echo", id=request_id, text="こんにちは"))
    assert answer.id == request_id
    assert answer.result["content"][0]["text"] == "こんにちは"
    assert answer.result.get("isError") is not True


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (rpc("tools/call", {"arguments": {}}, id=4), types.INVALID_PARAMS),
        # An exception outside a tool: the SDK says code 0, which JSON-RPC does not define.
        (rpc("prompts/get", {"name": "missing"}, id=5), types.INTERNAL_ERROR),
    ],
)
def test_protocol_errors_keep_the_sdks_codes(dispatcher, message, code) -> None:
    answer = dispatch(dispatcher, message)
    assert isinstance(answer, types.JSONRPCError)
    assert answer.id == message["id"]
    assert answer.error.code == code


def test_a_raising_tool_is_a_tool_error_not_a_transport_error(dispatcher) -> None:
    answer = dispatch(dispatcher, call("fails"))
    assert isinstance(answer, types.JSONRPCResponse)
    assert answer.result["isError"] is True
    assert "broken on purpose" in answer.result["content"][0]["text"]


def test_tools_see_their_request_context(dispatcher) -> None:
    answer = dispatch(dispatcher, call("uses_context", id="ctx-9"))
    assert answer.result["structuredContent"] == {"request_id": "ctx-9"}


def test_server_to_client_requests_are_refused_at_once(dispatcher) -> None:
    answer = dispatch(dispatcher, call("asks_the_client"), remaining_s=20)
    assert answer.result["isError"] is True
    assert "server-to-client requests are not available" in answer.result["content"][0]["text"]


def test_a_tool_that_outlives_the_invocation_gets_a_tool_error_in_time(dispatcher) -> None:
    answer = dispatch(dispatcher, call("slow", seconds=30), remaining_s=1.5)
    assert isinstance(answer, types.JSONRPCResponse)
    assert answer.result["isError"] is True
    assert "did not finish within the time left" in answer.result["content"][0]["text"]
    # The next request is served normally: nothing of the abandoned call is left behind.
    assert dispatch(dispatcher, call("echo", text="after")).result["content"][0]["text"] == "after"


def test_uninterruptible_work_does_not_hold_the_answer_past_the_deadline(dispatcher) -> None:
    RELEASE_BLOCKED.clear()
    BLOCKED_DONE.clear()
    try:
        # The work holds its thread until released (at most 60 s): an answer that waited for it would
        # come only after the work let go. No wall-clock bound needed to tell the two apart.
        answer = dispatch(dispatcher, call("blocks_a_thread", seconds=60), remaining_s=1.5)
        assert not BLOCKED_DONE.is_set(), "the answer waited for the blocked thread"
        assert answer.result["isError"] is True
        assert dispatch(dispatcher, call("echo", text="next")).result["content"][0]["text"] == "next"
    finally:
        RELEASE_BLOCKED.set()
    assert BLOCKED_DONE.wait(10)  # the work really was blocked until now


def test_a_non_tool_request_past_the_deadline_is_a_jsonrpc_error(dispatcher) -> None:
    answer = dispatch(dispatcher, rpc("tools/list"), remaining_s=0)
    # 0.1 s floor: a listing still fits; the point is that no deadline stays unanswered.
    assert answer.id == 1


def test_the_production_server_lists_its_tools_in_process() -> None:
    from estat_aws_mcp.tools.server import build_server

    handler = InProcessRequestHandler(build_server())
    try:
        answer = dispatch(handler, rpc("tools/list"))
    finally:
        handler.close()
    assert len(answer.result["tools"]) >= 1
    assert all(tool["inputSchema"]["type"] == "object" for tool in answer.result["tools"])
