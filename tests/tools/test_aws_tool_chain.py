"""The whole tool chain on the AWS backends, in one MCP session of the real server, against moto's server.

fetch (fake e-Stat) → dataset, CSV and Parquet in S3 → Iceberg table in the Glue catalog → Athena query
API flow → download with prefix confinement and a presigned URL. Every object and catalog entry is
checked through boto3. moto's Athena does NOT execute SQL: its result is queued through moto's
``/moto-api/static/athena/query-results`` endpoint, so this proves the API flow and the result mapping;
query semantics are proven on DuckDB (tests/sql, tests/tools/test_analytics_tools.py).
"""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.sql.test_athena_engine import queue_athena_result

pytestmark = pytest.mark.anyio
BUCKET = "estat-chain-e2e"
PREFIX = "team/estat"


@pytest.fixture
def aws_backends(aws_env, monkeypatch: pytest.MonkeyPatch):
    aws_client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", f"s3://{BUCKET}/{PREFIX}")
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "athena")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_DATABASE", "estat")
    monkeypatch.setenv("ESTAT_MCP_GLUE_DATABASE", "estat")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_OUTPUT_LOCATION", f"s3://{BUCKET}/athena-results/")
    return aws_env


async def test_fetch_to_s3_glue_athena_and_download(aws_backends, fake_estat) -> None:  # noqa: F811
    s3 = aws_client("s3")
    async with create_connected_server_and_client_session(build_server()) as session:
        fetched = await session.call_tool("fetch_dataset_auto", {"stats_data_id": "0003445078"})
        assert not fetched.isError, fetched.content
        dataset_id = fetched.structuredContent["dataset_id"]
        row_count = fetched.structuredContent["row_count"]
        assert row_count > 0 and CREDIT_NOTICE in str(fetched.structuredContent)

        saved = await session.call_tool("save_dataset_as_csv", {"dataset_id": dataset_id, "encoding": "utf-8"})
        parquet = await session.call_tool("transform_to_parquet", {"dataset_id": dataset_id})
        loaded = await session.call_tool("load_to_iceberg", {"dataset_id": dataset_id, "table": "census"})
        for result in (saved, parquet, loaded):
            assert not result.isError, result.content
        assert loaded.structuredContent["catalog"] == "glue"

        queue_athena_result(
            aws_backends.url, [("area_name", "varchar"), ("rows", "bigint")], [["東京都", "3"], ["北海道", "3"]]
        )
        query = await session.call_tool(
            "analyze_with_athena", {"sql": "SELECT area_name, count(*) AS rows FROM estat.census GROUP BY 1"}
        )
        assert not query.isError, query.content

        csv_uri = saved.structuredContent["uri"]
        page = await session.call_tool("download_csv_from_s3", {"uri": csv_uri, "max_bytes": 400})
        assert not page.isError, page.content
        refused = await session.call_tool("download_csv_from_s3", {"uri": f"s3://{BUCKET}/athena-results/x.csv"})
        assert refused.isError

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/")["Contents"]}
    assert {
        f"{PREFIX}/datasets/{dataset_id}/data.parquet",
        f"{PREFIX}/datasets/{dataset_id}/manifest.json",
        f"{PREFIX}/exports/{dataset_id}.csv",
        f"{PREFIX}/exports/{dataset_id}.parquet",
    } <= keys
    assert any(key.startswith(f"{PREFIX}/iceberg/") and "/data/" in key for key in keys)

    body = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/exports/{dataset_id}.csv")["Body"].read()
    assert len(list(csv.DictReader(io.StringIO(body.decode("utf-8"))))) == row_count

    table = aws_client("glue").get_table(DatabaseName="estat", Name="census")["Table"]
    assert table["Parameters"]["table_type"] == "ICEBERG"
    assert table["Parameters"]["metadata_location"].startswith(f"s3://{BUCKET}/{PREFIX}/iceberg/")

    data = query.structuredContent
    assert data["engine"] == "athena" and data["rows"] == [["東京都", 3], ["北海道", 3]]
    execution = aws_client("athena").get_query_execution(QueryExecutionId=data["query_id"])["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["QueryExecutionContext"]["Database"] == "estat"

    content = page.structuredContent
    assert content["content"].encode("utf-8") == body[: content["bytes_returned"]]
    assert not content["eof"] and content["presigned_url"]
    assert httpx.get(content["presigned_url"], timeout=10).content == body
