"""OAuth resource-server mode: tokens signed with real keys, JWKS from a real local HTTP server.

Each refusal is checked for its status, its ``WWW-Authenticate`` challenge and a message that says
what is wrong; valid tokens are checked through both transports with the caller in the log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import jwt
import pytest
from starlette.testclient import TestClient

from estat_aws_mcp.auth import AuthGate, Caller, GateRequest, Refusal
from estat_aws_mcp.auth.oauth import AccessTokenValidator, JwksCache, OAuthConfig
from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from tests.auth.conftest import CLIENT_ID, PUBLIC_URL, SCOPE, Issuer, ec_key, rsa_key
from tests.lambda_handler.conftest import MCP_HEADERS, FakeLambdaContext, build_test_server, rpc, url_event

METADATA = f'resource_metadata="{PUBLIC_URL}/.well-known/oauth-protected-resource"'


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A JWT assembled by hand (for algorithms a JOSE library rightly refuses to produce)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(signature)}"


def check(gate: AuthGate, token: str | None) -> Caller | Refusal:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return gate.check(GateRequest(headers, source_ip="198.51.100.7"))


@pytest.fixture
def gate(issuer: Issuer) -> AuthGate:
    return AuthGate.from_settings(issuer.settings())


def refused(outcome: Caller | Refusal, status: int = 401) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    assert outcome.status == status
    return outcome


def test_valid_rs256_and_es256_tokens_are_admitted_with_their_caller(issuer, gate) -> None:
    for key in issuer.keys:
        caller = check(gate, issuer.sign(key, sub=f"user-{key.algorithm}"))
        assert isinstance(caller, Caller)
        assert (caller.kind, caller.subject, caller.client_id) == ("oauth", f"user-{key.algorithm}", CLIENT_ID)
        assert SCOPE in caller.scopes
    # Discovery found the JWKS; it was fetched once for both keys.
    assert issuer.requests.count("/.well-known/openid-configuration") == 1
    assert issuer.jwks_requests() == 1


def test_a_missing_token_gets_the_metadata_challenge_without_an_error_code(gate) -> None:
    refusal = refused(check(gate, None))
    assert refusal.headers["WWW-Authenticate"] == (
        f'Bearer {METADATA}, error="invalid_token", error_description="no bearer token was sent", scope="{SCOPE}"'
    )


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        # Times relative to now, resolved when the test runs (not at collection).
        ({"exp": -120}, "expired"),
        ({"nbf": +300}, "not valid yet"),
        ({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"}, "another issuer"),
        ({"client_id": "someone-elses-client"}, "another audience or client"),
        ({"client_id": None}, "another audience or client"),
        ({"token_use": "id"}, "Not an access token"),
        ({"exp": None}, "'exp' claim"),
    ],
)
def test_invalid_claims_are_refused(issuer, gate, claims, message) -> None:
    now = int(time.time())
    claims = {
        name: now + value if name in ("exp", "nbf") and value is not None else value for name, value in claims.items()
    }
    refusal = refused(check(gate, issuer.sign(**claims)))
    challenge = refusal.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer {METADATA}, error="invalid_token", error_description="')
    assert message in refusal.message


def test_a_small_clock_skew_is_tolerated(issuer, gate) -> None:
    assert isinstance(check(gate, issuer.sign(exp=int(time.time()) - 10)), Caller)
    assert isinstance(check(gate, issuer.sign(nbf=int(time.time()) + 10)), Caller)


def test_a_missing_scope_is_403_insufficient_scope(issuer, gate) -> None:
    refusal = refused(check(gate, issuer.sign(scope="openid profile")), 403)
    assert refusal.headers["WWW-Authenticate"] == (
        f'Bearer {METADATA}, error="insufficient_scope", '
        f'error_description="The token lacks a required scope.", scope="{SCOPE}"'
    )
    assert refusal.message.startswith("Forbidden")
    # scp (a list) counts as well as scope (a string).
    assert isinstance(check(gate, issuer.sign(scope=None, scp=[SCOPE])), Caller)


def test_audience_instead_of_client_ids(issuer) -> None:
    gate = AuthGate.from_settings(
        issuer.settings(ESTAT_MCP_OAUTH_CLIENT_IDS=None, ESTAT_MCP_OAUTH_AUDIENCE=f"{PUBLIC_URL}/mcp")
    )
    assert isinstance(check(gate, issuer.sign(aud=[f"{PUBLIC_URL}/mcp", "other"])), Caller)
    assert "another audience" in refused(check(gate, issuer.sign(aud="https://other.example/mcp"))).message
    # A client id alone does not satisfy an audience-only configuration.
    assert "another audience" in refused(check(gate, issuer.sign())).message


def test_alg_none_is_refused(issuer, gate) -> None:
    token = hand_made({"alg": "none", "kid": issuer.keys[0].kid, "typ": "JWT"}, issuer.claims())
    assert "algorithm is not accepted" in refused(check(gate, token)).message


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_hmac_keyed_with_the_public_key_is_refused(issuer, gate, algorithm) -> None:
    key = issuer.keys[0]
    header = {"alg": algorithm, "kid": key.kid, "typ": "JWT"}
    signing_input = hand_made(header, issuer.claims()).rsplit(".", 1)[0]
    digest = getattr(hashlib, "sha" + algorithm[2:])
    for secret in (key.public_pem, json.dumps(key.public_jwk).encode()):
        signature = hmac.new(secret, signing_input.encode(), digest).digest()
        token = f"{signing_input}.{b64url(signature)}"
        assert "algorithm is not accepted" in refused(check(gate, token)).message


def test_a_key_is_only_used_with_its_own_algorithm(issuer, gate) -> None:
    # An ES256 header naming the RSA key: refused before any verification.
    rsa, ec = issuer.keys
    token = issuer.sign(ec, headers={"kid": rsa.kid})
    assert "does not match its signing key" in refused(check(gate, token)).message


def test_a_forged_signature_is_refused(issuer, gate) -> None:
    impostor = rsa_key(kid=issuer.keys[0].kid)  # same kid, another private key
    assert "signature does not verify" in refused(check(gate, issuer.sign(impostor))).message
    genuine = issuer.sign()
    head, payload, signature = genuine.split(".")
    tampered_claims = json.loads(base64.urlsafe_b64decode(payload + "==")) | {"sub": "admin"}
    tampered = f"{head}.{b64url(json.dumps(tampered_claims).encode())}.{signature}"
    assert "signature does not verify" in refused(check(gate, tampered)).message


def test_garbage_and_missing_kid_are_refused(issuer, gate) -> None:
    assert "well-formed" in refused(check(gate, "not-a-jwt")).message
    assert "too long" in refused(check(gate, issuer.sign(padding="x" * 20_000))).message
    key = issuer.keys[0]
    no_kid = hand_made({"alg": "RS256"}, issuer.claims(), b"x")
    assert "kid" in refused(check(gate, no_kid)).message
    assert key.kid  # the issuer's keys all have one


def test_symmetric_or_private_keys_in_the_jwks_are_never_used(issuer, gate) -> None:
    secret = b"shared-secret-0123456789abcdef0123456789"
    leaked = rsa_key(kid="leaked")
    private_jwk = json.loads(jwt.get_algorithm_by_name("RS256").to_jwk(leaked.private))
    issuer.extra_jwks += [
        {**private_jwk, "kid": "leaked", "alg": "RS256"},
        {"kty": "oct", "k": b64url(secret), "kid": "hmac", "alg": "HS256"},
        {"kty": "oct", "k": b64url(secret), "kid": "hmac-rs", "alg": "RS256"},
    ]
    # A key published with its private part is not trusted (anyone who read the JWKS could sign).
    assert "does not publish" in refused(check(gate, issuer.sign(leaked))).message
    hs = jwt.encode(issuer.claims(), secret, algorithm="HS256", headers={"kid": "hmac"})
    assert "algorithm is not accepted" in refused(check(gate, hs)).message
    signing_input = hand_made({"alg": "RS256", "kid": "hmac-rs"}, issuer.claims()).rsplit(".", 1)[0]
    forged = f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    assert "does not publish" in refused(check(gate, forged)).message


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unknown_kid_refetches_the_jwks_at_most_once_per_interval(issuer) -> None:
    clock = FakeClock()
    config = OAuthConfig.from_settings(issuer.settings())
    gate = AuthGate("oauth", validator=AccessTokenValidator(config, JwksCache(config.issuer, clock=clock)))
    assert isinstance(check(gate, issuer.sign()), Caller)
    assert issuer.jwks_requests() == 1
    stranger = rsa_key()
    for _ in range(20):
        assert "key the issuer does not publish" in refused(check(gate, issuer.sign(stranger))).message
    assert issuer.jwks_requests() == 1  # within 30 s of the last fetch: no refetch at all
    # The issuer rotates in a new key; after the interval one refetch finds it.
    newcomer = ec_key()
    issuer.keys.append(newcomer)
    clock.now += 31
    assert isinstance(check(gate, issuer.sign(newcomer)), Caller)
    assert issuer.jwks_requests() == 2
    for _ in range(10):
        refused(check(gate, issuer.sign(stranger)))
    assert issuer.jwks_requests() == 2
    clock.now += 31
    refused(check(gate, issuer.sign(stranger)))
    assert issuer.jwks_requests() == 3


def test_an_unreachable_issuer_fails_closed(issuer) -> None:
    gate = AuthGate.from_settings(issuer.settings(ESTAT_MCP_OAUTH_ISSUER="http://127.0.0.1:9"))
    token = issuer.sign(iss="http://127.0.0.1:9")
    refusal = refused(check(gate, token), 500)
    assert "Authentication is not available" in refusal.message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ESTAT_MCP_OAUTH_CLIENT_IDS": None}, "neither ESTAT_MCP_OAUTH_AUDIENCE nor ESTAT_MCP_OAUTH_CLIENT_IDS"),
        ({"ESTAT_MCP_OAUTH_ISSUER": None}, "ESTAT_MCP_OAUTH_ISSUER"),
        ({"ESTAT_MCP_PUBLIC_URL": None}, "ESTAT_MCP_PUBLIC_URL"),
        ({"ESTAT_MCP_OAUTH_ISSUER": "http://issuer.example.com"}, "must be an https URL"),
        ({"ESTAT_MCP_OAUTH_JWKS_URL": "http://keys.example.com/jwks.json"}, "must be an https URL"),
    ],
)
def test_incomplete_oauth_settings_fail_at_start_up(issuer, overrides, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AuthGate.from_settings(issuer.settings(**overrides))


def test_an_explicit_jwks_url_skips_discovery(issuer) -> None:
    gate = AuthGate.from_settings(issuer.settings(ESTAT_MCP_OAUTH_JWKS_URL=f"{issuer.url}/jwks.json"))
    assert isinstance(check(gate, issuer.sign()), Caller)
    assert issuer.requests == ["/jwks.json"]


class TestThroughBothTransports:
    def test_lambda_function_url(self, issuer, log_capture, caplog) -> None:
        handler = build_function_url_handler(issuer.settings(), server=build_test_server(), log=log_capture.logger)
        good, expired = issuer.sign(sub="alice"), issuer.sign(exp=int(time.time()) - 300)

        def invoke(token: str | None) -> dict:
            event = url_event(rpc("tools/list"))
            if token:
                event["headers"]["authorization"] = f"Bearer {token}"
            return handler.handle(event, FakeLambdaContext())

        with caplog.at_level(logging.DEBUG):
            ok, missing, stale, no_scope = (
                invoke(good),
                invoke(None),
                invoke(expired),
                invoke(issuer.sign(scope="openid")),
            )
        assert ok["statusCode"] == 200
        assert json.loads(ok["body"])["result"]["tools"]
        assert missing["statusCode"] == 401
        assert missing["headers"]["WWW-Authenticate"].startswith(f"Bearer {METADATA}")
        assert stale["statusCode"] == 401
        assert 'error="invalid_token"' in stale["headers"]["WWW-Authenticate"]
        assert no_scope["statusCode"] == 403
        lines = [r for r in log_capture.records() if r["message"] == "http request"]
        assert (lines[0]["caller"], lines[0]["client_id"], lines[0]["auth"]) == ("alice", CLIENT_ID, "oauth")
        assert [line.get("auth") for line in lines[1:]] == ["missing_token", "invalid_token", "insufficient_scope"]
        for token in (good, expired):
            assert token not in log_capture.text
            assert token not in caplog.text
            assert token.split(".")[2] not in log_capture.text + caplog.text

    def test_serve_http(self, issuer, caplog) -> None:
        app = build_http_app(settings=issuer.settings(), server=build_test_server())
        good = issuer.sign(sub="bob")
        with TestClient(app, base_url="http://127.0.0.1:8080") as client, caplog.at_level(logging.DEBUG):

            def post(token: str | None):
                headers = {**MCP_HEADERS, **({"authorization": f"Bearer {token}"} if token else {})}
                return client.post("/mcp", json=rpc("tools/list"), headers=headers)

            ok = post(good)
            missing = post(None)
            forged = post(issuer.sign(rsa_key(kid=issuer.keys[0].kid)))
            no_scope = post(issuer.sign(scope="openid"))
            assert client.get("/health").status_code == 200
        assert ok.status_code == 200
        assert ok.json()["result"]["tools"]
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith(f"Bearer {METADATA}")
        assert forged.status_code == 401
        assert no_scope.status_code == 403
        assert f'scope="{SCOPE}"' in no_scope.headers["www-authenticate"]
        assert f"caller=bob client_id={CLIENT_ID}" in caplog.text
        assert good not in caplog.text
        assert good.split(".")[2] not in caplog.text


def test_keys_outlive_an_unreachable_issuer_for_a_day_at_most(issuer) -> None:
    clock = FakeClock()
    config = OAuthConfig.from_settings(issuer.settings())
    jwks = JwksCache(config.issuer, clock=clock)
    gate = AuthGate("oauth", validator=AccessTokenValidator(config, jwks))
    assert isinstance(check(gate, issuer.sign()), Caller)
    jwks.jwks_url = "http://127.0.0.1:9/jwks.json"  # the issuer goes away
    clock.now += 7200  # past the hour: a refresh is due and fails
    assert isinstance(check(gate, issuer.sign()), Caller)
    clock.now += 86400
    assert "Authentication is not available" in refused(check(gate, issuer.sign()), 500).message
