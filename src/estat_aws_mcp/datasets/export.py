"""Dataset files: CSV and Parquet exports of a dataset, and bounded pages of a stored CSV.

Exports stream the dataset's Parquet file record batch by record batch into an atomic store
write, so memory stays bounded by one batch whatever the table size, and a failed export leaves
no file behind (nor replaces a previous good one).

cp932 (Excel's "Shift_JIS" in Japan) cannot encode every character e-Stat sends (e.g. 𠮷, emoji,
EM DASH). Such characters are never dropped silently: by default the export is refused with a
report of every row, column and character concerned (no file written); with
``on_unencodable="replace"`` each one is written as 〓 (U+3013 GETA MARK, the customary Japanese
placeholder) and every substitution is listed in a report CSV stored next to the export.

pyarrow is imported lazily.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from pydantic import BaseModel, Field

from estat_aws_mcp.datasets.manifest import DATA_FILE, DatasetManifest, dataset_batches, dataset_key, load_manifest
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.errors import InputError, UpstreamError, quote_prefix
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import result_wire_bytes

if TYPE_CHECKING:
    import pyarrow as pa

EXPORTS_PREFIX = "exports"
SUPPORTED_ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
SUPPORTED_COMPRESSIONS = ("zstd", "snappy")
CP932_REPLACEMENT = "〓"
BATCH_ROWS = 65_536
# Occurrences of unencodable characters listed inline (errors and tool results stay small).
UNENCODABLE_LISTED = 20
CHARACTERS_LISTED_PER_CELL = 5

UnencodablePolicy = Literal["error", "replace"]

_ENCODING_ALIASES = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf_8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "utf_8_sig": "utf-8-sig",
    "utf-8-bom": "utf-8-sig",
    "cp932": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "mskanji": "cp932",
    "ms-kanji": "cp932",
}


def normalise_encoding(name: str) -> str:
    """One of :data:`SUPPORTED_ENCODINGS`, or an :class:`InputError` naming the valid values."""
    key = (name or "").strip().lower()
    if key in _ENCODING_ALIASES:
        return _ENCODING_ALIASES[key]
    hint = ""
    if key in ("shift_jis", "shift-jis", "sjis", "s_jis", "x-sjis"):
        hint = " (Excel's 'Shift_JIS' is cp932: use encoding='cp932')"
    raise InputError(
        f"unsupported encoding {quote_prefix(name)}: use one of 'utf-8', 'utf-8-sig' (Excel), 'cp932' (Excel in Japan){hint}"
    )


def normalise_compression(name: str) -> str:
    key = (name or "").strip().lower()
    if key not in SUPPORTED_COMPRESSIONS:
        raise InputError(
            f"unsupported compression {quote_prefix(name)}: use 'zstd' (smaller) or 'snappy' (faster, most compatible)"
        )
    return key


def csv_key(dataset_id: str, encoding: str) -> str:
    """``exports/<id>.csv`` for UTF-8; the encoding is part of the name otherwise."""
    dataset_key(dataset_id, DATA_FILE)  # validates the id
    suffix = "" if encoding == "utf-8" else f".{encoding}"
    return f"{EXPORTS_PREFIX}/{dataset_id}{suffix}.csv"


def substitutions_key(dataset_id: str) -> str:
    return f"{EXPORTS_PREFIX}/{dataset_id}.cp932-substitutions.csv"


def parquet_key(dataset_id: str) -> str:
    dataset_key(dataset_id, DATA_FILE)
    return f"{EXPORTS_PREFIX}/{dataset_id}.parquet"


# -- reading a dataset ----------------------------------------------------------------------


def _check_row_count(manifest: DatasetManifest, rows: int) -> None:
    """Raised inside the export's write, so a dataset whose data disagrees with its manifest exports nothing."""
    if rows != manifest.row_count:
        raise UpstreamError(
            f"dataset {manifest.dataset_id} is inconsistent: its data has {rows} rows but its manifest says "
            f"{manifest.row_count}; fetch it again"
        )


