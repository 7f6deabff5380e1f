"""The server's secrets never leave through run_aws_cli, in any form ``--query`` or ``--output`` can give them.

Three layers:

1. :func:`redact_data` replaces every secret inside the AWS response itself (strings and keys, at any
   depth) BEFORE awscli applies ``--query`` and formats the output. A JMESPath function
   (``reverse``, ``join``, ``sort_by``, ``to_string``, slices …) then only ever sees ``[REDACTED]``,
   never the secret's characters, so nothing it computes can rebuild or reveal them (not even an
   ordering or a comparison against the secret).
2. :func:`redact` replaces secrets in every text of the answer (output, stderr, hints), as before.
3. :func:`defeated_redaction` is the backstop: an answer that still carries a secret in a transformed
   form (reversed, case-changed, or with separators between its characters) is refused.

Secrets: the credentials and tokens in the environment (:data:`SECRET_ENV_NAMES`) and an appId read
from SSM in this process.
"""

from __future__ import annotations

import os
import re
from typing import Any

# Environment values that are secrets wherever they would appear in an answer.
SECRET_ENV_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "ESTAT_APP_ID",
    "ESTAT_MCP_AUTH_TOKEN",
)
REDACTED = "[REDACTED]"
_MIN_SECRET_CHARS = 12
# Characters a transform may put between a secret's characters (join with a separator, to_string escapes).
_SEPARATORS = re.compile(r"[\s,;:|\"'\\\-_.]+")


def secret_values() -> list[str]:
    """The secrets to keep out of answers, longest first (a secret containing another is replaced whole)."""
    from estat_aws_mcp.aws.ssm import cached_values

    values = {os.environ.get(name, "") for name in SECRET_ENV_NAMES}
    values.update(cached_values())  # SecureStrings this process already read (the appId from SSM)
    return sorted((v for v in values if len(v) >= _MIN_SECRET_CHARS), key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_data(value: Any, secrets: list[str]) -> Any:
    """``value`` (an AWS response: dicts, lists, strings, numbers, datetimes) with every secret in its
    strings and keys replaced; containers are copied only where something changed."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        return redact(text, secrets).encode("utf-8") if any(s in text for s in secrets) else value
    if isinstance(value, dict):
        return {redact_data(key, secrets): redact_data(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_data(item, secrets) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_data(item, secrets) for item in value)
    return value


def _squeezed(text: str) -> str:
    return _SEPARATORS.sub("", text).casefold()


def defeated_redaction(text: str, secrets: list[str]) -> bool:
    """True when ``text`` holds a secret in a transformed form: reversed, in another case, or with
    separators between its characters (each also reversed)."""
    if not secrets or not text:
        return False
    folded = text.casefold()
    squeezed = _squeezed(text)
    for secret in secrets:
        plain = _squeezed(secret)
        for form in (secret.casefold(), secret[::-1].casefold()):
            if form in folded:
                return True
        for form in (plain, plain[::-1]):
            if len(form) >= _MIN_SECRET_CHARS and form in squeezed:
                return True
    return False
