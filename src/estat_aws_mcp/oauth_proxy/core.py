"""The authorization proxy: an OAuth 2.1 authorization server for MCP clients in front of an OIDC provider.

MCP clients expect to register themselves (RFC 7591, or a Client ID Metadata Document) and to run
the authorization code flow with PKCE against the server's own authorization server. Cognito does
neither registration, so the proxy plays the authorization server towards MCP clients and one
fixed client towards the provider:

    client ──/authorize──▶ proxy (consent page) ──▶ provider /authorize (sign-in)
    provider ──/callback──▶ proxy ──code'──▶ client redirect_uri
    client ──/token(code', verifier)──▶ proxy ──(code, verifier₂)──▶ provider /token

Two PKCE legs: the client's ``code_challenge`` (S256 only) is checked at ``/token``; the proxy's
own verifier is sent to the provider. ``state`` values, consent transactions and codes are random,
single-use and short-lived (:mod:`.store`). The upstream code is redeemed only when the client
redeems the proxy's code, so no token is ever stored in the clear (see replayed codes below).

**Tokens handed to the client**: the provider's own access and refresh tokens, passed through (the
ID token is dropped). The MCP endpoint validates access tokens against the provider's issuer and
JWKS (``ESTAT_MCP_OAUTH_ISSUER`` = the provider, ``ESTAT_MCP_OAUTH_CLIENT_IDS`` = the proxy's
upstream client id), exactly as it would without the proxy, and revocation, lifetimes and user
management stay where the users are (Cognito). Refresh tokens are bound to the MCP client that
obtained them (a SHA-256 digest → client id record), so another client cannot redeem them here.

**Replayed codes** (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3): a redeemed code leaves a "spent" record
(keyed by the code's digest, kept :attr:`ProxyConfig.spent_code_ttl_s`, longer than a code lives)
naming a grant id that every refresh binding of that sign-in carries, and a record of the refresh
token issued for it, sealed (AES-GCM) with a key derived from the code itself. The store holds only
the code's SHA-256 digest, a different derivation, so it cannot open the seal; whoever replays the
code brings the key. A replay is refused (``invalid_grant``) and then: the grant is marked revoked
(every refresh binding of the sign-in, rotated ones included, is refused from then on), the
sealed refresh token is opened, its binding dropped and the token revoked at the provider when
the provider advertises a ``revocation_endpoint`` (RFC 7009). A replay that races the first
redemption is caught by the first redemption itself: it checks the mark after storing its records
and, when it finds it, revokes and refuses in turn. Access tokens already handed out stay valid
until they expire (the MCP endpoint validates JWTs locally).

**Consent**: the proxy is one client of the provider for every MCP client, so the provider's
"already signed in" session would let any registered client obtain a code silently (the confused
deputy problem the MCP security guidance describes). The proxy therefore shows its own consent
page naming the client and where the answer goes, bound to the browser by a cookie, before it
sends anyone to the provider. An approval is remembered for :attr:`ProxyConfig.approval_ttl_s`
for this browser (a random id in an ``HttpOnly`` cookie) and this exact client, redirect URI and
scope set (an ``approval`` record keyed by their digest): only that combination skips the page.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from estat_aws_mcp.errors import EstatMcpError
from estat_aws_mcp.oauth_proxy.cimd import (
    ClientMetadataError,
    ClientMetadataFetcher,
    is_client_metadata_url,
)
from estat_aws_mcp.oauth_proxy.store import RecordExists, StateStore
from estat_aws_mcp.oauth_proxy.upstream import UpstreamProvider, UpstreamTokenError

log = logging.getLogger("estat_aws_mcp.oauth_proxy")


def _log(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One line per endpoint call: the event, client id and outcome (never a code, state, verifier or token)."""
    # Values may come from the request (client ids): printable ASCII only, bounded.
    present = {key: _PRINTABLE.sub("?", str(value))[:200] for key, value in fields.items() if value is not None}
    details = " ".join(f"{key}={value}" for key, value in present.items())
    log.log(level, "oauth %s %s", event, details, extra={"oauth_event": event, **present})


