"""Read-only SQL over the loaded Iceberg tables: the guard, the DuckDB (local) and Athena engines.

``get_engine(settings)`` picks the engine from ``ESTAT_MCP_SQL_ENGINE``; both return the same
bounded :class:`~estat_aws_mcp.sql.result.QueryResult`. Engines import their heavy libraries
(duckdb, pyiceberg, boto3) only when a query runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from estat_aws_mcp.settings import Settings
    from estat_aws_mcp.sql.result import QueryResult


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
