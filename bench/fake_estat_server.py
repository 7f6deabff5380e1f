"""Serve the fake e-Stat (tests/fakes/fake_estat.py) in its own process for benchmarks.

``python -m bench.fake_estat_server --rows 1000000 --latency-ms 200`` prints the base URL on its first
line and serves until its stdin closes. The table (id :data:`TABLE_ID`) is SYNTHETIC. Its pages are
rendered once and then kept (``page_cache_size``), so a timed run measures the client and the
injected per-page latency, not the fake's own JSON rendering.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
    pages = -(-args.rows // 100_000)
    fake = FakeEstat(app_id=APP_ID, fixtures_dir=None, page_cache_size=pages + 4)
    fake.add_generated_table(TABLE_ID, benchmark_axes(args.rows), row_limit=args.rows, catalog=False)
    fake.set_latency(args.latency_ms / 1000.0)
    with fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()
