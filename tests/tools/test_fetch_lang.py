# ruff: noqa: F811  (test parameters named after the imported fixtures)
"""lang=E on the fetch tools: every e-Stat request carries it, names come back in English (SYNTHETIC:
no lang=E response was ever recorded), and a Japanese fetch of the same table is not answered from the
English dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from estat_aws_mcp.tools import dataset_fetch
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, FakeEstat
from tests.tools.mcp_calls import call_tool, server_with

pytestmark = pytest.mark.anyio


async def test_english_names_in_the_dataset(
    fake_estat: FakeEstat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    fake_estat.add_generated_table(
        "0009300002", [Axis.areas(3), Axis.years(2019, 2020)], notes=[], title_en="Population (SYNTHETIC)"
    )
    server = server_with(dataset_fetch)
    english = await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0009300002", "lang": "E"})
    assert not english.isError, english.content
    rows = english.structuredContent["rows"]
    assert rows[0]["area_name"] == "Japan" and rows[0]["time_name"] == "2019"
    assert rows[0]["time_granularity"] == "year"  # codes decide the dates, whatever the language
    assert {r.params.get("lang") for r in fake_estat.requests} == {"E"}

    fake_estat.reset_log()
    japanese = await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0009300002"})
    assert not japanese.isError, japanese.content
    assert not japanese.structuredContent["reused"]  # another language is another dataset
    assert japanese.structuredContent["rows"][0]["area_name"] == "全国"
    assert all("lang" not in r.params for r in fake_estat.requests)

    again = await call_tool(server, "fetch_dataset_auto", {"stats_data_id": "0009300002", "lang": "E"})
    assert (
        again.structuredContent["reused"]
        and again.structuredContent["dataset_id"] == (english.structuredContent["dataset_id"])
    )
