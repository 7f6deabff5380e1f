"""Drawing: every kind renders a PNG of the requested size, Japanese text uses the bundled font (no
tofu), a prefecture map colours the 47 prefectures by value, and bad data is refused before drawing.

These tests feed QueryResult objects straight to the chart code (the SQL path is covered through MCP
sessions in test_chart_tool.py). Values are SYNTHETIC.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from PIL import Image

from estat_aws_mcp.charts.data import prepare
from estat_aws_mcp.charts.models import MAX_SERIES, ChartRequest
from estat_aws_mcp.charts.prefectures import prefecture_names, prefecture_number, prefecture_outlines
from estat_aws_mcp.charts.render import build_figure, font_path, render_png
from estat_aws_mcp.charts.vega import vega_lite_spec
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.sql.result import QueryResult, ResultColumn
from tests.charts.synthetic import YEARS, synthetic_value


def _result(columns: list[str], rows: list[list]) -> QueryResult:
    types = ["double" if isinstance(rows[0][i], float) else "varchar" for i in range(len(columns))] if rows else []
    return QueryResult(
        engine="duckdb",
        sql="SELECT …",
        columns=[ResultColumn(name=n, type=t) for n, t in zip(columns, types, strict=False)],
        rows=rows,
        row_count=len(rows),
        total_rows=len(rows),
    )


def prefectures_by_year() -> QueryResult:
    """47 prefectures × 10 years, with Japanese names (the benchmark's shape)."""
    names = prefecture_names()
    rows = [
        [f"{p:02d}000", names[p], f"{year}年", synthetic_value(0, p, y)]
        for p in range(1, 48)
        for y, year in enumerate(YEARS)
    ]
    return _result(["area_code", "area_name", "time_name", "value"], rows)


def one_year(result: QueryResult) -> QueryResult:
    return _result([c.name for c in result.columns], [r for r in result.rows if r[2] == "2024年"])


REQUESTS = {
    "line": ChartRequest(sql="", kind="line", x="time_name", y="value", series="area_name", title="人口の推移"),
    "bar": ChartRequest(sql="", kind="bar", x="area_name", y="value", title="都道府県別人口", unit="人"),
    "stacked_bar": ChartRequest(sql="", kind="stacked_bar", x="time_name", y="value", series="area_name"),
    "scatter": ChartRequest(sql="", kind="scatter", x="year", y="value", series="area_name"),
    "prefecture_map": ChartRequest(sql="", kind="prefecture_map", x="area_code", y="value", unit="人"),
}


def data_for(kind: str) -> QueryResult:
    full = prefectures_by_year()
    few = _result([c.name for c in full.columns], [r for r in full.rows if r[0] in ("01000", "13000", "47000")])
    if kind == "line" or kind == "stacked_bar":
        return few
    if kind == "scatter":
        return _result(["area_name", "year", "value"], [[r[1], float(r[2][:4]), r[3]] for r in few.rows])
    return one_year(full)


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_every_kind_renders_a_png_of_the_requested_size(kind: str) -> None:
    request = REQUESTS[kind]
    png = render_png(request, prepare(request, data_for(kind)))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (request.width, request.height)
    assert 10_000 < len(png) < 300_000
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # not a blank canvas


def _texts(figure) -> list:
    return [
        t for t in figure.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontproperties")) if t.get_text()
    ]


def _missing_glyphs(figure) -> list[str]:
    """Characters of the figure's texts that the font each text resolves to cannot draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    missing = []
    for text in _texts(figure):
        path = str.__str__(font_manager.findfont(text.get_fontproperties(), fallback_to_default=True))
        charmap = FT2Font(path).get_charmap()
        missing += [f"{ch!r} in {path}" for ch in text.get_text() if not ch.isspace() and ord(ch) not in charmap]
    return missing


@pytest.mark.parametrize("kind", ["line", "bar", "prefecture_map"])
def test_japanese_text_uses_the_bundled_font_and_no_glyph_is_tofu(kind: str) -> None:
    request = REQUESTS[kind]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = build_figure(request, prepare(request, data_for(kind)))
    texts = _texts(figure)
    japanese = [t.get_text() for t in texts if any(ord(ch) > 0x3000 for ch in t.get_text())]
    assert any("政府統計総合窓口" in t for t in japanese)  # the credit caption
    if kind != "prefecture_map":
        assert any("北海道" in t or "東京都" in t for t in japanese) or any("人口" in t for t in japanese)
    from matplotlib import font_manager

    bundled = font_path().resolve()
    for text in texts:
        used = Path(str.__str__(font_manager.findfont(text.get_fontproperties()))).resolve()
        assert used == bundled, text.get_text()
    assert _missing_glyphs(figure) == []
    assert not [w for w in caught if "missing from" in str(w.message)], [str(w.message) for w in caught]


def test_the_tofu_check_fails_when_the_japanese_font_is_missing() -> None:
    """The negative control: the same labels in a Latin-only font are caught as tofu."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": "DejaVu Sans"}), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = Figure(figsize=(4, 3))
        FigureCanvasAgg(figure)
        figure.add_subplot().set_title("都道府県別人口")
        figure.canvas.draw()
        missing = _missing_glyphs(figure)
    assert any("都" in m for m in missing)
    assert any("missing from" in str(w.message) for w in caught)


