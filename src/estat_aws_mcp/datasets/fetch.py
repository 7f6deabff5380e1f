"""The fetch engine: e-Stat table (optionally filtered) -> normalised Parquet dataset in the store.

One engine serves the three fetch tools:

1. the metadata is fetched once (getMetaInfo): axis names, class items, UPDATED_DATE;
2. filters are resolved against it (names -> codes, >100 codes split into several requests);
3. every filtered request is counted first (``cntGetFlg=Y``); a whole table is counted by its first page
   (TOTAL_NUMBER), asked together with the metadata and, with concurrency, with the second page; when
   the metadata answers before page 1, the slots it leaves free ask the next pages its table size
   (OVERALL_TOTAL_NUMBER) says there are;
4. the 100,000-row pages of all requests are fetched CONCURRENTLY (bounded by ``concurrency`` and by
   the client's per-process limit), converted to Arrow as they arrive, and written IN ORDER: a page
   that arrives early waits in a bounded window (at most ``2 × concurrency`` pages in flight or
   waiting, as compact Arrow batches), so memory does not grow with the table;
5. each page is checked (TOTAL_NUMBER unchanged, FROM_NUMBER and row count as planned, UPDATED_DATE
   unchanged) and the total row count is checked at the end. Any mismatch fails the whole fetch
   loudly and nothing is published (see :class:`~estat_aws_mcp.datasets.writer.DatasetWriter`).

e-Stat's own quirks and retries live in the client (:mod:`estat_aws_mcp.estat`); this module sees
normalised responses only.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from estat_aws_mcp.datasets.filters import ResolvedFilters, resolve_filters
from estat_aws_mcp.datasets.manifest import DatasetManifest, dataset_batches
from estat_aws_mcp.datasets.pages import (
    ValueCapturingTransport,
    ValueSpan,
    capturing_values,
    value_lines_as_json,
)
from estat_aws_mcp.datasets.reuse import SOURCE_KEY_FIELD, find_reusable, is_current, record_reusable, source_key
from estat_aws_mcp.datasets.schema import PageConverter, TableMetadata, schema_description, table_metadata
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.datasets.writer import DatasetWriter
from estat_aws_mcp.errors import InputError, UpstreamError, quote_prefix
from estat_aws_mcp.estat.normalize import MetaInfo, StatsData, as_list
from estat_aws_mcp.limits import SAMPLE_ROWS

if TYPE_CHECKING:
    import pyarrow as pa

    from estat_aws_mcp.estat.client import EstatClient
    from estat_aws_mcp.settings import Settings

log = logging.getLogger(__name__)

#: e-Stat's maximum ``limit`` for getStatsData.
PAGE_SIZE = 100_000
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16

FetchMode = Literal["auto", "filtered", "complete"]
#: ``await progress(rows_done, rows_total, message)``
ProgressCallback = Callable[[int, int, str], Awaitable[None]]

_STATS_DATA_ID = re.compile(r"^\d{1,10}$", re.ASCII)


class StatsSource(Protocol):
    """What the engine needs from e-Stat (normalised responses; retries and limits are the client's job)."""

    async def meta_info(self, stats_data_id: str) -> MetaInfo: ...

    async def count(self, stats_data_id: str, params: Mapping[str, str]) -> StatsData: ...

    async def page(self, stats_data_id: str, params: Mapping[str, str], start: int, limit: int) -> FetchedPage: ...


@dataclass
class FetchedPage:
    """One getStatsData page: the normalised response, and its VALUE objects when the fast path captured
    them (then ``data["values"]`` is empty; see :mod:`estat_aws_mcp.datasets.pages`): JSON lines, or
    where they are in the body (made into lines by :func:`convert_page`, off the event loop)."""

    data: StatsData
    value_lines: bytes | ValueSpan | None = None


class FetchIntegrityError(UpstreamError):
    """The table changed (or e-Stat answered inconsistently) during the fetch; nothing was written."""


def normalise_stats_data_id(stats_data_id: str) -> str:
    """e-Stat table ids are 10 digits; '3445078' and full-width '０００３４４５０７８' mean '0003445078'."""
    text = unicodedata.normalize("NFKC", str(stats_data_id)).strip()
    if not _STATS_DATA_ID.match(text):
        raise InputError(
            f"invalid stats_data_id {quote_prefix(stats_data_id)}: expected e-Stat's 10-digit table id, e.g. '0003445078' "
            "(search_estat_data returns it as stats_data_id)"
        )
    return text.zfill(10)


@dataclass(frozen=True)
class PageRequest:
    """One getStatsData call: request ``request_index`` (a filter split), rows ``start``..``start+rows-1``."""

    index: int
    request_index: int
    start: int
    rows: int


def plan_pages(counts: Sequence[int], page_size: int = PAGE_SIZE) -> list[PageRequest]:
    """``startPosition`` ranges for every request, in output order (request by request)."""
    if page_size < 1:
        raise ValueError("page_size must be positive")
    pages: list[PageRequest] = []
    for request_index, count in enumerate(counts):
        for start in range(1, count + 1, page_size):
            pages.append(PageRequest(len(pages), request_index, start, min(page_size, count - start + 1)))
    return pages


@dataclass
class FetchResult:
    manifest: DatasetManifest
    metadata: TableMetadata
    sample: list[dict[str, Any]]
    fetch_mode: str
    requests: int
    pages: int
    concurrency: int
    elapsed_s: float
    filters: dict[str, Any] = field(default_factory=dict)
    #: every row, when the dataset has at most ``inline_rows`` rows (else None)
    rows: list[dict[str, Any]] | None = None
    #: the stored dataset was reused (same table, filters and UPDATED_DATE): no page was requested
    reused: bool = False


async def fetch_dataset(
    source: StatsSource,
    store: ObjectStore,
    stats_data_id: str,
    *,
    mode: FetchMode = "complete",
    filters: Mapping[str, Any] | None = None,
    concurrency: int | None = None,
    progress: ProgressCallback | None = None,
    page_size: int = PAGE_SIZE,
    inline_rows: int = 0,
    reuse: bool = False,
) -> FetchResult:
    """Fetch a table (every row matching ``filters``) into a new dataset and return its manifest.

    ``inline_rows``: return every row in :attr:`FetchResult.rows` when there are at most that many.
    ``reuse``: when a stored dataset of the same table and filters was fetched at the table's current
    UPDATED_DATE, answer from it after one getMetaInfo request (see :mod:`estat_aws_mcp.datasets.reuse`).
    """
    started = time.perf_counter()
    stats_data_id = normalise_stats_data_id(stats_data_id)
    concurrency = _bounded_concurrency(concurrency)
    if mode == "filtered" and not filters:
        raise InputError(
            "filters must name at least one axis (e.g. {'area': ['東京都']}); use fetch_dataset_auto for the whole table"
        )

    early_pages: dict[int, asyncio.Future[FetchedPage]] = {}
    keep_rows = max(inline_rows, 0)
    if filters:  # names must be resolved against the metadata before anything can be counted
        metadata = _checked_metadata(stats_data_id, await source.meta_info(stats_data_id))
        resolved: ResolvedFilters = resolve_filters(metadata, filters)
        requests = resolved.request_params() if not resolved.is_empty else [{}]
        reuse_key = source_key(requests, source_options(source))
        if reuse:
            reused = await _reused(store, stats_data_id, reuse_key, metadata, keep_rows, concurrency, started)
            if reused is not None:
                return reused
        counts = await _count_all(source, stats_data_id, requests, metadata.updated_date, concurrency)
    else:
        # The whole table. Its first page counts it (TOTAL_NUMBER), so no count request is made, and the
        # metadata and the first page do not depend on each other: both are asked at once. With
        # concurrency the second page is asked in that same round trip, before the count is known: a
        # table of more than one page then takes one round trip less, and a one-page table answers it
        # with no rows (it is dropped, and costs what a separate count request did). Slots still free when
        # the metadata answers ask the pages after those (see _metadata_and_first_page). Every page, these
        # too, is checked against the first page's count and the metadata's UPDATED_DATE. When a
        # stored dataset may be reusable, the metadata is asked for alone first.
        resolved, requests = ResolvedFilters(), [{}]
        reuse_key = source_key(requests, source_options(source))
        known: TableMetadata | None = None
        if reuse and await asyncio.to_thread(find_reusable, store, stats_data_id, reuse_key) is not None:
            known = _checked_metadata(stats_data_id, await source.meta_info(stats_data_id))
            reused = await _reused(store, stats_data_id, reuse_key, known, keep_rows, concurrency, started)
            if reused is not None:
                return reused
        early_pages = {0: asyncio.ensure_future(source.page(stats_data_id, requests[0], 1, page_size))}
        if concurrency > 1:
            early_pages[1] = asyncio.ensure_future(source.page(stats_data_id, requests[0], 1 + page_size, page_size))
        try:
            if known is None:
                metadata, first = await _metadata_and_first_page(
                    source, stats_data_id, requests[0], early_pages, concurrency, page_size
                )
            else:
                metadata, first = known, await early_pages[0]
            _check_unchanged(stats_data_id, first.data, metadata.updated_date)
        except BaseException:
            for task in early_pages.values():
                await _cancel(task)
            raise
        counts = [int(first.data["total_number"] or 0)]
    try:
        return await _fetch_counted(
            source,
            store,
            stats_data_id,
            mode=mode,
            filters=filters,
            resolved=resolved,
            requests=requests,
            counts=counts,
            metadata=metadata,
            concurrency=concurrency,
            progress=progress,
            page_size=page_size,
            early_pages=early_pages,
            started=started,
            keep_rows=keep_rows,
            reuse_key=reuse_key,
        )
    finally:
        for task in early_pages.values():  # a page asked early that the table does not have
            await _cancel(task)


async def _metadata_and_first_page(
    source: StatsSource,
    stats_data_id: str,
    params: Mapping[str, str],
    early_pages: dict[int, asyncio.Future[FetchedPage]],
    concurrency: int,
    page_size: int,
) -> tuple[TableMetadata, FetchedPage]:
    """The metadata, asked now, and page 1 (``early_pages[0]``, already asked). When the metadata comes
    first (it is small) while page 1 still arrives, the request slots left free ask the next pages of the
    table, as many as its size in the metadata says it has (OVERALL_TOTAL_NUMBER, else one row per item
    combination); they join ``early_pages``."""
    meta_task = asyncio.ensure_future(source.meta_info(stats_data_id))
    metadata: TableMetadata | None = None
    try:
        await asyncio.wait([meta_task, early_pages[0]], return_when=asyncio.FIRST_COMPLETED)
        if meta_task.done() and not early_pages[0].done():
            metadata = _checked_metadata(stats_data_id, meta_task.result())
            possible = -(-(metadata.overall_total_number or metadata.cell_count) // page_size)
            for index in range(len(early_pages), min(concurrency, possible)):
                early_pages[index] = asyncio.ensure_future(
                    source.page(stats_data_id, params, 1 + index * page_size, page_size)
                )
        meta_info, first = await gather_or_cancel(meta_task, early_pages[0])
    except BaseException:
        await _cancel(meta_task)
        raise
    return metadata or _checked_metadata(stats_data_id, meta_info), first


async def _cancel(task: asyncio.Future[Any] | None) -> None:
    """Cancel ``task`` if it still runs, and always collect its outcome: a task that already failed
    (an unknown table fails its first page too) must have its exception retrieved, or asyncio logs
    "Task exception was never retrieved" when it is garbage-collected."""
    if task is None:
        return
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _fetch_counted(
    source: StatsSource,
    store: ObjectStore,
    stats_data_id: str,
    *,
    mode: FetchMode,
    filters: Mapping[str, Any] | None,
    resolved: ResolvedFilters,
    requests: list[dict[str, str]],
    counts: list[int],
    metadata: TableMetadata,
    concurrency: int,
    progress: ProgressCallback | None,
    page_size: int,
    early_pages: Mapping[int, asyncio.Future[FetchedPage]],
    started: float,
    keep_rows: int = 0,
    reuse_key: str | None = None,
) -> FetchResult:
    """Plan the pages of counted requests, fetch them in order into a new dataset."""
    total = sum(counts)
    if total == 0:
        raise InputError(
            f"table {stats_data_id} has no rows for these filters"
            if filters
            else f"table {stats_data_id} has no rows (e-Stat reports no data)"
        )
    pages = plan_pages(counts, page_size)
    for index, task in early_pages.items():
        if index >= len(pages):
            task.cancel()  # a page the table does not have (its outcome is collected by fetch_dataset)
    fetch_mode = mode if mode != "auto" else ("single_request" if len(pages) == 1 else "complete")
    log.info(
        "fetching %s: %d rows in %d page(s) over %d request(s), concurrency %d, mode %s",
        stats_data_id,
        total,
        len(pages),
        len(requests),
        concurrency,
        fetch_mode,
    )
    converter = PageConverter(metadata)

    async def fetch_page(page: PageRequest) -> FetchedPage:
        if page.index in early_pages:  # asked before the count was known (see fetch_dataset)
            fetched = await early_pages[page.index]
        else:
            fetched = await source.page(stats_data_id, requests[page.request_index], page.start, page.rows)
        _check_page(stats_data_id, page, fetched.data, counts[page.request_index], metadata.updated_date)
        return fetched

    async def to_batch(page: PageRequest, fetched: FetchedPage) -> pa.RecordBatch:
        # Outside the request limit: the next request starts while this page is being converted.
        batch = await asyncio.to_thread(convert_page, converter, fetched)
        if batch.num_rows != page.rows:
            raise FetchIntegrityError(
                f"table {stats_data_id}, rows {page.start}-{page.start + page.rows - 1}: e-Stat sent "
                f"{batch.num_rows} rows instead of {page.rows}; nothing was saved"
            )
        return batch

    summary = {
        "fetch_mode": fetch_mode,
        "requests": len(requests),
        "pages": len(pages),
        "page_size": page_size,
        "concurrency": concurrency,
        "hierarchical_axes": metadata.hierarchical_axes,
        **({"time_notes": metadata.time_notes()} if metadata.time_notes() else {}),
        **source_options(source),
        **({SOURCE_KEY_FIELD: reuse_key} if reuse_key else {}),
    }
    writer = DatasetWriter(store, metadata, filters=resolved.echo, extra=summary, keep_rows=keep_rows)
    async with writing(writer) as writer:
        rows_done = 0

        async def consume(page: PageRequest, batch: pa.RecordBatch) -> None:
            nonlocal rows_done
            await asyncio.to_thread(writer.write, batch)
            rows_done += batch.num_rows
            message = f"page {page.index + 1}/{len(pages)}: {rows_done}/{total} rows"
            log.info("fetching %s: %s", stats_data_id, message)
            if progress is not None:
                await progress(rows_done, total, message)

        await fetch_in_order(
            pages, fetch_page, consume, concurrency, process=to_batch, process_lanes=conversion_lanes()
        )
        if writer.row_count != total:
            raise FetchIntegrityError(
                f"table {stats_data_id}: wrote {writer.row_count} rows but e-Stat counted {total}; nothing was saved"
            )
        manifest = await asyncio.to_thread(writer.commit, extra={"total_number": total})
        await asyncio.to_thread(record_reusable, store, manifest)
        sample = writer.sample
        all_rows = writer.all_rows if keep_rows else None

    return FetchResult(
        manifest=manifest,
        metadata=metadata,
        sample=sample,
        fetch_mode=fetch_mode,
        requests=len(requests),
        pages=len(pages),
        concurrency=concurrency,
        elapsed_s=time.perf_counter() - started,
        filters=resolved.echo,
        rows=all_rows,
    )


async def _reused(
    store: ObjectStore,
    stats_data_id: str,
    reuse_key: str,
    metadata: TableMetadata,
    keep_rows: int,
    concurrency: int,
    started: float,
) -> FetchResult | None:
    """The stored dataset for ``reuse_key`` if it is current (same UPDATED_DATE and columns), else None."""
    manifest = await asyncio.to_thread(find_reusable, store, stats_data_id, reuse_key)
    columns = schema_description(metadata.axis_ids)
    if manifest is None or not is_current(manifest, metadata.updated_date, columns, metadata.title):
        return None
    try:
        first_rows = await asyncio.to_thread(read_first_rows, store, manifest, max(keep_rows, SAMPLE_ROWS))
    except FileNotFoundError:  # deleted meanwhile: fetch again
        return None
    log.info("reusing dataset %s for %s (UPDATED_DATE %s)", manifest.dataset_id, stats_data_id, manifest.updated_date)
    return FetchResult(
        manifest=manifest,
        metadata=metadata,
        sample=first_rows[:SAMPLE_ROWS],
        fetch_mode=str(manifest.extra.get("fetch_mode") or "complete"),
        requests=0,
        pages=0,
        concurrency=concurrency,
        elapsed_s=time.perf_counter() - started,
        filters=manifest.filters,
        rows=first_rows if keep_rows and manifest.row_count <= keep_rows else None,
        reused=True,
    )


def read_first_rows(store: ObjectStore, manifest: DatasetManifest, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a stored dataset, as dicts."""
    rows: list[dict[str, Any]] = []
    with dataset_batches(store, manifest, batch_rows=max(limit, 1)) as (_, batches):
        for batch in batches:
            rows += batch.slice(0, limit - len(rows)).to_pylist()
            if len(rows) >= limit:
                break
    return rows


@contextlib.asynccontextmanager
async def writing(writer: DatasetWriter) -> AsyncIterator[DatasetWriter]:
    """``with writer`` whose blocking store calls (an S3 multipart upload created, or aborted on failure)
    run in a thread, so that one fetch never stalls the other requests the event loop serves."""
    await asyncio.to_thread(writer.__enter__)
    try:
        yield writer
    except BaseException as exc:
        # shielded: a second cancellation must not leave the upload half aborted
        await asyncio.shield(asyncio.to_thread(writer.__exit__, type(exc), exc, exc.__traceback__))
        raise
    else:
        await asyncio.to_thread(writer.__exit__, None, None, None)


def _checked_metadata(stats_data_id: str, meta_info: MetaInfo) -> TableMetadata:
    metadata = table_metadata(stats_data_id, meta_info)
    if not metadata.axes:
        raise UpstreamError(f"e-Stat returned no axes (CLASS_INF) for table {stats_data_id}")
    return metadata


def _bounded_concurrency(concurrency: int | None) -> int:
    if concurrency is None:
        return DEFAULT_CONCURRENCY
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"concurrency must be an integer from 1 to {MAX_CONCURRENCY}")
    return concurrency


async def _count_all(
    source: StatsSource,
    stats_data_id: str,
    requests: Sequence[Mapping[str, str]],
    updated_date: str | None,
    concurrency: int,
) -> list[int]:
    """cntGetFlg=Y for every request (bounded concurrency); the table must not have changed since getMetaInfo."""
    limiter = asyncio.Semaphore(concurrency)

    async def count_one(params: Mapping[str, str]) -> int:
        async with limiter:
            response = await source.count(stats_data_id, params)
        _check_unchanged(stats_data_id, response, updated_date)
        return int(response["total_number"] or 0)

    return list(await gather_or_cancel(*(count_one(params) for params in requests)))


async def gather_or_cancel(*awaitables: Awaitable[Any]) -> list[Any]:
    """Like ``asyncio.gather``, but the first failure cancels the others (no request left running)."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _check_unchanged(stats_data_id: str, response: StatsData, expected: str | None) -> None:
    if response.get("partial"):
        raise FetchIntegrityError(
            f"table {stats_data_id}: e-Stat answered STATUS 2 (partial result: {response.get('error_msg')}); "
            "nothing was saved"
        )
    table = response.get("table") or {}
    updated = table.get("updated_date")
    if expected and updated and updated != expected:
        raise FetchIntegrityError(
            f"table {stats_data_id} was updated on e-Stat during the fetch (UPDATED_DATE {expected} -> {updated}); "
            "nothing was saved: fetch it again"
        )


def _check_page(
    stats_data_id: str, page: PageRequest, response: StatsData, expected_total: int, updated_date: str | None
) -> None:
    _check_unchanged(stats_data_id, response, updated_date)
    where = f"table {stats_data_id}, rows {page.start}-{page.start + page.rows - 1}"
    if response["total_number"] != expected_total:
        raise FetchIntegrityError(
            f"{where}: e-Stat now counts {response['total_number']} rows instead of {expected_total} "
            "(the table changed during the fetch); nothing was saved: fetch it again"
        )
    if response.get("from_number") not in (None, page.start):
        raise FetchIntegrityError(f"{where}: e-Stat answered from row {response['from_number']}; nothing was saved")


def convert_page(converter: PageConverter, fetched: FetchedPage) -> pa.RecordBatch:
    """Arrow's JSON reader on captured VALUE lines; the dict path when there are none or Arrow refuses them."""
    import pyarrow as pa

    notes = fetched.data["notes"]
    lines = fetched.value_lines
    if lines is None:
        return converter.convert(fetched.data["values"], notes)
    if isinstance(lines, ValueSpan):
        lines = lines.lines()
    try:
        return converter.convert_json_lines(lines, notes)
    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):
        log.info("page not readable by Arrow's JSON reader; parsing it with json instead")
        text = lines if isinstance(lines, bytes) else lines.to_pybytes()
        values = as_list(json.loads(value_lines_as_json(text)))
        return converter.convert(values, notes)


class PageOrderLanes:
    """At most ``lanes`` holders at a time; a lane that frees up goes to the waiting page with the lowest
    index (not to the one that asked first). :meth:`occupied` takes a lane without waiting, for work
    every holder depends on (the in-order consumer): until it ends, lanes that free up are not handed
    on beyond the count. One event loop only."""

    def __init__(self, lanes: int) -> None:
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        self._free = lanes
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    @contextlib.asynccontextmanager
    async def lane(self, index: int) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (index, granted))
            try:
                await granted
            except BaseException:
                if granted.done() and not granted.cancelled():
                    self._release()  # the lane was handed over just before the cancellation: pass it on
                raise  # (a cancelled waiter left in the heap is skipped by _release)
        try:
            yield
        finally:
            self._release()

    @contextlib.contextmanager
    def occupied(self) -> Iterator[None]:
        """Hold a lane now, even when all are held (the count goes below zero, and the next lanes freed
        repay it before any waiting page gets one)."""
        self._free -= 1
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        self._free += 1
        while self._free > 0 and self._waiting:
            _, granted = heapq.heappop(self._waiting)
            if not granted.done():
                self._free -= 1
                granted.set_result(None)  # the lane moves to that page
                return


async def fetch_in_order(
    pages: Sequence[PageRequest],
    fetch: Callable[[PageRequest], Awaitable[Any]],
    consume: Callable[[PageRequest, Any], Awaitable[None]],
    concurrency: int,
    *,
    process: Callable[[PageRequest, Any], Awaitable[Any]] | None = None,
    process_lanes: int | None = None,
) -> None:
    """Run ``fetch`` for every page with at most ``concurrency`` in flight, then ``process`` (not counted
    against ``concurrency``: e.g. decoding while the next request runs), and ``consume`` in page order.

    At most ``2 × concurrency`` pages are in flight or waiting for their turn: a slow page holds the
    window, so results that arrive early cannot pile up. ``concurrency=1`` is strictly sequential (one
    page requested, decoded and consumed before the next is requested). The first failure cancels
    everything else.

    ``process_lanes``: at most that many ``process`` calls at a time, the earliest page first. When the
    CPU is short, pages processed all at once share it and all finish late, the first one too, which
    ``consume`` waits for and which holds the window (no new request starts); in page order the page
    consumed next is ready first. ``consume`` holds one of these lanes too, without waiting for it:
    it is the one step in page order, and every page after it waits for it, so while it runs one
    ``process`` fewer starts (a lane per CPU: the writer is not left sharing a CPU with a conversion
    per CPU, falling behind them, and writing the last pages one after another at the end). None: no
    bound.
    """
    limiter = asyncio.Semaphore(concurrency)
    window = 2 * concurrency if concurrency > 1 else 1
    tasks: dict[int, asyncio.Task[Any]] = {}
    lanes = PageOrderLanes(process_lanes) if process_lanes is not None else None

    async def run(page: PageRequest) -> Any:
        async with limiter:
            result = await fetch(page)
        if process is None:
            return result
        if lanes is None:
            return await process(page, result)
        async with lanes.lane(page.index):
            return await process(page, result)

    next_to_start = 0
    try:
        for position, page in enumerate(pages):
            while next_to_start < len(pages) and next_to_start < position + window:
                tasks[next_to_start] = asyncio.create_task(run(pages[next_to_start]))
                next_to_start += 1
            result = await tasks.pop(position)
            with lanes.occupied() if lanes is not None else contextlib.nullcontext():
                await consume(page, result)
    finally:
        for task in tasks.values():
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks.values(), return_exceptions=True)


