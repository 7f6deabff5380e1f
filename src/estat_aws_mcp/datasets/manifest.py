"""Dataset handles: ``dataset_id`` → manifest + data in the store.

Layout under the store root::

    datasets/<dataset_id>/data.parquet    the normalised long table (written first)
    datasets/<dataset_id>/manifest.json   metadata; written LAST, so its presence means "complete"

A dataset without a manifest is, by construction, not a dataset: later tools only ever look a
dataset up through its manifest, so an interrupted fetch can never be mistaken for a complete one.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.errors import InputError, quote_prefix

DATASETS_PREFIX = "datasets"
DATA_FILE = "data.parquet"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1

_DATASET_ID = re.compile(r"^[0-9A-Za-z_]{1,32}-[0-9a-f]{12}$")


def new_dataset_id(stats_data_id: str) -> str:
    """``<statsDataId>-<12 hex>``: readable, unique, and safe as a path segment."""
    safe = re.sub(r"[^0-9A-Za-z_]", "_", stats_data_id)[:32] or "dataset"
    return f"{safe}-{secrets.token_hex(6)}"


def validate_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not _DATASET_ID.match(dataset_id):
        raise InputError(
            f"invalid dataset_id {quote_prefix(dataset_id)}: expected the id a fetch tool returned, e.g. '0003445078-1a2b3c4d5e6f'"
        )
    return dataset_id


def dataset_key(dataset_id: str, name: str) -> str:
    return f"{DATASETS_PREFIX}/{validate_dataset_id(dataset_id)}/{name}"


@dataclass
class DatasetManifest:
    """What a dataset is: provenance (the e-Stat table and filters), shape and where its data is."""

    dataset_id: str
    stats_data_id: str
    row_count: int
    columns: list[dict[str, str]]  # [{"name": ..., "type": arrow type string}]
    axes: list[str]  # e.g. ["tab", "cat01", "area", "time"] in table order
    title: str | None = None
    survey: str | None = None
    organisation: str | None = None
    updated_date: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    credit: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    data_key: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> DatasetManifest:
        return cls(**json.loads(data))


def publish_manifest(store: ObjectStore, manifest: DatasetManifest) -> str:
    """Write the manifest (the last step of every dataset write); returns its URI."""
    if not manifest.data_key:
        manifest.data_key = dataset_key(manifest.dataset_id, DATA_FILE)
    if not store.exists(manifest.data_key):
        raise RuntimeError(f"refusing to publish {manifest.dataset_id}: its data is not in the store")
    key = dataset_key(manifest.dataset_id, MANIFEST_FILE)
    store.write_bytes(key, manifest.to_json())
    return store.uri_for(key)


def load_manifest(store: ObjectStore, dataset_id: str) -> DatasetManifest:
    """The manifest of a complete dataset, or an :class:`InputError` that says what to do."""
    key = dataset_key(dataset_id, MANIFEST_FILE)
    try:
        return DatasetManifest.from_json(store.read_bytes(key))
    except FileNotFoundError:
        raise InputError(
            f"unknown dataset_id {dataset_id!r}: no complete dataset with that id in the store; "
            "fetch it again with fetch_dataset_auto / fetch_dataset_filtered / fetch_large_dataset_complete"
        ) from None


@contextlib.contextmanager
def dataset_batches(store: ObjectStore, manifest: DatasetManifest, batch_rows: int = 65_536) -> Iterator[Any]:
    """``(arrow schema, iterator of record batches)`` of a dataset's data, read incrementally (bounded memory).

    No pre-buffering: pyarrow's background I/O threads reading a Python file object can abort the
    interpreter at exit (apache/arrow#33975).
    """
    import pyarrow.parquet as pq

    key = manifest.data_key or dataset_key(manifest.dataset_id, DATA_FILE)
    with store.open_read(key) as fh:
        parquet = pq.ParquetFile(fh, pre_buffer=False)
        yield parquet.schema_arrow, parquet.iter_batches(batch_size=batch_rows, use_threads=False)
