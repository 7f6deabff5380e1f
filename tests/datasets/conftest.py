"""Dataset fixtures: stores and a ``make_dataset`` factory that writes a dataset like a fetch does.

``make_dataset(rows=..., axes=...)`` writes ``datasets/<id>/data.parquet`` through the store's atomic
``open_write`` and publishes the manifest last (exactly the layout the fetch tools produce), so tests
of exports, Iceberg and SQL do not depend on the fetch engine. The rows are SYNTHETIC (generated
here), shaped like the normalised long schema: ``<axis>_code``/``<axis>_name`` per axis, ``unit``,
``value`` (float64, null for e-Stat markers), ``value_raw``, ``note``, ``annotation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from estat_aws_mcp.datasets.manifest import (
    DATA_FILE,
    DatasetManifest,
    dataset_key,
    new_dataset_id,
    publish_manifest,
)
from estat_aws_mcp.datasets.store import LocalObjectStore, ObjectStore
from estat_aws_mcp.estat.credit import CREDIT_NOTICE

DEFAULT_AXES = ("tab", "cat01", "area", "time")

# Synthetic names per axis (Japanese, as e-Stat sends them), cycled through by row index.
_NAMES = {
    "tab": [("020", "人口"), ("030", "世帯数")],
    "cat01": [("000", "総数"), ("001", "男"), ("002", "女")],
    "area": [
        ("00000", "全国"),
        ("01000", "北海道"),
        ("13000", "東京都"),
        ("25210", "髙島市"),
        ("47000", "沖縄県"),
    ],
    "time": [("2015000000", "2015年"), ("2020000000", "2020年")],
}
# e-Stat markers (value_raw) and their NOTE meaning; value is null for these.
MARKERS = {"-": "該当数値なし", "***": "秘匿", "x": "秘匿"}


def read_parquet(source: Any, **kwargs: Any):
    """``pq.read_table`` without pyarrow's background I/O threads: with them, reading a Python file
    object can abort the interpreter at exit (apache/arrow#33975), which would fail the test run."""
    import pyarrow.parquet as pq

    return pq.read_table(source, use_threads=False, pre_buffer=False, **kwargs)


def _axis_names(axis: str) -> list[tuple[str, str]]:
    return _NAMES.get(axis) or [(f"{i:03d}", f"{axis}項目{i}") for i in range(4)]


def synthetic_rows(n: int, axes: Sequence[str] = DEFAULT_AXES) -> dict[str, list[Any]]:
    """``n`` deterministic rows as columns; every 50th row carries a marker instead of a number."""
    columns: dict[str, list[Any]] = {}
    radix = 1  # mixed-radix digits: consecutive rows walk the axes like nested loops
    for axis in axes:
        names = _axis_names(axis)
        picks = [names[(i // radix) % len(names)] for i in range(n)]
        radix *= len(names)
        columns[f"{axis}_code"] = [code for code, _ in picks]
        columns[f"{axis}_name"] = [name for _, name in picks]
    columns["unit"] = ["人"] * n
    values: list[float | None] = []
    raws: list[str] = []
    notes: list[str | None] = []
    markers = list(MARKERS)
    for i in range(n):
        if i % 50 == 49:
            marker = markers[i % len(markers)]
            values.append(None)
            raws.append(marker)
            notes.append(MARKERS[marker])
        else:
            value = i * 1.5 + 0.25
            values.append(value)
            raws.append(repr(value))
            notes.append(None)
    columns["value"] = values
    columns["value_raw"] = raws
    columns["note"] = notes
    columns["annotation"] = [None] * n
    return columns


def dataset_table(rows: int | dict[str, list[Any]] | list[dict[str, Any]], axes: Sequence[str]):
    """A pyarrow table in the normalised schema (strings everywhere, value float64)."""
    import pyarrow as pa

    if isinstance(rows, int):
        columns = synthetic_rows(rows, axes)
    elif isinstance(rows, list):
        names = [f"{a}_{k}" for a in axes for k in ("code", "name")] + [
            "unit",
            "value",
            "value_raw",
            "note",
            "annotation",
        ]
        columns = {name: [row.get(name) for row in rows] for name in names}
    else:
        columns = rows
    fields = [pa.field(name, pa.float64() if name == "value" else pa.string()) for name in columns]
    return pa.table(columns, schema=pa.schema(fields))


def write_dataset(
    store: ObjectStore,
    rows: int | dict[str, list[Any]] | list[dict[str, Any]] = 10,
    axes: Sequence[str] = DEFAULT_AXES,
    *,
    stats_data_id: str = "0003445078",
    title: str = "合成テスト表 (synthetic)",
    row_group_rows: int = 65_536,
    **manifest_fields: Any,
) -> DatasetManifest:
    """Write a dataset as the fetch tools do: data first (atomic), manifest last."""
    import pyarrow.parquet as pq

    table = dataset_table(rows, axes)
    dataset_id = new_dataset_id(stats_data_id)
    data_key = dataset_key(dataset_id, DATA_FILE)
    with store.open_write(data_key) as fh:
        pq.write_table(table, fh, row_group_size=row_group_rows, compression="zstd")
    manifest = DatasetManifest(
        dataset_id=dataset_id,
        stats_data_id=stats_data_id,
        row_count=table.num_rows,
        columns=[{"name": f.name, "type": str(f.type)} for f in table.schema],
        axes=list(axes),
        title=title,
        survey="合成調査 (synthetic)",
        organisation="テスト",
        updated_date="2024-01-01",
        credit=CREDIT_NOTICE,
        data_key=data_key,
        **manifest_fields,
    )
    publish_manifest(store, manifest)
    return manifest


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def local_store(store_root: Path) -> LocalObjectStore:
    return LocalObjectStore(store_root)


@pytest.fixture
def make_dataset(local_store: LocalObjectStore) -> Callable[..., DatasetManifest]:
    """``make_dataset(rows=10 | columns dict | row dicts, axes=(...), store=None, **manifest fields)``."""

    def factory(
        rows: int | dict[str, list[Any]] | list[dict[str, Any]] = 10,
        axes: Sequence[str] = DEFAULT_AXES,
        store: ObjectStore | None = None,
        **kwargs: Any,
    ) -> DatasetManifest:
        return write_dataset(store or local_store, rows, axes, **kwargs)

    return factory


@pytest.fixture
def s3_bucket(aws_env: Any) -> Iterator[str]:
    """A fresh bucket on the moto server (reset per test by ``aws_env``)."""
    from estat_aws_mcp.aws.clients import aws_client

    name = "estat-test-bucket"
    aws_client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    yield name


@pytest.fixture
def s3_store(s3_bucket: str):
    from estat_aws_mcp.datasets.s3_store import S3ObjectStore

    return S3ObjectStore(f"s3://{s3_bucket}/estat")