# -- CSV ------------------------------------------------------------------------------------


@dataclass
class Unencodable:
    """One cell holding characters the target encoding cannot represent."""

    row: int  # 1-based data row (CSV line = row + 1, after the header)
    column: str
    characters: list[str]
    codepoints: list[str]
    value: str

    def describe(self) -> str:
        pairs = list(zip(self.characters, self.codepoints, strict=True))
        chars = ", ".join(f"{c!r} ({p})" for c, p in pairs[:CHARACTERS_LISTED_PER_CELL])
        if len(pairs) > CHARACTERS_LISTED_PER_CELL:
            chars += f" and {len(pairs) - CHARACTERS_LISTED_PER_CELL} more"
        return f"row {self.row} column {self.column}: {chars} in {self.value[:40]!r}"


@dataclass
class UnencodableReport:
    encoding: str
    cells: int = 0
    characters: int = 0
    by_character: Counter[str] = field(default_factory=Counter)
    by_column: Counter[str] = field(default_factory=Counter)
    listed: list[Unencodable] = field(default_factory=list)

    def add(self, item: Unencodable) -> None:
        self.cells += 1
        self.characters += len(item.characters)
        self.by_character.update(item.characters)
        self.by_column[item.column] += 1
        if len(self.listed) < UNENCODABLE_LISTED:
            self.listed.append(item)

    def summary(self) -> dict[str, Any]:
        return {
            "cells": self.cells,
            "characters": self.characters,
            "by_character": {f"{c} (U+{ord(c):04X})": n for c, n in self.by_character.most_common(50)},
            "by_column": dict(self.by_column.most_common()),
            "first_cells": [item.describe() for item in self.listed],
        }


class UnencodableCharactersError(InputError):
    """The export was refused: the report says exactly which cells and characters."""

    def __init__(self, report: UnencodableReport) -> None:
        self.report = report
        chars = ", ".join(f"{c!r} (U+{ord(c):04X}) ×{n}" for c, n in report.by_character.most_common(10))
        cells = "; ".join(item.describe() for item in report.listed)
        more = f" (first {len(report.listed)} listed)" if report.cells > len(report.listed) else ""
        super().__init__(
            f"{report.encoding} cannot encode {report.characters} character(s) in {report.cells} cell(s); "
            f"no file was written. Characters: {chars}. Cells{more}: {cells}. "
            f"Use encoding='utf-8-sig' (Excel opens it and it keeps every character), or "
            f"on_unencodable='replace' to write {CP932_REPLACEMENT} in their place with every substitution reported."
        )


@functools.lru_cache(maxsize=4096)
def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _scan_and_replace(
    batch: pa.RecordBatch, first_row: int, encoding: str, replace: bool, found: list[Unencodable]
) -> pa.RecordBatch:
    """Find every unencodable cell of ``batch`` (appending to ``found``); optionally substitute."""
    import pyarrow as pa

    columns = []
    in_batch: list[Unencodable] = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            columns.append(column)
            continue
        values = column.to_pylist()
        try:  # most columns are clean: one encode of the whole column settles it
            "\n".join(v for v in values if v is not None).encode(encoding)
            columns.append(column)
            continue
        except UnicodeEncodeError:
            pass
        changed = False
        for index, value in enumerate(values):
            if value is None or value.isascii():
                continue
            bad = [ch for ch in value if not _encodable(ch, encoding)]
            if not bad:
                continue
            in_batch.append(Unencodable(first_row + index, name, bad, [f"U+{ord(c):04X}" for c in bad], value))
            if replace:
                values[index] = "".join(c if _encodable(c, encoding) else CP932_REPLACEMENT for c in value)
                changed = True
        columns.append(pa.array(values, type=column.type) if changed else column)
    order = {name: i for i, name in enumerate(batch.schema.names)}
    found.extend(sorted(in_batch, key=lambda item: (item.row, order[item.column])))  # reading order
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _csv_bytes(batch_or_table: Any, include_header: bool) -> bytes:
    import io

    import pyarrow.csv as pacsv

    sink = io.BytesIO()
    pacsv.write_csv(batch_or_table, sink, pacsv.WriteOptions(include_header=include_header))
    return sink.getvalue()


