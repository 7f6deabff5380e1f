"""``search_estat_files``: e-Stat's data catalog (getDataCatalog), the files and databases of a survey.

A thin wrapper over :func:`estat_aws_mcp.estat.catalog.search_files`; the output model is the core's.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from estat_aws_mcp.estat.catalog import (
    DEFAULT_FILES_PER_DATASET,
    MAX_FILES_PER_DATASET,
    DataType,
    FileSearchResult,
)
from estat_aws_mcp.estat.search_models import MAX_RESULTS_LIMIT
from estat_aws_mcp.tools.errors import tool_errors
from estat_aws_mcp.tools.estat_search import (
    QueryParam,
    StatsCodeParam,
    StatsFieldParam,
    SurveyYearsParam,
    run_estat,
)
from estat_aws_mcp.tools.template import LangParam

FILES_DESCRIPTION = """Search e-Stat's data catalog for statistical FILES and databases (Excel, CSV, PDF, XML,
database pages): many statistics are published only as files, not as API tables. Returns catalog datasets
(a survey release: title, survey, organisation, survey date, landing page), each with its files (name,
table number, format, download URL, release / modification dates).

The query is read exactly as search_estat_data reads it (Japanese, spaces optional; filler words dropped;
a year named on its own becomes survey_years; keywords ANDed; compounds split when the whole finds
nothing). When nothing matches, suggestions list rewritten searches with real hit counts and `showing`
names the closest one whose datasets are listed. data_types narrows the formats (XLS, CSV, PDF, XML,
XLS_REP, DB). Use search_estat_data for API tables that can be fetched into the dataset store. Show the
`credit` notice with any e-Stat data."""


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="search_estat_files",
        title="Search e-Stat statistical files",
        description=FILES_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True),
        structured_output=True,
    )
    async def search_estat_files(
        query: QueryParam,
        data_types: Annotated[
            list[DataType] | None,
            Field(max_length=6, description="File formats to keep: XLS, CSV, PDF, XML, XLS_REP, DB (default all)"),
        ] = None,
        max_results: Annotated[
            int, Field(ge=1, le=MAX_RESULTS_LIMIT, description=f"Catalog datasets to return (1-{MAX_RESULTS_LIMIT})")
        ] = 10,
        files_per_dataset: Annotated[
            int, Field(ge=1, le=MAX_FILES_PER_DATASET, description="Files listed per dataset")
        ] = DEFAULT_FILES_PER_DATASET,
        survey_years: SurveyYearsParam = None,
        stats_field: StatsFieldParam = None,
        stats_code: StatsCodeParam = None,
        lang: LangParam = "J",
        auto_suggest: Annotated[
            bool, Field(description="On zero hits, count rewritten searches and show the closest one")
        ] = True,
    ) -> FileSearchResult:
        from estat_aws_mcp.estat.catalog import search_files
        from estat_aws_mcp.estat.search import validate_filters, validate_query

        with tool_errors():
            validate_query(query)
            filters = validate_filters(survey_years, stats_field, stats_code, None)

        async def run(client) -> FileSearchResult:
            return await search_files(
                client,
                query,
                filters,
                data_types=data_types,
                max_results=max_results,
                files_per_dataset=files_per_dataset,
                auto_suggest=auto_suggest,
                lang=lang,
            )

        return await run_estat(run)
