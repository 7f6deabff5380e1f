# ruff: noqa: F811  (test parameters named after the imported fixtures)
"""search_estat_files through a real MCP client session against the fake e-Stat, whose catalog is the
100 recorded getDataCatalog entries of #8 (searchWord=チョコレート)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.types import CallToolResult

from estat_aws_mcp.estat.catalog import FileSearchResult
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.tools import estat_files
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat
from tests.tools.mcp_calls import call_tool, error_text, server_with

pytestmark = pytest.mark.anyio


async def files(arguments: dict[str, Any]) -> CallToolResult:
    return await call_tool(server_with(estat_files), "search_estat_files", arguments)


def found(result: CallToolResult) -> FileSearchResult:
    assert not result.isError, result.content
    return FileSearchResult.model_validate(result.structuredContent)


def catalog_requests(fake: FakeEstat) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.endpoint == "getDataCatalog"]


async def test_files_of_the_recorded_catalog(fake_estat: FakeEstat) -> None:
    data = found(await files({"query": "チョコレートの価格分布を知りたい", "data_types": ["XLS"], "max_results": 3}))
    assert data.keywords == ["チョコレート", "価格分布"] and data.search_word == "チョコレート AND 価格分布"
    assert data.total_hits > 3 and len(data.datasets) == 3 and data.more_available
    first = data.datasets[0]
    assert first.survey == "全国物価統計調査" and first.organisation == "総務省" and first.survey_date == "1997"
    assert first.files and all(f.format == "XLS" and f.url and f.url.startswith("http") for f in first.files)
    assert first.files_total >= len(first.files)
    assert data.credit == CREDIT_NOTICE
    sent = catalog_requests(fake_estat)[0]
    assert (sent["searchWord"], sent["dataType"], sent["limit"]) == ("チョコレート AND 価格分布", "XLS", "3")


async def test_a_year_becomes_the_survey_years_filter(fake_estat: FakeEstat) -> None:
    data = found(await files({"query": "1997年のチョコレート"}))
    assert data.filters.survey_years == "1997" and data.search_word == "チョコレート"
    assert data.datasets and all(d.survey_date == "1997" for d in data.datasets)
    assert catalog_requests(fake_estat)[0]["surveyYears"] == "1997"


async def test_files_per_dataset_and_budget(fake_estat: FakeEstat) -> None:
    data = found(await files({"query": "チョコレート", "files_per_dataset": 1, "max_results": 3}))
    assert all(len(d.files) == 1 for d in data.datasets)
    assert any(d.files_total > 1 for d in data.datasets)


async def test_zero_hits_show_the_closest_rewrite_with_real_counts(fake_estat: FakeEstat) -> None:
    data = found(await files({"query": "チョコレート推移"}))  # 推移 is in no title: a generic word
    assert data.total_hits == 0
    assert data.showing is not None and data.showing.hit_count > 0 and data.datasets
    for suggestion in data.suggestions:  # every count is what the catalog says for that search
        assert any(
            p.get("searchWord") == suggestion.search_word and p.get("limit") == "1"
            for p in catalog_requests(fake_estat)
        )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"query": ""}, "query"),
        ({"query": "チョコレート", "data_types": ["DOCX"]}, "data_types"),
        ({"query": "チョコレート", "survey_years": "19971"}, "survey_years"),
    ],
)
async def test_input_errors(fake_estat: FakeEstat, arguments: dict, message: str) -> None:
    assert message in error_text(await files(arguments))
    assert catalog_requests(fake_estat) == []


async def test_lang_is_sent(fake_estat: FakeEstat) -> None:
    found(await files({"query": "チョコレート", "lang": "E"}))
    assert all(p.get("lang") == "E" for p in catalog_requests(fake_estat))


async def test_too_many_hits_give_counted_refinements(fake_estat: FakeEstat) -> None:
    from estat_aws_mcp.estat.catalog import search_files
    from estat_aws_mcp.estat.client import EstatClient
    from tests.estat.conftest import TEST_APP_ID

    async with EstatClient(app_id=TEST_APP_ID, base_url=fake_estat.base_url) as client:
        data = await search_files(client, "チョコレート", too_many_hits=20)
    assert data.total_hits > 20 and data.datasets and data.showing is None
    assert data.suggestions and all(s.kind == "refinement" for s in data.suggestions)
    assert all(0 < s.hit_count < data.total_hits for s in data.suggestions)
    narrowed = {s.filters.survey_years or s.filters.stats_code for s in data.suggestions}
    assert narrowed and None not in narrowed
