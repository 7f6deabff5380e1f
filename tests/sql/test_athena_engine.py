"""The Athena engine against moto's server: API flow, states, paging and result mapping.

moto's Athena does NOT execute SQL: ``GetQueryResults`` returns whatever result was queued through
moto's documented ``/moto-api/static/athena/query-results`` endpoint. Query *semantics* are proven
on DuckDB (tests/sql/test_duckdb_engine.py); these tests prove the Athena *path*: what is sent
(transpiled Trino SQL, workgroup, database, result location), polling, cancellation on timeout,
FAILED/CANCELLED reporting, paging and the mapping of Athena's typed string cells.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.errors import InputError, UpstreamError
from estat_aws_mcp.settings import Settings, get_settings
from estat_aws_mcp.sql import get_engine
from estat_aws_mcp.sql.athena_engine import AthenaEngine, convert_value, estimated_cost_usd
from estat_aws_mcp.sql.guard import SqlRejected

BUCKET = "estat-athena-results"
ACCOUNT = "123456789012"  # moto's default account


def _post(url: str, body: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=10).close()


def _cell(value: str | None) -> dict:
    return {} if value is None else {"VarCharValue": value}


def queue_athena_result(moto_url: str, header: list[tuple[str, str]], rows: list[list[str | None]]) -> None:
    """Queue the result moto returns for the next query (moto executes nothing)."""
    column_info = [{"Name": n, "Label": n, "Type": t, "Nullable": "UNKNOWN"} for n, t in header]
    result_rows = [{"Data": [_cell(n) for n, _ in header]}] + [{"Data": [_cell(v) for v in r]} for r in rows]
    _post(
        f"{moto_url}/moto-api/static/athena/query-results",
        {
            "account_id": ACCOUNT,
            "region": "ap-northeast-1",
            "results": [{"rows": result_rows, "column_info": column_info}],
        },
    )


@pytest.fixture
def athena_settings(aws_env, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Settings:
    aws_client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "athena")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_WORKGROUP", "primary")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_DATABASE", "estat")
    monkeypatch.setenv("ESTAT_MCP_ATHENA_OUTPUT_LOCATION", f"s3://{BUCKET}/results/")
    return get_settings()


@pytest.fixture
def queries_stay_queued(aws_env) -> Iterator[None]:
    """moto's documented state manager: executions stay QUEUED for 1000 polls (a long query)."""
    _post(
        f"{aws_env.url}/moto-api/state-manager/set-transition",
        {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 1000}},
    )
    try:
        yield
    finally:
        _post(f"{aws_env.url}/moto-api/state-manager/unset-transition", {"model_name": "athena::execution"})


def test_get_engine_picks_athena(athena_settings: Settings) -> None:
    assert isinstance(get_engine(athena_settings), AthenaEngine)


