"""Fixtures shared by the OAuth proxy tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def dynamodb_table(aws_env) -> Iterator[str]:
    """The proxy's state table (codes, clients, rate-limit windows) on moto, with its TTL attribute."""
    from estat_aws_mcp.aws.clients import aws_client

    client = aws_client("dynamodb")
    client.create_table(
        TableName="oauth-state",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName="oauth-state", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    yield "oauth-state"
