"""``describe_estat_table``: a table's metadata (getMetaInfo) before or after fetching it.

A thin wrapper over :func:`estat_aws_mcp.estat.describe.describe_table`; the output model is the core's.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from estat_aws_mcp.estat.describe import DEFAULT_MAX_ITEMS, MAX_ITEMS_LIMIT, TableDescription
from estat_aws_mcp.tools.errors import tool_errors
from estat_aws_mcp.tools.template import LangParam, StatsDataIdParam

DESCRIBE_DESCRIPTION = """Describe an e-Stat statistics table before (or after) fetching it: title, survey, cycle,
survey/updated dates, total rows, the table's explanation, the data's special characters (NOTE: ***, X, - ...
and their meaning), and every axis (tab, cat01..cat15, area, time) with its item count and items: code,
name, level, parent code, unit; time items also get time_start / time_end / time_granularity.

hierarchical_axes lists axes whose items nest (area: 全国 level 1 > 都道府県 level 2 > 市区町村): after a
fetch, aggregate ONE level (WHERE area_level = '2'), otherwise the national row and the prefectures are
summed together.

Huge axes are paged: each axis lists at most max_items items. To browse one axis, pass axis (e.g. 'area')
with search (a name substring such as 東京, or a code prefix such as 13), level ('2'), parent_code
('13000' = the municipalities of Tokyo) and offset (next_offset of the previous answer). Use the codes or
names with fetch_dataset_filtered. lang='E' returns English names where e-Stat has them."""


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="describe_estat_table",
        title="Describe an e-Stat table",
        description=DESCRIBE_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True),
        structured_output=True,
    )
    async def describe_estat_table(
        stats_data_id: StatsDataIdParam,
        lang: LangParam = "J",
        axis: Annotated[
            str | None,
            Field(max_length=8, description="List items of this axis only (tab, cat01..cat15, area, time)"),
        ] = None,
        search: Annotated[
            str | None,
            Field(max_length=100, description="Keep items whose name contains this or whose code starts with it"),
        ] = None,
        level: Annotated[str | None, Field(max_length=4, description="Keep items of this level, e.g. '2'")] = None,
        parent_code: Annotated[
            str | None, Field(max_length=32, description="Keep the children of this item code")
        ] = None,
        offset: Annotated[int, Field(ge=0, le=10_000_000, description="Skip this many matching items")] = 0,
        max_items: Annotated[
            int, Field(ge=1, le=MAX_ITEMS_LIMIT, description=f"Items listed per axis (default {DEFAULT_MAX_ITEMS})")
        ] = DEFAULT_MAX_ITEMS,
    ) -> TableDescription:
        from estat_aws_mcp.estat.client import EstatClient
        from estat_aws_mcp.estat.describe import describe_table

        with tool_errors():
            async with EstatClient() as client:
                return await describe_table(
                    client,
                    stats_data_id,
                    lang=lang,
                    axis=axis,
                    search=search,
                    level=level,
                    parent_code=parent_code,
                    offset=offset,
                    max_items=max_items,
                )
