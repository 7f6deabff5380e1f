"""Chart tool: ``chart_dataset`` renders a read-only SQL query's result as a PNG image.

The query goes through the same guard, engine, time limit and memory limit as ``analyze_with_athena``;
querying, checking and drawing run in a worker thread (:func:`in_worker_thread`), off the event loop.
The answer is an MCP image (PNG) plus a text summary with the e-Stat credit notice, and the summary as
structured content (:class:`~estat_aws_mcp.charts.models.ChartSummary`).
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from estat_aws_mcp.charts.models import (
    DEFAULT_HEIGHT_PX,
    DEFAULT_WIDTH_PX,
    MAX_BAR_CATEGORIES,
    MAX_HEIGHT_PX,
    MAX_POINTS,
    MAX_SERIES,
    MAX_WIDTH_PX,
    MIN_HEIGHT_PX,
    MIN_WIDTH_PX,
    SOURCE_LINE,
    ChartRequest,
    ChartSummary,
)
from estat_aws_mcp.tools.analytics import MAX_SQL_CHARS
from estat_aws_mcp.tools.errors import in_worker_thread
from estat_aws_mcp.tools.template import NAME_CHARS, SHORT_TEXT_CHARS

#: Column names (a result column or alias).
COLUMN_CHARS = 128

CHART_DESCRIPTION = (
    "Draw a chart of ONE read-only SQL query over tables loaded with load_to_iceberg and return it as a PNG image "
    "(plus a short summary and the e-Stat credit notice, which must be shown with the chart). The SQL goes through "
    "the same guard, engine, time and memory limits as analyze_with_athena. kind: 'line' (x in query order or "
    "numeric; one line per series value), 'bar' (grouped by series), 'stacked_bar', 'scatter' (numeric x and y), "
    "'prefecture_map' (a choropleth of the 47 prefectures: x = an area code 01000…47000 or a prefecture name, "
    "y = the value; one row per prefecture — filter prefecture rows with WHERE area_level = '2', not 全国 or "
    "municipalities). x, y and series name result columns; aggregate in SQL so that each (x, series) has one "
    f"row. At most {MAX_POINTS:,} points, {MAX_SERIES} series and {MAX_BAR_CATEGORIES} bars. Japanese text is "
    "supported. include_spec=true also returns a Vega-Lite spec of the same chart."
)


def _summary_text(summary: ChartSummary) -> str:
    lines = [
        f"{summary.title} — {summary.kind}, {summary.rows_plotted:,} point(s) of {summary.rows_returned:,} row(s), "
        f"{len(summary.series)} series; {summary.y} from {summary.y_min:,.6g} to {summary.y_max:,.6g}",
        f"x: {summary.x}, y: {summary.y}" + (f", series: {summary.series_column}" if summary.series_column else ""),
        f"SQL ({summary.engine}): {summary.sql}",
    ]
    lines += [f"note: {notice}" for notice in summary.notices]
    if summary.vega_lite is not None:
        lines.append("Vega-Lite spec: in the structured result (vega_lite)")
    lines.append(f"{SOURCE_LINE}: {summary.credit}")
    return "\n".join(lines)


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="chart_dataset",
        title="Chart a query result (PNG)",
        description=CHART_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False),
        structured_output=True,
    )
    async def chart_dataset(
        sql: Annotated[str, Field(max_length=MAX_SQL_CHARS, description="one read-only query whose result is plotted")],
        kind: Annotated[
            Literal["line", "bar", "stacked_bar", "scatter", "prefecture_map"], Field(description="chart kind")
        ],
        x: Annotated[
            str,
            Field(
                max_length=COLUMN_CHARS,
                description="result column on the x axis (prefecture_map: the area code or prefecture name column)",
            ),
        ],
        y: Annotated[str, Field(max_length=COLUMN_CHARS, description="result column of the (numeric) values")],
        series: Annotated[
            str | None,
            Field(max_length=COLUMN_CHARS, description="result column whose values make separate lines/bars/colours"),
        ] = None,
        title: Annotated[str | None, Field(max_length=NAME_CHARS, description="chart title")] = None,
        x_label: Annotated[str | None, Field(max_length=NAME_CHARS, description="x axis label")] = None,
        y_label: Annotated[str | None, Field(max_length=NAME_CHARS, description="value axis label")] = None,
        unit: Annotated[
            str | None, Field(max_length=SHORT_TEXT_CHARS, description="unit of the values, e.g. 人, 千円, %")
        ] = None,
        width: Annotated[
            int, Field(ge=MIN_WIDTH_PX, le=MAX_WIDTH_PX, description="image width in pixels")
        ] = DEFAULT_WIDTH_PX,
        height: Annotated[
            int, Field(ge=MIN_HEIGHT_PX, le=MAX_HEIGHT_PX, description="image height in pixels")
        ] = DEFAULT_HEIGHT_PX,
        include_spec: Annotated[
            bool, Field(description="also return a Vega-Lite v5 spec of the same chart (data inline)")
        ] = False,
        dialect: Annotated[
            Literal["auto", "duckdb", "trino"],
            Field(description="how to read the SQL: auto tries DuckDB, then Trino"),
        ] = "auto",
    ) -> Annotated[CallToolResult, ChartSummary]:
        from estat_aws_mcp.charts.core import chart_dataset as draw
        from estat_aws_mcp.settings import get_settings
        from estat_aws_mcp.sql import query_deadline

        settings = get_settings()
        deadline = query_deadline(settings.sql_timeout_s)  # taken in the request's context (Lambda deadline)
        request = ChartRequest(
            sql=sql,
            kind=kind,
            x=x,
            y=y,
            series=series,
            title=title,
            x_label=x_label,
            y_label=y_label,
            unit=unit,
            width=width,
            height=height,
            include_spec=include_spec,
            dialect=dialect,
        )
        chart = await in_worker_thread(draw, settings, request, deadline=deadline)
        return CallToolResult(
            content=[
                ImageContent(type="image", data=base64.b64encode(chart.png).decode("ascii"), mimeType="image/png"),
                TextContent(type="text", text=_summary_text(chart.summary)),
            ],
            structuredContent=chart.summary.model_dump(mode="json"),
        )
