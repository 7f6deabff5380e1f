"""Function URL events, a Lambda context and a small MCP server for the handler's tests."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp.server.fastmcp import Context, FastMCP

MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


class FakeLambdaContext:
    """The attributes of awslambdaric's context that the handler reads."""

    def __init__(self, remaining_s: float = 30.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "estat-aws-mcp"
        self._deadline = time.monotonic() + remaining_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def url_event(
    body: Any = None,
    *,
    method: str = "POST",
    path: str = "/mcp",
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    iam: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Function URL (payload format 2.0) event; ``body`` is JSON-encoded unless it is a string."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    request_context: dict[str, Any] = {"http": {"method": method, "path": path}, "requestId": str(uuid.uuid4())}
    if iam is not None:
        request_context["authorizer"] = {"iam": iam}
    return {
        "version": "2.0",
        "rawPath": path,
        "headers": dict(MCP_HEADERS if headers is None else headers),
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": base64_body,
    }


def rpc(method: str, params: dict[str, Any] | None = None, id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def call(name: str, id: Any = 1, **arguments: Any) -> dict[str, Any]:
    return rpc("tools/call", {"name": name, "arguments": arguments}, id=id)


#: ``blocks_a_thread`` holds its worker thread until this is set (or its time passes) ...
RELEASE_BLOCKED = threading.Event()
#: ... and sets this when it lets the thread go.
BLOCKED_DONE = threading.Event()


def build_test_server() -> FastMCP:
    """A server with tools that exercise the dispatcher (the production server is tested too)."""
    mcp = FastMCP("handler-test", stateless_http=True, json_response=True)

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text."""
        return text

    @mcp.tool()
    def blob(size: int) -> str:
        """Return ``size`` characters."""
        return "x" * size

    @mcp.tool()
    def japanese(count: int) -> str:
        """Return ``count`` Japanese characters (3 bytes in UTF-8, 6 as a JSON escape)."""
        return "統" * count

    @mcp.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await anyio.sleep(seconds)
        return "done"

    @mcp.tool()
    async def blocks_a_thread(seconds: float) -> str:
        """Block a worker thread (uninterruptible work, like a long blocking SDK call) for ``seconds``,
        or until a test sets ``RELEASE_BLOCKED``; ``BLOCKED_DONE`` is set when the thread lets go."""

        def block() -> None:
            RELEASE_BLOCKED.wait(seconds)
            BLOCKED_DONE.set()

        await anyio.to_thread.run_sync(block)
        return "done"

    @mcp.tool()
    async def uses_context(ctx: Context) -> dict[str, Any]:
        """Log, report progress and return the request id the tool sees."""
        await ctx.info("working")
        await ctx.report_progress(1, 2)
        return {"request_id": str(ctx.request_id)}

    @mcp.tool()
    async def asks_the_client(ctx: Context) -> str:
        """Ask the client for a completion (impossible over a buffered Function URL response)."""
        from mcp.types import SamplingMessage, TextContent

        result = await ctx.session.create_message(
            [SamplingMessage(role="user", content=TextContent(type="text", text="hi"))], max_tokens=5
        )
        return str(result)

    @mcp.tool()
    def fails() -> str:
        """Raise."""
        raise ValueError("broken on purpose")

    return mcp


@pytest.fixture(scope="module")
def test_server() -> FastMCP:
    return build_test_server()


class LogCapture:
    """A powertools Logger writing JSON lines to memory."""

    def __init__(self) -> None:
        from aws_lambda_powertools import Logger

        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        service = f"test-{uuid.uuid4().hex[:8]}"
        self.logger = Logger(service=service, logger_handler=handler, level="INFO")
        logging.getLogger(service).propagate = False

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def log_capture() -> LogCapture:
    return LogCapture()


@pytest.fixture
def lambda_context() -> Callable[..., FakeLambdaContext]:
    return FakeLambdaContext