class CsvExport(BaseModel):
    """What save_dataset_as_csv answers (its output schema)."""

    dataset_id: str
    uri: str = Field(description="Where the CSV is; pass it to download_csv_from_s3 to read it")
    key: str = Field(description="The file's key inside the dataset store")
    encoding: str
    row_count: int = Field(description="Data rows (the header line is extra)")
    bytes: int
    columns: list[str]
    substitutions: dict[str, Any] | None = Field(
        default=None, description="cp932 with on_unencodable='replace': what was replaced by 〓, where"
    )
    substitutions_uri: str | None = Field(default=None, description="CSV listing every substitution")
    credit: str = CREDIT_NOTICE


def export_csv(
    store: ObjectStore,
    dataset_id: str,
    encoding: str = "utf-8",
    *,
    on_unencodable: UnencodablePolicy = "error",
    batch_rows: int = BATCH_ROWS,
) -> CsvExport:
    """Write the dataset as CSV (header + one line per row) under ``exports/``; see the module doc."""
    import pyarrow as pa

    encoding = normalise_encoding(encoding)
    if on_unencodable not in ("error", "replace"):
        raise InputError(f"on_unencodable must be 'error' or 'replace', not {quote_prefix(on_unencodable)}")
    manifest = load_manifest(store, dataset_id)
    key = csv_key(dataset_id, encoding)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    report = UnencodableReport(encoding)
    replacing = codec == "cp932" and on_unencodable == "replace"
    rows = 0
    written = 0

    with contextlib.ExitStack() as stack:
        # The substitution report streams beside the CSV (every substitution, in bounded memory). It is
        # written on every replace export, so a stale report from an earlier export cannot mislead.
        log = None
        if replacing:
            log = _SubstitutionLog(stack.enter_context(store.open_write(substitutions_key(dataset_id))))
            stack.callback(log.release)
        schema, batches = stack.enter_context(dataset_batches(store, manifest, batch_rows))
        out = stack.enter_context(store.open_write(key))
        if encoding == "utf-8-sig":
            written += out.write(codecs.BOM_UTF8)
        written += out.write(_csv_bytes(pa.Table.from_batches([], schema=schema), include_header=True))
        for batch in batches:
            data = _csv_bytes(batch, include_header=False)
            if codec != "utf-8":
                text = data.decode("utf-8")
                try:
                    data = text.encode(codec)
                except UnicodeEncodeError:
                    found: list[Unencodable] = []
                    batch = _scan_and_replace(batch, rows + 1, codec, replacing, found)
                    for item in found:
                        report.add(item)
                        if log is not None:
                            log.write(item)
                    if replacing:
                        data = _csv_bytes(batch, include_header=False).decode("utf-8").encode(codec)
            rows += batch.num_rows
            if report.cells and not replacing:
                continue  # keep scanning so the refusal lists every problem; write nothing more
            written += out.write(data)
        if report.cells and not replacing:
            raise UnencodableCharactersError(report)  # inside the writes: nothing is kept
        _check_row_count(manifest, rows)
        if log is not None:
            log.close()

    result = CsvExport(
        dataset_id=dataset_id,
        uri=store.uri_for(key),
        key=key,
        encoding=encoding,
        row_count=rows,
        bytes=written,
        columns=list(schema.names),
        credit=manifest.credit or CREDIT_NOTICE,
    )
    if replacing:
        result.substitutions = {"replacement": CP932_REPLACEMENT, **report.summary()}
        result.substitutions_uri = store.uri_for(substitutions_key(dataset_id))
    return result


