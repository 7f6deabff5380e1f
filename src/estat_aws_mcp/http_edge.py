"""``serve --http``: the JSON-RPC edge rules and streamed answers, in front of FastMCP's streamable HTTP app.

For ``POST /mcp``:

- the rules of :mod:`estat_aws_mcp.protocol`, as at the Lambda Function URL: a body that is not JSON
  or is nested too deeply → 400 / ``-32700``; an empty batch → 400 / ``-32600``; an unknown method
  → ``-32601`` (the SDK would say ``-32602``);
- the answer is streamed (SSE: progress and log notifications, then the result) when the request
  carries a ``progressToken`` and the client takes ``text/event-stream`` (named, ``*/*`` or no
  Accept), or when the client accepts ``text/event-stream`` and not JSON; every other request gets
  plain JSON, as before (MCP SDK clients name both types on every request, so naming
  ``text/event-stream`` beside JSON does not switch a client to SSE).
  Both modes are served by the same low-level MCP server, statelessly.

``GET /mcp`` is 405 (as at the Function URL): a stateless server never sends anything on a standalone
event stream, which the SDK would otherwise hold open for as long as the client keeps it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from estat_aws_mcp.protocol import (
    METHOD_NOT_FOUND,
    BodyRefusal,
    invalid_request_refusal,
    is_unknown_method,
    method_not_found_message,
    parse_body,
)
from estat_aws_mcp.sdk import low_level_server

_EVENT_STREAM = "text/event-stream"
_BOTH = b"application/json, text/event-stream"
_NO_GET_STREAM = {
    "jsonrpc": "2.0",
    "error": {"code": -32000, "message": "Method Not Allowed: this stateless server opens no GET event stream"},
    "id": None,
}


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _has_progress_token(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and meta.get("progressToken") is not None


async def _send_json(send: Any, status: int, payload: Any, extra_headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Any, limit: int) -> tuple[bytes, bool]:
    """The request body (up to ``limit`` + 1 bytes) and whether it was read whole."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Any) -> Any:
    """A ``receive`` that hands ``body`` over first, then the connection's own messages."""
    pending = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


class McpHttpEdge:
    """ASGI wrapper of FastMCP's streamable HTTP app (``app``) for ``server`` (a FastMCP object)."""

    def __init__(self, app: Any, server: Any) -> None:
        self.app = app
        self.path = server.settings.streamable_http_path.rstrip("/") or "/"
        self.max_body = server.settings.max_request_body_size
        self.streaming = StreamableHTTPSessionManager(
            app=low_level_server(server),
            json_response=False,
            stateless=True,
            security_settings=server.settings.transport_security,
            max_request_body_size=self.max_body,
        )
        json_lifespan = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(starlette_app: Any) -> AsyncIterator[Any]:
            async with json_lifespan(starlette_app) as state, self.streaming.run():
                yield state

        app.router.lifespan_context = lifespan

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and (scope["path"].rstrip("/") or "/") == self.path:
            # Stateless: nothing is ever sent on a standalone GET stream, which the SDK would hold open
            # (an idle connection per client) and the Function URL refuses; 405, as the transport allows.
            await _send_json(send, 405, _NO_GET_STREAM, ((b"allow", b"POST"),))
            return
        if scope["type"] != "http" or scope["method"] != "POST" or (scope["path"].rstrip("/") or "/") != self.path:
            await self.app(scope, receive, send)
            return
        if "application/json" not in _header(scope, b"content-type"):  # the SDK answers 415
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive, self.max_body)
        if not complete:  # too large or cut short: the SDK answers (413, or the disconnect)
            await self.app(scope, _replay(body, complete, receive), send)
            return
        parsed = parse_body(body)
        if not isinstance(parsed, BodyRefusal):
            parsed = invalid_request_refusal(parsed) or parsed
        if isinstance(parsed, BodyRefusal):
            await _send_json(send, parsed.status, parsed.body())
            return
        method = parsed.get("method") if isinstance(parsed, dict) and "id" in parsed else None
        if isinstance(method, str) and is_unknown_method(method):
            error = {"code": METHOD_NOT_FOUND, "message": method_not_found_message(method)}
            await _send_json(send, 200, {"jsonrpc": "2.0", "id": parsed["id"], "error": error})
            return
        accept = _header(scope, b"accept")
        takes_sse = _EVENT_STREAM in accept or accept.strip() in ("", "*/*")
        sse_only = _EVENT_STREAM in accept and "application/json" not in accept and "*/*" not in accept
        if (takes_sse and _has_progress_token(parsed)) or sse_only:
            if _EVENT_STREAM not in accept or "application/json" not in accept:  # the SDK's SSE mode wants both
                headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"accept"]
                scope = {**scope, "headers": [*headers, (b"accept", _BOTH)]}
            await self.streaming.handle_request(scope, _replay(body, complete, receive), send)
            return
        await self.app(scope, _replay(body, complete, receive), send)
