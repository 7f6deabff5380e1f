"""What one run_aws_cli call answers: the tool's output model (sent as structuredContent)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AwsCliResult(BaseModel):
    """Structured answer of run_aws_cli (also the tool's output schema)."""

    decision: Literal["allowed", "denied"]
    rule: str | None = Field(default=None, description="denials: the rule that fired")
    hint: str | None = Field(default=None, description="denials: what would be accepted")
    error: str | None = Field(
        default=None,
        description="allowed calls that failed: aws_error, cli_error, deadline_exceeded, busy, internal_error",
    )
    service: str | None = None
    operation: str | None = None
    region: str | None = None
    output_format: str | None = None
    exit_status: int | None = Field(default=None, description="the CLI's exit status (0 on success)")
    output: str = Field(default="", description="what the AWS CLI prints on stdout")
    stderr: str = ""
    truncated: bool = Field(default=False, description="the output budget cut the answer")
    item_count: int | None = Field(default=None, description="items of the paginated result shown")
    next_token: str | None = Field(default=None, description="pass as --starting-token to continue")
    request_ids: list[str] = Field(default_factory=list, description="AWS request ids")
    aws_error_code: str | None = None
    call_id: str = ""
    duration_ms: int = 0

    @property
    def is_error(self) -> bool:
        return self.decision == "denied" or self.error is not None or self.exit_status not in (0, None)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()
