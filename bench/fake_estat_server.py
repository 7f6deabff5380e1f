"""Serve the fake e-Stat (tests/fakes/fake_estat.py) in its own process for benchmarks.

``python -m bench.fake_estat_server --rows 1000000 --latency-ms 200`` prints the base URL on its first
line and serves until its stdin closes. Each line ``counts`` on its stdin is answered with one JSON line of the
requests served so far (``{"getMetaInfo": n, "getStatsData": n, "pages": n}``, pages = data requests that
are not counts), so a benchmark can check how many requests a run made. The table (id :data:`TABLE_ID`) is SYNTHETIC. Its pages are
rendered once and then kept (``page_cache_size``), so a timed run measures the client and the
injected per-page latency, not the fake's own JSON rendering.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.fakes.fake_estat import Axis, FakeEstat

TABLE_ID = "0009990001"
APP_ID = "bench-app-id"


def benchmark_axes(rows: int) -> list[Axis]:
    """cat01 x area (48) x time (200 years): enough categories for ``rows`` rows."""
    areas, years = Axis.areas(47), Axis.years(1900, 2099)
    categories = max(1, -(-rows // (len(areas.items) * len(years.items))))
    return [Axis.numbered("cat01", "項目", categories, width=4, unit="人"), areas, years]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument(
        "--page-latency-ms", type=float, default=0.0, help="extra latency of each data page (not counts, not metadata)"
    )
    args = parser.parse_args(argv)
    pages = -(-args.rows // 100_000)
    fake = FakeEstat(app_id=APP_ID, fixtures_dir=None, page_cache_size=pages + 4)
    fake.add_generated_table(TABLE_ID, benchmark_axes(args.rows), row_limit=args.rows, catalog=False)
    base_s, page_s = args.latency_ms / 1000.0, args.page_latency_ms / 1000.0
    if page_s:
        fake.set_latency(
            lambda request: base_s + (page_s if request.endpoint == "getStatsData" and not request.is_count else 0)
        )
    else:
        fake.set_latency(base_s)
    with fake:
        print(fake.base_url, flush=True)
        for line in sys.stdin:  # until the parent closes our stdin
            if line.strip() == "counts":
                counts = {
                    "getMetaInfo": fake.count("getMetaInfo"),
                    "getStatsData": fake.count("getStatsData"),
                    "pages": sum(1 for r in list(fake.requests) if r.endpoint == "getStatsData" and not r.is_count),
                }
                print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
