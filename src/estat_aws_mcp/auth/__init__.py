"""Authentication for every HTTP transport: one gate, one set of public routes.

Modes (``ESTAT_MCP_AUTH_MODE``; unset means ``token`` when a token is configured, else ``none``):

- ``none``: open. ``serve --http`` refuses a non-loopback bind unless ``--allow-unauthenticated``.
  (A Lambda Function URL with ``AuthType=AWS_IAM`` is authenticated by AWS before the function runs;
  the verified IAM caller is admitted in every mode.)
- ``token``: a shared bearer token (``ESTAT_MCP_AUTH_TOKEN`` or the SSM SecureString
  ``ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER``, re-read within ``ESTAT_MCP_AUTH_TOKEN_CACHE_S``), sent as
  ``Authorization: Bearer <token>`` or ``X-API-Key: <token>`` (:mod:`.token`).
- ``oauth``: JWT access tokens of an OAuth issuer (Cognito by default), validated fail-closed
  (:mod:`.oauth`), with Protected Resource Metadata (:mod:`.metadata`).

Optional per-caller rate limits (:mod:`.ratelimit`) apply after admission in every mode.

Who uses what:

- :class:`AuthGate` (``AuthGate.from_settings(settings)``) — ``check(GateRequest) -> Caller | Refusal``.
  The Lambda Function URL handler (``lambda_handler/app.py``) and the ``serve --http`` wrapper
  (:func:`.asgi.protect`, used by ``http_app.py``) both call it. The probes (``GET /health``,
  ``GET /ready``: :mod:`estat_aws_mcp.health`, which asks ``unready_reason()``) and CORS preflights
  never reach it.
- :func:`routes` — **the extension point for non-MCP HTTP endpoints.** It returns the Starlette
  routes (``list[BaseRoute]``) that both transports serve *before* the gate, unauthenticated: today
  the RFC 9728 metadata in oauth mode. To add endpoints (the OAuth authorization proxy's
  ``/.well-known/oauth-authorization-server``, ``/authorize``, ``/callback``, ``/token``,
  ``/register``), append their routes in :func:`.routes.routes`; nothing else is needed:

  * ``serve --http``: :class:`.asgi.GatedApp` sends any request whose path one of these routes
    matches to a Starlette app made of them (with permissive CORS, no credentials);
  * Lambda: :meth:`PublicRoutes.handle_function_url_event` turns the Function URL event into an
    ASGI request (method, path, query, headers, cookies, base64 bodies), runs the same Starlette
    app in-process and turns the answer back into a Function URL response (``Set-Cookie`` headers
    become the ``cookies`` list; binary bodies are base64-encoded).

  Endpoints should be ``async`` (or plain functions, which Starlette runs in a worker thread) and
  must not log secrets (codes, verifiers, tokens).
- ``scope["state"]["caller"]`` (``serve --http``) — the admitted :class:`Caller` of the current request.
"""

from __future__ import annotations

from estat_aws_mcp.auth.gate import (
    AuthGate,
    Caller,
    GateRequest,
    Refusal,
    is_loopback_host,
    require_protection_for_host,
)
from estat_aws_mcp.auth.routes import PublicRoutes, routes

__all__ = [
    "AuthGate",
    "Caller",
    "GateRequest",
    "PublicRoutes",
    "Refusal",
    "is_loopback_host",
    "require_protection_for_host",
    "routes",
]
