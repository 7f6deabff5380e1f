"""OAuth 2.0 Protected Resource Metadata (RFC 9728), served unauthenticated on both transports.

``/.well-known/oauth-protected-resource`` describes the resource ``<public>`` (on a Function URL the
MCP endpoint is also ``<public>/``) and ``/.well-known/oauth-protected-resource/mcp`` the resource
``<public>/mcp`` (the path-aware location MCP clients try first). Both name the authorization
server(s) clients sign in at, the scopes a token must carry and that tokens go in the
``Authorization`` header only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from estat_aws_mcp.auth.oauth import OAuthConfig


def protected_resource_metadata(config: OAuthConfig, resource: str) -> dict[str, Any]:
    return {
        "resource": resource,
        "authorization_servers": list(config.authorization_servers),
        "scopes_supported": list(config.required_scopes),
        "bearer_methods_supported": ["header"],
        "resource_name": "estat-aws-mcp (e-Stat statistics MCP server)",
    }


def metadata_routes(config: OAuthConfig) -> list[Route]:
    from estat_aws_mcp.auth.oauth import PRM_PATH

    def endpoint(resource: str):
        async def serve(_: Request) -> JSONResponse:
            return JSONResponse(
                protected_resource_metadata(config, resource), headers={"Cache-Control": "public, max-age=300"}
            )

        return serve

    return [
        Route(PRM_PATH, endpoint(config.public_url), methods=["GET"], name="oauth_protected_resource"),
        Route(PRM_PATH + "/mcp", endpoint(config.mcp_resource), methods=["GET"], name="oauth_protected_resource_mcp"),
    ]
