"""The gate in front of the ``serve --http`` app (an ASGI wrapper, same gate as the Lambda handler).

Order per request: the public routes (:mod:`estat_aws_mcp.auth.routes`) → the probes (``GET /health``,
``GET /ready``: :mod:`estat_aws_mcp.health`) and CORS preflights straight through → :meth:`AuthGate.check` (run in a worker thread: it may read SSM or
the JWKS) → the MCP app, with the admitted :class:`~estat_aws_mcp.auth.gate.Caller` in
``scope["state"]["caller"]``. One log line per gated request names method, path, status, duration and
the caller's ``auth`` kind, ``caller`` (OAuth sub) and ``client_id``; never a header or a token.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio

from estat_aws_mcp.auth.gate import AuthGate, GateRequest, Refusal
from estat_aws_mcp.auth.routes import PublicRoutes
from estat_aws_mcp.health import is_probe

access_log = logging.getLogger("estat_aws_mcp.http")


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


async def send_refusal(send: Any, refusal: Refusal) -> None:
    body = refusal.json_body().encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GatedApp:
    """ASGI: public routes, then the gate, then ``app``."""

    def __init__(self, app: Any, gate: AuthGate, public: PublicRoutes | None = None) -> None:
        self.app = app
        self.gate = gate
        self.public = public or PublicRoutes([])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan (the MCP session manager) and others
            return
        method, path = scope["method"].upper(), scope["path"]
        if self.public.may_block:
            owned = await anyio.to_thread.run_sync(self.public.owns, method, path)
        else:
            owned = self.public.owns(method, path)
        if owned:
            await self.public(scope, receive, send)
            return
        if is_probe(method, path) or method == "OPTIONS":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        client = scope.get("client")
        request = GateRequest(_headers(scope), source_ip=client[0] if client else None)
        outcome = await anyio.to_thread.run_sync(self.gate.check, request)
        if isinstance(outcome, Refusal):
            await send_refusal(send, outcome)
            self._log(method, path, outcome.status, started, auth=outcome.reason)
            return
        status = 500

        async def observed_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        scope.setdefault("state", {})["caller"] = outcome
        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._log(method, path, status, started, **outcome.log_fields())

    @staticmethod
    def _log(method: str, path: str, status: int, started: float, **fields: Any) -> None:
        details = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
        access_log.info(
            "http request %s %s %d %.1fms %s",
            method,
            path,
            status,
            (time.perf_counter() - started) * 1000,
            details,
            extra={"http_method": method, "path": path, "status": status, **fields},
        )


def protect(app: Any, settings: Any, gate: AuthGate | None = None) -> GatedApp:
    """``app`` behind the gate and the public routes the settings describe."""
    gate = gate or AuthGate.from_settings(settings)
    return GatedApp(app, gate, PublicRoutes.from_settings(settings, gate))
