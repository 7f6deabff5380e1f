"""Drawing a chart with matplotlib (Agg, no pyplot) and the bundled Japanese font.

Japanese text (titles, labels, legends, prefecture names) is set in IPAexGothic, shipped inside the
``matplotlib-fontja`` package and registered from its file, so no host font is ever needed or used.
matplotlib keeps process-wide state (the font manager, rcParams), so drawing is serialised by a lock;
the tool calls this from a worker thread, off the event loop. Nothing here is imported until a chart
is drawn.
"""

from __future__ import annotations

import importlib.util
import io
import textwrap
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from estat_aws_mcp.charts.data import PlotData
from estat_aws_mcp.charts.models import SOURCE_LINE, ChartRequest
from estat_aws_mcp.estat.credit import CREDIT_NOTICE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
FONT_FAMILY = "IPAexGothic"
#: Series colours (matplotlib's tab10, then tab20's lighter half): distinguishable up to MAX_SERIES.
_MAP_CMAP = "viridis"
_NO_DATA_COLOUR = "#d9d9d9"
# Longitude is shortened by cos(36°) so Japan keeps its shape (as japanmap's own SVG does).
_MAP_X_SCALE = 0.812

_lock = threading.Lock()
_font_ready = False


def font_path() -> Path:
    """The IPAexGothic TrueType file inside the ``matplotlib-fontja`` package (not imported: its import
    would change matplotlib's global font settings)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the matplotlib-fontja package (the bundled Japanese font) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    if not path.is_file():
        raise RuntimeError(f"the bundled Japanese font is missing: {path}")
    return path


def _ensure_font() -> None:
    global _font_ready
    if not _font_ready:
        from matplotlib import font_manager

        font_manager.fontManager.addfont(str(font_path()))
        _font_ready = True


def _rc() -> dict[str, Any]:
    return {
        "font.family": FONT_FAMILY,
        "axes.unicode_minus": False,  # IPAexGothic has no U+2212; a hyphen-minus is drawn instead
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "svg.fonttype": "none",
    }


def render_png(request: ChartRequest, data: PlotData) -> bytes:
    """The chart as PNG bytes of exactly ``request.width`` × ``request.height`` pixels."""
    with _lock:
        import matplotlib

        _ensure_font()
        with matplotlib.rc_context(_rc()):
            figure = _build(request, data)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def build_figure(request: ChartRequest, data: PlotData) -> Figure:
    """The matplotlib figure, drawn once (for tests that inspect texts and fonts)."""
    with _lock:
        import matplotlib

        _ensure_font()
        with matplotlib.rc_context(_rc()):
            figure = _build(request, data)
            figure.canvas.draw()
    return figure


def title_of(request: ChartRequest, data: PlotData) -> str:
    if request.title:
        return request.title
    if data.kind == "prefecture_map":
        return f"{data.y}（都道府県別）"
    return f"{data.y} / {data.x}" + (f"（{data.series_column}別）" if data.series_column else "")


def _value_label(request: ChartRequest, data: PlotData) -> str:
    label = request.y_label or data.y
    return f"{label}（{request.unit}）" if request.unit else label


def _build(request: ChartRequest, data: PlotData) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width_in, height_in = request.width / DPI, request.height / DPI
    base = max(8.0, min(12.0, request.width / 95))
    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)

    caption = _caption(request.width, base * 0.7)
    caption_lines = caption.count("\n") + 1
    caption_h = (caption_lines * base * 0.7 * 1.45 + 8) / 72 / height_in
    figure.get_layout_engine().set(rect=(0, caption_h, 1, 1 - caption_h))
    figure.text(0.01, 0.008, caption, fontsize=base * 0.7, color="#555555", ha="left", va="bottom")

    ax = figure.add_subplot()
    ax.set_title(title_of(request, data), fontsize=base * 1.3, loc="left", pad=base)
    if data.kind == "prefecture_map":
        _draw_map(figure, ax, request, data, base)
    else:
        _draw_xy(ax, request, data, base)
    return figure


def _caption(width_px: int, size_pt: float) -> str:
    chars_per_line = max(20, int((width_px - 20) / (size_pt * DPI / 72 * 1.02)))
    return "\n".join(textwrap.wrap(f"{SOURCE_LINE}　{CREDIT_NOTICE}", chars_per_line))


def _number_formatter(values: list[float]):
    from matplotlib.ticker import FuncFormatter

    largest = max((abs(v) for v in values), default=0.0)

    def fmt(value: float, _pos: int | None = None) -> str:
        if largest >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.6g}"

    return FuncFormatter(fmt)


def _series_colours(count: int) -> list[Any]:
    from matplotlib import colormaps

    tab10 = list(colormaps["tab10"].colors)
    tab20 = list(colormaps["tab20"].colors)
    return (tab10 + tab20[1::2])[:count]


def _draw_xy(ax, request: ChartRequest, data: PlotData, base: float) -> None:
    names = list(data.points)
    colours = _series_colours(len(names))
    categories = data.x_categories
    position = {value: i for i, value in enumerate(categories)} if categories is not None else None
    many_points = data.rows_plotted > 80 * max(1, len(names))

    if data.kind == "line":
        for name, colour in zip(names, colours, strict=True):
            xs = [position[x] if position is not None else x for x, _ in data.points[name]]
            ys = [y for _, y in data.points[name]]
            marker = None if many_points or len(xs) > 60 else "o"
            ax.plot(xs, ys, color=colour, marker=marker, markersize=3.5, linewidth=1.8, label=name or data.y)
    elif data.kind == "scatter":
        for name, colour in zip(names, colours, strict=True):
            ax.scatter(
                [x for x, _ in data.points[name]],
                [y for _, y in data.points[name]],
                color=colour,
                s=18,
                alpha=0.8,
                label=name or data.y,
                edgecolors="none",
            )
    else:
        assert position is not None
        n = len(names)
        stacked = data.kind == "stacked_bar"
        width = 0.8 if stacked or n == 1 else 0.8 / n
        from matplotlib.collections import PolyCollection

        positive = [0.0] * len(position)
        negative = [0.0] * len(position)
        tops: list[float] = []
        lows: list[float] = []
        for k, (name, colour) in enumerate(zip(names, colours, strict=True)):
            heights = [0.0] * len(position)
            present = [False] * len(position)
            for x, y in data.points[name]:
                heights[position[x]] = y
                present[position[x]] = True
            if stacked:
                bottoms = [positive[i] if h >= 0 else negative[i] for i, h in enumerate(heights)]
                for i, h in enumerate(heights):
                    if h >= 0:
                        positive[i] += h
                    else:
                        negative[i] += h
                xs = list(range(len(position)))
            else:
                bottoms = [0.0] * len(position)
                xs = [i - 0.4 + width * (k + 0.5) for i in range(len(position))]
            # One PolyCollection per series: matplotlib's ax.bar adds a patch per bar (slow for hundreds).
            rects = [
                [
                    (xs[i] - width / 2, bottoms[i]),
                    (xs[i] - width / 2, bottoms[i] + heights[i]),
                    (xs[i] + width / 2, bottoms[i] + heights[i]),
                    (xs[i] + width / 2, bottoms[i]),
                ]
                for i in range(len(position))
                if present[i]
            ]
            ax.add_collection(
                PolyCollection(
                    rects,
                    facecolors=[colour],
                    edgecolors="white" if stacked else "none",
                    linewidths=0.4 if stacked else 0,
                    label=name or data.y,
                )
            )
            tops += [b + h for b, h, p in zip(bottoms, heights, present, strict=True) if p]
            lows += [min(b, b + h) for b, h, p in zip(bottoms, heights, present, strict=True) if p]
        top, low = max([*tops, 0.0]), min([*lows, 0.0])
        span = (top - low) or 1.0
        ax.set_ylim(low - (0.05 * span if low < 0 else 0.0), top + 0.05 * span)
        ax.grid(axis="x", visible=False)
        ax.axhline(0, color="#333333", linewidth=0.8)

    if categories is not None:
        _categorical_ticks(ax, categories, request.width, base, every=data.kind != "line" and len(categories) <= 80)
    ax.yaxis.set_major_formatter(_number_formatter(data.values()))
    if data.kind == "scatter":
        ax.xaxis.set_major_formatter(_number_formatter([x for pts in data.points.values() for x, _ in pts]))
    ax.set_xlabel(request.x_label or data.x, fontsize=base)
    ax.set_ylabel(_value_label(request, data), fontsize=base)
    ax.tick_params(labelsize=base * 0.85)
    if len(names) > 1 or data.series_column:
        outside = len(names) > 6
        ax.legend(
            title=data.series_column,
            fontsize=base * 0.8,
            title_fontsize=base * 0.85,
            frameon=False,
            loc="upper left" if outside else "best",
            bbox_to_anchor=(1.01, 1.0) if outside else None,
            ncols=2 if len(names) > 14 else 1,
        )


def _categorical_ticks(ax, categories: list[Any], width_px: int, base: float, *, every: bool) -> None:
    """Category labels: every bar labelled (turned upright when crowded); a line's labels thinned."""
    labels = [str(c) for c in categories]
    longest = max((len(label) for label in labels), default=1)
    room = max(4, int(width_px / max(28.0, base * 1.1 * min(longest, 12))))
    step = 1 if every else max(1, -(-len(labels) // room))
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    if len(ticks) * min(longest, 12) * base * 1.2 > width_px * 0.85:
        upright = every and len(ticks) > room
        for label in ax.get_xticklabels():
            label.set_rotation(90 if upright else (60 if longest > 4 else 45))
            label.set_horizontalalignment("center" if upright else "right")
            label.set_rotation_mode("default" if upright else "anchor")
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _draw_map(figure, ax, request: ChartRequest, data: PlotData, base: float) -> None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch

    from estat_aws_mcp.charts.prefectures import prefecture_outlines

    outlines = prefecture_outlines()
    values = [v for v, _ in data.prefectures.values()]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 0.5, high + 0.5
    norm = Normalize(vmin=low, vmax=high)
    cmap = colormaps[_MAP_CMAP]
    with_data, colours, without = [], [], []
    for number, outline in enumerate(outlines, start=1):
        scaled = [(x * _MAP_X_SCALE, y) for x, y in outline]
        if number in data.prefectures:
            with_data.append(scaled)
            colours.append(cmap(norm(data.prefectures[number][0])))
        else:
            without.append(scaled)
    ax.add_collection(PolyCollection(with_data, facecolors=colours, edgecolors="white", linewidths=0.5))
    if without:
        ax.add_collection(
            PolyCollection(without, facecolors=_NO_DATA_COLOUR, edgecolors="white", linewidths=0.5, hatch="///")
        )
        ax.legend(
            handles=[Patch(facecolor=_NO_DATA_COLOUR, hatch="///", label="データなし (no data)")],
            loc="lower right",
            fontsize=base * 0.8,
            frameon=False,
        )
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_axis_off()
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8, pad=0.02)
    # horizontal, above the scale: Japanese reads badly turned on its side
    bar.ax.set_title(_value_label(request, data), fontsize=base * 0.9, loc="left", pad=base * 0.6)
    bar.ax.tick_params(labelsize=base * 0.8)
    bar.ax.yaxis.set_major_formatter(_number_formatter(values))
