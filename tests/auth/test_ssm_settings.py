"""OAuth settings held in SSM parameters (estat_aws_mcp.auth.deferred), against moto's SSM server.

The oauth Terraform example names the parameters in the function's environment and writes them
later in the same apply. Until they exist every request but /health is refused with 503 on both
transports; once written they are read (no restart), and a changed value is followed within the
cache bound. The issuer is the real local JWKS server of tests/auth/conftest.py.
"""

from __future__ import annotations

import json
import logging

import pytest
from starlette.testclient import TestClient

from estat_aws_mcp.auth import AuthGate, Caller, GateRequest, PublicRoutes, Refusal
from estat_aws_mcp.auth.deferred import DeferredGate, DeferredRoutes, SsmResolvedAuth
from estat_aws_mcp.aws.ssm import read_secure_string
from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import FunctionUrlHandler, build_function_url_handler, build_request_handler
from tests.auth.conftest import CLIENT_ID, PUBLIC_URL
from tests.lambda_handler.conftest import MCP_HEADERS, FakeLambdaContext, build_test_server, rpc, url_event

PUBLIC_URL_PARAMETER = "/estat-aws-mcp/test/oauth/public-url"
CLIENT_ID_PARAMETER = "/estat-aws-mcp/test/oauth/client-id"
PRM = "/.well-known/oauth-protected-resource"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ssm(aws_env):
    from estat_aws_mcp.aws.clients import aws_client

    return aws_client("ssm")


def write(ssm, public_url: str = PUBLIC_URL, client_id: str = CLIENT_ID) -> None:
    ssm.put_parameter(Name=PUBLIC_URL_PARAMETER, Value=public_url, Type="String", Overwrite=True)
    ssm.put_parameter(Name=CLIENT_ID_PARAMETER, Value=client_id, Type="String", Overwrite=True)


def ssm_settings(issuer, **overrides):
    """What the oauth example sets: the mode, the issuer, the scope; the URL and client id by parameter name."""
    return issuer.settings(
        ESTAT_MCP_PUBLIC_URL=None,
        ESTAT_MCP_OAUTH_CLIENT_IDS=None,
        ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER=PUBLIC_URL_PARAMETER,
        ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER=CLIENT_ID_PARAMETER,
        **overrides,
    )


def lambda_handler(settings, log_capture, gate: AuthGate | None = None) -> FunctionUrlHandler:
    if gate is None:
        return build_function_url_handler(settings, server=build_test_server(), log=log_capture.logger)
    return FunctionUrlHandler(
        build_request_handler(settings, build_test_server()),
        log=log_capture.logger,
        gate=gate,
        public_routes=PublicRoutes.from_settings(settings, gate),
    )


def lambda_call(handler, token: str | None = None, path: str = "/mcp", method: str = "POST") -> dict:
    headers = dict(MCP_HEADERS) | ({"authorization": f"Bearer {token}"} if token else {})
    body = rpc("tools/list") if method == "POST" else None
    return handler.handle(url_event(body, method=method, path=path, headers=headers), FakeLambdaContext())


