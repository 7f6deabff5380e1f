"""Streamable HTTP transport rules the conformance probes found broken, through both HTTP transports on real
servers: ``serve --http``'s app under uvicorn and the Lambda handler behind the Function URL emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from estat_aws_mcp.settings import Settings
from estat_aws_mcp.tools.server import build_server
from tests.lambda_handler.conftest import MCP_HEADERS, FakeLambdaContext, rpc
from tests.lambda_handler.function_url import FunctionUrlEmulator, direct_invoker
from tests.processes import serving


@pytest.fixture(scope="module", params=["serve-http", "lambda"])
def mcp_url(request, tmp_path_factory) -> Iterator[str]:
    patch = pytest.MonkeyPatch()
    patch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path_factory.mktemp("store")))
    for name in ("ESTAT_MCP_AUTH_TOKEN", "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER", "ESTAT_MCP_AUTH_MODE"):
        patch.delenv(name, raising=False)
    try:
        if request.param == "lambda":
            handler = build_function_url_handler(Settings(), server=build_server())
            emulator = FunctionUrlEmulator(direct_invoker(handler.handle, FakeLambdaContext)).start()
            try:
                yield emulator.mcp_url
            finally:
                emulator.stop()
        else:
            with serving(build_http_app(settings=Settings(), server=build_server())) as base:
                yield f"{base}/mcp"
    finally:
        patch.undo()


def test_an_unsupported_protocol_version_header_is_400(mcp_url) -> None:
    headers = {**MCP_HEADERS, "mcp-protocol-version": "1999-01-01"}
    refused = httpx.post(mcp_url, json=rpc("tools/list"), headers=headers, timeout=30)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == -32600
    assert "1999-01-01" in refused.json()["error"]["message"]


def test_supported_versions_and_initialize_pass(mcp_url) -> None:
    for version in ("2025-03-26", "2025-06-18", "2025-11-25"):
        headers = {**MCP_HEADERS, "mcp-protocol-version": version}
        assert httpx.post(mcp_url, json=rpc("ping"), headers=headers, timeout=30).json()["result"] == {}
    # initialize negotiates the version: a header it does not know does not stop it
    init = rpc(
        "initialize", {"protocolVersion": "2099-01-01", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    )
    answer = httpx.post(mcp_url, json=init, headers={**MCP_HEADERS, "mcp-protocol-version": "2099-01-01"}, timeout=30)
    assert answer.json()["result"]["protocolVersion"] == "2025-11-25"


def test_get_opens_no_event_stream(mcp_url) -> None:
    """405 at once: a stateless server would never send anything on it (serve --http held it open forever)."""
    answer = httpx.get(mcp_url, headers={"accept": "text/event-stream"}, timeout=5)
    assert answer.status_code == 405
    assert "POST" in answer.headers["allow"]


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world-secret-value"},
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["world-secret-value"]},
        42,
    ],
)
def test_a_body_that_is_not_json_rpc_is_invalid_request(mcp_url, body) -> None:
    refused = httpx.post(mcp_url, json=body, headers=MCP_HEADERS, timeout=30)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == -32600
    assert refused.json()["id"] is None
    assert "world-secret-value" not in refused.text  # no validation report quoting the body back


def test_a_request_with_a_null_id_is_invalid_not_a_silent_notification(mcp_url) -> None:
    refused = httpx.post(mcp_url, json={"jsonrpc": "2.0", "id": None, "method": "ping"}, headers=MCP_HEADERS)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == -32600
    notification = httpx.post(
        mcp_url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=MCP_HEADERS
    )
    assert notification.status_code == 202
