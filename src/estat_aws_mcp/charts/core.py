"""``chart_dataset``: run the query (same guard, engine, time and memory limits as analyze_with_athena),
check and arrange its rows, draw the PNG and describe what was drawn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from estat_aws_mcp.charts.models import (
    CHART_KINDS,
    MAX_HEIGHT_PX,
    MAX_PNG_BYTES,
    MAX_POINTS,
    MAX_WIDTH_PX,
    MIN_HEIGHT_PX,
    MIN_WIDTH_PX,
    ChartRequest,
    ChartSummary,
    SeriesSummary,
)
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES, result_wire_bytes
from estat_aws_mcp.settings import Settings


@dataclass(frozen=True)
class RenderedChart:
    png: bytes
    summary: ChartSummary


def _check(request: ChartRequest) -> None:
    if request.kind not in CHART_KINDS:
        raise InputError(f"kind must be one of {', '.join(CHART_KINDS)}")
    if not (MIN_WIDTH_PX <= request.width <= MAX_WIDTH_PX and MIN_HEIGHT_PX <= request.height <= MAX_HEIGHT_PX):
        raise InputError(
            f"width must be {MIN_WIDTH_PX}–{MAX_WIDTH_PX} px and height {MIN_HEIGHT_PX}–{MAX_HEIGHT_PX} px"
        )


def chart_dataset(settings: Settings, request: ChartRequest, *, deadline: float | None = None) -> RenderedChart:
    """Run ``request.sql`` and draw its result; blocking (call it from a worker thread)."""
    from estat_aws_mcp.charts.data import prepare
    from estat_aws_mcp.charts.render import render_png, title_of
    from estat_aws_mcp.sql import get_engine

    _check(request)
    result = get_engine(settings).execute(request.sql, max_rows=MAX_POINTS, deadline=deadline, dialect=request.dialect)
    data = prepare(request, result)
    png = render_png(request, data)
    if len(png) > MAX_PNG_BYTES:  # also bounded below, with everything else, by the result budget
        raise InputError(
            f"the chart image would be {len(png) // 1024} KB (at most {MAX_PNG_BYTES // 1024} KB): use a smaller "
            "width/height or plot fewer points"
        )
    title = title_of(request, data)
    spec = None
    if request.include_spec:
        from estat_aws_mcp.charts.vega import vega_lite_spec

        spec = vega_lite_spec(request, data, title)
    values = data.values()
    if data.kind == "prefecture_map":
        series = [SeriesSummary(name=data.y, points=len(values), y_min=min(values), y_max=max(values))]
    else:
        series = [
            SeriesSummary(
                name=name or data.y,
                points=len(points),
                y_min=min(y for _, y in points),
                y_max=max(y for _, y in points),
            )
            for name, points in data.points.items()
        ]
    summary = ChartSummary(
        kind=request.kind,  # type: ignore[arg-type]
        title=title,
        x=data.x,
        y=data.y,
        series_column=data.series_column,
        rows_plotted=data.rows_plotted,
        rows_returned=data.rows_returned,
        series=series,
        y_min=min(values),
        y_max=max(values),
        width_px=request.width,
        height_px=request.height,
        png_bytes=len(png),
        sql=result.sql,
        engine=result.engine,
        notices=[*result.notices, *data.notices, *_extremes(data)],
        vega_lite=spec,
    )
    _check_budget(png, summary)
    return RenderedChart(png=png, summary=summary)


def wire_stand_in(png: bytes, summary: ChartSummary) -> Any:
    """A ``CallToolResult`` as large as the tool's answer, to measure with
    :func:`~estat_aws_mcp.limits.result_wire_bytes`: the PNG in base64, the structured summary, and a
    text copy (the same facts without the spec: its SQL and notices and about 2 KB of figures)."""
    import base64

    from mcp import types

    text = "\n".join([summary.sql, *summary.notices, " " * 2048])
    return types.CallToolResult(
        content=[
            types.ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mimeType="image/png"),
            types.TextContent(type="text", text=text),
        ],
        structuredContent=summary.model_dump(mode="json"),
    )


def _check_budget(png: bytes, summary: ChartSummary) -> None:
    size = result_wire_bytes(wire_stand_in(png, summary))
    if size <= TOOL_RESULT_BUDGET_BYTES:
        return
    if summary.vega_lite is not None:
        raise InputError(
            f"the answer with the Vega-Lite spec would be {size // 1024} KB (at most "
            f"{TOOL_RESULT_BUDGET_BYTES // 1024} KB): ask without include_spec, or plot fewer points"
        )
    raise InputError(
        f"the answer would be {size // 1024} KB (at most {TOOL_RESULT_BUDGET_BYTES // 1024} KB): use a smaller "
        "width/height or a shorter SQL text"
    )


def _extremes(data) -> list[str]:
    """For a map: the highest and lowest prefectures, as a reader of the map would want them named."""
    if data.kind != "prefecture_map" or not data.prefectures:
        return []
    from estat_aws_mcp.charts.prefectures import prefecture_names

    ranked = sorted(data.prefectures.items(), key=lambda item: item[1][0])
    low, high = ranked[0], ranked[-1]
    names = prefecture_names()
    return [f"highest: {names[high[0]]} {high[1][0]:,.6g}; lowest: {names[low[0]]} {low[1][0]:,.6g}"]
