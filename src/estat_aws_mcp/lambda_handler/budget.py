"""Keep every Function URL response under Lambda's buffered payload cap.

Lambda refuses a result over 6 MB and the Function URL then answers 502, which ends an MCP
client's session. The body travels as a JSON string inside the invocation result, so each answer
is measured exactly as it will be sent: JSON-encoded once by the adapter, then once more as the
``body`` string (quotes and ``\\uXXXX`` escapes grow). An answer that does not fit in what is left
of the invocation's budget is replaced by a short one that says how to ask for less: a tool error
for ``tools/call`` (the model reads it), a JSON-RPC error otherwise.
"""

from __future__ import annotations

from mcp import types

from estat_aws_mcp.lambda_handler.results import RequestId, answer_with, error_for_request, tool_error, tool_name
from estat_aws_mcp.limits import LAMBDA_RESPONSE_CAP_BYTES, result_wire_bytes

# Room for the invocation result's envelope: statusCode, headers, batch brackets and commas.
ENVELOPE_RESERVE_BYTES = 16 * 1024
DEFAULT_RESPONSE_BUDGET_BYTES = LAMBDA_RESPONSE_CAP_BYTES - ENVELOPE_RESERVE_BYTES

Answer = types.JSONRPCResponse | types.JSONRPCError
# The replacement when not even the explaining one fits what is left (the tail of a large batch).
NO_ROOM_MESSAGE = (
    "This answer did not fit in what was left of this AWS Lambda response (6 MB): send this request "
    "again on its own or in a smaller batch."
)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB"


def oversized_message(request: types.JSONRPCRequest, size: int, available: int) -> str:
    name = tool_name(request)
    subject = f"The result of tool '{name}'" if name else f"The answer to '{request.method}'"
    return (
        f"{subject} is {_megabytes(size)} once encoded, more than the {_megabytes(available)} left in this "
        "AWS Lambda response (a Function URL response is capped at 6 MB, and a tool result is sent twice: "
        "as text and as structured content). Ask for less and page through it: lower max_rows / max_bytes / "
        "max_output_chars / max_results, read the next part with offset, add filters, or fetch the table "
        "into the dataset store (fetch_* tools return a dataset_id) and query or download it in pages "
        "(analyze_with_athena, download_csv_from_s3). Batch fewer requests per HTTP call."
    )


def no_room_answer(request_id: RequestId, method: str) -> Answer:
    """The short replacement for an answer that no longer fits; its size depends only on id and method."""
    if method == "tools/call":
        return tool_error(request_id, NO_ROOM_MESSAGE)
    return error_for_request(request_id, types.INTERNAL_ERROR, NO_ROOM_MESSAGE)


def _no_room_bytes(request_id: RequestId, method: str) -> int:
    return result_wire_bytes(no_room_answer(request_id, method), lambda_body=True)


class ResponseBudget:
    """What is left of one invocation's response allowance; :meth:`reset` at each invocation.

    For a batch (:meth:`plan`), room for a short replacement of every answer still to come is kept
    aside, so answers that fit are kept and only the ones that do not are replaced, whatever the
    batch size; :attr:`replaced` counts the replacements.
    """

    def __init__(self, limit_bytes: int = DEFAULT_RESPONSE_BUDGET_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self.used_bytes = 0
        self.reserved_bytes = 0
        self.replaced = 0

    def reset(self) -> None:
        self.used_bytes = 0
        self.reserved_bytes = 0
        self.replaced = 0

    def plan(self, requests: list[tuple[RequestId, str]]) -> None:
        """The ``(id, method)`` of the requests a batch will answer, in order (one request needs no plan)."""
        if len(requests) > 1:
            self.reserved_bytes = sum(_no_room_bytes(request_id, method) for request_id, method in requests)

    @property
    def available_bytes(self) -> int:
        return max(0, self.limit_bytes - self.used_bytes - self.reserved_bytes)

    def admit(self, request: types.JSONRPCRequest, answer: Answer) -> tuple[Answer, bool]:
        """``(answer, True)`` if it fits, else ``(replacement, False)``; the budget is charged either way."""
        if self.reserved_bytes:  # this request's own reserve is now available to it
            self.reserved_bytes = max(0, self.reserved_bytes - _no_room_bytes(request.id, request.method))
        size = result_wire_bytes(answer, lambda_body=True)
        available = self.available_bytes
        if size <= available:
            self.used_bytes += size
            return answer, True
        self.replaced += 1
        replacement = answer_with(request, types.INTERNAL_ERROR, oversized_message(request, size, available))
        replacement_size = result_wire_bytes(replacement, lambda_body=True)
        if replacement_size > available:
            replacement = no_room_answer(request.id, request.method)
            replacement_size = result_wire_bytes(replacement, lambda_body=True)
        self.used_bytes += replacement_size
        return replacement, False
