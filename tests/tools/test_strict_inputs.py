"""Strict tool inputs (issue 15 items 6 and 7), for every tool the server lists.

Unknown arguments are refused with the accepted ones named (never silently dropped), and a huge string
argument gets a short answer that quotes at most a prefix of it.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, Tool

from estat_aws_mcp.errors import quote_prefix
from estat_aws_mcp.tools.server import build_server

HUGE = "Z" * 1_000_000
#: An answer to a bad call stays this small whatever the input's size.
SHORT_ANSWER_BYTES = 4_000


def _calls(calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[Tool], list[CallToolResult]]:
    async def run() -> tuple[list[Tool], list[CallToolResult]]:
        async with create_connected_server_and_client_session(build_server()) as session:
            tools = (await session.list_tools()).tools
            return tools, [await session.call_tool(name, arguments) for name, arguments in calls]

    return anyio.run(run)


@pytest.fixture(scope="module")
def tools() -> list[Tool]:
    return _calls([])[0]


def _text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def test_every_tool_refuses_an_unknown_argument_and_lists_the_accepted_ones(tools: list[Tool]) -> None:
    _, results = _calls([(tool.name, {"no_such_argument": 1}) for tool in tools])
    for tool, result in zip(tools, results, strict=True):
        text = _text(result)
        assert result.isError, (tool.name, text)
        assert "'no_such_argument'" in text, (tool.name, text)
        accepted = text.split("accepted arguments:")[1]
        assert [name.strip() for name in accepted.split(",")] == list(tool.inputSchema["properties"]), text


def test_fetch_dataset_auto_with_filters_is_refused_not_ignored(tmp_path, monkeypatch) -> None:
    """The probe's case: `filters` belongs to fetch_dataset_filtered; auto used to fetch the whole table."""
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path))
    _, [result] = _calls([("fetch_dataset_auto", {"stats_data_id": "0003445078", "filters": {"area": ["13000"]}})])
    text = _text(result)
    assert result.isError
    assert "fetch_dataset_auto does not accept the argument 'filters'" in text
    accepted = [name.strip() for name in text.split("accepted arguments:")[1].split(",")]
    assert "stats_data_id" in accepted and "filters" not in accepted
    assert not list(tmp_path.rglob("*.parquet"))  # nothing was fetched


def test_huge_string_arguments_get_short_answers(tools: list[Tool]) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    for tool in tools:
        schema = tool.inputSchema
        for name, prop in schema["properties"].items():
            options = prop.get("anyOf", [prop])
            if any(option.get("type") == "string" for option in options):
                calls.append((tool.name, {name: HUGE}))
    assert len(calls) >= 15
    _, results = _calls(calls)
    for (tool_name, arguments), result in zip(calls, results, strict=True):
        size = len(json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode())
        assert result.isError or (result.structuredContent or {}).get("decision") == "denied", (tool_name, arguments)
        assert size < SHORT_ANSWER_BYTES, (tool_name, list(arguments), size, _text(result)[:300])


def test_an_engine_error_quoting_a_huge_input_is_cut(tmp_path, monkeypatch) -> None:
    """DuckDB quotes the unknown table's name back: a 90,000-character name made a 90 KB error."""
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    _, [result] = _calls([("analyze_with_athena", {"sql": "SELECT * FROM t" + "a" * 90_000})])
    text = _text(result)
    assert result.isError and "Catalog Error" in text
    assert len(text) < SHORT_ANSWER_BYTES and "(message cut:" in text


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("stats_field", "Z" * 60),
        ("stats_code", "Z" * 60),
        ("survey_years", "Z" * 60),
        ("collect_area", "Z" * 60),
    ],
)
def test_search_filter_messages_quote_a_short_prefix(argument: str, value: str) -> None:
    from estat_aws_mcp.errors import InputError
    from estat_aws_mcp.estat.search import validate_filters

    filters = {"survey_years": None, "stats_field": None, "stats_code": None, "collect_area": None}
    filters[argument] = value
    with pytest.raises(InputError) as caught:
        validate_filters(**filters)
    assert value not in str(caught.value)
    assert quote_prefix(value) in str(caught.value)


def test_quote_prefix() -> None:
    assert quote_prefix("abc") == "'abc'"
    assert quote_prefix("x" * 1000) == f"{'x' * 40!r}… (1,000 characters)"
    assert quote_prefix(12) == "12"
