"""Client side of the Lambda deployment: an MCP session over a Function URL (SigV4 or bearer token)."""

from estat_aws_mcp.client.function_url import (
    ClientConfigurationError,
    FunctionUrlHTTPError,
    connect_function_url,
    function_url_region,
)

__all__ = ["ClientConfigurationError", "FunctionUrlHTTPError", "connect_function_url", "function_url_region"]
