"""Rotating the bearer token in SSM revokes the old one within the cache bound (moto's SSM server).

The gate's clock is a test clock so that the 60 s bound and the 5 s early-refresh interval are
checked without waiting; SSM itself is real (moto server), and the last test runs the Lambda
handler and serve --http with real time and short settings.
"""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from estat_aws_mcp.auth import AuthGate, Caller, GateRequest, Refusal
from estat_aws_mcp.auth.token import RotatingSsmToken
from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from estat_aws_mcp.settings import Settings
from tests.lambda_handler.conftest import MCP_HEADERS, FakeLambdaContext, build_test_server, rpc, url_event

PARAMETER = "/estat-aws-mcp/test/rotating-token"
OLD = "old-token-0123456789abcdef0123456789"
NEW = "new-token-fedcba9876543210fedcba9876"


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ssm(aws_env):
    from estat_aws_mcp.aws.clients import aws_client

    client = aws_client("ssm")
    client.put_parameter(Name=PARAMETER, Value=OLD, Type="SecureString")
    return client


def rotate(ssm, value: str = NEW) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


def admitted(gate: AuthGate, token: str, header: str = "authorization") -> bool:
    value = f"Bearer {token}" if header == "authorization" else token
    outcome = gate.check(GateRequest({header: value}))
    assert isinstance(outcome, Caller | Refusal)
    return isinstance(outcome, Caller)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(ssm, clock) -> RotatingSsmToken:
    return RotatingSsmToken(PARAMETER, ttl_s=60, min_refresh_s=5, clock=clock)


def test_a_new_token_works_at_once_and_the_old_one_stops(ssm, source, clock) -> None:
    gate = AuthGate("token", token=source)
    assert admitted(gate, OLD)
    clock.now += 10
    rotate(ssm)
    # The new token does not match the cached one: one early re-read, and it is in.
    assert admitted(gate, NEW)
    assert source.reads == 2
    # The old token stops at once on a container that has seen the new one.
    clock.now += 10
    assert not admitted(gate, OLD)
    assert admitted(gate, NEW, header="x-api-key")


def test_the_old_token_stops_within_the_bound_on_a_container_that_saw_no_new_token(ssm, source, clock) -> None:
    gate = AuthGate("token", token=source)
    assert admitted(gate, OLD)
    rotate(ssm)
    clock.now += 59
    assert admitted(gate, OLD)  # still inside the documented bound (ESTAT_MCP_AUTH_TOKEN_CACHE_S)
    clock.now += 2
    assert not admitted(gate, OLD)
    assert admitted(gate, NEW)


def test_wrong_tokens_trigger_at_most_one_read_per_interval(ssm, source, clock) -> None:
    gate = AuthGate("token", token=source)
    assert admitted(gate, OLD)
    clock.now += 6
    for attempt in range(50):
        assert not admitted(gate, f"guess-{attempt}")
        clock.now += 0.05
    assert source.reads == 2  # the first read, and one early re-read for the first wrong guess
    clock.now += 5
    assert not admitted(gate, "guess-again")
    assert source.reads == 3


def test_a_token_rotated_just_after_a_read_waits_at_most_the_interval(ssm, source, clock) -> None:
    gate = AuthGate("token", token=source)
    assert admitted(gate, OLD)
    rotate(ssm)
    clock.now += 1
    assert not admitted(gate, NEW)  # read 1 s ago: no early re-read yet
    clock.now += 4
    assert admitted(gate, NEW)


def test_ssm_failing_after_expiry_fails_closed_and_is_not_hammered(ssm, source, clock) -> None:
    gate = AuthGate("token", token=source)
    assert admitted(gate, OLD)
    ssm.delete_parameter(Name=PARAMETER)
    clock.now += 61
    outcome = gate.check(GateRequest({"authorization": f"Bearer {OLD}"}))
    assert isinstance(outcome, Refusal)
    assert outcome.status == 500
    reads = source.reads
    for _ in range(20):
        assert gate.check(GateRequest({"authorization": f"Bearer {OLD}"})).status == 500
    assert source.reads == reads
    rotate(ssm)
    clock.now += 5
    assert admitted(gate, NEW)


def test_an_early_read_that_fails_keeps_the_current_token_until_its_time(ssm, source, clock) -> None:
    gate = AuthGate("token", token=source)
    assert admitted(gate, OLD)
    ssm.delete_parameter(Name=PARAMETER)
    clock.now += 10
    assert not admitted(gate, NEW)  # the early re-read fails; the guess is refused
    assert admitted(gate, OLD)  # the token read before is still within its 60 s


def test_settings_bound_the_cache(monkeypatch) -> None:
    gate = AuthGate.from_settings(
        Settings(
            ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER=PARAMETER,
            ESTAT_MCP_AUTH_TOKEN_CACHE_S=30,
            ESTAT_MCP_AUTH_TOKEN_MIN_REFRESH_S=2,
        )
    )
    assert isinstance(gate.token, RotatingSsmToken)
    assert (gate.token.ttl_s, gate.token.min_refresh_s) == (30, 2)
    default = AuthGate.from_settings(Settings(ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER=PARAMETER)).token
    assert default.ttl_s <= 60


def test_rotation_through_both_transports_in_real_time(ssm, log_capture) -> None:
    settings = Settings(
        ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER=PARAMETER,
        ESTAT_MCP_AUTH_TOKEN_CACHE_S=1.5,
        ESTAT_MCP_AUTH_TOKEN_MIN_REFRESH_S=0.2,
    )
    handler = build_function_url_handler(settings, server=build_test_server(), log=log_capture.logger)

    def via_lambda(token: str) -> int:
        event = url_event(rpc("tools/list"))
        event["headers"]["authorization"] = f"Bearer {token}"
        return handler.handle(event, FakeLambdaContext())["statusCode"]

    app = build_http_app(settings=settings, server=build_test_server())
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:

        def via_http(token: str) -> int:
            return client.post("/mcp", json=rpc("tools/list"), headers={**MCP_HEADERS, "x-api-key": token}).status_code

        assert (via_lambda(OLD), via_http(OLD)) == (200, 200)
        rotate(ssm)
        time.sleep(0.25)
        assert (via_lambda(NEW), via_http(NEW)) == (200, 200)
        assert (via_lambda(OLD), via_http(OLD)) == (401, 401)
    assert OLD not in log_capture.text
    assert NEW not in log_capture.text
