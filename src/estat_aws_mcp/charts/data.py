"""From a query result to what a chart plots: columns checked, caps applied, one value per point.

Every refusal is an :class:`~estat_aws_mcp.errors.InputError` that says what to change in the SQL or
the chart spec; nothing is drawn then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from estat_aws_mcp.charts.models import MAX_BAR_CATEGORIES, MAX_POINTS, MAX_SERIES, ChartRequest
from estat_aws_mcp.charts.prefectures import FILTER_HINT, NUM_PREFECTURES, prefecture_names, prefecture_number
from estat_aws_mcp.errors import InputError, quote_prefix
from estat_aws_mcp.sql.result import QueryResult

#: Values quoted in one error message.
_SHOWN = 5


@dataclass
class PlotData:
    """Rows ready to draw: ``points[series] = [(x, y), …]`` in the query's order."""

    kind: str
    x: str
    y: str
    series_column: str | None
    points: dict[str, list[tuple[Any, float]]]
    x_categories: list[Any] | None  # categorical x (strings) in first-seen order; None for a numeric x
    rows_returned: int
    notices: list[str] = field(default_factory=list)
    # prefecture_map: JIS number -> (value, the key as the query gave it)
    prefectures: dict[int, tuple[float, Any]] = field(default_factory=dict)

    @property
    def rows_plotted(self) -> int:
        if self.kind == "prefecture_map":
            return len(self.prefectures)
        return sum(len(p) for p in self.points.values())

    def values(self) -> list[float]:
        if self.kind == "prefecture_map":
            return [v for v, _ in self.prefectures.values()]
        return [y for pts in self.points.values() for _, y in pts]


