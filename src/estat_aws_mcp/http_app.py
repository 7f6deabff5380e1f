"""Streamable HTTP serving (stateless, JSON responses) with ``GET /health`` for container platforms.

Every request except ``GET /health`` and the public routes of :func:`estat_aws_mcp.auth.routes`
passes the same authentication gate as the Lambda handler (:mod:`estat_aws_mcp.auth`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from estat_aws_mcp import __version__
from estat_aws_mcp.auth import AuthGate, require_protection_for_host
from estat_aws_mcp.auth.asgi import protect
from estat_aws_mcp.settings import Settings, get_settings


def build_http_app(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    settings: Settings | None = None,
    gate: AuthGate | None = None,
    server: Any = None,
):
    """The ASGI app: MCP at ``/mcp``, a plain health check at ``/health``, behind the auth gate."""
    settings = settings or get_settings()
    gate = gate or AuthGate.from_settings(settings)
    if server is None:
        from estat_aws_mcp.tools.server import build_server

        server = build_server(host=host, port=port)
    mcp = server

    @mcp.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    return protect(mcp.streamable_http_app(), settings, gate)


def serve_http(host: str = "127.0.0.1", port: int = 8080, *, allow_unauthenticated: bool = False) -> None:
    """Serve until interrupted. ConfigurationError (before binding) when the auth settings are unusable."""
    import uvicorn

    settings = get_settings()
    gate = AuthGate.from_settings(settings)
    require_protection_for_host(gate, host, allow_unauthenticated)
    uvicorn.run(build_http_app(host, port, settings=settings, gate=gate), host=host, port=port, log_level="info")
