"""End to end: the server as a subprocess over stdio and over HTTP, driven by the MCP SDK client,
searching the fake e-Stat (ESTAT_API_BASE_URL points at it).

Also proves that the appId never appears in any tool output nor in the server's log (stderr),
with the log at DEBUG, and that a server without an appId still starts, lists its tools and
answers e-Stat tools with an error that says how to set ESTAT_APP_ID.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from tests.fakes.fake_estat import FakeEstat
from tests.processes import stop_process

pytestmark = pytest.mark.anyio

E2E_APP_ID = "e2e-app-id-5c1d9e0f7a2b"
SEARCH_TOOLS = {"search_estat_data", "apply_keyword_suggestions"}
STARTUP_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def e2e_fake(estat_fixtures_dir: Path) -> Iterator[FakeEstat]:
    with FakeEstat(app_id=E2E_APP_ID, fixtures_dir=estat_fixtures_dir) as fake:
        yield fake


def server_env(fake: FakeEstat, tmp_path: Path, *, app_id: str | None) -> dict[str, str]:
    """A minimal environment: nothing from the test process's own ESTAT_* settings leaks in."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env.update(
        {
            "ESTAT_API_BASE_URL": fake.base_url,
            "ESTAT_MCP_LOG_LEVEL": "DEBUG",
            "ESTAT_MCP_STORAGE_URI": str(tmp_path / "data"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if app_id is not None:
        env["ESTAT_APP_ID"] = app_id
    return env


@asynccontextmanager
async def stdio_session(env: dict[str, str], errlog_path: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "estat_aws_mcp"], env=env)
    with errlog_path.open("w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def http_server(env: dict[str, str], errlog_path: Path) -> AsyncIterator[str]:
    """``estat-aws-mcp serve --http --port 0``; the bound port is read from uvicorn's start line."""
    command = [str(Path(sys.executable).with_name("estat-aws-mcp")), "serve", "--http", "--port", "0"]
    with errlog_path.open("w", encoding="utf-8") as errlog:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errlog)
        try:
            base_url = await _wait_until_serving(process, errlog_path)
            yield base_url
        finally:
            stop_process(process)


async def _wait_until_serving(process: subprocess.Popen, errlog_path: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    base_url = None
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the HTTP server exited early:\n{errlog_path.read_text(encoding='utf-8')}")
            if base_url is None:
                found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", errlog_path.read_text("utf-8"))
                base_url = found.group(1) if found else None
            if base_url is not None:
                try:
                    health = await http.get(f"{base_url}/health")
                    if health.status_code == 200 and health.json()["status"] == "ok":
                        return base_url
                except httpx.HTTPError:
                    pass
            await anyio.sleep(0.1)
    pytest.fail(f"the HTTP server did not serve /health in time:\n{errlog_path.read_text(encoding='utf-8')}")


@asynccontextmanager
async def http_session(base_url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(f"{base_url}/mcp") as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        yield session


# ---------------------------------------------------------------------------------------------
# What every transport must show


def dump(result: CallToolResult) -> str:
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)


async def check_tool_listing(session: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert tools.keys() >= SEARCH_TOOLS
    for name, tool in tools.items():  # every tool of the server, not only the search tools
        assert tool.description, name
        for parameter, spec in tool.inputSchema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{parameter} has no description"
    for name in SEARCH_TOOLS:
        assert tools[name].inputSchema["properties"], name
        assert tools[name].outputSchema is not None, f"{name} has no output schema"
    search = tools["search_estat_data"].inputSchema
    assert search["required"] == ["query"]
    assert set(search["properties"]) == {
        "query", "max_results", "survey_years", "stats_field", "stats_code", "collect_area", "auto_suggest", "lang",
    }  # fmt: skip
    assert (search["properties"]["max_results"]["minimum"], search["properties"]["max_results"]["maximum"]) == (1, 100)
    apply = tools["apply_keyword_suggestions"].inputSchema
    assert {"original_query", "accepted_keywords"} <= set(apply["required"])


async def run_searches(session: ClientSession) -> list[CallToolResult]:
    """Search the fake e-Stat through the tools; returns every result for the secret check."""
    found = await session.call_tool("search_estat_data", {"query": "令和2年国勢調査の男女別人口", "max_results": 5})
    assert not found.isError, dump(found)
    data = found.structuredContent
    assert data is not None
    assert data["total_hits"] > 0
    census = data["results"][0]
    assert census["stats_data_id"] == "0003433219"
    assert sorted(census["collect_areas"]) == ["全国", "市区町村", "都道府県"]
    assert census["url"] == "https://www.e-stat.go.jp/dbview?sid=0003433219"
    assert data["credit"] == CREDIT_NOTICE
    assert CREDIT_NOTICE in found.content[0].text  # the text copy carries it too

    zero = await session.call_tool("search_estat_data", {"query": "給料の平均"})
    assert not zero.isError, dump(zero)
    suggestions = zero.structuredContent["suggestions"]
    assert zero.structuredContent["total_hits"] == 0 and suggestions
    assert suggestions[0]["kind"] == "synonym" and suggestions[0]["hit_count"] > 0

    applied = await session.call_tool(
        "apply_keyword_suggestions",
        {"original_query": "給料の平均", "accepted_keywords": suggestions[0]["substitutions"]},
    )
    assert not applied.isError, dump(applied)
    assert applied.structuredContent["search"]["total_hits"] == suggestions[0]["hit_count"]
    assert applied.structuredContent["search"]["results"]

    bad = await session.call_tool("search_estat_data", {"query": "人口", "survey_years": "last year"})
    assert bad.isError and "survey_years must be yyyy" in bad.content[0].text
    empty = await session.call_tool("search_estat_data", {"query": "  "})
    assert empty.isError and "query is empty" in empty.content[0].text
    too_many = await session.call_tool("search_estat_data", {"query": "人口", "max_results": 1000})
    assert too_many.isError and "max_results" in too_many.content[0].text
    return [found, zero, applied, bad, empty, too_many]


def assert_app_id_never_shown(results: list[CallToolResult], errlog_path: Path) -> None:
    for result in results:
        assert E2E_APP_ID not in dump(result)
    log = errlog_path.read_text(encoding="utf-8")
    assert log, "the server should have logged something at DEBUG"
    assert E2E_APP_ID not in log


# ---------------------------------------------------------------------------------------------


async def test_stdio_end_to_end(e2e_fake: FakeEstat, tmp_path: Path) -> None:
    errlog = tmp_path / "stdio-stderr.log"
    with anyio.fail_after(STARTUP_TIMEOUT_S + 60):
        async with stdio_session(server_env(e2e_fake, tmp_path, app_id=E2E_APP_ID), errlog) as session:
            await check_tool_listing(session)
            results = await run_searches(session)
    assert_app_id_never_shown(results, errlog)
    assert any(r.endpoint == "getStatsList" and r.app_id_valid for r in e2e_fake.requests)


async def test_http_end_to_end(e2e_fake: FakeEstat, tmp_path: Path) -> None:
    errlog = tmp_path / "http-stderr.log"
    with anyio.fail_after(STARTUP_TIMEOUT_S + 60):
        env = server_env(e2e_fake, tmp_path, app_id=E2E_APP_ID)
        async with http_server(env, errlog) as base_url, http_session(base_url) as session:
            await check_tool_listing(session)
            results = await run_searches(session)
    assert_app_id_never_shown(results, errlog)


async def test_without_an_app_id_the_server_starts_and_explains(e2e_fake: FakeEstat, tmp_path: Path) -> None:
    errlog = tmp_path / "no-app-id-stderr.log"
    requests_before = len(e2e_fake.requests)
    with anyio.fail_after(STARTUP_TIMEOUT_S + 30):
        async with stdio_session(server_env(e2e_fake, tmp_path, app_id=None), errlog) as session:
            await check_tool_listing(session)
            result = await session.call_tool("search_estat_data", {"query": "男女別人口"})
            applied = await session.call_tool(
                "apply_keyword_suggestions", {"original_query": "給料", "accepted_keywords": {"給料": "賃金"}}
            )
    for outcome in (result, applied):
        assert outcome.isError
        text = outcome.content[0].text
        assert "ESTAT_APP_ID" in text and "e-stat.go.jp" in text, text
    assert len(e2e_fake.requests) == requests_before, "no request may reach e-Stat without an appId"