CONSENT_COOKIE = "estat_mcp_oauth_consent"
CALLBACK_COOKIE = "estat_mcp_oauth_callback"
APPROVALS_COOKIE = "estat_mcp_oauth_browser"  # a random browser id: the key of this browser's approvals
_BROWSER_ID = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_PRINTABLE = re.compile(r"[^\x21-\x7e]")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss"})
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_PARAM_CHARS = 2048
MAX_REDIRECT_URIS = 10


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


_SEAL_CONTEXT = b"estat-aws-mcp oauth-proxy: refresh token sealed under its authorization code"


def _seal_key(code: str) -> bytes:
    # HMAC keyed by the code: not the SHA-256 digest the store keeps as the record's key.
    return hmac.new(code.encode("utf-8"), _SEAL_CONTEXT, hashlib.sha256).digest()


def seal(code: str, secret: str) -> str:
    """``secret`` encrypted (AES-256-GCM) under a key only the code's holder can derive."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_seal_key(code)).encrypt(nonce, secret.encode("utf-8"), _SEAL_CONTEXT)
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(code: str, sealed: str) -> str | None:
    """What :func:`seal` sealed under ``code``; None when it cannot be opened."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return AESGCM(_seal_key(code)).decrypt(raw[:12], raw[12:], _SEAL_CONTEXT).decode("utf-8")
    except (InvalidTag, ValueError, UnicodeError):
        return None


@dataclass(frozen=True)
class ProxyConfig:
    """``issuer``: the public base URL (the proxy's issuer identifier); ``resource``: the MCP endpoint."""

    issuer: str
    resource: str
    scopes_supported: tuple[str, ...]
    upstream_scopes: str
    transaction_ttl_s: float = 600.0
    code_ttl_s: float = 120.0
    client_ttl_s: float = 90 * 86400.0
    refresh_ttl_s: float = 30 * 86400.0
    # How long a redeemed code is remembered (replays detected, the tokens it produced revoked).
    spent_code_ttl_s: float = 900.0
    # How long a browser's consent to a (client, redirect URI, scope) is remembered; 0: never.
    approval_ttl_s: float = 30 * 86400.0

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/{name}"

    @property
    def callback_uri(self) -> str:
        return self.endpoint("callback")

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    def cookie_path(self, name: str) -> str:
        return f"{urlsplit(self.issuer).path.rstrip('/')}/{name}"


@dataclass
class Answer:
    """An HTTP answer, independent of the web framework."""

    status: int
    body: str = ""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)  # one Set-Cookie header each


class OAuthError(Exception):
    """An OAuth error answer (RFC 6749 §5.2): ``error`` code and a description safe to show."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Client:
    client_id: str
    redirect_uris: tuple[str, ...]
    name: str | None
    auth_method: str  # none | client_secret_post | client_secret_basic
    secret_digest: str | None
    metadata_document: bool


def _json_answer(status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Answer:
    import json

    return Answer(
        status,
        json.dumps(payload),
        "application/json",
        {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})},
    )


def _error_answer(error: OAuthError) -> Answer:
    headers = {"WWW-Authenticate": 'Basic realm="estat-aws-mcp"'} if error.status == 401 else {}
    return _json_answer(error.status, {"error": error.error, "error_description": error.description}, headers)


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in params.items() if value is not None)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _redirect(location: str, *cookies: str) -> Answer:
    return Answer(302, "", "text/plain", {"Location": location, "Cache-Control": "no-store"}, list(cookies))


_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _page(status: int, title: str, body_html: str, *cookies: str) -> Answer:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:36em;margin:3em auto;line-height:1.5}"
        "code{word-break:break-all}button{font-size:1em;margin-right:1em}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body_html}</body></html>"
    )
    return Answer(status, document, "text/html; charset=utf-8", dict(_PAGE_HEADERS), list(cookies))


def _error_page(status: int, message: str) -> Answer:
    return _page(status, "Sign-in cannot continue", f"<p>{html.escape(message)}</p>")


def check_redirect_uri(uri: str) -> None:
    """A redirect URI a client may register: absolute, no fragment; https, loopback http, or an app scheme."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_PARAM_CHARS:
        raise OAuthError("invalid_redirect_uri", "redirect_uris must be non-empty strings")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme) or "#" in uri:
        raise OAuthError("invalid_redirect_uri", "a redirect URI must be absolute and have no fragment")
    if scheme in _FORBIDDEN_SCHEMES:
        raise OAuthError("invalid_redirect_uri", f"redirect URIs with the {scheme} scheme are not allowed")
    if scheme == "http" and (parts.hostname or "") not in _LOOPBACK_HOSTS:
        raise OAuthError("invalid_redirect_uri", "http redirect URIs are allowed only on a loopback host")
    if scheme in ("http", "https") and not parts.hostname:
        raise OAuthError("invalid_redirect_uri", "a web redirect URI needs a host")


