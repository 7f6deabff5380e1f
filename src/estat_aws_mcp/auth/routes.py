"""Non-MCP HTTP routes (``/.well-known/…``, OAuth endpoints) that BOTH transports serve.

:func:`routes` lists Starlette routes. :class:`PublicRoutes` serves them: as an ASGI app inside
``serve --http`` (see :mod:`estat_aws_mcp.auth.asgi`) and, on AWS Lambda, from a Function URL event
through an in-process ASGI bridge (:meth:`PublicRoutes.handle_function_url_event`). They are
served before the gate (no authentication) and answer CORS preflights (any origin, no
credentials) so that browser-based clients such as the MCP Inspector can read them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Match

from estat_aws_mcp.auth.gate import AuthGate
from estat_aws_mcp.auth.metadata import metadata_routes

_TEXTUAL = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml", "urlencoded")


def routes(settings: Any, gate: AuthGate | None = None) -> list[BaseRoute]:
    """Every unauthenticated non-MCP route of this deployment (both transports serve exactly these)."""
    gate = gate or AuthGate.from_settings(settings)
    found: list[BaseRoute] = []
    if gate.oauth is not None:
        found += metadata_routes(gate.oauth)
    if gate.oauth is not None and getattr(settings, "oauth_upstream_issuer", None):
        # The OAuth authorization proxy (estat_aws_mcp.oauth_proxy): this server is the clients'
        # authorization server, in front of the upstream OpenID Provider.
        from estat_aws_mcp.oauth_proxy.routes import build_proxy, proxy_routes

        found += proxy_routes(build_proxy(settings))
    return found


class PublicRoutes:
    """Serves a list of Starlette routes as ASGI, and from Function URL events."""

    # Whether owns() may block (read SSM): serve --http then asks it from a worker thread.
    may_block = False

    def __init__(self, route_list: Iterable[BaseRoute]) -> None:
        self.routes: list[BaseRoute] = list(route_list)
        self.app = Starlette(
            routes=self.routes,
            middleware=[
                Middleware(
                    CORSMiddleware,
                    allow_origins=["*"],
                    allow_methods=["GET", "POST", "OPTIONS"],
                    allow_headers=["*"],
                    expose_headers=["WWW-Authenticate"],
                )
            ],
        )

    @classmethod
    def from_settings(cls, settings: Any, gate: AuthGate | None = None) -> PublicRoutes:
        from estat_aws_mcp.auth.deferred import DeferredGate, DeferredRoutes

        gate = gate or AuthGate.from_settings(settings)
        if isinstance(gate, DeferredGate):
            return DeferredRoutes(gate.auth)
        return cls(routes(settings, gate))

    def owns(self, method: str, path: str) -> bool:
        """Whether a route serves ``path`` (any method: a wrong one gets 405, OPTIONS the CORS answer)."""
        scope = {"type": "http", "method": method.upper(), "path": path, "root_path": ""}
        return any(route.matches(scope)[0] is not Match.NONE for route in self.routes)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # --- the Function URL bridge ---------------------------------------------------------

    def handle_function_url_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Serve a Function URL (payload 2.0) event with these routes; the Function URL response."""
        try:
            scope, body = event_to_scope(event)
        except (binascii.Error, ValueError):
            return {"statusCode": 400, "headers": {"Content-Type": "text/plain"}, "body": "invalid request body"}
        result: dict[str, Any] = {}

        def run() -> None:
            result["response"] = anyio.run(_call_asgi, self.app, scope, body)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            run()
        else:  # called from inside an event loop (not the Lambda runtime): use a thread of its own
            thread = threading.Thread(target=run, name="function-url-asgi")
            thread.start()
            thread.join()
        return result["response"]


def event_to_scope(event: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """The ASGI HTTP scope and the body of a Function URL event."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    method = str(http.get("method") or "GET").upper()
    raw_path = event.get("rawPath") or http.get("path") or "/"
    headers: list[tuple[bytes, bytes]] = []
    for name, value in (event.get("headers") or {}).items():
        headers.append((str(name).lower().encode("latin-1", "replace"), str(value).encode("latin-1", "replace")))
    cookies = event.get("cookies") or []
    if cookies:
        headers.append((b"cookie", "; ".join(cookies).encode("latin-1", "replace")))
    text = event.get("body")
    if text is None:
        body = b""
    elif event.get("isBase64Encoded"):
        body = base64.b64decode(text, validate=True)
    else:
        body = str(text).encode("utf-8")
    lowered = {name: value for name, value in headers}
    scheme = lowered.get(b"x-forwarded-proto", b"https").decode("latin-1")
    host = lowered.get(b"host", str(context.get("domainName") or "localhost").encode()).decode("latin-1")
    port = 443 if scheme == "https" else 80
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("utf-8"),
        "query_string": str(event.get("rawQueryString") or "").encode("latin-1", "replace"),
        "root_path": "",
        "headers": headers,
        "client": (str(http.get("sourceIp") or "0.0.0.0"), 0),  # noqa: S104 - an address label, not a bind
        "server": (host.split(":")[0], port),
        "state": {},
    }
    return scope, body


async def _call_asgi(app: Any, scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    sent = False
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return function_url_response(start.get("status", 500), start.get("headers", []), b"".join(chunks))


def function_url_response(status: int, raw_headers: Sequence[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    """A Function URL response from an ASGI answer (Set-Cookie headers go to ``cookies``)."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in raw_headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() == "set-cookie":
            cookies.append(value)
        elif name in headers:
            headers[name] = f"{headers[name]}, {value}"
        else:
            headers[name] = value
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "").lower()
    response: dict[str, Any] = {"statusCode": status, "headers": headers}
    textual = any(marker in content_type for marker in _TEXTUAL)
    try:
        response["body"] = body.decode("utf-8") if textual or not body else None
    except UnicodeDecodeError:
        response["body"] = None
    if response["body"] is None:
        response["body"] = base64.b64encode(body).decode("ascii")
        response["isBase64Encoded"] = True
    else:
        response["isBase64Encoded"] = False
    if cookies:
        response["cookies"] = cookies
    return response
