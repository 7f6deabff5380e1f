"""Deployment errors: messages say what is missing and the command that fixes it (never a secret)."""

from __future__ import annotations

from estat_aws_mcp.errors import ConfigurationError


class DeployError(ConfigurationError):
    """The deployment cannot go on; the message is written for the person running it."""


class PreflightError(DeployError):
    """One or more prerequisites are missing; ``problems`` lists each with its fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"cannot deploy yet, {len(self.problems)} problem(s):\n{lines}")
