"""Every dataset-file tool result stays under ``TOOL_RESULT_BUDGET_BYTES``, measured on the final
JSON-RPC payload: the bytes the HTTP transport sends (what a Lambda Function URL would return), and
the response re-encoded from an in-memory MCP client session. FastMCP sends a typed result twice
(text and structuredContent), and JSON-in-JSON escaping multiplies quotes and control characters, so
the inputs here are built to be expensive to encode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import JSONRPCResponse
from starlette.testclient import TestClient

from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.tools.server import build_server
from tests.datasets.conftest import synthetic_rows, write_dataset

ROWS = 120_000


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalObjectStore, str, str]]:
    root: Path = tmp_path_factory.mktemp("budget") / "store"
    store = LocalObjectStore(root)
    columns = synthetic_rows(ROWS)
    # Quotes, backslashes and half-width kana in every row; an emoji (cp932 cannot encode it) in 12,000.
    columns["annotation"] = [f'注記"{i}" \\ ｱｲｳｴｵ {"😀" if i % 10 == 0 else ""}' for i in range(ROWS)]
    big = write_dataset(store, columns)
    store.write_bytes("exports/control.csv", (('\x01\x02"\\' * 64) + "\n").encode() * 20_000)
    store.write_bytes("exports/kana.cp932.csv", (('"ｱ",' * 100) + "\n").encode("cp932") * 10_000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
        yield store, big.dataset_id, str(root)


def _calls(store: LocalObjectStore, dataset_id: str) -> list[tuple[str, dict[str, Any]]]:
    csv_uri = store.uri_for(f"exports/{dataset_id}.csv")
    return [
        ("save_dataset_as_csv", {"dataset_id": dataset_id}),
        ("save_dataset_as_csv", {"dataset_id": dataset_id, "encoding": "cp932"}),  # refused: huge report
        ("save_dataset_as_csv", {"dataset_id": dataset_id, "encoding": "cp932", "on_unencodable": "replace"}),
        ("transform_to_parquet", {"dataset_id": dataset_id}),
        ("download_csv_from_s3", {"uri": csv_uri, "max_bytes": TOOL_RESULT_BUDGET_BYTES}),
        ("download_csv_from_s3", {"uri": csv_uri, "max_bytes": TOOL_RESULT_BUDGET_BYTES, "offset": 5_000_001}),
        ("download_csv_from_s3", {"uri": store.uri_for("exports/control.csv"), "max_bytes": TOOL_RESULT_BUDGET_BYTES}),
        (
            "download_csv_from_s3",
            {"uri": store.uri_for("exports/kana.cp932.csv"), "max_bytes": TOOL_RESULT_BUDGET_BYTES},
        ),
    ]


@pytest.mark.anyio
async def test_results_fit_the_budget_in_memory_session(big_store) -> None:
    store, dataset_id, _ = big_store
    async with create_connected_server_and_client_session(build_server()) as session:
        for number, (name, arguments) in enumerate(_calls(store, dataset_id), start=1):
            result = await session.call_tool(name, arguments)
            response = JSONRPCResponse(
                jsonrpc="2.0", id=number, result=result.model_dump(by_alias=True, mode="json", exclude_none=True)
            )
            size = len(response.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8"))
            assert size < TOOL_RESULT_BUDGET_BYTES, (name, arguments, size)
            # A transport that escapes non-ASCII (json.dumps, as the Lambda adapter does) stays under it too.
            ascii_size = len(json.dumps(response.model_dump(by_alias=True, exclude_none=True)))
            assert ascii_size < TOOL_RESULT_BUDGET_BYTES, (name, arguments, ascii_size)
            _check_meaningful(name, arguments, result)


def _check_meaningful(name: str, arguments: dict[str, Any], result: Any) -> None:
    """The budget is met by bounding, not by failing or returning nothing."""
    if arguments.get("encoding") == "cp932" and "on_unencodable" not in arguments:
        assert result.isError and "U+1F600" in result.content[0].text
        return
    assert not result.isError, result.content
    data = result.structuredContent
    if name == "save_dataset_as_csv":
        assert data["row_count"] == ROWS and data["bytes"] > TOOL_RESULT_BUDGET_BYTES
    if name == "download_csv_from_s3":
        assert data["bytes_returned"] > 40_000 and not data["eof"]
        assert data["note"] == "page shortened to fit the response size budget"


def test_results_fit_the_budget_over_http(big_store) -> None:
    store, dataset_id, _ = big_store
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with TestClient(build_server().streamable_http_app(), base_url="http://127.0.0.1:8080") as client:
        for number, (name, arguments) in enumerate(_calls(store, dataset_id), start=1):
            request = {
                "jsonrpc": "2.0",
                "id": number,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            }
            response = client.post("/mcp", headers=headers, json=request)
            assert response.status_code == 200
            assert len(response.content) < TOOL_RESULT_BUDGET_BYTES, (name, arguments, len(response.content))
            body = json.loads(response.content)
            assert body["id"] == number and "result" in body
