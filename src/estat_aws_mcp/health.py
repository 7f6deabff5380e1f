"""The two open probes, the same in ``serve --http`` and on the Function URL (no authentication).

- ``GET /health`` is the liveness probe: 200 while the process runs. Container platforms point their
  health checks here and replace a task that fails it, which cannot help a server that waits for its
  settings (every task waits for the same SSM parameters), so it does not fail for that.
- ``GET /ready`` is the readiness probe: 200 when the server can serve MCP requests, 503 (with
  ``Retry-After``) while its authentication gate refuses every request, e.g. while the OAuth settings
  in SSM cannot be read yet (:mod:`estat_aws_mcp.auth.deferred`). Monitors and deploy scripts wait on it.

Both bodies say which (``"ready": true|false`` and the reason code), never why in detail: the probes
are public, the server's log has the details.
"""

from __future__ import annotations

from typing import Any

from estat_aws_mcp import __version__

HEALTH_PATH = "/health"
READY_PATH = "/ready"
PROBE_PATHS = (HEALTH_PATH, READY_PATH)
RETRY_AFTER_S = 10


def is_probe(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and (path.rstrip("/") or "/") in PROBE_PATHS


def probe_answer(path: str, gate: Any, **extra: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """``(status, JSON body, headers)`` for a probe path; ``gate``: the server's :class:`AuthGate`."""
    reason = gate.unready_reason()
    body: dict[str, Any] = {"status": "ok", "ready": reason is None, "version": __version__, **extra}
    if reason is not None:
        body["reason"] = reason
        if path.rstrip("/") == READY_PATH:
            return 503, body, {"Retry-After": str(RETRY_AFTER_S)}
    return 200, body, {}
