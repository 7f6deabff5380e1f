"""JSON-RPC answers the Lambda edge builds itself (timeouts, oversized results), with the caller's id."""

from __future__ import annotations

from mcp import types

RequestId = str | int
#: JSON-RPC server error (implementation-defined range): the request was not started, the invocation's time is up.
NOT_STARTED = -32000


def error_for_request(request_id: RequestId, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))


def tool_error(request_id: RequestId, message: str) -> types.JSONRPCResponse:
    """A ``tools/call`` answer with ``isError``: clients hand it to the model instead of failing the session."""
    result = types.CallToolResult(content=[types.TextContent(type="text", text=message)], isError=True)
    return types.JSONRPCResponse(
        jsonrpc="2.0", id=request_id, result=result.model_dump(by_alias=True, mode="json", exclude_none=True)
    )


def tool_name(request: types.JSONRPCRequest) -> str | None:
    if request.method != "tools/call" or not isinstance(request.params, dict):
        return None
    name = request.params.get("name")
    return name if isinstance(name, str) else None


def answer_with(request: types.JSONRPCRequest, code: int, message: str) -> types.JSONRPCResponse | types.JSONRPCError:
    """A tool error for ``tools/call`` (the model sees it and can adapt), else a JSON-RPC error."""
    if request.method == "tools/call":
        return tool_error(request.id, message)
    return error_for_request(request.id, code, message)


def timed_out_error(
    request: types.JSONRPCRequest, timeout_s: float | None
) -> types.JSONRPCResponse | types.JSONRPCError:
    limit = "" if timeout_s is None else f" ({timeout_s:.1f} s)"
    what = f"Tool '{tool_name(request)}'" if tool_name(request) else f"'{request.method}'"
    return answer_with(
        request,
        types.INTERNAL_ERROR,
        f"{what} did not finish within the time left in this Lambda invocation{limit}. "
        "Ask for less (narrower filters, fewer rows), or fetch large tables into the dataset store first.",
    )


def not_started_error(request: types.JSONRPCRequest, reserve_s: float) -> types.JSONRPCError:
    """The answer to a request (a batch item) that was not started because the invocation is nearly over."""
    return error_for_request(
        request.id,
        NOT_STARTED,
        f"Not started: less than {reserve_s:.1f} s was left in this AWS Lambda invocation when this request's turn "
        "came. Nothing was done; send it again, in a smaller batch.",
    )
