"""The response budget measures answers exactly as Lambda will carry them."""

from __future__ import annotations

import json

import pytest
from mcp import types
from pydantic import BaseModel

from estat_aws_mcp.lambda_handler.budget import ResponseBudget
from estat_aws_mcp.limits import LAMBDA_RESPONSE_CAP_BYTES, result_wire_bytes


@pytest.mark.parametrize(
    "text",
    ["plain", 'quote " and back\\slash', "統計\n\t\x01\u2028", "x" * 10_000, "😀 emoji (a surrogate pair)"],
)
def test_encoded_size_is_the_doubly_encoded_length(text) -> None:
    answer = types.JSONRPCResponse(jsonrpc="2.0", id="é", result={"text": text, "list": [1, 'a"b', None]})
    expected = len(json.dumps(json.dumps(answer.model_dump(by_alias=True, exclude_none=True))))
    assert result_wire_bytes(answer, lambda_body=True) == expected


class Note(BaseModel):
    text: str
    extra: None = None


@pytest.mark.parametrize(
    "answer",
    [
        types.JSONRPCResponse(jsonrpc="2.0", id=7, result={"nested": (1, 2.5, "三"), "none": None, "flag": True}),
        # A model inside a plain result: encoded as model_dump would convert it, not refused.
        types.JSONRPCResponse(jsonrpc="2.0", id="a", result={"note": Note(text='q"')}),
        types.JSONRPCResponse(jsonrpc="2.0", id=1, result={"x": 1}, extra_field="kept"),
        types.JSONRPCError(jsonrpc="2.0", id=2, error=types.ErrorData(code=-32602, message="bad", data={"k": None})),
    ],
)
def test_answers_are_measured_as_the_adapter_encodes_them(answer) -> None:
    """The shortcut for plain results (no model_dump copy) must agree with what the adapter sends."""
    expected = json.dumps(answer.model_dump(by_alias=True, exclude_none=True))
    assert result_wire_bytes(answer) == len(expected)
    assert result_wire_bytes(answer, lambda_body=True) == len(json.dumps(expected))


def test_budget_charges_what_it_admits_and_resets() -> None:
    request = types.JSONRPCRequest(jsonrpc="2.0", id=1, method="tools/call", params={"name": "t", "arguments": {}})
    small = types.JSONRPCResponse(jsonrpc="2.0", id=1, result={"content": []})
    big = types.JSONRPCResponse(jsonrpc="2.0", id=1, result={"content": [{"type": "text", "text": "x" * 5000}]})
    budget = ResponseBudget(limit_bytes=3000)
    assert budget.admit(request, small) == (small, True)
    replacement, fits = budget.admit(request, big)
    assert not fits and replacement.result["isError"] is True
    assert budget.used_bytes > result_wire_bytes(small, lambda_body=True)
    budget.reset()
    assert budget.used_bytes == 0 and budget.available_bytes == 3000


@pytest.mark.parametrize("body", ["", '{"a": "b\\\\c"}', "統計", "x" * 1000, "raw\nnewline\x01"])
def test_result_size_matches_the_encoding(body) -> None:
    from estat_aws_mcp.lambda_handler.app import _invocation_payload_bytes

    response = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    assert _invocation_payload_bytes(response) == len(json.dumps(response))


@pytest.mark.parametrize(
    ("body", "fits"),
    [
        ("x" * 1000, True),
        ("a" * (LAMBDA_RESPONSE_CAP_BYTES - 200), True),  # past the bound: counted exactly, and it fits
        ('"' * (LAMBDA_RESPONSE_CAP_BYTES // 2), False),  # every quote is escaped: twice its length
        ("統" * (LAMBDA_RESPONSE_CAP_BYTES // 6), False),  # six bytes each as \\uXXXX
        ("😀" * (LAMBDA_RESPONSE_CAP_BYTES // 12 + 10), False),  # 12 each: the worst case
        ("😀" * (LAMBDA_RESPONSE_CAP_BYTES // 12 - 10), True),
    ],
)
def test_the_cap_check_agrees_with_the_exact_size(body, fits) -> None:
    from estat_aws_mcp.lambda_handler.app import _fits_invocation_payload

    response = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    assert (len(json.dumps(response)) <= LAMBDA_RESPONSE_CAP_BYTES) is fits
    assert _fits_invocation_payload(response) is fits


def test_a_large_batch_keeps_every_answer_that_fits(log_capture) -> None:
    """Issue 15: 200+ tools/list in one batch used to come back as 200+ errors (replacements not counted)."""
    from estat_aws_mcp.lambda_handler.app import build_function_url_handler
    from estat_aws_mcp.settings import Settings
    from tests.lambda_handler.conftest import FakeLambdaContext, rpc, url_event

    handler = build_function_url_handler(Settings(), log=log_capture.logger)
    one = handler.handle(url_event(rpc("tools/list")), FakeLambdaContext())
    fits = LAMBDA_RESPONSE_CAP_BYTES // len(json.dumps(one["body"]))
    count = max(250, 3 * fits)
    response = handler.handle(url_event([rpc("tools/list", id=i) for i in range(count)]), FakeLambdaContext())
    assert response["statusCode"] == 200
    assert len(json.dumps(response)) <= LAMBDA_RESPONSE_CAP_BYTES
    answers = json.loads(response["body"])
    assert [a["id"] for a in answers] == list(range(count))
    kept = [a for a in answers if "result" in a]
    replaced = [a for a in answers if "error" in a]
    assert len(kept) >= fits - 3  # nearly everything that fits is kept...
    assert answers[: len(kept)] == kept  # ...in order, and only the tail is replaced
    assert all("6 MB" in a["error"]["message"] for a in replaced)
    (http,) = [r for r in log_capture.records() if r["message"] == "http request"][-1:]
    assert http["replaced_answers"] == len(replaced) > 0
