"""At most ``estat_concurrency`` (4) e-Stat requests in flight per process, across event loops."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from estat_aws_mcp.estat.client import EstatClient
from estat_aws_mcp.estat.concurrency import ProcessLimiter, process_limiter
from tests.estat.conftest import TEST_APP_ID
from tests.fakes.fake_estat import FakeEstat


async def _callers(base_url: str, callers: int, clients: int = 1, **options) -> list[int]:
    shared = [EstatClient(app_id=TEST_APP_ID, base_url=base_url, **options) for _ in range(clients)]
    results: list[int] = []

    async def one(n: int) -> None:
        results.append(await shared[n % clients].count_stats_list(searchWord="人口"))

    for client in shared:
        await client.__aenter__()
    try:
        async with anyio.create_task_group() as group:
            for n in range(callers):
                group.start_soon(one, n)
    finally:
        for client in shared:
            await client.aclose()
    return results


def test_twenty_callers_never_exceed_four_in_flight(fake_estat: FakeEstat) -> None:
    fake_estat.set_latency(0.05)
    fake_estat.hold_until_in_flight(4)  # the bound is reached whatever the machine's load (see the fake)
    results = anyio.run(_callers, fake_estat.base_url, 20, 3)  # three clients share the process bound
    assert len(results) == 20
    assert fake_estat.max_in_flight == 4, fake_estat.max_in_flight  # bounded, yet concurrent
    assert process_limiter(4).in_use == 0


def test_the_measurement_would_catch_a_larger_bound(fake_estat: FakeEstat) -> None:
    fake_estat.set_latency(0.1)
    fake_estat.hold_until_in_flight(5)
    anyio.run(lambda: _callers(fake_estat.base_url, 20, 1, max_concurrency=8))
    assert fake_estat.max_in_flight > 4


def test_bound_holds_across_separate_anyio_runs(fake_estat: FakeEstat) -> None:
    # The Lambda in-process handler runs each request under a fresh anyio.run (a new loop each time).
    fake_estat.set_latency(0.03)
    fake_estat.hold_until_in_flight(4)
    for _ in range(2):
        assert len(anyio.run(_callers, fake_estat.base_url, 10)) == 10
    assert fake_estat.max_in_flight == 4, fake_estat.max_in_flight  # bounded, yet concurrent


def test_bound_holds_across_concurrent_event_loops_in_threads(fake_estat: FakeEstat) -> None:
    fake_estat.set_latency(0.05)
    fake_estat.hold_until_in_flight(4)
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(len(anyio.run(_callers, fake_estat.base_url, 10)))
        except BaseException as error:  # surfaced below
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == [10, 10]
    assert fake_estat.max_in_flight == 4, fake_estat.max_in_flight  # bounded, yet concurrent


def test_limiter_cancelled_waiters_do_not_leak_slots() -> None:
    limiter = ProcessLimiter(2)

    async def main() -> None:
        holders_done = asyncio.Event()

        async def hold() -> None:
            async with limiter.slot():
                await holders_done.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await asyncio.sleep(0.01)
        waiters = [asyncio.create_task(limiter.acquire()) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert limiter.in_use == 2
        waiters[0].cancel()
        holders_done.set()  # releases hand slots to the remaining waiters
        await asyncio.gather(*holders)
        await asyncio.gather(*waiters, return_exceptions=True)
        granted = [w for w in waiters if not w.cancelled()]
        assert len(granted) == 2
        for _ in granted:
            limiter.release()
        assert limiter.in_use == 0

    asyncio.run(main())


def test_limiter_is_shared_per_limit() -> None:
    assert process_limiter(4) is process_limiter(4)
    assert process_limiter(3) is not process_limiter(4)
    with pytest.raises(ValueError):
        ProcessLimiter(0)