def test_succeeded_query_maps_types_and_reports_the_query(athena_settings: Settings, aws_env) -> None:
    queue_athena_result(
        aws_env.url,
        [("area_name", "varchar"), ("total", "double"), ("n", "bigint"), ("ok", "boolean"), ("d", "decimal")],
        [["東京都", "13960000.5", "12", "true", "1.25"], ["北海道", None, "7", "false", None]],
    )
    engine = AthenaEngine(athena_settings)
    # DuckDB dialect in: ILIKE, :: casts and string_agg have no Trino spelling
    result = engine.execute(
        "SELECT area_name, sum(value)::DOUBLE AS total, count(*) AS n FROM population "
        "WHERE area_name ILIKE '%都%' GROUP BY area_name"
    )
    assert result.engine == "athena" and result.query_id
    assert [(c.name, c.type) for c in result.columns][:3] == [
        ("area_name", "varchar"),
        ("total", "double"),
        ("n", "bigint"),
    ]
    assert result.rows == [["東京都", 13960000.5, 12, True, 1.25], ["北海道", None, 7, False, None]]
    assert (result.row_count, result.total_rows, result.truncated) == (2, 2, False)
    assert result.result_location == f"s3://{BUCKET}/results/{result.query_id}.csv"
    # what Athena was asked to run: the transpiled Trino SQL, in the configured workgroup and database
    execution = aws_client("athena").get_query_execution(QueryExecutionId=result.query_id)["QueryExecution"]
    assert execution["Query"] == result.sql
    assert "LOWER(area_name) LIKE LOWER('%都%')" in result.sql and "CAST(SUM(value) AS DOUBLE)" in result.sql
    assert "::" not in result.sql and "ILIKE" not in result.sql
    assert execution["QueryExecutionContext"]["Database"] == "estat"
    assert execution["WorkGroup"] == "primary"
    assert any("transpiled to Trino" in n for n in result.notices)
    # moto writes the queued result as the CSV in the output location, like Athena does
    keys = [o["Key"] for o in aws_client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert f"results/{result.query_id}.csv" in keys


def test_max_rows_over_moto_result(athena_settings: Settings, aws_env) -> None:
    queue_athena_result(aws_env.url, [("i", "integer")], [[str(i)] for i in range(30)])
    result = AthenaEngine(athena_settings).execute("SELECT i FROM t", max_rows=10)
    assert result.rows == [[i] for i in range(10)]
    assert result.truncated and result.truncation_reason == "max_rows"


def test_failed_query_reports_athenas_message_and_id(athena_settings: Settings) -> None:
    """moto 5.2.5 has no hook that makes an execution FAIL (its state manager only delays the
    QUEUED→RUNNING→SUCCEEDED progression). The query is started on moto for real; botocore's
    documented event system then rewrites the parsed GetQueryExecution response to the FAILED
    shape Athena sends (state, StateChangeReason, AthenaError)."""
    engine = AthenaEngine(athena_settings)
    message = "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved or requester is not authorized"

    def fail(parsed, **_):
        parsed["QueryExecution"]["Status"] = {
            "State": "FAILED",
            "StateChangeReason": message,
            "AthenaError": {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False, "ErrorMessage": message},
        }

    engine.client.meta.events.register("after-call.athena.GetQueryExecution", fail)
    with pytest.raises(InputError) as caught:
        engine.execute("SELECT nope FROM population")
    text = str(caught.value)
    assert "FAILED" in text and message in text
    query_id = text.split("Athena query ", 1)[1].split(" ", 1)[0]
    assert aws_client("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Query"]


def test_timeout_cancels_the_query(athena_settings: Settings, queries_stay_queued) -> None:
    engine = AthenaEngine(athena_settings)
    started = time.monotonic()
    with pytest.raises(UpstreamError, match="cancelled") as caught:
        engine.execute("SELECT count(*) FROM population", deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 10
    query_id = str(caught.value).split("Athena query ", 1)[1].split(" ", 1)[0]
    state = aws_client("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
    assert state == "CANCELLED"  # StopQueryExecution reached moto


def test_cancelled_elsewhere_is_reported(athena_settings: Settings, queries_stay_queued) -> None:
    engine = AthenaEngine(athena_settings)
    athena = aws_client("athena")

    def stop_during_first_poll(seconds: float) -> None:
        query_id = athena.list_query_executions()["QueryExecutionIds"][-1]
        athena.stop_query_execution(QueryExecutionId=query_id)

    engine._sleep = stop_during_first_poll
    with pytest.raises(UpstreamError, match="CANCELLED"):
        engine.execute("SELECT 1")


def test_guard_applies_before_anything_reaches_athena(athena_settings: Settings) -> None:
    engine = AthenaEngine(athena_settings)
    with pytest.raises(SqlRejected) as caught:
        engine.execute("DROP TABLE estat.population")
    assert caught.value.rule == "ddl"
    assert aws_client("athena").list_query_executions()["QueryExecutionIds"] == []


def _page(rows: list[list[str]], token: str | None, header: bool) -> dict:
    data = ([{"Data": [{"VarCharValue": "i"}, {"VarCharValue": "name"}]}] if header else []) + [
        {"Data": [{"VarCharValue": a}, {"VarCharValue": b}]} for a, b in rows
    ]
    page = {
        "ResultSet": {
            "Rows": data,
            "ResultSetMetadata": {
                "ColumnInfo": [{"Name": "i", "Type": "integer"}, {"Name": "name", "Type": "varchar"}]
            },
        }
    }
    if token:
        page["NextToken"] = token
    return page


def _stubbed_engine(
    settings: Settings, pages: list[dict], expect_tokens: list[str | None]
) -> tuple[AthenaEngine, Stubber]:
    client = aws_client("athena", region="ap-northeast-1")
    stubber = Stubber(client)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-123"})
    stubber.add_response(
        "get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-123", "Status": {"State": "RUNNING"}}}
    )
    stubber.add_response(
        "get_query_execution",
        {
            "QueryExecution": {
                "QueryExecutionId": "q-123",
                "Status": {"State": "SUCCEEDED"},
                "Statistics": {"DataScannedInBytes": 3 * 2**30},
                "ResultConfiguration": {"OutputLocation": "s3://r/q-123.csv"},
            }
        },
    )
    for page, token in zip(pages, expect_tokens, strict=True):
        expected = {"QueryExecutionId": "q-123", "MaxResults": 1000, **({"NextToken": token} if token else {})}
        stubber.add_response("get_query_results", page, expected)
    stubber.activate()
    return AthenaEngine(settings, client=client, sleep=lambda s: None), stubber


def test_paging_follows_next_token(athena_settings: Settings) -> None:
    """moto returns every row in one page (it ignores MaxResults), so NextToken paging is proven with
    botocore's Stubber, which checks the exact parameters of each call against Athena's API model."""
    pages = [
        _page([[str(i), f"n{i}"] for i in range(0, 3)], "t1", header=True),
        _page([[str(i), f"n{i}"] for i in range(3, 6)], "t2", header=False),
        _page([[str(i), f"n{i}"] for i in range(6, 8)], None, header=False),
    ]
    engine, stubber = _stubbed_engine(athena_settings, pages, [None, "t1", "t2"])
    result = engine.execute("SELECT i, name FROM population")
    stubber.assert_no_pending_responses()
    assert result.rows == [[i, f"n{i}"] for i in range(8)]
    assert (result.total_rows, result.truncated, result.query_id) == (8, False, "q-123")
    assert result.data_scanned_bytes == 3 * 2**30
    assert result.estimated_cost_usd == pytest.approx(3 / 1024 * 5.0)
    assert result.result_location == "s3://r/q-123.csv"


def test_paging_stops_at_max_rows(athena_settings: Settings) -> None:
    pages = [
        _page([[str(i), f"n{i}"] for i in range(0, 3)], "t1", header=True),
        _page([[str(i), f"n{i}"] for i in range(3, 6)], "t2", header=False),
    ]
    engine, stubber = _stubbed_engine(athena_settings, pages, [None, "t1"])
    result = engine.execute("SELECT i, name FROM population", max_rows=4)
    stubber.assert_no_pending_responses()  # the third page was never requested
    assert result.rows == [[i, f"n{i}"] for i in range(4)]
    assert result.truncated and result.truncation_reason == "max_rows"
    assert result.total_rows is None  # Athena does not say how many rows there were


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("42", "integer", 42),
        ("-7", "bigint", -7),
        ("1.5", "double", 1.5),
        ("NaN", "double", None),
        ("12.30", "decimal(10,2)", 12.3),
        ("true", "boolean", True),
        ("2020-10-01", "date", "2020-10-01"),
        ("[1, 2]", "array(integer)", "[1, 2]"),
        (None, "varchar", None),
        ("abc", "integer", "abc"),
    ],
)
def test_convert_value(text, kind, value) -> None:
    assert convert_value(text, kind) == value


def test_cost_estimate_arithmetic() -> None:
    assert estimated_cost_usd(None) is None
    # 10 MB minimum: 10 MB / 1 TB * $5
    assert estimated_cost_usd(1) == pytest.approx(10 / 1024 / 1024 * 5)
    assert estimated_cost_usd(2**40) == pytest.approx(5.0)
    # rounded up to the next MB
    assert estimated_cost_usd(100 * 2**20 + 1) == pytest.approx(101 / 2**20 * 5)
