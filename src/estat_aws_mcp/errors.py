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
