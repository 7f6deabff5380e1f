"""OAuth resource-server mode: access-token (JWT) validation that fails closed.

Every request to the MCP endpoint must carry ``Authorization: Bearer <access token>`` where the
token is a JWT that

- is signed with RS256 or ES256 by a key of the issuer's JWKS, chosen by the header's ``kid``
  (``alg: none`` and every HMAC algorithm are refused before any key is touched, so a token
  "signed" with the public key as an HMAC secret never verifies; a key is only used with the one
  algorithm its type allows);
- has exactly the configured ``iss``; a valid ``exp`` and, when present, ``nbf`` (30 s leeway);
- has ``token_use`` = ``access`` when the claim is present (a Cognito ID token is refused);
- has ``aud`` containing ``ESTAT_MCP_OAUTH_AUDIENCE`` or ``client_id`` in ``ESTAT_MCP_OAUTH_CLIENT_IDS``;
- carries every scope of ``ESTAT_MCP_OAUTH_REQUIRED_SCOPES`` (``scope`` string or ``scp``), else 403.

The JWKS (``ESTAT_MCP_OAUTH_JWKS_URL``, or the ``jwks_uri`` of the issuer's discovery document) is
cached for an hour and fetched again early when a token names an unknown ``kid``, at most once per
30 s; when it cannot be refreshed the keys read before serve for at most a day (then: fail closed). Only https URLs are fetched (plain http only on loopback addresses, for local development).
PyJWT (with ``cryptography``) does the cryptography.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from estat_aws_mcp.auth.gate import is_loopback_host
from estat_aws_mcp.errors import ConfigurationError, UpstreamError

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ("RS256", "ES256")
LEEWAY_S = 30
PRM_PATH = "/.well-known/oauth-protected-resource"
_MAX_DOCUMENT_BYTES = 512 * 1024
MAX_TOKEN_CHARS = 16 * 1024  # Cognito access tokens are about 1 kB


@dataclass(frozen=True)
class OAuthConfig:
    """The resource server's settings, checked at start-up."""

    public_url: str
    issuer: str
    jwks_url: str | None = None
    audience: str | None = None
    client_ids: frozenset[str] = frozenset()
    required_scopes: tuple[str, ...] = ()
    authorization_servers: tuple[str, ...] = ()

    @property
    def resource_metadata_url(self) -> str:
        return self.public_url + PRM_PATH

    @property
    def mcp_resource(self) -> str:
        return self.public_url + "/mcp"

    @classmethod
    def from_settings(cls, settings: Any) -> OAuthConfig:
        problems = []
        public_url = (settings.public_url or "").strip().rstrip("/")
        issuer = (settings.oauth_issuer or "").strip()
        if not public_url:
            problems.append("ESTAT_MCP_PUBLIC_URL (the server's public base URL) is not set")
        elif urlsplit(public_url).scheme not in ("https", "http") or not urlsplit(public_url).netloc:
            problems.append(f"ESTAT_MCP_PUBLIC_URL must be an absolute http(s) URL, not {public_url!r}")
        if not issuer:
            problems.append("ESTAT_MCP_OAUTH_ISSUER (the token issuer) is not set")
        else:
            _check_fetchable(issuer, "ESTAT_MCP_OAUTH_ISSUER", problems)
        jwks_url = (settings.oauth_jwks_url or "").strip() or None
        if jwks_url:
            _check_fetchable(jwks_url, "ESTAT_MCP_OAUTH_JWKS_URL", problems)
        audience = (settings.oauth_audience or "").strip() or None
        client_ids = frozenset(part.strip() for part in (settings.oauth_client_ids or "").split(",") if part.strip())
        if audience is None and not client_ids:
            problems.append(
                "neither ESTAT_MCP_OAUTH_AUDIENCE nor ESTAT_MCP_OAUTH_CLIENT_IDS is set: without one of them any "
                "token of the issuer (for any application) would be accepted"
            )
        if problems:
            raise ConfigurationError("ESTAT_MCP_AUTH_MODE=oauth: " + "; ".join(problems) + ".")
        scopes = tuple((settings.oauth_required_scopes or "").split())
        # With the authorization proxy (ESTAT_MCP_OAUTH_UPSTREAM_ISSUER) clients sign in through this
        # server, so it is the authorization server clients are sent to; otherwise the issuer is.
        proxied = bool((getattr(settings, "oauth_upstream_issuer", None) or "").strip())
        servers = (public_url,) if proxied else (issuer,)
        return cls(public_url, issuer, jwks_url, audience, client_ids, scopes, servers)


