# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""One analyst's session through a real MCP client against the fake e-Stat: a small lookup answered inline,
a repeated fetch reused, the dataset listed and read as a resource, loaded twice without doubling, queried,
and deleted with its export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat) -> LocalObjectStore:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    monkeypatch.delenv("ESTAT_MCP_GLUE_DATABASE", raising=False)
    monkeypatch.delenv("ESTAT_MCP_DATASET_MAX_AGE_DAYS", raising=False)
    return LocalObjectStore(root)


async def test_an_analysts_session(store: LocalObjectStore, fake_estat: FakeEstat) -> None:
    async with create_connected_server_and_client_session(build_server()) as session:

        async def tool(name: str, **arguments):
            result = await session.call_tool(name, arguments)
            assert not result.isError, result.content
            return result.structuredContent

        # a lookup of a few cells: one call, the rows inline
        cells = await tool(
            "fetch_dataset_filtered",
            stats_data_id="0003445078",
            filters={"area": ["東京都", "大阪府"], "cat01": ["男", "女"]},
        )
        assert cells["rows_inline"] and len(cells["rows"]) == cells["row_count"] == 4
        assert {(r["area_name"], r["cat01_name"]) for r in cells["rows"]} == {
            (a, s) for a in ("東京都", "大阪府") for s in ("男", "女")
        }

        # the whole table, then again: the second answer comes from the store
        whole = await tool("fetch_dataset_auto", stats_data_id="0003445078")
        fake_estat.reset_log()
        again = await tool("fetch_dataset_auto", stats_data_id="0003445078")
        assert again["reused"] and again["dataset_id"] == whole["dataset_id"]
        assert fake_estat.count("getStatsData") == 0 and fake_estat.count("getMetaInfo") == 1

        # the store lists both datasets; each is a resource
        listed = await tool("list_datasets")
        assert {d["dataset_id"] for d in listed["datasets"]} == {cells["dataset_id"], whole["dataset_id"]}
        resource = await session.read_resource(f"estat://datasets/{whole['dataset_id']}")
        assert json.loads(resource.contents[0].text)["row_count"] == whole["row_count"]

        # loading twice does not double the table
        first = await tool("load_to_iceberg", dataset_id=whole["dataset_id"], table="census")
        second = await tool("load_to_iceberg", dataset_id=whole["dataset_id"], table="census")
        assert first["table_row_count"] == second["table_row_count"] == whole["row_count"]
        assert second["rows_replaced"] == whole["row_count"] and not second["warnings"]
        counted = await tool("analyze_with_athena", sql="SELECT count(*) AS n FROM census")
        assert counted["rows"] == [[whole["row_count"]]]

        # done with the small dataset: delete it and its export
        await tool("save_dataset_as_csv", dataset_id=cells["dataset_id"])
        deleted = await tool("delete_dataset", dataset_id=cells["dataset_id"])
        assert deleted["exports_deleted"] == [f"exports/{cells['dataset_id']}.csv"]
        assert [d["dataset_id"] for d in (await tool("list_datasets"))["datasets"]] == [whole["dataset_id"]]
        # the Iceberg table keeps its rows
        assert (await tool("analyze_with_athena", sql="SELECT count(*) AS n FROM census"))["rows"] == [
            [whole["row_count"]]
        ]
