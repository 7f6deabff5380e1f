"""Dataset files as MCP tools: CSV and Parquet exports, and bounded CSV downloads from the store.

Thin wrappers over :mod:`estat_aws_mcp.datasets.export`; the blocking work (Parquet reads, S3
transfers) runs in a worker thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from estat_aws_mcp.datasets.export import CsvExport, CsvPage, ParquetExport
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.tools.errors import in_worker_thread
from estat_aws_mcp.tools.template import DATASET_ID_CHARS, SHORT_TEXT_CHARS, URI_CHARS

DEFAULT_DOWNLOAD_BYTES = 256 * 1024
# Room left in the response for everything but the CSV text (URIs, the presigned URL, envelope).
_RESPONSE_RESERVE_BYTES = 64 * 1024
PRESIGNED_URL_NOTE = (
    "presigned_url is a bearer link: anyone who has it can download this file until it expires; "
    "share it only with the person who asked for the data."
)


def _store():
    from estat_aws_mcp.datasets.store import open_store
    from estat_aws_mcp.settings import get_settings

    return open_store(get_settings().storage_uri)


def save_dataset_as_csv_core(dataset_id: str, encoding: str, on_unencodable: str) -> CsvExport:
    from estat_aws_mcp.datasets.export import export_csv

    return export_csv(_store(), dataset_id, encoding, on_unencodable=on_unencodable)  # type: ignore[arg-type]


def transform_to_parquet_core(dataset_id: str, compression: str) -> ParquetExport:
    from estat_aws_mcp.datasets.export import export_parquet

    return export_parquet(_store(), dataset_id, compression)


def download_csv_core(uri: str, max_bytes: int, offset: int) -> CsvPage:
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
    content_start = 3 if page.encoding == "utf-8-sig" else 0  # a UTF-8 BOM is not content
    whole_file_here = page.eof and page.offset == content_start
    if not whole_file_here and settings.presigned_urls:
        url = store.presign(key, settings.presigned_url_expires_s)
        if url:
            page.presigned_url = url
            page.presigned_url_expires_in_s = settings.presigned_url_expires_s
            page.presigned_url_note = PRESIGNED_URL_NOTE
    return page


SAVE_CSV_DESCRIPTION = (
    "Write a dataset (a dataset_id from a fetch tool) as a CSV file with a header into the dataset store "
    "and return its URI, row count and size. encoding: 'utf-8' (default), 'utf-8-sig' (UTF-8 with BOM, "
    "opens correctly in Excel) or 'cp932' (Excel's Shift_JIS in Japan). cp932 cannot encode some "
    "characters (e.g. 𠮷, emoji): by default the export is then refused with a list of the rows, columns "
    "and characters concerned; on_unencodable='replace' writes 〓 instead and reports every substitution."
)

TO_PARQUET_DESCRIPTION = (
    "Write a dataset (a dataset_id from a fetch tool) as a standalone Parquet file in the dataset store: "
    "codes and names as strings, value as float64, provenance and the e-Stat credit in the file metadata. "
    "Returns the URI, row count, size and schema."
)

DOWNLOAD_CSV_DESCRIPTION = (
    "Read a CSV file held in the dataset store (a URI from save_dataset_as_csv), one bounded page at a "
    "time: a page ends on a line boundary and never splits a character (only when one line is longer than "
    "max_bytes does a page end inside it, and note says so); pass next_offset to continue. "
    "URIs outside the store are refused. On S3, files larger than one page also come with a short-lived "
    "presigned download URL (a bearer link). Show the returned credit notice with the data."
)

DatasetIdParam = Annotated[str, Field(max_length=DATASET_ID_CHARS, description="dataset_id returned by a fetch tool")]


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="save_dataset_as_csv",
        title="Save a dataset as CSV",
        description=SAVE_CSV_DESCRIPTION,
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
        structured_output=True,
    )
    async def save_dataset_as_csv(
        dataset_id: DatasetIdParam,
        encoding: Annotated[
            str, Field(max_length=SHORT_TEXT_CHARS, description="'utf-8', 'utf-8-sig' or 'cp932'")
        ] = "utf-8",
        on_unencodable: Annotated[
            Literal["error", "replace"],
            Field(description="cp932 only: 'error' refuses and lists the characters; 'replace' writes 〓 and reports"),
        ] = "error",
    ) -> CsvExport:
        return await in_worker_thread(save_dataset_as_csv_core, dataset_id, encoding, on_unencodable)

    @mcp.tool(
        name="transform_to_parquet",
        title="Save a dataset as Parquet",
        description=TO_PARQUET_DESCRIPTION,
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False
        ),
        structured_output=True,
    )
    async def transform_to_parquet(
        dataset_id: DatasetIdParam,
        compression: Annotated[
            str,
            Field(
                max_length=SHORT_TEXT_CHARS,
                description="'zstd' (default, smaller) or 'snappy' (faster, most compatible)",
            ),
        ] = "zstd",
    ) -> ParquetExport:
        return await in_worker_thread(transform_to_parquet_core, dataset_id, compression)

    @mcp.tool(
        name="download_csv_from_s3",
        title="Read a stored CSV, page by page",
        description=DOWNLOAD_CSV_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    async def download_csv_from_s3(
        uri: Annotated[
            str,
            Field(
                max_length=URI_CHARS,
                description="URI of a CSV in the store, e.g. s3://bucket/prefix/exports/<id>.csv",
            ),
        ],
        max_bytes: Annotated[
            int,
            Field(ge=1, le=TOOL_RESULT_BUDGET_BYTES, description="Bytes of the file to return in this page"),
        ] = DEFAULT_DOWNLOAD_BYTES,
        offset: Annotated[int, Field(ge=0, description="Byte offset to start at: 0, then next_offset")] = 0,
    ) -> CsvPage:
        return await in_worker_thread(download_csv_core, uri, max_bytes, offset)
