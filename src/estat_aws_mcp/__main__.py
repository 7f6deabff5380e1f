"""`python -m estat_aws_mcp`: the MCP server over stdio (Cursor/Claude command configs, Lambda stdio adapter)."""

from estat_aws_mcp.cli import main

if __name__ == "__main__":
    main(["serve", "--stdio"])
