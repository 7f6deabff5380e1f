# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""The three fetch tools through a real MCP client session (in memory) against the fake e-Stat."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import JSONRPCResponse

from estat_aws_mcp.datasets.manifest import load_manifest
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import SAMPLE_ROWS, TOOL_RESULT_BUDGET_BYTES, result_wire_bytes
from estat_aws_mcp.tools.dataset_fetch import ECHO_LIST_LIMIT, FetchDatasetResult, fit_to_budget
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, AxisItem, FakeEstat

pytestmark = pytest.mark.anyio
FETCH_TOOLS = {"fetch_dataset_auto", "fetch_dataset_filtered", "fetch_large_dataset_complete"}
LARGE_ID = "0009200001"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat) -> LocalObjectStore:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    return LocalObjectStore(root)


async def call(
    name: str, arguments: dict[str, Any], progress: list[tuple[float, float | None, str | None]] | None = None
):
    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        assert progress is not None
        progress.append((done, total, message))

    async with create_connected_server_and_client_session(build_server()) as session:
        result = await session.call_tool(
            name, arguments, progress_callback=on_progress if progress is not None else None
        )
    payload = JSONRPCResponse(
        jsonrpc="2.0", id=1, result=result.model_dump(by_alias=True, mode="json", exclude_none=True)
    ).model_dump_json(by_alias=True, exclude_none=True)
    assert len(payload.encode("utf-8")) < TOOL_RESULT_BUDGET_BYTES, (name, len(payload))
    return result


def error_text(result: Any) -> str:
    assert result.isError, result
    return result.content[0].text


async def test_tools_are_listed_with_typed_schemas() -> None:
    async with create_connected_server_and_client_session(build_server()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) >= FETCH_TOOLS
    filtered = tools["fetch_dataset_filtered"].inputSchema
    assert filtered["required"] == ["stats_data_id", "filters"]
    schema_text = json.dumps(filtered)
    for word in ('"from"', '"to"', '"level"', '"values"'):
        assert word in schema_text
    complete = tools["fetch_large_dataset_complete"].inputSchema
    assert complete["required"] == ["stats_data_id"]
    assert "concurrency" in complete["properties"]
    assert tools["fetch_dataset_auto"].outputSchema["properties"]["dataset_id"]


async def test_auto_fetch_returns_a_handle_that_other_tools_accept(store: LocalObjectStore) -> None:
    result = await call("fetch_dataset_auto", {"stats_data_id": "3445078"})
    assert not result.isError, result.content
    data = result.structuredContent
    assert data["stats_data_id"] == "0003445078" and data["fetch_mode"] == "single_request"
    # 42 rows: small enough to come back inline (every row, null cells left out), the dataset still written
    assert data["row_count"] == 42 and data["rows_inline"] and len(data["rows"]) == 42 and data["sample"] == []
    assert not data["reused"] and all("annotation" not in row for row in data["rows"])
    assert data["credit"] == CREDIT_NOTICE
    assert data["table"]["survey"] == "国勢調査" and data["table"]["updated_date"] == "2026-09-29"
    assert [c["name"] for c in data["columns"]][:2] == ["tab_code", "tab_name"]
    assert data["uris"]["data"].endswith(f"datasets/{data['dataset_id']}/data.parquet")
    assert load_manifest(LocalObjectStore(store.root), data["dataset_id"]).row_count == 42
    # A later call (another tool, as a later request would) accepts the dataset_id.
    csv = await call("save_dataset_as_csv", {"dataset_id": data["dataset_id"]})
    assert not csv.isError and csv.structuredContent["row_count"] == 42


async def test_filtered_fetch_by_names(store: LocalObjectStore) -> None:
    arguments = {"stats_data_id": "0003445078", "filters": {"area": ["東京都", "広島県"], "cat01": {"values": ["女"]}}}
    result = await call("fetch_dataset_filtered", arguments)
    data = result.structuredContent
    assert data["row_count"] == 2 and data["fetch_mode"] == "filtered"
    assert {row["area_name"] for row in data["rows"]} == {"東京都", "広島県"}
    assert data["filters"]["area"]["codes"] == ["13000", "34000"]


