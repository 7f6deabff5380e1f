"""Keep every Function URL response under Lambda's buffered payload cap.

Lambda refuses a result over 6 MB and the Function URL then answers 502, which ends an MCP
client's session. The body travels as a JSON string inside the invocation result, so each answer
is measured exactly as it will be sent: JSON-encoded once by the adapter, then once more as the
``body`` string (quotes and ``\\uXXXX`` escapes grow). An answer that does not fit in what is left
of the invocation's budget is replaced by a short one that says how to ask for less: a tool error
for ``tools/call`` (the model reads it), a JSON-RPC error otherwise.
"""

from __future__ import annotations

import json

from mcp import types

from estat_aws_mcp.lambda_handler.results import answer_with, tool_name
from estat_aws_mcp.limits import LAMBDA_RESPONSE_CAP_BYTES

# Room for the invocation result's envelope: statusCode, headers, batch brackets and commas.
ENVELOPE_RESERVE_BYTES = 16 * 1024
DEFAULT_RESPONSE_BUDGET_BYTES = LAMBDA_RESPONSE_CAP_BYTES - ENVELOPE_RESERVE_BYTES

Answer = types.JSONRPCResponse | types.JSONRPCError


def encoded_size(answer: Answer) -> int:
    """Bytes this answer adds to the invocation result (JSON inside a JSON string)."""
    body = json.dumps(answer.model_dump(by_alias=True, exclude_none=True))
    # = len(json.dumps(body)): the body is ASCII (ensure_ascii), so re-encoding it as a JSON string
    # adds the two quotes and one backslash per '"' or '\\' in it, nothing else.
    return len(body) + 2 + body.count('"') + body.count("\\")


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


class ResponseBudget:
    """What is left of one invocation's response allowance; :meth:`reset` at each invocation."""

    def __init__(self, limit_bytes: int = DEFAULT_RESPONSE_BUDGET_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self.used_bytes = 0

    def reset(self) -> None:
        self.used_bytes = 0

    @property
    def available_bytes(self) -> int:
        return max(0, self.limit_bytes - self.used_bytes)

    def admit(self, request: types.JSONRPCRequest, answer: Answer) -> tuple[Answer, bool]:
        """``(answer, True)`` if it fits, else ``(replacement, False)``; the budget is charged either way."""
        size = encoded_size(answer)
        available = self.available_bytes
        if size <= available:
            self.used_bytes += size
            return answer, True
        replacement = answer_with(request, types.INTERNAL_ERROR, oversized_message(request, size, available))
        self.used_bytes += encoded_size(replacement)
        return replacement, False
