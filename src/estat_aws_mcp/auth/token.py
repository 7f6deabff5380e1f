"""The shared bearer token (``token`` mode): where it comes from, how it is compared, how rotation revokes.

The token is read from ``ESTAT_MCP_AUTH_TOKEN`` (fixed for the life of the process) or from the SSM
SecureString named by ``ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER``. An SSM-sourced token is trusted for
``ESTAT_MCP_AUTH_TOKEN_CACHE_S`` seconds (default 60) and then read again, so a rotated-out token
stops working within that bound on every warm container. A presented token that does not match
triggers one early re-read, at most once every ``ESTAT_MCP_AUTH_TOKEN_MIN_REFRESH_S`` seconds
(default 5) per process, so a newly rotated token works right away without letting wrong guesses
hammer SSM. Comparisons are constant-time; the token is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from estat_aws_mcp.errors import ConfigurationError, UpstreamError

logger = logging.getLogger(__name__)

API_KEY_HEADER = "x-api-key"


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """A header's value by case-insensitive name (the first one), or None."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def presented_bearer_token(headers: Mapping[str, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), or None."""
    value = header(headers, "authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def presented_api_key(headers: Mapping[str, Any]) -> str | None:
    """The value of an ``X-API-Key`` header (as the seed's deployment guides send it), or None."""
    value = header(headers, API_KEY_HEADER)
    return value.strip() if value and value.strip() else None


def fingerprint(secret: str) -> str:
    """A short one-way label for a secret (rate-limit keys); not reversible, never the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:24]


def same_secret(presented: str, expected: bytes) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    return hmac.compare_digest(presented.encode("utf-8"), expected)


class TokenSource(Protocol):
    """Where the expected token comes from."""

    description: str

    def matches(self, presented: str) -> bool:
        """Whether ``presented`` is the current token. May raise ConfigurationError/UpstreamError."""
        ...


class StaticToken:
    """A token fixed for the life of the process (``ESTAT_MCP_AUTH_TOKEN``)."""

    def __init__(self, token: str, description: str = "env:ESTAT_MCP_AUTH_TOKEN") -> None:
        self._token = token.encode("utf-8")
        self.description = description

    def matches(self, presented: str) -> bool:
        return same_secret(presented, self._token)


class RotatingSsmToken:
    """A token read from SSM, trusted for ``ttl_s`` and re-read early (rate-limited) on a mismatch.

    When the token cannot be read at all (missing parameter, no permission, SSM unreachable) the
    error propagates and the gate refuses everyone (fail closed); a failed read is not retried more
    often than every ``min_refresh_s`` seconds.
    """

    def __init__(
        self,
        parameter: str,
        *,
        ttl_s: float = 60.0,
        min_refresh_s: float = 5.0,
        read: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from estat_aws_mcp.aws.ssm import CachedRead

        self.parameter = parameter
        self.description = f"ssm:{parameter}"
        reader = read or _read_from_ssm
        self._cache = CachedRead(
            lambda: reader(parameter).encode("utf-8"), ttl_s=ttl_s, min_refresh_s=min_refresh_s, clock=clock
        )
        self._lock = threading.Lock()

    @property
    def ttl_s(self) -> float:
        return self._cache.ttl_s

    @property
    def min_refresh_s(self) -> float:
        return self._cache.min_refresh_s

    @property
    def reads(self) -> int:
        """SSM reads so far (observability and tests)."""
        return self._cache.reads

    def matches(self, presented: str) -> bool:
        with self._lock:
            cache = self._cache
            now = cache.clock()
            if same_secret(presented, cache.get(now)):
                return True
            if now - cache.attempt_at < cache.min_refresh_s:
                return False
            # Perhaps the token was just rotated: one early read, then compare again.
            try:
                current = cache.refresh(now)
            except (ConfigurationError, UpstreamError) as error:
                logger.warning("early re-read of %s failed: %s", self.description, error)
                # The value read before stays valid until its time is up.
                cache.failure = None
                return False
            return same_secret(presented, current)


def _read_from_ssm(name: str) -> str:
    from estat_aws_mcp.aws.ssm import read_secure_string

    return read_secure_string(name)


def token_source_from_settings(settings: Any) -> TokenSource | None:
    """The configured token source (SSM wins over the environment), or None when no token is set."""
    if settings.auth_token_ssm_parameter:
        return RotatingSsmToken(
            settings.auth_token_ssm_parameter,
            ttl_s=settings.auth_token_cache_s,
            min_refresh_s=settings.auth_token_min_refresh_s,
        )
    if settings.auth_token is not None and settings.auth_token.get_secret_value().strip():
        return StaticToken(settings.auth_token.get_secret_value().strip())
    return None
