"""The appId never appears in an error message, a log line (ours, httpx's, httpcore's) or a result."""

from __future__ import annotations

import json
import logging

import pytest

from estat_aws_mcp.errors import EstatMcpError
from estat_aws_mcp.estat.app_id import redact
from estat_aws_mcp.estat.client import EstatClient
from tests.estat.conftest import TEST_APP_ID
from tests.fakes.fake_estat import FakeEstat

pytestmark = pytest.mark.anyio

WRONG_APP_ID = "wrong-app-id-7c1e0f9a33"


def test_redact_removes_app_id_query_values_and_known_secrets() -> None:
    url = f"https://api.e-stat.go.jp/rest/3.0/app/json/getStatsList?appId={TEST_APP_ID}&searchWord=x"
    assert redact(url) == "https://api.e-stat.go.jp/rest/3.0/app/json/getStatsList?appId=***&searchWord=x"
    assert TEST_APP_ID not in redact(f"failed for {TEST_APP_ID} (APPID={TEST_APP_ID})", [TEST_APP_ID])


async def test_app_id_never_in_errors_logs_or_results(fake_estat: FakeEstat, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "estat_aws_mcp"):
        caplog.set_level(logging.DEBUG, logger=name)
    messages: list[str] = []
    results: list[str] = []

    async def attempt(client: EstatClient, call) -> None:
        try:
            results.append(json.dumps(await call(client), ensure_ascii=False, default=str))
        except EstatMcpError as error:
            messages.append(str(error))
            messages.append(repr(error))

    fast = {"backoff_initial_s": 0.001, "backoff_max_s": 0.002, "max_attempts": 2, "timeout_s": 0.3}
    async with EstatClient(app_id=TEST_APP_ID, base_url=fake_estat.base_url, **fast) as client:
        await attempt(client, lambda c: c.get_stats_list(searchWord="人口"))
        await attempt(client, lambda c: c.get_stats_data("0003445078", limit=5))
        fake_estat.fail(times=None, status=503)
        await attempt(client, lambda c: c.get_meta_info("0003445078"))
        fake_estat.clear_faults()
        fake_estat.reset_connection(times=None)
        await attempt(client, lambda c: c.count_stats_list(searchWord="人口"))
        fake_estat.clear_faults()
        fake_estat.malformed_json(times=None)
        await attempt(client, lambda c: c.count_stats_list(searchWord="人口"))
        fake_estat.clear_faults()
        fake_estat.delay(0.6, times=2)
        await attempt(client, lambda c: c.count_stats_list(searchWord="人口"))
        fake_estat.clear_faults()
        fake_estat.estat_status(102)
        await attempt(client, lambda c: c.get_stats_data("0003445078", limit=5))
        await attempt(client, lambda c: c.get_meta_info("12345"))
    wrong_base = fake_estat.base_url.replace("/rest/3.0/app", "/nowhere")
    async with EstatClient(app_id=TEST_APP_ID, base_url=wrong_base, **fast) as client:
        await attempt(client, lambda c: c.count_stats_list(searchWord="人口"))
    for style in ("json", "xml403"):
        fake_estat.auth_failure_style = style
        async with EstatClient(app_id=WRONG_APP_ID, base_url=fake_estat.base_url, **fast) as client:
            await attempt(client, lambda c: c.count_stats_list(searchWord="人口"))

    assert len(messages) >= 2 * 8 and results  # every scenario ran
    log_lines = [record.getMessage() for record in caplog.records]
    assert any("HTTP Request" in line for line in log_lines), "httpx request logging was not captured"
    assert any(record.name.startswith("httpcore") for record in caplog.records)
    for text in messages + log_lines + results + [caplog.text]:
        assert TEST_APP_ID not in text
        assert WRONG_APP_ID not in text
    # The fake did receive the appId (it was sent, just never shown).
    assert any(request.app_id_valid for request in fake_estat.requests)


def test_http_library_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    import estat_aws_mcp.estat.client  # noqa: F401  (installs the filter)

    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info("HTTP Request: GET %s", f"https://x/json/getStatsList?appId={TEST_APP_ID}&limit=1")
    logging.getLogger("httpcore.http11").debug("send url=/json/getStatsData?appId=%s", TEST_APP_ID)
    assert TEST_APP_ID not in caplog.text
    assert caplog.text.count("appId=***") == 2


@pytest.mark.anyio
async def test_an_app_id_passed_as_a_parameter_is_ignored(fake_estat: FakeEstat) -> None:
    async with EstatClient(app_id=TEST_APP_ID, base_url=fake_estat.base_url) as client:
        await client.count_stats_list(searchWord="人口", appId=WRONG_APP_ID)
    assert fake_estat.requests[0].app_id_valid  # the configured appId, sent once
