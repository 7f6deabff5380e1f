"""Local SQL: DuckDB views over the Iceberg snapshot's Parquet files vs pyiceberg's Arrow scan.

    python -m bench.sql_views_vs_arrow [--rows 2000000] [--repeat 3]

Why the DuckDB engine reads an Iceberg table through views over its data files (the default) and
keeps pyiceberg's in-memory Arrow scan only as a fallback: one run builds a local store with a
table of ``--rows`` synthetic rows (loaded as several appends, like repeated loads), then runs the
same aggregate in two fresh processes, one per way, and prints each way's best time and peak RSS
and the ratios arrow/views. Both ways must return identical rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

QUERY = (
    "SELECT area_name, time_code, sum(value) AS total, count(*) AS n "
    "FROM population GROUP BY area_name, time_code ORDER BY area_name, time_code"
)
AXES = ("tab", "cat01", "cat02", "area", "time")
CHUNK_ROWS = 250_000

# Runs in a child process so that each way's peak RSS is its own.
CHILD = r"""
import json, sys, time
mode, repeat, query = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from estat_aws_mcp.settings import get_settings
settings = get_settings()
import duckdb, pyarrow, pyiceberg.catalog.sql, estat_aws_mcp.sql.duckdb_engine  # imports out of the measure
def rss(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) / 1024
base_mb = rss("VmRSS:")
best = float("inf")
for _ in range(repeat):
    started = time.perf_counter()
    if mode == "views":
        from estat_aws_mcp.sql.duckdb_engine import DuckDBEngine
        rows = DuckDBEngine(settings).execute(query, max_rows=10_000).rows
    else:
        import duckdb
        from estat_aws_mcp.datasets.iceberg import open_catalog
        table = open_catalog(settings).catalog.load_table("estat.population").scan().to_arrow()
        con = duckdb.connect(":memory:")
        con.register("population", table)
        rows = [list(r) for r in con.execute(query).fetchall()]
        del table, con
    best = min(best, time.perf_counter() - started)
# VmHWM: this process image's peak RSS (ru_maxrss would carry the parent's peak across exec).
peak_mb = rss("VmHWM:")
digest = [[r[0], r[1], round(r[2], 6) if r[2] is not None else None, r[3]] for r in rows]
print(json.dumps({"seconds": best, "peak_rss_mb": peak_mb, "query_mb": peak_mb - base_mb, "rows": digest}))
"""


def _build(store_root: str, rows: int) -> None:
    from tests.datasets.conftest import synthetic_rows, write_dataset

    from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg
    from estat_aws_mcp.datasets.store import LocalObjectStore
    from estat_aws_mcp.settings import get_settings

    store = LocalObjectStore(store_root)
    settings = get_settings()
    chunk = min(rows, CHUNK_ROWS)
    manifest = write_dataset(store, synthetic_rows(chunk, AXES), AXES)
    loaded = 0
    while loaded < rows:
        load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
        loaded += chunk


def _child(mode: str, repeat: int, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(repeat), QUERY],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-sql-") as tmp:
        store_root = os.path.join(tmp, "store")
        os.environ["ESTAT_MCP_STORAGE_URI"] = store_root
        started = time.perf_counter()
        _build(store_root, args.rows)
        rows = ((args.rows + CHUNK_ROWS - 1) // CHUNK_ROWS) * min(args.rows, CHUNK_ROWS)
        print(f"table: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        env = {**os.environ, "ESTAT_MCP_STORAGE_URI": store_root, "PYTHONPATH": str(REPO_ROOT)}
        views = _child("views", args.repeat, env)
        arrow = _child("arrow", args.repeat, env)

    same = views["rows"] == arrow["rows"]
    print(f"query: {QUERY}")
    for name, result in (("views over Parquet files", views), ("pyiceberg Arrow scan", arrow)):
        print(
            f"  {name:26s} best {result['seconds'] * 1000:8.1f} ms   peak RSS {result['peak_rss_mb']:7.1f} MB"
            f" ({result['query_mb']:+7.1f} MB above the imports)"
        )
    print(
        f"  arrow/views: time x{arrow['seconds'] / views['seconds']:.2f}, "
        f"memory above imports x{arrow['query_mb'] / max(views['query_mb'], 1.0):.2f}"
    )
    print(f"  identical results: {same} ({len(views['rows'])} groups)")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
