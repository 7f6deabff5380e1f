# ruff: noqa: F811  (test parameters named after the imported fixtures)
"""describe_estat_table through a real MCP client session against the fake e-Stat: the recorded census
metadata (hierarchical area), paging and search in a huge axis, the result budget, English names."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.types import CallToolResult, JSONRPCResponse

from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.estat.describe import TableDescription
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.tools import estat_describe
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, AxisItem, FakeEstat
from tests.tools.mcp_calls import call_tool, error_text, server_with

pytestmark = pytest.mark.anyio


async def describe(arguments: dict[str, Any]) -> CallToolResult:
    result = await call_tool(server_with(estat_describe), "describe_estat_table", arguments)
    payload = JSONRPCResponse(
        jsonrpc="2.0", id=1, result=result.model_dump(by_alias=True, mode="json", exclude_none=True)
    ).model_dump_json(by_alias=True, exclude_none=True)
    assert len(payload.encode("utf-8")) < TOOL_RESULT_BUDGET_BYTES + 4096, len(payload)
    return result


def described(result: CallToolResult) -> TableDescription:
    assert not result.isError, result.content
    return TableDescription.model_validate(result.structuredContent)


async def test_the_tool_follows_the_template() -> None:
    from mcp.shared.memory import create_connected_server_and_client_session

    async with create_connected_server_and_client_session(build_server()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    tool = tools["describe_estat_table"]
    assert tool.title and tool.outputSchema and tool.annotations.readOnlyHint and tool.annotations.openWorldHint
    assert tool.annotations.destructiveHint is False
    properties = tool.inputSchema["properties"]
    assert properties["lang"]["enum"] == ["J", "E"]
    assert properties["stats_data_id"]["maxLength"] and properties["max_items"]["maximum"]


async def test_recorded_census_table_hierarchy_time_and_notes(fake_estat: FakeEstat) -> None:
    data = described(await describe({"stats_data_id": "3445078"}))  # the recorded getMetaInfo #13
    assert data.stats_data_id == "0003445078" and data.survey == "国勢調査" and data.updated_date == "2026-09-29"
    assert data.credit == CREDIT_NOTICE
    assert data.hierarchical_axes == ["area"]
    axes = {axis.id: axis for axis in data.axes}
    assert [axis.id for axis in data.axes] == ["tab", "cat01", "area", "time"]
    area = axes["area"]
    assert area.item_count == 14 and area.hierarchical and area.levels["1"] == 1 and "2" in area.levels
    sapporo = next(item for item in area.items if item.code == "01100")
    assert (sapporo.name, sapporo.level, sapporo.parent_code) == ("札幌市", "4", "01000")
    assert axes["tab"].items[0].unit == "人" and not axes["cat01"].hierarchical
    year = axes["time"].items[0]
    assert (year.time_start, year.time_end, year.time_granularity) == ("2020-01-01", "2020-12-31", "year")
    # NOTE and the exact row count come from one limit=1 data request (#14 declares *** and -).
    assert {note.char for note in data.data_notes} == {"***", "-"}
    assert data.total_rows == fake_estat.tables["0003445078"].total_rows
    assert any("area_level = '2'" in note for note in data.notes)
    probes = [r.params for r in fake_estat.requests if r.endpoint == "getStatsData"]
    assert probes == [
        {
            "statsDataId": "0003445078",
            "limit": "1",
            "metaGetFlg": "N",
            "explanationGetFlg": "N",
            "annotationGetFlg": "N",
        }
    ]


async def test_cpi_time_axis_months_and_fiscal_year(fake_estat: FakeEstat) -> None:
    data = described(await describe({"stats_data_id": "0004052037", "axis": "time"}))  # #15
    time = next(axis for axis in data.axes if axis.id == "time")
    by_code = {item.code: item for item in time.items}
    assert by_code["2026000909"].time_granularity == "month" and by_code["2026000909"].time_end == "2026-09-30"
    assert by_code["2025100000"].time_granularity == "fiscal_year"
    assert by_code["2025100000"].time_start == "2025-04-01" and by_code["2025100000"].time_end == "2026-03-31"
    assert time.hierarchical and time.notes == []
    others = [axis for axis in data.axes if axis.id != "time"]
    assert others and all(axis.items == [] and axis.next_offset == 0 for axis in others)  # summarised


def municipalities_table(fake: FakeEstat, count: int = 1900) -> None:
    area = Axis.areas(47)
    area.items += [
        AxisItem(f"{(i % 47) + 1:02d}{i:03d}"[-5:], f"市区町村{i:04d}", "3", None, f"{(i % 47) + 1:02d}000")
        for i in range(100, 100 + count)
    ]
    fake.add_generated_table("0009100001", [Axis.numbered("cat01", "男女", 2), area, Axis.years(2020, 2020)])


async def test_a_huge_axis_is_paged_and_searchable(fake_estat: FakeEstat) -> None:
    municipalities_table(fake_estat)
    first = described(await describe({"stats_data_id": "0009100001", "axis": "area", "max_items": 50}))
    area = next(axis for axis in first.axes if axis.id == "area")
    assert area.item_count == 1948 and len(area.items) == 50 and area.next_offset == 50
    assert area.levels == {"1": 1, "2": 47, "3": 1900}
    second = described(
        await describe({"stats_data_id": "0009100001", "axis": "area", "max_items": 50, "offset": area.next_offset})
    )
    page2 = next(a for a in second.axes if a.id == "area").items
    assert {i.code for i in page2}.isdisjoint({i.code for i in area.items})

    by_name = described(await describe({"stats_data_id": "0009100001", "axis": "area", "search": "市区町村019"}))
    found = next(a for a in by_name.axes if a.id == "area")
    assert found.matched == 10 and all("市区町村019" in item.name for item in found.items)

    children = described(
        await describe({"stats_data_id": "0009100001", "axis": "area", "parent_code": "13000", "max_items": 2000})
    )
    kids = next(a for a in children.axes if a.id == "area")
    assert kids.matched == len(kids.items) > 0 and all(item.parent_code == "13000" for item in kids.items)

    prefectures = described(await describe({"stats_data_id": "0009100001", "axis": "area", "level": "2"}))
    assert next(a for a in prefectures.axes if a.id == "area").matched == 47

    by_code = described(await describe({"stats_data_id": "0009100001", "axis": "area", "search": "13"}))
    assert all(item.code.startswith("13") or "13" in item.name for a in by_code.axes for item in a.items)


async def test_the_answer_stays_within_the_budget(fake_estat: FakeEstat) -> None:
    long_name = "とても長い名称" * 60
    items = [AxisItem(f"{i:05d}", f"{long_name}{i}", "1") for i in range(3000)]
    fake_estat.add_generated_table("0009100002", [Axis("cat01", "長い分類", items), Axis.years(2020, 2020)])
    data = described(await describe({"stats_data_id": "0009100002", "max_items": 2000}))
    cat = next(a for a in data.axes if a.id == "cat01")
    assert data.truncated and 0 < len(cat.items) < 2000 and cat.next_offset == len(cat.items)


async def test_english_names(fake_estat: FakeEstat) -> None:
    # SYNTHETIC English: no lang=E response was ever recorded (see PROVENANCE.md).
    areas = Axis.areas(3)
    areas.description = "全国及び都道府県（SYNTHETIC explanation）"
    fake_estat.add_generated_table("0009100003", [areas, Axis.years(2019, 2020)], title_en="Population (SYNTHETIC)")
    data = described(await describe({"stats_data_id": "0009100003", "lang": "E"}))
    assert data.lang == "E" and data.title == "Population (SYNTHETIC)"
    area = next(a for a in data.axes if a.id == "area")
    assert area.name == "Area" and area.items[0].name == "Japan"
    assert area.explanation == "全国及び都道府県（SYNTHETIC explanation）"  # CLASS_OBJ/@description
    assert all(r.params.get("lang") == "E" for r in fake_estat.requests)
    japanese = described(await describe({"stats_data_id": "0009100003"}))
    assert next(a for a in japanese.axes if a.id == "area").items[0].name == "全国"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"stats_data_id": "abc"}, "10-digit"),
        ({"stats_data_id": "0003445078", "axis": "cat09"}, "has no axis 'cat09'"),
        ({"stats_data_id": "0003445078", "lang": "F"}, "lang"),
    ],
)
async def test_input_errors(fake_estat: FakeEstat, arguments: dict, message: str) -> None:
    text = error_text(await describe(arguments))
    assert message.lower() in text.lower()


async def test_an_unknown_time_code_is_null_with_a_note_in_describe_and_fetch(
    fake_estat: FakeEstat, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from estat_aws_mcp.tools import dataset_fetch

    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    # SYNTHETIC: a fiscal-quarter-shaped code no recording shows, next to a plain year.
    time = Axis("time", "時間軸", [AxisItem("2020000000", "2020年"), AxisItem("2020100103", "2020年度1～3月期")])
    fake_estat.add_generated_table("0009100004", [Axis.numbered("cat01", "男女", 2), time], notes=[])
    data = described(await describe({"stats_data_id": "0009100004", "axis": "time"}))
    axis = next(a for a in data.axes if a.id == "time")
    unknown = next(item for item in axis.items if item.code == "2020100103")
    assert (unknown.time_start, unknown.time_end, unknown.time_granularity) == (None, None, None)
    assert len(axis.notes) == 1 and "2020100103" in axis.notes[0]

    fetched = await call_tool(server_with(dataset_fetch), "fetch_dataset_auto", {"stats_data_id": "0009100004"})
    assert not fetched.isError, fetched.content
    result = fetched.structuredContent
    assert any("2020100103" in note and "left null" in note for note in result["notes"])
    by_code = {row["time_code"]: row for row in result["rows"]}
    assert "time_start" not in by_code["2020100103"]  # null cells are left out of inline rows
    assert by_code["2020000000"]["time_granularity"] == "year"
