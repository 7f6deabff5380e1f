"""Who may call: an optional bearer token for NONE-auth Function URLs, and the IAM caller for the audit log.

With ``AuthType = AWS_IAM`` the Function URL itself verifies the SigV4 signature before the function
runs and hands the verified identity in ``requestContext.authorizer.iam``; the handler only records
it. With ``AuthType = NONE`` a token can still be required: it is read from the SSM SecureString
named by ``ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER`` (once per container, through
:mod:`estat_aws_mcp.aws.ssm`) or from ``ESTAT_MCP_AUTH_TOKEN`` (local runs), compared in constant
time, and a request without the right ``Authorization: Bearer …`` header gets 401 with
``WWW-Authenticate``. The token never reaches a log line or a response.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from estat_aws_mcp.settings import Settings

REALM = "estat-aws-mcp"


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: HTTP status, a message safe to show, and the challenge header."""

    status: int
    message: str
    www_authenticate: str | None = None


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def presented_bearer_token(headers: Mapping[str, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), or None."""
    value = _header(headers, "authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerTokenGate:
    """Checks ``Authorization: Bearer`` against the configured token; open when none is configured."""

    def __init__(self, load_token: Callable[[], str] | None, source: str | None = None) -> None:
        self._load_token = load_token
        self._token: bytes | None = None
        self.source = source

    @classmethod
    def from_settings(cls, settings: Settings) -> BearerTokenGate:
        if settings.auth_token_ssm_parameter:
            name = settings.auth_token_ssm_parameter

            def from_ssm() -> str:
                from estat_aws_mcp.aws.ssm import get_secure_string

                return get_secure_string(name)

            return cls(from_ssm, source=f"ssm:{name}")
        if settings.auth_token is not None and settings.auth_token.get_secret_value().strip():
            token = settings.auth_token.get_secret_value().strip()
            return cls(lambda: token, source="env:ESTAT_MCP_AUTH_TOKEN")
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self._load_token is not None

    def _expected(self) -> bytes:
        # Cached for the life of the container (warm invocations do not read SSM again).
        if self._token is None:
            assert self._load_token is not None
            self._token = self._load_token().encode("utf-8")
        return self._token

    def check(self, headers: Mapping[str, Any]) -> Rejection | None:
        """None when the request may proceed, else the rejection to send.

        Raises the token loader's error (e.g. ConfigurationError for a missing SSM parameter):
        the caller answers 500 and nobody gets in while the token cannot be read.
        """
        if not self.enabled:
            return None
        expected = self._expected()
        presented = presented_bearer_token(headers)
        if presented is None:
            return Rejection(
                401,
                "Unauthorized: send 'Authorization: Bearer <token>'.",
                f'Bearer realm="{REALM}"',
            )
        if not hmac.compare_digest(presented.encode("utf-8"), expected):
            return Rejection(
                401,
                "Unauthorized: the bearer token is not valid.",
                f'Bearer realm="{REALM}", error="invalid_token"',
            )
        return None


def caller_identity(event: Mapping[str, Any]) -> str | None:
    """The verified IAM caller of an AWS_IAM Function URL (ARN, else caller id, else account), or None."""
    request_context = event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    if not isinstance(iam, Mapping):
        return None
    for key in ("userArn", "callerId", "accountId"):
        value = iam.get(key)
        if isinstance(value, str) and value:
            return value
    return None
