"""One structured log line per run_aws_cli call (denials at WARNING)."""

from __future__ import annotations

import json
import logging

from estat_aws_mcp.awscli.result import AwsCliResult

logger = logging.getLogger("estat_aws_mcp.awscli.audit")


def audit_record(result: AwsCliResult, *, request_id: str | None, command: str) -> dict[str, object]:
    return {
        "event": "run_aws_cli",
        "request_id": request_id,
        "call_id": result.call_id,
        "decision": result.decision,
        "rule": result.rule,
        "service": result.service,
        "operation": result.operation,
        "region": result.region,
        "duration_ms": result.duration_ms,
        "exit_status": result.exit_status,
        "output_chars": len(result.output),
        "truncated": result.truncated,
        "item_count": result.item_count,
        "aws_error_code": result.aws_error_code,
        "aws_request_ids": result.request_ids[:10],
        "command": command,
    }


def log_call(result: AwsCliResult, *, request_id: str | None, command: str) -> None:
    record = audit_record(result, request_id=request_id, command=command)
    level = logging.WARNING if result.decision == "denied" else logging.INFO
    logger.log(level, json.dumps(record, ensure_ascii=False, sort_keys=True))
