"""In-process dispatch: each JSON-RPC request is served by the MCP server object inside the Lambda process.

This is the SDK's own stateless pattern (``Server.run(..., stateless=True)`` over in-memory streams,
one request at a time) behind the adapter's :class:`mcp_lambda.RequestHandler` interface. Compared
with the adapter's stdio mode (a new Python child and an ``initialize`` round trip per request)
it answers in milliseconds, keeps the SDK's real JSON-RPC error codes and the caller's request id,
and tools get a working request context (``ctx.request_id``, logging, progress).

One event loop lives as long as the container: Lambda runs one invocation at a time per process
and calls the handler from a thread with no running loop. (Not ``asyncio.Runner``: its per-run
SIGINT bookkeeping formats the previous task's repr, whole results included, on every call.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
from mcp import types
from mcp.shared.message import SessionMessage
from mcp_lambda import RequestHandler

from estat_aws_mcp.deadline import time_left
from estat_aws_mcp.lambda_handler.results import error_for_request, timed_out_error
from estat_aws_mcp.sdk import low_level_server

# How long an answered request's session may take to wind down before the answer is returned anyway.
_SESSION_WIND_DOWN_S = 0.5
# Server-initiated requests (sampling, elicitation, roots) cannot reach a client through a
# buffered Function URL response: they are refused at once instead of waiting for the deadline.
_SERVER_REQUEST_REFUSAL = types.ErrorData(
    code=types.METHOD_NOT_FOUND,
    message="This server runs on AWS Lambda with JSON responses: server-to-client requests are not available.",
)


class InProcessRequestHandler(RequestHandler):
    """Dispatches one JSON-RPC request at a time to ``server`` in this process, statelessly."""

    def __init__(self, server: Any, *, reserve_s: float = 1.0) -> None:
        """``reserve_s``: time kept before the invocation's end to answer a request that overruns."""
        self._server = low_level_server(server)
        self._init_options = self._server.create_initialization_options()
        self._reserve_s = reserve_s
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_request(self, request: types.JSONRPCRequest, context: Any) -> types.JSONRPCResponse | types.JSONRPCError:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        left = time_left(self._reserve_s)  # the invocation's deadline (set by the Lambda handler)
        timeout_s = None if left is None else max(0.0, left)
        return self._loop.run_until_complete(self.dispatch(request, timeout_s))

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    async def dispatch(
        self, request: types.JSONRPCRequest, timeout_s: float | None = None
    ) -> types.JSONRPCResponse | types.JSONRPCError:
        """Serve ``request`` with a fresh stateless session; give up ``timeout_s`` seconds from now."""
        to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](4)
        server_writes, from_server = anyio.create_memory_object_stream[SessionMessage](16)
        answer: types.JSONRPCResponse | types.JSONRPCError | None = None
        # A task of its own rather than a task group: when the deadline passes, the caller is
        # answered at once instead of waiting for work that cannot be interrupted (a tool blocked
        # in a worker thread); the cancelled session finishes on its own later.
        session = asyncio.ensure_future(self._run_session(server_reads, server_writes))
        try:
            async with to_server, from_server:
                await to_server.send(SessionMessage(types.JSONRPCMessage(request)))
                with anyio.move_on_after(timeout_s):
                    answer = await self._await_answer(request.id, to_server, from_server)
        finally:
            session.cancel()
        if answer is None:
            return timed_out_error(request, timeout_s)
        # Normally the session has already wound down; never let it hold the answer back.
        await asyncio.wait({session}, timeout=_SESSION_WIND_DOWN_S)
        return answer

    async def _run_session(self, reads, writes) -> None:
        async with writes:
            await self._server.run(reads, writes, self._init_options, raise_exceptions=False, stateless=True)

    @staticmethod
    async def _await_answer(request_id, to_server, from_server) -> types.JSONRPCResponse | types.JSONRPCError:
        async for message in from_server:
            root = message.message.root
            if isinstance(root, types.JSONRPCError) and root.id == request_id and root.error.code == 0:
                # The SDK answers an exception outside a tool with code 0, which JSON-RPC does not define.
                return root.model_copy(update={"error": root.error.model_copy(update={"code": types.INTERNAL_ERROR})})
            if isinstance(root, types.JSONRPCResponse | types.JSONRPCError) and root.id == request_id:
                return root
            if isinstance(root, types.JSONRPCRequest):
                refusal = types.JSONRPCError(jsonrpc="2.0", id=root.id, error=_SERVER_REQUEST_REFUSAL)
                await to_server.send(SessionMessage(types.JSONRPCMessage(refusal)))
            # Notifications (log messages, progress) have no channel in a JSON response: dropped.
        return error_for_request(request_id, types.INTERNAL_ERROR, "The MCP session ended without an answer.")
