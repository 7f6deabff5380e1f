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

Bounded resources (:mod:`estat_aws_mcp.sql.resources`): at most ``max_concurrent`` queries run at once
per process, each with a DuckDB ``memory_limit`` and thread count derived from the machine or the Lambda
function, spilling only with a local store and only into the store's ``.tmp/duckdb``. A watchdog thread
enforces the time limit and stops a query whose process memory or spill files grow past its share
(DuckDB does not bound every allocation). Running out of either answers :data:`MEMORY_LIMIT_MESSAGE`;
running out of time answers :data:`TIME_LIMIT_MESSAGE`, whether the query was counting or streaming rows.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from estat_aws_mcp.errors import InputError, ResourceLimitError, UpstreamError
from estat_aws_mcp.sql import query_deadline
from estat_aws_mcp.sql.dialects import dialects_for
from estat_aws_mcp.sql.guard import CheckedQuery, SqlRejected, check_read_only
from estat_aws_mcp.sql.resources import (
    MIB,
    RSS_MARGIN_MB,
    SqlResources,
    folder_bytes,
    process_rss_bytes,
    query_slots,
    resources_for,
    sweep_stale_spill,
)
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
# How often the watchdog looks at the clock, the process's memory and the spill folder.
WATCH_INTERVAL_S = 0.05

TIME_LIMIT_MESSAGE = (
    "the query ran longer than its time limit ({timeout:g} s or the request's remaining time) and was "
    "interrupted; narrow it (WHERE, LIMIT) or aggregate"
)
MEMORY_LIMIT_MESSAGE = (
    "the query needs more memory than allowed ({memory_mb} MB per query{spill}) and was stopped; filter or "
    "aggregate earlier (WHERE, GROUP BY, LIMIT), select fewer columns, or bound recursive CTEs. The limit is "
    "set by ESTAT_MCP_SQL_MEMORY_LIMIT_MB / ESTAT_MCP_SQL_MAX_CONCURRENT"
)

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

        until = query_deadline(self.settings.sql_timeout_s, deadline=deadline)
        resources = resources_for(self.settings)
        slots = query_slots(resources.max_concurrent)
        if not slots.acquire(timeout=max(0.0, until - time.monotonic())):
            raise UpstreamError(
                self._time_limit_message() + f" (it waited for one of the {resources.max_concurrent} query slots)"
            )
        spill_dir = self._spill_dir(resources)
        try:
            handle = open_catalog(self.settings, create=False)
            config: dict[str, Any] = {
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "python_enable_replacements": False,
                "memory_limit": f"{resources.query_memory_mb}MB",
                "threads": resources.threads,
                # "" = no spilling; DuckDB's own default (./.tmp) would be wherever the server was started.
                "temp_directory": str(spill_dir) if spill_dir else "",
            }
            if spill_dir:
                config["max_temp_directory_size"] = f"{resources.spill_mb}MB"
            con = duckdb.connect(":memory:", config=config)
            try:
                notices += self._expose_tables(con, handle, checked)
                return self._run(con, handle, run_sql, max_rows, until, notices, resources, spill_dir)
            finally:
                con.close()
        finally:
            if spill_dir:
                shutil.rmtree(spill_dir, ignore_errors=True)
            slots.release()

    def _spill_dir(self, resources: SqlResources) -> Path | None:
        """A fresh folder under the local store's ``.tmp/duckdb`` when spilling is allowed, else None."""
        if resources.spill_mb <= 0 or "://" in self.settings.storage_uri:
            return None
        root = Path(self.settings.storage_uri).expanduser().resolve() / ".tmp" / "duckdb"
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None  # a store that cannot be written: no spilling (the query may still read)
        sweep_stale_spill(root)
        return root / f"q-{uuid.uuid4().hex[:12]}"

    def _time_limit_message(self) -> str:
        return TIME_LIMIT_MESSAGE.format(timeout=self.settings.sql_timeout_s)

    def _memory_limit_message(self, resources: SqlResources) -> str:
        spill = f" and {resources.spill_mb} MB of spill space" if resources.spill_mb else ""
        return MEMORY_LIMIT_MESSAGE.format(memory_mb=resources.query_memory_mb, spill=spill)

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
        # The order matters: allowed paths can only be set while external access is still on.
        con.execute(f"SET allowed_paths = [{', '.join(_quote_string(p) for p in allowed)}]")
        for statement in views:
            con.execute(statement)
        # Unqualified names resolve in the default namespace (then main): each table is listed once in
        # information_schema, under its namespace, instead of a second copy as main.<table>.
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote_identifier(default_ns.lower())}")
        con.execute(f"SET search_path = {_quote_string(default_ns.lower() + ',main')}")
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
        self,
        con,
        handle: CatalogHandle | None,
        run_sql: str,
        max_rows: int,
        deadline: float,
        notices: list[str],
        resources: SqlResources,
        spill_dir: Path | None,
    ) -> QueryResult:
        import duckdb

        watchdog = _Watchdog(con, deadline, resources, spill_dir)
        watchdog.start()
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
        except (duckdb.InterruptException, duckdb.OutOfMemoryException, OSError) as exc:
            # Rows streamed through the Arrow reader fail as OSError carrying DuckDB's text.
            text = str(exc)
            if (
                watchdog.stopped == "memory"
                or isinstance(exc, duckdb.OutOfMemoryException)
                or ("Out of Memory Error" in text)
            ):
                raise ResourceLimitError(self._memory_limit_message(resources)) from None
            if watchdog.stopped == "time":
                raise UpstreamError(self._time_limit_message()) from None
            if isinstance(exc, duckdb.InterruptException) or "INTERRUPT Error" in text:
                raise UpstreamError("the query was interrupted") from None
            raise InputError(f"DuckDB could not run the query: {text.splitlines()[0][:500]}") from None
        except duckdb.PermissionException as exc:
            raise SqlRejected("file_access", f"refused by the engine's sandbox: {exc}") from exc
        except duckdb.CatalogException as exc:
            # DuckDB's "Did you mean" suggests its own system tables; the loaded tables help more.
            raise InputError(f"{str(exc).splitlines()[0]}\n{_tables_hint(handle)}") from exc
        except duckdb.Error as exc:
            raise InputError(f"DuckDB could not run the query: {exc}") from exc
        finally:
            watchdog.stop()

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


