"""stdio dispatch: the adapter's handler with an explicit child environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import types

from estat_aws_mcp.lambda_handler.stdio import StdioRequestHandler, child_command, child_environment
from tests.lambda_handler.conftest import FakeLambdaContext, call, rpc

PARENT_ENV = {
    "PATH": "/var/lang/bin:/usr/bin",
    "HOME": "/home/sbx_user1051",
    "LANG": "en_US.UTF-8",
    "LAMBDA_TASK_ROOT": "/var/task",
    "PYTHONPATH": "/var/runtime",
    "AWS_REGION": "ap-northeast-1",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "session",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    "ESTAT_MCP_STORAGE_URI": "s3://bucket/prefix",
    "ESTAT_APP_ID_SSM_PARAMETER": "/estat/app-id",
    "ESTAT_MCP_AUTH_TOKEN": "parent-only",
    "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER": "/estat/token",
    "ESTAT_MCP_DISPATCH": "stdio",
    "_HANDLER": "estat_aws_mcp.lambda_handler.handler",
    "UNRELATED": "x",
}


def test_child_gets_aws_settings_and_paths_but_not_the_parents_secrets() -> None:
    env = child_environment(PARENT_ENV)
    for name in ("AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        assert env[name] == PARENT_ENV[name]
    assert env["ESTAT_MCP_STORAGE_URI"] == "s3://bucket/prefix"
    assert env["ESTAT_APP_ID_SSM_PARAMETER"] == "/estat/app-id"
    assert env["PYTHONPATH"] == "/var/task:/var/runtime"
    assert env["LANG"] == "en_US.UTF-8"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    for withheld in (
        "ESTAT_MCP_AUTH_TOKEN",
        "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER",
        "ESTAT_MCP_DISPATCH",
        "UNRELATED",
        "_HANDLER",
    ):
        assert withheld not in env


def test_child_home_falls_back_to_tmp() -> None:
    env = child_environment({k: v for k, v in PARENT_ENV.items() if k != "HOME"})
    assert env["HOME"] == "/tmp"


def test_child_runs_this_interpreter_as_a_module() -> None:
    command, args = child_command()
    assert command == sys.executable
    assert args[-2:] == ["-m", "estat_aws_mcp"]


@pytest.mark.parametrize("no_site", [False, True])
def test_child_keeps_the_parents_site_mode(no_site) -> None:
    # The RIE runs the handler with `python -S` (only the task root is importable); so must the child.
    import site
    import sysconfig

    code = "from estat_aws_mcp.lambda_handler.stdio import child_command; print(child_command()[1])"
    paths = [*site.getsitepackages(), sysconfig.get_path("purelib"), str(Path(__file__).resolve().parents[2] / "src")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    flags = ["-S"] if no_site else []
    out = subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert ("'-S'" in out) is no_site


@pytest.fixture(scope="module")
def stdio_handler() -> StdioRequestHandler:
    return StdioRequestHandler()


def test_stdio_mode_serves_the_production_server(stdio_handler) -> None:
    request = types.JSONRPCRequest.model_validate(rpc("tools/list", id="s-1"))
    answer = stdio_handler.handle_request(request, FakeLambdaContext())
    assert isinstance(answer, types.JSONRPCResponse)
    assert answer.id == "s-1"
    assert {tool["name"] for tool in answer.result["tools"]}


def test_stdio_mode_errors_carry_the_callers_id(stdio_handler) -> None:
    request = types.JSONRPCRequest.model_validate(call("no_such_tool_here", id=42))
    answer = stdio_handler.handle_request(request, FakeLambdaContext())
    assert answer.id == 42
    # the child's own JSON-RPC error, not the adapter's code 500 "Internal failure"
    assert isinstance(answer, types.JSONRPCError)
    assert (answer.error.code, answer.error.message) == (-32602, "Unknown tool: 'no_such_tool_here'")


def test_stdio_mode_passes_on_resource_not_found(stdio_handler) -> None:
    request = types.JSONRPCRequest.model_validate(rpc("resources/read", {"uri": "test://static-text"}, id="r-1"))
    answer = stdio_handler.handle_request(request, FakeLambdaContext())
    assert isinstance(answer, types.JSONRPCError), answer
    assert (answer.id, answer.error.code, answer.error.data) == ("r-1", -32002, {"uri": "test://static-text"})


def test_a_child_that_cannot_start_is_an_internal_error() -> None:
    from estat_aws_mcp.lambda_handler.stdio import server_parameters

    broken = server_parameters().model_copy(update={"command": "/nonexistent/python-for-estat-aws-mcp"})
    answer = StdioRequestHandler(broken).handle_request(
        types.JSONRPCRequest.model_validate(rpc("tools/list", id=7)), FakeLambdaContext()
    )
    assert isinstance(answer, types.JSONRPCError)
    assert (answer.id, answer.error.code) == (7, -32603)


def test_a_child_that_does_not_answer_in_time_is_abandoned_and_the_caller_answered() -> None:
    """The parent reads the invocation's deadline too: a hung child (here one that never speaks MCP)
    does not hold the answer past it."""
    from mcp.client.stdio import StdioServerParameters

    from estat_aws_mcp.deadline import invocation_deadline
    from estat_aws_mcp.lambda_handler.stdio import ANSWER_RESERVE_S

    silent = StdioServerParameters(command=sys.executable, args=["-c", "import time; time.sleep(6)"])
    handler = StdioRequestHandler(silent)
    request = types.JSONRPCRequest.model_validate(call("echo", id="late-1", text="x"))
    started = time.monotonic()
    with invocation_deadline(2.5):
        answer = handler.handle_request(request, FakeLambdaContext(2.5))
    elapsed = time.monotonic() - started
    assert elapsed < 2.5 - ANSWER_RESERVE_S + 0.5
    assert answer.id == "late-1" and answer.result["isError"] is True
    assert "did not finish within the time left" in answer.result["content"][0]["text"]
