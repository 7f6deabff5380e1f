"""Read-only SQL over the loaded Iceberg tables: the guard, the DuckDB (local) and Athena engines.

``get_engine(settings)`` picks the engine from ``ESTAT_MCP_SQL_ENGINE``; both return the same
bounded :class:`~estat_aws_mcp.sql.result.QueryResult`. Engines import their heavy libraries
(duckdb, pyiceberg, boto3) only when a query runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from estat_aws_mcp.deadline import stop_by

if TYPE_CHECKING:
    from estat_aws_mcp.settings import Settings
    from estat_aws_mcp.sql.result import QueryResult


#: Seconds kept before the invocation's deadline (:mod:`estat_aws_mcp.deadline`) to cancel a query and answer.
SAFETY_MARGIN_S = 3.0
#: The shortest time a query is given even when the invocation is nearly over.
MIN_QUERY_S = 1.0


def query_deadline(timeout_s: float, *, deadline: float | None = None) -> float:
    """The ``time.monotonic()`` value a query must finish by.

    The configured ``timeout_s``, capped by an explicit ``deadline`` from the caller and by the
    invocation's deadline less :data:`SAFETY_MARGIN_S`; never less than :data:`MIN_QUERY_S` from now.
    """
    return stop_by(timeout_s, reserve_s=SAFETY_MARGIN_S, minimum_s=MIN_QUERY_S, deadline=deadline)


class SqlEngine(Protocol):
    name: str

    def execute(
        self, sql: str, *, max_rows: int = 1000, deadline: float | None = None, dialect: str = "auto"
    ) -> QueryResult: ...


def get_engine(settings: Settings) -> SqlEngine:
    """The configured engine: DuckDB (embedded, default) or Athena."""
    if settings.sql_engine == "athena":
        from estat_aws_mcp.sql.athena_engine import AthenaEngine

        return AthenaEngine(settings)
    from estat_aws_mcp.sql.duckdb_engine import DuckDBEngine

    return DuckDBEngine(settings)