def conversion_lanes() -> int:
    """Pages converted or written at a time: one per CPU this process may use (the writer holds one of
    these lanes while it writes; each conversion runs an Arrow reader, whose own threads share the same
    CPUs; the event loop needs some too)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus)


def source_options(source: StatsSource) -> dict[str, str]:
    """Options of a source that change the rows' content (``lang``: English names), part of the reuse key."""
    return dict(getattr(source, "options", None) or {})


class EstatClientSource:
    """:class:`StatsSource` over :class:`~estat_aws_mcp.estat.client.EstatClient` (retries, process-wide limit).

    ``lang="E"`` asks e-Stat for English names (metadata and data requests alike); names in filters are
    then resolved against the English names."""

    def __init__(self, client: EstatClient, *, lang: str = "J") -> None:
        if lang not in ("J", "E"):
            raise InputError(f"lang must be 'J' (Japanese) or 'E' (English); got {lang!r}")
        self.client = client
        self.lang = lang
        self._lang = {"lang": "E"} if lang == "E" else {}

    @property
    def options(self) -> dict[str, str]:
        return dict(self._lang)

    @property
    def process_limit(self) -> int:
        return self.client.limiter.limit

    async def meta_info(self, stats_data_id: str) -> MetaInfo:
        return await self.client.get_meta_info(stats_data_id, explanationGetFlg="N", **self._lang)

    async def count(self, stats_data_id: str, params: Mapping[str, str]) -> StatsData:
        # The full count response (not just the int) carries TABLE_INF.UPDATED_DATE for the change check.
        return await self.client.get_stats_data(
            stats_data_id, **params, cntGetFlg="Y", metaGetFlg="N", explanationGetFlg="N", **self._lang
        )

    async def page(self, stats_data_id: str, params: Mapping[str, str], start: int, limit: int) -> FetchedPage:
        # With a client built on ValueCapturingTransport (see new_client) the VALUE array skips json.
        with capturing_values() as capture:
            data = await self.client.get_stats_data(
                stats_data_id,
                **params,
                startPosition=start,
                limit=limit,
                metaGetFlg="N",
                explanationGetFlg="N",
                **self._lang,
            )
        return FetchedPage(data, capture.value_lines)


def new_client(settings: Settings | None = None, **options: Any) -> EstatClient:
    """An :class:`EstatClient` whose page responses take the fast path (:mod:`estat_aws_mcp.datasets.pages`)."""
    from estat_aws_mcp.estat.client import EstatClient, default_transport

    inner = options.pop("transport", None) or default_transport()
    return EstatClient(settings, transport=ValueCapturingTransport(inner), **options)
