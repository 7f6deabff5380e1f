"""AWS Lambda entry point for a Function URL: ``estat_aws_mcp.lambda_handler.handler`` (the image's CMD).

Built on the awslabs adapter (``run-mcp-servers-with-aws-lambda``, import ``mcp_lambda``).
``ESTAT_MCP_DISPATCH`` picks how each JSON-RPC request is served: ``inprocess`` (default, the
same MCP server object inside this process, milliseconds) or ``stdio`` (the adapter's
``StdioServerAdapterRequestHandler``, one ``python -m estat_aws_mcp`` child per request).

Under the Lambda runtime the handler is built while the module is imported, i.e. in the init
phase (before the first request, with the init CPU boost); elsewhere on first use.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["get_function_url_handler", "handler"]

_handler: Any = None
_lock = threading.Lock()


def get_function_url_handler() -> Any:
    """The process-wide :class:`~estat_aws_mcp.lambda_handler.app.FunctionUrlHandler` (built once)."""
    global _handler
    if _handler is None:
        with _lock:
            if _handler is None:
                from estat_aws_mcp.lambda_handler.app import build_function_url_handler

                _handler = build_function_url_handler()
    return _handler


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda handler for Function URL (payload format 2.0) events."""
    return get_function_url_handler().handle(event, context)


if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    get_function_url_handler()
