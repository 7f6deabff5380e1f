"""The upstream OpenID Provider (Cognito when deployed): discovery and the token endpoint.

The provider is found by discovery (``<issuer>/.well-known/openid-configuration``, then RFC 8414's
``/.well-known/oauth-authorization-server``); its ``issuer`` must equal the configured one exactly.
It must support the authorization code flow with PKCE S256 (a document that lists
``code_challenge_methods_supported`` without ``S256`` is refused; Cognito's omits the list and
supports S256). The proxy is one client of the provider: public (PKCE only, Cognito's default) or
confidential when a client secret is configured (HTTP Basic; the secret may be read lazily, from
SSM, on the first token request).

When the document names a ``revocation_endpoint`` (RFC 7009; ``oidc-provider`` with its revocation
feature on), :meth:`UpstreamProvider.revoke` asks it to revoke a refresh token, authenticated like
the token requests. Cognito's discovery document may not name its revocation endpoint: for a
Cognito user pool issuer whose token endpoint is ``https://<domain>/oauth2/token``, the endpoint is
taken to be its documented neighbour ``https://<domain>/oauth2/revoke``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from estat_aws_mcp.errors import ConfigurationError, UpstreamError

DISCOVERY_TTL_S = 3600.0
HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None


class UpstreamTokenError(Exception):
    """The provider refused a grant (its OAuth ``error`` code is kept; its description is not shown)."""

    def __init__(self, error: str, status: int) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def _discovery_urls(issuer: str) -> list[str]:
    base = issuer.rstrip("/")
    return [f"{base}/.well-known/openid-configuration", f"{base}/.well-known/oauth-authorization-server"]


_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[A-Za-z0-9_-]+$")


def _revocation_endpoint(issuer: str, document: dict[str, Any], token_endpoint: str) -> str | None:
    advertised = document.get("revocation_endpoint")
    if isinstance(advertised, str) and advertised:
        return advertised
    parts = urlsplit(token_endpoint)
    if _COGNITO_ISSUER.match(issuer) and parts.scheme == "https" and parts.path == "/oauth2/token":
        return urlunsplit(("https", parts.netloc, "/oauth2/revoke", "", ""))
    return None


def metadata_from_document(issuer: str, document: Any) -> ProviderMetadata:
    """The endpoints of a discovery document, after checking that it is the configured issuer's."""
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise ConfigurationError(
            "The sign-in provider's discovery document names another issuer than "
            "ESTAT_MCP_OAUTH_UPSTREAM_ISSUER (it must match exactly)."
        )
    endpoints = {name: document.get(name) for name in ("authorization_endpoint", "token_endpoint")}
    if not all(isinstance(value, str) and value for value in endpoints.values()):
        raise ConfigurationError("The sign-in provider's discovery document lacks its authorization/token endpoints.")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ConfigurationError("The sign-in provider does not support PKCE S256.")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        revocation_endpoint=_revocation_endpoint(issuer, document, endpoints["token_endpoint"]),
    )


class UpstreamProvider:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | Callable[[], str] | None = None,
        *,
        timeout_s: float = HTTP_TIMEOUT_S,
        verify: Any = True,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self._timeout_s = timeout_s
        self._verify = verify
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self._timeout_s, verify=self._verify, follow_redirects=False)

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._fetched_at < DISCOVERY_TTL_S:
                return self._metadata
            self._metadata = self._discover()
            self._fetched_at = time.monotonic()
            return self._metadata

    def _discover(self) -> ProviderMetadata:
        last: str = "no answer"
        with self._client() as client:
            for url in _discovery_urls(self.issuer):
                try:
                    response = client.get(url, headers={"Accept": "application/json"})
                except httpx.HTTPError as error:
                    last = type(error).__name__
                    continue
                if response.status_code != 200:
                    last = f"HTTP {response.status_code}"
                    continue
                try:
                    document = response.json()
                except ValueError:
                    last = "not JSON"
                    continue
                return metadata_from_document(self.issuer, document)
        raise UpstreamError(f"The sign-in provider's discovery document could not be read ({last}).")

    def _auth(self) -> httpx.BasicAuth | None:
        secret = self._client_secret() if callable(self._client_secret) else self._client_secret
        if secret:
            return httpx.BasicAuth(quote(self.client_id, safe=""), quote(secret, safe=""))
        return None

    def revoke(self, refresh_token: str) -> str:
        """Ask the provider to revoke ``refresh_token`` (RFC 7009); the outcome, for the log.

        ``revoked`` (the provider answered 200, which RFC 7009 also answers for an unknown token),
        ``not_advertised`` (no revocation endpoint known), or ``failed_<why>``.
        Never raises: revocation is a best effort on top of the proxy's own refusal.
        """
        try:
            endpoint = self.metadata().revocation_endpoint
        except (UpstreamError, ConfigurationError):
            return "failed_discovery"
        if endpoint is None:
            return "not_advertised"
        form = {"token": refresh_token, "token_type_hint": "refresh_token", "client_id": self.client_id}
        try:
            with self._client() as client:
                response = client.post(endpoint, data=form, headers={"Accept": "application/json"}, auth=self._auth())
        except (httpx.HTTPError, UpstreamError, ConfigurationError) as error:  # also: the secret (SSM) unreadable
            return f"failed_{type(error).__name__}"
        return "revoked" if response.status_code == 200 else f"failed_http_{response.status_code}"

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        """POST ``form`` to the token endpoint with this proxy's client credentials; the JSON answer."""
        metadata = self.metadata()
        form = {**form, "client_id": self.client_id}
        headers = {"Accept": "application/json"}
        auth = self._auth()
        try:
            with self._client() as client:
                response = client.post(metadata.token_endpoint, data=form, headers=headers, auth=auth)
        except httpx.HTTPError as error:
            raise UpstreamError(
                f"The sign-in provider's token endpoint did not answer ({type(error).__name__})."
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            return body
        error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
        if error is None:
            raise UpstreamError(f"The sign-in provider's token endpoint answered HTTP {response.status_code}.")
        raise UpstreamTokenError(error, response.status_code)
