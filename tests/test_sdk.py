"""The SDK adapter (estat_aws_mcp.sdk) against the installed MCP SDK: what it reads is still there."""

from __future__ import annotations

import anyio
import pytest
from mcp import types
from mcp.server.fastmcp import FastMCP
from mcp.server.lowlevel import Server
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp import __version__, sdk


def test_fastmcp_still_wraps_a_low_level_server() -> None:
    mcp = FastMCP("probe")
    inner = sdk.low_level_server(mcp)
    assert isinstance(inner, Server)
    assert sdk.low_level_server(inner) is inner
    assert inner.name == "probe"


def test_a_moved_attribute_fails_loudly_naming_the_adapter() -> None:
    class NotFastMCP:  # what FastMCP would look like if the SDK renamed its private attribute
        _mcp_server = None

    with pytest.raises(sdk.SdkIncompatible, match=r"estat_aws_mcp\.sdk"):
        sdk.low_level_server(NotFastMCP())


def test_registered_tools_and_prompts_are_found_by_name() -> None:
    mcp = FastMCP("probe")

    @mcp.tool(name="probe_tool")
    def probe_tool() -> str:
        return "ok"

    @mcp.prompt(name="probe_prompt")
    def probe_prompt(topic: str) -> str:
        return topic

    assert sdk.registered_tool(mcp, "probe_tool").name == "probe_tool"
    assert sdk.registered_tool(mcp, "no_such_tool") is None
    prompt = sdk.registered_prompt(mcp, "probe_prompt")
    assert [(a.name, a.required) for a in prompt.arguments] == [("topic", True)]
    assert sdk.registered_prompt(mcp, "no_such_prompt") is None


def test_moved_managers_fail_loudly_naming_the_adapter() -> None:
    class NotFastMCP:  # what FastMCP would look like if the SDK renamed its private managers
        pass

    with pytest.raises(sdk.SdkIncompatible, match=r"estat_aws_mcp\.sdk\.registered_tool"):
        sdk.registered_tool(NotFastMCP(), "x")
    with pytest.raises(sdk.SdkIncompatible, match=r"estat_aws_mcp\.sdk\.registered_prompt"):
        sdk.registered_prompt(NotFastMCP(), "x")


def test_the_server_reports_its_version_in_initialize() -> None:
    from estat_aws_mcp.tools.server import build_server

    async def initialize() -> types.InitializeResult:
        async with create_connected_server_and_client_session(build_server()) as session:
            return await session.initialize()

    assert anyio.run(initialize).serverInfo.version == __version__


def test_client_request_methods_are_read_from_the_sdk() -> None:
    methods = sdk.client_request_methods()
    assert {"initialize", "ping", "tools/list", "tools/call", "resources/read", "prompts/get"} <= methods
    assert "no/such/method" not in methods
    # Every method a client request model declares (the SDK's own list) is there.
    declared = {model.model_fields["method"].default for model in (types.CallToolRequest, types.ListToolsRequest)}
    assert declared <= methods
