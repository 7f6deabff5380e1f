"""Errors a user can act on. Tools turn these into MCP tool errors (``isError: true``)."""

from __future__ import annotations


class EstatMcpError(Exception):
    """Base class: the message is safe to show to the caller (no secrets)."""


class ConfigurationError(EstatMcpError):
    """The server is misconfigured (missing appId, bad settings); the operator must fix it."""


class InputError(EstatMcpError):
    """The caller's input is invalid; the message names the parameter and what would be valid."""


class UpstreamError(EstatMcpError):
    """A remote service (e-Stat, AWS) failed after bounded retries."""


#: Characters of a caller's input quoted in an error message.
QUOTED_INPUT_CHARS = 40


def quote_prefix(value: object, limit: int = QUOTED_INPUT_CHARS) -> str:
    """``repr`` of what a caller sent, cut to a short prefix (an error never echoes a large input)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    shown = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{shown}… ({len(text):,} characters)"


class ResourceLimitError(EstatMcpError):
    """A request needed more of a bounded resource (a query's memory) than the server allows."""
