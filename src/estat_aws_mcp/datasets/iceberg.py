"""Iceberg tables from datasets, through pyiceberg.

Catalogs (chosen by ``ESTAT_MCP_STORAGE_URI``):

- a local folder (default): a SQL catalog in SQLite at ``<store>/iceberg/catalog.db`` with the
  warehouse at ``<store>/iceberg/warehouse``; DuckDB queries its tables (see ``sql.duckdb_engine``).
- ``s3://bucket/prefix``: the AWS Glue Data Catalog (pyiceberg ``GlueCatalog``), table data and
  metadata under ``s3://bucket/prefix/iceberg/<namespace>/<table>``, so Athena queries the tables.

Load modes. ``replace_dataset`` (the default) adds the dataset's rows and, in the same atomic commit,
removes the rows that earlier loads of the same dataset (same ``dataset_id``) or of the same fetch (same
e-Stat table and filters, e.g. a re-fetch after the table was updated) added: loading twice leaves the
row count unchanged. Which rows a load added is known from the snapshot that added their data files
(each load's snapshots carry ``estat.dataset_id`` and ``estat.fetch``). ``append`` adds the rows even
when they are already there, and then warns; ``overwrite`` replaces every row.

Concurrent loads into one table: within a process they take turns (one lock per table); across
processes the catalog's optimistic concurrency decides (SQLite: a conditional update; Glue: the table's
``VersionId``) and a load that keeps losing re-reads the table and tries again, then fails with
:class:`ConcurrentLoadError` ("concurrent load, try again"), never with a raw SQLite or pyiceberg error.

Schema policy (the axis set of e-Stat tables varies): ``append`` requires the dataset to have
exactly the table's columns with the same types and otherwise refuses with both column lists (a
table that silently mixes datasets of different axes double-counts in every ``SUM``);
``overwrite`` replaces the rows *and* the schema, in one atomic commit, keeping the table's
history (earlier snapshots stay readable by time travel).

Large datasets are read in record batches and written as several data files inside one
transaction: memory stays bounded by the batch size and readers see all rows or none.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field

from estat_aws_mcp.datasets.manifest import DatasetManifest, dataset_batches, load_manifest
from estat_aws_mcp.errors import ConfigurationError, InputError, UpstreamError, quote_prefix
from estat_aws_mcp.estat.credit import CREDIT_NOTICE

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog

    from estat_aws_mcp.datasets.store import ObjectStore
    from estat_aws_mcp.settings import Settings

logger = logging.getLogger(__name__)

CATALOG_NAME = "estat"
ICEBERG_PREFIX = "iceberg"
LOCAL_CATALOG_FILE = "catalog.db"
LOCAL_WAREHOUSE_DIR = "warehouse"
# Rows per write inside one load transaction: bounds memory whatever the dataset size.
LOAD_BATCH_ROWS = 500_000
# Commits tried when concurrent loads into the same table race (optimistic concurrency).
COMMIT_ATTEMPTS = 6
MAX_IDENTIFIER_LENGTH = 128
# Namespaces the engines reserve for themselves (DuckDB schemas, Athena/Trino schemas).
RESERVED_NAMESPACES = frozenset({"main", "information_schema", "pg_catalog", "temp", "system", "default"})

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

LoadMode = Literal["replace_dataset", "append", "overwrite"]
LOAD_MODES: tuple[str, ...] = ("replace_dataset", "append", "overwrite")

#: snapshot summary keys naming what a load added
DATASET_PROPERTY = "estat.dataset_id"
SOURCE_PROPERTY = "estat.fetch"


class ConcurrentLoadError(UpstreamError):
    """Other loads kept changing the table (or the catalog stayed busy); nothing was written."""


_table_locks: dict[str, threading.Lock] = {}
_table_locks_guard = threading.Lock()


@contextlib.contextmanager
def _table_lock(key: str) -> Iterator[None]:
    """Loads into the same table in this process take turns (different tables load in parallel)."""
    with _table_locks_guard:
        lock = _table_locks.setdefault(key, threading.Lock())
    with lock:
        yield


def validate_identifier(name: str, kind: Literal["table", "namespace"]) -> str:
    """A lower-case SQL identifier usable unquoted by DuckDB, Athena (Trino) and Glue, else InputError."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{kind} name must be a non-empty string")
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise InputError(f"{kind} name {quote_prefix(name)} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    if not _IDENTIFIER.match(name):
        raise InputError(
            f"invalid {kind} name {quote_prefix(name)}: use lower-case letters, digits and '_', starting with a letter "
            "(e.g. 'population_2020'); Glue and Athena store names in lower case"
        )
    if kind == "namespace" and name in RESERVED_NAMESPACES:
        raise InputError(f"namespace {name!r} is reserved by the SQL engines; choose another (e.g. 'estat')")
    if _is_reserved_word(name):
        raise InputError(f"{kind} name {name!r} is an SQL keyword; it would need quoting in every query")
    return name


# Reserved words of Trino (Athena engine v3) and DuckDB: a table or namespace so named would need
# quoting in every query, on one engine or the other.
_RESERVED_WORDS = frozenset(
    """
    all alter analyse analyze and any array as asc asymmetric between both by case cast check collate column
    constraint create cross cube current_catalog current_date current_path current_role current_schema
    current_time current_timestamp current_user deallocate default deferrable delete desc describe distinct do
    drop else end escape except execute exists extract false fetch for foreign from full grant group grouping
    having in initially inner insert intersect into is join json_array json_exists json_object json_query
    json_table json_value lambda lateral leading left like limit listagg localtime localtimestamp natural
    normalize not null offset on only or order outer pivot pivot_longer pivot_wider placing prepare primary
    qualify recursive references returning right rollup select skip some symmetric table then to trailing trim
    true uescape union unique unnest unpivot using values variadic when where window with
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def _is_reserved_word(name: str) -> bool:
    return name in _RESERVED_WORDS


# --------------------------------------------------------------------------- catalogs


@dataclass(frozen=True)
class CatalogHandle:
    """An opened catalog and where its tables live."""

    catalog: Catalog
    kind: Literal["sql", "glue"]
    warehouse: str

    def table_location(self, namespace: str, table: str) -> str:
        return f"{self.warehouse.rstrip('/')}/{namespace}/{table}"


def local_catalog_paths(store_root: str) -> tuple[str, str]:
    """(SQLite file, warehouse folder) of the local catalog under a local store root."""
    base = os.path.join(store_root, ICEBERG_PREFIX)
    return os.path.join(base, LOCAL_CATALOG_FILE), os.path.join(base, LOCAL_WAREHOUSE_DIR)


def _endpoint(service: str) -> str | None:
    return os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")


def open_catalog(settings: Settings, *, create: bool = True) -> CatalogHandle | None:
    """The catalog for the configured store; ``None`` when ``create`` is False and no local catalog exists yet."""
    uri = settings.storage_uri
    if uri.startswith("s3://"):
        from pyiceberg.catalog.glue import GlueCatalog

        from estat_aws_mcp.aws.clients import aws_client, aws_region

        warehouse = f"{uri.rstrip('/')}/{ICEBERG_PREFIX}"
        region = aws_region()
        properties: dict[str, Any] = {
            "warehouse": warehouse,
            "s3.connect-timeout": "5",
            "s3.request-timeout": "60",
        }
        if region:
            properties["s3.region"] = region
            properties["glue.region"] = region
        if endpoint := _endpoint("s3"):
            properties["s3.endpoint"] = endpoint
        glue = aws_client("glue", region=region)
        return CatalogHandle(GlueCatalog(CATALOG_NAME, client=glue, **properties), "glue", warehouse)

    from estat_aws_mcp.datasets.store import LocalObjectStore, open_store

    store = open_store(uri)
    if not isinstance(store, LocalObjectStore):  # pragma: no cover - only s3:// is remote today
        raise ConfigurationError(f"no Iceberg catalog for storage URI scheme of {uri!r}")
    db_file, warehouse_dir = local_catalog_paths(str(store.root))
    if not create and not os.path.exists(db_file):
        return None
    os.makedirs(warehouse_dir, exist_ok=True)
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = f"file://{warehouse_dir}"
    catalog = SqlCatalog(CATALOG_NAME, uri=f"sqlite:///{db_file}", warehouse=warehouse)
    return CatalogHandle(catalog, "sql", warehouse)


# --------------------------------------------------------------------------- loading


class ColumnInfo(BaseModel):
    name: str
    type: str


class IcebergLoadResult(BaseModel):
    """What ``load_to_iceberg`` did."""

    table: str = Field(description="fully qualified identifier, e.g. estat.population")
    namespace: str
    name: str
    catalog: Literal["sql", "glue"] = Field(description="sql: local SQLite catalog; glue: AWS Glue Data Catalog")
    mode: LoadMode
    created: bool = Field(description="the table did not exist before this load")
    rows_replaced: int = Field(
        default=0,
        description="rows removed because an earlier load of this dataset (or of the same fetch) had added them",
    )
    warnings: list[str] = Field(default_factory=list)
    schema_replaced: bool = Field(description="overwrite changed the table's columns")
    snapshot_id: int | None
    rows_loaded: int
    table_row_count: int | None = Field(description="rows in the table's current snapshot")
    data_files_added: int
    columns: list[ColumnInfo]
    location: str
    dataset_id: str
    query_hint: str
    credit: str = CREDIT_NOTICE


def _plain_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The dataset schema with types Iceberg can store (dictionaries decoded, nulls as strings)."""
    import pyarrow as pa

    fields = []
    for field in schema:
        typ = field.type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        if pa.types.is_null(typ) or pa.types.is_large_string(typ):
            typ = pa.string()
        fields.append(pa.field(field.name, typ, nullable=True))
    return pa.schema(fields)


_ARROW_TO_ICEBERG = {
    "string": "string",
    "large_string": "string",
    "double": "double",
    "float": "float",
    "int64": "long",
    "int32": "int",
    "bool": "boolean",
    "date32[day]": "date",
}


def _iceberg_type_name(arrow_type: pa.DataType) -> str:
    return _ARROW_TO_ICEBERG.get(str(arrow_type), str(arrow_type))


def _columns_of_table(table) -> list[ColumnInfo]:
    return [ColumnInfo(name=f.name, type=str(f.field_type)) for f in table.schema().fields]


def _schema_mismatch(table, schema: pa.Schema, identifier: str) -> str | None:
    """A message describing why ``schema`` cannot be appended to ``table``, or None if it can."""
    table_cols = [(f.name, str(f.field_type)) for f in table.schema().fields]
    data_cols = [(f.name, _iceberg_type_name(f.type)) for f in schema]
    if {n for n, _ in table_cols} != {n for n, _ in data_cols}:
        only_table = [n for n, _ in table_cols if n not in {d for d, _ in data_cols}]
        only_data = [n for n, _ in data_cols if n not in {t for t, _ in table_cols}]
        return (
            f"cannot append: the dataset's columns differ from table {identifier}'s "
            f"(different axis sets would mix incomparable rows).\n"
            f"table columns:   {', '.join(n for n, _ in table_cols)}\n"
            f"dataset columns: {', '.join(n for n, _ in data_cols)}\n"
            f"only in table: {only_table or '-'}; only in dataset: {only_data or '-'}.\n"
            "Load it into another table, or use mode='overwrite' to replace this table's rows and schema."
        )
    table_types = dict(table_cols)
    wrong = [f"{n}: table {table_types[n]}, dataset {t}" for n, t in data_cols if table_types[n] != t]
    if wrong:
        return f"cannot append to {identifier}: column types differ ({'; '.join(wrong)}); use mode='overwrite'"
    return None


def _evolve_schema_for_overwrite(tx, table, schema: pa.Schema) -> bool:
    """Inside ``tx``: make the table's columns exactly ``schema``'s, in its order. True if anything changed."""
    current = [f.name for f in table.schema().fields]
    wanted = [f.name for f in schema]
    current_types = {f.name: str(f.field_type) for f in table.schema().fields}
    same_types = all(current_types.get(f.name) == _iceberg_type_name(f.type) for f in schema)
    if current == wanted and same_types:
        return False
    changed = [f.name for f in schema if f.name in current and current_types[f.name] != _iceberg_type_name(f.type)]
    dropped = [name for name in current if name not in wanted or name in changed]
    if dropped:
        with tx.update_schema(allow_incompatible_changes=True) as update:
            for name in dropped:
                update.delete_column(name)
    added = [f for f in schema if f.name not in current or f.name in changed]
    if added:
        with tx.update_schema() as update:
            for field in added:
                update.add_column(field.name, _iceberg_type_for(field.type))
    with tx.update_schema() as update:
        update.move_first(wanted[0])
        for previous, name in itertools.pairwise(wanted):
            update.move_after(name, previous)
    return True


def _iceberg_type_for(arrow_type: pa.DataType):
    from pyiceberg import types as it

    mapping = {
        "string": it.StringType(),
        "double": it.DoubleType(),
        "float": it.FloatType(),
        "long": it.LongType(),
        "int": it.IntegerType(),
        "boolean": it.BooleanType(),
        "date": it.DateType(),
    }
    name = _iceberg_type_name(arrow_type)
    if name not in mapping:
        raise InputError(f"column type {arrow_type} is not supported in Iceberg tables by this server")
    return mapping[name]


def _dataset_batches(store: ObjectStore, manifest: DatasetManifest, schema: pa.Schema, batch_rows: int):
    """The dataset's rows as Arrow tables of at most ``batch_rows`` rows, cast to ``schema``."""
    import pyarrow as pa

    with dataset_batches(store, manifest, batch_rows) as (_, batches):
        for batch in batches:
            yield pa.Table.from_batches([batch]).cast(schema)


def _ensure_namespace(handle: CatalogHandle, namespace: str) -> None:
    """Create ``namespace`` only if it is missing: a deployed role may read its Glue database but not
    create databases (the Terraform module grants glue:GetDatabase, not glue:CreateDatabase)."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchNamespaceError

    try:
        handle.catalog.load_namespace_properties(namespace)
        return
    except NoSuchNamespaceError:
        pass
    try:
        handle.catalog.create_namespace(namespace)
    except NamespaceAlreadyExistsError:  # created concurrently
        return
    except Exception as exc:
        raise UpstreamError(
            f"namespace {namespace!r} does not exist in the {handle.kind} catalog and could not be created "
            f"({exc}); use the configured namespace (ESTAT_MCP_GLUE_DATABASE) or ask the operator to create it"
        ) from exc


def _dataset_files(iceberg_table, dataset_id: str, source: str | None) -> list[Any]:
    """The live data files that loads of ``dataset_id`` (or of the same fetch, ``source``) added."""
    snapshot = iceberg_table.current_snapshot()
    if snapshot is None:
        return []
    ours = set()
    for candidate in iceberg_table.snapshots():
        properties = candidate.summary.additional_properties if candidate.summary is not None else {}
        if properties.get(DATASET_PROPERTY) == dataset_id or (source and properties.get(SOURCE_PROPERTY) == source):
            ours.add(candidate.snapshot_id)
    if not ours:
        return []
    from pyiceberg.manifest import DataFileContent, ManifestContent

    files = []
    for manifest_file in snapshot.manifests(iceberg_table.io):
        if manifest_file.content != ManifestContent.DATA:
            continue
        for entry in manifest_file.fetch_manifest_entry(iceberg_table.io, discard_deleted=True):
            if entry.snapshot_id in ours and entry.data_file.content == DataFileContent.DATA:
                files.append(entry.data_file)
    return files


def _write_transaction(iceberg_table, store, manifest, schema, mode, batch_rows, snapshot_properties, *, fresh):
    """One atomic commit of the dataset's rows; returns (committed table, rows, files, schema_replaced,
    rows_replaced, rows already there from this dataset before an append)."""
    rows_loaded = 0
    files_added = 0
    schema_replaced = False
    rows_replaced = 0
    already_there = 0
    tx = iceberg_table.transaction()
    if mode == "overwrite" and not fresh:
        schema_replaced = _evolve_schema_for_overwrite(tx, iceberg_table, schema)
    if mode in ("replace_dataset", "append") and not fresh:
        previous = _dataset_files(iceberg_table, manifest.dataset_id, snapshot_properties.get(SOURCE_PROPERTY))
        if mode == "append":
            already_there = sum(f.record_count for f in previous)
        elif previous:  # remove what earlier loads of this dataset added, in the same transaction
            with tx.update_snapshot(snapshot_properties=snapshot_properties).overwrite() as removal:
                for data_file in previous:
                    removal.delete_data_file(data_file)
            rows_replaced = sum(f.record_count for f in previous)
    first = True
    for chunk in _dataset_batches(store, manifest, schema, batch_rows):
        if first and mode == "overwrite":
            tx.overwrite(chunk, snapshot_properties=snapshot_properties)
        else:
            tx.append(chunk, snapshot_properties=snapshot_properties)
        first = False
        rows_loaded += chunk.num_rows
        files_added += 1
    if first and mode == "overwrite":  # an empty dataset overwrites with no rows
        tx.overwrite(schema.empty_table(), snapshot_properties=snapshot_properties)
    if rows_loaded != manifest.row_count:  # raising before the commit: nothing is committed
        raise UpstreamError(
            f"dataset {manifest.dataset_id}: its manifest says {manifest.row_count} rows but its data has "
            f"{rows_loaded}; nothing was loaded (fetch the dataset again)"
        )
    tx.set_properties(
        {
            "estat.source": "e-Stat API 3.0",
            "estat.credit": CREDIT_NOTICE,
            "estat.last_dataset_id": manifest.dataset_id,
            "estat.last_stats_data_id": manifest.stats_data_id,
            **({"estat.last_title": manifest.title[:200]} if manifest.title else {}),
        }
    )
    return tx.commit_transaction(), rows_loaded, files_added, schema_replaced, rows_replaced, already_there


def _retryable_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "another load got there first / the catalog is busy": re-read and try again."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    errors: list[type[BaseException]] = [CommitFailedException, ValidationException]
    with contextlib.suppress(ImportError):
        from sqlalchemy.exc import IntegrityError, OperationalError

        errors += [OperationalError, IntegrityError]  # SQLite "database is locked", a row inserted meanwhile
    return tuple(errors)


def _concurrent_load(identifier: str, exc: BaseException) -> ConcurrentLoadError:
    logger.warning("load into %s gave up: %s: %s", identifier, type(exc).__name__, exc)
    return ConcurrentLoadError(
        f"concurrent load, try again: other loads kept changing table {identifier} (or its catalog stayed busy) "
        f"over {COMMIT_ATTEMPTS} attempts; nothing was written by this load"
    )


def load_dataset_to_iceberg(
    settings: Settings,
    dataset_id: str,
    table: str,
    namespace: str | None = None,
    mode: LoadMode = "replace_dataset",
    *,
    batch_rows: int = LOAD_BATCH_ROWS,
) -> IcebergLoadResult:
    """Load the rows of dataset ``dataset_id`` into ``namespace.table`` (see the module doc for the modes)."""
    import pyarrow.parquet as pq

    from estat_aws_mcp.datasets.reuse import SOURCE_KEY_FIELD
    from estat_aws_mcp.datasets.store import open_store

    if mode not in LOAD_MODES:
        raise InputError(f"mode must be one of {', '.join(LOAD_MODES)}, not {mode!r}")
    namespace = validate_identifier(namespace or settings.glue_database, "namespace")
    table = validate_identifier(table, "table")
    identifier = f"{namespace}.{table}"

    store = open_store(settings.storage_uri)
    manifest = load_manifest(store, dataset_id)
    with store.open_read(manifest.data_key) as fh:
        schema = _plain_arrow_schema(pq.read_schema(fh))
    if len(schema) == 0:
        raise InputError(f"dataset {dataset_id} has no columns")

    snapshot_properties = {
        DATASET_PROPERTY: manifest.dataset_id,
        "estat.stats_data_id": manifest.stats_data_id,
        "estat.mode": mode,
    }
    if manifest.extra.get(SOURCE_KEY_FIELD):
        snapshot_properties[SOURCE_PROPERTY] = f"{manifest.stats_data_id}/{manifest.extra[SOURCE_KEY_FIELD]}"

    retryable = _retryable_errors()
    last_error: BaseException | None = None
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        if attempt > 1:
            logger.info("load into %s lost a race (attempt %d): %s; retrying", identifier, attempt - 1, last_error)
            time.sleep(random.uniform(0.05, 0.25) * attempt)  # noqa: S311 - jitter, not cryptography
        try:
            handle = open_catalog(settings)
            assert handle is not None
            with _table_lock(f"{handle.warehouse}|{identifier}"):
                return _load_once(
                    handle, store, manifest, schema, identifier, namespace, table, mode, batch_rows, snapshot_properties
                )
        except retryable as exc:
            last_error = exc
    assert last_error is not None
    raise _concurrent_load(identifier, last_error) from None


def _load_once(
    handle: CatalogHandle,
    store: ObjectStore,
    manifest: DatasetManifest,
    schema: pa.Schema,
    identifier: str,
    namespace: str,
    table: str,
    mode: LoadMode,
    batch_rows: int,
    snapshot_properties: dict[str, str],
) -> IcebergLoadResult:
    """One attempt: open or create the table, check the schema policy, commit the rows."""
    from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

    catalog = handle.catalog
    _ensure_namespace(handle, namespace)
    created = False
    try:
        iceberg_table = catalog.load_table(identifier)
    except NoSuchTableError:
        try:
            iceberg_table = catalog.create_table(
                identifier, schema=schema, location=handle.table_location(namespace, table)
            )
            created = True
        except TableAlreadyExistsError:  # a concurrent load created it first
            iceberg_table = catalog.load_table(identifier)

    if mode != "overwrite" and not created:
        problem = _schema_mismatch(iceberg_table, schema, identifier)
        if problem:
            raise InputError(problem)
    iceberg_table, rows_loaded, files_added, schema_replaced, rows_replaced, already_there = _write_transaction(
        iceberg_table, store, manifest, schema, mode, batch_rows, snapshot_properties, fresh=created
    )
    warnings = []
    if already_there:
        warnings.append(
            f"dataset {manifest.dataset_id} (or an earlier fetch of the same table and filters) was already in "
            f"{identifier} ({already_there} rows): mode='append' added its rows again, so they are now there twice "
            "and every SUM double-counts them. Load it again with mode='replace_dataset' to keep one copy."
        )

    snapshot = iceberg_table.current_snapshot()  # the snapshot this load committed
    total = None
    if snapshot is not None and snapshot.summary is not None:
        raw_total = snapshot.summary.additional_properties.get("total-records")
        total = int(raw_total) if raw_total is not None else None
    return IcebergLoadResult(
        table=identifier,
        namespace=namespace,
        name=table,
        catalog=handle.kind,
        mode=mode,
        created=created,
        rows_replaced=rows_replaced,
        warnings=warnings,
        schema_replaced=schema_replaced,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        rows_loaded=rows_loaded,
        table_row_count=total,
        data_files_added=files_added,
        columns=_columns_of_table(iceberg_table),
        location=iceberg_table.location(),
        dataset_id=manifest.dataset_id,
        query_hint=f"analyze_with_athena(sql='SELECT * FROM {identifier} LIMIT 10')",  # noqa: S608 - validated names
    )


# --------------------------------------------------------------------------- reading (for DuckDB)


@dataclass(frozen=True)
class TableScanPlan:
    """The current snapshot of a table as the DuckDB engine needs it."""

    identifier: str
    columns: list[tuple[str, str]]  # (name, iceberg type)
    data_files: list[str]  # local paths (sql catalog) or URIs
    has_deletes: bool
    table: Any  # the pyiceberg Table, for the Arrow fallback


def local_path(uri: str) -> str:
    """``file:///a/b`` -> ``/a/b``; other strings unchanged."""
    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    return uri


def plan_table_scan(handle: CatalogHandle, namespace: str, table: str) -> TableScanPlan | None:
    """The current snapshot's data files of ``namespace.table``; None if the table does not exist."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    identifier = f"{namespace}.{table}"
    try:
        iceberg_table = handle.catalog.load_table(identifier)
    except (NoSuchTableError, NoSuchNamespaceError):
        return None
    files: list[str] = []
    has_deletes = False
    for task in iceberg_table.scan().plan_files():
        files.append(local_path(task.file.file_path))
        has_deletes = has_deletes or bool(task.delete_files)
    columns = [(f.name, str(f.field_type)) for f in iceberg_table.schema().fields]
    return TableScanPlan(identifier, columns, files, has_deletes, iceberg_table)


def list_tables(handle: CatalogHandle) -> list[str]:
    """Every ``namespace.table`` of the catalog (for error messages that say what exists)."""
    names: list[str] = []
    for ns in handle.catalog.list_namespaces():
        names.extend(".".join(ident) for ident in handle.catalog.list_tables(ns))
    return sorted(names)
