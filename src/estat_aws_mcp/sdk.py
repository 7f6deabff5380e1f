"""The one place that reaches past the MCP Python SDK's public API.

FastMCP offers no public accessor for the low-level ``Server`` it wraps (needed to set the
server's version and to serve requests in process on AWS Lambda), nor a synchronous look-up of one
registered tool or prompt (needed to correct the JSON-RPC codes of unknown names,
:mod:`estat_aws_mcp.tools.error_codes`), and the SDK lists the methods a client may call only as a
union of request models. Both are read here, checked, and fail with
:class:`SdkIncompatible` naming this module when an SDK upgrade moves them (never silently);
``tests/test_sdk.py`` exercises every function against the installed SDK.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

from mcp import types
from mcp.server.lowlevel import Server


class SdkIncompatible(RuntimeError):
    """The installed MCP SDK no longer has what :mod:`estat_aws_mcp.sdk` relies on."""


def low_level_server(server: Any) -> Server:
    """The low-level ``Server`` behind a FastMCP object (a low-level ``Server`` is returned as is)."""
    if isinstance(server, Server):
        return server
    inner = getattr(server, "_mcp_server", None)  # FastMCP's private attribute, read only here
    if not isinstance(inner, Server):
        raise SdkIncompatible(
            f"{type(server).__name__} has no low-level mcp Server at '_mcp_server' with this MCP SDK; "
            "update estat_aws_mcp.sdk.low_level_server for the installed version."
        )
    return inner


def _manager(server: Any, attribute: str, kind: str) -> Any:
    manager = getattr(server, attribute, None)  # FastMCP's private attribute, read only here
    if manager is None or not callable(getattr(manager, f"get_{kind}", None)):
        raise SdkIncompatible(
            f"{type(server).__name__} has no {kind} manager at '{attribute}' with this MCP SDK; "
            f"update estat_aws_mcp.sdk.registered_{kind} for the installed version."
        )
    return manager


def registered_tool(server: Any, name: str) -> Any | None:
    """The FastMCP tool registered as ``name``, or ``None``."""
    return _manager(server, "_tool_manager", "tool").get_tool(name)


def registered_prompt(server: Any, name: str) -> Any | None:
    """The FastMCP prompt registered as ``name`` (with its ``arguments``), or ``None``."""
    return _manager(server, "_prompt_manager", "prompt").get_prompt(name)


def set_server_version(server: Any, version: str) -> None:
    """The version the server reports in ``initialize`` (``serverInfo.version``)."""
    low_level_server(server).version = version


@functools.cache
def client_request_methods() -> frozenset[str]:
    """Every JSON-RPC method a client may send to a server (``mcp.types.ClientRequest``)."""
    root = types.ClientRequest.model_fields.get("root")
    members = typing.get_args(root.annotation) if root is not None else ()
    methods: set[str] = set()
    for member in members:
        field = getattr(member, "model_fields", {}).get("method")
        methods.update(arg for arg in typing.get_args(field.annotation if field else None) if isinstance(arg, str))
    if not {"initialize", "ping", "tools/list", "tools/call"} <= methods:
        raise SdkIncompatible(
            "mcp.types.ClientRequest no longer lists the client methods as a union of request models with a "
            "Literal 'method'; update estat_aws_mcp.sdk.client_request_methods for the installed MCP SDK."
        )
    return frozenset(methods)