class _Watchdog(threading.Thread):
    """Interrupts the query at its deadline, or when the process's memory or the spill files outgrow it.

    ``stopped`` says why it interrupted ("time" or "memory"), None if it did not.
    """

    def __init__(self, con, deadline: float, resources: SqlResources, spill_dir: Path | None) -> None:
        super().__init__(name="estat-sql-watchdog", daemon=True)
        self.con = con
        self.deadline = deadline
        self.spill_dir = spill_dir
        self.spill_cap = resources.spill_mb * MIB
        baseline = process_rss_bytes()
        self.rss_cap = None if baseline is None else baseline + (resources.query_memory_mb + RSS_MARGIN_MB) * MIB
        self.stopped: str | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            if time.monotonic() >= self.deadline:
                self._interrupt("time")
                return
            rss = process_rss_bytes() if self.rss_cap is not None else None
            if rss is not None and self.rss_cap is not None and rss > self.rss_cap:
                self._interrupt("memory")
                return
            if self.spill_dir is not None and folder_bytes(self.spill_dir) > self.spill_cap:
                self._interrupt("memory")
                return

    def _interrupt(self, reason: str) -> None:
        self.stopped = reason
        self.con.interrupt()

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tables_hint(handle: CatalogHandle | None) -> str:
    from estat_aws_mcp.datasets.iceberg import list_tables

    try:
        names: list[Any] = list_tables(handle) if handle is not None else []
    except Exception:  # e.g. a role without glue:GetDatabases: the error itself still stands
        return "Load tables with load_to_iceberg(dataset_id, table); they are then queried as <table>."
    if not names:
        return "No tables are loaded yet: load a dataset with load_to_iceberg(dataset_id, table) first."
    return "Loaded tables: " + ", ".join(names)
