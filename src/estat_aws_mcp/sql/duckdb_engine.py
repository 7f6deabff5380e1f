"""The embedded SQL engine: DuckDB over the Iceberg tables of the local catalog.

Per query, a fresh in-memory DuckDB connection gets one view per table the query names (as
``<namespace>.<table>`` and, for the default namespace, also unqualified). A view reads the
Parquet data files of the table's *current snapshot* (listed by pyiceberg's scan planning) with
``read_parquet``: DuckDB streams them with projection and filter pushdown, so memory does not grow
with the table. Only when a snapshot has delete files (row-level deletes, which pyiceberg applies
but a plain Parquet read would not) or its files are not local (a Glue catalog on S3 while the
engine is DuckDB) does the view fall back to pyiceberg's Arrow scan, which holds the table in memory.

Defence in depth below the guard: the connection may read exactly those data files
(``allowed_paths``), external access is then disabled (no other file, no network, no ATTACH, no
INSTALL), extension autoloading and Python replacement scans are off, and the configuration is
locked so no statement can undo it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

from estat_aws_mcp.errors import InputError, UpstreamError
from estat_aws_mcp.sql import query_deadline
from estat_aws_mcp.sql.dialects import dialects_for
from estat_aws_mcp.sql.guard import CheckedQuery, SqlRejected, check_read_only
from estat_aws_mcp.sql.result import BoundedRows, QueryResult, ResultColumn, finish

if TYPE_CHECKING:
    from estat_aws_mcp.datasets.iceberg import CatalogHandle, TableScanPlan
    from estat_aws_mcp.settings import Settings

BATCH_ROWS = 2048
# Tables exposed when a query reads information_schema (to discover what is loaded).
MAX_DISCOVERY_TABLES = 200
# After the result is full, the remaining rows are only counted (to report total_rows), up to this many.
COUNT_CAP_ROWS = 20_000_000
# Room kept for everything in the result except the rows (columns, SQL text, notices, credit).
ENVELOPE_RESERVE_BYTES = 64 * 1024

_ICEBERG_TO_DUCKDB = {
    "string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "long": "BIGINT",
    "int": "INTEGER",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "binary": "BLOB",
}


# Every name and path put into generated SQL goes through these two (hence the S608 waivers below).
def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBEngine:
    """Read-only SQL on DuckDB over the local Iceberg catalog."""

    name = "duckdb"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def execute(
        self, sql: str, *, max_rows: int = 1000, deadline: float | None = None, dialect: str = "auto"
    ) -> QueryResult:
        checked = check_read_only(sql, dialects=dialects_for(dialect))
        try:
            run_sql = checked.sql("duckdb")
        except Exception as exc:  # sqlglot UnsupportedError: a Trino construct DuckDB lacks
            raise InputError(f"the query cannot be expressed in DuckDB SQL: {exc}") from exc
        notices = []
        if checked.dialect != "duckdb":
            notices.append(f"read as {checked.dialect} SQL and transpiled to DuckDB")
        import duckdb

        from estat_aws_mcp.datasets.iceberg import open_catalog

        handle = open_catalog(self.settings, create=False)
        con = duckdb.connect(
            ":memory:",
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "python_enable_replacements": False,
            },
        )
        try:
            notices += self._expose_tables(con, handle, checked)
            return self._run(
                con, handle, run_sql, max_rows, query_deadline(self.settings.sql_timeout_s, deadline=deadline), notices
            )
        finally:
            con.close()

    # ------------------------------------------------------------------ views

    def _expose_tables(self, con, handle: CatalogHandle | None, checked: CheckedQuery) -> list[str]:
        from estat_aws_mcp.datasets.iceberg import list_tables, plan_table_scan
        from estat_aws_mcp.sql.guard import TableRef

        default_ns = self.settings.glue_database
        notices: list[str] = []
        allowed: list[str] = []
        views: list[str] = []
        created: set[tuple[str, str]] = set()
        refs = list(checked.tables)
        if handle is not None and any((ref.namespace or "").lower() == "information_schema" for ref in refs):
            # Discovery (information_schema.tables / .columns): expose every loaded table.
            for qualified in list_tables(handle)[:MAX_DISCOVERY_TABLES]:
                namespace, _, name = qualified.rpartition(".")
                refs.append(TableRef(name, namespace))
        for ref in refs:
            # Loaded names are lower case; SQL identifiers match case-insensitively on both engines.
            namespace, name = (ref.namespace or default_ns).lower(), ref.name.lower()
            if handle is None or namespace == "information_schema" or (namespace, name) in created:
                continue
            plan = plan_table_scan(handle, namespace, name)
            if plan is None:
                continue  # DuckDB reports the unknown table; _run adds the list of tables
            created.add((namespace, name))
            source, files, note = self._source_for(con, plan, len(created))
            allowed += files
            if note:
                notices.append(note)
            views.append(f"CREATE SCHEMA IF NOT EXISTS {_quote_identifier(namespace)}")
            target = f"{_quote_identifier(namespace)}.{_quote_identifier(name)}"
            views.append(f"CREATE OR REPLACE VIEW {target} AS {source}")
            if namespace == default_ns:
                views.append(f"CREATE OR REPLACE VIEW main.{_quote_identifier(name)} AS SELECT * FROM {target}")  # noqa: S608
        # Spill big sorts/joins to the machine's temp dir (DuckDB's default, ./.tmp, is read-only on Lambda).
        con.execute(f"SET temp_directory = {_quote_string(os.path.join(tempfile.gettempdir(), 'estat-mcp-duckdb'))}")
        # The order matters: allowed paths can only be set while external access is still on.
        con.execute(f"SET allowed_paths = [{', '.join(_quote_string(p) for p in allowed)}]")
        for statement in views:
            con.execute(statement)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return notices

    def _source_for(self, con, plan: TableScanPlan, index: int) -> tuple[str, list[str], str | None]:
        """SELECT text for a table's view, the files it may read, and a notice if it fell back to Arrow."""
        columns = ", ".join(_quote_identifier(name) for name, _ in plan.columns)
        local = all("://" not in path for path in plan.data_files)
        if local and not plan.has_deletes:
            if not plan.data_files:
                typed = ", ".join(
                    f"CAST(NULL AS {_ICEBERG_TO_DUCKDB.get(kind, 'VARCHAR')}) AS {_quote_identifier(name)}"
                    for name, kind in plan.columns
                )
                return f"SELECT {typed} WHERE false", [], None
            files = ", ".join(_quote_string(p) for p in plan.data_files)
            return f"SELECT {columns} FROM read_parquet([{files}], union_by_name = true)", list(plan.data_files), None  # noqa: S608
        arrow_name = f"__iceberg_scan_{index}"
        con.register(arrow_name, plan.table.scan().to_arrow())
        reason = "has row-level deletes" if plan.has_deletes else "has non-local data files"
        return (
            f"SELECT {columns} FROM {_quote_identifier(arrow_name)}",  # noqa: S608
            [],
            f"{plan.identifier} {reason}: read through pyiceberg into memory",
        )

    # ------------------------------------------------------------------ execution

    def _run(
        self, con, handle: CatalogHandle | None, run_sql: str, max_rows: int, deadline: float, notices: list[str]
    ) -> QueryResult:
        import duckdb

        timed_out = threading.Event()

        def interrupt() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(max(0.0, deadline - time.monotonic()), interrupt)
        timer.daemon = True
        timer.start()
        bounded = BoundedRows(max_rows, reserve_bytes=ENVELOPE_RESERVE_BYTES + len(run_sql.encode()))
        counted_all = True
        try:
            relation = con.sql(run_sql)
            if relation is None:  # pragma: no cover - the guard only lets queries through
                raise SqlRejected("not_a_query")
            columns = [
                ResultColumn(name=n, type=str(t).lower()) for n, t in zip(relation.columns, relation.types, strict=True)
            ]
            reader = relation.to_arrow_reader(BATCH_ROWS)
            for batch in reader:
                if bounded.full:
                    if bounded.rows_seen >= COUNT_CAP_ROWS:
                        counted_all = False
                        break
                    bounded.rows_seen += batch.num_rows  # only count what is not returned
                    continue
                for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
                    bounded.add(list(row))
        except duckdb.InterruptException as exc:
            if timed_out.is_set():
                raise UpstreamError(
                    f"the query ran longer than its time limit ({self.settings.sql_timeout_s:g} s or the request's "
                    "remaining time) and was interrupted; narrow it (WHERE, LIMIT) or aggregate"
                ) from exc
            raise UpstreamError("the query was interrupted") from exc
        except duckdb.PermissionException as exc:
            raise SqlRejected("file_access", f"refused by the engine's sandbox: {exc}") from exc
        except duckdb.CatalogException as exc:
            # DuckDB's "Did you mean" suggests its own system tables; the loaded tables help more.
            raise InputError(f"{str(exc).splitlines()[0]}\n{_tables_hint(handle)}") from exc
        except duckdb.Error as exc:
            raise InputError(f"DuckDB could not run the query: {exc}") from exc
        finally:
            timer.cancel()

        result = QueryResult(
            engine="duckdb",
            sql=run_sql,
            columns=columns,
            rows=bounded.rows,
            row_count=len(bounded.rows),
            total_rows=bounded.rows_seen if counted_all else None,
            truncated=bounded.full,
            truncation_reason=bounded.reason,
            notices=notices,
        )
        return finish(result)


def _tables_hint(handle: CatalogHandle | None) -> str:
    from estat_aws_mcp.datasets.iceberg import list_tables

    try:
        names: list[Any] = list_tables(handle) if handle is not None else []
    except Exception:  # e.g. a role without glue:GetDatabases: the error itself still stands
        return "Load tables with load_to_iceberg(dataset_id, table); they are then queried as <table>."
    if not names:
        return "No tables are loaded yet: load a dataset with load_to_iceberg(dataset_id, table) first."
    return "Loaded tables: " + ", ".join(names)
