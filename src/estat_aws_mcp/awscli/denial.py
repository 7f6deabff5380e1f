"""The one exception every guard raises: a named rule and a short hint that is safe to show."""

from __future__ import annotations


class Denied(Exception):
    """A command refused before (or instead of) running; ``rule`` names the check that fired."""

    def __init__(self, rule: str, hint: str) -> None:
        super().__init__(f"{rule}: {hint}")
        self.rule = rule
        self.hint = hint
        # Where known (set by the validator): the service and operation words, for the audit line.
        self.service: str | None = None
        self.operation: str | None = None