@pytest.mark.parametrize(
    ("tool", "arguments", "fragments"),
    [
        ("fetch_dataset_auto", {"stats_data_id": "abc"}, ["invalid stats_data_id", "10-digit"]),
        (
            "fetch_dataset_filtered",
            {"stats_data_id": "0003445078", "filters": {"area": ["府中市"]}},
            ["ambiguous", "13206 府中市", "34208 府中市", "東京都", "広島県"],
        ),
        ("fetch_dataset_filtered", {"stats_data_id": "0003445078", "filters": {"area": []}}, ["empty list"]),
        ("fetch_dataset_filtered", {"stats_data_id": "0003445078", "filters": {}}, ["at least one axis"]),
        (
            "fetch_dataset_filtered",
            {"stats_data_id": "0003445078", "filters": {"cat05": ["1"]}},
            ["not an axis of this table", "tab, cat01, area, time"],
        ),
        (
            "fetch_dataset_filtered",
            {"stats_data_id": "0003445078", "filters": {"area": ["東京"]}},
            ["no item with code or name '東京'", "東京都"],
        ),
        ("fetch_large_dataset_complete", {"stats_data_id": "0003445078", "concurrency": 0}, ["concurrency"]),
        ("fetch_dataset_auto", {"stats_data_id": "0000000404"}, ["0000000404"]),
    ],
)
async def test_bad_input_gives_clear_errors(
    store: LocalObjectStore, tool: str, arguments: dict[str, Any], fragments: list[str]
) -> None:
    text = error_text(await call(tool, arguments))
    for fragment in fragments:
        assert fragment in text, text
    assert store.list_keys() == []


@pytest.fixture
def large_table(fake_estat: FakeEstat) -> Iterator[str]:
    """SYNTHETIC: 1,500 areas with 400-character names x 170 categories = 255,000 rows."""
    long_name = "長い地域名" * 80
    areas = Axis("area", "地域", [AxisItem(f"{i:05d}", f"{long_name}{i}", "2") for i in range(1500)])
    fake_estat.add_generated_table(
        LARGE_ID, [Axis.numbered("cat01", "品目", 170, width=4, unit="円"), areas], catalog=False
    )
    yield LARGE_ID
    fake_estat.tables.pop(LARGE_ID, None)


async def test_large_table_progress_and_result_budget(store: LocalObjectStore, large_table: str) -> None:
    area_codes = [f"{i:05d}" for i in range(1500)]
    progress: list[tuple[float, float | None, str | None]] = []
    result = await call(
        "fetch_large_dataset_complete",
        {"stats_data_id": large_table, "filters": {"area": area_codes}, "concurrency": 4},
        progress,
    )
    assert not result.isError, result.content
    data = result.structuredContent
    assert data["row_count"] == 255_000 and data["requests"] == 15 and data["pages"] == 15
    # The echo of 1,500 long names would not fit: it is cut, said so, and the manifest keeps it whole.
    assert len(data["filters"]["area"]["names"]) == ECHO_LIST_LIMIT
    assert data["filters"]["area"]["names_total"] == 1500 and data["truncated"]
    assert len(load_manifest(store, data["dataset_id"]).filters["area"]["names"]) == 1500
    # Progress notifications reached the client: one per page, ending at the total.
    assert len(progress) == 15
    assert [done for done, _, _ in progress] == sorted(done for done, _, _ in progress)
    assert progress[-1][:2] == (255_000, 255_000)
    assert all(total == 255_000 and message for _, total, message in progress)