class _SubstitutionLog:
    """CSV lines ``row, column, character, codepoint, original_value, written_value`` (UTF-8 with BOM)."""

    def __init__(self, out: BinaryIO) -> None:
        import csv
        import io

        self._text: io.TextIOWrapper | None = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
        self._writer = csv.writer(self._text)
        self._writer.writerow(["row", "column", "character", "codepoint", "original_value", "written_value"])

    def write(self, item: Unencodable) -> None:
        written = "".join(CP932_REPLACEMENT if c in item.characters else c for c in item.value)
        for ch, point in zip(item.characters, item.codepoints, strict=True):
            self._writer.writerow([item.row, item.column, ch, point, item.value, written])

    def close(self) -> None:
        if self._text is not None:
            self._text.flush()
        self.release()

    def release(self) -> None:
        """Detach without closing: the store's atomic writer, not the wrapper, owns the file."""
        if self._text is not None:
            self._text.detach()
            self._text = None


# -- Parquet --------------------------------------------------------------------------------


def normalised_schema(schema: pa.Schema) -> pa.Schema:
    """The export schema: ``value`` float64, ``time_start``/``time_end`` dates, every other column a
    string (codes stay strings)."""
    import pyarrow as pa

    from estat_aws_mcp.datasets.schema import column_type

    types = {"double": pa.float64(), "date": pa.date32(), "string": pa.string()}
    fields = []
    for item in schema:
        target = types[column_type(item.name)]
        fields.append(pa.field(item.name, target, nullable=True))
    return pa.schema(fields)


class ParquetExport(BaseModel):
    """What transform_to_parquet answers (its output schema)."""

    dataset_id: str
    uri: str
    key: str = Field(description="The file's key inside the dataset store")
    compression: str
    row_count: int
    bytes: int
    parquet_schema: list[dict[str, str]] = Field(description="Column names and Arrow types")
    credit: str = CREDIT_NOTICE


def export_parquet(
    store: ObjectStore, dataset_id: str, compression: str = "zstd", *, batch_rows: int = 131_072
) -> ParquetExport:
    """Write the dataset as a standalone Parquet file with the normalised schema and provenance metadata."""
    import pyarrow.parquet as pq

    compression = normalise_compression(compression)
    manifest = load_manifest(store, dataset_id)
    key = parquet_key(dataset_id)
    provenance = {
        "dataset_id": dataset_id,
        "stats_data_id": manifest.stats_data_id,
        "title": manifest.title,
        "updated_date": manifest.updated_date,
        "filters": manifest.filters,
        "credit": manifest.credit or CREDIT_NOTICE,
    }
    rows = 0
    with dataset_batches(store, manifest, batch_rows) as (source_schema, batches), store.open_write(key) as out:
        schema = normalised_schema(source_schema).with_metadata(
            {b"estat_aws_mcp": json.dumps(provenance, ensure_ascii=False).encode("utf-8")}
        )
        with pq.ParquetWriter(out, schema, compression=compression) as writer:
            for batch in batches:
                writer.write_batch(batch.cast(schema, safe=True))
                rows += batch.num_rows
        _check_row_count(manifest, rows)
        size = out.tell()
    return ParquetExport(
        dataset_id=dataset_id,
        uri=store.uri_for(key),
        key=key,
        compression=compression,
        row_count=rows,
        bytes=size,
        parquet_schema=[{"name": f.name, "type": str(f.type)} for f in schema],
        credit=provenance["credit"],
    )


# -- reading a stored CSV in pages ------------------------------------------------------------

# How far back to look for a known character end when a caller's offset may sit inside a cp932 character.
_CP932_LOOKBACK = 64 * 1024


def detect_csv_encoding(key: str, head: bytes) -> str:
    """The encoding of a stored CSV: from the export's name, else a BOM, else UTF-8."""
    name = key.rsplit("/", 1)[-1]
    if name.endswith(".cp932.csv"):
        return "cp932"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return "utf-8"


