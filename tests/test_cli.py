"""The command line's usage errors and plain-text help."""

from __future__ import annotations

import pytest

from estat_aws_mcp.cli import main, plain_text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--http", "--port", "99999"], "99999 is not a port number (0-65535)"),
        (["serve", "--http", "--port", "-1"], "-1 is not a port number"),
        (["serve", "--http", "--port", "http"], "'http' is not a port number"),
        (["serve", "--stdio", "--port", "9000"], "--host and --port apply to --http only"),
        (["serve", "--port", "9000"], "--host and --port apply to --http only"),  # stdio is the default
        (["serve", "--stdio", "--host", "0.0.0.0"], "--host and --port apply to --http only"),
    ],
)
def test_usage_errors_not_tracebacks(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage: estat-aws-mcp serve" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["client", "--help"], ["deploy", "--help"]])
def test_help_is_plain_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr().out
    assert out.startswith("usage: estat-aws-mcp")
    assert "``" not in out and ":func:" not in out and ":class:" not in out and ":mod:" not in out


def test_plain_text_strips_roles_and_literals() -> None:
    assert plain_text("run ``serve --http``; see :func:`~estat_aws_mcp.cli.main` and :mod:`a.b`") == (
        "run serve --http; see main and a.b"
    )
