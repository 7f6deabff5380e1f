# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""The fetch engine against the fake e-Stat (a real HTTP server on 127.0.0.1).

Generated tables are SYNTHETIC (tests/fakes/fake_estat.py); the census table 0003445078 is served
from recordings #13 (metadata) and #14 (its 42 rows).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from estat_aws_mcp.datasets.fetch import (
    EstatClientSource,
    FetchIntegrityError,
    PageOrderLanes,
    PageRequest,
    fetch_dataset,
    fetch_in_order,
    gather_or_cancel,
    new_client,
    normalise_stats_data_id,
    plan_pages,
)
from estat_aws_mcp.datasets.filters import FilterError
from estat_aws_mcp.datasets.manifest import load_manifest
from estat_aws_mcp.datasets.store import LocalObjectStore, ObjectStore
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.estat.client import EstatClient
from tests.datasets.conftest import read_parquet
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import (
    DEFAULT_NOTES,
    PARTIAL_MESSAGE,
    Axis,
    FakeEstat,
    FakeResponse,
    GeneratedTable,
    envelope,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTE_MEANINGS = {note["@char"]: note["$"] for note in DEFAULT_NOTES}
BIG_ID = "0009100001"


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


def big_table(rows: int = 250_001) -> GeneratedTable:
    """SYNTHETIC: cat01 (209) x area (48) x time (25) = 250,800 rows, cut to ``rows``."""
    return GeneratedTable(
        BIG_ID,
        [Axis.numbered("cat01", "項目", 209, width=4, unit="人"), Axis.areas(47), Axis.years(2000, 2024)],
        row_limit=rows,
    )


async def fetch(fake: FakeEstat, store: ObjectStore, stats_data_id: str, *, fast: bool = True, **options: Any):
    """Through the fast page path (VALUE array to Arrow) by default, or the plain client (dict path)."""
    make = new_client if fast else EstatClient
    async with make(backoff_initial_s=0.05, backoff_max_s=0.2) as client:
        return await fetch_dataset(EstatClientSource(client), store, stats_data_id, **options)


def read_rows(store: ObjectStore, data_key: str) -> list[dict[str, Any]]:
    with store.open_read(data_key) as fh:
        return read_parquet(fh).to_pylist()


def assert_matches_source(
    rows: list[dict[str, Any]], table: GeneratedTable, params: dict[str, str] | None = None
) -> None:
    """Every source row exactly once, in e-Stat order, with its raw value, number and note."""
    axes = [axis.id for axis in table.axes]
    expected = list(table.rows(params))
    assert len(rows) == len(expected)
    names = {axis.id: {item.code: item.name for item in axis.items} for axis in table.axes}
    for got, want in zip(rows, expected, strict=True):
        assert [got[f"{axis}_code"] for axis in axes] == [want[f"@{axis}"] for axis in axes]
        assert [got[f"{axis}_name"] for axis in axes] == [names[axis][want[f"@{axis}"]] for axis in axes]
        raw = want["$"]
        assert got["value_raw"] == raw
        if raw in NOTE_MEANINGS:
            assert got["value"] is None and got["note"] == NOTE_MEANINGS[raw]
        else:
            assert got["value"] == float(raw) and got["note"] is None
        assert got["unit"] == want.get("@unit")


#: How long a fake's hook waits for another request's answer before giving up (then the test's checks fail).
HOLD_LIMIT_S = 30.0


def wait_until(condition: Callable[[], bool], limit_s: float = HOLD_LIMIT_S) -> bool:
    """Poll ``condition`` (in a fake's request thread) until it holds or ``limit_s`` passes."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def big(fake_estat: FakeEstat) -> Iterator[GeneratedTable]:
    table = fake_estat.add_table(big_table(), catalog=False)
    yield table
    fake_estat.set_latency(None)
    fake_estat._hooks.clear()  # change_table_after hooks
    fake_estat.tables.pop(BIG_ID, None)


def test_complete_fetch_of_250001_rows_out_of_order_with_a_transient_5xx(
    fake_estat: FakeEstat,
    big: GeneratedTable,
    store: LocalObjectStore,
) -> None:
    # Page 1 counts the table, then pages 3 and 2 complete out of order: the fake holds page 2 (asked
    # with page 1, before the count was known) until page 3 has been answered (ordered by events, not by
    # sleeps that a loaded machine can outrun). A fetch that does not request the pages concurrently
    # leaves page 2 held until HOLD_LIMIT_S and then fails the order checks below.
    def answered(start: int) -> bool:
        return any(
            r.endpoint == "getStatsData"
            and not r.is_count
            and r.start_position == start
            and r.http_status == 200
            and r.finished is not None
            for r in list(fake_estat.requests)
        )

    def hold(request: Any) -> None:
        if request.endpoint == "getStatsData" and not request.is_count:
            waits_for = {100_001: (200_001,)}.get(request.start_position or 1, ())
            wait_until(lambda: all(answered(start) for start in waits_for))

    fake_estat.before_response(hold)
    fake_estat.fail(times=1, status=503, endpoint="getStatsData", start_position=200_001)
    progress: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int, message: str) -> None:
        progress.append((done, total))

    result = asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=4, progress=on_progress))

    manifest = load_manifest(LocalObjectStore(store.root), result.manifest.dataset_id)  # a fresh store object
    assert manifest.row_count == 250_001 and result.pages == 3 and result.fetch_mode == "complete"
    assert_matches_source(read_rows(store, manifest.data_key), big)
    # The fetch really ran concurrently, out of order, and survived the 5xx by a retry.
    pages = [r for r in fake_estat.requests if r.endpoint == "getStatsData" and not r.is_count]
    # Page 3 was asked and answered while page 2 was held: at least two page requests were out at once
    # (metadata, page 1 and page 2 may overlap too, but a loaded machine can finish the metadata first).
    assert fake_estat.max_in_flight >= 2
    finished = {r.start_position: r.finished for r in pages if r.http_status == 200}
    assert finished[1] < finished[200_001] < finished[100_001]
    assert not any(r.is_count for r in fake_estat.requests)  # the first page counted the table
    assert [r.http_status for r in pages if r.start_position == 200_001] == [503, 200]
    assert progress == [(100_000, 250_001), (200_000, 250_001), (250_001, 250_001)]
    assert manifest.extra["pages"] == 3 and manifest.extra["total_number"] == 250_001


@pytest.mark.parametrize(
    "change",
    [{"row_limit": 250_000}, {"row_limit": 260_000}, {"updated_date": "2026-12-01"}],
    ids=["rows-removed", "rows-added", "updated-date"],
)
def test_a_table_that_changes_mid_fetch_fails_loudly_and_writes_nothing(
    fake_estat: FakeEstat,
    big: GeneratedTable,
    store: LocalObjectStore,
    change: dict[str, Any],
) -> None:
    # After the first two pages (asked at once with the metadata, before the count is known): the third
    # page sees the changed table.
    fake_estat.change_table_after(BIG_ID, 2, **change)
    with pytest.raises(FetchIntegrityError, match="nothing was saved"):
        asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=2))
    assert store.list_keys() == []
    assert not any(path.is_file() for path in store.root.rglob("*"))  # no temp file left either


def test_updated_between_metadata_and_first_page(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    def hook(request: Any) -> None:
        if request.endpoint == "getStatsData" and request.start_position in (None, 1):
            # metadata and first page are asked at once: update once the metadata is out
            wait_until(lambda: any(r.endpoint == "getMetaInfo" and r.finished for r in list(fake_estat.requests)))
            big.update(updated_date="2027-01-01")

    fake_estat.before_response(hook)
    with pytest.raises(FetchIntegrityError, match="UPDATED_DATE"):
        asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete"))
    assert store.list_keys() == []


def test_failure_after_retries_writes_nothing(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    fake_estat.fail(times=None, status=502, endpoint="getStatsData", start_position=100_001)
    with pytest.raises(Exception, match="502"):
        asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=3))
    assert store.list_keys() == []


def test_auto_fetches_a_small_table_in_one_request(fake_estat: FakeEstat, store: LocalObjectStore) -> None:
    # No answer before three requests are out at once (a fetch asking one by one is held, then fails below).
    fake_estat.hold_until_in_flight(3)
    result = asyncio.run(fetch(fake_estat, store, "0003445078", mode="auto"))
    assert result.fetch_mode == "single_request" and result.manifest.row_count == 42
    (meta,) = [r for r in fake_estat.requests if r.endpoint == "getMetaInfo"]
    page, second = sorted(
        (r for r in fake_estat.requests if r.endpoint == "getStatsData"), key=lambda r: r.start_position or 1
    )
    # No count request: the only page counted the table. Metadata, page and the second page (asked before
    # the count was known; the fake answers it with no data) were asked at once: one round trip.
    assert not page.is_count and (second.start_position, second.is_count, second.estat_status) == (100_001, False, 1)
    assert max(meta.started, page.started, second.started) < min(meta.finished, page.finished, second.finished)
    manifest = result.manifest
    assert manifest.title and "男女別人口" in manifest.title
    assert (manifest.survey, manifest.organisation, manifest.updated_date) == ("国勢調査", "総務省", "2026-09-29")
    rows = read_rows(store, manifest.data_key)
    assert {(r["area_name"], r["cat01_name"]) for r in rows if r["area_code"] == "13000"} == {
        ("東京都", "総数"),
        ("東京都", "男"),
        ("東京都", "女"),
    }


@pytest.mark.parametrize("answer", ["http-502", "estat-error", "reset"])
def test_a_one_page_table_ignores_whatever_answers_the_early_second_page(
    fake_estat: FakeEstat, store: LocalObjectStore, answer: str
) -> None:
    """The second page is asked before the count is known. Real e-Stat's answer for a start past the last
    row is not recorded (the fake's STATUS 1 is SYNTHETIC): whatever it is (an error, a failure the client
    retries, a reset), a one-page table is fetched all the same, and nothing is left running or unread."""

    def second_page(request: Any) -> FakeResponse | None:
        if request.endpoint != "getStatsData" or request.start_position != 100_001:
            return None
        if answer == "http-502":
            return FakeResponse(502, b"Bad Gateway")
        if answer == "reset":
            return FakeResponse(reset=True)
        body = envelope("GET_STATS_DATA", 101, "startPositionが不正です。", {"STATS_DATA_ID": "0003445078"})
        return FakeResponse(200, json.dumps(body).encode())  # SYNTHETIC error envelope

    fake_estat.before_response(second_page)
    reported: list[dict[str, Any]] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        result = await fetch(fake_estat, store, "0003445078", mode="auto", concurrency=4)
        await asyncio.sleep(0.05)
        assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
        return result

    result = asyncio.run(main())
    import gc

    gc.collect()
    assert result.manifest.row_count == 42 and result.pages == 1 and result.fetch_mode == "single_request"
    assert [context.get("message") for context in reported] == []
    assert any(r.start_position == 100_001 for r in fake_estat.requests)


def test_a_whole_table_is_counted_by_its_first_page(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    """No count request for a whole table; its first two pages go out with the metadata, in one round trip."""
    fake_estat.hold_until_in_flight(3)
    result = asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=2))
    assert result.manifest.row_count == 250_001 and result.pages == 3
    data = [r for r in fake_estat.requests if r.endpoint == "getStatsData"]
    assert sorted(r.start_position for r in data) == [1, 100_001, 200_001] and not any(r.is_count for r in data)
    meta, first, second = (
        next(r for r in fake_estat.requests if r.endpoint == "getMetaInfo"),
        *(next(r for r in data if r.start_position == start) for start in (1, 100_001)),
    )
    assert max(meta.started, first.started, second.started) < min(meta.finished, first.finished, second.finished)


def test_the_pages_the_metadata_counts_go_out_before_the_first_page_answers(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    """The metadata (small) answers first; its OVERALL_TOTAL_NUMBER (250,001: three pages) sends page 3
    on the slots left free while page 1 still arrives, and no page the table does not have."""

    def asked(start: int) -> bool:
        return any(r.endpoint == "getStatsData" and r.start_position == start for r in list(fake_estat.requests))

    def hold_first_page(request: Any) -> None:
        if request.endpoint == "getStatsData" and (request.start_position or 1) == 1:
            wait_until(lambda: asked(200_001), limit_s=5.0)  # a fetch that waits for the count times out here

    fake_estat.before_response(hold_first_page)
    result = asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=4))
    assert result.manifest.row_count == 250_001 and result.pages == 3
    assert_matches_source(read_rows(store, result.manifest.data_key), big)
    data = [r for r in fake_estat.requests if r.endpoint == "getStatsData"]
    assert sorted(r.start_position for r in data) == [1, 100_001, 200_001] and not any(r.is_count for r in data)
    first, third = (next(r for r in data if r.start_position == start) for start in (1, 200_001))
    assert third.started < first.finished


def test_a_metadata_size_that_overstates_the_table_costs_no_more_than_the_free_slots(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    """SYNTHETIC: the metadata says 600,000 rows (six pages), the table has 250,001 (three). The pages asked
    on the metadata fill the free slots only (pages 3 and 4); page 1's count decides what is fetched, the
    page past the end is dropped, and nothing is left running or unread."""

    def overstated(request: Any) -> FakeResponse | None:
        if request.endpoint == "getMetaInfo":
            document = json.loads(fake_estat._meta_info(request).body)
            document["GET_META_INFO"]["METADATA_INF"]["TABLE_INF"]["OVERALL_TOTAL_NUMBER"] = 600_000
            return FakeResponse(200, json.dumps(document).encode())
        if request.endpoint == "getStatsData" and (request.start_position or 1) == 1:
            wait_until(lambda: any(r.endpoint == "getMetaInfo" and r.finished for r in list(fake_estat.requests)))
        return None

    fake_estat.before_response(overstated)
    reported: list[dict[str, Any]] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        result = await fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=4)
        await asyncio.sleep(0.05)
        assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
        return result

    result = asyncio.run(main())
    assert result.manifest.row_count == 250_001 and result.pages == 3
    assert_matches_source(read_rows(store, result.manifest.data_key), big)
    starts = sorted(r.start_position for r in fake_estat.requests if r.endpoint == "getStatsData")
    assert starts == [1, 100_001, 200_001, 300_001]
    assert [context.get("message") for context in reported] == []


def test_auto_takes_the_complete_path_for_a_large_table(
    fake_estat: FakeEstat,
    big: GeneratedTable,
    store: LocalObjectStore,
) -> None:
    big.update(row_limit=100_001)
    result = asyncio.run(fetch(fake_estat, store, BIG_ID, mode="auto"))
    assert (result.fetch_mode, result.pages, result.manifest.row_count) == ("complete", 2, 100_001)


def test_filters_by_name_and_code(fake_estat: FakeEstat, store: LocalObjectStore, estat_fixtures_dir: Path) -> None:
    result = asyncio.run(
        fetch(
            fake_estat,
            store,
            "0003445078",
            mode="filtered",
            filters={"area": ["東京都", "34208", "札幌市"], "cat01": ["男"]},
        )
    )
    rows = read_rows(store, result.manifest.data_key)
    recorded = json.loads(
        (estat_fixtures_dir / "hermes__getStatsData_0003445078_DATA_INF-only_14areas__2026-10-02.json").read_text()
    )["VALUE"]
    want = {v["@area"]: v["$"] for v in recorded if v["@cat01"] == "1" and v["@area"] in {"13000", "34208", "01100"}}
    assert {r["area_code"]: r["value_raw"] for r in rows} == want
    assert {r["area_name"] for r in rows} == {"東京都", "府中市", "札幌市"}
    assert result.manifest.filters["area"]["codes"] == ["13000", "34208", "01100"]
    sent = [r.params for r in fake_estat.requests if r.endpoint == "getStatsData" and not r.is_count]
    assert sent[0]["cdArea"] == "13000,34208,01100" and sent[0]["cdCat01"] == "1"


def test_ambiguous_name_is_reported_and_nothing_is_fetched(fake_estat: FakeEstat, store: LocalObjectStore) -> None:
    with pytest.raises(FilterError) as caught:
        asyncio.run(fetch(fake_estat, store, "0003445078", mode="filtered", filters={"area": ["府中市"]}))
    assert [c["code"] for c in caught.value.problems[0]["candidates"]] == ["13206", "34208"]
    assert fake_estat.count("getStatsData") == 0
    assert store.list_keys() == []


def test_more_than_100_codes_are_split_and_merged_once(fake_estat: FakeEstat, store: LocalObjectStore) -> None:
    table = fake_estat.add_generated_table(
        "0009100002",
        [Axis.numbered("area", "市町村", 260, width=5), Axis.years(2019, 2021)],
        catalog=False,
    )
    codes = [item.code for item in table.axes[0].items[5:235]]  # 230 codes -> 3 requests
    result = asyncio.run(
        fetch(
            fake_estat, store, "0009100002", mode="filtered", filters={"area": [*codes, codes[0]], "time": ["2020年"]}
        )
    )
    assert result.requests == 3
    sent = [
        r.params["cdArea"].split(",") for r in fake_estat.requests if r.endpoint == "getStatsData" and not r.is_count
    ]
    assert sorted(len(chunk) for chunk in sent) == [30, 100, 100]
    assert all(r.params["cdTime"] == "2020000000" for r in fake_estat.requests if r.endpoint == "getStatsData")
    assert_matches_source(
        read_rows(store, result.manifest.data_key), table, {"cdArea": ",".join(codes), "cdTime": "2020000000"}
    )


def test_level_and_range_filters(fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore) -> None:
    filters = {
        "area": {"level": "2", "from": "13000", "to": "都道府県20"},
        "cat01": ["0001"],
        "time": {"from": "2024年"},
    }
    result = asyncio.run(fetch(fake_estat, store, BIG_ID, mode="filtered", filters=filters))
    rows = read_rows(store, result.manifest.data_key)
    assert [r["area_code"] for r in rows] == [f"{i:02d}000" for i in range(13, 21)]
    assert {r["time_code"] for r in rows} == {"2024000000"}
    params = {"lvArea": "2", "cdAreaFrom": "13000", "cdAreaTo": "20000", "cdCat01": "0001", "cdTimeFrom": "2024000000"}
    assert_matches_source(rows, big, params)


def test_filters_matching_nothing_are_reported(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    with pytest.raises(InputError, match="no rows"):
        asyncio.run(
            fetch(fake_estat, store, BIG_ID, mode="filtered", filters={"area": {"from": "20000", "to": "13000"}})
        )
    assert store.list_keys() == []


def test_dataset_is_readable_by_another_process(fake_estat: FakeEstat, store: LocalObjectStore) -> None:
    result = asyncio.run(fetch(fake_estat, store, "0003445078", mode="auto"))
    script = (
        "import json, sys\n"
        "from estat_aws_mcp.datasets.store import open_store\n"
        "from estat_aws_mcp.datasets.manifest import load_manifest\n"
        "import pyarrow.parquet as pq\n"
        "store = open_store(sys.argv[1]); m = load_manifest(store, sys.argv[2])\n"
        # threads off: pyarrow can abort at interpreter exit after a threaded read from a Python
        # file object (apache/arrow#33975), which would fail this short-lived process at random
        "with store.open_read(m.data_key) as fh: t = pq.read_table(fh, use_threads=False, pre_buffer=False)\n"
        "print(json.dumps({'rows': m.row_count, 'read': t.num_rows, 'title': m.title, 'credit': m.credit}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(store.root), result.manifest.dataset_id],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        timeout=180,
    )
    seen = json.loads(out.stdout)
    assert seen["rows"] == seen["read"] == 42 and "男女別人口" in seen["title"] and "e-Stat" in seen["credit"]


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("0003445078", "0003445078"),
        ("3445078", "0003445078"),
        (" 0003445078 ", "0003445078"),
        ("３４４５０７８", "0003445078"),
    ],
)
def test_stats_data_id_normalisation(raw: str, normalised: str) -> None:
    assert normalise_stats_data_id(raw) == normalised


@pytest.mark.parametrize("raw", ["", "abc", "00034450781", "0003445078;drop", "٣٤٤٥٠٧٨"])
def test_invalid_stats_data_ids(raw: str) -> None:
    with pytest.raises(InputError, match="stats_data_id"):
        normalise_stats_data_id(raw)


def test_plan_pages() -> None:
    assert plan_pages([250_001]) == [
        PageRequest(0, 0, 1, 100_000),
        PageRequest(1, 0, 100_001, 100_000),
        PageRequest(2, 0, 200_001, 50_001),
    ]
    assert plan_pages([3, 0, 5], page_size=4) == [
        PageRequest(0, 0, 1, 3),
        PageRequest(1, 2, 1, 4),
        PageRequest(2, 2, 5, 1),
    ]
    assert plan_pages([]) == []


def test_fetch_in_order_bounds_the_window_and_keeps_order() -> None:
    """Results are consumed in page order; no more than 2 x concurrency pages are ever started ahead."""
    pages = plan_pages([50], page_size=1)
    started: list[int] = []
    consumed: list[int] = []
    in_flight = 0
    peak = 0

    async def fetch_one(page: PageRequest) -> int:
        nonlocal in_flight, peak
        started.append(page.index)
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02 if page.index % 5 == 0 else 0.001)  # every 5th page is slow
        in_flight -= 1
        return page.index

    async def consume(page: PageRequest, result: int) -> None:
        assert max(started) < page.index + 2 * 3  # the window: never more than 6 pages ahead
        consumed.append(result)

    asyncio.run(fetch_in_order(pages, fetch_one, consume, concurrency=3))
    assert consumed == list(range(50))
    assert peak == 3


def test_fetch_in_order_cancels_the_rest_on_failure() -> None:
    pages = plan_pages([20], page_size=1)
    cancelled = 0

    async def fetch_one(page: PageRequest) -> int:
        nonlocal cancelled
        try:
            if page.index == 2:
                raise RuntimeError("page 3 failed")
            await asyncio.sleep(0.5)
            return page.index
        except asyncio.CancelledError:
            cancelled += 1
            raise

    async def consume(page: PageRequest, result: int) -> None:
        pass

    with pytest.raises(RuntimeError, match="page 3"):
        asyncio.run(fetch_in_order(pages, fetch_one, consume, concurrency=4))
    assert cancelled > 0


def test_page_order_lanes_go_to_the_earliest_waiting_page() -> None:
    """Two lanes, pages asking in the order 5, 1, 4, 0, 3, 2 while both lanes are held: the freed lanes go
    to 0, 1, 2... (not first come, first served), and never more than two holders at once."""
    lanes = PageOrderLanes(2)
    order: list[int] = []
    holding = 0
    peak = 0

    async def hold(index: int, release: asyncio.Event) -> None:
        nonlocal holding, peak
        async with lanes.lane(index):
            holding += 1
            peak = max(peak, holding)
            order.append(index)
            await release.wait()
            holding -= 1

    async def main() -> None:
        gates = {index: asyncio.Event() for index in range(8)}
        first = [asyncio.create_task(hold(index, gates[index])) for index in (6, 7)]
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(hold(index, gates[index])) for index in (5, 1, 4, 0, 3, 2)]
        await asyncio.sleep(0.01)
        assert order == [6, 7]
        for gate in gates.values():
            gate.set()
            await asyncio.sleep(0.001)
        await asyncio.gather(*first, *waiting)

    asyncio.run(main())
    assert order == [6, 7, 0, 1, 2, 3, 4, 5]
    assert peak == 2


def test_page_order_lanes_survive_cancelled_waiters() -> None:
    """A waiter cancelled while waiting, or cancelled after the lane was handed to it but before it ran,
    does not lose the lane: the next page still gets it."""
    lanes = PageOrderLanes(1)

    async def main() -> None:
        release = asyncio.Event()

        async def hold(index: int) -> int:
            async with lanes.lane(index):
                await release.wait()
            return index

        async with lanes.lane(0):
            before = asyncio.create_task(hold(1))  # cancelled while waiting
            handed = asyncio.create_task(hold(2))  # cancelled once the lane is handed to it
            later = asyncio.create_task(hold(3))
            await asyncio.sleep(0.01)
            before.cancel()
            await asyncio.sleep(0)
            release.set()
        # leaving the block handed the lane to page 2 (page 1 is gone); page 2 has not run yet
        handed.cancel()
        assert await asyncio.wait_for(later, 2) == 3
        for task in (before, handed):
            with pytest.raises(asyncio.CancelledError):
                await task
        async with asyncio.timeout(1), lanes.lane(4):  # the lane is free again
            pass

    asyncio.run(main())


def test_fetch_in_order_with_process_lanes_keeps_order_bounds_and_cancels() -> None:
    pages = plan_pages([30], page_size=1)
    processing = 0
    peak = 0
    consumed: list[int] = []

    async def fetch_one(page: PageRequest) -> int:
        await asyncio.sleep(0.001 * (page.index % 4))
        return page.index

    async def process(page: PageRequest, result: int) -> int:
        nonlocal processing, peak
        processing += 1
        peak = max(peak, processing)
        await asyncio.sleep(0.002)
        processing -= 1
        if result == 25:
            raise RuntimeError("page 26 failed")
        return result

    async def consume(page: PageRequest, result: int) -> None:
        consumed.append(result)

    with pytest.raises(RuntimeError, match="page 26"):
        asyncio.run(fetch_in_order(pages, fetch_one, consume, 4, process=process, process_lanes=2))
    assert consumed == list(range(25))
    assert peak == 2


def test_the_consumer_holds_a_lane_without_waiting_for_one() -> None:
    """Both lanes held by pages 0 and 1: ``occupied`` still runs at once; while it runs, a lane freed by
    page 0 repays it instead of going to waiting page 2, which gets the lane the consumer frees."""
    lanes = PageOrderLanes(2)
    order: list[str] = []

    async def hold(index: int, release: asyncio.Event) -> None:
        async with lanes.lane(index):
            order.append(f"page {index}")
            await release.wait()

    async def main() -> None:
        gates = [asyncio.Event() for _ in range(3)]
        tasks = [asyncio.create_task(hold(index, gates[index])) for index in range(3)]
        await asyncio.sleep(0.01)
        assert order == ["page 0", "page 1"]
        with lanes.occupied():
            order.append("consumer")
            gates[0].set()
            await asyncio.sleep(0.01)
            assert order == ["page 0", "page 1", "consumer"]  # page 2 still waits
        await asyncio.sleep(0.01)
        assert order[-1] == "page 2"
        for gate in gates:
            gate.set()
        await asyncio.gather(*tasks)
        async with asyncio.timeout(1), lanes.lane(3), lanes.lane(4):  # both lanes free again
            pass

    asyncio.run(main())


def test_fetch_in_order_counts_the_consumer_against_the_process_lanes() -> None:
    """Two lanes. While page 0 is consumed (written) and page 2 is processed (converted), the lane that
    page 1 frees is not handed to page 3: the writer holds it. The writer never waits for a lane."""
    pages = plan_pages([6], page_size=1)
    started: list[int] = []
    consumed: list[int] = []
    gates = [asyncio.Event() for _ in pages]
    writing = asyncio.Event()

    async def fetch_one(page: PageRequest) -> int:
        return page.index

    async def process(page: PageRequest, result: int) -> int:
        started.append(page.index)
        if page.index:
            await gates[page.index].wait()
        return result

    async def consume(page: PageRequest, result: int) -> None:
        if page.index == 0:
            writing.set()
            await gates[0].wait()
        consumed.append(result)

    async def settle() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def main() -> None:
        task = asyncio.create_task(fetch_in_order(pages, fetch_one, consume, 4, process=process, process_lanes=2))
        await writing.wait()  # page 0 processed (its lane went to page 2), now written
        await settle()
        assert started == [0, 1, 2]
        gates[1].set()  # page 1 done: its lane repays the writer's
        await settle()
        assert started == [0, 1, 2]  # (without the writer's lane: page 3 would start here)
        gates[0].set()  # page 0 written: the lane goes to page 3
        await settle()
        assert started == [0, 1, 2, 3]
        for gate in gates:
            gate.set()
        await asyncio.wait_for(task, 2)

    asyncio.run(main())
    assert consumed == list(range(6))


def test_a_partial_page_fails_loudly(fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore) -> None:
    """STATUS 2 (SYNTHETIC body: no recording shows one) means rows are missing: never saved as complete."""

    def partial(request: Any) -> FakeResponse | None:
        if request.endpoint == "getStatsData" and request.start_position == 100_001 and not request.is_count:
            body = envelope("GET_STATS_DATA", 2, PARTIAL_MESSAGE, {"STATS_DATA_ID": BIG_ID})
            body["GET_STATS_DATA"]["STATISTICAL_DATA"] = {"RESULT_INF": {"TOTAL_NUMBER": 250_001}}
            return FakeResponse(200, json.dumps(body).encode())
        return None

    fake_estat.before_response(partial)
    with pytest.raises(FetchIntegrityError, match="STATUS 2"):
        asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete"))
    assert store.list_keys() == []


def test_gather_or_cancel_leaves_nothing_running() -> None:
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(5)
        finished.append("slow")

    async def failing() -> None:
        raise InputError("unknown id")

    async def main() -> None:
        with pytest.raises(InputError):
            await gather_or_cancel(slow(), failing())
        await asyncio.sleep(0)
        assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []

    asyncio.run(main())
    assert finished == []


def test_concurrency_one_is_strictly_sequential() -> None:
    pages = plan_pages([6], page_size=1)
    events: list[str] = []

    async def fetch_one(page: PageRequest) -> int:
        events.append(f"fetch {page.index}")
        await asyncio.sleep(0.001)
        return page.index

    async def consume(page: PageRequest, result: int) -> None:
        await asyncio.sleep(0.001)
        events.append(f"consume {page.index}")

    asyncio.run(fetch_in_order(pages, fetch_one, consume, concurrency=1))
    assert events == [f"{what} {i}" for i in range(6) for what in ("fetch", "consume")]


def test_concurrency_one_asks_one_thing_at_a_time(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    big.update(row_limit=200_000)
    asyncio.run(fetch(fake_estat, store, BIG_ID, mode="complete", concurrency=1))
    data = [r for r in fake_estat.requests if r.endpoint == "getStatsData"]
    assert [("count" if r.is_count else r.start_position) for r in data] == [1, 100_001]  # page 1 counts
    assert data[0].finished <= data[1].started
    assert fake_estat.max_in_flight <= 2  # metadata and the first page may overlap; pages never do


def test_an_interrupted_fetch_leaves_nothing(
    fake_estat: FakeEstat, big: GeneratedTable, store: LocalObjectStore
) -> None:
    """Cancelled after its first page was written (a client gone, a Lambda deadline): no dataset, no file."""
    fake_estat.set_latency(lambda request: 0.5 if (request.start_position or 0) > 100_000 else 0.0)
    written = asyncio.Event()

    async def on_progress(done: int, total: int, message: str) -> None:
        written.set()

    async def main() -> None:
        task = asyncio.create_task(fetch(fake_estat, store, BIG_ID, mode="complete", progress=on_progress))
        await asyncio.wait_for(written.wait(), timeout=30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert store.list_keys() == []
    assert not any(path.is_file() for path in store.root.rglob("*"))


def test_an_unknown_table_leaves_no_unretrieved_task_exception(fake_estat: FakeEstat, store: ObjectStore) -> None:
    """Issue 15 item 10: the first page (requested alongside metadata and count) failed too, and its
    exception was never retrieved ("Task exception was never retrieved" in the server log)."""
    import gc

    reported: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        for _ in range(5):
            with pytest.raises(Exception, match=r"0000000999|300|not"):
                await fetch(fake_estat, store, "0000000999", mode="auto", concurrency=4)
        await asyncio.sleep(0.05)
        gc.collect()  # a done task with an unread exception reports when it is collected
        await asyncio.sleep(0)

    asyncio.run(main())
    gc.collect()
    assert [context.get("message") for context in reported] == []
    assert store.list_keys() == []
