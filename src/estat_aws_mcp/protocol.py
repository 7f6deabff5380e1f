"""JSON-RPC edge rules shared by the Lambda Function URL handler and ``serve --http``.

- a body that is not JSON, or is nested too deeply to parse, is HTTP 400 with ``-32700`` (never a
  500 with a recursion traceback);
- an empty batch ``[]`` is HTTP 400 with ``-32600`` (JSON-RPC 2.0: "an empty Array" is invalid);
- a request whose method no MCP client may call is answered ``-32601`` (method not found), not the
  SDK's ``-32602`` (it fails to validate the unknown request as a known one);
- a JSON body that is not a JSON-RPC 2.0 message is HTTP 400 with ``-32600`` (``serve --http``: the
  SDK says ``-32602`` and quotes the body back in a validation report), and so is a request whose id is
  ``null`` (both transports took it for a notification: 202, and never an answer);
- an ``MCP-Protocol-Version`` header naming a version the server does not support is HTTP 400 (the
  transport specification's MUST; the SDK checks it for ``serve --http``, the Lambda adapter does not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from estat_aws_mcp.sdk import client_request_methods

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601


@dataclass(frozen=True)
class BodyRefusal:
    """An HTTP answer to a body that cannot be served: status and JSON-RPC error (``id: null``)."""

    status: int
    code: int
    message: str

    def body(self) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "error": {"code": self.code, "message": self.message}, "id": None}


def parse_body(body: str | bytes) -> Any | BodyRefusal:
    """The parsed JSON body, or the :class:`BodyRefusal` to send instead."""
    try:
        parsed = json.loads(body)
    except RecursionError:
        return BodyRefusal(400, PARSE_ERROR, "Parse error: the JSON is nested too deeply")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return BodyRefusal(400, PARSE_ERROR, "Parse error: Invalid JSON")
    if parsed == []:
        return BodyRefusal(400, INVALID_REQUEST, "Invalid Request: an empty batch")
    return parsed


def invalid_request_refusal(body: Any) -> BodyRefusal | None:
    """400 / ``-32600`` for a JSON body that is not a JSON-RPC 2.0 message (a batch is left to the transport).

    The SDK's streamable HTTP transport answers ``-32602`` with its whole validation report, quoting
    the body back (python-sdk#3557); the Function URL already answers ``-32600``.
    """
    if isinstance(body, list):
        return None
    if isinstance(body, dict) and "method" in body and "id" in body and body["id"] is None:
        # MCP: a request id MUST NOT be null. Read as a notification it would get a 202 and no answer ever.
        return BodyRefusal(400, INVALID_REQUEST, "Invalid Request: a request id must be a string or a number, not null")
    if isinstance(body, dict):
        from mcp.types import JSONRPCMessage

        try:
            JSONRPCMessage.model_validate(body)
            return None
        except ValueError:
            pass
    return BodyRefusal(400, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")


def protocol_version_refusal(header: str | None, body: Any) -> BodyRefusal | None:
    """The 400 for an unsupported ``MCP-Protocol-Version`` header (none for ``initialize``, which negotiates)."""
    from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

    if header is None or header in SUPPORTED_PROTOCOL_VERSIONS:
        return None
    messages = body if isinstance(body, list) else [body]
    if any(isinstance(message, dict) and message.get("method") == "initialize" for message in messages):
        return None
    shown = header if len(header) <= 40 else header[:40] + "…"
    return BodyRefusal(
        400,
        INVALID_REQUEST,
        f"Bad Request: Unsupported protocol version: {shown!r}. Supported versions: {', '.join(SUPPORTED_PROTOCOL_VERSIONS)}",
    )


def is_unknown_method(method: str) -> bool:
    """True for a method no MCP client request has (the answer is then -32601)."""
    return method not in client_request_methods()


def method_not_found_message(method: str) -> str:
    shown = method if len(method) <= 80 else method[:80] + "…"
    return f"Method not found: {shown!r}"
