"""estat-aws-mcp: an MCP server for Japan's official statistics (e-Stat API 3.0) and a guarded AWS CLI."""

__version__ = "0.1.0"
