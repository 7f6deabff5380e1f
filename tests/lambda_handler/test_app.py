"""The Function URL edge: health, base64, budget, bearer token, batches, notifications, logs."""

from __future__ import annotations

import json

import pytest
from mcp import types

from estat_aws_mcp.lambda_handler.app import FunctionUrlHandler, build_function_url_handler
from estat_aws_mcp.lambda_handler.budget import DEFAULT_RESPONSE_BUDGET_BYTES
from estat_aws_mcp.limits import LAMBDA_RESPONSE_CAP_BYTES
from estat_aws_mcp.settings import Settings
from tests.lambda_handler.conftest import FakeLambdaContext, call, rpc, url_event

TOKEN = "s3cr3t-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    for name in (
        "ESTAT_MCP_AUTH_TOKEN",
        "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER",
        "ESTAT_MCP_DISPATCH",
        "ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES",
    ):
        monkeypatch.delenv(name, raising=False)


def make_handler(test_server, log_capture, **settings) -> FunctionUrlHandler:
    return build_function_url_handler(Settings(**settings), server=test_server, log=log_capture.logger)


def invoke(handler, event) -> tuple[int, dict, object]:
    response = handler.handle(event, FakeLambdaContext())
    assert len(json.dumps(response)) <= LAMBDA_RESPONSE_CAP_BYTES
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], response["headers"], body


@pytest.fixture
def handler(test_server, log_capture) -> FunctionUrlHandler:
    return make_handler(test_server, log_capture)


def test_health_answers_get_without_auth(test_server, log_capture) -> None:
    guarded = make_handler(test_server, log_capture, ESTAT_MCP_AUTH_TOKEN=TOKEN)
    status, _, body = invoke(guarded, url_event(method="GET", path="/health"))
    assert status == 200
    assert body["status"] == "ok"


@pytest.mark.parametrize("path", ["/", "/mcp"])
def test_other_gets_are_405_as_streamable_http_without_sse(handler, path) -> None:
    status, headers, _ = invoke(handler, url_event(method="GET", path=path))
    assert status == 405
    assert "POST" in headers["Allow"]


def test_cors_preflight(handler) -> None:
    status, headers, _ = invoke(handler, url_event(method="OPTIONS"))
    assert status == 200
    assert "POST" in headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("base64_body", [False, True])
def test_a_tool_call_with_plain_or_base64_body(handler, base64_body) -> None:
    status, _, body = invoke(handler, url_event(call("echo", id=11, text="人口"), base64_body=base64_body))
    assert status == 200
    assert body["id"] == 11
    assert body["result"]["content"][0]["text"] == "人口"


def test_a_broken_base64_body_is_a_parse_error(handler) -> None:
    event = url_event("not base64 at all!")
    event["isBase64Encoded"] = True
    status, _, body = invoke(handler, event)
    assert status == 400
    assert body["error"]["code"] == types.PARSE_ERROR


