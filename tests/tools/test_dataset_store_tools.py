# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""list_datasets and delete_dataset through a real MCP client session; the age limit before a fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.datasets.manifest import load_manifest, publish_manifest
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat
from tests.tools.mcp_calls import call_tool, error_text

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat) -> LocalObjectStore:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    monkeypatch.delenv("ESTAT_MCP_DATASET_MAX_AGE_DAYS", raising=False)
    return LocalObjectStore(root)


async def test_annotations() -> None:
    async with create_connected_server_and_client_session(build_server()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    listing, delete = tools["list_datasets"], tools["delete_dataset"]
    assert listing.annotations.readOnlyHint and not listing.annotations.destructiveHint
    assert delete.annotations.destructiveHint and not delete.annotations.readOnlyHint
    assert delete.inputSchema["properties"]["dataset_id"]["maxLength"] == 64
    assert listing.title and delete.title and listing.outputSchema and delete.outputSchema


async def test_fetch_list_export_delete(store: LocalObjectStore) -> None:
    server = build_server()
    fetched = (await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0003445078"})).structuredContent
    dataset_id = fetched["dataset_id"]
    csv = (await call_tool(server, "save_dataset_as_csv", {"dataset_id": dataset_id})).structuredContent
    listing = (await call_tool(server, "list_datasets", {})).structuredContent
    assert [d["dataset_id"] for d in listing["datasets"]] == [dataset_id]
    entry = listing["datasets"][0]
    assert entry["rows"] == 42 and entry["stats_data_id"] == "0003445078" and entry["updated_date"] == "2026-09-29"
    assert entry["exports"] == [f"exports/{dataset_id}.csv"] and entry["bytes"] > csv["bytes"]
    assert (await call_tool(server, "list_datasets", {"stats_data_id": "3445078"})).structuredContent["total"] == 1

    deleted = (await call_tool(server, "delete_dataset", {"dataset_id": dataset_id})).structuredContent
    assert deleted["exports_deleted"] == [f"exports/{dataset_id}.csv"] and deleted["bytes_freed"] == entry["bytes"]
    assert (await call_tool(server, "list_datasets", {})).structuredContent["datasets"] == []
    assert "unknown dataset_id" in error_text(await call_tool(server, "delete_dataset", {"dataset_id": dataset_id}))
    assert "invalid dataset_id" in error_text(await call_tool(server, "delete_dataset", {"dataset_id": "../etc"}))
    # the same table again: fetched anew (not reused from the deleted dataset)
    again = (await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0003445078"})).structuredContent
    assert not again["reused"] and again["dataset_id"] != dataset_id


async def test_age_limit_runs_before_a_fetch(
    store: LocalObjectStore, fake_estat: FakeEstat, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = build_server()
    first = (await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0003445078"})).structuredContent
    manifest = load_manifest(store, first["dataset_id"])
    manifest.created_at = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    publish_manifest(store, manifest)
    monkeypatch.setenv("ESTAT_MCP_DATASET_MAX_AGE_DAYS", "2")
    fake_estat.reset_log()
    second = (await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0003445078"})).structuredContent
    assert not second["reused"] and fake_estat.count("getStatsData") >= 1  # the expired dataset was not reused
    listing = (await call_tool(server, "list_datasets", {})).structuredContent
    assert [d["dataset_id"] for d in listing["datasets"]] == [second["dataset_id"]]
    assert listing["max_age_days"] == 2
