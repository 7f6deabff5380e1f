"""DatasetWriter: streamed zstd Parquet through the store's atomic write, manifest last, nothing on failure."""

from __future__ import annotations

import contextlib
import errno
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from estat_aws_mcp.datasets.manifest import DATA_FILE, MANIFEST_FILE, dataset_key, load_manifest
from estat_aws_mcp.datasets.schema import AxisInfo, ClassItem, PageConverter, TableMetadata
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.datasets.writer import ROW_GROUP_ROWS, DatasetWriter
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import SAMPLE_ROWS
from tests.datasets.conftest import read_parquet

REPO_ROOT = Path(__file__).resolve().parents[2]


def small_table() -> TableMetadata:
    """SYNTHETIC metadata: two axes, one with a parent (総数) and two children."""
    return TableMetadata(
        "0000000042",
        title="テスト表",
        survey="テスト調査",
        organisation="総務省",
        updated_date="2026-01-01",
        axes=[
            AxisInfo(
                "cat01",
                "男女",
                [
                    ClassItem("0", "総数", "1", "人"),
                    ClassItem("1", "男", "2", "人", parent_code="0"),
                    ClassItem("2", "女", "2", "人", parent_code="0"),
                ],
            ),
            AxisInfo("time", "年", [ClassItem(f"{y}000000", f"{y}年", "1") for y in range(2000, 2030)]),
        ],
    )


def batches(metadata: TableMetadata, rows: int, per_batch: int) -> list[pa.RecordBatch]:
    converter = PageConverter(metadata)
    out = []
    for start in range(0, rows, per_batch):
        values = [
            {"@cat01": str(1 + i % 2), "@time": f"{2000 + i % 30}000000", "$": str(i)}
            for i in range(start, min(rows, start + per_batch))
        ]
        out.append(converter.convert(values, {}))
    return out


def test_written_dataset_round_trips(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    metadata = small_table()
    with DatasetWriter(store, metadata, filters={"time": {"codes": ["2000000000"]}}, extra={"k": 1}) as writer:
        for batch in batches(metadata, 250_123, 7_000):
            writer.write(batch)
        manifest = writer.commit(extra={"total_number": 250_123})
    assert store.list_keys("datasets") == [
        dataset_key(manifest.dataset_id, DATA_FILE),
        dataset_key(manifest.dataset_id, MANIFEST_FILE),
    ]
    loaded = load_manifest(store, manifest.dataset_id)
    assert loaded.row_count == 250_123
    assert loaded.axes == ["cat01", "time"]
    assert [c["name"] for c in loaded.columns][:6] == [
        "cat01_code", "cat01_name", "cat01_level", "cat01_parent_code", "time_code", "time_name",
    ]  # fmt: skip
    assert (loaded.title, loaded.survey, loaded.organisation, loaded.updated_date) == (
        "テスト表",
        "テスト調査",
        "総務省",
        "2026-01-01",
    )
    assert loaded.credit == CREDIT_NOTICE
    assert loaded.filters == {"time": {"codes": ["2000000000"]}}
    assert loaded.extra["k"] == 1 and loaded.extra["total_number"] == 250_123
    assert loaded.extra["table"]["title"] == "テスト表"
    with store.open_read(loaded.data_key) as fh:
        parquet = pq.ParquetFile(fh)
        assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
        group = parquet.metadata.row_group(0)
        with_statistics = {
            group.column(i).path_in_schema
            for i in range(group.num_columns)
            if group.column(i).statistics is not None and group.column(i).statistics.has_min_max
        }
        assert with_statistics == {"cat01_code", "time_code", "value"}  # what filters and engines prune on
        # small batches are coalesced into e-Stat-page-sized row groups
        assert parquet.metadata.num_row_groups == 3
        assert [parquet.metadata.row_group(i).num_rows for i in range(3)] == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 50_123]
        table = parquet.read()
    assert table.num_rows == 250_123
    assert table.column("value").to_pylist() == [float(i) for i in range(250_123)]
    assert table.schema.field("time_code").type == pa.string()
    assert len(writer.sample) == SAMPLE_ROWS
    assert writer.sample[0]["cat01_name"] == "男" and writer.sample[0]["unit"] == "人"