def test_refused_with_503_until_written_then_served_without_restart(ssm, issuer, log_capture, caplog) -> None:
    settings = ssm_settings(issuer, ESTAT_MCP_SSM_SETTINGS_CACHE_S=0)  # no retry interval: re-read on every request
    handler = lambda_handler(settings, log_capture)
    assert isinstance(handler.gate, DeferredGate) and isinstance(handler.public_routes, DeferredRoutes)
    token = issuer.sign()

    for path, method in (("/mcp", "POST"), (PRM, "GET"), (PRM + "/mcp", "GET")):
        refused = lambda_call(handler, token, path=path, method=method)
        assert refused["statusCode"] == 503, (path, refused)
        assert "not configured yet" in json.loads(refused["body"])["error"]["message"]
        assert refused["headers"]["Retry-After"]
    # Liveness stays 200 (a replaced task would wait all the same); readiness says it cannot serve yet.
    health = lambda_call(handler, path="/health", method="GET")
    assert health["statusCode"] == 200
    assert json.loads(health["body"]) | {"version": "", "dispatch": ""} == {
        "status": "ok",
        "ready": False,
        "reason": "settings_unavailable",
        "version": "",
        "dispatch": "",
    }
    ready = lambda_call(handler, path="/ready", method="GET")
    assert ready["statusCode"] == 503 and ready["headers"]["Retry-After"] == "10"
    assert json.loads(ready["body"])["reason"] == "settings_unavailable"
    assert PUBLIC_URL_PARAMETER not in ready["body"]  # public probes do not say why: the log does
    assert '"auth":"settings_unavailable"' in log_capture.text
    assert f"SSM parameter '{PUBLIC_URL_PARAMETER}' does not exist" in caplog.text  # the log says why
    assert issuer.jwks_requests() == 0  # nothing was validated against a half-configured gate

    write(ssm)
    ready = lambda_call(handler, path="/ready", method="GET")
    assert ready["statusCode"] == 200 and json.loads(ready["body"])["ready"] is True
    metadata = lambda_call(handler, path=PRM + "/mcp", method="GET")
    assert metadata["statusCode"] == 200
    assert json.loads(metadata["body"])["resource"] == f"{PUBLIC_URL}/mcp"
    challenge = lambda_call(handler)
    assert challenge["statusCode"] == 401
    assert f'resource_metadata="{PUBLIC_URL}{PRM}"' in challenge["headers"]["WWW-Authenticate"]
    assert lambda_call(handler, token)["statusCode"] == 200
    # The client id came from SSM: a token of another app client of the same issuer is refused.
    assert lambda_call(handler, issuer.sign(client_id="another-app-client"))["statusCode"] == 401


def test_serve_http_refuses_then_serves_the_same(ssm, issuer) -> None:
    app = build_http_app(settings=ssm_settings(issuer, ESTAT_MCP_SSM_SETTINGS_CACHE_S=0), server=build_test_server())
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        refused = client.post("/mcp", json=rpc("tools/list"), headers=MCP_HEADERS)
        assert refused.status_code == 503
        assert "not configured yet" in refused.json()["error"]["message"]
        assert client.get(PRM).status_code == 503
        assert client.get("/health").json()["ready"] is False and client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        write(ssm)
        assert client.get("/ready").json() | {"version": ""} == {"status": "ok", "ready": True, "version": ""}
        assert client.get(PRM).json()["resource"] == PUBLIC_URL
        headers = {**MCP_HEADERS, "authorization": f"Bearer {issuer.sign()}"}
        assert client.post("/mcp", json=rpc("tools/list"), headers=headers).status_code == 200


def test_a_changed_value_is_followed_within_the_cache_bound(ssm, issuer, log_capture) -> None:
    write(ssm)
    clock = Clock()
    settings = ssm_settings(issuer, ESTAT_MCP_SSM_SETTINGS_CACHE_S=300)
    auth = SsmResolvedAuth(settings, clock=clock)
    handler = lambda_handler(settings, log_capture, gate=DeferredGate(auth))
    assert json.loads(lambda_call(handler, path=PRM, method="GET")["body"])["resource"] == PUBLIC_URL
    gate_before, _ = auth.current()

    write(ssm, public_url="https://mcp.custom-domain.example")
    clock.now += 299
    assert json.loads(lambda_call(handler, path=PRM, method="GET")["body"])["resource"] == PUBLIC_URL
    assert auth.reads == 1
    clock.now += 2
    assert json.loads(lambda_call(handler, path=PRM, method="GET")["body"])["resource"] == (
        "https://mcp.custom-domain.example"
    )
    assert auth.reads == 2
    clock.now += 301
    auth.current()
    assert auth.reads == 3
    gate_after, _ = auth.current()
    assert gate_after is not gate_before  # rebuilt for the new value; unchanged values keep the built gate
    clock.now += 301
    assert auth.current()[0] is gate_after


