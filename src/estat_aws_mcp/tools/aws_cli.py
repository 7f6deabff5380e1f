"""MCP tool ``run_aws_cli``: a thin wrapper over :func:`estat_aws_mcp.awscli.service.run_aws_cli`."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.fastmcp import Context, FastMCP
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field, WithJsonSchema

from estat_aws_mcp.awscli.result import AwsCliResult
from estat_aws_mcp.limits import TEXT_OUTPUT_BUDGET_CHARS
from estat_aws_mcp.tools.errors import in_worker_thread

MAX_COMMAND_CHARS = 8192

RUN_AWS_CLI_DESCRIPTION = (
    "Run one read-only AWS CLI (v1) command in-process with the server's AWS role, e.g. "
    "'aws logs describe-log-groups', 'aws logs filter-log-events --log-group-name /aws/lambda/x "
    "--filter-pattern \"ERROR timeout\" --max-items 20', 'aws cloudwatch list-metrics --namespace AWS/Lambda', "
    "'aws cloudwatch describe-alarms --output table'. Allowed by default: read operations of CloudWatch Logs "
    "and CloudWatch (the operator may extend the allowlist). Only --region, --output json|text|table, "
    "--query (JMESPath), --max-items, --page-size, --starting-token and --no-paginate pass among global "
    "options; no shell (pipes, redirection, $()), no file:// or URL values, no option abbreviations. "
    "Output is bounded: when it would not fit, fewer items are returned with truncated=true and a "
    "next_token to pass as --starting-token. Denied commands return decision='denied' with the rule that fired."
)


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="run_aws_cli",
        title="Guarded AWS CLI (read-only)",
        description=RUN_AWS_CLI_DESCRIPTION,
        annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True),
        structured_output=True,
    )
    async def run_aws_cli(
        # Typed loosely on purpose: a non-string still gets a structured denial (rule invalid_input)
        # while clients see the real schema.
        command: Annotated[
            Any,
            WithJsonSchema(
                {
                    "type": "string",
                    "maxLength": MAX_COMMAND_CHARS,
                    "description": "One AWS CLI command line, with or without the leading 'aws'.",
                }
            ),
        ],
        ctx: Context,
        max_output_chars: Annotated[
            int,
            Field(
                ge=1_000,
                le=100_000,
                description="Output budget in characters; fewer items are returned to fit it.",
            ),
        ] = TEXT_OUTPUT_BUDGET_CHARS,
    ) -> Annotated[CallToolResult, AwsCliResult]:
        from estat_aws_mcp.awscli.service import run_aws_cli as run
        from estat_aws_mcp.awscli.service import to_call_tool_result

        try:
            request_id: str | None = str(ctx.request_id)
        except ValueError:  # called outside an MCP request (direct use in tests or scripts)
            request_id = None
        result = await in_worker_thread(run, command, max_output_chars=max_output_chars, request_id=request_id)
        return to_call_tool_result(result)
