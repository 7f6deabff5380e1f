"""Streamable HTTP serving (stateless; JSON answers, or SSE when the client streams: :mod:`.http_edge`)
with the probes ``GET /health`` (liveness, for container platforms) and ``GET /ready`` (readiness):
:mod:`estat_aws_mcp.health`.

Every request except the probes and the public routes of :func:`estat_aws_mcp.auth.routes`
passes the same authentication gate as the Lambda handler (:mod:`estat_aws_mcp.auth`).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from estat_aws_mcp.auth import AuthGate, require_protection_for_host
from estat_aws_mcp.auth.asgi import protect
from estat_aws_mcp.health import PROBE_PATHS, probe_answer
from estat_aws_mcp.settings import Settings, get_settings


def build_http_app(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    settings: Settings | None = None,
    gate: AuthGate | None = None,
    server: Any = None,
):
    """The ASGI app: MCP at ``/mcp`` behind the auth gate, and the open probes ``/health`` and ``/ready``."""
    settings = settings or get_settings()
    gate = gate or AuthGate.from_settings(settings)
    if server is None:
        from estat_aws_mcp.tools.server import build_server

        server = build_server(host=host, port=port)
    mcp = server

    async def probe(request: Request) -> JSONResponse:
        # In a worker thread: the gate's readiness may read SSM.
        status, body, headers = await anyio.to_thread.run_sync(probe_answer, request.url.path, gate)
        return JSONResponse(body, status_code=status, headers=headers)

    for path in PROBE_PATHS:
        mcp.custom_route(path, methods=["GET"])(probe)

    from estat_aws_mcp.http_edge import McpHttpEdge  # JSON-RPC edge codes; SSE when the client streams

    return protect(McpHttpEdge(mcp.streamable_http_app(), mcp), settings, gate)


class QueryFreeAccessLog(logging.Filter):
    """Drops the query string from uvicorn's access lines: ``/callback?code=…`` carries an authorization code."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def serve_http(host: str = "127.0.0.1", port: int = 8080, *, allow_unauthenticated: bool = False) -> None:
    """Serve until interrupted. ConfigurationError (before binding) when the auth settings are unusable."""
    import uvicorn

    settings = get_settings()
    gate = AuthGate.from_settings(settings)
    require_protection_for_host(gate, host, allow_unauthenticated)
    app = build_http_app(host, port, settings=settings, gate=gate)
    config = uvicorn.Config(app, host=host, port=port, log_level="info")  # configures uvicorn's loggers
    logging.getLogger("uvicorn.access").addFilter(QueryFreeAccessLog())
    uvicorn.Server(config).run()
