"""Serve the fake e-Stat (tests/fakes/fake_estat.py) in its own process for benchmarks.

``python -m bench.fake_estat_server --rows 1000000 --latency-ms 200`` prints the base URL on its first
line and serves until its stdin closes. Each line ``counts`` on its stdin is answered with one JSON line of the
requests served so far (``{"getMetaInfo": n, "getStatsData": n, "pages": n}``, pages = data requests that
are not counts), so a benchmark can check how many requests a run made. The table (id :data:`TABLE_ID`) is SYNTHETIC. Its pages are
rendered once and then kept (``page_cache_size``), so a timed run measures the client and the
injected per-page latency, not the fake's own JSON rendering. Benchmarks start it with
:func:`fake_estat_process`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.fakes.fake_estat import Axis, FakeEstat

TABLE_ID = "0009990001"
APP_ID = "bench-app-id"
REPO_ROOT = Path(__file__).resolve().parent.parent


class FakeProcess:
    """A running fake e-Stat process: its base URL, and the requests it has served (:meth:`counts`)."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        self.process, self.base_url = process, base_url

    def counts(self) -> dict[str, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())


@contextlib.contextmanager
def fake_estat_process(rows: int, latency_ms: float, page_latency_ms: float = 0.0) -> Iterator[FakeProcess]:
    """This module run as a child process for the block (stopped by closing its stdin)."""
    command = [sys.executable, "-m", "bench.fake_estat_server", "--rows", str(rows), "--latency-ms", str(latency_ms)]
    command += ["--page-latency-ms", str(page_latency_ms)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"fake e-Stat did not start (got {base_url!r})")
        yield FakeProcess(process, base_url)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
