"""Store management tools: ``list_datasets`` and ``delete_dataset``.

Thin wrappers over :mod:`estat_aws_mcp.datasets.inventory` (confined to the store: only validated
dataset ids become keys); the output models are the core's.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from estat_aws_mcp.datasets.inventory import MAX_LIST_LIMIT, DatasetList, DeleteResult
from estat_aws_mcp.tools.errors import in_worker_thread
from estat_aws_mcp.tools.template import STATS_DATA_ID_CHARS

LIST_DESCRIPTION = """List the datasets in the dataset store, newest first: dataset_id, e-Stat table id and
title, rows, bytes (data plus its CSV/Parquet exports), when it was fetched and e-Stat's UPDATED_DATE at
that time, and the keys of its exports. Filter by stats_data_id; page with offset/next_offset. Use a
dataset_id with the export, Iceberg and SQL tools, or read its manifest and schema as the MCP resource
estat://datasets/<dataset_id>. When the server has an age limit (ESTAT_MCP_DATASET_MAX_AGE_DAYS), older
datasets are deleted first and named in expired_deleted."""

DELETE_DESCRIPTION = """Delete one dataset from the dataset store: its data, manifest and every export made
from it (CSV, Parquet, cp932 substitution reports). Cannot be undone; a later fetch of the same table
downloads it again. Iceberg tables loaded from the dataset keep their own copy of the rows. Returns what
was removed and the bytes freed."""

DatasetIdParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="dataset_id returned by a fetch tool or list_datasets, e.g. '0003445078-1a2b3c4d5e6f'",
    ),
]


def _store_and_settings():
    from estat_aws_mcp.datasets.store import open_store
    from estat_aws_mcp.settings import get_settings

    settings = get_settings()
    return open_store(settings.storage_uri), settings


def list_datasets_core(stats_data_id: str | None, limit: int, offset: int) -> DatasetList:
    from estat_aws_mcp.datasets.fetch import normalise_stats_data_id
    from estat_aws_mcp.datasets.inventory import list_datasets

    store, settings = _store_and_settings()
    table = normalise_stats_data_id(stats_data_id) if stats_data_id else None
    return list_datasets(
        store, stats_data_id=table, limit=limit, offset=offset, max_age_days=settings.dataset_max_age_days
    )


def delete_dataset_core(dataset_id: str) -> DeleteResult:
    from estat_aws_mcp.datasets.inventory import delete_dataset

    store, _ = _store_and_settings()
    return delete_dataset(store, dataset_id)


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="list_datasets",
        title="List stored datasets",
        description=LIST_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    async def list_datasets(
        stats_data_id: Annotated[
            str | None, Field(max_length=STATS_DATA_ID_CHARS, description="Only datasets of this e-Stat table id")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT, description="Datasets per page (default 100)")] = 100,
        offset: Annotated[int, Field(ge=0, le=1_000_000, description="Skip this many: 0, then next_offset")] = 0,
    ) -> DatasetList:
        return await in_worker_thread(list_datasets_core, stats_data_id, limit, offset)

    @mcp.tool(
        name="delete_dataset",
        title="Delete a stored dataset",
        description=DELETE_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    async def delete_dataset(dataset_id: DatasetIdParam) -> DeleteResult:
        return await in_worker_thread(delete_dataset_core, dataset_id)
