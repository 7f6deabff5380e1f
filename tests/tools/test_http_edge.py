# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""``serve --http`` on a real uvicorn server: JSON-RPC edge codes, and progress over streamable HTTP (SSE)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.settings import Settings
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, FakeEstat
from tests.processes import serving

TABLE_ID = "0009300001"
JSON_ONLY = {"content-type": "application/json", "accept": "application/json"}
BOTH = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat) -> Iterator[str]:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    for name in ("ESTAT_MCP_AUTH_TOKEN", "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER", "ESTAT_MCP_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    # SYNTHETIC: 3 x 47 x 25 = 3,525 rows.
    fake_estat.add_generated_table(
        TABLE_ID,
        [Axis.numbered("cat01", "男女", 3), Axis.numbered("area", "地域", 47, width=5), Axis.years(2000, 2024)],
        catalog=False,
    )
    with serving(build_http_app(settings=Settings())) as url:
        yield f"{url}/mcp"
    fake_estat.tables.pop(TABLE_ID, None)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"[]", 400, -32600),
        (b"[" * 100_000 + b"]" * 100_000, 400, -32700),
        (b'{"jsonrpc": "2.0", "id": 7, "method": "no/such/method"}', 200, -32601),
    ],
)
@pytest.mark.parametrize("headers", [JSON_ONLY, BOTH])
def test_protocol_edge_codes(http_server: str, body: bytes, status: int, code: int, headers: dict) -> None:
    response = httpx.post(http_server, content=body, headers=headers, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text


def test_plain_json_for_a_json_only_client(http_server: str) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    response = httpx.post(http_server, json=ping, headers=JSON_ONLY, timeout=30)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"jsonrpc": "2.0", "id": 1, "result": {}}


def test_progress_reaches_an_sdk_client_over_http(http_server: str) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def run() -> object:
        with anyio.fail_after(60):
            async with streamable_http_client(http_server) as (read, write, _), ClientSession(read, write) as session:
                await session.initialize()
                return await session.call_tool(
                    "fetch_large_dataset_complete", {"stats_data_id": TABLE_ID}, progress_callback=on_progress
                )

    result = anyio.run(run)
    assert not result.isError, result.content
    assert result.structuredContent["row_count"] == 3525
    assert progress, "no progress notification reached the client"
    assert progress[-1][:2] == (3525, 3525)


@pytest.mark.parametrize("accept", ["*/*", "application/json, text/event-stream"])
def test_a_request_with_a_progress_token_is_streamed(http_server: str, accept: str) -> None:
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"_meta": {"progressToken": "p-1"}}}
    response = httpx.post(http_server, json=ping, headers={"content-type": "application/json", "accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert '"id":2' in response.text.replace(" ", "")
    plain = httpx.post(http_server, json={**ping, "params": {}}, headers=BOTH)  # no token: plain JSON
    assert plain.headers["content-type"].startswith("application/json")


def test_a_client_that_accepts_only_an_event_stream_gets_one(http_server: str) -> None:
    ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    response = httpx.post(http_server, json=ping, headers=headers, timeout=30)
    assert response.status_code == 200  # not the JSON mode's 406 "must accept application/json"
    assert response.headers["content-type"].startswith("text/event-stream")
    assert '"id":3' in response.text.replace(" ", "")


def test_a_body_that_is_not_declared_json_is_left_to_the_sdk(http_server: str) -> None:
    headers = {"content-type": "text/plain", "accept": "application/json"}
    response = httpx.post(http_server, content=b"[]", headers=headers)
    assert response.status_code in (400, 415) and "Content-Type" in response.text  # the SDK's refusal
    assert "empty batch" not in response.text