def test_failure_before_commit_leaves_nothing(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    metadata = small_table()
    with pytest.raises(RuntimeError, match="boom"), DatasetWriter(store, metadata) as writer:
        writer.write(batches(metadata, 10, 10)[0])
        raise RuntimeError("boom")
    assert store.list_keys() == []
    assert not any(path.name.startswith(".tmp-") for path in tmp_path.rglob("*"))


def test_leaving_without_commit_publishes_nothing(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    metadata = small_table()
    with DatasetWriter(store, metadata) as writer:
        writer.write(batches(metadata, 10, 10)[0])
    assert store.list_keys() == []


def test_manifest_failure_removes_the_data_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalObjectStore(tmp_path)
    metadata = small_table()

    def failing_publish(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr("estat_aws_mcp.datasets.writer.publish_manifest", failing_publish)
    with pytest.raises(OSError, match="disk full"), DatasetWriter(store, metadata) as writer:
        writer.write(batches(metadata, 10, 10)[0])
        writer.commit()
    assert store.list_keys() == []


def test_batches_of_another_schema_are_refused(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    with pytest.raises(ValueError, match="schema"), DatasetWriter(store, small_table()) as writer:
        writer.write(pa.RecordBatch.from_pydict({"x": [1]}))
    assert store.list_keys() == []


def test_another_process_reads_the_dataset(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    metadata = small_table()
    with DatasetWriter(store, metadata) as writer:
        for batch in batches(metadata, 1234, 500):
            writer.write(batch)
        manifest = writer.commit()
    script = (
        "import json, sys, pyarrow.parquet as pq\n"
        "from estat_aws_mcp.datasets.store import open_store\n"
        "from estat_aws_mcp.datasets.manifest import load_manifest\n"
        "store = open_store(sys.argv[1]); m = load_manifest(store, sys.argv[2])\n"
        # threads off: pyarrow can abort at interpreter exit after a threaded read from a Python
        # file object (apache/arrow#33975), which would fail this short-lived process at random
        "with store.open_read(m.data_key) as fh: t = pq.read_table(fh, use_threads=False, pre_buffer=False)\n"
        "print(json.dumps({'rows': m.row_count, 'read': t.num_rows, 'sum': sum(t.column('value').to_pylist())}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), manifest.dataset_id],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        timeout=180,
    )
    assert json.loads(out.stdout) == {"rows": 1234, "read": 1234, "sum": float(sum(range(1234)))}


def test_writes_through_the_s3_store(aws_env: object) -> None:
    """The writer uses only the ObjectStore interface, so the S3 store (moto) works unchanged."""
    from estat_aws_mcp.aws.clients import aws_client
    from estat_aws_mcp.datasets.store import open_store

    aws_client("s3", region="us-east-1").create_bucket(Bucket="writer-test")
    store = open_store("s3://writer-test/prefix")
    metadata = small_table()
    with DatasetWriter(store, metadata) as writer:
        for batch in batches(metadata, 5000, 2000):
            writer.write(batch)
        manifest = writer.commit()
    fresh = open_store("s3://writer-test/prefix")
    assert load_manifest(fresh, manifest.dataset_id).row_count == 5000
    with fresh.open_read(manifest.data_key) as fh:
        assert read_parquet(fh).num_rows == 5000


class _FullDiskStore(LocalObjectStore):
    """SYNTHETIC: a store whose files fail like a full disk once ``capacity`` bytes were written."""

    def __init__(self, root: Path, capacity: int) -> None:
        super().__init__(root)
        self.capacity = capacity

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        with super().open_write(key) as fh:
            store = self

            class Full:
                def __getattr__(self, name: str) -> object:
                    return getattr(fh, name)

                def write(self, data: bytes) -> int:
                    if fh.tell() + len(data) > store.capacity:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    return fh.write(data)

            yield Full()  # type: ignore[misc]


@pytest.mark.parametrize(("capacity", "buffer_bytes"), [(0, None), (100_000, 16_384)], ids=["at-commit", "mid-write"])
def test_a_store_write_that_fails_fails_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capacity: int, buffer_bytes: int | None
) -> None:
    """Parquet reaches the store through a native buffer: a file that fails still fails the dataset,
    whether the failing flush comes at commit (the whole file fits the buffer) or while rows are being
    written (a small buffer); the file is discarded and nothing is published."""
    if buffer_bytes is not None:
        monkeypatch.setattr("estat_aws_mcp.datasets.writer.SINK_BUFFER_BYTES", buffer_bytes)
    store = _FullDiskStore(tmp_path, capacity)
    metadata = small_table()
    committing = False
    with pytest.raises(OSError, match="No space left"), DatasetWriter(store, metadata) as writer:
        for batch in batches(metadata, 250_000, 50_000):
            writer.write(batch)
        committing = True
        writer.commit()
    assert committing == (buffer_bytes is None)
    assert store.list_keys() == []
    assert not any(path.name.startswith(".tmp-") for path in tmp_path.rglob("*"))
