"""Benchmark (a): complete fetch of a 1,000,000-row table, concurrent vs sequential.

``python -m bench.fetch_complete [--rows 1000000] [--latency-ms 200] [--concurrency 4]``

The fake e-Stat runs in its own process (bench/fake_estat_server.py) and answers every request after
``--latency-ms``; a warm-up fetch renders its pages once. Then the same table is fetched into the
dataset store twice with the real engine (count, 100,000-row pages, integrity checks, streamed Parquet):
sequentially (concurrency 1) and concurrently. Prints both times, the client's CPU (and the part on the
event loop's thread, which receives every page), the ratio (target >= 3x) and whether
the two datasets are identical (SHA-256 of data.parquet, and Arrow table equality).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import tempfile
import time
from pathlib import Path

from bench.fake_estat_server import APP_ID, TABLE_ID, fake_estat_process

TARGET_RATIO = 3.0


async def fetch_once(base_url: str, store_dir: str, concurrency: int) -> tuple[float, float, float, str, int]:
    """(seconds, client CPU seconds, of which on the event loop's thread (receiving), data key, rows)."""
    from estat_aws_mcp.datasets.fetch import EstatClientSource, fetch_dataset, new_client
    from estat_aws_mcp.datasets.store import LocalObjectStore

    store = LocalObjectStore(store_dir)
    async with new_client(app_id=APP_ID, base_url=base_url, max_concurrency=max(concurrency, 1)) as client:
        started, cpu_started, loop_started = time.perf_counter(), time.process_time(), time.thread_time()
        result = await fetch_dataset(
            EstatClientSource(client), store, TABLE_ID, mode="complete", concurrency=concurrency
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        loop_cpu = time.thread_time() - loop_started
    return elapsed, cpu, loop_cpu, result.manifest.data_key, result.manifest.row_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=4, help="the server's default e-Stat limit is 4")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode, interleaved; the best is compared")
    args = parser.parse_args(argv)
    import pyarrow.parquet as pq

    print(
        f"complete fetch of {args.rows:,} rows ({-(-args.rows // 100_000)} pages), fake e-Stat in its own process, "
        f"{args.latency_ms:.0f} ms latency per request; best of {args.repeat} interleaved runs per mode; "
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    modes = {"sequential": 1, "concurrent": args.concurrency}
    best: dict[str, tuple[float, float, float]] = {}
    digests: dict[str, set[str]] = {label: set() for label in modes}
    rows_seen: set[int] = set()
    last_path: dict[str, Path] = {}
    with fake_estat_process(args.rows, args.latency_ms) as fake, tempfile.TemporaryDirectory() as tmp:
        base_url = fake.base_url
        asyncio.run(fetch_once(base_url, f"{tmp}/warmup", args.concurrency))  # renders the fake's pages once
        for attempt in range(args.repeat):
            for label, concurrency in modes.items():
                store_dir = f"{tmp}/{label}-{attempt}"
                elapsed, cpu, loop_cpu, data_key, rows = asyncio.run(fetch_once(base_url, store_dir, concurrency))
                digests[label].add(hashlib.sha256(Path(store_dir, data_key).read_bytes()).hexdigest())
                rows_seen.add(rows)
                if label not in best or elapsed < best[label][0]:
                    best[label] = (elapsed, cpu, loop_cpu)
                last_path[label] = Path(store_dir, data_key)
        identical = len(digests["sequential"] | digests["concurrent"]) == 1 and pq.read_table(
            last_path["sequential"]
        ).equals(pq.read_table(last_path["concurrent"]))
    for label, concurrency in modes.items():
        elapsed, cpu, loop_cpu = best[label]
        print(
            f"  {label:<10} concurrency {concurrency}: {elapsed:6.2f} s  {args.rows / elapsed:>10,.0f} rows/s  "
            f"client CPU {cpu:5.2f} s (event loop {loop_cpu:4.2f} s)  sha256 {next(iter(digests[label]))[:16]}"
        )
    ratio = best["sequential"][0] / best["concurrent"][0]
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  ratio sequential/concurrent: {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x: {verdict})")
    print(
        f"  outputs identical (all {2 * args.repeat} runs, SHA-256 and Arrow equality): {identical}; rows {sorted(rows_seen)}"
    )
    return 0 if identical and rows_seen == {args.rows} else 1


if __name__ == "__main__":
    raise SystemExit(main())
