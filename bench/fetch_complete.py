"""Benchmark (a): complete fetch of a 1,000,000-row table, concurrent vs sequential.

``python -m bench.fetch_complete [--rows 1000000] [--latency-ms 200] [--concurrency 4]``

The fake e-Stat runs in its own process (bench/fake_estat_server.py) and answers every request after
``--latency-ms``; a warm-up fetch renders its pages once. Then the same table is fetched into the
dataset store twice with the real engine (count, 100,000-row pages, integrity checks, streamed Parquet):
sequentially (concurrency 1) and concurrently. Prints both times, the ratio (target >= 3x) and whether
the two datasets are identical (SHA-256 of data.parquet, and Arrow table equality).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.fake_estat_server import APP_ID, TABLE_ID

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0


@contextlib.contextmanager
def fake_estat_process(rows: int, latency_ms: float) -> Iterator[str]:
    command = [sys.executable, "-m", "bench.fake_estat_server", "--rows", str(rows), "--latency-ms", str(latency_ms)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"fake e-Stat did not start (got {base_url!r})")
        yield base_url
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def fetch_once(base_url: str, store_dir: str, concurrency: int) -> tuple[float, float, str, int]:
    from estat_aws_mcp.datasets.fetch import EstatClientSource, fetch_dataset, new_client
    from estat_aws_mcp.datasets.store import LocalObjectStore

    store = LocalObjectStore(store_dir)
    async with new_client(app_id=APP_ID, base_url=base_url, max_concurrency=max(concurrency, 1)) as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await fetch_dataset(
            EstatClientSource(client), store, TABLE_ID, mode="complete", concurrency=concurrency
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return elapsed, cpu, result.manifest.data_key, result.manifest.row_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=4, help="the server's default e-Stat limit is 4")
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    print(
        f"complete fetch of {args.rows:,} rows ({-(-args.rows // 100_000)} pages), fake e-Stat in its own process, "
        f"{args.latency_ms:.0f} ms latency per request; machine: {os.cpu_count()} CPUs"
    )
    with fake_estat_process(args.rows, args.latency_ms) as base_url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(fetch_once(base_url, f"{tmp}/warmup", args.concurrency))  # renders the fake's pages once
        runs = {}
        for label, concurrency in (("sequential", 1), ("concurrent", args.concurrency)):
            elapsed, cpu, data_key, rows = asyncio.run(fetch_once(base_url, f"{tmp}/{label}", concurrency))
            path = Path(tmp, label, data_key)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            runs[label] = (elapsed, path, digest, rows)
            print(
                f"  {label:<10} concurrency {concurrency}: {elapsed:6.2f} s  {rows / elapsed:>10,.0f} rows/s  "
                f"client CPU {cpu:5.2f} s  rows {rows:,}  sha256 {digest[:16]}"
            )
        (seq, seq_path, seq_digest, seq_rows), (con, con_path, con_digest, con_rows) = runs.values()
        identical = seq_digest == con_digest and pq.read_table(seq_path).equals(pq.read_table(con_path))
        ratio = seq / con
    print(
        f"  ratio sequential/concurrent: {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})"
    )
    print(f"  outputs identical: {identical} (rows {seq_rows:,} / {con_rows:,})")
    return 0 if identical and seq_rows == con_rows == args.rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
