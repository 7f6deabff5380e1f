"""``python -m bench [name ...]``: run the named benchmarks (all of them by default).

Each benchmark is a module ``bench/<name>.py`` with ``main(argv: list[str]) -> int``; add yours to
:data:`BENCHMARKS`. Extra options go to one benchmark: ``python -m bench.fetch_complete --rows 200000``.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS: tuple[str, ...] = (
    "fetch_complete",
    "fetch_reuse",
    "pages_to_parquet",
    "awscli_latency",
    "estat_client",
    "sql_views_vs_arrow",
    "sql_memory_bomb",
    "chart_render",
    "lambda_dispatch",
)


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failures = 0
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        status = importlib.import_module(f"bench.{name}").main([])
        print(f"=== bench.{name}: exit {status} in {time.perf_counter() - started:.1f} s ===", flush=True)
        failures += status != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
