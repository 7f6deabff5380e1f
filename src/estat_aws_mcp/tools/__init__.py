"""MCP tool surface: thin, typed tool functions over the tested core packages."""