def _check_fetchable(url: str, name: str, problems: list[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return  # local development and tests only
    problems.append(f"{name} must be an https URL (http only on loopback), not {url!r}")


class TokenRejected(Exception):
    """A refused token: ``error`` is the RFC 6750 code, ``description`` safe to show (never the token)."""

    def __init__(self, description: str, *, error: str = "invalid_token", scope: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.error = error
        self.scope = scope

    @property
    def status(self) -> int:
        return 403 if self.error == "insufficient_scope" else 401


@dataclass(frozen=True)
class AccessClaims:
    """What the gate keeps of a valid token."""

    subject: str | None
    client_id: str | None
    scopes: frozenset[str] = field(default_factory=frozenset)


def _fetch_json(url: str, timeout_s: float) -> dict[str, Any]:
    import httpx

    try:
        with (
            httpx.Client(timeout=timeout_s, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise UpstreamError(f"GET {url} answered HTTP {response.status_code}.")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _MAX_DOCUMENT_BYTES:
                    raise UpstreamError(f"GET {url}: the document is larger than {_MAX_DOCUMENT_BYTES} bytes.")
    except httpx.HTTPError as error:
        raise UpstreamError(f"GET {url} failed ({type(error).__name__}).") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise UpstreamError(f"GET {url}: not a JSON document.") from None
    if not isinstance(document, dict):
        raise UpstreamError(f"GET {url}: not a JSON object.")
    return document


def _signing_key(jwk: Mapping[str, Any]) -> tuple[str, jwt.PyJWK] | None:
    """(kid, key bound to its one algorithm) for an RSA or P-256 signing key; None for anything else."""
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    kty, declared = jwk.get("kty"), jwk.get("alg")
    if kty == "RSA":
        algorithm = "RS256"
    elif kty == "EC" and jwk.get("crv") == "P-256":
        algorithm = "ES256"
    else:
        return None  # symmetric ("oct") and other keys are never used
    if declared is not None and declared != algorithm:
        return None
    if any(name in jwk for name in ("d", "p", "q", "k")):
        return None  # a private or symmetric key published by mistake: refuse to use it
    try:
        return kid, jwt.PyJWK(dict(jwk), algorithm=algorithm)
    except jwt.PyJWTError:
        return None


class JwksCache:
    """The issuer's signing keys by ``kid``: cached ``ttl_s``, refreshed on an unknown kid at most every ``min_refresh_s``."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        ttl_s: float = 3600.0,
        min_refresh_s: float = 30.0,
        max_stale_s: float = 86400.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.max_stale_s = max_stale_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._attempt_at = float("-inf")
        self.fetches = 0  # JWKS downloads so far (observability and tests)

    def _discover(self) -> str:
        base = self.issuer.rstrip("/")
        last: Exception | None = None
        for suffix in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            try:
                document = _fetch_json(base + suffix, self.timeout_s)
            except UpstreamError as error:
                last = error
                continue
            if document.get("issuer") != self.issuer:
                raise UpstreamError(f"The discovery document at {base + suffix} names another issuer.")
            uri = document.get("jwks_uri")
            problems: list[str] = []
            if isinstance(uri, str):
                _check_fetchable(uri, "jwks_uri", problems)
            if not isinstance(uri, str) or problems:
                raise UpstreamError(f"The discovery document at {base + suffix} has no usable jwks_uri.")
            return uri
        raise UpstreamError(f"Could not discover the issuer's JWKS ({last}).")

    def _fetch(self, now: float) -> None:
        self._attempt_at = now
        self.fetches += 1
        if self.jwks_url is None:
            self.jwks_url = self._discover()
        document = _fetch_json(self.jwks_url, self.timeout_s)
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise UpstreamError(f"{self.jwks_url} is not a JWKS (no 'keys' list).")
        keys = dict(found for found in map(_signing_key, filter(lambda e: isinstance(e, dict), entries)) if found)
        self._keys = keys
        self._fetched_at = now
        logger.info("fetched the issuer's JWKS: %d signing keys", len(keys))

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key named ``kid``, or None. Raises UpstreamError only when no key set could ever be read."""
        with self._lock:
            now = self._clock()
            stale = now - self._fetched_at >= self.ttl_s
            unknown = kid not in self._keys
            may_retry = now - self._attempt_at >= self.min_refresh_s
            if (stale or unknown) and may_retry:
                try:
                    self._fetch(now)
                except UpstreamError:
                    if self._fetched_at == float("-inf"):
                        raise
                    logger.warning("JWKS refresh failed; keeping the keys read before")
            if self._fetched_at == float("-inf"):
                raise UpstreamError("The issuer's JWKS could not be read (retrying shortly).")
            if now - self._fetched_at >= self.max_stale_s:
                # Keys the issuer may have withdrawn long ago are not trusted for ever.
                raise UpstreamError("The issuer's JWKS has not been readable for too long.")
            return self._keys.get(kid)


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return frozenset(found)


class AccessTokenValidator:
    """Validates access tokens against one :class:`OAuthConfig`."""

    def __init__(self, config: OAuthConfig, jwks: JwksCache | None = None, *, leeway_s: float = LEEWAY_S) -> None:
        self.config = config
        self.jwks = jwks or JwksCache(config.issuer, config.jwks_url)
        self.leeway_s = leeway_s

    def validate(self, token: str) -> AccessClaims:
        """The token's caller, or TokenRejected. Raises UpstreamError when no key set can be read."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("The access token is too long to be one.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("The access token is not a well-formed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise TokenRejected(
                f"The token's signing algorithm is not accepted (only {', '.join(ALLOWED_ALGORITHMS)})."
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("The token names no signing key (kid).")
        key = self.jwks.key(kid)
        if key is None:
            raise TokenRejected("The token is signed by a key the issuer does not publish.")
        if key.algorithm_name != algorithm:
            raise TokenRejected("The token's algorithm does not match its signing key.")
        claims = self._decode(token, key, algorithm)
        token_use = claims.get("token_use")
        if token_use is not None and token_use != "access":  # noqa: S105 - a claim value, not a secret
            raise TokenRejected("Not an access token (token_use is not 'access').")
        self._check_audience(claims)
        granted = _scopes(claims)
        missing = [scope for scope in self.config.required_scopes if scope not in granted]
        if missing:
            raise TokenRejected(
                "The token lacks a required scope.",
                error="insufficient_scope",
                scope=" ".join(self.config.required_scopes),
            )
        subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
        client_id = claims.get("client_id") if isinstance(claims.get("client_id"), str) else None
        return AccessClaims(subject, client_id, granted)

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                issuer=self.config.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss"], "verify_aud": False, "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("The token is not valid yet (nbf/iat in the future).") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("The token was issued by another issuer.") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("The token's signature does not verify.") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected(f"The token lacks the '{error.claim}' claim.") from None
        except jwt.PyJWTError:
            raise TokenRejected("The token is not valid.") from None

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if self.config.audience is not None and self.config.audience in audiences:
            return
        if self.config.client_ids and claims.get("client_id") in self.config.client_ids:
            return
        raise TokenRejected("The token was issued for another audience or client.")