def _column_index(result: QueryResult, name: str, role: str) -> int:
    names = [c.name for c in result.columns]
    for i, column in enumerate(names):
        if column == name:
            return i
    folded = [i for i, column in enumerate(names) if column.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise InputError(
        f"{role} column {quote_prefix(name)} is not in the query's result; its columns are: "
        f"{', '.join(names[:40])}{' …' if len(names) > 40 else ''}. Name a result column (or alias one in the SQL)"
    )


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    return None


def _not_numeric(result: QueryResult, index: int, role: str, sample: Any) -> InputError:
    column = result.columns[index]
    return InputError(
        f"{role} column {quote_prefix(column.name)} is not numeric (type {column.type}, e.g. {quote_prefix(sample)}); "
        "plot a numeric column, or CAST it in the SQL (e.g. CAST(value AS DOUBLE))"
    )


def prepare(request: ChartRequest, result: QueryResult) -> PlotData:
    """Check the result against the request and arrange it for drawing."""
    if result.truncated:
        reason = "the response size budget" if result.truncation_reason == "byte_budget" else f"{MAX_POINTS:,} rows"
        raise InputError(
            f"the query returned more rows than a chart plots (cut at {reason}; a chart takes at most "
            f"{MAX_POINTS:,} points): aggregate (GROUP BY), filter (WHERE) or select only the plotted columns"
        )
    if not result.rows:
        raise InputError("the query returned no rows: nothing to plot (check the WHERE conditions)")
    xi = _column_index(result, request.x, "x")
    yi = _column_index(result, request.y, "y")
    si = _column_index(result, request.series, "series") if request.series else None
    x_name, y_name = result.columns[xi].name, result.columns[yi].name
    series_name = result.columns[si].name if si is not None else None

    notices: list[str] = []
    skipped_y = 0
    for row in result.rows:
        if row[yi] is not None and not isinstance(row[yi], int | float):
            raise _not_numeric(result, yi, "y", row[yi])

    if request.kind == "prefecture_map":
        if si is not None:
            raise InputError(
                "prefecture_map draws one value per prefecture and takes no series column; filter one "
                "category or time in the SQL (WHERE …) and chart the others separately"
            )
        return _prepare_map(result, xi, yi, x_name, y_name)

    numeric_x = request.kind == "scatter" or all(
        isinstance(row[xi], int | float) and not isinstance(row[xi], bool) for row in result.rows if row[xi] is not None
    )
    if request.kind == "scatter":
        for row in result.rows:
            if row[xi] is not None and _number(row[xi]) is None:
                raise _not_numeric(result, xi, "x", row[xi])
    if request.kind in ("bar", "stacked_bar"):
        numeric_x = False  # bars are categories, even for numeric x (years)

    points: dict[str, list[tuple[Any, float]]] = {}
    categories: dict[Any, None] = {}
    seen: set[tuple[Any, str]] = set()
    skipped_x = 0
    for row in result.rows:
        y = _number(row[yi])
        if y is None:
            skipped_y += 1
            continue
        x = row[xi]
        if x is None:
            skipped_x += 1
            continue
        key = "" if si is None else ("(null)" if row[si] is None else str(row[si]))
        if request.kind != "scatter":
            if (x, key) in seen:
                where = f"x={quote_prefix(x)}" + (f", {series_name}={quote_prefix(key)}" if si is not None else "")
                raise InputError(
                    f"several rows have the same x and series ({where}): a {request.kind.replace('_', ' ')} chart "
                    "draws one value per point; aggregate in the SQL (GROUP BY … with sum/avg), filter one "
                    "category (WHERE …), or name the distinguishing column as the series"
                )
            seen.add((x, key))
        if key not in points:
            if len(points) >= MAX_SERIES:
                distinct = len({"" if row2[si] is None else str(row2[si]) for row2 in result.rows})
                raise InputError(
                    f"{distinct:,} series (distinct values of {quote_prefix(series_name)}) are more than a chart can "
                    f"show (at most {MAX_SERIES}); filter them (WHERE {series_name} IN (…), or one level: "
                    f"WHERE area_level = '2'), or keep the largest (ORDER BY … LIMIT) and chart the rest separately"
                )
            points[key] = []
        points[key].append((float(x) if numeric_x else x, y))
        if not numeric_x:
            categories.setdefault(x, None)
    if request.kind in ("bar", "stacked_bar") and len(categories) > MAX_BAR_CATEGORIES:
        raise InputError(
            f"{len(categories):,} distinct x values are more bars than a chart can label (at most "
            f"{MAX_BAR_CATEGORIES}); aggregate or filter in the SQL, or use kind='line'"
        )
    if skipped_y:
        notices.append(f"{skipped_y} row(s) with a null or non-finite {y_name} were not plotted (e-Stat markers)")
    if skipped_x:
        notices.append(f"{skipped_x} row(s) with a null {x_name} were not plotted")
    if not points:
        raise InputError(f"every row has a null {y_name} or {x_name}: nothing to plot")
    if numeric_x:
        for pts in points.values():
            pts.sort(key=lambda p: p[0])
    return PlotData(
        kind=request.kind,
        x=x_name,
        y=y_name,
        series_column=series_name,
        points=points,
        x_categories=None if numeric_x else list(categories),
        rows_returned=len(result.rows),
        notices=notices,
    )


def _prepare_map(result: QueryResult, xi: int, yi: int, x_name: str, y_name: str) -> PlotData:
    refused: dict[str, str] = {}
    values: dict[int, tuple[float, Any]] = {}
    rows_per: dict[int, int] = {}
    nulls: set[int] = set()
    for row in result.rows:
        number, why = prefecture_number(row[xi])
        if number is None:
            refused.setdefault(str(row[xi]), why or "not a prefecture")
            continue
        rows_per[number] = rows_per.get(number, 0) + 1
        y = _number(row[yi])
        if y is None:
            nulls.add(number)
        else:
            values.setdefault(number, (y, row[xi]))
    if refused:
        shown = "; ".join(f"{quote_prefix(key)} ({why})" for key, why in list(refused.items())[:_SHOWN])
        more = f" and {len(refused) - _SHOWN} more" if len(refused) > _SHOWN else ""
        raise InputError(
            f"prefecture_map draws Japan's {NUM_PREFECTURES} prefectures, keyed by e-Stat area code (01000…47000) "
            f"or name; {len(refused)} value(s) of {quote_prefix(x_name)} are not prefectures: {shown}{more}. "
            f"{FILTER_HINT[0].upper()}{FILTER_HINT[1:]}"
        )
    repeated = {n: c for n, c in rows_per.items() if c > 1}
    if repeated:
        number, count = next(iter(repeated.items()))
        raise InputError(
            f"{prefecture_names()[number]} has {count} rows: a map shows one value per prefecture; filter one "
            "time and category (WHERE time_code = … AND cat01_code = …) or aggregate (GROUP BY area_code)"
        )
    notices = []
    if nulls:
        notices.append(f"{len(nulls)} prefecture(s) with a null {y_name} are drawn as 'no data'")
    missing = NUM_PREFECTURES - len(rows_per)
    if missing > 0:
        notices.append(f"{missing} prefecture(s) have no row and are drawn as 'no data'")
    if not values:
        raise InputError(f"every prefecture has a null {y_name}: nothing to map")
    return PlotData(
        kind="prefecture_map",
        x=x_name,
        y=y_name,
        series_column=None,
        points={},
        x_categories=None,
        rows_returned=len(result.rows),
        notices=notices,
        prefectures=values,
    )