def test_the_map_colours_each_prefecture_by_its_value() -> None:
    """47 distinct values -> 47 distinct fill colours, sampled in the PNG inside each prefecture."""
    from matplotlib import colormaps

    request = REQUESTS["prefecture_map"]
    rows = [[f"{p:02d}000", 1000.0 + 100 * ((p * 13) % 47)] for p in range(1, 48)]  # 47 distinct values
    data = prepare(request, _result(["area_code", "value"], rows))
    figure = build_figure(request, data)
    png = render_png(request, data)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    ax = figure.axes[0]
    sampled = {}
    for number, outline in enumerate(prefecture_outlines(), start=1):
        inside = _interior_pixel(ax, outline)
        assert inside is not None, prefecture_names()[number]
        inside = (inside[0], request.height - inside[1])  # display y runs up, image rows run down
        sampled[number] = image.getpixel(inside)
    assert len(set(sampled.values())) == 47, sampled
    low_value, high_value = 1000.0, 1000.0 + 100 * 46
    for number, colour in sampled.items():
        share = (data.prefectures[number][0] - low_value) / (high_value - low_value)
        expected = [round(c * 255) for c in colormaps["viridis"](share)[:3]]
        assert all(abs(a - b) <= 3 for a, b in zip(colour, expected, strict=True)), (number, colour, expected)
    # the order of colours follows the order of values (viridis: darker = lower)
    low = min(data.prefectures, key=lambda n: data.prefectures[n][0])
    high = max(data.prefectures, key=lambda n: data.prefectures[n][0])
    assert sum(sampled[low]) < sum(sampled[high])


def _interior_pixel(ax, outline) -> tuple[int, int] | None:
    """A display pixel inside the drawn outline, as far from its edges as the shape allows (3, 2, 1 px)."""
    import numpy as np
    from matplotlib.path import Path

    pixels = ax.transData.transform([(x * 0.812, y) for x, y in outline])
    path = Path(pixels)
    (x0, y0), (x1, y1) = pixels.min(axis=0), pixels.max(axis=0)
    grid = np.array([(x, y) for x in range(int(x0), int(x1) + 1) for y in range(int(y0), int(y1) + 1)], float)
    centre = pixels.mean(axis=0)
    for margin in (3, 2, 1):
        ok = np.ones(len(grid), bool)
        for dx in (-margin, 0, margin):
            for dy in (-margin, 0, margin):
                ok &= path.contains_points(grid + np.array((dx, dy)))
        if ok.any():
            best = grid[ok][np.argmin(((grid[ok] - centre) ** 2).sum(axis=1))]
            return int(best[0]), int(best[1])
    return None


def test_prefecture_keys() -> None:
    assert prefecture_number("13000") == (13, None)
    assert prefecture_number("東京都") == (13, None) and prefecture_number("東京") == (13, None)
    assert prefecture_number(1000) == (1, None) and prefecture_number("47") == (47, None)
    assert prefecture_number("北海道") == (1, None)
    assert prefecture_number("０１０００") == (1, None)  # full-width digits (NFKC)
    assert prefecture_number("00000")[1] == "the national total (全国)"
    assert prefecture_number("全国")[1] == "the national total (全国)"
    assert prefecture_number("13101")[1] == "a municipality code"
    assert prefecture_number("千代田区")[1] == "a municipality name"
    assert len(prefecture_outlines()) == 47


