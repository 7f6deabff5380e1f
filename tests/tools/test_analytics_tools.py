"""load_to_iceberg and analyze_with_athena through a real MCP client session, locally and on moto.

Locally the SQL runs on DuckDB, so results are checked against sums computed here from the source
rows. On AWS, moto's Athena does NOT execute SQL (its results are queued through moto's
``/moto-api/static/athena/query-results`` endpoint): that chain proves the tools drive S3, Glue and
the Athena API correctly, not query semantics (those are proven on DuckDB).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from starlette.testclient import TestClient

from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.tools import analytics
from estat_aws_mcp.tools.server import build_server
from tests.datasets.conftest import synthetic_rows, write_dataset
from tests.sql.test_athena_engine import queue_athena_result
from tests.tools.mcp_calls import call_tool, error_text, server_with

AXES = ("tab", "cat01", "area", "time")


async def call(name: str, **arguments: Any):
    return await call_tool(server_with(analytics), name, arguments)


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalObjectStore:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    monkeypatch.delenv("ESTAT_MCP_GLUE_DATABASE", raising=False)
    return LocalObjectStore(root)


@pytest.mark.anyio
async def test_tools_are_registered_with_schemas() -> None:
    assert "analytics" in __import__("estat_aws_mcp.tools.server", fromlist=["TOOL_MODULES"]).TOOL_MODULES
    async with create_connected_server_and_client_session(build_server()) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    analyze = tools["analyze_with_athena"].inputSchema["properties"]
    assert analyze["max_rows"]["default"] == 1000 and analyze["max_rows"]["maximum"] == 10_000
    load = tools["load_to_iceberg"].inputSchema["properties"]
    assert load["mode"]["enum"] == ["replace_dataset", "append", "overwrite"]
    assert load["mode"]["default"] == "replace_dataset"
    assert tools["analyze_with_athena"].outputSchema["properties"]["truncated"]


@pytest.mark.anyio
async def test_load_then_query_locally(local_env: LocalObjectStore) -> None:
    columns = synthetic_rows(300, AXES)
    manifest = write_dataset(local_env, columns, AXES)
    loaded = await call("load_to_iceberg", dataset_id=manifest.dataset_id, table="population")
    assert not loaded.isError, loaded.content
    data = loaded.structuredContent
    assert data["table"] == "estat.population" and data["table_row_count"] == 300 and data["catalog"] == "sql"
    assert data["credit"] == CREDIT_NOTICE

    expected: dict[str, float] = defaultdict(float)
    for area, time_code, value in zip(columns["area_name"], columns["time_code"], columns["value"], strict=True):
        if value is not None and time_code == "2020000000":
            expected[area] += value
    for table in ("population", "estat.population"):
        result = await call(
            "analyze_with_athena",
            sql=f"SELECT area_name, sum(value) FROM {table} WHERE time_code = '2020000000' GROUP BY 1 ORDER BY 1",
        )
        assert not result.isError, result.content
        rows = result.structuredContent["rows"]
        assert {a: pytest.approx(v) for a, v in expected.items()} == dict(rows)
        assert result.structuredContent["credit"] == CREDIT_NOTICE
        assert result.structuredContent["engine"] == "duckdb"


@pytest.mark.anyio
async def test_tool_errors_name_the_rule_or_the_problem(local_env: LocalObjectStore) -> None:
    assert "[ddl]" in error_text(await call("analyze_with_athena", sql="DROP TABLE population"))
    assert "[file_access]" in error_text(await call("analyze_with_athena", sql="SELECT * FROM 'secrets.csv'"))
    assert "[multiple_statements]" in error_text(await call("analyze_with_athena", sql="SELECT 1; SELECT 2"))
    manifest = write_dataset(local_env, 5, AXES)
    assert "invalid table name" in error_text(
        await call("load_to_iceberg", dataset_id=manifest.dataset_id, table="My Table")
    )
    other = write_dataset(local_env, 5, ("area", "time"))
    assert not (await call("load_to_iceberg", dataset_id=manifest.dataset_id, table="t")).isError
    text = error_text(await call("load_to_iceberg", dataset_id=other.dataset_id, table="t", mode="append"))
    assert "table columns:" in text and "dataset columns:" in text
    text = error_text(await call("analyze_with_athena", sql="SELECT * FROM nothing_here"))
    assert "nothing_here does not exist" in text and text.endswith("Loaded tables: estat.t")


def test_query_result_fits_the_budget_over_http(local_env: LocalObjectStore) -> None:
    """A result that would be megabytes, full of characters JSON must escape, is cut to fit the response."""
    sql = "SELECT i, repeat('\"\\\\改行', 400) AS nasty FROM range(5000) t(i)"
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "analyze_with_athena", "arguments": {"sql": sql, "max_rows": 5000}},
    }
    with TestClient(build_server().streamable_http_app(), base_url="http://127.0.0.1:8080") as client:
        response = client.post("/mcp", headers=headers, json=request)
    assert response.status_code == 200
    assert len(response.content) < TOOL_RESULT_BUDGET_BYTES
    result = json.loads(response.content)["result"]
    data = result["structuredContent"]
    assert data["truncated"] and data["truncation_reason"] == "byte_budget"
    assert data["total_rows"] == 5000 and 50 < data["row_count"] < 5000
    # Bounded, not emptied. The budget is measured as the costliest transport encodes it (result_wire_bytes:
    # ASCII escapes, as on Lambda), so this UTF-8 answer, half Japanese, is smaller than the budget.
    assert len(response.content) > TOOL_RESULT_BUDGET_BYTES * 0.5
    assert data["rows"][-1][0] == data["row_count"] - 1


@pytest.mark.anyio
async def test_aws_chain_s3_glue_athena(aws_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dataset in S3 → Iceberg table in Glue (objects and table checked via boto3) → Athena API flow."""
    from estat_aws_mcp.datasets.s3_store import S3ObjectStore

    bucket = "estat-chain"
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", f"s3://{bucket}/team")
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "athena")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_OUTPUT_LOCATION", f"s3://{bucket}/athena-results/")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_DATABASE", "estat")
    store = S3ObjectStore(f"s3://{bucket}/team")
    manifest = write_dataset(store, 60, AXES)

    loaded = await call("load_to_iceberg", dataset_id=manifest.dataset_id, table="population")
    assert not loaded.isError, loaded.content
    assert loaded.structuredContent["catalog"] == "glue"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="team/iceberg/")["Contents"]]
    assert any(k.startswith("team/iceberg/estat/population/data/") for k in keys)
    glue_table = aws_client("glue").get_table(DatabaseName="estat", Name="population")["Table"]
    assert glue_table["Parameters"]["table_type"] == "ICEBERG"

    queue_athena_result(aws_env.url, [("area_name", "varchar"), ("total", "double")], [["東京都", "123.5"]])
    result = await call("analyze_with_athena", sql="SELECT area_name, sum(value) AS total FROM population GROUP BY 1")
    assert not result.isError, result.content
    data = result.structuredContent
    assert data["engine"] == "athena" and data["rows"] == [["東京都", 123.5]]
    execution = aws_client("athena").get_query_execution(QueryExecutionId=data["query_id"])["QueryExecution"]
    assert execution["QueryExecutionContext"]["Database"] == "estat"
    assert data["result_location"] == f"s3://{bucket}/athena-results/{data['query_id']}.csv"
