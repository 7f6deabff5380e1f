"""The OAuth 2.1 authorization proxy for MCP clients in front of an OpenID Provider (Cognito by default).

See :mod:`.core` for the flow and the token decision, :mod:`.routes` for the endpoints, :mod:`.store`
for the short-lived state (SQLite or DynamoDB) and :mod:`.cimd` for Client ID Metadata Documents.
"""
