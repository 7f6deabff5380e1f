"""Size budgets, defined once.

Lambda's buffered Function URL response is capped at 6 MB, and FastMCP sends a typed tool
result twice (text content and ``structuredContent``). Every tool result is therefore kept
under ``TOOL_RESULT_BUDGET_BYTES`` measured on the final JSON encoding; large data travels
by reference (dataset id, URIs, row count, schema, a small sample).
"""

LAMBDA_RESPONSE_CAP_BYTES = 6 * 1024 * 1024
# One copy of a tool result; two copies plus the JSON-RPC envelope stay far below the cap.
TOOL_RESULT_BUDGET_BYTES = 1024 * 1024
# Default text budget for command-style output (fits the limits of common MCP clients).
TEXT_OUTPUT_BUDGET_CHARS = 48_000
# Rows returned inline as a sample of a dataset.
SAMPLE_ROWS = 20
