"""The one place that reaches past awscli's public surface.

awscli is an application, not a library: the guard needs the same command tables the CLI itself
dispatches on (services of the driver, operations of a service, the driver's global options) and the
option parser awscli builds for an operation, and none of these has a public accessor. They are read
here, checked, and fail with :class:`AwsCliIncompatible` naming this module when an awscli upgrade
moves them (never silently: the guard would otherwise refuse or, worse, misjudge every command);
``tests/awscli/test_internals.py`` exercises every function against the installed awscli.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AwsCliIncompatible(RuntimeError):
    """The installed awscli no longer has what :mod:`estat_aws_mcp.awscli.internals` relies on."""


def _table(owner: Any, method: str, what: str) -> Mapping[str, Any]:
    getter = getattr(owner, method, None)  # awscli's private method, called only here
    table = getter() if callable(getter) else None
    if not isinstance(table, Mapping):
        raise AwsCliIncompatible(
            f"{type(owner).__name__}.{method}() no longer returns the {what} with this awscli; "
            "update estat_aws_mcp.awscli.internals for the installed version."
        )
    return table


def service_table(driver: Any) -> Mapping[str, Any]:
    """Service name -> command (``ServiceCommand`` or a customization), as the CLI dispatches them."""
    return _table(driver, "_get_command_table", "service table")


def operation_table(service_command: Any) -> Mapping[str, Any]:
    """Operation name (``describe-log-groups``) -> command of one service."""
    return _table(service_command, "_get_command_table", "operation table")


def global_options(driver: Any) -> Mapping[str, Any]:
    """The driver's global options (``region``, ``output``, ``query``...) without their ``--``."""
    return _table(driver, "_get_argument_table", "global option table")


def parser_actions(parser: Any) -> list[Any]:
    """The argparse actions of a parser awscli built (argparse keeps them in ``_actions`` only)."""
    actions = getattr(parser, "_actions", None)
    if not isinstance(actions, list):
        raise AwsCliIncompatible(
            f"{type(parser).__name__} has no argparse '_actions' list; update estat_aws_mcp.awscli.internals."
        )
    return actions
