# ruff: noqa: F811  (test parameters named after the imported fixtures)
"""Describe → fetch → load → SQL through one real MCP client session: a SYNTHETIC table whose 47
prefectures sum exactly to the national row (as counts do) shows that ``WHERE area_level = '2'`` gives
the national total for every item, and that summing the whole axis double-counts it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, FakeEstat

pytestmark = pytest.mark.anyio

PREFECTURES = 47
YEARS = (2019, 2020)
SEXES = 3


def prefecture_value(sex: int, prefecture: int, year: int) -> int:
    return 1000 * (sex + 1) + 37 * prefecture + 11 * year


def additive_value(flat: int) -> str:
    """SYNTHETIC counts: axes (cat01, area, time), the last varying fastest; area 0 is 全国 = the sum."""
    years, areas = len(YEARS), PREFECTURES + 1
    sex, rest = divmod(flat, areas * years)
    area, year = divmod(rest, years)
    if area == 0:
        return str(sum(prefecture_value(sex, p, year) for p in range(1, areas)))
    return str(prefecture_value(sex, area, year))


async def test_describe_fetch_and_sum_one_level(
    fake_estat: FakeEstat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    monkeypatch.delenv("ESTAT_MCP_GLUE_DATABASE", raising=False)
    fake_estat.add_generated_table(
        "0009200001",
        [Axis.numbered("cat01", "男女", SEXES, unit="人"), Axis.areas(PREFECTURES), Axis.years(*YEARS)],
        value_fn=additive_value,
        notes=[],
        title="都道府県別 人口（SYNTHETIC: 都道府県の和が全国）",
    )
    async with create_connected_server_and_client_session(build_server()) as session:
        described = await session.call_tool("describe_estat_table", {"stats_data_id": "0009200001"})
        assert not described.isError, described.content
        description = described.structuredContent
        assert description["hierarchical_axes"] == ["area"]
        area = next(axis for axis in description["axes"] if axis["id"] == "area")
        assert area["levels"] == {"1": 1, "2": PREFECTURES}

        fetched = await session.call_tool("fetch_dataset_auto", {"stats_data_id": "0009200001"})
        assert not fetched.isError, fetched.content
        result = fetched.structuredContent
        assert result["hierarchical_axes"] == ["area"] and any("area_level = '2'" in n for n in result["notes"])
        names = [column["name"] for column in result["columns"]]
        for column in ("area_level", "area_parent_code", "time_start", "time_end", "time_granularity"):
            assert column in names
        assert {c["name"]: c["type"] for c in result["columns"]}["time_start"] == "date"
        from estat_aws_mcp.datasets.manifest import load_manifest
        from estat_aws_mcp.datasets.store import LocalObjectStore

        manifest = load_manifest(LocalObjectStore(tmp_path / "store"), result["dataset_id"])
        assert manifest.extra["hierarchical_axes"] == ["area"] and "time_notes" not in manifest.extra

        loaded = await session.call_tool("load_to_iceberg", {"dataset_id": result["dataset_id"], "table": "pop"})
        assert not loaded.isError, loaded.content

        async def sql(query: str) -> list[list]:
            answer = await session.call_tool("analyze_with_athena", {"sql": query})
            assert not answer.isError, answer.content
            return answer.structuredContent["rows"]

        national = {
            (sex, year): total
            for sex, year, total in await sql(
                "SELECT cat01_code, time_code, sum(value) FROM pop WHERE area_level = '1' GROUP BY 1, 2"
            )
        }
        prefectures = {
            (sex, year): total
            for sex, year, total in await sql(
                "SELECT cat01_code, time_code, sum(value) FROM pop WHERE area_level = '2' GROUP BY 1, 2"
            )
        }
        assert len(national) == SEXES * len(YEARS)
        assert prefectures == national  # every item: the prefectures add up to the national row
        whole_axis = dict(
            ((sex, year), total)
            for sex, year, total in await sql("SELECT cat01_code, time_code, sum(value) FROM pop GROUP BY 1, 2")
        )
        assert all(whole_axis[key] == 2 * national[key] for key in national)  # the trap the level column avoids
        children = await sql("SELECT count(*) FROM pop WHERE area_parent_code = '00000'")
        assert children == [[SEXES * len(YEARS) * PREFECTURES]]

        periods = await sql(
            "SELECT DISTINCT time_code, time_start, time_end, time_granularity FROM pop ORDER BY time_code"
        )
        assert periods == [
            [f"{year}000000", dt.date(year, 1, 1).isoformat(), dt.date(year, 12, 31).isoformat(), "year"]
            for year in YEARS
        ]
