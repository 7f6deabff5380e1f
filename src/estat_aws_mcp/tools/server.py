"""Builds the one MCP server object that every transport serves (stdio, HTTP, Lambda in-process).

Each concern registers its tools from its own module (``register(mcp)``); registration only
declares functions, so building the server imports no heavy library.
"""

from __future__ import annotations

import importlib

from estat_aws_mcp import __version__
from estat_aws_mcp.sdk import set_server_version
from estat_aws_mcp.tools.error_codes import correct_error_codes
from estat_aws_mcp.tools.template import EstatMCP

SERVER_NAME = "estat-aws-mcp"

INSTRUCTIONS = (
    "Japan's official statistics (e-Stat API 3.0) and a guarded, read-only AWS CLI. "
    "Search tables with search_estat_data, read their axes with describe_estat_table, fetch them into the "
    "dataset store with the fetch_* tools (they return a dataset_id; small results also come back inline, and "
    "an unchanged table already in the store is reused), convert or load them (CSV, Parquet, Iceberg), and "
    "query loaded tables with analyze_with_athena or draw them with chart_dataset (PNG charts, prefecture "
    "maps). list_datasets / delete_dataset manage the store; datasets are also resources (estat://datasets/{dataset_id}); the prompt analyze_estat_statistics walks through a "
    "whole analysis. e-Stat data shown to users must carry the credit notice returned with it."
)

# Modules under estat_aws_mcp.tools that expose ``register(mcp: FastMCP) -> None`` (the template:
# :mod:`estat_aws_mcp.tools.template`).
TOOL_MODULES: tuple[str, ...] = (
    "dataset_files",
    "estat_search",
    "estat_describe",
    "estat_files",
    "aws_cli",
    "dataset_fetch",
    "analytics",
    "dataset_store",
    "resources",
    "charts",
)


def build_server(*, host: str = "127.0.0.1", port: int = 8080) -> EstatMCP:
    """Create the server with every tool registered (stateless, JSON responses over HTTP; strict tool
    inputs, see :mod:`estat_aws_mcp.tools.template`)."""
    mcp = EstatMCP(
        SERVER_NAME,
        instructions=INSTRUCTIONS,
        host=host,
        port=port,
        stateless_http=True,
        json_response=True,
    )
    set_server_version(mcp, __version__)
    for name in TOOL_MODULES:
        importlib.import_module(f"estat_aws_mcp.tools.{name}").register(mcp)
    correct_error_codes(mcp)  # JSON-RPC codes the SDK gets wrong (unknown tool/prompt/resource)
    return mcp