# ------------------------------------------------------------------ refusals (no drawing)


def test_a_map_over_the_national_total_and_municipalities_is_refused_with_the_filter() -> None:
    rows = [["00000", 1.0], ["13000", 2.0], ["13101", 3.0]]
    with pytest.raises(InputError) as caught:
        prepare(REQUESTS["prefecture_map"], _result(["area_code", "value"], rows))
    message = str(caught.value)
    assert "'00000' (the national total (全国))" in message and "'13101' (a municipality code)" in message
    assert "area_level = '2'" in message


def test_too_many_series_are_refused() -> None:
    rows = [[f"s{i}", 1.0, float(i)] for i in range(10_000)]
    request = ChartRequest(sql="", kind="line", x="x", y="y", series="s")
    with pytest.raises(InputError) as caught:
        prepare(request, _result(["s", "x", "y"], rows))
    assert "10,000 series" in str(caught.value) and f"at most {MAX_SERIES}" in str(caught.value)


def test_unknown_columns_and_non_numeric_values_are_refused() -> None:
    result = prefectures_by_year()
    with pytest.raises(InputError, match="'populaton' is not in the query's result; its columns are: area_code"):
        prepare(ChartRequest(sql="", kind="line", x="time_name", y="populaton"), result)
    with pytest.raises(InputError, match="not numeric"):
        prepare(ChartRequest(sql="", kind="line", x="time_name", y="area_name"), result)


def test_several_values_for_one_point_are_refused() -> None:
    with pytest.raises(InputError, match="same x and series"):
        prepare(ChartRequest(sql="", kind="line", x="time_name", y="value"), prefectures_by_year())
    with pytest.raises(InputError, match="has 10 rows"):
        prepare(REQUESTS["prefecture_map"], prefectures_by_year())


def test_a_truncated_result_is_refused() -> None:
    result = prefectures_by_year()
    result.truncated, result.truncation_reason = True, "max_rows"
    with pytest.raises(InputError, match="more rows than a chart plots"):
        prepare(REQUESTS["line"], result)


# ------------------------------------------------------------------ Vega-Lite


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_vega_lite_spec_of_every_kind(kind: str) -> None:
    request = REQUESTS[kind]
    data = prepare(request, data_for(kind))
    spec = vega_lite_spec(request, data, "t")
    assert spec["$schema"].endswith("vega-lite/v5.json")
    assert "e-Stat" in spec["title"]["subtitle"]
    values = spec["data"]["values"]
    if kind == "prefecture_map":
        assert spec["mark"]["type"] == "geoshape" and len(values) == 47
        assert {f["properties"]["code"] for f in values} == {f"{i:02d}000" for i in range(1, 48)}
    else:
        assert len(values) == data.rows_plotted
        assert spec["encoding"]["y"]["field"] == "value"
    if kind == "stacked_bar":
        assert spec["encoding"]["y"]["stack"] == "zero"


def test_the_answer_stays_within_the_result_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec that would push the answer over the budget is refused with what to do; without it the chart fits."""
    import estat_aws_mcp.charts.core as core
    from estat_aws_mcp.charts.models import ChartSummary

    request = REQUESTS["line"]
    data = prepare(request, data_for("line"))
    png = render_png(request, data)
    summary = ChartSummary(
        kind="line", title="t", x="x", y="y", rows_plotted=30, rows_returned=30, series=[], width_px=1000,
        height_px=600, png_bytes=len(png), sql="SELECT 1", engine="duckdb",
        vega_lite=vega_lite_spec(request, data, "t"),
    )  # fmt: skip
    size = core.result_wire_bytes(core.wire_stand_in(png, summary))
    assert len(png) * 4 // 3 < size < core.TOOL_RESULT_BUDGET_BYTES
    core._check_budget(png, summary)  # fits
    monkeypatch.setattr(core, "TOOL_RESULT_BUDGET_BYTES", size - 1)
    with pytest.raises(InputError, match="without include_spec"):
        core._check_budget(png, summary)
    monkeypatch.setattr(core, "TOOL_RESULT_BUDGET_BYTES", len(png))
    with pytest.raises(InputError, match="smaller width/height"):
        core._check_budget(png, summary.model_copy(update={"vega_lite": None}))
