"""What one run_aws_cli call answers (structured; the MCP tool sends it as structuredContent)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass
class AwsCliResult:
    decision: Literal["allowed", "denied"]
    # For denials: the rule that fired.
    rule: str | None = None
    hint: str | None = None
    # For allowed calls that failed: aws_error, cli_error, deadline_exceeded, busy, internal_error.
    error: str | None = None
    service: str | None = None
    operation: str | None = None
    region: str | None = None
    output_format: str | None = None
    exit_status: int | None = None
    output: str = ""
    stderr: str = ""
    truncated: bool = False
    item_count: int | None = None
    next_token: str | None = None
    request_ids: list[str] = field(default_factory=list)
    aws_error_code: str | None = None
    call_id: str = ""
    duration_ms: int = 0

    @property
    def is_error(self) -> bool:
        return self.decision == "denied" or self.error is not None or self.exit_status not in (0, None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
