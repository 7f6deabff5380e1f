"""Real signing keys, a real local HTTP server publishing the issuer's discovery document and JWKS,
and helpers that sign access tokens the way an issuer (Cognito, oidc-provider) does."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from estat_aws_mcp.settings import Settings
from tests.lambda_handler.conftest import log_capture, test_server  # noqa: F401 - shared fixtures

PUBLIC_URL = "https://mcp.example.test"
CLIENT_ID = "client-abc123"
SCOPE = "mcp-server/tools"

AUTH_ENV = (
    "ESTAT_MCP_AUTH_MODE",
    "ESTAT_MCP_AUTH_TOKEN",
    "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER",
    "ESTAT_MCP_AUTH_TOKEN_CACHE_S",
    "ESTAT_MCP_AUTH_TOKEN_MIN_REFRESH_S",
    "ESTAT_MCP_PUBLIC_URL",
    "ESTAT_MCP_OAUTH_ISSUER",
    "ESTAT_MCP_OAUTH_JWKS_URL",
    "ESTAT_MCP_OAUTH_AUDIENCE",
    "ESTAT_MCP_OAUTH_CLIENT_IDS",
    "ESTAT_MCP_OAUTH_REQUIRED_SCOPES",
    "ESTAT_MCP_RATE_LIMIT_PER_MINUTE",
    "ESTAT_MCP_RATE_LIMIT_BURST",
    "ESTAT_MCP_RATE_LIMIT_TABLE",
    "ESTAT_MCP_DISPATCH",
)


@pytest.fixture(autouse=True)
def _clean_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AUTH_ENV:
        monkeypatch.delenv(name, raising=False)


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def rsa_key(kid: str | None = None) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid or f"rsa-{uuid.uuid4().hex[:8]}", "RS256", private)


def ec_key(kid: str | None = None) -> SigningKey:
    return SigningKey(kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class Issuer:
    """A JWKS + discovery server on 127.0.0.1 (a real HTTP server) and a token signer."""

    url: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)  # raw entries published as they are

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self.keys] + self.extra_jwks}

    def jwks_requests(self) -> int:
        return sum(1 for path in self.requests if path == "/jwks.json")

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "user-0001",
            "client_id": CLIENT_ID,
            "token_use": "access",
            "scope": f"openid {SCOPE}",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        key = key or self.keys[0]
        return jwt.encode(
            self.claims(**claims), key.private, algorithm=key.algorithm, headers={"kid": key.kid, **(headers or {})}
        )

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "ESTAT_MCP_AUTH_MODE": "oauth",
            "ESTAT_MCP_PUBLIC_URL": PUBLIC_URL,
            "ESTAT_MCP_OAUTH_ISSUER": self.url,
            "ESTAT_MCP_OAUTH_CLIENT_IDS": CLIENT_ID,
            "ESTAT_MCP_OAUTH_REQUIRED_SCOPES": SCOPE,
        }
        values.update(overrides)
        return Settings(**{name: value for name, value in values.items() if value is not None})


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    state = Issuer(keys=[rsa_key(), ec_key()])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == "/.well-known/openid-configuration":
                document: Any = {"issuer": state.url, "jwks_uri": f"{state.url}/jwks.json"}
            elif self.path == "/jwks.json":
                document = state.jwks
            else:
                self.send_error(404)
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
