"""run_aws_cli end to end: policy, parsing, validation, execution, redaction, audit, MCP answer."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from estat_aws_mcp.awscli.audit import log_call
from estat_aws_mcp.awscli.denial import Denied
from estat_aws_mcp.awscli.lexer import split_command
from estat_aws_mcp.awscli.redaction import (  # noqa: F401 - SECRET_ENV_NAMES: re-exported
    SECRET_ENV_NAMES,
    defeated_redaction,
    redact,
    secret_values,
)
from estat_aws_mcp.awscli.result import AwsCliResult
from estat_aws_mcp.awscli.validator import audit_text
from estat_aws_mcp.deadline import stop_by
from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.limits import TEXT_OUTPUT_BUDGET_CHARS, TOOL_RESULT_BUDGET_BYTES, result_wire_bytes

logger = logging.getLogger(__name__)

MIN_OUTPUT_CHARS = 1_000
MAX_OUTPUT_CHARS = 100_000
MAX_STDERR_CHARS = 4_000
# The whole encoded CallToolResult (text content + structuredContent + JSON) stays under this.
HARD_CAP_BYTES = TOOL_RESULT_BUDGET_BYTES
# Upper bound of one call when no invocation deadline is known (local servers, tests).
DEFAULT_CALL_BUDGET_S = 25.0
# Time kept back before the invocation's deadline (estat_aws_mcp.deadline) to format and return the answer.
RESPONSE_RESERVE_S = 1.5
_ERROR_LINE = re.compile(r"An error occurred \(([^)]+)\)")


def _denied(denial: Denied, **fields: Any) -> AwsCliResult:
    return AwsCliResult(decision="denied", rule=denial.rule, hint=denial.hint, **fields)


def _usage_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("usage:")]
    message = lines[-1] if lines else "the AWS CLI could not parse the command"
    return message[:300]


def call_deadline(default_budget_s: float = DEFAULT_CALL_BUDGET_S) -> float:
    """Absolute monotonic time by which one call must have stopped talking to AWS."""
    return stop_by(default_budget_s, reserve_s=RESPONSE_RESERVE_S)


def run_aws_cli(
    command: object, *, max_output_chars: int = TEXT_OUTPUT_BUDGET_CHARS, request_id: str | None = None
) -> AwsCliResult:
    """Run one command under the policy; never raises for bad input, never returns a secret."""
    started = time.monotonic()
    call_id = uuid.uuid4().hex[:16]
    secrets = secret_values()
    audit_command = "<not parsed>"
    result: AwsCliResult
    try:
        budget = min(MAX_OUTPUT_CHARS, max(MIN_OUTPUT_CHARS, int(max_output_chars)))
        try:
            from estat_aws_mcp.awscli.policy import load_policy_from_settings

            policy = load_policy_from_settings()
        except ConfigurationError as exc:
            logger.error("run_aws_cli policy unavailable: %s", exc)
            raise Denied(
                "policy_unavailable",
                "the run_aws_cli policy could not be loaded; every command is denied until the operator fixes it",
            ) from None
        deadline = call_deadline()
        audit_command = audit_text(split_command(command))  # cheap refusals before awscli is imported
        from estat_aws_mcp.awscli.runner import create_driver, run_validated
        from estat_aws_mcp.awscli.validator import validate

        driver = create_driver()
        validated = validate(command, driver, policy)
        audit_command = validated.audit_command
        outcome = run_validated(validated, driver, budget_chars=budget, deadline=deadline, secrets=secrets)
        state = outcome.state
        fields: dict[str, Any] = {"service": validated.service, "operation": validated.operation}
        if state.denied is not None:
            result = _denied(state.denied, **fields)
        elif state.error_name == "cli_usage_error" and not state.operation_ran:
            result = _denied(Denied("cli_usage_error", _usage_message(outcome.stderr)), **fields)
        else:
            error = None
            if outcome.exit_status != 0:
                if state.aws_error_code:
                    error = "aws_error"
                else:
                    error = state.error_name or "cli_error"
                    match = _ERROR_LINE.search(outcome.stderr)
                    if match:
                        state.aws_error_code = match.group(1)
            result = AwsCliResult(
                decision="allowed",
                error=error,
                region=state.region or validated.region,
                output_format=state.output_format or validated.output,
                exit_status=outcome.exit_status,
                output=outcome.output,
                stderr=outcome.stderr.strip()[:MAX_STDERR_CHARS],
                truncated=state.truncated,
                item_count=state.item_count,
                next_token=state.next_token,
                request_ids=list(dict.fromkeys(state.request_ids)),
                aws_error_code=state.aws_error_code,
                **fields,
            )
    except Denied as denial:
        result = _denied(denial, service=denial.service, operation=denial.operation)
    except Exception as exc:  # never leak a traceback (or what it may hold) to the caller
        logger.error("run_aws_cli internal error: %s", type(exc).__name__)
        result = AwsCliResult(decision="denied", rule="internal_error", hint="the command could not be processed")
    result.call_id = call_id
    result.duration_ms = int((time.monotonic() - started) * 1000)
    _redact_result(result, secrets)
    if defeated_redaction(result.output, secrets) or defeated_redaction(result.stderr, secrets):
        logger.warning("run_aws_cli: answer refused, it held a transformed secret (call %s)", call_id)
        result = AwsCliResult(
            decision="denied",
            rule="redaction_defeated",
            hint="the answer would carry a server secret in a transformed form (--query/--output); it is withheld",
            service=result.service,
            operation=result.operation,
            call_id=call_id,
            duration_ms=result.duration_ms,
        )
    log_call(result, request_id=request_id, command=redact(audit_command, secrets))
    return result


def _redact_result(result: AwsCliResult, secrets: list[str]) -> None:
    if not secrets:
        return
    for name in type(result).model_fields:
        value = getattr(result, name)
        if isinstance(value, str):
            setattr(result, name, redact(value, secrets))
    result.request_ids = [redact(value, secrets) for value in result.request_ids]


def _summary(result: AwsCliResult) -> str:
    """The text content: what a human or a text-only client needs."""
    if result.decision == "denied":
        return f"denied ({result.rule}): {result.hint}"
    parts: list[str] = []
    if result.output:
        parts.append(result.output)
    if result.error:
        code = f" {result.aws_error_code}" if result.aws_error_code else ""
        parts.append(f"[{result.error}{code}, exit status {result.exit_status}] {result.stderr}".rstrip())
    if result.truncated:
        note = f"[truncated to fit the output budget: {result.item_count} items shown"
        note += f"; continue with --starting-token {result.next_token}]" if result.next_token else "]"
        parts.append(note)
    return "\n".join(parts) if parts else "(no output)"


def to_call_tool_result(result: AwsCliResult, *, hard_cap_bytes: int = HARD_CAP_BYTES) -> Any:
    """The MCP answer, cut further (and marked truncated) if its final encoding would pass the cap."""
    from mcp.types import CallToolResult, TextContent

    def build() -> CallToolResult:
        return CallToolResult(
            content=[TextContent(type="text", text=_summary(result))],
            structuredContent=result.to_dict(),
            isError=result.is_error,
        )

    answer = build()
    for _ in range(8):
        size = result_wire_bytes(answer)
        if size <= hard_cap_bytes or not result.output:
            return answer
        keep = int(len(result.output) * hard_cap_bytes / size * 0.9)
        result.output = result.output[:keep]
        result.truncated = True
        answer = build()
    result.output = ""
    result.truncated = True
    return build()
