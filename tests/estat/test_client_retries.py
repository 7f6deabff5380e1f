"""Transient failures are retried (bounded in attempts and in time); everything else fails fast."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from estat_aws_mcp.errors import UpstreamError
from estat_aws_mcp.estat.client import EstatClient, _retry_after_seconds
from tests.estat.conftest import TEST_APP_ID, fast_client
from tests.fakes.fake_estat import FakeEstat

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_burst_recovers(fake_estat: FakeEstat, status: int) -> None:
    fake_estat.fail(times=3, status=status)
    async with fast_client(fake_estat, max_attempts=4) as client:
        count = await client.count_stats_list(searchWord="人口")
    assert count > 0
    assert [r.http_status for r in fake_estat.requests] == [status, status, status, 200]


async def test_5xx_burst_that_does_not_recover_stops_at_max_attempts(fake_estat: FakeEstat) -> None:
    fake_estat.fail(times=None, status=503)
    async with fast_client(fake_estat, max_attempts=3) as client:
        with pytest.raises(UpstreamError) as caught:
            await client.get_stats_list(searchWord="人口")
    assert fake_estat.count() == 3
    message = str(caught.value)
    assert "3 attempt(s)" in message and "HTTP 503" in message and "try again later" in message


async def test_5xx_burst_that_does_not_recover_stops_within_the_time_budget(fake_estat: FakeEstat) -> None:
    fake_estat.fail(times=None, status=502)
    budget = 1.5  # several 0.05-0.1 s backoffs fit even when each attempt is slow on a loaded machine
    started = time.monotonic()
    async with fast_client(
        fake_estat, max_attempts=1000, retry_budget_s=budget, backoff_initial_s=0.05, backoff_max_s=0.1
    ) as client:
        with pytest.raises(UpstreamError, match="HTTP 502"):
            await client.get_stats_list(searchWord="人口")
    elapsed = time.monotonic() - started
    # No new attempt starts once the next wait would cross the budget; one fast attempt may follow.
    assert elapsed < budget + 1.0  # unbounded, 1000 attempts would take over a minute
    assert 3 <= fake_estat.count() < 1000


async def test_burst_on_one_page_only(fake_estat: FakeEstat) -> None:
    fake_estat.add_generated_table("0009200001", [_axis(30)])
    fake_estat.fail(times=2, status=500, start_position=11)
    async with fast_client(fake_estat) as client:
        first = await client.get_stats_data("0009200001", limit=10)
        second = await client.get_stats_data("0009200001", limit=10, startPosition=first["next_key"])
    assert len(first["values"]) == len(second["values"]) == 10
    assert [r.http_status for r in fake_estat.requests] == [200, 500, 500, 200]


def _axis(n: int):
    from tests.fakes.fake_estat import Axis

    return Axis.numbered("cat01", "項目", n)


async def test_429_honours_retry_after(fake_estat: FakeEstat) -> None:
    fake_estat.rate_limit(times=1, retry_after=0.2)
    async with fast_client(fake_estat) as client:
        assert await client.count_stats_list(searchWord="人口") > 0
    first, second = fake_estat.requests
    assert first.http_status == 429 and second.http_status == 200
    assert second.started - first.finished >= 0.19


async def test_429_with_a_retry_after_beyond_the_cap_fails_fast(fake_estat: FakeEstat) -> None:
    fake_estat.rate_limit(times=None, retry_after=3600)
    cap = 5.0
    started = time.monotonic()
    async with fast_client(fake_estat, retry_after_cap_s=cap) as client:
        with pytest.raises(UpstreamError, match="asks to wait 3600 s"):
            await client.count_stats_list(searchWord="人口")
    assert time.monotonic() - started < cap  # it did not wait, not even the capped time
    assert fake_estat.count() == 1


def test_retry_after_parsing() -> None:
    assert _retry_after_seconds("2") == 2.0
    assert _retry_after_seconds("0.5") == 0.5
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("soon") is None
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= _retry_after_seconds(in_a_minute) <= 61


async def test_timeout_is_retried(fake_estat: FakeEstat) -> None:
    # The first answer is held until the test ends (not for a fixed time: a request still in flight would
    # count in the next test's max_in_flight); the retry must be answered within the same timeout, and
    # 1 s leaves a loaded machine room for an ordinary answer where 0.3 s was tight.
    release = threading.Event()
    held: list[int] = []

    def hold_the_first(request: Any) -> None:
        if not held:
            held.append(request.seq)
            release.wait(30)

    fake_estat.before_response(hold_the_first)
    try:
        async with fast_client(fake_estat, timeout_s=1.0) as client:
            assert await client.count_stats_list(searchWord="人口") > 0
    finally:
        release.set()
    assert fake_estat.count() == 2 and held == [1]


async def test_persistent_timeout_fails_within_the_budget(fake_estat: FakeEstat) -> None:
    fake_estat.delay(0.8, times=None)
    started = time.monotonic()
    async with fast_client(fake_estat, timeout_s=0.2, retry_budget_s=0.7, max_attempts=100) as client:
        with pytest.raises(UpstreamError, match="timed out"):
            await client.count_stats_list(searchWord="人口")
    assert time.monotonic() - started < 0.7 + 1.0


async def test_connection_reset_is_retried(fake_estat: FakeEstat) -> None:
    fake_estat.reset_connection(times=2)
    async with fast_client(fake_estat) as client:
        assert await client.count_stats_list(searchWord="人口") > 0
    assert [r.outcome for r in fake_estat.requests] == ["reset", "reset", "response"]


async def test_connection_reset_that_persists(fake_estat: FakeEstat) -> None:
    fake_estat.reset_connection(times=None)
    async with fast_client(fake_estat, max_attempts=3) as client:
        with pytest.raises(UpstreamError, match="connection failed"):
            await client.count_stats_list(searchWord="人口")
    assert fake_estat.count() == 3


async def test_malformed_json_is_retried_once_then_recovers(fake_estat: FakeEstat) -> None:
    fake_estat.malformed_json(times=1)
    async with fast_client(fake_estat) as client:
        assert await client.count_stats_list(searchWord="人口") > 0
    assert fake_estat.count() == 2


async def test_malformed_json_that_persists_is_a_clear_upstream_error(fake_estat: FakeEstat) -> None:
    fake_estat.malformed_json(times=None)
    async with fast_client(fake_estat, max_attempts=10) as client:
        with pytest.raises(UpstreamError, match="malformed JSON") as caught:
            await client.get_meta_info("0003445078")
    assert "getMetaInfo" in str(caught.value)
    assert fake_estat.count() == 2  # one retry only, whatever max_attempts allows


async def test_maintenance_page_is_named_in_the_error(fake_estat: FakeEstat) -> None:
    from tests.fakes.fake_estat import FakeResponse

    page = "<html><head><title>メンテナンス中のお知らせ</title></head><body>...</body></html>".encode()
    fake_estat.before_response(lambda request: FakeResponse(200, page, content_type="text/html"))
    async with fast_client(fake_estat) as client:
        with pytest.raises(UpstreamError, match="メンテナンス中のお知らせ"):
            await client.count_stats_list()
    assert fake_estat.count() == 2


async def test_503_retry_after_is_honoured(fake_estat: FakeEstat) -> None:
    fake_estat.fail(times=1, status=503, headers={"Retry-After": "0.3"})
    async with fast_client(fake_estat) as client:
        assert await client.count_stats_list(searchWord="人口") > 0
    first, second = fake_estat.requests
    assert second.started - first.finished >= 0.29


async def test_client_errors_other_than_auth_fail_fast(fake_estat: FakeEstat) -> None:
    fake_estat.fail(times=None, status=400, body=b"Bad Request")
    async with fast_client(fake_estat) as client:
        with pytest.raises(UpstreamError, match="HTTP 400"):
            await client.count_stats_list(searchWord="人口")
    assert fake_estat.count() == 1


async def test_works_without_async_with(fake_estat: FakeEstat) -> None:
    fake_estat.fail(times=1, status=503)
    client = fast_client(fake_estat)
    assert await client.count_stats_list(searchWord="人口") > 0
    assert fake_estat.count() == 2


async def test_redirect_fails_fast_with_redacted_location(fake_estat: FakeEstat) -> None:
    location = f"https://elsewhere.example/rest/3.0/app/json/getStatsList?appId={TEST_APP_ID}"
    fake_estat.fail(times=None, status=301, body=b"", headers={"Location": location})
    async with fast_client(fake_estat) as client:
        with pytest.raises(UpstreamError, match="redirect") as caught:
            await client.count_stats_list()
    assert TEST_APP_ID not in str(caught.value) and "appId=***" in str(caught.value)
    assert fake_estat.count() == 1


async def test_unreachable_host_is_retried_then_explained() -> None:
    from tests.processes import free_port

    base_url = f"http://127.0.0.1:{free_port()}/rest/3.0/app"  # nothing listens there
    client = EstatClient(app_id=TEST_APP_ID, base_url=base_url, max_attempts=2, backoff_initial_s=0.001)
    with pytest.raises(UpstreamError, match=r"could not connect to 127\.0\.0\.1") as caught:
        await client.count_stats_list()
    assert "2 attempt(s)" in str(caught.value)


async def test_non_http_base_url_is_a_configuration_error() -> None:
    from estat_aws_mcp.errors import ConfigurationError

    client = EstatClient(app_id=TEST_APP_ID, base_url="ftp://api.e-stat.go.jp/rest/3.0/app")
    with pytest.raises(ConfigurationError, match="ESTAT_API_BASE_URL"):
        await client.count_stats_list()
