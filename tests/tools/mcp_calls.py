"""Calling tools through a real MCP client session (in memory), shared by the tool tests."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult

from estat_aws_mcp.tools.template import EstatMCP


def server_with(*tool_modules: ModuleType) -> FastMCP:
    """A server with only the given tool modules registered (``module.register(mcp)``), strict inputs
    as in production."""
    mcp = EstatMCP("tool-test")
    for module in tool_modules:
        module.register(mcp)
    return mcp


async def call_tool(server: FastMCP, name: str, arguments: dict[str, Any]) -> CallToolResult:
    async with create_connected_server_and_client_session(server) as session:
        return await session.call_tool(name, arguments)


def error_text(result: CallToolResult) -> str:
    """The text of a tool error (fails the test if the result is not an error)."""
    assert result.isError, result
    return result.content[0].text
