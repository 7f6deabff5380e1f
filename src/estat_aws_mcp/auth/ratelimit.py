"""Per-caller rate limits for the MCP endpoint: 429 with ``Retry-After`` beyond the allowance.

The caller is the OAuth ``sub`` (else client id), a fingerprint of the shared token, the IAM caller,
or the source IP, in that order (see :class:`estat_aws_mcp.auth.gate.Caller`). Off unless
``ESTAT_MCP_RATE_LIMIT_PER_MINUTE`` is set.

- :class:`TokenBuckets` (in-process, ``serve --http`` and a Lambda without a table): a token bucket
  per caller that refills ``per_minute`` per minute and holds ``burst`` (default: ``per_minute``).
- :class:`DynamoDbWindows` (``ESTAT_MCP_RATE_LIMIT_TABLE``, for Lambda where each container would
  otherwise count alone): one atomic counter per caller and minute, ``UpdateItem`` with ``ADD`` and a
  condition below the limit, expiring through the table's TTL attribute. The item key holds a hash
  of the caller key, never a token. When DynamoDB cannot be reached the request is let through and
  the failure logged: the limiter protects capacity, the authentication gate protects access.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from estat_aws_mcp.auth.token import fingerprint

logger = logging.getLogger(__name__)

WINDOW_S = 60
KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
_MAX_BUCKETS = 10_000


class RateLimiter(Protocol):
    def admit(self, key: str) -> float | None:
        """None when the request may proceed, else the seconds to wait (``Retry-After``)."""
        ...


class TokenBuckets:
    """A token bucket per caller, in this process."""

    def __init__(self, per_minute: int, burst: int | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    def admit(self, key: str) -> float | None:
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._prune(now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= _MAX_BUCKETS:
            return
        # Forget callers whose buckets are full again (they lose nothing).
        full = [k for k, (t, u) in self._buckets.items() if t + (now - u) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]


class DynamoDbWindows:
    """One atomic counter per caller and minute in a DynamoDB table (shared by all containers)."""

    def __init__(
        self,
        table: str,
        per_minute: int,
        *,
        client: Any = None,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        window_s: int = WINDOW_S,
    ) -> None:
        """``client_factory``: where to get the DynamoDB client on first use (another component's, e.g.
        the OAuth proxy's state store); default: a client of the configured AWS environment."""
        self.table = table
        self.limit = per_minute * window_s // 60 or 1
        self.window_s = window_s
        self._client = client
        self._client_factory = client_factory
        self._clock = clock

    def _dynamodb(self) -> Any:
        if self._client is None:
            if self._client_factory is not None:
                self._client = self._client_factory()
            else:
                from estat_aws_mcp.aws.clients import aws_client

                self._client = aws_client("dynamodb")
        return self._client

    def admit(self, key: str) -> float | None:
        from botocore.exceptions import BotoCoreError, ClientError

        now = self._clock()
        window = int(now // self.window_s)
        window_end = (window + 1) * self.window_s
        try:
            self._dynamodb().update_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": f"ratelimit#{fingerprint(key)}#{window}"}},
                UpdateExpression="ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self.limit)},
                    ":ttl": {"N": str(window_end + self.window_s)},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return max(1.0, math.ceil(window_end - now))
            logger.error(
                "rate limit counter unavailable (%s); request let through", error.response.get("Error", {}).get("Code")
            )
            return None
        except BotoCoreError as error:
            logger.error("rate limit counter unavailable (%s); request let through", type(error).__name__)
            return None
        return None


def rate_limiter_from_settings(settings: Any) -> RateLimiter | None:
    """The configured limiter, or None when rate limiting is off (the default)."""
    if settings.rate_limit_per_minute <= 0:
        return None
    # The OAuth proxy's state table has the same shape (pk, expires_at): one table serves both.
    table = settings.rate_limit_table or getattr(settings, "oauth_state_table", None)
    if table:
        return DynamoDbWindows(table, settings.rate_limit_per_minute)
    return TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
