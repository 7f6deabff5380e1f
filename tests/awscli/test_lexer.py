"""The lexer splits like a POSIX shell and refuses what a shell would interpret."""

from __future__ import annotations

import pytest

from estat_aws_mcp.awscli.denial import Denied
from estat_aws_mcp.awscli.lexer import split_command


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("aws logs describe-log-groups", ["aws", "logs", "describe-log-groups"]),
        ("  aws   logs  describe-log-groups  ", ["aws", "logs", "describe-log-groups"]),
        ("--filter-pattern 'ERROR timeout'", ["--filter-pattern", "ERROR timeout"]),
        ('--filter-pattern "ERROR timeout"', ["--filter-pattern", "ERROR timeout"]),
        ("--filter-pattern '\"Task timed out\"'", ["--filter-pattern", '"Task timed out"']),
        ('--filter-pattern "\\"Task timed out\\""', ["--filter-pattern", '"Task timed out"']),
        ("--filter-pattern '{ $.level = \"ERROR\" }'", ["--filter-pattern", '{ $.level = "ERROR" }']),
        ("--query 'logGroups[*].logGroupName'", ["--query", "logGroups[*].logGroupName"]),
        ("--query logGroups[].logGroupName", ["--query", "logGroups[].logGroupName"]),
        ("--log-group-name=/aws/lambda/x", ["--log-group-name=/aws/lambda/x"]),
        ('--filter-pattern="a b"', ["--filter-pattern=a b"]),
        ("a'b'\"c\"d", ["abcd"]),
        ("--filter-pattern ''", ["--filter-pattern", ""]),
        ('--x "back\\\\slash"', ["--x", "back\\slash"]),
        ('--x "keep \\n literal"', ["--x", "keep \\n literal"]),
        ("--filter-pattern エラー　タイムアウト", ["--filter-pattern", "エラー　タイムアウト"]),
        ("--x a#b", ["--x", "a#b"]),
        ("--x 'a;b|c&d<e>f(g)h$i`j'", ["--x", "a;b|c&d<e>f(g)h$i`j"]),
    ],
)
def test_splits_like_a_shell(command: str, words: list[str]) -> None:
    assert split_command(command) == words


@pytest.mark.parametrize("char", list(";|&<>()$`"))
def test_every_shell_operator_outside_quotes_is_refused(char: str) -> None:
    with pytest.raises(Denied) as denied:
        split_command(f"aws logs describe-log-groups --x a{char}b")
    assert denied.value.rule == "shell_syntax"
