"""The one authentication gate: who may call the MCP endpoint, on every transport.

:meth:`AuthGate.check` takes a transport-neutral :class:`GateRequest` and answers either a
:class:`Caller` (go on; log its fields) or a :class:`Refusal` (send it as is). The Lambda Function
URL handler and the ``serve --http`` middleware both call it, so modes, challenges, comparisons and
rate limits are the same everywhere.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from estat_aws_mcp.auth.ratelimit import RateLimiter, rate_limiter_from_settings
from estat_aws_mcp.auth.token import (
    TokenSource,
    fingerprint,
    presented_api_key,
    presented_bearer_token,
    token_source_from_settings,
)
from estat_aws_mcp.errors import ConfigurationError, UpstreamError

if TYPE_CHECKING:
    # PyJWT and cryptography load only in oauth mode (not on the cold start of none/token mode).
    from estat_aws_mcp.auth.oauth import AccessTokenValidator, OAuthConfig

logger = logging.getLogger(__name__)

REALM = "estat-aws-mcp"
Mode = Literal["none", "token", "oauth"]
# JSON-RPC error code of refusals at the HTTP edge (the request never reached the server).
REFUSAL_CODE = -32001


@dataclass(frozen=True)
class GateRequest:
    """What the gate needs of an HTTP request."""

    headers: Mapping[str, Any]
    source_ip: str | None = None
    # The IAM caller already verified by an AWS_IAM Function URL (its Authorization header is SigV4).
    iam_caller: str | None = None


@dataclass(frozen=True)
class Caller:
    """An admitted caller. ``rate_key`` identifies it for rate limits and is never a secret."""

    kind: Literal["anonymous", "iam", "token", "oauth"]
    rate_key: str
    subject: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str | None:
        """What request logs show as ``caller``: the OAuth sub or IAM ARN (None for token/anonymous)."""
        return self.subject

    def log_fields(self) -> dict[str, Any]:
        return {"auth": self.kind, "caller": self.subject, "client_id": self.client_id}


@dataclass(frozen=True)
class Refusal:
    """A refused request: status, a message safe to show, headers (challenge, Retry-After), a log reason."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = "refused"

    def json_body(self) -> str:
        return json.dumps({"jsonrpc": "2.0", "error": {"code": REFUSAL_CODE, "message": self.message}, "id": None})


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class AuthGate:
    """Modes ``none`` (open), ``token`` (shared bearer token / X-API-Key), ``oauth`` (JWT access tokens)."""

    def __init__(
        self,
        mode: Mode,
        *,
        token: TokenSource | None = None,
        validator: AccessTokenValidator | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        if mode == "token" and token is None:
            raise ConfigurationError("token mode needs a token source")
        if mode == "oauth" and validator is None:
            raise ConfigurationError("oauth mode needs a token validator")
        self.mode = mode
        self.token = token
        self.validator = validator
        self.limiter = limiter

    @classmethod
    def from_settings(cls, settings: Any) -> AuthGate:
        """The gate the settings describe; ConfigurationError (clear, at start-up) when they contradict."""
        from estat_aws_mcp.auth.deferred import DeferredGate, ssm_parameters

        if ssm_parameters(settings):
            # Some OAuth settings are in SSM parameters, perhaps not written yet (estat_aws_mcp.auth.deferred).
            return DeferredGate.from_ssm_settings(settings)
        token = token_source_from_settings(settings)
        mode: Mode = settings.auth_mode or ("token" if token is not None else "none")
        limiter = rate_limiter_from_settings(settings)
        if mode == "token" and token is None:
            raise ConfigurationError(
                "ESTAT_MCP_AUTH_MODE=token but no token is configured: set ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER "
                "(an SSM SecureString) or ESTAT_MCP_AUTH_TOKEN."
            )
        if mode != "token" and token is not None:
            raise ConfigurationError(
                f"ESTAT_MCP_AUTH_MODE={mode} but a bearer token is configured ({token.description}): "
                "unset the token or choose ESTAT_MCP_AUTH_MODE=token."
            )
        if mode == "oauth":
            from estat_aws_mcp.auth.oauth import AccessTokenValidator, OAuthConfig

            return cls(mode, validator=AccessTokenValidator(OAuthConfig.from_settings(settings)), limiter=limiter)
        return cls(mode, token=token, limiter=limiter)

    @property
    def oauth(self) -> OAuthConfig | None:
        return self.validator.config if self.validator is not None else None

    def unready_reason(self) -> str | None:
        """Why the gate refuses every request for now (a reason code, see :mod:`estat_aws_mcp.health`), or None."""
        return None

    # --- the check ---------------------------------------------------------------------------

    def check(self, request: GateRequest) -> Caller | Refusal:
        """Admit or refuse one request to the MCP endpoint. Blocking (may read SSM or the JWKS)."""
        if request.iam_caller:
            outcome: Caller | Refusal = Caller("iam", f"iam:{request.iam_caller}", subject=request.iam_caller)
        elif self.mode == "token":
            outcome = self._check_token(request)
        elif self.mode == "oauth":
            outcome = self._check_oauth(request)
        else:
            outcome = Caller("anonymous", f"ip:{request.source_ip or 'unknown'}")
        if isinstance(outcome, Refusal) or self.limiter is None:
            return outcome
        wait_s = self.limiter.admit(outcome.rate_key)
        if wait_s is None:
            return outcome
        retry_after = str(max(1, int(-(-wait_s // 1))))
        return Refusal(
            429,
            f"Too many requests: try again in {retry_after} s.",
            {"Retry-After": retry_after},
            reason="rate_limited",
        )

    def _unavailable(self, error: Exception, source: str) -> Refusal:
        # Fail closed: nobody gets in while the expected token or the keys cannot be read.
        logger.error("authentication unavailable (%s): %s", source, error)
        return Refusal(500, "Authentication is not available (see the server's logs).", reason="auth_unavailable")

    def _check_token(self, request: GateRequest) -> Caller | Refusal:
        assert self.token is not None
        presented = presented_bearer_token(request.headers) or presented_api_key(request.headers)
        if presented is None:
            return Refusal(
                401,
                "Unauthorized: send 'Authorization: Bearer <token>' (or 'X-API-Key: <token>').",
                {"WWW-Authenticate": f'Bearer realm="{REALM}"'},
                reason="missing_token",
            )
        try:
            matches = self.token.matches(presented)
        except (ConfigurationError, UpstreamError) as error:
            return self._unavailable(error, self.token.description)
        if not matches:
            return Refusal(
                401,
                "Unauthorized: the bearer token is not valid.",
                {"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
                reason="invalid_token",
            )
        return Caller("token", f"token:{fingerprint(presented)}")

    def _challenge(self, error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
        config = self.oauth
        assert config is not None
        parts = [f'resource_metadata="{config.resource_metadata_url}"']
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quoted(description)}"')
        if scope:
            parts.append(f'scope="{_quoted(scope)}"')
        return "Bearer " + ", ".join(parts)

    def _check_oauth(self, request: GateRequest) -> Caller | Refusal:
        from estat_aws_mcp.auth.oauth import TokenRejected

        assert self.validator is not None
        config = self.validator.config
        presented = presented_bearer_token(request.headers)
        if presented is None:
            # error="invalid_token" on every 401, as this project's clients and docs expect (RFC 6750 3.1
            # only advises against an error code here; clients follow resource_metadata either way).
            challenge = self._challenge(
                "invalid_token", "no bearer token was sent", scope=" ".join(config.required_scopes) or None
            )
            return Refusal(
                401,
                "Unauthorized: sign in (OAuth) and send 'Authorization: Bearer <access token>'.",
                {"WWW-Authenticate": challenge},
                reason="missing_token",
            )
        try:
            claims = self.validator.validate(presented)
        except TokenRejected as rejected:
            challenge = self._challenge(rejected.error, rejected.description, rejected.scope)
            return Refusal(
                rejected.status,
                f"{'Forbidden' if rejected.status == 403 else 'Unauthorized'}: {rejected.description}",
                {"WWW-Authenticate": challenge},
                reason=rejected.error,
            )
        except UpstreamError as error:
            return self._unavailable(error, "jwks")
        who = claims.subject or claims.client_id
        rate_key = f"sub:{who}" if who else f"token:{fingerprint(presented)}"
        return Caller("oauth", rate_key, subject=claims.subject, client_id=claims.client_id, scopes=claims.scopes)


def iam_caller(event: Mapping[str, Any]) -> str | None:
    """The IAM caller an AWS_IAM Function URL verified (ARN, else caller id, else account), or None.

    With ``AuthType = AWS_IAM`` the URL checks the SigV4 signature before the function runs and
    hands the identity in ``requestContext.authorizer.iam``.
    """
    request_context = event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    if not isinstance(iam, Mapping):
        return None
    for key in ("userArn", "callerId", "accountId"):
        value = iam.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def is_loopback_host(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_protection_for_host(gate: AuthGate, host: str, allow_unauthenticated: bool) -> None:
    """Refuse to serve an open MCP endpoint beyond loopback unless explicitly allowed."""
    if gate.mode != "none" or is_loopback_host(host):
        return
    if allow_unauthenticated:
        logger.warning(
            "serving HTTP on %s WITHOUT authentication (--allow-unauthenticated): anyone who can reach it "
            "can call every tool",
            host,
        )
        return
    raise ConfigurationError(
        f"Refusing to serve HTTP on {host} without authentication: anyone who can reach this address could "
        "call the tools. Configure a token (ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER or ESTAT_MCP_AUTH_TOKEN), or "
        "ESTAT_MCP_AUTH_MODE=oauth, or bind to 127.0.0.1, or pass --allow-unauthenticated if something in front "
        "of the server authenticates callers."
    )
