"""Exports stream: their peak Arrow memory does not grow with the table (one record batch at a time).

Each export runs in a fresh interpreter so that pyarrow's pool high-water mark belongs to it alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from estat_aws_mcp.datasets.store import LocalObjectStore
from tests.datasets.conftest import write_dataset

_MEASURE = """
import json, sys
import pyarrow as pa
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.datasets.export import export_csv, export_parquet
store = LocalObjectStore(sys.argv[1])
kind = sys.argv[3]
result = export_csv(store, sys.argv[2], "cp932") if kind == "csv" else export_parquet(store, sys.argv[2])
print(json.dumps({"bytes": result.bytes, "peak": pa.default_memory_pool().max_memory()}))
"""


def _peak(root: str, dataset_id: str, kind: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, root, dataset_id, kind],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def two_sizes(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    store = LocalObjectStore(tmp_path_factory.mktemp("memory") / "store")
    small = write_dataset(store, 150_000)
    large = write_dataset(store, 600_000)
    return str(store.root), small.dataset_id, large.dataset_id


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_export_memory_does_not_grow_with_the_table(two_sizes, kind) -> None:
    root, small, large = two_sizes
    small_run, large_run = _peak(root, small, kind), _peak(root, large, kind)
    assert large_run["bytes"] > 3.5 * small_run["bytes"]
    # Four times the rows, about the same peak: bounded by the batch, not the table.
    assert large_run["peak"] < 1.3 * small_run["peak"] + 4 * 1024 * 1024, (small_run, large_run)
