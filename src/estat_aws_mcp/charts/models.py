"""What a chart request says and what ``chart_dataset`` answers besides the image (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from estat_aws_mcp.estat.credit import CREDIT_NOTICE

ChartKind = Literal["line", "bar", "stacked_bar", "scatter", "prefecture_map"]
CHART_KINDS: tuple[str, ...] = ("line", "bar", "stacked_bar", "scatter", "prefecture_map")

#: Rows a chart may plot (the query is asked for one more, to tell "more" from "exactly this many").
MAX_POINTS = 10_000
#: Distinct values of the series column (lines, bar groups, stacks, scatter colours).
MAX_SERIES = 20
#: Distinct x values of a bar chart (each is a labelled bar or group of bars).
MAX_BAR_CATEGORIES = 200
#: Image size bounds in pixels (rendered at 100 dpi).
MIN_WIDTH_PX, MAX_WIDTH_PX, DEFAULT_WIDTH_PX = 400, 1600, 1000
MIN_HEIGHT_PX, MAX_HEIGHT_PX, DEFAULT_HEIGHT_PX = 300, 1200, 600
#: Largest PNG returned (base64 makes it a third larger on the wire; the rest of the result is small).
MAX_PNG_BYTES = 600 * 1024
#: Prefix of the credit shown in the image caption and in the text.
SOURCE_LINE = "出典：政府統計総合窓口(e-Stat)"


@dataclass(frozen=True)
class ChartRequest:
    """One chart: the SQL to run and how to draw its result."""

    sql: str
    kind: str
    x: str
    y: str
    series: str | None = None
    title: str | None = None
    x_label: str | None = None
    y_label: str | None = None
    unit: str | None = None
    width: int = DEFAULT_WIDTH_PX
    height: int = DEFAULT_HEIGHT_PX
    include_spec: bool = False
    dialect: str = "auto"


class SeriesSummary(BaseModel):
    name: str = Field(description="the series value (or the y column when there is no series column)")
    points: int
    y_min: float | None = None
    y_max: float | None = None


class ChartSummary(BaseModel):
    """What was drawn: the PNG is the image content of the same result."""

    kind: ChartKind
    title: str
    x: str = Field(description="column on the x axis (the area column for prefecture_map)")
    y: str = Field(description="column of the plotted values")
    series_column: str | None = None
    rows_plotted: int = Field(description="rows drawn (rows with a null y or x are skipped, see notices)")
    rows_returned: int = Field(description="rows the query returned")
    series: list[SeriesSummary] = Field(description="per series: points and value range")
    y_min: float | None = None
    y_max: float | None = None
    width_px: int
    height_px: int
    png_bytes: int
    sql: str = Field(description="the SQL the engine ran (after the guard and any transpilation)")
    engine: str
    notices: list[str] = Field(default_factory=list)
    vega_lite: dict[str, Any] | None = Field(
        default=None, description="the same chart as a Vega-Lite v5 spec (include_spec=true)"
    )
    credit: str = CREDIT_NOTICE
