"""STATUS -> error mapping details (the client tests cover the HTTP paths)."""

from __future__ import annotations

import pytest

from estat_aws_mcp.errors import ConfigurationError, InputError, UpstreamError
from estat_aws_mcp.estat.status import error_for_status, guess_parameter, short_text, zero_padded_id


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (100, ConfigurationError, None),
        (101, InputError, None),
        (150, InputError, None),
        (199, InputError, None),
        (200, UpstreamError, True),
        (299, UpstreamError, True),
        (300, InputError, None),
        (399, InputError, None),
        (400, UpstreamError, False),
        (999, UpstreamError, False),
    ],
)
def test_every_status_class(status: int, kind: type, retryable: bool | None) -> None:
    error = error_for_status(status, "メッセージ", endpoint="getStatsData", params={"statsDataId": "123"})
    assert isinstance(error, kind)
    assert f"STATUS {status}" in str(error)
    if retryable is not None:
        assert error.retryable is retryable


@pytest.mark.parametrize(
    ("message", "params", "expected"),
    [
        ("パラメータ（statsDataId）が不正です。", {}, None),  # not sent: not claimed from camelCase alone
        ("パラメータ（statsDataId）が不正です。", {"statsDataId": "x"}, "statsDataId"),
        ("必須パラメータ（統計表ID）が指定されていません。", {}, "statsDataId"),
        ("パラメータ（データ取得件数）の指定が不正です。", {"limit": "0"}, "limit"),
        ("cdArea must be ...", {"cdArea": "1", "cdAreaFrom": "2"}, "cdArea"),  # the longest sent name that occurs
        ("何かがおかしい", {"limit": "1"}, None),
    ],
)
def test_guess_parameter(message: str, params: dict[str, str], expected: str | None) -> None:
    assert guess_parameter(message, params) == expected


def test_zero_padded_id() -> None:
    assert zero_padded_id("3445078") == "0003445078"
    assert zero_padded_id("0003445078") is None
    assert zero_padded_id("abc") is None


def test_long_parameter_lists_are_shortened_and_app_id_is_never_listed() -> None:
    params = {"appId": "secret-app-id", "cdArea": ",".join(f"{n:05d}" for n in range(500))}
    message = str(error_for_status(102, "不正", endpoint="getStatsData", params=params))
    assert "secret-app-id" not in message and len(message) < 800 and "…" in message
    assert short_text(b"a\n  b") == "a b"
