"""OAuth settings held in SSM parameters: the gate and the public routes, built once they can be read.

Why: a Lambda function's environment cannot name its own Function URL, nor the Cognito app client
whose callback is ``<that URL>/callback`` — both exist only after the function does, so Terraform
would need two applies. Instead the environment names SSM parameters (static names:
``ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER``, ``ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER``,
``ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER``, see :data:`estat_aws_mcp.settings.SSM_SOURCED_SETTINGS`)
that Terraform writes later in the same apply, and the server reads them here.

The public URL is never taken from a request (a ``Host`` header is the client's to choose; ``serve
--http`` has no trusted equivalent of the Function URL's domain): it is what the deployment wrote.

:meth:`AuthGate.from_settings` returns a :class:`DeferredGate` when one of those parameters is
named, and :meth:`PublicRoutes.from_settings` a :class:`DeferredRoutes` for it; both ask one
:class:`SsmResolvedAuth` for the current gate and routes. The parameters are read at start-up
(through :func:`estat_aws_mcp.aws.ssm.read_secure_string`, with the cache of the rotating bearer
token, :class:`estat_aws_mcp.aws.ssm.CachedRead`), trusted for ``ESTAT_MCP_SSM_SETTINGS_CACHE_S``
and then read again; the gate and routes are rebuilt only when a value changed. While they cannot
be read (not written yet, not readable by the role, SSM unreachable) or are not valid, every
request except the probes (``GET /health``, ``GET /ready``, see :mod:`estat_aws_mcp.health`; ``/ready``
answers 503 meanwhile) is refused with 503 ("not configured yet"), and the reason, naming the
parameter, is logged when it changes and then at most every :data:`REFUSAL_LOG_S` seconds with the
number of refusals since; SSM is asked again at most every :data:`RETRY_S` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from estat_aws_mcp.auth.gate import AuthGate, Caller, GateRequest, Refusal
from estat_aws_mcp.auth.routes import PublicRoutes
from estat_aws_mcp.aws.ssm import CachedRead
from estat_aws_mcp.errors import ConfigurationError, UpstreamError
from estat_aws_mcp.settings import SSM_SOURCED_SETTINGS

logger = logging.getLogger(__name__)

# Seconds between two reads while the parameters cannot be read (at most; less when the cache is shorter).
RETRY_S = 5.0
# Seconds between two log lines about refusals for the same reason (one line per refused request would
# flood the log of a server that clients keep calling while it waits).
REFUSAL_LOG_S = 60.0
UNAVAILABLE_MESSAGE = (
    "The server is not configured yet: its OAuth settings (written to SSM Parameter Store by the deployment) "
    "could not be read. Try again shortly; the server's logs say why."
)


def ssm_parameters(settings: Any) -> dict[str, str]:
    """Setting field -> the SSM parameter holding its value, for each parameter the settings name."""
    found = {}
    for field, parameter_field in SSM_SOURCED_SETTINGS.items():
        name = (getattr(settings, parameter_field, None) or "").strip()
        if name:
            found[field] = name
    return found


def _read_from_ssm(name: str) -> str:
    from estat_aws_mcp.aws.ssm import read_secure_string

    return read_secure_string(name)


@dataclass(frozen=True)
class _Built:
    values: dict[str, str]
    settings: Any  # the settings with the values filled in
    gate: AuthGate | None
    routes: PublicRoutes | None
    error: ConfigurationError | None


class SsmResolvedAuth:
    """The gate and public routes of the settings with the SSM-held values filled in."""

    def __init__(
        self,
        settings: Any,
        *,
        read: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.parameters = ssm_parameters(settings)
        if not self.parameters:
            raise ConfigurationError("No OAuth setting names an SSM parameter.")
        if settings.auth_mode != "oauth":
            names = ", ".join(f"ESTAT_MCP_{field.upper()}_SSM_PARAMETER" for field in self.parameters)
            raise ConfigurationError(
                f"{names} name SSM parameters holding OAuth settings: set ESTAT_MCP_AUTH_MODE=oauth."
            )
        self.settings = settings
        reader = read or _read_from_ssm
        ttl_s = float(settings.ssm_settings_cache_s)
        self._values: CachedRead[dict[str, str]] = CachedRead(
            lambda: self._read_all(reader), ttl_s=ttl_s, min_refresh_s=min(RETRY_S, ttl_s), clock=clock
        )
        self._lock = threading.Lock()
        self._built: _Built | None = None

    @property
    def reads(self) -> int:
        """Rounds of SSM reads so far (observability and tests)."""
        return self._values.reads

    def _read_all(self, reader: Callable[[str], str]) -> dict[str, str]:
        by_parameter: dict[str, str] = {}
        values = {}
        for field, parameter in self.parameters.items():
            if parameter not in by_parameter:  # one parameter may feed two settings (the client id)
                by_parameter[parameter] = reader(parameter).strip()
            values[field] = by_parameter[parameter]
        return values

    def current(self) -> tuple[AuthGate, PublicRoutes]:
        """The gate and routes of the current values; ConfigurationError/UpstreamError while there are none."""
        with self._lock:
            values = self._values.get(self._values.clock())
            built = self._built
            if built is None or built.values != values:
                built = self._built = self._build(values)
            if built.error is not None:
                raise ConfigurationError(str(built.error))
            assert built.gate is not None and built.routes is not None
            return built.gate, built.routes

    def current_settings(self) -> Any:
        """The settings with the values read from SSM (reads like :meth:`current`)."""
        self.current()
        assert self._built is not None
        return self._built.settings

    def last_routes(self) -> PublicRoutes | None:
        """The routes built last (no SSM read), or None."""
        built = self._built
        return built.routes if built is not None else None

    def _build(self, values: dict[str, str]) -> _Built:
        cleared = dict.fromkeys(SSM_SOURCED_SETTINGS.values())
        resolved = self.settings.model_copy(update={**values, **cleared})
        try:
            gate = AuthGate.from_settings(resolved)
            routes = PublicRoutes.from_settings(resolved, gate)
        except ConfigurationError as error:
            where = ", ".join(sorted(set(self.parameters.values())))
            return _Built(values, resolved, None, None, ConfigurationError(f"{error} (values read from SSM: {where})"))
        logger.info("OAuth settings read from SSM parameters %s", ", ".join(sorted(set(self.parameters.values()))))
        return _Built(values, resolved, gate, routes, None)


class DeferredGate(AuthGate):
    """The oauth gate of :class:`SsmResolvedAuth`: refuses with 503 until the settings can be read."""

    def __init__(self, auth: SsmResolvedAuth, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.mode = "oauth"
        self.token = None
        self.validator = None
        self.limiter = None
        self.auth = auth
        self._clock = clock
        self._log_lock = threading.Lock()
        self._logged: tuple[str, float] | None = None  # the reason logged last, and when
        self._unlogged = 0  # refusals since

    @classmethod
    def from_ssm_settings(cls, settings: Any) -> DeferredGate:
        gate = cls(SsmResolvedAuth(settings))
        try:
            gate.auth.current()  # at start-up (the Lambda init phase), so the first request need not wait
        except (ConfigurationError, UpstreamError) as error:
            logger.warning("OAuth settings not available yet, refusing requests until they are: %s", error)
        return gate

    def check(self, request: GateRequest) -> Caller | Refusal:
        try:
            gate, _ = self.auth.current()
        except (ConfigurationError, UpstreamError) as error:
            self._log_refusal(str(error))
            return Refusal(503, UNAVAILABLE_MESSAGE, {"Retry-After": "10"}, reason="settings_unavailable")
        return gate.check(request)

    def unready_reason(self) -> str | None:
        try:
            self.auth.current()
        except (ConfigurationError, UpstreamError):
            return "settings_unavailable"
        return None

    def _log_refusal(self, reason: str) -> None:
        now = self._clock()
        with self._log_lock:
            last = self._logged
            if last is not None and last[0] == reason and now - last[1] < REFUSAL_LOG_S:
                self._unlogged += 1
                return
            since, self._unlogged = self._unlogged, 0
            self._logged = (reason, now)
        more = f" ({since} more refused since the last line)" if since else ""
        logger.error("refused: the OAuth settings are not available: %s%s", reason, more)


class DeferredRoutes(PublicRoutes):
    """The public routes of :class:`SsmResolvedAuth` (none while the settings cannot be read)."""

    may_block = True  # owns() may read SSM

    def __init__(self, auth: SsmResolvedAuth) -> None:
        super().__init__([])
        self.auth = auth

    def owns(self, method: str, path: str) -> bool:
        try:
            _, current = self.auth.current()
        except (ConfigurationError, UpstreamError):
            return False  # the gate refuses the request with 503
        return current.owns(method, path)

    def _last(self) -> PublicRoutes:
        # Called right after owns() answered True, so the routes are built.
        return self.auth.last_routes() or PublicRoutes([])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self._last()(scope, receive, send)

    def handle_function_url_event(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._last().handle_function_url_event(event)