def _is_cp932_lead(byte: int) -> bool:
    return 0x81 <= byte <= 0x9F or 0xE0 <= byte <= 0xFC


def _cp932_walk(data: bytes, limit: int) -> int:
    """Largest character boundary ``<= limit`` in ``data`` (which starts on a boundary)."""
    i = 0
    while i < len(data):
        step = 2 if _is_cp932_lead(data[i]) else 1
        if i + step > limit:
            break
        i += step
    return min(i, limit)


def _utf8_boundary_before(data: bytes, cut: int) -> int:
    """Largest ``i <= cut`` such that ``data[i]`` starts a character (or ``i == len(data)``)."""
    i = min(cut, len(data))
    while 0 < i < len(data) and (data[i] & 0xC0) == 0x80:
        i -= 1
    return i


class CsvPage(BaseModel):
    """One page of a stored CSV: what download_csv_from_s3 answers (its output schema)."""

    uri: str
    encoding: str = Field(description="utf-8, utf-8-sig, cp932, or binary (then content_base64 holds raw bytes)")
    offset: int = Field(description="Byte offset where this page starts")
    bytes_returned: int
    total_bytes: int
    next_offset: int | None = Field(description="Pass as offset for the next page; null at the end")
    eof: bool
    content: str | None
    content_base64: str | None = None
    note: str | None = None
    presigned_url: str | None = Field(default=None, description="Short-lived bearer link to the whole file")
    presigned_url_expires_in_s: int | None = None
    presigned_url_note: str | None = None
    credit: str = Field(default=CREDIT_NOTICE, description="Show this notice with the data (e-Stat credit)")


def _align_start(store: ObjectStore, key: str, offset: int, encoding: str) -> int:
    if offset == 0:
        return 0
    if encoding in ("utf-8", "utf-8-sig"):
        probe = store.read_range(key, offset, 4)
        skip = 0
        while skip < len(probe) and (probe[skip] & 0xC0) == 0x80:
            skip += 1
        return offset + skip
    # cp932 is not self-synchronising (trail bytes overlap ASCII and lead bytes), but a byte outside the
    # lead-byte ranges always ends a character: step back over lead-range bytes to the last such byte.
    start = max(0, offset - _CP932_LOOKBACK)
    window = store.read_range(key, start, offset - start + 2)
    target = offset - start
    base = target
    while base > 0 and _is_cp932_lead(window[base - 1]):
        base -= 1
    if base == 0 and start > 0:
        raise InputError("offset is not at a character boundary: pass 0 or a next_offset this tool returned")
    boundary = _cp932_walk(window[base:], target - base)
    if boundary < target - base:  # offset sits on a trail byte: move to the next character
        boundary += 2
    return start + base + boundary


#: How far ahead a page that ends inside a line looks for the line's end (to say what max_bytes would do).
LINE_PROBE_BYTES = 1024 * 1024


