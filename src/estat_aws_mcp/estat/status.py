"""e-Stat RESULT.STATUS -> outcome: a result, a retry, or an error a user can act on.

STATUS classes (e-Stat API 3.0 manual; 0, 1 and 100 are in the recordings, the rest are documented only):

- 0 ok; 1 no data (an empty result, not an error); 2 partial success (the caller surfaces ``partial``);
- 100 authentication failure -> :class:`EstatAuthError` (a ConfigurationError), never retried;
- 101-199 parameter errors -> :class:`EstatParameterError` (an InputError) naming the parameter;
- 200-299 server-side errors -> :class:`EstatServerError` (an UpstreamError), retried by the client;
- 300-399 unknown ids -> :class:`EstatUnknownIdError` (an InputError) suggesting the 10-digit id;
- anything else -> :class:`EstatServerError`, not retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from estat_aws_mcp.errors import ConfigurationError, InputError, UpstreamError

APP_ID_HOWTO = (
    "Set the environment variable ESTAT_APP_ID to your e-Stat application id (free: register at "
    "https://www.e-stat.go.jp/api/ and issue one under マイページ > API機能(アプリケーションID発行)), or set "
    "ESTAT_APP_ID_SSM_PARAMETER to the name of an SSM SecureString parameter that holds it; then restart the server."
)

# Japanese parameter labels e-Stat uses in ERROR_MSG -> the request parameter they refer to.
_PARAMETER_LABELS = {
    "統計表ID": "statsDataId",
    "データセットID": "dataSetId",
    "開始位置": "startPosition",
    "取得件数": "limit",
    "データ取得件数": "limit",
    "検索キーワード": "searchWord",
    "調査年月": "surveyYears",
    "公開年月": "openYears",
    "統計分野": "statsField",
    "政府統計コード": "statsCode",
    "集計地域区分": "collectArea",
    "更新日付": "updatedDate",
    "言語": "lang",
    "メタ情報有無": "metaGetFlg",
    "件数取得フラグ": "cntGetFlg",
    "アプリケーションID": "appId",
}


class EstatAuthError(ConfigurationError):
    """STATUS 100: e-Stat rejected the appId."""

    status = 100


class EstatParameterError(InputError):
    """STATUS 101-199: a request parameter was rejected."""

    def __init__(self, message: str, *, status: int, parameter: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.parameter = parameter


class EstatUnknownIdError(InputError):
    """STATUS 300-399: the id does not exist."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class EstatServerError(UpstreamError):
    """STATUS 200-299 (retryable) or an unexpected STATUS."""

    def __init__(self, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def is_success(status: int) -> bool:
    return status in (0, 1, 2)


def guess_parameter(error_msg: str, params: Mapping[str, Any]) -> str | None:
    """The request parameter an e-Stat error message refers to, if it can be told."""
    lowered = error_msg.lower()
    for name in sorted(params, key=len, reverse=True):
        if name != "appId" and name.lower() in lowered:
            return name
    for label in sorted(_PARAMETER_LABELS, key=len, reverse=True):
        if label in error_msg:
            return _PARAMETER_LABELS[label]
    return None


def zero_padded_id(stats_data_id: str) -> str | None:
    """``"3445078"`` -> ``"0003445078"`` (None when that is not a plausible fix)."""
    digits = stats_data_id.strip()
    if digits.isdigit() and len(digits) < 10:
        return digits.zfill(10)
    return None


def error_for_status(
    status: int, error_msg: str, *, endpoint: str, params: Mapping[str, Any]
) -> ConfigurationError | InputError | UpstreamError:
    """The exception for a non-success STATUS (never call it for 0, 1 or 2)."""
    quoted = f"「{error_msg}」" if error_msg else "(no message)"
    if status == 100:
        return EstatAuthError(f"e-Stat rejected the application id (STATUS 100 {quoted}). {APP_ID_HOWTO}")
    if 101 <= status <= 199:
        parameter = guess_parameter(error_msg, params)
        sent = short_text(", ".join(f"{key}={value}" for key, value in params.items() if key != "appId") or "none", 300)
        target = f"parameter '{parameter}'" if parameter else "a request parameter"
        return EstatParameterError(
            f"e-Stat {endpoint} rejected {target} (STATUS {status} {quoted}). Parameters sent: {sent}. "
            "Fix the value (see the e-Stat API 3.0 parameter reference) and try again.",
            status=status,
            parameter=parameter,
        )
    if 200 <= status <= 299:
        return EstatServerError(
            f"e-Stat {endpoint} reported a server-side error (STATUS {status} {quoted}); try again later.",
            status=status,
            retryable=True,
        )
    if 300 <= status <= 399:
        identifier = str(params.get("statsDataId") or params.get("dataSetId") or "")
        hint = ""
        padded = zero_padded_id(identifier)
        if padded:
            hint = f" Did you mean '{padded}'?"
        return EstatUnknownIdError(
            f"e-Stat {endpoint} does not know the id '{identifier}' (STATUS {status} {quoted}).{hint}"
            " A statsDataId is the 10-digit zero-padded table id shown by search_estat_data "
            "(for example '0003445078').",
            status=status,
        )
    return EstatServerError(
        f"e-Stat {endpoint} answered with an unexpected STATUS {status} {quoted}.", status=status, retryable=False
    )


_SPACE = re.compile(r"\s+")


def short_text(body: bytes | str, limit: int = 200) -> str:
    """A one-line excerpt of a body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[:limit] + "…"
