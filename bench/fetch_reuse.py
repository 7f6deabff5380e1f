"""Benchmark: a repeated complete fetch of an unchanged 1,000,000-row table answers from the store.

``python -m bench.fetch_reuse [--rows 1000000] [--latency-ms 200] [--page-latency-ms 1000] [--repeat 3]``

The fake e-Stat runs in its own process (bench/fake_estat_server.py, SYNTHETIC table) and answers every
request after ``--latency-ms``, and each 100,000-row data page after ``--page-latency-ms`` more: a real
e-Stat page is tens of MB of JSON and takes seconds, a getMetaInfo answer is small (``--page-latency-ms 0``
gives every request the same latency). A warm-up fetch into another store renders the fake's pages once.
Then the table is fetched through the tool layer (``fetch_large_dataset_complete``'s body, into a fresh
local store): once, downloading every page, then ``--repeat`` more times unchanged, which reuse the
stored dataset (one getMetaInfo request each). The fake counts the requests it served.
Prints the times, the ratio first/slowest repeat (target >= 10x) and the page requests of the repeats
(target: 0); a final ``refresh=true`` fetch shows that the pages are downloaded again on request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from bench.fake_estat_server import APP_ID, TABLE_ID, fake_estat_process

TARGET_RATIO = 10.0


def timed_fetch(refresh: bool = False) -> tuple[float, Any]:
    from estat_aws_mcp.tools.dataset_fetch import run_fetch

    started = time.perf_counter()
    result = asyncio.run(run_fetch("complete", TABLE_ID, refresh=refresh))
    return time.perf_counter() - started, result


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--page-latency-ms", type=float, default=1000.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"complete fetch of {args.rows:,} rows, then {args.repeat} repeats of the unchanged table; fake e-Stat in its "
        f"own process, {args.latency_ms:.0f} ms latency per request, {args.page_latency_ms:.0f} ms more per data page; machine: {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    saved = {key: os.environ.get(key) for key in ("ESTAT_API_BASE_URL", "ESTAT_APP_ID", "ESTAT_MCP_STORAGE_URI")}
    with (
        fake_estat_process(args.rows, args.latency_ms, args.page_latency_ms) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(ESTAT_API_BASE_URL=fake.base_url, ESTAT_APP_ID=APP_ID, ESTAT_MCP_STORAGE_URI=f"{tmp}/warmup")
        try:
            timed_fetch()  # renders the fake's pages once
            os.environ["ESTAT_MCP_STORAGE_URI"] = f"{tmp}/store"
            before = fake.counts()
            first_s, first = timed_fetch()
            first_counts = delta(fake.counts(), before)
            repeats: list[tuple[float, Any, dict[str, int]]] = []
            for _ in range(args.repeat):
                before = fake.counts()
                elapsed, result = timed_fetch()
                repeats.append((elapsed, result, delta(fake.counts(), before)))
            before = fake.counts()
            refresh_s, refreshed = timed_fetch(refresh=True)
            refresh_counts = delta(fake.counts(), before)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    print(f"  first fetch:    {first_s:7.3f} s  rows {first.row_count:,}  requests {first_counts}")
    for index, (elapsed, result, counts) in enumerate(repeats, 1):
        print(f"  repeat {index}:       {elapsed:7.3f} s  reused={result.reused}  requests {counts}")
    print(f"  refresh=true:   {refresh_s:7.3f} s  reused={refreshed.reused}  requests {refresh_counts}")
    slowest = max(elapsed for elapsed, _, _ in repeats)
    ratio = first_s / slowest
    pages = sum(counts["pages"] for _, _, counts in repeats)
    same = all(result.dataset_id == first.dataset_id and result.reused for _, result, _ in repeats)
    verdict = "met" if ratio >= TARGET_RATIO and pages == 0 else "NOT met"
    print(
        f"  ratio first/slowest repeat: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x), page requests in repeats: "
        f"{pages} (target 0): {verdict}; repeats returned the first dataset: {same}"
    )
    return 0 if same and pages == 0 and first.row_count == args.rows and not refreshed.reused else 1


if __name__ == "__main__":
    raise SystemExit(main())
