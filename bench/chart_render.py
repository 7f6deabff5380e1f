"""Chart rendering: time per chart kind for 47 prefectures × 10 years, and the cold start with and without
the chart tool.

    python -m bench.chart_render [--runs 5] [--cold-runs 5]

Each kind is drawn from the same SYNTHETIC result (tests/charts/synthetic.py): 47 prefectures × 10 years,
470 rows. line / bar / stacked_bar put the prefectures on x and the years as 10 series; scatter plots the
470 (year, value) points; prefecture_map maps one year's 47 values. The first drawing (matplotlib import,
font registration) is reported apart; then the median of ``--runs`` drawings and the PNG size. The cold
start is the Lambda init phase (import the handler and build it, fresh interpreter each time), median of
``--cold-runs`` (interleaved), with every tool module and without ``charts``, in the same run; matplotlib must
not be imported either way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

HEAVY = ("matplotlib", "japanmap", "PIL", "numpy", "pyarrow", "duckdb")

COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import estat_aws_mcp.tools.server as server
if sys.argv[1] == "without":
    server.TOOL_MODULES = tuple(m for m in server.TOOL_MODULES if m != "charts")
import estat_aws_mcp.lambda_handler as h
h.get_function_url_handler()
print(json.dumps([time.perf_counter() - t0, [m for m in sys.argv[2].split(",") if m in sys.modules]]))
"""


def _result():
    from tests.charts.synthetic import YEARS, synthetic_value

    from estat_aws_mcp.charts.prefectures import prefecture_names
    from estat_aws_mcp.sql.result import QueryResult, ResultColumn

    names = prefecture_names()
    rows = [
        [f"{p:02d}000", names[p], f"{year}年", float(year), synthetic_value(0, p, y)]
        for p in range(1, 48)
        for y, year in enumerate(YEARS)
    ]
    columns = [("area_code", "varchar"), ("area_name", "varchar"), ("time_name", "varchar"), ("year", "double")]
    columns.append(("value", "double"))
    return QueryResult(
        engine="duckdb",
        sql="SELECT …",
        columns=[ResultColumn(name=n, type=t) for n, t in columns],
        rows=rows,
        row_count=len(rows),
        total_rows=len(rows),
    )


def _cases():
    from estat_aws_mcp.charts.models import ChartRequest
    from estat_aws_mcp.sql.result import QueryResult

    full = _result()
    last = QueryResult(**{**full.model_dump(), "rows": [r for r in full.rows if r[2] == "2024年"]})
    return {
        "line": (ChartRequest(sql="", kind="line", x="area_name", y="value", series="time_name"), full),
        "bar": (ChartRequest(sql="", kind="bar", x="area_name", y="value", series="time_name"), full),
        "stacked_bar": (ChartRequest(sql="", kind="stacked_bar", x="area_name", y="value", series="time_name"), full),
        "scatter": (ChartRequest(sql="", kind="scatter", x="year", y="value"), full),
        "prefecture_map": (ChartRequest(sql="", kind="prefecture_map", x="area_code", y="value"), last),
    }


def _cold(runs: int) -> dict[str, tuple[float, list[str]]]:
    """Median cold start with and without the chart tool; the two are interleaved so that the machine's
    load changes both alike."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    times: dict[str, list[float]] = {"with": [], "without": []}
    loaded: dict[str, set[str]] = {"with": set(), "without": set()}
    for _ in range(runs):
        for mode in ("with", "without"):
            out = subprocess.run(
                [sys.executable, "-c", COLD, mode, ",".join(HEAVY)], capture_output=True, text=True, check=True, env=env
            )
            seconds, modules = json.loads(out.stdout.strip().splitlines()[-1])
            times[mode].append(seconds)
            loaded[mode].update(modules)
    return {mode: (statistics.median(times[mode]), sorted(loaded[mode])) for mode in times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=7)
    args = parser.parse_args(argv)
    from estat_aws_mcp.charts.data import prepare
    from estat_aws_mcp.charts.render import render_png

    ok = True
    print("Chart rendering, 47 prefectures x 10 years (470 rows; the map: 47), PNG 1000 x 600 px:")
    first = None
    for kind, (request, result) in _cases().items():
        started = time.perf_counter()
        data = prepare(request, result)
        png = render_png(request, data)
        if first is None:
            first = time.perf_counter() - started
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            png = render_png(request, prepare(request, result))
            times.append(time.perf_counter() - started)
        print(
            f"  {kind:15s} median {statistics.median(times) * 1000:7.0f} ms  (min {min(times) * 1000:5.0f} ms, "
            f"n={args.runs})  PNG {len(png) / 1024:6.1f} KB  {data.rows_plotted} points"
        )
        ok &= 20 * 1024 < len(png) < 300 * 1024
    print(f"  first drawing in the process (imports matplotlib, registers the font): {first * 1000:.0f} ms")
    cold = _cold(args.cold_runs)
    (with_s, with_heavy), (without_s, without_heavy) = cold["with"], cold["without"]
    print(
        f"Cold start (import + build the Lambda handler, median of {args.cold_runs}): with chart_dataset "
        f"{with_s:.2f} s, without {without_s:.2f} s, ratio {with_s / without_s:.2f}; heavy modules imported: "
        f"{with_heavy or 'none'} / {without_heavy or 'none'}"
    )
    # The absolute figure follows the machine's load (bench/README.md: target 2.0 s on a quiet machine);
    # what this benchmark checks is that the chart tool adds nothing heavy to it.
    ok &= not with_heavy and with_s / without_s <= 1.15
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
