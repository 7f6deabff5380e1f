"""A store folder that cannot be created is a clear configuration error for every tool, even
``SELECT 1`` (issue 15 item 13)."""

from __future__ import annotations

import anyio
import pytest

from estat_aws_mcp.tools import analytics, dataset_files
from tests.tools.mcp_calls import call_tool, error_text, server_with


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("analyze_with_athena", {"sql": "SELECT 1"}),
        ("save_dataset_as_csv", {"dataset_id": "0003445078-0123456789ab"}),
    ],
)
def test_unusable_store_names_setting_and_path(tool: str, arguments: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", "/proc/x")
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    result = anyio.run(call_tool, server_with(analytics, dataset_files), tool, arguments)
    text = error_text(result)
    assert "ESTAT_MCP_STORAGE_URI" in text and "/proc/x" in text, text
    assert "[Errno" not in text
