# ruff: noqa: F811  (test parameters named after the imported fixtures)
"""search_estat_data and apply_keyword_suggestions through a real MCP client session (in memory)
against the fake e-Stat: schemas, structured results, input errors, substitutions, budget."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from mcp.types import CallToolResult, JSONRPCResponse

from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.estat.search_models import ApplySuggestionsResult, SearchResult
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat, synthetic_table_inf
from tests.tools.mcp_calls import call_tool, error_text

pytestmark = pytest.mark.anyio


async def call(name: str, arguments: dict[str, Any]) -> CallToolResult:
    result = await call_tool(build_server(), name, arguments)
    payload = JSONRPCResponse(
        jsonrpc="2.0", id=1, result=result.model_dump(by_alias=True, mode="json", exclude_none=True)
    ).model_dump_json(by_alias=True, exclude_none=True)
    assert len(payload.encode("utf-8")) < TOOL_RESULT_BUDGET_BYTES, (name, len(payload))
    return result


def list_requests(fake: FakeEstat) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.endpoint == "getStatsList"]


async def test_search_returns_typed_structured_content_and_the_credit(fake_estat: FakeEstat) -> None:
    result = await call("search_estat_data", {"query": "男女別人口", "collect_area": "都道府県"})
    assert not result.isError, result.content
    data = SearchResult.model_validate(result.structuredContent)
    assert data.filters.collect_area == "2"
    assert sorted(r.stats_data_id for r in data.results) == ["0003433219", "0009900008"]
    assert data.credit == CREDIT_NOTICE
    assert json.loads(result.content[0].text) == result.structuredContent  # the text copy is the same JSON


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"query": ""}, "query is empty"),
        ({"query": "人口", "survey_years": "20201"}, "survey_years must be yyyy, yyyymm or yyyymm-yyyymm"),
        ({"query": "人口", "survey_years": "202013"}, "month"),
        ({"query": "人口", "stats_field": "人口"}, "02 人口・世帯"),
        ({"query": "人口", "stats_code": "123"}, "8-digit"),
        ({"query": "人口", "collect_area": 4}, "1 (全国), 2 (都道府県) or 3 (市区町村)"),
        ({"query": "人口", "max_results": 0}, "max_results"),
        ({"query": "人口", "max_results": 101}, "max_results"),
        ({"query": "統計データを教えて"}, "names no subject"),
    ],
)
async def test_input_errors_are_clear_and_reach_no_upstream(
    fake_estat: FakeEstat, arguments: dict, message: str
) -> None:
    assert message in error_text(await call("search_estat_data", arguments))
    assert list_requests(fake_estat) == []


async def test_filters_accept_names_and_numbers(fake_estat: FakeEstat) -> None:
    result = await call(
        "search_estat_data",
        {"query": "男女別人口", "survey_years": 2020, "stats_field": "人口・世帯", "collect_area": 1},
    )
    assert not result.isError, result.content
    sent = list_requests(fake_estat)[0]
    assert (sent["surveyYears"], sent["statsField"], sent["collectArea"]) == ("2020", "02", "1")


@pytest.mark.parametrize(
    "accepted",
    [
        {"給料": "賃金", "の平均": ""},
        [{"original": "給料", "replacement": "賃金"}, {"original": "の平均", "replacement": ""}],
    ],
)
async def test_apply_substitutions_and_search_in_one_call(fake_estat: FakeEstat, accepted: Any) -> None:
    result = await call("apply_keyword_suggestions", {"original_query": "給料の平均", "accepted_keywords": accepted})
    assert not result.isError, result.content
    data = ApplySuggestionsResult.model_validate(result.structuredContent)
    assert data.rewritten_query == "賃金"
    assert data.not_found == []
    assert data.search is not None and data.search.search_word == "賃金" and data.search.results
    assert data.search.credit == data.credit == CREDIT_NOTICE


@pytest.mark.parametrize("form", ["substitutions", "whole suggestion"])
async def test_suggestions_round_trip_through_apply(fake_estat: FakeEstat, form: str) -> None:
    searched = await call("search_estat_data", {"query": "共働き世帯の収入"})
    suggestion = next(s for s in searched.structuredContent["suggestions"] if s["substitutions"])
    accepted = suggestion["substitutions"] if form == "substitutions" else [suggestion]
    applied = await call(
        "apply_keyword_suggestions", {"original_query": "共働き世帯の収入", "accepted_keywords": accepted}
    )
    assert not applied.isError, applied.content
    search = applied.structuredContent["search"]
    assert (search["search_word"], search["total_hits"]) == (suggestion["search_word"], suggestion["hit_count"])


async def test_apply_without_search_makes_no_request(fake_estat: FakeEstat) -> None:
    result = await call(
        "apply_keyword_suggestions",
        {
            "original_query": "東京都の給料と収入",
            "accepted_keywords": {"給料": "賃金", "年収": "所得"},
            "run_search": False,
        },
    )
    assert not result.isError, result.content
    data = result.structuredContent
    assert data["rewritten_query"] == "東京都の賃金と収入"
    assert data["applied"] == [{"original": "給料", "replacement": "賃金"}]
    assert data["not_found"] == ["年収"]
    assert data["search"] is None
    assert list_requests(fake_estat) == []


@pytest.mark.parametrize(
    ("accepted", "message"),
    [
        ({"年収": "所得"}, "None of the accepted keywords (年収) occur"),
        ({}, "accepted_keywords is empty"),
        ([{"original": "給料", "replacement": "賃金"}, {"original": "給料", "replacement": "給与"}], "both"),
        ({"給料": ""}, "query is empty"),
    ],
)
async def test_apply_errors(fake_estat: FakeEstat, accepted: Any, message: str) -> None:
    result = await call("apply_keyword_suggestions", {"original_query": "給料", "accepted_keywords": accepted})
    assert message in error_text(result)


async def test_upstream_failure_is_a_tool_error(fake_estat: FakeEstat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_MCP_ESTAT_MAX_ATTEMPTS", "2")
    fake_estat.fail(times=None, status=503, endpoint="getStatsList")
    text = error_text(await call("search_estat_data", {"query": "男女別人口"}))
    assert "failed after 2 attempt(s)" in text
    assert fake_estat.app_id not in text


async def test_auth_failure_says_how_to_fix_it(fake_estat: FakeEstat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_APP_ID", "wrong-app-id-000")
    text = error_text(await call("search_estat_data", {"query": "男女別人口"}))
    assert "ESTAT_APP_ID" in text and "wrong-app-id-000" not in text


async def test_a_hundred_results_stay_within_the_budget(fake_estat: FakeEstat) -> None:
    for number in range(150):
        fake_estat.add_catalog_entry(
            synthetic_table_inf(
                f"00097{number:05d}",
                ("00999002", "予算試験統計"),
                ("00999", "試験省"),
                "予算試験統計 " + "長い名称" * 40,
                f"予算試験項目{number} " + "とても長い表題" * 30,
                survey_date=2020,
            ),
            source="synthetic",
        )
    result = await call("search_estat_data", {"query": "予算試験項目", "max_results": 100})
    assert not result.isError, result.content
    assert len(result.structuredContent["results"]) == 100  # call() checked the whole payload's size


def test_building_the_server_loads_neither_janome_nor_the_search_core() -> None:
    code = (
        "import sys; from estat_aws_mcp.tools.server import build_server; build_server(); "
        "print(sorted(m for m in ('janome', 'estat_aws_mcp.estat.search') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
