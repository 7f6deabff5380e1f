"""Per-caller rate limits: in-process token buckets, and one DynamoDB counter per caller and minute (moto)."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from estat_aws_mcp.auth import AuthGate, Caller, GateRequest, Refusal
from estat_aws_mcp.auth.ratelimit import DynamoDbWindows, TokenBuckets, rate_limiter_from_settings
from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from estat_aws_mcp.settings import Settings
from tests.auth.conftest import CLIENT_ID
from tests.lambda_handler.conftest import MCP_HEADERS, FakeLambdaContext, build_test_server, rpc, url_event

TABLE = "estat-mcp-auth-state"
TOKEN = "rate-limit-token-0123456789abcdef"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_off_by_default() -> None:
    assert rate_limiter_from_settings(Settings()) is None
    assert isinstance(rate_limiter_from_settings(Settings(ESTAT_MCP_RATE_LIMIT_PER_MINUTE=60)), TokenBuckets)
    limiter = rate_limiter_from_settings(Settings(ESTAT_MCP_RATE_LIMIT_PER_MINUTE=60, ESTAT_MCP_RATE_LIMIT_TABLE=TABLE))
    assert isinstance(limiter, DynamoDbWindows)
    shared = rate_limiter_from_settings(Settings(ESTAT_MCP_RATE_LIMIT_PER_MINUTE=60, ESTAT_MCP_OAUTH_STATE_TABLE=TABLE))
    assert isinstance(shared, DynamoDbWindows)
    assert shared.table == TABLE


def test_token_buckets_refill_per_caller() -> None:
    clock = Clock(0.0)
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.admit("sub:alice") for _ in range(3)] == [None, None, None]
    wait = buckets.admit("sub:alice")
    assert wait == pytest.approx(1.0)
    assert buckets.admit("sub:bob") is None  # another caller has its own bucket
    clock.now += 1.0
    assert buckets.admit("sub:alice") is None
    assert buckets.admit("sub:alice") is not None
    clock.now += 60
    assert [buckets.admit("sub:alice") for _ in range(3)] == [None, None, None]  # never more than the burst


@pytest.fixture
def table(aws_env):
    from estat_aws_mcp.aws.clients import aws_client

    client = aws_client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def test_dynamodb_windows_count_atomically_across_containers(table) -> None:
    clock = Clock(time.time() // 60 * 60 + 10.0)  # 10 s into the current minute
    first, second = DynamoDbWindows(TABLE, 3, clock=clock), DynamoDbWindows(TABLE, 3, clock=clock)
    assert [first.admit("sub:alice"), second.admit("sub:alice"), first.admit("sub:alice")] == [None, None, None]
    assert second.admit("sub:alice") == 50  # the rest of the minute
    assert first.admit("sub:bob") is None
    clock.now += 50  # the next window
    assert second.admit("sub:alice") is None
    items = table.scan(TableName=TABLE)["Items"]
    assert {item["pk"]["S"].split("#")[0] for item in items} == {"ratelimit"}
    assert all("alice" not in item["pk"]["S"] for item in items)  # a hash of the caller key, not the key
    assert all(int(item["expires_at"]["N"]) > clock.now for item in items)  # TTL attribute set
    alice_first_window = [item for item in items if item["count"]["N"] == "3"]
    assert len(alice_first_window) == 1


def test_an_unreachable_table_lets_requests_through(aws_env, caplog) -> None:
    limiter = DynamoDbWindows("no-such-table", 1)
    assert limiter.admit("sub:alice") is None
    assert limiter.admit("sub:alice") is None
    assert "rate limit counter unavailable" in caplog.text


def test_429_with_retry_after_on_both_transports(log_capture) -> None:
    settings = Settings(ESTAT_MCP_AUTH_TOKEN=TOKEN, ESTAT_MCP_RATE_LIMIT_PER_MINUTE=2)
    handler = build_function_url_handler(settings, server=build_test_server(), log=log_capture.logger)

    def via_lambda() -> dict:
        event = url_event(rpc("tools/list"))
        event["headers"]["authorization"] = f"Bearer {TOKEN}"
        return handler.handle(event, FakeLambdaContext())

    assert [via_lambda()["statusCode"] for _ in range(2)] == [200, 200]
    limited = via_lambda()
    assert limited["statusCode"] == 429
    assert 1 <= int(limited["headers"]["Retry-After"]) <= 30
    assert "Too many requests" in limited["body"]
    # Health checks are never limited.
    assert handler.handle(url_event(method="GET", path="/health"), FakeLambdaContext())["statusCode"] == 200

    app = build_http_app(settings=settings, server=build_test_server())
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        statuses = [
            client.post("/mcp", json=rpc("tools/list"), headers={**MCP_HEADERS, "x-api-key": TOKEN}) for _ in range(3)
        ]
        assert client.get("/health").status_code == 200
    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["retry-after"]) >= 1
    assert TOKEN not in log_capture.text


def test_callers_are_told_apart(issuer) -> None:
    gate = AuthGate.from_settings(issuer.settings(ESTAT_MCP_RATE_LIMIT_PER_MINUTE=1))

    def check(token: str) -> Caller | Refusal:
        return gate.check(GateRequest({"authorization": f"Bearer {token}"}))

    assert isinstance(check(issuer.sign(sub="alice")), Caller)
    assert isinstance(check(issuer.sign(sub="bob")), Caller)
    assert check(issuer.sign(sub="alice")).status == 429
    # Without a sub the client id is the caller.
    assert isinstance(check(issuer.sign(sub=None)), Caller)
    assert check(issuer.sign(sub=None, jti="other")).status == 429
    assert CLIENT_ID
    # Anonymous callers are told apart by source address.
    open_gate = AuthGate.from_settings(Settings(ESTAT_MCP_RATE_LIMIT_PER_MINUTE=1))
    assert isinstance(open_gate.check(GateRequest({}, source_ip="192.0.2.1")), Caller)
    assert isinstance(open_gate.check(GateRequest({}, source_ip="192.0.2.2")), Caller)
    assert open_gate.check(GateRequest({}, source_ip="192.0.2.1")).status == 429


def test_two_lambda_containers_share_the_dynamodb_count(table, log_capture) -> None:
    settings = Settings(ESTAT_MCP_AUTH_TOKEN=TOKEN, ESTAT_MCP_RATE_LIMIT_PER_MINUTE=3, ESTAT_MCP_RATE_LIMIT_TABLE=TABLE)
    containers = [
        build_function_url_handler(settings, server=build_test_server(), log=log_capture.logger) for _ in "ab"
    ]

    def call(handler) -> dict:
        event = url_event(rpc("tools/list"))
        event["headers"]["authorization"] = f"Bearer {TOKEN}"
        return handler.handle(event, FakeLambdaContext())

    first, second = containers
    if time.time() % 60 > 50:  # the four calls must fall into one counting window (a minute)
        time.sleep(60.5 - time.time() % 60)
    assert [call(first)["statusCode"], call(second)["statusCode"], call(first)["statusCode"]] == [200, 200, 200]
    limited = call(second)
    assert limited["statusCode"] == 429
    assert 1 <= int(limited["headers"]["Retry-After"]) <= 60
    assert [r.get("auth") for r in log_capture.records() if r["message"] == "http request"][-1] == "rate_limited"