def test_notifications_only_get_202(handler) -> None:
    status, _, body = invoke(handler, url_event({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    assert status == 202
    assert body is None


def test_a_batch_gets_a_list_with_every_id(handler) -> None:
    batch = [
        rpc("tools/list", id=1),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        call("echo", id="two", text="b"),
        rpc("no/such", id=3),
    ]
    status, _, body = invoke(handler, url_event(batch))
    assert status == 200
    assert [item["id"] for item in body] == [1, "two", 3]
    assert body[1]["result"]["content"][0]["text"] == "b"
    assert body[2]["error"]["code"] == types.METHOD_NOT_FOUND  # issue 15: not the SDK's -32602


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-type": "application/json"}, 406),
        ({"content-type": "text/plain", "accept": "application/json"}, 415),
    ],
)
def test_the_adapters_header_rules_hold(handler, headers, status) -> None:
    got, _, _ = invoke(handler, url_event(rpc("tools/list"), headers=headers))
    assert got == status


def test_an_oversized_result_is_a_tool_error_that_says_how_to_page(handler) -> None:
    status, _, body = invoke(handler, url_event(call("blob", id=5, size=7_000_000)))
    assert status == 200
    assert body["id"] == 5
    assert body["result"]["isError"] is True
    text = body["result"]["content"][0]["text"]
    assert "blob" in text
    assert "6 MB" in text
    assert "offset" in text
    assert "dataset_id" in text


def test_escaped_characters_count_against_the_cap(handler) -> None:
    # 1.2 M Japanese characters: 3.6 MB of UTF-8, but each travels as a doubly escaped \\uXXXX
    # (twice: text and structured content), far over 6 MB in the invocation result.
    status, _, body = invoke(handler, url_event(call("japanese", count=1_200_000)))
    assert status == 200
    assert body["result"]["isError"] is True


def test_a_batch_shares_one_budget(handler) -> None:
    # Each answer fits alone (about 2 x 1.9 MB encoded); three do not.
    batch = [call("blob", id=i, size=1_900_000) for i in range(3)]
    status, _, body = invoke(handler, url_event(batch))
    assert status == 200
    outcomes = [item["result"].get("isError", False) for item in body]
    assert outcomes[0] is False
    assert outcomes[-1] is True


def test_the_budget_is_configurable_but_never_above_the_cap(test_server, log_capture) -> None:
    small = make_handler(test_server, log_capture, ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES=4096)
    _, _, body = invoke(small, url_event(call("blob", size=5000)))
    assert body["result"]["isError"] is True
    _, _, body = invoke(small, url_event(call("blob", size=100)))
    assert body["result"].get("isError") is not True
    huge = make_handler(test_server, log_capture, ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES=50_000_000)
    assert huge.observed.budget.limit_bytes == DEFAULT_RESPONSE_BUDGET_BYTES


def test_an_oversized_non_tool_answer_is_a_jsonrpc_error(test_server, log_capture) -> None:
    small = make_handler(test_server, log_capture, ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES=1024)
    status, _, body = invoke(small, url_event(rpc("tools/list", id=9)))
    assert status == 200
    assert body["id"] == 9
    assert body["error"]["code"] == types.INTERNAL_ERROR
    assert "tools/list" in body["error"]["message"]


class TestBearerToken:
    @pytest.fixture
    def guarded(self, test_server, log_capture) -> FunctionUrlHandler:
        return make_handler(test_server, log_capture, ESTAT_MCP_AUTH_TOKEN=TOKEN)

    def with_auth(self, value: str | None) -> dict:
        event = url_event(rpc("tools/list"))
        if value is not None:
            event["headers"]["authorization"] = value
        return event

    @pytest.mark.parametrize(
        ("authorization", "challenge"),
        [
            (None, 'Bearer realm="estat-aws-mcp"'),
            ("Basic dXNlcjpwYXNz", 'Bearer realm="estat-aws-mcp"'),
            ("Bearer ", 'Bearer realm="estat-aws-mcp"'),
            ("Bearer wrong-token", 'Bearer realm="estat-aws-mcp", error="invalid_token"'),
            (f"Bearer {TOKEN}x", 'Bearer realm="estat-aws-mcp", error="invalid_token"'),
            (f"Bearer {TOKEN[:-1]}", 'Bearer realm="estat-aws-mcp", error="invalid_token"'),
        ],
    )
    def test_missing_or_wrong_tokens_get_401_with_a_challenge(self, guarded, authorization, challenge) -> None:
        status, headers, body = invoke(guarded, self.with_auth(authorization))
        assert status == 401
        assert headers["WWW-Authenticate"] == challenge
        assert TOKEN not in json.dumps(body)

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    def test_the_right_token_passes(self, guarded, scheme) -> None:
        status, _, body = invoke(guarded, self.with_auth(f"{scheme} {TOKEN}"))
        assert status == 200
        assert body["result"]["tools"]

    def test_an_iam_verified_caller_is_not_asked_for_a_token(self, guarded) -> None:
        event = url_event(rpc("tools/list"), iam={"userArn": "arn:aws:iam::123456789012:user/alice"})
        event["headers"]["authorization"] = "AWS4-HMAC-SHA256 Credential=..."
        status, _, _ = invoke(guarded, event)
        assert status == 200

    def test_the_token_never_reaches_the_logs(self, guarded, log_capture) -> None:
        invoke(guarded, self.with_auth(f"Bearer {TOKEN}"))
        invoke(guarded, self.with_auth("Bearer wrong-token"))
        assert TOKEN not in log_capture.text
        assert "wrong-token" not in log_capture.text


class TestTokenFromSsm:
    PARAMETER = "/estat-aws-mcp/test/token"

    @pytest.fixture
    def ssm(self, aws_env):
        from estat_aws_mcp.aws import ssm as ssm_module
        from estat_aws_mcp.aws.clients import aws_client

        ssm_module.clear_cache()
        yield aws_client("ssm")
        ssm_module.clear_cache()

    def test_read_once_and_cached_across_invocations(self, ssm, test_server, log_capture) -> None:
        ssm.put_parameter(Name=self.PARAMETER, Value=TOKEN, Type="SecureString")
        guarded = make_handler(test_server, log_capture, ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER=self.PARAMETER)
        event = url_event(rpc("tools/list"), headers={**url_event()["headers"], "authorization": f"Bearer {TOKEN}"})
        assert invoke(guarded, event)[0] == 200
        # Within ESTAT_MCP_AUTH_TOKEN_CACHE_S a warm invocation does not read SSM again (rotation that
        # revokes is tested in tests/auth/test_token_rotation.py): the parameter can even disappear.
        ssm.delete_parameter(Name=self.PARAMETER)
        assert invoke(guarded, event)[0] == 200
        assert invoke(guarded, url_event(rpc("tools/list")))[0] == 401
        assert TOKEN not in log_capture.text

    def test_an_unreadable_parameter_fails_closed(self, ssm, test_server, log_capture) -> None:
        guarded = make_handler(test_server, log_capture, ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER="/missing/param")
        event = url_event(rpc("tools/list"))
        event["headers"]["authorization"] = f"Bearer {TOKEN}"
        status, _, body = invoke(guarded, event)
        assert status == 500
        assert "Authentication is not available" in body["error"]["message"]
        assert any(r.get("auth") == "auth_unavailable" for r in log_capture.records())
        # Health stays open: the platform's checks must not depend on the token.
        assert invoke(guarded, url_event(method="GET", path="/health"))[0] == 200


class TestStructuredLogs:
    def test_one_line_per_jsonrpc_request_and_one_per_http_request(self, handler, log_capture) -> None:
        arn = "arn:aws:sts::123456789012:assumed-role/reader/session"
        event = url_event([call("echo", id=1, text="PRIVATE-ARGUMENT"), rpc("tools/list", id=2)], iam={"userArn": arn})
        context = FakeLambdaContext()
        handler.handle(event, context)
        records = log_capture.records()
        requests = [r for r in records if r["message"] == "mcp request"]
        assert [(r["jsonrpc_method"], r.get("tool"), r["outcome"]) for r in requests] == [
            ("tools/call", "echo", "ok"),
            ("tools/list", None, "ok"),
        ]
        assert all(r["request_id"] == context.aws_request_id and r["caller"] == arn for r in requests)
        assert all(r["duration_ms"] >= 0 and r["response_bytes"] > 0 for r in requests)
        (http,) = [r for r in records if r["message"] == "http request"]
        assert (http["status"], http["http_method"], http["path"], http["caller"]) == (200, "POST", "/mcp", arn)
        assert "PRIVATE-ARGUMENT" not in log_capture.text

    @pytest.mark.parametrize(
        ("message", "outcome"),
        [
            (call("fails"), "tool_error"),
            (rpc("no/such"), "error -32601"),
            (call("blob", size=7_000_000), "oversized"),
        ],
    )
    def test_outcomes(self, handler, log_capture, message, outcome) -> None:
        invoke(handler, url_event(message))
        (record,) = [r for r in log_capture.records() if r["message"] == "mcp request"]
        assert record["outcome"] == outcome


def test_the_last_line_of_defence_never_returns_more_than_the_cap(handler) -> None:
    huge = {
        "statusCode": 200,
        "headers": {},
        "body": json.dumps([{"jsonrpc": "2.0", "id": 4, "result": {"x": "y" * 7_000_000}}]),
    }
    replaced = handler._within_cap(huge)
    body = json.loads(replaced["body"])
    assert body[0]["id"] == 4
    assert body[0]["error"]["code"] == types.INTERNAL_ERROR


def test_a_failure_while_processing_is_a_500_that_names_no_internals(handler, log_capture, monkeypatch) -> None:
    def fail(http_request, context):
        raise RuntimeError("/var/task/secret internals")

    monkeypatch.setattr(handler, "process_http_request", fail)
    status, _, body = invoke(handler, url_event(rpc("tools/list")))
    assert status == 500
    assert body["error"]["code"] == types.INTERNAL_ERROR
    assert "secret" not in json.dumps(body)
    (record,) = [r for r in log_capture.records() if r["message"] == "request processing failed"]
    assert record["error"] == "RuntimeError"


class TestDirectInvoke:
    """JSON-RPC messages sent with the Lambda Invoke API (mcp_lambda's lambda_function_client)."""

    def test_a_request_gets_the_jsonrpc_answer_itself(self, handler) -> None:
        answer = handler.handle(call("echo", id="d1", text="直接"), FakeLambdaContext())
        assert answer["id"] == "d1"
        assert answer["result"]["content"][0]["text"] == "直接"

    def test_a_notification_gets_an_empty_object(self, handler) -> None:
        assert handler.handle({"jsonrpc": "2.0", "method": "notifications/initialized"}, FakeLambdaContext()) == {}

    def test_a_malformed_message_is_an_invalid_request(self, handler) -> None:
        answer = handler.handle({"jsonrpc": "2.0", "id": 3, "method": 42}, FakeLambdaContext())
        assert (answer["id"], answer["error"]["code"]) == (3, types.INVALID_REQUEST)

    def test_no_token_applies_lambda_already_authorised_the_caller(self, test_server, log_capture) -> None:
        guarded = make_handler(test_server, log_capture, ESTAT_MCP_AUTH_TOKEN=TOKEN)
        assert guarded.handle(rpc("tools/list"), FakeLambdaContext())["result"]["tools"]

    def test_the_budget_applies(self, handler) -> None:
        answer = handler.handle(call("blob", size=7_000_000), FakeLambdaContext())
        assert answer["result"]["isError"] is True


@pytest.mark.parametrize("dispatch", ["inprocess", "stdio"])
def test_an_unknown_method_is_method_not_found_in_both_dispatch_modes(test_server, log_capture, dispatch) -> None:
    """Issue 15: -32601, not the SDK's -32602 (in-process) or the adapter's 500 (stdio)."""
    handler = make_handler(test_server, log_capture, ESTAT_MCP_DISPATCH=dispatch)
    status, _, body = invoke(handler, url_event(rpc("no/such/method", id="m-1")))
    assert status == 200
    assert body["id"] == "m-1" and body["error"]["code"] == types.METHOD_NOT_FOUND
    assert "no/such/method" in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code"), [("[]", types.INVALID_REQUEST), ("[" * 100_000 + "]" * 100_000, types.PARSE_ERROR)]
)
def test_empty_batches_and_deep_nesting_are_400s(handler, log_capture, body, code) -> None:
    status, _, answer = invoke(handler, url_event(body))
    assert (status, answer["error"]["code"]) == (400, code)
    assert "Traceback" not in log_capture.text and "RecursionError" not in log_capture.text