def test_missing_parameters_are_not_hammered(ssm, issuer) -> None:
    clock = Clock()
    auth = SsmResolvedAuth(ssm_settings(issuer), clock=clock)
    gate = DeferredGate(auth)
    for _ in range(20):
        outcome = gate.check(GateRequest({"authorization": f"Bearer {issuer.sign()}"}))
        assert isinstance(outcome, Refusal) and outcome.status == 503
        clock.now += 0.2
    assert auth.reads == 1  # one read per retry interval (5 s)
    write(ssm)
    clock.now += 1.1
    assert isinstance(gate.check(GateRequest({"authorization": f"Bearer {issuer.sign()}"})), Caller)
    assert auth.reads == 2


def test_one_parameter_feeds_the_proxy_client_and_the_accepted_client_ids(ssm, issuer, tmp_path) -> None:
    write(ssm, client_id="cognito-app-client-42")
    settings = ssm_settings(
        issuer,
        ESTAT_MCP_OAUTH_UPSTREAM_ISSUER=issuer.url,
        ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER=CLIENT_ID_PARAMETER,
        ESTAT_MCP_OAUTH_STATE_PATH=str(tmp_path / "proxy.sqlite3"),
    )
    asked: list[str] = []

    def read(name: str) -> str:
        asked.append(name)
        return read_secure_string(name)

    auth = SsmResolvedAuth(settings, read=read)
    resolved = auth.current_settings()
    assert resolved.public_url == PUBLIC_URL
    assert resolved.oauth_client_ids == resolved.oauth_upstream_client_id == "cognito-app-client-42"
    routes = PublicRoutes.from_settings(settings, DeferredGate(auth))
    assert routes.owns("GET", "/.well-known/oauth-authorization-server")
    with TestClient(routes) as client:
        metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == PUBLIC_URL
    assert metadata["token_endpoint"] == f"{PUBLIC_URL}/token"
    assert sorted(asked) == sorted([PUBLIC_URL_PARAMETER, CLIENT_ID_PARAMETER])  # read once for both settings


def test_invalid_values_are_refused_like_missing_ones(ssm, issuer, log_capture, caplog) -> None:
    write(ssm, public_url="not a url")
    handler = lambda_handler(ssm_settings(issuer), log_capture)
    assert lambda_call(handler, issuer.sign())["statusCode"] == 503
    assert "ESTAT_MCP_PUBLIC_URL must be an absolute http(s) URL" in caplog.text


def test_parameters_need_oauth_mode(issuer) -> None:
    with pytest.raises(ConfigurationError, match="ESTAT_MCP_AUTH_MODE=oauth"):
        AuthGate.from_settings(ssm_settings(issuer, ESTAT_MCP_AUTH_MODE="token", ESTAT_MCP_AUTH_TOKEN="x" * 32))


def test_refusals_are_logged_once_per_reason_and_interval(ssm, issuer, caplog) -> None:
    """A server waiting for its settings logs why when the reason changes, then once a minute with a count,
    not once per refused request."""
    from estat_aws_mcp.auth import deferred

    clock = Clock()
    settings = ssm_settings(issuer, ESTAT_MCP_SSM_SETTINGS_CACHE_S=0)
    gate = DeferredGate(SsmResolvedAuth(settings, clock=clock), clock=clock)
    request = GateRequest({}, source_ip="192.0.2.1")
    caplog.set_level(logging.ERROR, logger=deferred.__name__)

    def refusals() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == deferred.__name__ and "refused" in r.getMessage()]

    for _ in range(5):
        assert gate.check(request).status == 503
    assert len(refusals()) == 1 and PUBLIC_URL_PARAMETER in refusals()[0]
    clock.now += deferred.REFUSAL_LOG_S + 1
    assert gate.check(request).status == 503
    assert len(refusals()) == 2 and "(4 more refused since the last line)" in refusals()[1]
    write(ssm, public_url="not a url")
    clock.now += deferred.RETRY_S + 1
    assert gate.check(request).status == 503  # another reason (an invalid value): logged at once
    assert len(refusals()) == 3 and refusals()[2] != refusals()[0] and "not a url" in refusals()[2]
    assert gate.unready_reason() == "settings_unavailable"
    write(ssm)
    clock.now += deferred.RETRY_S + 1
    assert gate.unready_reason() is None
