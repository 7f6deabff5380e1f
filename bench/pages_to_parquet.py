"""Benchmark (b): e-Stat JSON pages -> Parquet, rows/s and peak RSS, against a pandas baseline.

``python -m bench.pages_to_parquet [--rows 1000000]``

The pages are real getStatsData bodies (e-Stat's compact, \\u-escaped wire format) served by the fake
e-Stat for a SYNTHETIC 1,000,000-row table and saved to disk first. Each pipeline then runs in a
fresh process (so that its peak RSS is its own) and turns the saved bodies into one Parquet file:

- ``engine``: what a fetch does (VALUE array -> Arrow's CSV reader -> normalised batch -> streamed
  zstd Parquet through the store's atomic write), page by page with bounded memory;
- ``engine-arrow-json``: the same engine with Arrow's JSON reader instead of its CSV reader for the VALUE
  lines (what reads lines whose objects differ in keys);
- ``engine-json``: the same engine with ``json.loads`` instead of the fast path (its fallback);
- ``pandas``: ``json.loads`` + ``pandas.json_normalize`` per page, names joined with ``map``, values
  with ``to_numeric``, ``concat`` and ``to_parquet`` (zstd) - the usual notebook approach.

Targets: >= 500,000 rows/s and <= 1 GB peak RSS for ``engine`` at 1M rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE_ROWS = 100_000
TARGET_ROWS_PER_S = 500_000
TARGET_PEAK_BYTES = 1024**3
PIPELINES = ("engine", "engine-arrow-json", "engine-json", "pandas")


def save_pages(rows: int, directory: Path) -> None:
    """The table's getMetaInfo and getStatsData pages, as the fake e-Stat serves them over HTTP."""
    import httpx
    from tests.fakes.fake_estat import FakeEstat

    from bench.fake_estat_server import APP_ID, TABLE_ID, benchmark_axes

    fake = FakeEstat(app_id=APP_ID, fixtures_dir=None, page_cache_size=1)
    fake.add_generated_table(TABLE_ID, benchmark_axes(rows), row_limit=rows, catalog=False)
    with fake, httpx.Client(base_url=fake.base_url + "/json", timeout=120) as client:
        common = {"appId": APP_ID, "statsDataId": TABLE_ID}
        (directory / "meta.json").write_bytes(client.get("/getMetaInfo", params=common).content)
        for number, start in enumerate(range(1, rows + 1, PAGE_ROWS)):
            params = {**common, "startPosition": start, "limit": PAGE_ROWS, "metaGetFlg": "N"}
            (directory / f"page-{number:04d}.json").write_bytes(client.get("/getStatsData", params=params).content)


def run_engine(directory: Path, output: Path, fast: bool) -> int:
    from estat_aws_mcp.datasets.fetch import FetchedPage, convert_page
    from estat_aws_mcp.datasets.pages import split_value_array
    from estat_aws_mcp.datasets.schema import PageConverter, table_metadata
    from estat_aws_mcp.datasets.store import LocalObjectStore
    from estat_aws_mcp.datasets.writer import DatasetWriter
    from estat_aws_mcp.estat.normalize import normalize_meta_info, normalize_stats_data

    metadata = table_metadata("", normalize_meta_info(json.loads((directory / "meta.json").read_bytes())))
    converter = PageConverter(metadata)
    with DatasetWriter(LocalObjectStore(output), metadata) as writer:
        for path in sorted(directory.glob("page-*.json")):
            body = path.read_bytes()
            split = split_value_array(body) if fast else None
            if split is not None:
                envelope, lines = split
                page = FetchedPage(normalize_stats_data(json.loads(envelope)), lines)
            else:
                page = FetchedPage(normalize_stats_data(json.loads(body)))
            del body, split
            writer.write(convert_page(converter, page))
        writer.commit()
        return writer.row_count


def run_pandas(directory: Path, output: Path) -> int:
    import pandas as pd

    meta = json.loads((directory / "meta.json").read_bytes())
    classes = meta["GET_META_INFO"]["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"]
    names = {obj["@id"]: {item["@code"]: item["@name"] for item in obj["CLASS"]} for obj in classes}
    frames = []
    for path in sorted(directory.glob("page-*.json")):
        data_inf = json.loads(path.read_bytes())["GET_STATS_DATA"]["STATISTICAL_DATA"]["DATA_INF"]
        frame = pd.json_normalize(data_inf["VALUE"])
        notes = {note["@char"]: note["$"] for note in data_inf.get("NOTE", [])}
        for axis, labels in names.items():
            frame[f"{axis}_name"] = frame[f"@{axis}"].map(labels)
        frame["value"] = pd.to_numeric(frame["$"], errors="coerce")
        frame["note"] = frame["$"].map(notes)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    output.mkdir(parents=True, exist_ok=True)
    table.to_parquet(output / "pandas.parquet", compression="zstd", index=False)
    return len(table)