class AuthorizationProxy:
    def __init__(
        self,
        config: ProxyConfig,
        store: StateStore,
        upstream: UpstreamProvider,
        fetcher: ClientMetadataFetcher | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.upstream = upstream
        self.fetcher = fetcher or ClientMetadataFetcher()

    # -- metadata ----------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        c = self.config
        return {
            "issuer": c.issuer,
            "authorization_endpoint": c.endpoint("authorize"),
            "token_endpoint": c.endpoint("token"),
            "registration_endpoint": c.endpoint("register"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": list(c.scopes_supported),
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
        }

    # -- clients -----------------------------------------------------------------------------
    def find_client(self, client_id: str) -> Client | None:
        """A registered client or a metadata document client; None when unknown.

        Raises :class:`ClientMetadataError` when a metadata document cannot be used.
        """
        if not client_id or len(client_id) > MAX_PARAM_CHARS:
            return None
        if is_client_metadata_url(client_id):
            document = self.fetcher.get(client_id)
            return Client(client_id, document.redirect_uris, document.client_name, "none", None, True)
        record = self.store.get("client", client_id)
        if record is None:
            return None
        return Client(
            client_id,
            tuple(record["redirect_uris"]),
            record.get("client_name"),
            record["token_endpoint_auth_method"],
            record.get("secret_digest"),
            False,
        )

    def register(self, body: Any) -> Answer:
        """RFC 7591 dynamic registration (open: any client may register; records expire)."""
        try:
            answer = self._register(body)
        except OAuthError as error:
            _log("register", outcome=error.error)
            return _json_answer(400, {"error": error.error, "error_description": error.description})
        return answer

    def _register(self, body: Any) -> Answer:
        if not isinstance(body, dict):
            raise OAuthError("invalid_client_metadata", "the registration request must be a JSON object")
        redirect_uris = body.get("redirect_uris")
        if not isinstance(redirect_uris, list) or not redirect_uris or len(redirect_uris) > MAX_REDIRECT_URIS:
            raise OAuthError("invalid_redirect_uri", f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs")
        for uri in redirect_uris:
            check_redirect_uri(uri)
        method = body.get("token_endpoint_auth_method") or "client_secret_basic"
        if method not in ("none", "client_secret_post", "client_secret_basic"):
            raise OAuthError("invalid_client_metadata", f"token_endpoint_auth_method {method!r} is not supported")
        # RFC 7591 §3.2.1: the server may register fewer values than asked for. Clients such as
        # VS Code list grant types this server does not offer (device code): those are dropped.
        requested_grants = body.get("grant_types") or ["authorization_code"]
        requested_responses = body.get("response_types") or ["code"]
        if not isinstance(requested_grants, list) or "authorization_code" not in requested_grants:
            raise OAuthError("invalid_client_metadata", "grant_types must include authorization_code")
        if not isinstance(requested_responses, list) or "code" not in requested_responses:
            raise OAuthError("invalid_client_metadata", "response_types must include code")
        grant_types = [grant for grant in ("authorization_code", "refresh_token") if grant in requested_grants]
        name = body.get("client_name")
        if name is not None and (not isinstance(name, str) or len(name) > 200):
            raise OAuthError("invalid_client_metadata", "client_name must be a string of at most 200 characters")
        scope = body.get("scope")
        client_id = f"mcp-{secrets.token_urlsafe(18)}"
        secret = secrets.token_urlsafe(32) if method != "none" else None
        issued_at = int(time.time())
        record = {
            "redirect_uris": redirect_uris,
            "client_name": name,
            "token_endpoint_auth_method": method,
            "grant_types": grant_types,
            "secret_digest": _digest(secret) if secret else None,
            "issued_at": issued_at,
        }
        self.store.put("client", client_id, record, self.config.client_ttl_s)
        payload: dict[str, Any] = {
            "client_id": client_id,
            "client_id_issued_at": issued_at,
            "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": method,
            "grant_types": grant_types,
            "response_types": ["code"],
        }
        if name:
            payload["client_name"] = name
        if isinstance(scope, str):
            payload["scope"] = scope
        if secret:
            payload["client_secret"] = secret
            payload["client_secret_expires_at"] = issued_at + int(self.config.client_ttl_s)
        _log("register", client_id=client_id, auth_method=method, outcome="registered")
        return _json_answer(201, payload)

    # -- /authorize --------------------------------------------------------------------------
    def authorize(self, query: Mapping[str, str], cookies: Mapping[str, str] | None = None) -> Answer:
        """Check the request; show the consent page (or send the error where RFC 6749 §4.1.2.1 says).

        When this browser approved the same client, redirect URI and scope before (and the approval
        has not expired), it goes straight on to the provider's sign-in, unless ``prompt=consent``.
        """
        client_id = query.get("client_id", "")
        try:
            client = self.find_client(client_id)
        except ClientMetadataError as error:
            _log("authorize", client_id=client_id, outcome="client_metadata_refused")
            return _error_page(400, f"The client's metadata document cannot be used: {error}")
        if client is None:
            _log("authorize", outcome="unknown_client")
            return _error_page(400, "Unknown client_id: register the client first.")
        redirect_uri = query.get("redirect_uri")
        if redirect_uri is None and len(client.redirect_uris) == 1:
            redirect_uri = client.redirect_uris[0]
        if redirect_uri not in client.redirect_uris:
            _log("authorize", client_id=client_id, outcome="redirect_uri_mismatch")
            return _error_page(400, "The redirect_uri is not one the client registered (it must match exactly).")
        state = query.get("state")
        try:
            self._check_authorization_request(query)
        except OAuthError as error:
            _log("authorize", client_id=client_id, outcome=error.error)
            return _redirect(
                _with_query(
                    redirect_uri,
                    {
                        "error": error.error,
                        "error_description": error.description,
                        "state": state,
                        "iss": self.config.issuer,
                    },
                )
            )
        request = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": query["code_challenge"],
            "scope": query.get("scope"),
        }
        approvals = self._browser_id(cookies or {})
        asks_again = "consent" in (query.get("prompt") or "").split()  # OpenID Connect: show the page anyway
        if (
            approvals
            and not asks_again
            and self.store.get("approval", self._approval_key(approvals, request)) is not None
        ):
            return self._to_provider(request, "authorize", "consent_remembered")
        transaction = secrets.token_urlsafe(32)
        browser = secrets.token_urlsafe(32)
        self.store.put("consent", transaction, {**request, "browser": _digest(browser)}, self.config.transaction_ttl_s)
        _log("authorize", client_id=client_id, outcome="consent_shown")
        return self._consent_page(client, redirect_uri, query.get("scope"), transaction, browser)

    def _check_authorization_request(self, query: Mapping[str, str]) -> None:
        if query.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        challenge = query.get("code_challenge")
        if not challenge:
            raise OAuthError("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
        if query.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE.match(challenge):
            raise OAuthError("invalid_request", "code_challenge must be a base64url SHA-256 digest")
        self._check_resource(query.get("resource"))
        for name in ("state", "scope"):
            value = query.get(name)
            if value is not None and len(value) > MAX_PARAM_CHARS:
                raise OAuthError("invalid_request", f"{name} is too long")

    def _check_resource(self, resource: str | None) -> None:
        # RFC 8707: the MCP endpoint, or the server as a whole (the resource of the root-level
        # Protected Resource Metadata, which a Function URL also serves MCP at).
        accepted = (self.config.resource.rstrip("/"), self.config.issuer.rstrip("/"))
        if resource is not None and resource.rstrip("/") not in accepted:
            raise OAuthError("invalid_target", f"this server issues tokens for {self.config.resource} only")

    # -- remembered approvals -----------------------------------------------------------------
    def _browser_id(self, cookies: Mapping[str, str]) -> str | None:
        """This browser's id (the approvals cookie), when approvals are remembered and it has one."""
        value = cookies.get(APPROVALS_COOKIE, "")
        return value if self.config.approval_ttl_s > 0 and _BROWSER_ID.match(value) else None

    @staticmethod
    def _approval_key(browser_id: str, request: Mapping[str, Any]) -> str:
        # What was approved: this client, sending the answer to this exact URI, for these scopes.
        scopes = " ".join(sorted(set((request.get("scope") or "").split())))
        return "\n".join((browser_id, request["client_id"], request["redirect_uri"], scopes))

    def _remember_approval(self, cookies: Mapping[str, str], request: Mapping[str, Any]) -> list[str]:
        """Store the approval under this browser's id (a new one if it has none); the cookie to set."""
        if self.config.approval_ttl_s <= 0:
            return []
        browser_id = self._browser_id(cookies) or secrets.token_urlsafe(32)
        record = {"client_id": request["client_id"], "approved_at": int(time.time())}
        with contextlib.suppress(RecordExists):  # approved before in this browser (a page left open)
            self.store.put("approval", self._approval_key(browser_id, request), record, self.config.approval_ttl_s)
        path = self.config.cookie_path("authorize")
        return [self._cookie(APPROVALS_COOKIE, browser_id, path, int(self.config.approval_ttl_s))]

    def _cookie(self, name: str, value: str, path: str, max_age: int) -> str:
        secure = "; Secure" if self.config.secure_cookies else ""
        return f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"

    def _consent_page(
        self, client: Client, redirect_uri: str, scope: str | None, transaction: str, browser: str
    ) -> Answer:
        e = html.escape
        name = client.name or "An MCP client"
        origin = "its metadata document at" if client.metadata_document else "registered itself (unverified) as client"
        days = self.config.approval_ttl_s / 86400
        remembered = (
            f"<p>If you continue, this browser remembers it for {days:g} days for this application, this "
            "address and this scope, and skips this page for them (clear this site's cookies to forget it).</p>"
            if self.config.approval_ttl_s > 0
            else ""
        )
        body = (
            f"<p><strong>{e(name)}</strong> ({origin} <code>{e(client.client_id)}</code>) asks to use this "
            f"MCP server on your behalf{(' with scope <code>' + e(scope) + '</code>') if scope else ''}.</p>"
            f"<p>After you sign in, the answer goes to <code>{e(redirect_uri)}</code>. "
            f"Continue only if you started this sign-in from that application.</p>{remembered}"
            f"<form method='post' action='{e(self.config.endpoint('authorize'))}'>"
            f"<input type='hidden' name='transaction' value='{e(transaction)}'>"
            "<button type='submit' name='decision' value='approve'>Continue to sign-in</button>"
            "<button type='submit' name='decision' value='deny'>Cancel</button></form>"
        )
        cookie = self._cookie(
            CONSENT_COOKIE,
            browser,
            self.config.cookie_path("authorize"),
            int(self.config.transaction_ttl_s),
        )
        return _page(200, "Allow access to the e-Stat MCP server?", body, cookie)

    def consent(self, form: Mapping[str, str], cookies: Mapping[str, str]) -> Answer:
        """The consent form's answer: on to the provider's sign-in, or ``access_denied`` to the client."""
        record = self.store.take("consent", form.get("transaction", ""))
        browser = cookies.get(CONSENT_COOKIE, "")
        if record is None or not hmac.compare_digest(record["browser"], _digest(browser)):
            _log("consent", outcome="unknown_transaction")
            return _error_page(400, "This sign-in request is unknown, expired or already used. Start again.")
        if form.get("decision") != "approve":
            _log("consent", client_id=record["client_id"], outcome="denied")
            return _redirect(
                _with_query(
                    record["redirect_uri"],
                    {"error": "access_denied", "state": record.get("state"), "iss": self.config.issuer},
                )
            )
        answer = self._to_provider(record, "consent", "to_provider")
        if answer.status == 302:
            answer.cookies.extend(self._remember_approval(cookies, record))
        return answer

    def _to_provider(self, request: Mapping[str, Any], event: str, outcome: str) -> Answer:
        """On to the provider's sign-in with the proxy's own PKCE and ``state``, bound to this browser."""
        client_id = request["client_id"]
        try:
            authorization_endpoint = self.upstream.metadata().authorization_endpoint
        except EstatMcpError as error:
            _log(event, level=logging.WARNING, client_id=client_id, outcome="provider_unavailable")
            return _error_page(502, f"The sign-in provider cannot be reached right now: {error} Try again later.")
        upstream_state = secrets.token_urlsafe(32)
        upstream_verifier = secrets.token_urlsafe(64)
        callback_browser = secrets.token_urlsafe(32)
        self.store.put(
            "state",
            upstream_state,
            {**request, "browser": _digest(callback_browser), "upstream_verifier": upstream_verifier},
            self.config.transaction_ttl_s,
        )
        location = _with_query(
            authorization_endpoint,
            {
                "response_type": "code",
                "client_id": self.upstream.client_id,
                "redirect_uri": self.config.callback_uri,
                "scope": self.config.upstream_scopes,
                "state": upstream_state,
                "code_challenge": s256(upstream_verifier),
                "code_challenge_method": "S256",
            },
        )
        _log(event, client_id=client_id, outcome=outcome)
        cookie = self._cookie(
            CALLBACK_COOKIE, callback_browser, self.config.cookie_path("callback"), int(self.config.transaction_ttl_s)
        )
        return _redirect(location, cookie)

    # -- /callback ---------------------------------------------------------------------------
    def callback(self, query: Mapping[str, str], cookies: Mapping[str, str]) -> Answer:
        """The provider's answer: a proxy code to the client's redirect URI."""
        record = self.store.take("state", query.get("state", ""))
        if record is None:
            _log("callback", outcome="unknown_state")
            return _error_page(400, "This sign-in answer is unknown, expired or already used. Start again.")
        if not hmac.compare_digest(record["browser"], _digest(cookies.get(CALLBACK_COOKIE, ""))):
            _log("callback", client_id=record["client_id"], outcome="other_browser")
            return _error_page(400, "This sign-in answer did not come back to the browser that started it.")
        clear = self._cookie(CALLBACK_COOKIE, "", self.config.cookie_path("callback"), 0)
        back = {"state": record.get("state"), "iss": self.config.issuer}
        upstream_code = query.get("code")
        if not upstream_code:
            error = query.get("error") or "server_error"
            error = error if error in ("access_denied", "temporarily_unavailable", "login_required") else "server_error"
            _log("callback", client_id=record["client_id"], outcome=f"provider_{error}")
            return _redirect(_with_query(record["redirect_uri"], {"error": error, **back}), clear)
        code = secrets.token_urlsafe(32)
        self.store.put(
            "code",
            code,
            {
                "client_id": record["client_id"],
                "redirect_uri": record["redirect_uri"],
                "code_challenge": record["code_challenge"],
                "scope": record.get("scope"),
                "upstream_code": upstream_code,
                "upstream_verifier": record["upstream_verifier"],
            },
            self.config.code_ttl_s,
        )
        _log("callback", client_id=record["client_id"], outcome="code_issued")
        return _redirect(_with_query(record["redirect_uri"], {"code": code, **back}), clear)

    # -- /token ------------------------------------------------------------------------------
    def token(self, form: Mapping[str, str], authorization: str | None = None) -> Answer:
        grant_type = form.get("grant_type", "")
        client_id: str | None = None
        try:
            client = self._authenticate_client(form, authorization)
            client_id = client.client_id
            if grant_type == "authorization_code":
                payload = self._authorization_code_grant(client, form)
            elif grant_type == "refresh_token":
                payload = self._refresh_grant(client, form)
            else:
                raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        except OAuthError as error:
            _log("token", grant_type=grant_type[:40], client_id=client_id, outcome=error.error)
            return _error_answer(error)
        except EstatMcpError as error:
            _log("token", level=logging.WARNING, grant_type=grant_type, client_id=client_id, outcome=str(error))
            return _json_answer(502, {"error": "temporarily_unavailable", "error_description": str(error)})
        _log("token", grant_type=grant_type, client_id=client_id, outcome="issued")
        return _json_answer(200, payload)

    def _authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> Client:
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        basic = False
        if authorization and authorization[:6].lower() == "basic ":
            from urllib.parse import unquote

            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            user, _, password = decoded.partition(":")
            if client_id and unquote(user) != client_id:
                raise OAuthError("invalid_client", "client_id differs from the Basic credentials", 401)
            client_id, secret, basic = unquote(user), unquote(password), True
        if not client_id:
            raise OAuthError("invalid_client", "client_id is required", 401)
        try:
            client = self.find_client(client_id)
        except ClientMetadataError as error:
            raise OAuthError("invalid_client", str(error), 401) from None
        if client is None:
            raise OAuthError("invalid_client", "unknown client", 401)
        if client.auth_method == "none":
            if secret:
                raise OAuthError("invalid_client", "this client is public: send no secret", 401)
            return client
        expected = "client_secret_basic" if basic else "client_secret_post"
        if (
            not secret
            or client.auth_method != expected
            or not client.secret_digest
            or not hmac.compare_digest(client.secret_digest, _digest(secret))
        ):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client

    def _authorization_code_grant(self, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
        code = form.get("code", "")
        record = self.store.take("code", code)  # single use, whatever happens next
        if record is None:
            spent = self.store.get("spent", code) if code else None
            if spent is not None:
                self._code_replayed(code, spent, client)
            raise OAuthError("invalid_grant", "the authorization code is unknown, expired or already used")
        grant = secrets.token_urlsafe(16)
        spent_ttl_s = max(self.config.spent_code_ttl_s, self.config.code_ttl_s)
        self.store.put("spent", code, {"client_id": record["client_id"], "grant": grant}, spent_ttl_s)
        if record["client_id"] != client.client_id:
            raise OAuthError("invalid_grant", "the authorization code was issued to another client")
        if form.get("redirect_uri") != record["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not _VERIFIER.match(verifier) or not hmac.compare_digest(s256(verifier), record["code_challenge"]):
            raise OAuthError("invalid_grant", "PKCE verification failed (code_verifier does not match)")
        self._check_resource(form.get("resource"))
        try:
            tokens = self.upstream.token(
                {
                    "grant_type": "authorization_code",
                    "code": record["upstream_code"],
                    "redirect_uri": self.config.callback_uri,
                    "code_verifier": record["upstream_verifier"],
                }
            )
        except UpstreamTokenError as error:
            raise OAuthError("invalid_grant", f"the sign-in provider refused the code ({error.error})") from None
        payload = self._client_tokens(client, tokens, None, grant)
        refresh = payload.get("refresh_token")
        if refresh:
            self.store.put("issued", code, {"refresh": seal(code, refresh)}, spent_ttl_s)
        if self.store.get("revoked", grant) is not None:
            # The code was replayed while this redemption was under way: it must not succeed either.
            self._revoke_issued(code, client.client_id, client.client_id, "code_replayed_during_redemption")
            raise OAuthError("invalid_grant", "the authorization code is unknown, expired or already used")
        return payload

    def _code_replayed(self, code: str, spent: Mapping[str, Any], client: Client) -> None:
        """A redeemed code came back: revoke what its first redemption produced (the caller refuses)."""
        with contextlib.suppress(RecordExists):  # an earlier replay marked it already
            self.store.put("revoked", spent["grant"], {"reason": "code_replayed"}, self.config.refresh_ttl_s)
        self._revoke_issued(code, client.client_id, spent["client_id"], "code_replayed")

    def _revoke_issued(self, code: str, presented_by: str, issued_to: str, outcome: str) -> None:
        issued = self.store.take("issued", code)
        refresh = unseal(code, issued["refresh"]) if issued else None
        provider = "nothing_to_revoke"
        if refresh:
            self.store.take("refresh", refresh)
            provider = self.upstream.revoke(refresh)
        # The grant's refresh bindings are refused from now on whatever the provider answered.
        _log(
            "token",
            level=logging.WARNING,
            grant_type="authorization_code",
            client_id=presented_by,
            issued_to=issued_to,
            outcome=outcome,
            proxy_refresh="refused",
            provider_revocation=provider,
        )

    def _refresh_grant(self, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
        refresh_token = form.get("refresh_token", "")
        binding = self.store.get("refresh", refresh_token) if refresh_token else None
        if binding is None or binding["client_id"] != client.client_id:
            raise OAuthError("invalid_grant", "the refresh token is unknown, expired or issued to another client")
        grant = binding.get("grant")
        if grant and self.store.get("revoked", grant) is not None:
            self.store.take("refresh", refresh_token)
            raise OAuthError("invalid_grant", "the refresh token was revoked (its authorization code was replayed)")
        self._check_resource(form.get("resource"))
        try:
            tokens = self.upstream.token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        except UpstreamTokenError as error:
            self.store.take("refresh", refresh_token)
            raise OAuthError(
                "invalid_grant", f"the sign-in provider refused the refresh token ({error.error})"
            ) from None
        return self._client_tokens(client, tokens, refresh_token, grant)

    def _client_tokens(
        self, client: Client, tokens: Mapping[str, Any], presented: str | None, grant: str | None
    ) -> dict[str, Any]:
        """What the client gets: the provider's access (and refresh) token; never the ID token.

        A new refresh token is bound to the client and to ``grant`` (the sign-in it descends from).
        """
        payload: dict[str, Any] = {"access_token": tokens["access_token"], "token_type": "Bearer"}
        if isinstance(tokens.get("expires_in"), int | float):
            payload["expires_in"] = int(tokens["expires_in"])
        if isinstance(tokens.get("scope"), str):
            payload["scope"] = tokens["scope"]
        refresh = tokens.get("refresh_token")
        if isinstance(refresh, str) and refresh and refresh != presented:
            with contextlib.suppress(RecordExists):
                binding = {"client_id": client.client_id, **({"grant": grant} if grant else {})}
                self.store.put("refresh", refresh, binding, self.config.refresh_ttl_s)
            if presented:
                self.store.take("refresh", presented)  # rotated: the old one is spent
            payload["refresh_token"] = refresh
        elif presented:
            payload["refresh_token"] = presented  # the provider keeps the same refresh token (Cognito)
        return payload
