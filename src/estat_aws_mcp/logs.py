"""One logging configuration for every ``estat_aws_mcp`` logger, honouring ``ESTAT_MCP_LOG_LEVEL``.

Every module logs to ``logging.getLogger(__name__)``, i.e. under the ``estat_aws_mcp`` logger.
:func:`configure_logging` sets that logger's level from the setting, so INFO lines (the
``run_aws_cli`` audit line of an allowed call, the start-up line...) are emitted whatever level the
host left on the root logger; the AWS Lambda runtime leaves it at WARNING. Where the lines go:

- ``serve --stdio`` / ``--http``: stderr (stdout belongs to the stdio transport), through the root
  logger, which gets the same level and a plain format;
- AWS Lambda: the handler of the function's JSON logger (powertools), only there, so every line is
  one JSON object carrying the invocation's ``request_id``.

An invalid ``ESTAT_MCP_LOG_LEVEL`` is a :class:`~estat_aws_mcp.errors.ConfigurationError` naming it.
"""

from __future__ import annotations

import logging
import sys

from estat_aws_mcp.errors import ConfigurationError

PACKAGE_LOGGER = "estat_aws_mcp"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Marks the handler configure_logging installed, so a second call replaces it instead of adding one.
_OURS = "_estat_aws_mcp_handler"


def log_level(value: str | None) -> int:
    """The ``logging`` level for an ``ESTAT_MCP_LOG_LEVEL`` value (case-insensitive)."""
    name = (value or "").strip().upper()
    if name not in LEVELS:
        raise ConfigurationError(
            f"ESTAT_MCP_LOG_LEVEL={value!r} is not a log level: use one of {', '.join(LEVELS)} (default INFO)."
        )
    return int(logging.getLevelName(name))


def configure_logging(value: str | None, *, handler: logging.Handler | None = None) -> int:
    """Configure the ``estat_aws_mcp`` loggers at ``value`` (``ESTAT_MCP_LOG_LEVEL``); returns the level.

    ``handler``: where the package's lines go instead of the root logger (the Lambda JSON handler).
    Without it, the root logger writes to stderr at the same level (unless the host configured it).
    """
    level = log_level(value)
    package = logging.getLogger(PACKAGE_LOGGER)
    package.setLevel(level)
    for old in [h for h in package.handlers if getattr(h, _OURS, False)]:
        package.removeHandler(old)
    if handler is None:
        package.propagate = True
        logging.basicConfig(level=level, stream=sys.stderr, format=_FORMAT)
    else:
        setattr(handler, _OURS, True)
        package.addHandler(handler)
        package.propagate = False  # the host's root handler would print each line a second time
    return level


def log_startup(storage_uri: str, transport: str) -> None:
    """One INFO line at start-up: the transport and where the dataset store really is (an absolute path)."""
    from estat_aws_mcp.datasets.store import store_location

    logging.getLogger(f"{PACKAGE_LOGGER}.server").info(
        "estat-aws-mcp serving %s; dataset store: %s (ESTAT_MCP_STORAGE_URI=%s)",
        transport,
        store_location(storage_uri),
        storage_uri,
    )
