"""SecureString reads (moto's server on 127.0.0.1) and the appId taken from SSM."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from estat_aws_mcp.aws import ssm
from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.estat.app_id import resolve_app_id
from estat_aws_mcp.settings import get_settings

SECRET = "ssm-app-id-0f3c9b2a71"


@pytest.fixture
def ssm_env(aws_env, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ssm.clear_cache()
    monkeypatch.delenv("ESTAT_APP_ID", raising=False)
    aws_client("ssm").put_parameter(Name="/estat/app-id", Value=SECRET, Type="SecureString")
    yield
    ssm.clear_cache()


def test_reads_and_caches_a_secure_string(ssm_env, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ssm.get_secure_string("/estat/app-id") == SECRET
    aws_client("ssm").put_parameter(Name="/estat/app-id", Value="rotated", Type="SecureString", Overwrite=True)
    assert ssm.get_secure_string("/estat/app-id") == SECRET  # read once per process
    ssm.clear_cache()
    assert ssm.get_secure_string("/estat/app-id") == "rotated"


def test_missing_parameter_is_a_configuration_error(ssm_env) -> None:
    with pytest.raises(ConfigurationError, match="'/estat/missing' does not exist"):
        ssm.get_secure_string("/estat/missing")


def test_app_id_from_ssm_when_env_is_unset(ssm_env, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ESTAT_APP_ID_SSM_PARAMETER", "/estat/app-id")
    assert resolve_app_id(get_settings()) == SECRET
    assert SECRET not in caplog.text


def test_env_app_id_wins_over_ssm(ssm_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_APP_ID_SSM_PARAMETER", "/estat/app-id")
    monkeypatch.setenv("ESTAT_APP_ID", "from-env-1234")
    assert resolve_app_id(get_settings()) == "from-env-1234"


def test_missing_ssm_parameter_says_how_to_configure(ssm_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_APP_ID_SSM_PARAMETER", "/estat/nope")
    with pytest.raises(ConfigurationError) as caught:
        resolve_app_id(get_settings())
    assert "/estat/nope" in str(caught.value) and "ESTAT_APP_ID" in str(caught.value)


@pytest.mark.anyio
async def test_client_uses_the_ssm_app_id(ssm_env, monkeypatch: pytest.MonkeyPatch) -> None:
    from estat_aws_mcp.estat.client import EstatClient
    from tests.fakes.fake_estat import FakeEstat

    monkeypatch.setenv("ESTAT_APP_ID_SSM_PARAMETER", "/estat/app-id")
    with FakeEstat(app_id=SECRET, fixtures_dir=None) as fake:
        async with EstatClient(base_url=fake.base_url) as client:
            result = await client.get_stats_list(searchWord="家計")
    assert result["number"] >= 1
    assert fake.requests[0].app_id_valid
