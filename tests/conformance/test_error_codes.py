"""JSON-RPC error codes of the production server through both HTTP transports (``serve --http``'s app and the
Lambda Function URL handler): the cases the MCP SDK answers with code 0 or the wrong code on its own
(:mod:`estat_aws_mcp.tools.error_codes`; unknown methods: :mod:`estat_aws_mcp.protocol`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from estat_aws_mcp.settings import Settings
from estat_aws_mcp.tools.server import build_server
from tests.lambda_handler.conftest import MCP_HEADERS, FakeLambdaContext, rpc, url_event

Post = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module", params=["serve-http", "lambda"])
def post(request, tmp_path_factory) -> Post:
    store = tmp_path_factory.mktemp("store")
    patch = pytest.MonkeyPatch()
    patch.setenv("ESTAT_MCP_STORAGE_URI", str(store))
    patch.delenv("ESTAT_MCP_AUTH_TOKEN", raising=False)
    patch.delenv("ESTAT_MCP_AUTH_MODE", raising=False)
    request.addfinalizer(patch.undo)
    settings = Settings()
    if request.param == "lambda":
        handler = build_function_url_handler(settings, server=build_server())

        def through_lambda(message: dict[str, Any]) -> dict[str, Any]:
            response = handler.handle(url_event(message), FakeLambdaContext())
            assert response["statusCode"] == 200, response
            return json.loads(response["body"])

        return through_lambda
    client = TestClient(build_http_app(settings=settings, server=build_server()), base_url="http://127.0.0.1:8080")
    client.__enter__()
    request.addfinalizer(lambda: client.__exit__(None, None, None))

    def through_http(message: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/mcp", json=message, headers=MCP_HEADERS)
        assert response.status_code == 200, response.text
        return response.json()

    return through_http


def error_of(answer: dict[str, Any], request_id: Any = 1) -> dict[str, Any]:
    assert answer["id"] == request_id, answer
    assert "error" in answer, answer
    return answer["error"]


def test_an_undefined_method_is_method_not_found(post) -> None:
    error = error_of(post(rpc("tools/register", {"name": "x"}, id="probe-1")), "probe-1")
    assert error["code"] == -32601
    assert "tools/register" in error["message"]


def test_a_defined_method_without_a_handler_is_method_not_found_and_bad_params_stay_invalid_params(post) -> None:
    assert error_of(post(rpc("logging/setLevel", {"level": "info"})))["code"] == -32601
    assert error_of(post(rpc("tools/call", {})))["code"] == -32602  # known method, params missing


def test_an_unknown_tool_is_a_protocol_error(post) -> None:
    error = error_of(post(rpc("tools/call", {"name": "no_such_tool", "arguments": {}})))
    assert error["code"] == -32602
    assert "no_such_tool" in error["message"]


def test_a_known_tool_still_answers_with_a_result(post) -> None:
    answer = post(rpc("tools/call", {"name": "list_datasets", "arguments": {}}))
    assert answer["result"]["isError"] is False, answer


def test_unknown_prompt_and_missing_argument_are_invalid_params(post) -> None:
    unknown = error_of(post(rpc("prompts/get", {"name": "no_such_prompt"})))
    assert (unknown["code"], unknown["message"]) == (-32602, "Unknown prompt: 'no_such_prompt'")
    missing = error_of(post(rpc("prompts/get", {"name": "analyze_estat_statistics", "arguments": {}})))
    assert missing["code"] == -32602
    assert "question" in missing["message"]
    ok = post(rpc("prompts/get", {"name": "analyze_estat_statistics", "arguments": {"question": "人口"}}))
    assert ok["result"]["messages"], ok


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("test://static-text", "Unknown resource: test://static-text"),
        ("estat://datasets/nope", "invalid dataset_id 'nope'"),
        ("estat://datasets/0003445078-1a2b3c4d5e6f", "0003445078-1a2b3c4d5e6f"),
    ],
)
def test_a_resource_that_is_not_there_is_resource_not_found(post, uri, says) -> None:
    error = error_of(post(rpc("resources/read", {"uri": uri})))
    assert error["code"] == -32002, error
    assert error["data"] == {"uri": uri}
    assert says in error["message"]
    assert not error["message"].startswith("Error creating resource from template")
