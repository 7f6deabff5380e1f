"""Benchmark: the e-Stat client path and the fake e-Stat, measured in one run.

``python -m bench.estat_client [--rows 100000] [--repeat 3]``

Prints, for one SYNTHETIC getStatsData page of ``--rows`` rows served by the fake e-Stat on 127.0.0.1:

1. the fake's first (uncached) render of the page, in rows/s (the fetch tests need a 100k-row page
   in well under a second);
2. ``EstatClient.get_stats_data`` (HTTP + json + normalise) on the cached page, rows/s;
3. the columnar helpers (``value_columns`` + ``split_values``) against the per-row helper
   (``iter_value_rows``) on the same rows: rows/s each and the ratio;
4. opening a client with the process-wide TLS context against building a new context each time
   (what ``httpx.AsyncClient()`` does by default): ms per client and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

APP_ID = "bench-client-app-id"
TABLE_ID = "0009990002"


def _best(samples: list[float]) -> float:
    return min(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from tests.fakes.fake_estat import Axis, FakeEstat

    from estat_aws_mcp.estat.client import EstatClient, _shared_ssl_context
    from estat_aws_mcp.estat.normalize import iter_value_rows, split_values, value_columns

    areas, years = Axis.areas(47), Axis.years(1900, 2099)
    categories = max(1, -(-args.rows // (len(areas.items) * len(years.items))))
    fake = FakeEstat(app_id=APP_ID, fixtures_dir=None, page_cache_size=2)
    fake.add_generated_table(
        TABLE_ID, [Axis.numbered("cat01", "項目", categories, width=4, unit="人"), areas, years],
        row_limit=args.rows, catalog=False,
    )  # fmt: skip
    params = {"startPosition": 1, "limit": min(args.rows, 100_000), "metaGetFlg": "N"}

    with fake:
        query = {"appId": APP_ID, "statsDataId": TABLE_ID, **{k: str(v) for k, v in params.items()}}
        started = time.perf_counter()
        body = httpx.get(f"{fake.base_url}/json/getStatsData", params=query, timeout=120).content
        render_s = time.perf_counter() - started
        rows = params["limit"]
        print(f"fake render (uncached): {rows:,} rows, {len(body) / 1e6:.1f} MB in {render_s:.3f} s "
              f"= {rows / render_s:,.0f} rows/s")  # fmt: skip

        async def fetch_page():
            async with EstatClient(app_id=APP_ID, base_url=fake.base_url) as client:
                return await client.get_stats_data(TABLE_ID, **params)

        fetch_times, page = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            page = asyncio.run(fetch_page())
            fetch_times.append(time.perf_counter() - started)
        assert page is not None and len(page["values"]) == rows
        print(f"client get_stats_data (cached page): best {_best(fetch_times):.3f} s "
              f"= {rows / _best(fetch_times):,.0f} rows/s")  # fmt: skip

    values, notes = page["values"], page["notes"]
    columnar, per_row = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        columns = value_columns(values)
        numbers, markers = split_values(columns["value"], notes)
        columnar.append(time.perf_counter() - started)
        started = time.perf_counter()
        friendly = list(iter_value_rows(values, notes))
        per_row.append(time.perf_counter() - started)
    assert len(numbers) == len(friendly) == rows and markers.count(None) < rows
    ratio = _best(per_row) / _best(columnar)
    print(f"columnar helpers: {rows / _best(columnar):,.0f} rows/s; per-row helper: {rows / _best(per_row):,.0f} "
          f"rows/s; columnar is {ratio:.1f}x faster")  # fmt: skip

    import ssl

    import certifi

    opens = 20
    shared, fresh = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for _ in range(opens):
            httpx.AsyncHTTPTransport(verify=_shared_ssl_context())
        shared.append((time.perf_counter() - started) / opens)
        started = time.perf_counter()
        for _ in range(opens):
            httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=certifi.where()))
        fresh.append((time.perf_counter() - started) / opens)
    print(f"opening a client: shared TLS context {statistics.median(shared) * 1e6:.0f} µs, fresh context "
          f"{statistics.median(fresh) * 1000:.1f} ms; shared is {statistics.median(fresh) / statistics.median(shared):.0f}x "
          "cheaper")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
