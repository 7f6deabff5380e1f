"""The same chart as a Vega-Lite v5 spec, for clients and notebooks that draw interactively.

The spec carries its data inline (the plotted points; for a map, each prefecture's simplified outline
from ``japanmap`` as GeoJSON with its code, name and value) and the e-Stat credit as the subtitle.
"""

from __future__ import annotations

from typing import Any

from estat_aws_mcp.charts.data import PlotData
from estat_aws_mcp.charts.models import SOURCE_LINE, ChartRequest
from estat_aws_mcp.charts.prefectures import prefecture_names, prefecture_outlines
from estat_aws_mcp.estat.credit import CREDIT_NOTICE

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def vega_lite_spec(request: ChartRequest, data: PlotData, title: str) -> dict[str, Any]:
    value_title = request.y_label or data.y
    if request.unit:
        value_title += f"（{request.unit}）"
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": {"text": title, "subtitle": f"{SOURCE_LINE}　{CREDIT_NOTICE}", "anchor": "start"},
        "width": request.width - 160,
        "height": request.height - 140,
    }
    if data.kind == "prefecture_map":
        features = []
        for number, outline in enumerate(prefecture_outlines(rough=True), start=1):
            value = data.prefectures.get(number)
            ring = [[round(x, 4), round(y, 4)] for x, y in outline]
            if ring[0] != ring[-1]:
                ring.append(ring[0])
            features.append(
                {
                    "type": "Feature",
                    # japanmap's outlines run clockwise; GeoJSON (d3) wants exterior rings counter-clockwise
                    "geometry": {"type": "Polygon", "coordinates": [ring[::-1]]},
                    "properties": {
                        "code": f"{number:02d}000",
                        "name": prefecture_names()[number],
                        "value": None if value is None else value[0],
                    },
                }
            )
        spec.update(
            data={"values": features},
            projection={"type": "mercator"},
            mark={"type": "geoshape", "stroke": "white", "strokeWidth": 0.5},
            encoding={
                "color": {
                    "field": "properties.value",
                    "type": "quantitative",
                    "title": value_title,
                    "scale": {"scheme": "viridis"},
                },
                "tooltip": [
                    {"field": "properties.name", "title": "都道府県"},
                    {"field": "properties.code", "title": "code"},
                    {"field": "properties.value", "title": value_title, "format": ","},
                ],
            },
        )
        return spec

    rows = []
    for name, points in data.points.items():
        for x, y in points:
            row = {data.x: x, data.y: y}
            if data.series_column:
                row[data.series_column] = name
            rows.append(row)
    numeric_x = data.x_categories is None
    x_enc: dict[str, Any] = {
        "field": data.x,
        "type": "quantitative" if numeric_x else "ordinal",
        "title": request.x_label or data.x,
    }
    if not numeric_x:
        x_enc["sort"] = [str(c) if not isinstance(c, int | float) else c for c in data.x_categories or []]
    y_enc: dict[str, Any] = {"field": data.y, "type": "quantitative", "title": value_title}
    encoding: dict[str, Any] = {"x": x_enc, "y": y_enc, "tooltip": [{"field": data.x}, {"field": data.y}]}
    if data.series_column:
        encoding["color"] = {"field": data.series_column, "type": "nominal", "sort": list(data.points)}
        encoding["tooltip"].append({"field": data.series_column})
    mark: dict[str, Any]
    if data.kind == "line":
        mark = {"type": "line", "point": data.rows_plotted <= 400}
    elif data.kind == "scatter":
        mark = {"type": "point", "filled": True}
    else:
        mark = {"type": "bar"}
        if data.kind == "stacked_bar":
            y_enc["stack"] = "zero"
        elif data.series_column:
            y_enc["stack"] = None
            encoding["xOffset"] = {"field": data.series_column, "sort": list(data.points)}
    spec.update(data={"values": rows}, mark=mark, encoding=encoding)
    return spec
