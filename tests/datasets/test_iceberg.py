"""load_to_iceberg on the local SQL catalog (SQLite in the store folder): round trips and names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from estat_aws_mcp.datasets.iceberg import (
    load_dataset_to_iceberg,
    local_catalog_paths,
    local_path,
    open_catalog,
    validate_identifier,
)
from estat_aws_mcp.datasets.manifest import DatasetManifest
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.settings import Settings, get_settings
from tests.datasets.conftest import read_parquet


@pytest.fixture
def settings(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(store_root))
    monkeypatch.delenv("ESTAT_MCP_GLUE_DATABASE", raising=False)
    return get_settings()


def _scan(settings: Settings, identifier: str) -> pa.Table:
    handle = open_catalog(settings)
    return handle.catalog.load_table(identifier).scan().to_arrow()


def _source(store, manifest: DatasetManifest) -> pa.Table:

    with store.open_read(manifest.data_key) as fh:
        return read_parquet(fh)


def test_catalog_lives_in_the_store_folder(settings: Settings, make_dataset: Callable, store_root: Path) -> None:
    manifest = make_dataset(rows=12)
    result = load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    db_file, warehouse = local_catalog_paths(str(store_root.resolve()))
    assert Path(db_file).is_file()
    assert local_path(result.location) == f"{warehouse}/estat/population"
    assert result.catalog == "sql" and result.table == "estat.population" and result.created
    assert any(Path(warehouse).rglob("*.parquet"))


def test_append_twice_doubles_rows_and_keeps_values(settings: Settings, make_dataset: Callable, local_store) -> None:
    manifest = make_dataset(rows=120)
    first = load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    second = load_dataset_to_iceberg(settings, manifest.dataset_id, "population", mode="append")
    assert (first.rows_loaded, first.table_row_count) == (120, 120)
    assert (second.rows_loaded, second.table_row_count) == (120, 240)
    assert second.snapshot_id != first.snapshot_id and not second.created
    table = _scan(settings, "estat.population")
    source = _source(local_store, manifest)
    assert table.num_rows == 240
    # every source row is present exactly twice, values unchanged (nulls for markers preserved)
    key = ["area_code", "cat01_code", "tab_code", "time_code", "value_raw"]
    got = sorted(tuple(r[k] for k in [*key, "value", "note"]) for r in table.to_pylist())
    want = sorted(tuple(r[k] for k in [*key, "value", "note"]) for r in source.to_pylist() * 2)
    assert got == want
    assert [f.name for f in table.schema] == source.column_names


def test_overwrite_replaces_rows(settings: Settings, make_dataset: Callable) -> None:
    big = make_dataset(rows=100)
    small = make_dataset(rows=7)
    load_dataset_to_iceberg(settings, big.dataset_id, "population")
    result = load_dataset_to_iceberg(settings, small.dataset_id, "population", mode="overwrite")
    assert result.table_row_count == 7 and not result.schema_replaced
    assert _scan(settings, "estat.population").num_rows == 7


def test_append_with_a_different_axis_set_is_refused_with_both_column_lists(
    settings: Settings, make_dataset: Callable
) -> None:
    four_axes = make_dataset(rows=10, axes=("tab", "cat01", "area", "time"))
    three_axes = make_dataset(rows=10, axes=("tab", "area", "time"))
    load_dataset_to_iceberg(settings, four_axes.dataset_id, "population")
    with pytest.raises(InputError) as caught:
        load_dataset_to_iceberg(settings, three_axes.dataset_id, "population", mode="append")
    message = str(caught.value)
    assert "table columns:   tab_code, tab_name, cat01_code, cat01_name, area_code" in message
    assert "dataset columns: tab_code, tab_name, area_code, area_name" in message
    assert "only in table: ['cat01_code', 'cat01_name']" in message
    assert "mode='overwrite'" in message
    # nothing was written
    assert _scan(settings, "estat.population").num_rows == 10


def test_overwrite_with_a_different_axis_set_replaces_the_schema_and_keeps_history(
    settings: Settings, make_dataset: Callable
) -> None:
    three_axes = make_dataset(rows=10, axes=("tab", "area", "time"))
    five_axes = make_dataset(rows=30, axes=("tab", "cat01", "cat02", "area", "time"))
    first = load_dataset_to_iceberg(settings, three_axes.dataset_id, "population")
    result = load_dataset_to_iceberg(settings, five_axes.dataset_id, "population", mode="overwrite")
    assert result.schema_replaced
    expected = [f"{a}_{k}" for a in ("tab", "cat01", "cat02", "area", "time") for k in ("code", "name")]
    expected += ["unit", "value", "value_raw", "note", "annotation"]
    assert [c.name for c in result.columns] == expected
    table = _scan(settings, "estat.population")
    assert table.column_names == expected and table.num_rows == 30
    # the earlier snapshot is still readable (time travel) with its own rows
    iceberg_table = open_catalog(settings).catalog.load_table("estat.population")
    assert iceberg_table.scan(snapshot_id=first.snapshot_id).to_arrow().num_rows == 10


def test_batched_load_is_one_commit(settings: Settings, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=1_000, row_group_rows=100)
    result = load_dataset_to_iceberg(settings, manifest.dataset_id, "population", batch_rows=300)
    assert result.data_files_added == 4 and result.table_row_count == 1_000
    iceberg_table = open_catalog(settings).catalog.load_table("estat.population")
    # one transaction: the table went from no snapshot to its final snapshot in one metadata commit
    assert len(iceberg_table.metadata.metadata_log) <= 1
    assert iceberg_table.scan().to_arrow().num_rows == 1_000


def test_snapshot_records_provenance(settings: Settings, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=5)
    result = load_dataset_to_iceberg(settings, manifest.dataset_id, "population", namespace="stats")
    iceberg_table = open_catalog(settings).catalog.load_table("stats.population")
    summary = iceberg_table.current_snapshot().summary.additional_properties
    assert summary["estat.dataset_id"] == manifest.dataset_id
    assert iceberg_table.properties["estat.last_dataset_id"] == manifest.dataset_id
    assert "e-Stat" in iceberg_table.properties["estat.credit"]
    assert result.table == "stats.population"


@pytest.mark.parametrize(
    ("name", "kind", "fragment"),
    [
        ("", "table", "non-empty"),
        ("Population", "table", "lower-case"),
        ("1st", "table", "starting with a letter"),
        ("pop-2020", "table", "lower-case"),
        ("pop.2020", "table", "lower-case"),
        ("../x", "table", "lower-case"),
        ("人口", "table", "lower-case"),
        ("a" * 129, "table", "longer than 128"),
        ("select", "table", "SQL keyword"),
        ("order", "table", "SQL keyword"),
        ("main", "namespace", "reserved"),
        ("information_schema", "namespace", "reserved"),
        ("Estat", "namespace", "lower-case"),
    ],
)
def test_invalid_names_are_refused(name: str, kind: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        validate_identifier(name, kind)  # type: ignore[arg-type]


def test_valid_names_pass() -> None:
    for name in ("population", "pop_2020", "estat", "a", "x" * 128):
        assert validate_identifier(name, "table") == name


def test_invalid_names_refused_before_anything_is_written(
    settings: Settings, make_dataset: Callable, store_root: Path
) -> None:
    manifest = make_dataset(rows=3)
    with pytest.raises(InputError):
        load_dataset_to_iceberg(settings, manifest.dataset_id, "Bad Name")
    with pytest.raises(InputError):
        load_dataset_to_iceberg(settings, manifest.dataset_id, "ok", namespace="main")
    assert not (store_root / "iceberg").exists()


def test_unknown_dataset_and_mode(settings: Settings, make_dataset: Callable) -> None:
    with pytest.raises(InputError, match="unknown dataset_id"):
        load_dataset_to_iceberg(settings, "0003445078-000000000000", "population")
    manifest = make_dataset(rows=3)
    with pytest.raises(InputError, match="mode"):
        load_dataset_to_iceberg(settings, manifest.dataset_id, "population", mode="upsert")  # type: ignore[arg-type]


def test_a_dataset_whose_rows_disagree_with_its_manifest_loads_nothing(
    settings: Settings, make_dataset: Callable, local_store
) -> None:
    from estat_aws_mcp.datasets.manifest import publish_manifest
    from estat_aws_mcp.errors import UpstreamError

    good = make_dataset(rows=10)
    load_dataset_to_iceberg(settings, good.dataset_id, "population")
    bad = make_dataset(rows=10)
    bad.row_count = 11  # a manifest that lies about its data
    publish_manifest(local_store, bad)
    with pytest.raises(UpstreamError, match="nothing was loaded"):
        load_dataset_to_iceberg(settings, bad.dataset_id, "population", batch_rows=3)
    assert _scan(settings, "estat.population").num_rows == 10


def test_concurrent_appends_all_land(settings: Settings, make_dataset: Callable) -> None:
    """Loads racing on one table: a load whose commit loses re-reads the table and commits again."""
    from concurrent.futures import ThreadPoolExecutor

    first = make_dataset(rows=50)
    load_dataset_to_iceberg(settings, first.dataset_id, "population")
    others = [make_dataset(rows=50) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda m: load_dataset_to_iceberg(settings, m.dataset_id, "population"), others))
    assert all(r.rows_loaded == 50 for r in results)
    assert len({r.snapshot_id for r in results}) == 4
    table = _scan(settings, "estat.population")
    assert table.num_rows == 250
    iceberg_table = open_catalog(settings).catalog.load_table("estat.population")
    loaded_ids = {s.summary.additional_properties.get("estat.dataset_id") for s in iceberg_table.snapshots()}
    assert {m.dataset_id for m in [first, *others]} <= loaded_ids


def test_lost_commit_races_are_retried_then_reported(
    settings: Settings, make_dataset: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyiceberg.exceptions import CommitFailedException

    import estat_aws_mcp.datasets.iceberg as iceberg_module
    from estat_aws_mcp.errors import UpstreamError

    manifest = make_dataset(rows=6)
    load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    real_write = iceberg_module._write_transaction
    failures = {"left": 1}

    def flaky_write(*args, **kwargs):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise CommitFailedException("another load committed first")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(iceberg_module, "_write_transaction", flaky_write)
    monkeypatch.setattr(iceberg_module.time, "sleep", lambda s: None)
    retried = load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    assert (retried.table_row_count, retried.rows_replaced) == (6, 6)  # the same dataset again: replaced

    failures["left"] = iceberg_module.COMMIT_ATTEMPTS
    with pytest.raises(UpstreamError, match=r"concurrent load, try again.*nothing was written"):
        load_dataset_to_iceberg(settings, manifest.dataset_id, "population", mode="append")
    assert _scan(settings, "estat.population").num_rows == 6
