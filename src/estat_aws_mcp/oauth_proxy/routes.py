"""The proxy's HTTP endpoints as Starlette routes (served by ``serve --http`` and the Lambda handler alike).

- ``GET  /.well-known/oauth-authorization-server``: RFC 8414 metadata;
- ``GET  /authorize``: checks the request, shows the consent page (or, when this browser approved the same
  client, redirect URI and scope before, goes on to the provider); ``POST /authorize``: its answer;
- ``GET  /callback``: the provider's answer;
- ``POST /token``: ``authorization_code`` and ``refresh_token`` grants;
- ``POST /register``: RFC 7591 dynamic client registration.

Handlers read at most :data:`MAX_BODY_BYTES` and run the (blocking) core in a worker thread.
Metadata, token and registration answers allow any origin (browser-based clients such as the MCP
Inspector call them with ``fetch``); the pages and redirects do not need to.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from estat_aws_mcp.auth.ratelimit import DynamoDbWindows, RateLimiter, TokenBuckets
from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.oauth_proxy.core import Answer, AuthorizationProxy, ProxyConfig
from estat_aws_mcp.oauth_proxy.store import DynamoDbStateStore, SqliteStateStore, StateStore
from estat_aws_mcp.oauth_proxy.upstream import UpstreamProvider
from estat_aws_mcp.settings import Settings

MAX_BODY_BYTES = 64 * 1024
REGISTRATIONS_PER_MINUTE = 30
METADATA_PATH = "/.well-known/oauth-authorization-server"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
    "Access-Control-Max-Age": "600",
}


def build_store(settings: Settings) -> StateStore:
    if settings.oauth_state_table:
        return DynamoDbStateStore(settings.oauth_state_table)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        # Each container has its own /tmp: a sign-in started on one would fail on another.
        raise ConfigurationError(
            "On AWS Lambda the OAuth proxy needs ESTAT_MCP_OAUTH_STATE_TABLE (a DynamoDB table shared by all containers)."
        )
    if settings.oauth_state_path:
        return SqliteStateStore(settings.oauth_state_path)
    if "://" in settings.storage_uri:
        raise ConfigurationError(
            "The OAuth proxy needs ESTAT_MCP_OAUTH_STATE_TABLE (DynamoDB) or ESTAT_MCP_OAUTH_STATE_PATH (SQLite) "
            "when the dataset store is not a local folder."
        )
    return SqliteStateStore(Path(settings.storage_uri) / "oauth-proxy.sqlite3")


def build_proxy(settings: Settings, *, store: StateStore | None = None) -> AuthorizationProxy:
    """The proxy the settings describe (oauth mode with ESTAT_MCP_OAUTH_UPSTREAM_ISSUER set)."""
    public_url = (settings.public_url or "").strip().rstrip("/")
    if not public_url:
        raise ConfigurationError("The OAuth proxy needs ESTAT_MCP_PUBLIC_URL (the server's public base URL).")
    if not settings.oauth_upstream_issuer or not settings.oauth_upstream_client_id:
        raise ConfigurationError(
            "The OAuth proxy needs ESTAT_MCP_OAUTH_UPSTREAM_ISSUER and ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID."
        )
    required = (settings.oauth_required_scopes or "").split()
    upstream_scopes = settings.oauth_upstream_scopes or " ".join(["openid", *[s for s in required if s != "openid"]])
    secret: str | Callable[[], str] | None = None
    if settings.oauth_upstream_client_secret_ssm_parameter:
        parameter = settings.oauth_upstream_client_secret_ssm_parameter

        def secret_from_ssm() -> str:
            from estat_aws_mcp.aws.ssm import get_secure_string

            return get_secure_string(parameter)

        secret = secret_from_ssm
    elif settings.oauth_upstream_client_secret is not None:
        secret = settings.oauth_upstream_client_secret.get_secret_value() or None
    config = ProxyConfig(
        issuer=public_url,
        resource=f"{public_url}/mcp",
        scopes_supported=tuple(required),
        upstream_scopes=upstream_scopes,
        approval_ttl_s=settings.oauth_consent_remember_days * 86400,
    )
    upstream = UpstreamProvider(
        settings.oauth_upstream_issuer,
        settings.oauth_upstream_client_id,
        secret,
    )
    proxy_log = logging.getLogger("estat_aws_mcp.oauth_proxy")
    if proxy_log.level == logging.NOTSET:
        # Its audit lines follow ESTAT_MCP_LOG_LEVEL even where the root logger stays at WARNING (Lambda).
        proxy_log.setLevel(settings.log_level.upper())
    return AuthorizationProxy(config, store or build_store(settings), upstream)


def _response(answer: Answer, cors: bool = False) -> Response:
    headers = {**(_CORS if cors else {}), **answer.headers}
    response = Response(answer.body, status_code=answer.status, media_type=answer.content_type, headers=headers)
    for cookie in answer.cookies:
        response.headers.append("Set-Cookie", cookie)
    return response


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


async def _form(request: Request) -> dict[str, str] | None:
    body = await _body(request)
    if body is None:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:  # RFC 6749 §3.1: parameters must not repeat
            return None
        form[key] = value
    return form


def _query(request: Request) -> dict[str, str] | None:
    query: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in query:
            return None
        query[key] = value
    return query


def _too_large_or_malformed() -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": "malformed, repeated or oversized parameters"},
        status_code=400,
        headers={**_CORS, "Cache-Control": "no-store"},
    )


def registration_limiter(store: StateStore, per_minute: int) -> RateLimiter:
    """The limit on registrations per source address: one count for all containers when the proxy's
    state is in DynamoDB (the rate limiter's counters, one per address and minute, in the same
    table), else per process (a token bucket per address)."""
    if isinstance(store, DynamoDbStateStore):
        return DynamoDbWindows(store.table, per_minute, client_factory=store.dynamodb_client)
    return TokenBuckets(per_minute)


def proxy_routes(proxy: AuthorizationProxy, *, registrations_per_minute: int = REGISTRATIONS_PER_MINUTE) -> list[Route]:
    """The proxy's endpoints, to be mounted at the root of the public URL.

    Registration is open to anyone, and each one is stored for months: it is limited per source
    address (``registrations_per_minute``; 429 with ``Retry-After`` beyond), across all containers
    when the state is in DynamoDB (:func:`registration_limiter`).
    """
    registrations = registration_limiter(proxy.store, registrations_per_minute)

    async def run(fn: Callable[..., Answer], *args: Any) -> Answer:
        return await anyio.to_thread.run_sync(fn, *args)

    async def preflight(_: Request) -> Response:
        return Response(status_code=204, headers=_CORS)

    async def metadata(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        return JSONResponse(proxy.metadata(), headers={**_CORS, "Cache-Control": "public, max-age=300"})

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            form = await _form(request)
            if form is None:
                return _too_large_or_malformed()
            return _response(await run(proxy.consent, form, dict(request.cookies)))
        query = _query(request)
        if query is None:
            return _too_large_or_malformed()
        return _response(await run(proxy.authorize, query, dict(request.cookies)))

    async def callback(request: Request) -> Response:
        query = _query(request)
        if query is None:
            return _too_large_or_malformed()
        return _response(await run(proxy.callback, query, dict(request.cookies)))

    async def token(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        form = await _form(request)
        if form is None:
            return _too_large_or_malformed()
        return _response(await run(proxy.token, form, request.headers.get("authorization")), cors=True)

    async def register(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        address = request.client.host if request.client else "unknown"
        wait_s = await anyio.to_thread.run_sync(registrations.admit, f"register:ip:{address}")
        if wait_s is not None:
            return JSONResponse(
                {"error": "slow_down", "error_description": "too many registrations from this address; try later"},
                status_code=429,
                headers={**_CORS, "Retry-After": str(max(1, math.ceil(wait_s))), "Cache-Control": "no-store"},
            )
        body = await _body(request)
        try:
            parsed: Any = json.loads(body) if body is not None else None
        except ValueError:
            parsed = None
        if parsed is None:
            return _too_large_or_malformed()
        return _response(await run(proxy.register, parsed), cors=True)

    return [
        Route(METADATA_PATH, metadata, methods=["GET", "OPTIONS"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/callback", callback, methods=["GET"]),
        Route("/token", token, methods=["POST", "OPTIONS"]),
        Route("/register", register, methods=["POST", "OPTIONS"]),
    ]
