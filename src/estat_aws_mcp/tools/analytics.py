"""Analytics tools: ``load_to_iceberg`` and ``analyze_with_athena``.

Thin wrappers over :mod:`estat_aws_mcp.datasets.iceberg` and :mod:`estat_aws_mcp.sql`; blocking
work (Parquet reads, catalog commits, queries) runs in a worker thread so the event loop keeps
serving other requests. The query deadline is taken here, in the request's context, so a Lambda
invocation's remaining time (:mod:`estat_aws_mcp.deadline`) caps it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from estat_aws_mcp.datasets.iceberg import IcebergLoadResult
from estat_aws_mcp.sql.result import QueryResult
from estat_aws_mcp.tools.errors import in_worker_thread
from estat_aws_mcp.tools.template import DATASET_ID_CHARS

MAX_ROWS_LIMIT = 10_000
#: Longest SQL text accepted (a query, not a data transfer).
MAX_SQL_CHARS = 100_000
#: Iceberg table and namespace names (checked further by the core).
MAX_TABLE_NAME_CHARS = 128

LOAD_DESCRIPTION = (
    "Load a dataset (a dataset_id from a fetch tool) into an Iceberg table that analyze_with_athena can query. "
    "Locally: a SQLite-backed Iceberg catalog in the dataset store; with an s3:// store: the AWS Glue Data Catalog "
    "(data under the store prefix), queryable by Athena. mode='replace_dataset' (default) adds the dataset's rows "
    "and removes, in the same commit, rows that an earlier load of the same dataset (or of the same table and "
    "filters) added, so loading twice never doubles a table; several datasets with the same axes can share one "
    "table this way. mode='append' adds the rows even if they are already there (the answer then warns). Both "
    "require the dataset's columns to equal the table's (datasets with different axes are refused with both "
    "column lists); mode='overwrite' replaces all rows and the columns atomically (history kept). Concurrent "
    "loads into one table take turns or fail with 'concurrent load, try again'. Returns the table identifier, "
    "snapshot id, row counts (rows_replaced), warnings and schema."
)

ANALYZE_DESCRIPTION = (
    "Run ONE read-only SQL query (SELECT / WITH / UNION / VALUES) over tables loaded with load_to_iceberg; "
    "a table loaded as 'population' is queried as population or estat.population. Engine: DuckDB locally, "
    "Amazon Athena when the server is configured for it (DuckDB SQL is transpiled to Trino; Trino SQL is "
    "accepted too). DDL/DML, COPY, ATTACH, INSTALL/LOAD, PRAGMA, SET, several statements and file-reading "
    "functions (read_csv, read_parquet, 'file.csv' …) are refused with a named rule. Rows are cut at max_rows "
    "and at the response size budget; the result says when and why (truncated, truncation_reason, total_rows). "
    "Aggregate in SQL rather than fetching raw rows. Show the returned credit notice with e-Stat data.\n"
    "Columns: <axis>_code, <axis>_name, <axis>_level, <axis>_parent_code per axis (tab, cat01.., area, time), "
    "time_start/time_end (dates) and time_granularity (year, fiscal_year, quarter, month…), unit, value (null "
    "for markers such as *** or X; value_raw and note keep them). Hierarchical axes (area: level 1 全国, "
    "level 2 都道府県, 3+ 市区町村) hold totals AND their parts: aggregate ONE level, e.g. "
    "SELECT cat01_name, sum(value) FROM population WHERE area_level = '2' GROUP BY cat01_name, or the "
    "national total is counted twice. Sums are only meaningful for additive values (counts, amounts), "
    "not for rates, averages or indexes."
)


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="load_to_iceberg",
        title="Load a dataset into an Iceberg table",
        description=LOAD_DESCRIPTION,
        # mode='overwrite' replaces the table's rows (history kept); 'append' twice adds the rows twice;
        # the default 'replace_dataset' is idempotent per dataset.
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False
        ),
        structured_output=True,
    )
    async def load_to_iceberg(
        dataset_id: Annotated[
            str, Field(max_length=DATASET_ID_CHARS, description="dataset_id returned by a fetch tool")
        ],
        table: Annotated[
            str,
            Field(
                max_length=MAX_TABLE_NAME_CHARS,
                description="table name: lower-case letters, digits, '_', starting with a letter (max 128)",
            ),
        ],
        namespace: Annotated[
            str | None,
            Field(
                max_length=MAX_TABLE_NAME_CHARS,
                description="namespace (Glue database on AWS); default: ESTAT_MCP_GLUE_DATABASE, normally 'estat'",
            ),
        ] = None,
        mode: Annotated[
            Literal["replace_dataset", "append", "overwrite"],
            Field(
                description="replace_dataset: add the rows, replacing this dataset's earlier load (default); "
                "append: add them even if already there; overwrite: replace all rows and the schema"
            ),
        ] = "replace_dataset",
    ) -> IcebergLoadResult:
        from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg
        from estat_aws_mcp.settings import get_settings

        return await in_worker_thread(load_dataset_to_iceberg, get_settings(), dataset_id, table, namespace, mode)

    @mcp.tool(
        name="analyze_with_athena",
        title="Query loaded tables with SQL",
        description=ANALYZE_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    async def analyze_with_athena(
        sql: Annotated[
            str,
            Field(max_length=MAX_SQL_CHARS, description="one read-only query, DuckDB or Trino (Athena) SQL"),
        ],
        max_rows: Annotated[
            int, Field(ge=1, le=MAX_ROWS_LIMIT, description="most rows to return (the byte budget may cut earlier)")
        ] = 1000,
        dialect: Annotated[
            Literal["auto", "duckdb", "trino"],
            Field(description="how to read the SQL: auto tries DuckDB, then Trino"),
        ] = "auto",
    ) -> QueryResult:
        from estat_aws_mcp.settings import get_settings
        from estat_aws_mcp.sql import get_engine, query_deadline

        settings = get_settings()
        deadline = query_deadline(settings.sql_timeout_s)  # taken in the request's context (Lambda deadline)
        engine = get_engine(settings)
        return await in_worker_thread(engine.execute, sql, max_rows=max_rows, deadline=deadline, dialect=dialect)
