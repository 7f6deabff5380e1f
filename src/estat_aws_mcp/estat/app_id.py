"""Where the e-Stat appId comes from: an explicit value, ``ESTAT_APP_ID``, or an SSM SecureString.

The appId is a secret: it is never logged, echoed or returned; :func:`redact` removes it (and any
``appId=`` query value) from text that could reach a log line or an error message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.estat.status import APP_ID_HOWTO
from estat_aws_mcp.settings import Settings, get_settings

MISSING_APP_ID_MESSAGE = f"The e-Stat application id is not configured. {APP_ID_HOWTO}"

REDACTED = "***"
_APP_ID_QUERY = re.compile(r"(appId=)[^&\s\"'<>]*", re.IGNORECASE)


def resolve_app_id(settings: Settings | None = None, explicit: str | None = None) -> str:
    """The appId to send, or ConfigurationError saying how to configure it.

    Order: ``explicit`` > ``ESTAT_APP_ID`` > the SSM SecureString named by ``ESTAT_APP_ID_SSM_PARAMETER``
    (read once per process; this call blocks, so async callers run it in a worker thread).
    """
    if explicit and explicit.strip():
        return explicit.strip()
    settings = settings or get_settings()
    if settings.estat_app_id is not None:
        value = settings.estat_app_id.get_secret_value().strip()
        if value:
            return value
    if settings.estat_app_id_ssm_parameter:
        from estat_aws_mcp.aws.ssm import get_secure_string

        try:
            return get_secure_string(settings.estat_app_id_ssm_parameter)
        except ConfigurationError as error:
            raise ConfigurationError(f"{error} ({MISSING_APP_ID_MESSAGE})") from None
    raise ConfigurationError(MISSING_APP_ID_MESSAGE)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every ``appId=...`` query value and every given secret replaced by ``***``."""
    text = _APP_ID_QUERY.sub(r"\1" + REDACTED, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
