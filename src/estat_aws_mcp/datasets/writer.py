"""Streams normalised record batches into ``datasets/<id>/data.parquet`` and publishes the manifest last.

Memory stays bounded whatever the table size: batches are buffered only up to one row group
(:data:`ROW_GROUP_ROWS`) and then handed to pyarrow's ``ParquetWriter``, which writes into the file
object of :meth:`ObjectStore.open_write` (so the same code serves the local and the S3 store).

A dataset appears only on :meth:`DatasetWriter.commit`: the data file becomes visible when its
atomic write completes, then the manifest is published. Any failure before that (including the
checks a fetch makes after the last page) discards the data file, and no manifest is ever written
for it, so no later tool can mistake a partial dataset for a complete one.
"""

from __future__ import annotations

import contextlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

from estat_aws_mcp.datasets.manifest import (
    DATA_FILE,
    DATASETS_PREFIX,
    DatasetManifest,
    dataset_key,
    new_dataset_id,
    publish_manifest,
)
from estat_aws_mcp.datasets.schema import TableMetadata, arrow_schema, schema_description
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import SAMPLE_ROWS

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Rows per Parquet row group (e-Stat's page size): large enough for good compression and scans.
ROW_GROUP_ROWS = 100_000
PARQUET_COMPRESSION = "zstd"
#: Parquet's output is gathered in a native buffer of this size before it reaches the store's (Python)
#: file object: the writer makes ~240 small writes per row group, and each write into a Python object
#: takes the GIL again, waiting up to the interpreter's switch interval (5 ms) whenever another thread
#: runs Python (the event loop receiving the next pages of a concurrent fetch). One buffered write per
#: MiB keeps a row group's write from stalling on the GIL; it costs this much memory while writing.
SINK_BUFFER_BYTES = 1 << 20


class DatasetWriter:
    """``with DatasetWriter(store, metadata) as writer: writer.write(batch) ...; writer.commit()``."""

    def __init__(
        self,
        store: ObjectStore,
        metadata: TableMetadata,
        *,
        filters: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        dataset_id: str | None = None,
        keep_rows: int = SAMPLE_ROWS,
    ) -> None:
        self.store = store
        self.metadata = metadata
        self.axes = metadata.axis_ids
        self.filters = filters or {}
        self.extra = extra or {}
        self.dataset_id = dataset_id or new_dataset_id(metadata.stats_data_id)
        self.data_key = dataset_key(self.dataset_id, DATA_FILE)
        self.row_count = 0
        #: the first ``keep_rows`` rows as dicts (a sample, or every row of a small dataset)
        self.keep_rows = max(keep_rows, SAMPLE_ROWS)
        self.first_rows: list[dict[str, Any]] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._file_cm: contextlib.AbstractContextManager[Any] | None = None
        self._parquet: Any = None
        self._sink: Any = None
        self._committed = False
        self.manifest: DatasetManifest | None = None

    def __enter__(self) -> DatasetWriter:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = arrow_schema(self.axes)
        self._file_cm = self.store.open_write(self.data_key)
        file = self._file_cm.__enter__()
        try:
            self._sink = pa.BufferedOutputStream(pa.PythonFile(file, mode="w"), buffer_size=SINK_BUFFER_BYTES)
            self._parquet = pq.ParquetWriter(
                self._sink,
                self.schema,
                compression=PARQUET_COMPRESSION,
                # Dictionaries for the label columns only: the cells (value, value_raw) have nearly as
                # many distinct values as rows, so trying a dictionary there costs a third of the write
                # time and makes the file larger. min/max only where engines prune row groups with it:
                # the axis codes that filters select and the value (not <axis>_parent_code, whose string
                # statistics cost ~15% of the write time).
                use_dictionary=[name for name in self.schema.names if name not in ("value", "value_raw")],
                write_statistics=[*(f"{axis}_code" for axis in self.axes), "value"],
            )
        except BaseException:
            self._release_sink()
            self._file_cm.__exit__(None, None, None)
            raise
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if not batch.schema.equals(self.schema):
            raise ValueError(f"batch schema {batch.schema} differs from the dataset schema {self.schema}")
        if len(self.first_rows) < self.keep_rows:
            self.first_rows += batch.slice(0, self.keep_rows - len(self.first_rows)).to_pylist()
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.row_count += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush(whole_row_groups_only=True)

    @property
    def sample(self) -> list[dict[str, Any]]:
        """The first rows (at most :data:`~estat_aws_mcp.limits.SAMPLE_ROWS`)."""
        return self.first_rows[:SAMPLE_ROWS]

    @property
    def all_rows(self) -> list[dict[str, Any]] | None:
        """Every row written, when there are at most ``keep_rows`` of them; else None."""
        return self.first_rows if self.row_count <= self.keep_rows else None

    def _flush(self, *, whole_row_groups_only: bool = False) -> None:
        """Write the buffered rows as row groups of ROW_GROUP_ROWS (keeping a remainder if asked)."""
        import pyarrow as pa

        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        cut = (table.num_rows // ROW_GROUP_ROWS) * ROW_GROUP_ROWS if whole_row_groups_only else table.num_rows
        remainder = table.slice(cut)
        self._pending = remainder.to_batches() if remainder.num_rows else []
        self._pending_rows = remainder.num_rows
        if cut:
            self._parquet.write_table(table.slice(0, cut), row_group_size=ROW_GROUP_ROWS)

    def commit(self, *, extra: dict[str, Any] | None = None) -> DatasetManifest:
        """Finish the data file, then publish the manifest: from here on the dataset exists."""
        assert self._file_cm is not None, "commit() outside the with block"
        self._flush()
        self._parquet.close()
        self._parquet = None
        self._sink.detach()  # the buffer's last bytes into the file, which stays open for the store
        self._sink = None
        file_cm, self._file_cm = self._file_cm, None
        file_cm.__exit__(None, None, None)  # the atomic rename: data.parquet is now visible
        manifest = DatasetManifest(
            dataset_id=self.dataset_id,
            stats_data_id=self.metadata.stats_data_id,
            row_count=self.row_count,
            columns=schema_description(self.axes),
            axes=list(self.axes),
            title=self.metadata.title,
            survey=self.metadata.survey,
            organisation=self.metadata.organisation,
            updated_date=self.metadata.updated_date,
            filters=self.filters,
            credit=CREDIT_NOTICE,
            data_key=self.data_key,
            extra={**self.extra, **(extra or {}), "table": self.metadata.describe()},
        )
        try:
            publish_manifest(self.store, manifest)
        except BaseException:
            self._discard_data_file()
            raise
        self._committed = True
        self.manifest = manifest
        return manifest

    def _release_sink(self) -> None:
        """Let go of the native buffer without closing the store's file object (closing the buffer would
        close it, and so would the buffer's destructor); the store's ``with`` block owns that file."""
        if self._sink is not None:
            sink, self._sink = self._sink, None
            with contextlib.suppress(Exception):  # a failing file: the write is being discarded anyway
                sink.detach()

    def _discard_data_file(self) -> None:
        try:
            self.store.delete_prefix(dataset_key(self.dataset_id, DATA_FILE))
        except Exception:  # the original error matters more; log and go on
            log.exception("could not remove the data file of failed dataset %s", self.dataset_id)
        self._discard_dataset_folder()

    def _discard_dataset_folder(self) -> None:
        # The id is fresh, so everything under it belongs to this failed write (e.g. an empty folder).
        with contextlib.suppress(Exception):
            self.store.delete_prefix(f"{DATASETS_PREFIX}/{self.dataset_id}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._committed:
            return
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()
            self._parquet = None
        self._release_sink()
        if self._file_cm is not None:
            file_cm, self._file_cm = self._file_cm, None
            # Leave the atomic write through an exception so that the temporary file is discarded.
            reason = exc or RuntimeError("dataset write abandoned before commit")
            with contextlib.suppress(BaseException):
                file_cm.__exit__(type(reason), reason, reason.__traceback__)
        self._discard_dataset_folder()
        if exc_type is None:
            log.warning("dataset %s was not committed; nothing was published", self.dataset_id)
