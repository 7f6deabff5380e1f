"""Idempotent Iceberg loads (mode='replace_dataset', the default) and concurrent loads into one table,
on the local SQL catalog (SQLite; threads and separate processes) and on Glue (moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg, open_catalog
from estat_aws_mcp.datasets.reuse import SOURCE_KEY_FIELD
from estat_aws_mcp.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(store_root))
    monkeypatch.delenv("ESTAT_MCP_GLUE_DATABASE", raising=False)
    return get_settings()


@pytest.fixture
def glue_settings(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", f"s3://{s3_bucket}/estat")
    monkeypatch.setenv("ESTAT_MCP_GLUE_DATABASE", "estat")
    return get_settings()


def _rows(settings: Settings, identifier: str = "estat.population") -> list[dict]:
    return open_catalog(settings).catalog.load_table(identifier).scan().to_arrow().to_pylist()


def test_loading_the_same_dataset_twice_keeps_the_row_count(settings: Settings, make_dataset: Callable) -> None:
    a = make_dataset(rows=40)
    b = make_dataset(rows=25)
    first = load_dataset_to_iceberg(settings, a.dataset_id, "population")
    load_dataset_to_iceberg(settings, b.dataset_id, "population")
    again = load_dataset_to_iceberg(settings, a.dataset_id, "population")
    assert (first.rows_replaced, again.rows_replaced, again.rows_loaded) == (0, 40, 40)
    assert again.table_row_count == 65 and again.mode == "replace_dataset" and not again.warnings
    rows = _rows(settings)
    assert len(rows) == 65
    # b's rows untouched, a's present exactly once
    assert sorted(r["value_raw"] for r in rows) == sorted(
        [r["value_raw"] for r in _source(a)] + [r["value_raw"] for r in _source(b)]
    )


def _source(manifest) -> list[dict]:
    from tests.datasets.conftest import dataset_table

    return dataset_table(manifest.row_count, manifest.axes).to_pylist()


def test_a_refetch_of_the_same_table_and_filters_replaces_the_older_one(
    settings: Settings, make_dataset: Callable
) -> None:
    """A new dataset id from the same fetch (same table, same e-Stat requests, e.g. after an update)."""
    old = make_dataset(rows=30, extra={SOURCE_KEY_FIELD: "f" * 40})
    new = make_dataset(rows=31, extra={SOURCE_KEY_FIELD: "f" * 40})
    other_filters = make_dataset(rows=5, extra={SOURCE_KEY_FIELD: "e" * 40})
    load_dataset_to_iceberg(settings, old.dataset_id, "population")
    load_dataset_to_iceberg(settings, other_filters.dataset_id, "population")
    result = load_dataset_to_iceberg(settings, new.dataset_id, "population")
    assert result.rows_replaced == 30 and result.table_row_count == 36


def test_explicit_append_adds_again_and_warns(settings: Settings, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=10)
    load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    doubled = load_dataset_to_iceberg(settings, manifest.dataset_id, "population", mode="append")
    assert doubled.table_row_count == 20 and doubled.rows_replaced == 0
    assert len(doubled.warnings) == 1 and "twice" in doubled.warnings[0] and "replace_dataset" in doubled.warnings[0]
    # replace_dataset afterwards removes both copies and keeps one
    fixed = load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    assert (fixed.rows_replaced, fixed.table_row_count) == (20, 10)


def test_replace_after_an_overwrite_and_history(settings: Settings, make_dataset: Callable) -> None:
    a = make_dataset(rows=8)
    b = make_dataset(rows=6)
    load_dataset_to_iceberg(settings, a.dataset_id, "population")
    load_dataset_to_iceberg(settings, b.dataset_id, "population", mode="overwrite")  # a's rows are gone
    result = load_dataset_to_iceberg(settings, a.dataset_id, "population")
    assert result.rows_replaced == 0 and result.table_row_count == 14
    again = load_dataset_to_iceberg(settings, b.dataset_id, "population")
    assert again.rows_replaced == 6 and again.table_row_count == 14


def _load_in_threads(settings: Settings, manifests: list) -> list:
    def load(manifest):
        try:
            return load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
        except Exception as exc:  # collected: each must land or fail with the clear message
            return exc

    with ThreadPoolExecutor(max_workers=len(manifests)) as pool:
        return list(pool.map(load, manifests))


def _check_outcomes(outcomes: list, manifests: list, table_rows: int) -> None:
    landed = 0
    for manifest, outcome in zip(manifests, outcomes, strict=True):
        if isinstance(outcome, Exception):
            assert "concurrent load, try again" in str(outcome), repr(outcome)
        else:
            assert outcome.rows_loaded == manifest.row_count
            landed += manifest.row_count
    assert table_rows == landed


def test_concurrent_loads_of_different_datasets_sql_catalog(settings: Settings, make_dataset: Callable) -> None:
    manifests = [make_dataset(rows=20 + i) for i in range(6)]
    outcomes = _load_in_threads(settings, manifests)
    _check_outcomes(outcomes, manifests, len(_rows(settings)))
    assert all(not isinstance(o, Exception) for o in outcomes)  # in one process they take turns: all land
    # and again, concurrently, the same datasets: replaced, not doubled
    outcomes = _load_in_threads(settings, manifests)
    assert all(not isinstance(o, Exception) for o in outcomes)
    assert len(_rows(settings)) == sum(m.row_count for m in manifests)


def test_concurrent_loads_of_different_datasets_glue(glue_settings: Settings, s3_store, make_dataset: Callable) -> None:
    manifests = [make_dataset(rows=10 + i, store=s3_store) for i in range(4)]
    outcomes = _load_in_threads(glue_settings, manifests)
    _check_outcomes(outcomes, manifests, len(_rows(glue_settings)))
    assert all(not isinstance(o, Exception) for o in outcomes)
    outcomes = _load_in_threads(glue_settings, manifests)
    assert len(_rows(glue_settings)) == sum(m.row_count for m in manifests)


_LOADER = """
import json, sys
from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg
from estat_aws_mcp.settings import get_settings
try:
    result = load_dataset_to_iceberg(get_settings(), sys.argv[1], "population")
    print(json.dumps({"rows": result.rows_loaded}))
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
"""


@pytest.mark.slow  # three fresh interpreters importing pyarrow and pyiceberg (~20 s on 2 busy cores)
def test_concurrent_loads_from_separate_processes_land_or_fail_clearly(
    settings: Settings, make_dataset: Callable, store_root: Path
) -> None:
    """No shared lock across processes: SQLite's conditional commit decides; losers retry or say so."""
    first = make_dataset(rows=5)
    load_dataset_to_iceberg(settings, first.dataset_id, "population")  # the catalog and table exist
    manifests = [make_dataset(rows=11 + i) for i in range(3)]
    env = {**os.environ, "ESTAT_MCP_STORAGE_URI": str(store_root), "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _LOADER, m.dataset_id], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
        )
        for m in manifests
    ]
    outcomes = []
    for process in processes:
        out, _ = process.communicate(timeout=120)
        outcome = json.loads(out.strip().splitlines()[-1])
        outcomes.append(RuntimeError(outcome["error"]) if "error" in outcome else outcome["rows"])
    for manifest, outcome in zip(manifests, outcomes, strict=True):
        if isinstance(outcome, Exception):
            assert "ConcurrentLoadError: concurrent load, try again" in str(outcome), outcome
        else:
            assert outcome == manifest.row_count
    landed = sum(o for o in outcomes if not isinstance(o, Exception))
    assert len(_rows(settings)) == first.row_count + landed


def test_a_locked_sqlite_catalog_becomes_a_clear_message(
    settings: Settings, make_dataset: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import estat_aws_mcp.datasets.iceberg as iceberg_module

    manifest = make_dataset(rows=4)
    load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    real_load, calls = iceberg_module._load_once, {"n": 0}

    def locked_twice(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("UPDATE iceberg_tables ...", {}, Exception("database is locked"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(iceberg_module, "_load_once", locked_twice)
    monkeypatch.setattr(iceberg_module.time, "sleep", lambda s: None)
    assert load_dataset_to_iceberg(settings, manifest.dataset_id, "population").table_row_count == 4
    calls["n"] = -100  # locked for longer than the attempts last
    with pytest.raises(iceberg_module.ConcurrentLoadError) as caught:
        load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    message = str(caught.value)
    assert message.startswith("concurrent load, try again") and "estat.population" in message
    assert "database is locked" not in message and "sqlalchemy" not in message.lower()
