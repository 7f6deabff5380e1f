"""Dataset files as MCP tools: CSV and Parquet exports, and bounded CSV downloads from the store.

Thin wrappers over :mod:`estat_aws_mcp.datasets.export`; the blocking work (Parquet reads, S3
transfers) runs in a worker thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.tools.errors import in_worker_thread

T = TypeVar("T")

DEFAULT_DOWNLOAD_BYTES = 256 * 1024
# Room left in the response for everything but the CSV text (URIs, the presigned URL, envelope).
_RESPONSE_RESERVE_BYTES = 64 * 1024
PRESIGNED_URL_NOTE = (
    "presigned_url is a bearer link: anyone who has it can download this file until it expires; "
    "share it only with the person who asked for the data."
)


class CsvExportResult(BaseModel):
    dataset_id: str
    uri: str = Field(description="Where the CSV is; pass it to download_csv_from_s3 to read it")
    encoding: str
    row_count: int = Field(description="Data rows (the header line is extra)")
    bytes: int
    columns: list[str]
    substitutions: dict[str, Any] | None = Field(
        default=None, description="cp932 with on_unencodable='replace': what was replaced by 〓, where"
    )
    substitutions_uri: str | None = Field(default=None, description="CSV listing every substitution")
    credit: str


class ParquetExportResult(BaseModel):
    dataset_id: str
    uri: str
    compression: str
    row_count: int
    bytes: int
    parquet_schema: list[dict[str, str]] = Field(description="Column names and Arrow types")
    credit: str


class CsvPageResult(BaseModel):
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


def _store():
    from estat_aws_mcp.datasets.store import open_store
    from estat_aws_mcp.settings import get_settings

    return open_store(get_settings().storage_uri)


def save_dataset_as_csv_core(dataset_id: str, encoding: str, on_unencodable: str) -> CsvExportResult:
    from estat_aws_mcp.datasets.export import export_csv

    result = export_csv(_store(), dataset_id, encoding, on_unencodable=on_unencodable)  # type: ignore[arg-type]
    return CsvExportResult.model_validate(asdict(result))


def transform_to_parquet_core(dataset_id: str, compression: str) -> ParquetExportResult:
    from estat_aws_mcp.datasets.export import export_parquet

    result = export_parquet(_store(), dataset_id, compression)
    return ParquetExportResult.model_validate(asdict(result))


def download_csv_core(uri: str, max_bytes: int, offset: int) -> CsvPageResult:
    from estat_aws_mcp.datasets.export import read_csv_page, resolve_stored_csv
    from estat_aws_mcp.settings import get_settings

    settings = get_settings()
    store = _store()
    key = resolve_stored_csv(store, uri)
    page = read_csv_page(
        store,
        key,
        offset=offset,
        max_bytes=max_bytes,
        content_budget=TOOL_RESULT_BUDGET_BYTES - _RESPONSE_RESERVE_BYTES,
    )
    result = CsvPageResult.model_validate(asdict(page))
    content_start = 3 if page.encoding == "utf-8-sig" else 0  # a UTF-8 BOM is not content
    whole_file_here = page.eof and page.offset == content_start
    if not whole_file_here and settings.presigned_urls:
        url = store.presign(key, settings.presigned_url_expires_s)
        if url:
            result.presigned_url = url
            result.presigned_url_expires_in_s = settings.presigned_url_expires_s
            result.presigned_url_note = PRESIGNED_URL_NOTE
    return result


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        title="Save a dataset as CSV",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
        description=(
            "Write a dataset (a dataset_id from a fetch tool) as a CSV file with a header into the dataset store "
            "and return its URI, row count and size. encoding: 'utf-8' (default), 'utf-8-sig' (UTF-8 with BOM, "
            "opens correctly in Excel) or 'cp932' (Excel's Shift_JIS in Japan). cp932 cannot encode some "
            "characters (e.g. 𠮷, emoji): by default the export is then refused with a list of the rows, columns "
            "and characters concerned; on_unencodable='replace' writes 〓 instead and reports every substitution."
        ),
    )
    async def save_dataset_as_csv(
        dataset_id: Annotated[str, Field(description="dataset_id returned by a fetch tool")],
        encoding: Annotated[str, Field(description="'utf-8', 'utf-8-sig' or 'cp932'")] = "utf-8",
        on_unencodable: Annotated[
            Literal["error", "replace"],
            Field(description="cp932 only: 'error' refuses and lists the characters; 'replace' writes 〓 and reports"),
        ] = "error",
    ) -> CsvExportResult:
        return await in_worker_thread(save_dataset_as_csv_core, dataset_id, encoding, on_unencodable)

    @mcp.tool(
        title="Save a dataset as Parquet",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
        description=(
            "Write a dataset (a dataset_id from a fetch tool) as a standalone Parquet file in the dataset store: "
            "codes and names as strings, value as float64, provenance and the e-Stat credit in the file metadata. "
            "Returns the URI, row count, size and schema."
        ),
    )
    async def transform_to_parquet(
        dataset_id: Annotated[str, Field(description="dataset_id returned by a fetch tool")],
        compression: Annotated[
            str, Field(description="'zstd' (default, smaller) or 'snappy' (faster, most compatible)")
        ] = "zstd",
    ) -> ParquetExportResult:
        return await in_worker_thread(transform_to_parquet_core, dataset_id, compression)

    @mcp.tool(
        title="Read a stored CSV, page by page",
        annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False),
        description=(
            "Read a CSV file held in the dataset store (a URI from save_dataset_as_csv), one bounded page at a "
            "time: the page ends on a line boundary and never splits a character; pass next_offset to continue. "
            "URIs outside the store are refused. On S3, files larger than one page also come with a short-lived "
            "presigned download URL (a bearer link)."
        ),
    )
    async def download_csv_from_s3(
        uri: Annotated[str, Field(description="URI of a CSV in the store, e.g. s3://bucket/prefix/exports/<id>.csv")],
        max_bytes: Annotated[
            int,
            Field(ge=1, le=TOOL_RESULT_BUDGET_BYTES, description="Bytes of the file to return in this page"),
        ] = DEFAULT_DOWNLOAD_BYTES,
        offset: Annotated[int, Field(ge=0, description="Byte offset to start at: 0, then next_offset")] = 0,
    ) -> CsvPageResult:
        return await in_worker_thread(download_csv_core, uri, max_bytes, offset)
