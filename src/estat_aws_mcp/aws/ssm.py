"""SSM Parameter Store SecureString reads, cached once per process.

Secrets read here (the e-Stat appId, bearer tokens) are never logged: errors name the parameter,
never its value. boto3 is imported lazily through :func:`estat_aws_mcp.aws.clients.aws_client`.
"""

from __future__ import annotations

import logging
import re
import threading

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
                f"SSM parameter '{name}' does not exist. Create it as a SecureString "
                f"(aws ssm put-parameter --name '{name}' --type SecureString --value ...) or fix its name."
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
