"""The AWS SQL engine: Amazon Athena (Trino) over the Glue catalog's Iceberg tables.

Flow: guard → transpile to Trino → ``StartQueryExecution`` (workgroup, database and result
location from the settings; an idempotency token so a retried start never runs twice) → poll
``GetQueryExecution`` with exponential backoff until a terminal state or the deadline (the
configured timeout, capped by the Lambda invocation's remaining time) → on timeout
``StopQueryExecution`` (a query left running keeps scanning, and costing) → page
``GetQueryResults`` (``NextToken``) into the same bounded result shape as DuckDB, with types from
``ResultSetMetadata``. FAILED and CANCELLED report Athena's own message and the query id.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from estat_aws_mcp.errors import ConfigurationError, InputError, UpstreamError
from estat_aws_mcp.sql import query_deadline
from estat_aws_mcp.sql.dialects import dialects_for
from estat_aws_mcp.sql.guard import check_read_only
from estat_aws_mcp.sql.result import BoundedRows, QueryResult, ResultColumn, finish

if TYPE_CHECKING:
    from estat_aws_mcp.settings import Settings

logger = logging.getLogger(__name__)

#: Athena's on-demand price in most regions, US$ per TB scanned (1 TB = 2**40 bytes here).
PRICE_PER_TB_USD = 5.0
#: Athena bills at least 10 MB per query, rounded up to the next MB.
MIN_BILLED_BYTES = 10 * 1024 * 1024
PAGE_SIZE = 1000  # GetQueryResults maximum
FIRST_POLL_S = 0.25
MAX_POLL_S = 2.0
ENVELOPE_RESERVE_BYTES = 64 * 1024

_INTEGER_TYPES = {"tinyint", "smallint", "integer", "int", "bigint"}
_FLOAT_TYPES = {"double", "float", "real", "decimal"}


def estimated_cost_usd(scanned_bytes: int | None) -> float | None:
    """What Athena bills for ``scanned_bytes``: 10 MB minimum, rounded up to MB, at $5 per TB."""
    if scanned_bytes is None:
        return None
    megabytes = max(MIN_BILLED_BYTES, scanned_bytes) / (1024 * 1024)
    billed = math.ceil(megabytes) * 1024 * 1024
    return billed / 2**40 * PRICE_PER_TB_USD


def convert_value(text: str | None, athena_type: str) -> Any:
    """An Athena result cell (always a string or absent) as the JSON value of its column type."""
    if text is None:
        return None
    base = athena_type.lower().split("(", 1)[0].strip()
    try:
        if base in _INTEGER_TYPES:
            return int(text)
        if base in _FLOAT_TYPES:
            value = float(text)
            return value if math.isfinite(value) else None
        if base == "boolean":
            return text.lower() == "true"
    except ValueError:
        return text
    return text  # varchar, date, timestamp (ISO-like text), arrays/maps/rows as Athena prints them


class AthenaEngine:
    """Read-only SQL on Athena."""

    name = "athena"

    def __init__(self, settings: Settings, *, client: Any = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._client = client
        self._sleep = sleep

    @property
    def client(self):
        if self._client is None:
            from estat_aws_mcp.aws.clients import aws_client

            self._client = aws_client("athena", read_timeout=20.0)
        return self._client

    def execute(
        self, sql: str, *, max_rows: int = 1000, deadline: float | None = None, dialect: str = "auto"
    ) -> QueryResult:
        checked = check_read_only(sql, dialects=dialects_for(dialect))
        try:
            trino_sql = checked.sql("trino")
        except Exception as exc:  # sqlglot UnsupportedError
            raise InputError(
                f"the query uses a {checked.dialect} construct that Athena (Trino) does not have: {exc}"
            ) from exc
        notices = []
        if checked.dialect != "trino":
            notices.append("read as DuckDB SQL and transpiled to Trino for Athena")
        finish_by = query_deadline(self.settings.sql_timeout_s, deadline=deadline)
        query_id = self._start(trino_sql)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            execution = self._wait(query_id, finish_by)
            return self._results(query_id, execution, trino_sql, max_rows, notices)
        except ClientError as exc:
            raise UpstreamError(f"Athena query {query_id}: {_aws_message(exc)}") from exc
        except BotoCoreError as exc:
            raise UpstreamError(f"Athena query {query_id}: {exc}") from exc

    # ------------------------------------------------------------------ steps

    def _start(self, trino_sql: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {
            "QueryString": trino_sql,
            "ClientRequestToken": uuid.uuid4().hex,
            "QueryExecutionContext": {"Database": self.settings.athena_database, "Catalog": "AwsDataCatalog"},
            "WorkGroup": self.settings.athena_workgroup,
        }
        if self.settings.athena_output_location:
            if not self.settings.athena_output_location.startswith("s3://"):
                raise ConfigurationError("ESTAT_MCP_ATHENA_OUTPUT_LOCATION must be an s3:// URI")
            request["ResultConfiguration"] = {"OutputLocation": self.settings.athena_output_location}
        try:
            return self.client.start_query_execution(**request)["QueryExecutionId"]
        except ClientError as exc:
            raise UpstreamError(f"Athena did not start the query: {_aws_message(exc)}") from exc
        except BotoCoreError as exc:
            raise UpstreamError(f"Athena could not be reached: {exc}") from exc

    def _wait(self, query_id: str, finish_by: float) -> dict[str, Any]:
        delay = FIRST_POLL_S
        while True:
            execution = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in ("FAILED", "CANCELLED"):
                reason = (
                    status.get("AthenaError", {}).get("ErrorMessage")
                    or status.get("StateChangeReason")
                    or "no reason given"
                )
                error = InputError if status.get("AthenaError", {}).get("ErrorCategory") == 2 else UpstreamError
                raise error(f"Athena query {query_id} {state}: {reason}")
            remaining = finish_by - time.monotonic()
            if remaining <= 0:
                cancelled = self._cancel(query_id)
                raise UpstreamError(
                    f"Athena query {query_id} did not finish within its time limit "
                    f"({self.settings.sql_timeout_s:g} s or the request's remaining time) and "
                    + (
                        "was cancelled (StopQueryExecution)"
                        if cancelled
                        else "could NOT be cancelled; stop it in the console"
                    )
                    + "; narrow it (WHERE on partitions, fewer columns) or aggregate"
                )
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_POLL_S)

    def _cancel(self, query_id: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.stop_query_execution(QueryExecutionId=query_id)
        except (ClientError, BotoCoreError) as exc:  # pragma: no cover - the timeout is reported anyway
            logger.warning("StopQueryExecution failed for Athena query %s: %s", query_id, exc)
            return False
        return True

    def _results(
        self, query_id: str, execution: dict[str, Any], trino_sql: str, max_rows: int, notices: list[str]
    ) -> QueryResult:
        bounded = BoundedRows(max_rows, reserve_bytes=ENVELOPE_RESERVE_BYTES + len(trino_sql.encode()))
        columns: list[ResultColumn] = []
        token: str | None = None
        first_page = True
        exhausted = False
        while not bounded.full:
            request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": PAGE_SIZE}
            if token:
                request["NextToken"] = token
            page = self.client.get_query_results(**request)
            result_set = page.get("ResultSet", {})
            if first_page:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [ResultColumn(name=c.get("Label") or c["Name"], type=c.get("Type", "varchar")) for c in info]
            rows = result_set.get("Rows", [])
            if first_page and rows and _is_header(rows[0], columns):
                rows = rows[1:]  # Athena repeats the column labels as the first row of a SELECT
            first_page = False
            for row in rows:
                cells = [d.get("VarCharValue") for d in row.get("Data", [])]
                bounded.add([convert_value(v, c.type) for v, c in zip(cells, columns, strict=False)])
            token = page.get("NextToken")
            if not token:
                exhausted = True
                break
        statistics = execution.get("Statistics", {})
        scanned = statistics.get("DataScannedInBytes")
        truncated = bounded.full  # a row was left out (the bound is only hit by a row that did not fit)
        result = QueryResult(
            engine="athena",
            sql=trino_sql,
            columns=columns,
            rows=bounded.rows,
            row_count=len(bounded.rows),
            # Athena states no row count; it is known only when every page was read.
            total_rows=bounded.rows_seen if exhausted else None,
            truncated=truncated,
            truncation_reason=bounded.reason if truncated else None,
            query_id=query_id,
            data_scanned_bytes=scanned,
            estimated_cost_usd=estimated_cost_usd(scanned),
            result_location=execution.get("ResultConfiguration", {}).get("OutputLocation"),
            notices=notices,
        )
        return finish(result)


def _is_header(row: dict[str, Any], columns: list[ResultColumn]) -> bool:
    values = [d.get("VarCharValue") for d in row.get("Data", [])]
    return bool(columns) and values == [c.name for c in columns]


def _aws_message(exc: Any) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
