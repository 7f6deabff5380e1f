"""result_wire_bytes: what a tool result costs, checked against what the MCP SDK really sends."""

from __future__ import annotations

import json

import pydantic_core
import pytest
from mcp import types
from mcp.server.fastmcp import FastMCP
from pydantic import BaseModel

from estat_aws_mcp.deadline import invocation_deadline
from estat_aws_mcp.lambda_handler.inprocess import InProcessRequestHandler
from estat_aws_mcp.limits import result_wire_bytes


class Cell(BaseModel):
    label: str
    value: float | None
    note: str | None = None


class Table(BaseModel):
    title: str
    cells: list[Cell]
    tags: dict[str, list[int]]


TABLES = {
    "ascii": Table(title="plain", cells=[Cell(label="a", value=1.5)], tags={"x": [1, 2]}),
    "japanese": Table(title="統計表", cells=[Cell(label="東京都", value=None, note="…")] * 50, tags={}),
    "escapes": Table(title='q"uote\\back\nnew\ttab\x01', cells=[Cell(label="😀", value=-0.0)], tags={"é": []}),
}


@pytest.fixture(scope="module")
def dispatcher():
    mcp = FastMCP("wire-test")

    @mcp.tool(structured_output=True)
    def table(kind: str) -> Table:
        """Return a table."""
        return TABLES[kind]

    handler = InProcessRequestHandler(mcp)
    yield handler
    handler.close()


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_matches_the_sdks_own_tool_result(dispatcher, kind) -> None:
    request = types.JSONRPCRequest(
        jsonrpc="2.0", id=1, method="tools/call", params={"name": "table", "arguments": {"kind": kind}}
    )
    with invocation_deadline(None):
        answer = dispatcher.handle_request(request, None)
    sent = answer.result  # the CallToolResult the SDK built: text copy + structuredContent
    assert sent["structuredContent"] == TABLES[kind].model_dump(mode="json")
    assert result_wire_bytes(TABLES[kind]) == len(json.dumps(sent))  # as the Lambda adapter encodes it
    assert result_wire_bytes(TABLES[kind]) >= len(pydantic_core.to_json(sent))  # never below the SDK's UTF-8
    assert result_wire_bytes(TABLES[kind], lambda_body=True) == len(json.dumps(json.dumps(sent)))
    message = types.CallToolResult.model_validate(sent)
    assert result_wire_bytes(message) == len(json.dumps(message.model_dump(by_alias=True, exclude_none=True)))


def test_both_copies_are_counted() -> None:
    one = result_wire_bytes({"text": "x" * 10_000})
    assert 20_000 < one < 21_000  # the text copy and the structured copy, not one of them
