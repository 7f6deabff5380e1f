"""Fixtures for e-Stat tests: a running fake e-Stat with the environment pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from estat_aws_mcp.estat.client import EstatClient
from tests.fakes.fake_estat import FakeEstat

TEST_APP_ID = "test-app-id-5b9f2c7e1d"


def fast_client(fake: FakeEstat, **options) -> EstatClient:
    """An EstatClient on ``fake`` with millisecond backoffs (tests check behaviour, not waiting)."""
    defaults = {"app_id": TEST_APP_ID, "base_url": fake.base_url, "backoff_initial_s": 0.001, "backoff_max_s": 0.005}
    return EstatClient(**{**defaults, **options})


@pytest.fixture(scope="session")
def _fake_estat_server(estat_fixtures_dir) -> Iterator[FakeEstat]:
    with FakeEstat(app_id=TEST_APP_ID, fixtures_dir=estat_fixtures_dir) as fake:
        yield fake


@pytest.fixture
def fake_estat(_fake_estat_server: FakeEstat, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEstat]:
    """The session's fake e-Stat, with faults/hooks and the request log cleared, and
    ``ESTAT_API_BASE_URL`` / ``ESTAT_APP_ID`` set for code that reads the settings. Tables and
    catalog entries a test registers are removed after it. Other test folders import both
    fixtures: ``from tests.estat.conftest import _fake_estat_server, fake_estat``."""
    fake = _fake_estat_server
    fake.clear_faults()
    fake.reset_log()
    fake.auth_failure_style = "json"
    fake.search_item_names = False
    registered = fake.snapshot()
    monkeypatch.setenv("ESTAT_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("ESTAT_APP_ID", TEST_APP_ID)
    monkeypatch.delenv("ESTAT_APP_ID_SSM_PARAMETER", raising=False)
    yield fake
    fake.clear_faults()
    fake.restore(registered)  # tables and catalog entries a test added do not leak into the next
