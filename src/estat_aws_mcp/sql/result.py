"""The bounded, typed result every SQL engine returns.

Rows are cut at ``max_rows`` and at :data:`estat_aws_mcp.limits.TOOL_RESULT_BUDGET_BYTES`: while rows
stream in, each row's cost in both copies FastMCP sends (compact ``structuredContent`` and the
indented text copy) is estimated; :func:`finish` then measures the whole result with
:func:`estat_aws_mcp.limits.result_wire_bytes` and drops rows until it fits.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel, Field

from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES, result_wire_bytes

TruncationReason = Literal["max_rows", "byte_budget"]


class ResultColumn(BaseModel):
    name: str
    type: str = Field(description="engine type name in lower case, e.g. varchar, double, bigint")


class QueryResult(BaseModel):
    """Rows of a read-only query, bounded by ``max_rows`` and the tool-result byte budget."""

    engine: Literal["duckdb", "athena"]
    sql: str = Field(description="the statement the engine executed (after the guard and any transpilation)")
    columns: list[ResultColumn]
    rows: list[list[Any]] = Field(description="row values in column order (JSON types; dates as ISO strings)")
    row_count: int = Field(description="rows returned here")
    total_rows: int | None = Field(
        default=None, description="rows the query produced, when known (always known when not truncated)"
    )
    truncated: bool = False
    truncation_reason: TruncationReason | None = None
    query_id: str | None = Field(default=None, description="Athena QueryExecutionId")
    data_scanned_bytes: int | None = None
    estimated_cost_usd: float | None = Field(
        default=None, description="Athena: bytes scanned at $5 per TB (10 MB minimum per query); an estimate"
    )
    result_location: str | None = Field(default=None, description="Athena: S3 URI of the complete result CSV")
    notices: list[str] = Field(default_factory=list)
    credit: str = CREDIT_NOTICE


def to_json_value(value: Any) -> Any:
    """A JSON-safe equivalent of an engine value (dates as ISO strings, decimals as floats)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json_value(v) for v in value]
    return str(value)


def _row_cost_estimate(values: list[Any]) -> int:
    """A streamed row's share of the result (both copies); :func:`finish` measures the real total."""
    # A row sits three levels deep in the indented text copy: 6 more spaces on every line.
    indented = pydantic_core.to_json(values, indent=2).decode().replace("\n", "\n      ")
    # Escaped as result_wire_bytes measures it (ASCII escapes, ", " separators in the structured copy).
    return len(json.dumps(indented)) + len(json.dumps(values)) + 16


class BoundedRows:
    """Collects rows until ``max_rows`` or the byte budget is reached, then only counts them."""

    def __init__(self, max_rows: int, budget_bytes: int = TOOL_RESULT_BUDGET_BYTES, reserve_bytes: int = 0) -> None:
        self.max_rows = max_rows
        # Room for the rows after the envelope (columns, sql, notices...) the caller reserves.
        self.budget_bytes = budget_bytes
        self.row_budget = budget_bytes - reserve_bytes
        self.rows: list[list[Any]] = []
        self.rows_seen = 0
        self.used_bytes = 0
        self.reason: TruncationReason | None = None

    @property
    def full(self) -> bool:
        return self.reason is not None

    def add(self, row: list[Any]) -> bool:
        """Keep ``row`` if it fits; returns False once the result is full (the row is then only counted)."""
        self.rows_seen += 1
        if self.reason is not None:
            return False
        if len(self.rows) >= self.max_rows:
            self.reason = "max_rows"
            return False
        values = [to_json_value(v) for v in row]
        cost = _row_cost_estimate(values)
        if self.used_bytes + cost > self.row_budget:
            self.reason = "byte_budget"
            return False
        self.used_bytes += cost
        self.rows.append(values)
        return True


def finish(result: QueryResult, budget_bytes: int = TOOL_RESULT_BUDGET_BYTES) -> QueryResult:
    """Drop trailing rows until the whole encoded result fits the budget (the estimate is then exact)."""
    while result.rows and result_wire_bytes(result) > budget_bytes:
        drop = max(1, len(result.rows) // 50)
        del result.rows[-drop:]
        result.truncated = True
        result.truncation_reason = "byte_budget"
    result.row_count = len(result.rows)
    return result