def read_csv_page(store: ObjectStore, key: str, *, offset: int, max_bytes: int, content_budget: int) -> CsvPage:
    """Bytes ``[offset, offset + max_bytes)`` of a stored CSV, decoded, ending on a line (or at least a
    character) boundary and trimmed until its cost in a tool result (:func:`~estat_aws_mcp.limits.result_wire_bytes` of
    ``{"content": text}``) fits ``content_budget``."""
    if offset < 0:
        raise InputError("offset must be >= 0")
    if max_bytes < 1:
        raise InputError("max_bytes must be >= 1")
    total = store.size(key)
    head = store.read_range(key, 0, 3)
    encoding = detect_csv_encoding(key, head)
    uri = store.uri_for(key)
    if offset > total:
        raise InputError(f"offset {offset} is past the end of the file ({total} bytes)")
    start = offset
    if encoding == "utf-8-sig" and start < len(codecs.BOM_UTF8):
        start = len(codecs.BOM_UTF8)  # the BOM is not content
    start = min(_align_start(store, key, start, encoding), total)
    raw = store.read_range(key, start, max_bytes + 4)  # a few bytes more to see the next character
    at_end = len(raw) <= max_bytes  # asked for 4 bytes more: fewer means the file ends here
    codec = "utf-8" if encoding == "utf-8-sig" else encoding

    def cut_point(data: bytes, limit: int, final: bool) -> int:
        if final and limit >= len(data):
            return len(data)
        newline = data.rfind(b"\n", 0, limit)
        if newline >= 0:
            return newline + 1
        end = _cp932_walk(data, limit) if codec == "cp932" else _utf8_boundary_before(data, limit)
        # Always make progress: at least one whole character, even when it is longer than the limit.
        return end or (_cp932_walk(data, 2) if codec == "cp932" else _utf8_boundary_before(data, 4) or len(data))

    end = cut_point(raw, max_bytes, at_end)
    try:
        text = raw[:end].decode(codec)
    except UnicodeDecodeError:
        # Not text in the expected encoding: say so and return the bytes themselves.
        chunk = raw[: min(end, max_bytes)]
        while chunk and len(base64.b64encode(chunk)) * 2 > content_budget:
            chunk = chunk[: len(chunk) // 2]
        next_offset = start + len(chunk)
        return CsvPage(
            uri=uri,
            encoding="binary",
            offset=start,
            bytes_returned=len(chunk),
            total_bytes=total,
            next_offset=None if next_offset >= total else next_offset,
            eof=next_offset >= total,
            content=None,
            content_base64=base64.b64encode(chunk).decode("ascii"),
            note=f"the file is not valid {codec} text; content_base64 holds the raw bytes",
        )
    trimmed = False
    while text and result_wire_bytes({"content": text}) > content_budget:
        # Shrink in proportion (with a margin) and re-cut on a line/character boundary.
        ratio = content_budget / result_wire_bytes({"content": text})
        end = cut_point(raw, max(1, int(end * ratio * 0.95)), False)
        text = raw[:end].decode(codec)
        trimmed = True
    next_offset = start + end
    eof = next_offset >= total
    notes = []
    if trimmed:
        notes.append("page shortened to fit the response size budget")
    if text and not eof and not text.endswith("\n"):
        notes.append(_mid_line_note(store, key, start, end, max_bytes))
    note = "; ".join(notes) or None
    return CsvPage(
        uri=uri,
        encoding=encoding,
        offset=start,
        bytes_returned=end,
        total_bytes=total,
        next_offset=None if eof else next_offset,
        eof=eof,
        content=text,
        note=note,
    )


def _mid_line_note(store: ObjectStore, key: str, start: int, end: int, max_bytes: int) -> str:
    """What to say when a page ends inside a line (the line is longer than the page)."""
    probe = store.read_range(key, start, LINE_PROBE_BYTES)
    newline = probe.find(b"\n", end)
    if newline >= 0:
        needed = f"pass max_bytes >= {newline + 1} to get it whole"
    else:
        needed = f"it is longer than {LINE_PROBE_BYTES:,} bytes"
    return (
        f"page smaller than one line: it ends inside the line that starts at byte {start} (max_bytes={max_bytes}); "
        f"{needed}, or continue from next_offset"
    )


# -- confinement for downloads ----------------------------------------------------------------


def resolve_stored_csv(store: ObjectStore, uri: str) -> str:
    """The key of a CSV file inside the store named by ``uri``, else ONE refusal for every reason
    (outside the store, traversal, symlink, not a CSV, absent) so that the answer never reveals
    whether some other path exists."""
    refusal = InputError(
        f"{quote_prefix(uri, 120)} is not a CSV file in the dataset store; pass a URI returned by save_dataset_as_csv "
        f"(under {store.root_uri}/)"
    )
    try:
        key = store.key_from_uri(uri)
        if not key.endswith(".csv") or not store.exists(key):
            raise refusal
    except (InputError, OSError, ValueError):
        raise refusal from None
    return key
