"""Streamable HTTP serving (stateless, JSON responses) with ``GET /health`` for container platforms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from estat_aws_mcp import __version__


def build_http_app(host: str = "127.0.0.1", port: int = 8080):
    """The Starlette app: MCP at ``/mcp`` and a plain health check at ``/health``."""
    from estat_aws_mcp.tools.server import build_server

    mcp = build_server(host=host, port=port)

    @mcp.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    return mcp.streamable_http_app()


def serve_http(host: str = "127.0.0.1", port: int = 8080) -> None:
    import uvicorn

    uvicorn.run(build_http_app(host, port), host=host, port=port, log_level="info")
