"""The response budget measures answers exactly as Lambda will carry them."""

from __future__ import annotations

import json

import pytest
from mcp import types

from estat_aws_mcp.lambda_handler.budget import ResponseBudget, encoded_size


@pytest.mark.parametrize(
    "text",
    ["plain", 'quote " and back\\slash', "統計\n\t\x01\u2028", "x" * 10_000, "😀 emoji (a surrogate pair)"],
)
def test_encoded_size_is_the_doubly_encoded_length(text) -> None:
    answer = types.JSONRPCResponse(jsonrpc="2.0", id="é", result={"text": text, "list": [1, 'a"b', None]})
    expected = len(json.dumps(json.dumps(answer.model_dump(by_alias=True, exclude_none=True))))
    assert encoded_size(answer) == expected


def test_budget_charges_what_it_admits_and_resets() -> None:
    request = types.JSONRPCRequest(jsonrpc="2.0", id=1, method="tools/call", params={"name": "t", "arguments": {}})
    small = types.JSONRPCResponse(jsonrpc="2.0", id=1, result={"content": []})
    big = types.JSONRPCResponse(jsonrpc="2.0", id=1, result={"content": [{"type": "text", "text": "x" * 5000}]})
    budget = ResponseBudget(limit_bytes=3000)
    assert budget.admit(request, small) == (small, True)
    replacement, fits = budget.admit(request, big)
    assert not fits and replacement.result["isError"] is True
    assert budget.used_bytes > encoded_size(small)
    budget.reset()
    assert budget.used_bytes == 0 and budget.available_bytes == 3000


@pytest.mark.parametrize("body", ["", '{"a": "b\\\\c"}', "統計", "x" * 1000, "raw\nnewline\x01"])
def test_result_size_matches_the_encoding(body) -> None:
    from estat_aws_mcp.lambda_handler.app import _result_size

    response = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    assert _result_size(response) == len(json.dumps(response))
