"""run_aws_cli through the MCP surface (in-memory client session against the real server object)."""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.awscli.service import run_aws_cli
from estat_aws_mcp.tools.server import build_server
from tests.awscli.conftest import LOG_GROUP, SeededAws


async def _session_calls(calls: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
    async with create_connected_server_and_client_session(build_server()) as client:
        tools = await client.list_tools()
        tool = next(t for t in tools.tools if t.name == "run_aws_cli")
        results = [await client.call_tool("run_aws_cli", arguments) for arguments in calls]
        return tool, results


def test_tool_schema_and_answers(seeded_aws: SeededAws) -> None:
    tool, (allowed, denied, aws_error, non_string, truncated) = anyio.run(
        _session_calls,
        [
            {"command": f"aws logs filter-log-events --log-group-name {LOG_GROUP} --filter-pattern 'ERROR timeout'"},
            {"command": "aws logs describe-log-groups | sh"},
            {"command": "aws logs filter-log-events --log-group-name /aws/lambda/missing"},
            {"command": ["aws", "logs", "describe-log-groups"]},
            {"command": f"aws logs filter-log-events --log-group-name {LOG_GROUP}", "max_output_chars": 1000},
        ],
    )
    assert tool.inputSchema["properties"]["command"]["type"] == "string"
    assert tool.inputSchema["properties"]["command"]["maxLength"] == 8192
    assert tool.inputSchema["required"] == ["command"]
    assert tool.outputSchema["properties"]["decision"]["enum"] == ["allowed", "denied"]
    assert tool.annotations.readOnlyHint is True

    assert allowed.isError is False
    assert allowed.structuredContent["decision"] == "allowed" and allowed.structuredContent["exit_status"] == 0
    # The same bytes as the core call, which test_parity checks against the real CLI.
    reference = run_aws_cli(f"aws logs filter-log-events --log-group-name {LOG_GROUP} --filter-pattern 'ERROR timeout'")
    assert allowed.structuredContent["output"] == reference.output != ""
    assert allowed.content[0].text == reference.output
    assert allowed.structuredContent["request_ids"]

    assert denied.isError is True
    assert (denied.structuredContent["decision"], denied.structuredContent["rule"]) == ("denied", "shell_syntax")
    assert denied.content[0].text.startswith("denied (shell_syntax): ")

    assert aws_error.isError is True
    assert aws_error.structuredContent["decision"] == "allowed"
    assert aws_error.structuredContent["aws_error_code"] == "ResourceNotFoundException"
    assert "ResourceNotFoundException" in aws_error.content[0].text

    assert non_string.isError is True and non_string.structuredContent["rule"] == "invalid_input"

    assert truncated.isError is False
    content = truncated.structuredContent
    assert content["truncated"] and content["next_token"] and len(content["output"]) <= 1000
    assert json.loads(content["output"])["NextToken"] == content["next_token"]
    assert f"--starting-token {content['next_token']}" in truncated.content[0].text


def test_out_of_range_budget_is_rejected_by_the_schema(seeded_aws: SeededAws) -> None:
    _, (answer,) = anyio.run(_session_calls, [{"command": "aws logs describe-log-groups", "max_output_chars": 10}])
    assert answer.isError is True


def test_table_output_through_the_tool(seeded_aws: SeededAws) -> None:
    _, (answer,) = anyio.run(_session_calls, [{"command": "aws logs describe-log-groups --output table"}])
    assert answer.structuredContent["output_format"] == "table"
    assert "DescribeLogGroups" in answer.structuredContent["output"]
