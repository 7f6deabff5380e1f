"""One mapping from the core's user-facing errors to MCP tool errors, shared by every tool module."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anyio.to_thread
from mcp.server.fastmcp.exceptions import ToolError

from estat_aws_mcp.errors import EstatMcpError

T = TypeVar("T")


@contextlib.contextmanager
def tool_errors() -> Iterator[None]:
    """Turn an :class:`EstatMcpError` (its message is safe to show) into a tool error (``isError: true``)."""
    try:
        yield
    except EstatMcpError as exc:
        raise ToolError(str(exc)) from None


async def in_worker_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking core work (Parquet, catalogs, SQL) off the event loop, with :func:`tool_errors`."""
    with tool_errors():
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
