"""One logging configuration (ESTAT_MCP_LOG_LEVEL) for every estat_aws_mcp logger; the start-up line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.logs import PACKAGE_LOGGER, configure_logging, log_level

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _serve_stdio(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m estat_aws_mcp`` with stdin closed at once (the server starts, then ends)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ESTAT_")}
    environ.update(PYTHONPATH=SRC, **env)
    return subprocess.run(
        [sys.executable, "-m", "estat_aws_mcp"],
        cwd=tmp_path,
        env=environ,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("value", ["LOUD", "", "info please"])
def test_an_invalid_level_is_a_configuration_error_naming_the_setting(value: str) -> None:
    with pytest.raises(ConfigurationError, match="ESTAT_MCP_LOG_LEVEL"):
        log_level(value)


def test_the_cli_refuses_an_invalid_level_without_a_traceback(tmp_path: Path) -> None:
    completed = _serve_stdio(tmp_path, ESTAT_MCP_LOG_LEVEL="LOUD")
    assert completed.returncode == 2
    assert "ESTAT_MCP_LOG_LEVEL='LOUD' is not a log level" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_the_lambda_handler_refuses_an_invalid_level() -> None:
    from estat_aws_mcp.lambda_handler.app import build_function_url_handler
    from estat_aws_mcp.settings import Settings

    with pytest.raises(ConfigurationError, match="ESTAT_MCP_LOG_LEVEL"):
        build_function_url_handler(Settings(ESTAT_MCP_LOG_LEVEL="verbose"))


def test_info_lines_pass_under_a_warning_root_logger() -> None:
    """As under the Lambda runtime: root at WARNING; the package's INFO lines still reach the handler."""
    root = logging.getLogger()
    package = logging.getLogger(PACKAGE_LOGGER)
    saved = (root.level, package.level, package.propagate, list(package.handlers))
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    try:
        root.setLevel(logging.WARNING)
        configure_logging("info", handler=Collect())
        logging.getLogger("estat_aws_mcp.awscli.audit").info("allowed call")
        logging.getLogger("estat_aws_mcp.sql").debug("not at INFO")
        assert [r.getMessage() for r in records] == ["allowed call"]
    finally:
        root.setLevel(saved[0])
        package.setLevel(saved[1])
        package.propagate = saved[2]
        package.handlers[:] = saved[3]


def test_start_up_logs_the_absolute_store_path(tmp_path: Path) -> None:
    completed = _serve_stdio(tmp_path, ESTAT_MCP_STORAGE_URI="./relative-store")
    assert completed.returncode == 0, completed.stderr
    assert f"dataset store: {tmp_path.resolve() / 'relative-store'}" in completed.stderr