def warm_up(pipeline: str, directory: Path, output: Path) -> None:
    """Imports and first-call set-up (kernel registries, thread pools) are not throughput: pay them on
    a one-page table before the clock starts."""
    first = sorted(directory.glob("page-*.json"))[0]
    small = Path(output.parent, f"{output.name}-warm-up")
    small.mkdir(parents=True, exist_ok=True)
    (small / "meta.json").write_bytes((directory / "meta.json").read_bytes())
    body = json.loads(first.read_bytes())
    body["GET_STATS_DATA"]["STATISTICAL_DATA"]["DATA_INF"]["VALUE"] = body["GET_STATS_DATA"]["STATISTICAL_DATA"][
        "DATA_INF"
    ]["VALUE"][:1000]
    (small / "page-0000.json").write_bytes(json.dumps(body, separators=(",", ":")).encode())
    if pipeline == "pandas":
        run_pandas(small, small / "out")
    else:
        run_engine(small, small / "out", fast=pipeline != "engine-json")


def worker(pipeline: str, directory: Path, output: Path) -> None:
    if pipeline == "engine-arrow-json":  # this process only: the CSV reader declines every page
        import estat_aws_mcp.datasets.pages as pages

        pages.read_uniform_lines = lambda lines, known_keys: None
    warm_up(pipeline, directory, output)
    started, cpu_started = time.perf_counter(), time.process_time()
    if pipeline == "pandas":
        rows = run_pandas(directory, output)
    else:
        rows = run_engine(directory, output, fast=pipeline != "engine-json")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"rows": rows, "seconds": elapsed, "cpu_seconds": cpu, "peak_rss": peak_rss_bytes()}))


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM). Unlike getrusage's ru_maxrss, which survives exec and
    so would report the parent's peak, VmHWM belongs to this program's own address space."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux: best effort


def measure(pipeline: str, directory: Path, output: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.pages_to_parquet", "--worker", pipeline, "--pages", str(directory)]
    command += ["--output", str(output)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.pages, args.output)
        # Skip interpreter shutdown: pyarrow can abort there after threaded reads (apache/arrow#33975),
        # which would turn a finished measurement into a failed process.
        sys.stdout.flush()
        os._exit(0)

    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp, "pages")
        pages.mkdir()
        save_pages(args.rows, pages)
        size = sum(path.stat().st_size for path in pages.glob("page-*.json"))
        print(
            f"{args.rows:,} rows in {len(list(pages.glob('page-*.json')))} getStatsData pages ({size / 1e6:.0f} MB JSON); "
            f"each pipeline in a fresh process; machine: {os.cpu_count()} CPUs"
        )
        results = {pipeline: measure(pipeline, pages, Path(tmp, pipeline)) for pipeline in PIPELINES}
    for pipeline, result in results.items():
        print(
            f"  {pipeline:<17} {result['seconds']:6.2f} s  {result['rows'] / result['seconds']:>10,.0f} rows/s  "
            f"CPU {result['cpu_seconds']:5.2f} s  "
            f"peak RSS {result['peak_rss'] / 2**20:6.0f} MiB  rows {result['rows']:,}"
        )
    engine, pandas = results["engine"], results["pandas"]
    rate = engine["rows"] / engine["seconds"]
    print(
        f"  engine vs pandas: {pandas['seconds'] / engine['seconds']:.1f}x faster, "
        f"{pandas['peak_rss'] / engine['peak_rss']:.1f}x less peak memory"
    )
    for other in ("engine-arrow-json", "engine-json"):
        print(f"  engine vs {other}: {results[other]['seconds'] / engine['seconds']:.2f}x faster")
    print(
        f"  targets: >= {TARGET_ROWS_PER_S:,} rows/s: {'met' if rate >= TARGET_ROWS_PER_S else 'NOT met'}; "
        f"<= 1 GiB peak: {'met' if engine['peak_rss'] <= TARGET_PEAK_BYTES else 'NOT met'}"
    )
    return 0 if all(result["rows"] == args.rows for result in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