def test_fit_to_budget_bounds_any_result() -> None:
    huge = "値" * 5_000
    result = FetchDatasetResult(
        dataset_id="0000000001-0123456789ab",
        stats_data_id="0000000001",
        fetch_mode="filtered",
        row_count=1,
        uris={"data": "file:///x/data.parquet", "manifest": "file:///x/manifest.json"},
        columns=[{"name": "value", "type": "double"}],
        table={"title": huge, "survey": huge},
        filters={f"cat{i:02d}": {"codes": [huge] * 60, "names": [huge] * 60} for i in range(1, 16)},
        requests=1,
        pages=1,
        concurrency=1,
        elapsed_s=0.1,
        sample=[{"area_name": huge, "value": 1.0}] * SAMPLE_ROWS,
    )
    assert result_wire_bytes(result) > TOOL_RESULT_BUDGET_BYTES
    fitted = fit_to_budget(result)
    assert result_wire_bytes(fitted) <= TOOL_RESULT_BUDGET_BYTES
    assert fitted.sample and fitted.truncated


def test_fetch_modules_import_no_heavy_library() -> None:
    """Cold start: registering and even importing the fetch engine loads neither pyarrow nor pandas."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import estat_aws_mcp.tools.dataset_fetch, estat_aws_mcp.datasets.fetch\n"
        "from estat_aws_mcp.tools.server import build_server\n"
        "build_server()\n"
        "print(sorted(m for m in ('pyarrow', 'pandas', 'duckdb', 'pyiceberg') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


async def test_inline_rows_threshold(store: LocalObjectStore) -> None:
    """inline_rows bounds what comes back inline; above it (or with 0) the result carries a sample only."""
    small = (await call("fetch_dataset_auto", {"stats_data_id": "0003445078", "inline_rows": 42})).structuredContent
    assert small["rows_inline"] and len(small["rows"]) == 42
    over = (
        await call("fetch_dataset_auto", {"stats_data_id": "0003445078", "inline_rows": 41, "refresh": True})
    ).structuredContent
    assert not over["rows_inline"] and over["rows"] is None and len(over["sample"]) == SAMPLE_ROWS
    never = (
        await call("fetch_dataset_auto", {"stats_data_id": "0003445078", "inline_rows": 0, "refresh": True})
    ).structuredContent
    assert never["rows"] is None and len(never["sample"]) == SAMPLE_ROWS
    # the inline rows are the dataset's rows
    from tests.datasets.conftest import read_parquet

    with store.open_read(load_manifest(store, small["dataset_id"]).data_key) as fh:
        stored = read_parquet(fh).to_pylist()
    as_json = [{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in stored]  # dates
    assert small["rows"] == [{k: v for k, v in row.items() if v is not None} for row in as_json]


def test_inline_rows_too_large_for_the_budget_fall_back_to_a_sample() -> None:
    huge = "値" * 2_000
    rows = [{"area_name": f"{huge}{i}", "value": float(i)} for i in range(400)]
    result = FetchDatasetResult(
        dataset_id="0000000001-0123456789ab",
        stats_data_id="0000000001",
        fetch_mode="single_request",
        row_count=400,
        uris={"data": "file:///x/data.parquet", "manifest": "file:///x/manifest.json"},
        columns=[{"name": "value", "type": "double"}],
        table={},
        filters={},
        requests=1,
        pages=1,
        concurrency=1,
        elapsed_s=0.1,
        rows=rows,
        rows_inline=True,
        sample=[],
    )
    fitted = fit_to_budget(result)
    assert result_wire_bytes(fitted) <= TOOL_RESULT_BUDGET_BYTES
    assert fitted.rows is None and not fitted.rows_inline and len(fitted.sample) == SAMPLE_ROWS
    assert any("inline" in note for note in fitted.truncated)


REUSE_ID = "0009200002"


@pytest.fixture
def reuse_table(fake_estat: FakeEstat) -> Iterator[Any]:
    """SYNTHETIC: 3 categories x 48 areas (hierarchical) x 30 years = 4,320 rows."""
    table = fake_estat.add_generated_table(
        REUSE_ID, [Axis.numbered("cat01", "項目", 3), Axis.areas(47), Axis.years(1991, 2020)], catalog=False
    )
    yield table
    fake_estat.tables.pop(REUSE_ID, None)


async def test_an_unchanged_table_is_reused_without_page_requests(
    store: LocalObjectStore, fake_estat: FakeEstat, reuse_table: Any
) -> None:
    first = (await call("fetch_large_dataset_complete", {"stats_data_id": REUSE_ID})).structuredContent
    assert not first["reused"] and first["row_count"] == 4320
    fake_estat.reset_log()

    again = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    assert again["reused"] and again["dataset_id"] == first["dataset_id"] and again["row_count"] == 4320
    assert again["pages"] == 0 and len(again["sample"]) == SAMPLE_ROWS
    assert again["fetched_at"] == first["fetched_at"]  # the data is as old as the first download
    assert fake_estat.count("getMetaInfo") == 1 and fake_estat.count("getStatsData") == 0

    fake_estat.reset_log()
    refreshed = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID, "refresh": True})).structuredContent
    assert not refreshed["reused"] and refreshed["dataset_id"] != first["dataset_id"]
    assert fake_estat.count("getStatsData") >= 2  # count + page

    # e-Stat updates the table: the stored dataset is stale, the next fetch downloads again
    reuse_table.update(updated_date="2026-11-30")
    fake_estat.reset_log()
    updated = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    assert not updated["reused"] and updated["table"]["updated_date"] == "2026-11-30"
    assert fake_estat.count("getStatsData") >= 2
    fake_estat.reset_log()
    assert (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent["dataset_id"] == (
        updated["dataset_id"]
    )
    assert fake_estat.count("getStatsData") == 0


async def test_reuse_needs_the_same_filters(store: LocalObjectStore, fake_estat: FakeEstat, reuse_table: Any) -> None:
    tokyo = {"stats_data_id": REUSE_ID, "filters": {"area": ["都道府県13"], "time": {"from": "2011年", "to": "2020年"}}}
    first = (await call("fetch_dataset_filtered", tokyo)).structuredContent
    assert first["row_count"] == 30 and first["rows_inline"]
    fake_estat.reset_log()
    # the same selection written with codes is the same request: reused, rows inline from the store
    by_code = {
        "stats_data_id": REUSE_ID,
        "filters": {"area": ["13000"], "time": {"from": "2011000000", "to": "2020000000"}},
    }
    again = (await call("fetch_dataset_filtered", by_code)).structuredContent
    assert again["reused"] and again["dataset_id"] == first["dataset_id"] and again["rows"] == first["rows"]
    assert fake_estat.count("getStatsData") == 0
    other = (await call("fetch_dataset_filtered", {**tokyo, "filters": {"area": ["14000"]}})).structuredContent
    assert not other["reused"] and other["dataset_id"] != first["dataset_id"]
    whole = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    assert not whole["reused"] and whole["row_count"] == 4320


async def test_a_deleted_dataset_is_not_reused(
    store: LocalObjectStore, fake_estat: FakeEstat, reuse_table: Any
) -> None:
    first = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    store.delete_prefix(f"datasets/{first['dataset_id']}")
    again = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    assert not again["reused"] and again["dataset_id"] != first["dataset_id"] and again["row_count"] == 4320


async def test_names_in_another_language_are_not_answered_from_the_store(
    store: LocalObjectStore, fake_estat: FakeEstat, reuse_table: Any
) -> None:
    """Same UPDATED_DATE but the metadata names differ (e.g. lang=E): a new dataset, not the stored one."""
    first = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    reuse_table.title = "Synthetic table (English title)"
    reuse_table.update()  # invalidates the fake's cached pages
    again = (await call("fetch_dataset_auto", {"stats_data_id": REUSE_ID})).structuredContent
    assert not again["reused"] and again["dataset_id"] != first["dataset_id"]
    assert again["table"]["title"] == "Synthetic table (English title)"
