"""SSM Parameter Store reads: cached once per process, or trusted for a while (:class:`CachedRead`).

Secrets read here (the e-Stat appId, bearer tokens) are never logged: errors name the parameter,
never its value. boto3 is imported lazily through :func:`estat_aws_mcp.aws.clients.aws_client`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from estat_aws_mcp.errors import ConfigurationError, UpstreamError

logger = logging.getLogger(__name__)

_cache: dict[tuple[str, str | None], str] = {}
_lock = threading.Lock()

# botocore logs whole response bodies at DEBUG, decrypted SecureString values included.
_SECRET_VALUE = re.compile(r'("Value"\s*:\s*")((?:[^"\\]|\\.)*)(")')


class _SecureStringBodyFilter(logging.Filter):
    """Blanks ``"Value"`` in logged GetParameter(s) bodies that hold a SecureString."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        if "SecureString" in message and "Value" in message:
            record.msg = _SECRET_VALUE.sub(r"\1***\3", message)
            record.args = ()
        return True


_body_filter = _SecureStringBodyFilter()


def _install_log_filter() -> None:
    for name in ("botocore.parsers", "botocore.endpoint", "botocore.hooks"):
        target = logging.getLogger(name)
        if _body_filter not in target.filters:
            target.addFilter(_body_filter)


def get_secure_string(name: str, *, region: str | None = None) -> str:
    """The decrypted value of the SSM parameter ``name`` (read once per process, then cached).

    Raises ConfigurationError when the parameter is missing, empty or not readable with the
    current credentials, and UpstreamError when SSM cannot be reached.
    """
    key = (name, region)
    with _lock:
        if key in _cache:
            return _cache[key]
        value = _read(name, region)
        _cache[key] = value
        return value


def read_secure_string(name: str, *, region: str | None = None) -> str:
    """Like :func:`get_secure_string` but always asks SSM (for values that rotate; the caller caches)."""
    return _read(name, region)


T = TypeVar("T")


class CachedRead(Generic[T]):
    """What ``read()`` returns (values read from SSM), trusted for ``ttl_s`` and then read again.

    Once expired the old value is not trusted any more: when the new read fails (missing parameter,
    no permission, SSM unreachable) its error propagates, and while reads keep failing SSM is asked
    again at most every ``min_refresh_s`` (the last failure is raised in between). Not thread-safe:
    callers hold their own lock. Used by the rotating bearer token (:mod:`estat_aws_mcp.auth.token`)
    and the settings held in SSM (:mod:`estat_aws_mcp.auth.deferred`).
    """

    def __init__(
        self,
        read: Callable[[], T],
        *,
        ttl_s: float,
        min_refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.clock = clock
        self._read = read
        self.value: T | None = None
        self.read_at = float("-inf")  # when the current value was read
        self.attempt_at = float("-inf")  # when SSM was last asked (successfully or not)
        self.failure: Exception | None = None
        self.reads = 0  # reads so far (observability and tests)

    def refresh(self, now: float) -> T:
        """Read now (a failure leaves the current value and its age as they were)."""
        self.attempt_at = now
        self.reads += 1
        try:
            value = self._read()
        except (ConfigurationError, UpstreamError) as error:
            self.failure = error
            raise
        self.value = value
        self.read_at = now
        self.failure = None
        return value

    def get(self, now: float) -> T:
        """The value if read less than ``ttl_s`` ago, else a new read (or the recent failure again)."""
        if self.value is not None and now - self.read_at < self.ttl_s:
            return self.value
        # Expired (or never read): the old value is not trusted any more.
        self.value = None
        if self.failure is not None and now - self.attempt_at < self.min_refresh_s:
            # A fresh exception each time (re-raising one object would grow its traceback).
            raise type(self.failure)(str(self.failure))
        return self.refresh(now)


def cached_values() -> list[str]:
    """The values :func:`get_secure_string` has read in this process (secrets to keep out of answers)."""
    with _lock:
        return list(_cache.values())


def clear_cache() -> None:
    """Forget cached values (tests; rotating a secret needs a restart otherwise)."""
    with _lock:
        _cache.clear()


def _read(name: str, region: str | None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from estat_aws_mcp.aws.clients import aws_client

    _install_log_filter()
    try:
        response = aws_client("ssm", region=region).get_parameter(Name=name, WithDecryption=True)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ParameterNotFound", "ParameterVersionNotFound"):
            raise ConfigurationError(
                f"SSM parameter '{name}' does not exist. Create it (a secret as a SecureString: "
                f"aws ssm put-parameter --name '{name}' --type SecureString --value ...) or fix its name."
            ) from None
        if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
            raise ConfigurationError(
                f"Not allowed to read SSM parameter '{name}' ({code}): grant ssm:GetParameter "
                "(and kms:Decrypt for its key) to this role."
            ) from None
        raise UpstreamError(f"SSM GetParameter for '{name}' failed ({code or 'error'}).") from None
    except NoCredentialsError:
        raise ConfigurationError(f"No AWS credentials to read SSM parameter '{name}'.") from None
    except BotoCoreError as error:
        raise UpstreamError(f"Could not reach SSM to read '{name}' ({type(error).__name__}).") from None
    value = str(response.get("Parameter", {}).get("Value") or "").strip()
    if not value:
        raise ConfigurationError(f"SSM parameter '{name}' is empty.")
    logger.debug("read SSM parameter %s (value not logged)", name)
    return value
