"""Size budgets, and the one way to measure what a tool result costs on the wire.

Lambda's buffered Function URL response is capped at 6 MB, and FastMCP sends a typed tool
result twice (indented JSON as text content, compact JSON as ``structuredContent``). Every tool
keeps its result under :data:`TOOL_RESULT_BUDGET_BYTES` as measured by :func:`result_wire_bytes`;
large data travels by reference (dataset id, URIs, row count, schema, a small sample). The Lambda
edge measures each JSON-RPC answer with the same function (``lambda_body=True``) against what is
left of the 6 MB response.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pydantic_core
from pydantic import BaseModel

LAMBDA_RESPONSE_CAP_BYTES = 6 * 1024 * 1024
# What one tool result may cost (both copies, as result_wire_bytes measures it); several fit one Lambda response.
TOOL_RESULT_BUDGET_BYTES = 1024 * 1024
# Default text budget for command-style output (fits the limits of common MCP clients).
TEXT_OUTPUT_BUDGET_CHARS = 48_000
# Rows returned inline as a sample of a dataset.
SAMPLE_ROWS = 20


@functools.cache
def _message_types() -> tuple[type, ...]:
    """The MCP messages measured as they are (``mcp`` is imported on first use: the core stays light)."""
    from mcp import types

    return (types.CallToolResult, types.JSONRPCResponse, types.JSONRPCError)


def _tool_copies(result: Any) -> tuple[str, Any]:
    """The text and structured copies FastMCP makes of a tool's return value (``structured_output``)."""
    text = result if isinstance(result, str) else pydantic_core.to_json(result, fallback=str, indent=2).decode()
    if isinstance(result, BaseModel):
        structured = result.model_dump(mode="json", by_alias=True)
    elif isinstance(result, dict):
        structured = pydantic_core.to_jsonable_python(result, fallback=str)
    else:  # str, list, numbers...: FastMCP wraps them as {"result": ...}
        structured = {"result": pydantic_core.to_jsonable_python(result, fallback=str)}
    return text, structured


def result_wire_bytes(result: Any, *, lambda_body: bool = False) -> int:
    """What ``result`` costs on the wire, in bytes.

    ``result`` is a tool's return value (a pydantic output model, a dict...), which FastMCP sends as
    a ``CallToolResult`` with two copies: indented JSON as text content and compact JSON as
    ``structuredContent``; or an MCP message sent as is (``CallToolResult``, a JSON-RPC answer).

    Measured as the costliest transport sends it: ``json.dumps`` with ASCII escapes, as the AWS
    Lambda adapter encodes every answer (the SDK's UTF-8 encoding over stdio and ``serve --http`` is
    never larger), so one budget holds on every transport. With ``lambda_body=True``: the bytes the
    answer adds to a Lambda Function URL result, where that JSON travels once more as the ``body`` string.
    """
    if isinstance(result, _message_types()):
        body = _encoded_message(result)
    else:
        text, structured = _tool_copies(result)
        # = CallToolResult(content=[TextContent(text)], structuredContent=..., isError=False).model_dump(...)
        payload = {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}
        body = json.dumps(payload)
    # ASCII escapes and no indent: the body is printable ASCII, so its length as a JSON string is counted.
    return _quoted_length(body) if lambda_body else len(body)


def _encoded_message(message: Any) -> str:
    """``json.dumps(message.model_dump(by_alias=True, exclude_none=True))``, as the adapter encodes it.

    A JSON-RPC answer whose ``result`` is already plain JSON (the SDK hands answers over that way) is
    encoded without the copy ``model_dump`` makes first: a ``tools/list`` answer is ~90 KB, and every
    answer on the Lambda edge is measured.
    """
    result = getattr(message, "result", None)
    if type(result) is dict and type(message.id) in (str, int) and not message.model_extra:
        try:
            return json.dumps({"jsonrpc": message.jsonrpc, "id": message.id, "result": result})
        except TypeError:  # something in it is a model or another object model_dump converts first
            pass
    return json.dumps(message.model_dump(by_alias=True, exclude_none=True))


def _quoted_length(text: str) -> int:
    """``len(json.dumps(text))`` for printable ASCII ``text``: two quotes and one backslash per '"' or '\\'."""
    return len(text) + 2 + text.count('"') + text.count("\\")


def json_string_bytes(text: str) -> int:
    """``len(json.dumps(text))``, without encoding ``text`` again when it is printable ASCII (JSON text is)."""
    if not text.isascii() or not text.isprintable():
        return len(json.dumps(text))
    return _quoted_length(text)


def json_string_bytes_at_most(text: str) -> int:
    """A bound on ``len(json.dumps(text))`` in O(1): a character never takes more than 12 (a
    surrogate pair of ``\\uXXXX``), plus the quotes."""
    return 12 * len(text) + 2
