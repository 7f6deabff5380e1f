"""A real MCP SDK client against a real uvicorn server behind the gate (token and OAuth bearer tokens)."""

from __future__ import annotations

import logging

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.settings import Settings
from tests.lambda_handler.conftest import build_test_server
from tests.processes import serving

TOKEN = "sdk-s3cr3t-token-0123456789abcdef"


async def list_and_call(url: str, headers: dict[str, str]) -> tuple[list[str], str]:
    async with (
        streamablehttp_client(url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool("echo", {"text": "統計"})
        return [tool.name for tool in tools.tools], result.content[0].text


@pytest.mark.anyio
async def test_token_mode_with_the_sdk_client(caplog) -> None:
    app = build_http_app(settings=Settings(ESTAT_MCP_AUTH_TOKEN=TOKEN), server=build_test_server())
    with caplog.at_level(logging.INFO), serving(app) as base_url:
        names, echoed = await list_and_call(f"{base_url}/mcp", {"X-API-Key": TOKEN})
        assert "echo" in names
        assert echoed == "統計"
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"{base_url}/mcp", json={}, headers={"Authorization": "Bearer nope-nope"})
            assert (await http.get(f"{base_url}/health")).status_code == 200
    assert refused.status_code == 401
    assert TOKEN not in caplog.text
    assert "nope-nope" not in caplog.text


@pytest.mark.anyio
async def test_oauth_mode_with_the_sdk_client(issuer, caplog) -> None:
    app = build_http_app(settings=issuer.settings(), server=build_test_server())
    token = issuer.sign(sub="carol")
    with caplog.at_level(logging.INFO), serving(app) as base_url:
        names, _ = await list_and_call(f"{base_url}/mcp", {"Authorization": f"Bearer {token}"})
        assert "echo" in names
        async with httpx.AsyncClient() as http:
            metadata = (await http.get(f"{base_url}/.well-known/oauth-protected-resource/mcp")).json()
    assert metadata["authorization_servers"] == [issuer.url]
    assert "caller=carol" in caplog.text
    assert token not in caplog.text
