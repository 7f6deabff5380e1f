# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""Datasets and table metadata as MCP resources, and the analysis prompt, through a real client session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.shared.exceptions import McpError
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.tools.resources import column_meaning
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat) -> LocalObjectStore:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    return LocalObjectStore(root)


async def test_each_dataset_is_a_resource(store: LocalObjectStore) -> None:
    async with create_connected_server_and_client_session(build_server()) as session:
        assert (await session.list_resources()).resources == []
        fetched = await session.call_tool(
            "fetch_dataset_filtered", {"stats_data_id": "0003445078", "filters": {"area": ["東京都"]}}
        )
        dataset_id = fetched.structuredContent["dataset_id"]
        other = (await session.call_tool("fetch_dataset_auto", {"stats_data_id": "0003445078"})).structuredContent

        listed = (await session.list_resources()).resources
        # newest first; these two were written within the same second, so compare as a set
        assert {str(r.uri) for r in listed} == {
            f"estat://datasets/{other['dataset_id']}",
            f"estat://datasets/{dataset_id}",
        }
        assert all(r.mimeType == "application/json" and "rows" in (r.title or "") for r in listed)

        read = await session.read_resource(f"estat://datasets/{dataset_id}")
        document = json.loads(read.contents[0].text)
        assert document["dataset_id"] == dataset_id and document["stats_data_id"] == "0003445078"
        assert document["row_count"] == fetched.structuredContent["row_count"]
        assert document["filters"]["area"]["codes"] == ["13000"] and document["updated_date"] == "2026-09-29"
        columns = {c["name"]: c for c in document["columns"]}
        assert columns["value"]["type"] == "double" and "number" in columns["value"]["description"]
        assert columns["area_code"]["description"].startswith("item code of the area")
        assert document["credit"] == CREDIT_NOTICE and document["data_uri"].endswith("data.parquet")

        templates = {t.uriTemplate for t in (await session.list_resource_templates()).resourceTemplates}
        assert templates == {"estat://datasets/{dataset_id}", "estat://tables/{stats_data_id}"}

        with pytest.raises(McpError, match="unknown dataset_id"):
            await session.read_resource("estat://datasets/0003445078-000000000000")
        with pytest.raises(McpError, match="invalid dataset_id"):
            await session.read_resource("estat://datasets/..%2F..%2Fetc")


async def test_table_metadata_resource(store: LocalObjectStore, fake_estat: FakeEstat) -> None:
    async with create_connected_server_and_client_session(build_server()) as session:
        read = await session.read_resource("estat://tables/0003445078")
    document = json.loads(read.contents[0].text)
    assert document["stats_data_id"] == "0003445078"
    assert {axis["id"] for axis in document["axes"]} >= {"area", "time"}
    assert "area" in document["hierarchical_axes"]
    assert fake_estat.count("getMetaInfo") >= 1


async def test_analysis_prompt() -> None:
    async with create_connected_server_and_client_session(build_server()) as session:
        prompts = {p.name: p for p in (await session.list_prompts()).prompts}
        prompt = prompts["analyze_estat_statistics"]
        assert prompt.title and {a.name for a in prompt.arguments or []} == {"question", "area", "years"}
        assert [a.name for a in prompt.arguments or [] if a.required] == ["question"]
        result = await session.get_prompt(
            "analyze_estat_statistics", {"question": "東京都の人口の推移", "years": "2015-2020"}
        )
    text = result.messages[0].content.text
    assert "東京都の人口の推移" in text and "2015-2020" in text
    order = [
        text.index(tool)
        for tool in ("search_estat_data", "describe_estat_table", "fetch_dataset", "analyze_with_athena")
    ]
    assert order == sorted(order)
    assert "area_level = '2'" in text and CREDIT_NOTICE in text


def test_column_meanings() -> None:
    names = {"area": "地域"}
    assert column_meaning("area_parent_code", names).startswith("code of the area (地域) item's parent")
    assert "area_level = '2'" in column_meaning("area_level", names)
    assert column_meaning("cat01_name", {}) == "item name of the cat01 axis"
    assert column_meaning("something_else", {}) == ""
