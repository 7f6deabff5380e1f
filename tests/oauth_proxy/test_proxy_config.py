"""Building the proxy from the settings, and what it does when the provider cannot be reached."""

from __future__ import annotations

import re

import pytest

from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.oauth_proxy.core import CONSENT_COOKIE, AuthorizationProxy, ProxyConfig, s256
from estat_aws_mcp.oauth_proxy.routes import build_proxy, build_store, proxy_routes
from estat_aws_mcp.oauth_proxy.store import DynamoDbStateStore, SqliteStateStore
from estat_aws_mcp.oauth_proxy.upstream import UpstreamProvider
from estat_aws_mcp.settings import Settings
from tests.processes import free_port

BASE = {
    "ESTAT_MCP_AUTH_MODE": "oauth",
    "ESTAT_MCP_PUBLIC_URL": "https://mcp.example.com/",
    "ESTAT_MCP_OAUTH_ISSUER": "https://issuer.example.com",
    "ESTAT_MCP_OAUTH_CLIENT_IDS": "proxy-client",
    "ESTAT_MCP_OAUTH_REQUIRED_SCOPES": "mcp-server/tools",
    "ESTAT_MCP_OAUTH_UPSTREAM_ISSUER": "https://issuer.example.com",
    "ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID": "proxy-client",
}


def settings(tmp_path, **extra: str) -> Settings:
    return Settings(**{**BASE, "ESTAT_MCP_STORAGE_URI": str(tmp_path / "data"), **extra})


def test_the_proxy_from_the_settings(tmp_path) -> None:
    proxy = build_proxy(settings(tmp_path))
    assert proxy.config.issuer == "https://mcp.example.com"
    assert proxy.config.resource == "https://mcp.example.com/mcp"
    assert proxy.config.upstream_scopes == "openid mcp-server/tools"
    assert proxy.metadata()["token_endpoint"] == "https://mcp.example.com/token"
    assert isinstance(proxy.store, SqliteStateStore)
    assert proxy.store.path == tmp_path / "data" / "oauth-proxy.sqlite3"


def test_the_store_the_settings_choose(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert isinstance(build_store(settings(tmp_path, ESTAT_MCP_OAUTH_STATE_TABLE="t")), DynamoDbStateStore)
    path = tmp_path / "elsewhere.sqlite3"
    assert build_store(settings(tmp_path, ESTAT_MCP_OAUTH_STATE_PATH=str(path))).path == path
    with pytest.raises(ConfigurationError, match="ESTAT_MCP_OAUTH_STATE_TABLE"):
        build_store(settings(tmp_path, ESTAT_MCP_STORAGE_URI="s3://bucket/prefix"))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "estat-aws-mcp")
    with pytest.raises(ConfigurationError, match="On AWS Lambda"):
        build_store(settings(tmp_path))  # containers do not share /tmp


def test_missing_upstream_client_id_is_a_configuration_error(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID"):
        build_proxy(settings(tmp_path, ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID=""))


def test_an_unreachable_provider_is_a_clear_page_not_a_crash(tmp_path) -> None:
    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proxy = AuthorizationProxy(
        ProxyConfig("https://mcp.example.com", "https://mcp.example.com/mcp", ("mcp-server/tools",), "openid"),
        SqliteStateStore(tmp_path / "s.sqlite3"),
        UpstreamProvider(issuer, "proxy-client", timeout_s=2),
    )
    registered = proxy.register({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"})
    client_id = __import__("json").loads(registered.body)["client_id"]
    page = proxy.authorize(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "http://127.0.0.1:9/cb",
            "code_challenge": s256("v" * 43),
            "code_challenge_method": "S256",
        }
    )
    transaction = re.search(r"name='transaction' value='([^']+)'", page.body).group(1)
    (cookie,) = page.cookies
    browser = cookie.split(";")[0].split("=", 1)[1]
    answer = proxy.consent({"transaction": transaction, "decision": "approve"}, {CONSENT_COOKIE: browser})
    assert answer.status == 502
    assert "cannot be reached" in answer.body


@pytest.mark.anyio
async def test_registrations_are_limited_per_address(tmp_path) -> None:
    import httpx
    from starlette.applications import Starlette

    proxy = build_proxy(settings(tmp_path))
    body = {"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}
    app = Starlette(routes=proxy_routes(proxy, registrations_per_minute=3))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as client:
        codes = [(await client.post("/register", json=body)).status_code for _ in range(3)]
        refused = await client.post("/register", json=body)
    assert codes == [201, 201, 201]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.anyio
async def test_registrations_are_limited_across_containers_with_a_dynamodb_table(tmp_path, dynamodb_table) -> None:
    """Two containers (two proxies built from the same settings) share the state table on moto: together
    they accept ``registrations_per_minute`` from one address, not that many each."""
    import time

    import anyio
    import httpx
    from starlette.applications import Starlette

    from estat_aws_mcp.auth.ratelimit import DynamoDbWindows, TokenBuckets
    from estat_aws_mcp.aws.clients import aws_client
    from estat_aws_mcp.oauth_proxy.routes import registration_limiter

    if 60 - time.time() % 60 < 5:  # the counters are per minute: do not straddle one's end
        await anyio.sleep(60 - time.time() % 60 + 0.1)
    containers = []
    for _ in range(2):
        proxy = build_proxy(settings(tmp_path, ESTAT_MCP_OAUTH_STATE_TABLE=dynamodb_table))
        containers.append(Starlette(routes=proxy_routes(proxy, registrations_per_minute=3)))
    body = {"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}

    async def register(app: Starlette, address: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="https://mcp.example.com") as client:
            return await client.post("/register", json=body)

    first, second = containers
    codes = [(await register(app, "203.0.113.7")).status_code for app in (first, second, first)]
    assert codes == [201, 201, 201]
    for app in (second, first):
        refused = await register(app, "203.0.113.7")
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert (await register(second, "198.51.100.4")).status_code == 201  # another address counts alone
    counters = [
        item
        for item in aws_client("dynamodb").scan(TableName=dynamodb_table)["Items"]
        if item["pk"]["S"].startswith("ratelimit#")
    ]
    assert sorted(int(item["count"]["N"]) for item in counters) == [1, 3]
    assert all("203.0.113.7" not in item["pk"]["S"] and "expires_at" in item for item in counters)
    shared = registration_limiter(proxy.store, 3)
    assert isinstance(shared, DynamoDbWindows) and shared.table == "oauth-state"
    assert isinstance(registration_limiter(SqliteStateStore(tmp_path / "s.sqlite3"), 3), TokenBuckets)


def test_a_confidential_upstream_client_with_its_secret_in_ssm(tmp_path, aws_env, caplog) -> None:
    """The provider's client is confidential (HTTP Basic); the proxy reads the secret from an SSM
    SecureString (moto) on the first token request and never logs it."""
    import logging

    from starlette.applications import Starlette

    from estat_aws_mcp.aws.clients import aws_client
    from estat_aws_mcp.aws.ssm import clear_cache
    from tests.oauth_proxy.flow import UPSTREAM_CLIENT_ID, Browser, provider_for, query_of, uvicorn_server
    from tests.oauth_proxy.oidc_upstream import ProviderUnavailable

    secret = "upstream-client-secret-7d1f0c9e4b2a"
    aws_client("ssm").put_parameter(Name="/estat-mcp/oauth-secret", Type="SecureString", Value=secret)
    caplog.set_level(logging.DEBUG)  # from here on: the proxy's reads and requests
    clear_cache()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = provider_for(base, client_secret=secret)
    try:
        provider.start()
    except ProviderUnavailable as reason:
        pytest.skip(str(reason))
    try:
        proxy = build_proxy(
            settings(
                tmp_path,
                ESTAT_MCP_PUBLIC_URL=base,
                ESTAT_MCP_OAUTH_UPSTREAM_ISSUER=provider.issuer,
                ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID=UPSTREAM_CLIENT_ID,
                ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_SECRET_SSM_PARAMETER="/estat-mcp/oauth-secret",
            )
        )
        redirect = "http://127.0.0.1:33418/callback"
        with uvicorn_server(Starlette(routes=proxy_routes(proxy)), port):
            import httpx

            client_id = httpx.post(
                f"{base}/register", json={"redirect_uris": [redirect], "token_endpoint_auth_method": "none"}
            ).json()["client_id"]
            verifier = "v" * 50
            params = {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "state": "s",
                "code_challenge": s256(verifier),
                "code_challenge_method": "S256",
            }
            final = Browser().authorize(str(httpx.URL(f"{base}/authorize", params=params)), redirect)
            form = {
                "grant_type": "authorization_code",
                "code": query_of(final)["code"],
                "redirect_uri": redirect,
                "client_id": client_id,
                "code_verifier": verifier,
            }
            tokens = httpx.post(f"{base}/token", data=form, timeout=15)
    finally:
        provider.stop()
        clear_cache()
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "Bearer"
    leaks = [(r.name, r.threadName) for r in caplog.records if secret in f"{r.getMessage()} {r.__dict__}"]
    assert not leaks, leaks


# SYNTHETIC: discovery documents shaped like a Cognito user pool's (issuer and endpoint forms from AWS's
# documentation), not recorded from a real pool.
COGNITO_ISSUER = "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_Example1"
COGNITO_DOMAIN = "https://estat-mcp-example.auth.ap-northeast-1.amazoncognito.com"


def cognito_document(**extra: str) -> dict:
    return {
        "issuer": COGNITO_ISSUER,
        "authorization_endpoint": f"{COGNITO_DOMAIN}/oauth2/authorize",
        "token_endpoint": f"{COGNITO_DOMAIN}/oauth2/token",
        "jwks_uri": f"{COGNITO_ISSUER}/.well-known/jwks.json",
        **extra,
    }


def test_the_revocation_endpoint_advertised_or_cognitos_documented_one() -> None:
    from estat_aws_mcp.oauth_proxy.upstream import metadata_from_document

    assert metadata_from_document(COGNITO_ISSUER, cognito_document()).revocation_endpoint == (
        f"{COGNITO_DOMAIN}/oauth2/revoke"
    )
    advertised = cognito_document(revocation_endpoint="https://elsewhere.example/revoke")
    assert metadata_from_document(COGNITO_ISSUER, advertised).revocation_endpoint == "https://elsewhere.example/revoke"
    no_domain = cognito_document(token_endpoint=f"{COGNITO_ISSUER}/token")
    assert metadata_from_document(COGNITO_ISSUER, no_domain).revocation_endpoint is None
    other = {**cognito_document(), "issuer": "https://login.example.com"}
    assert metadata_from_document("https://login.example.com", other).revocation_endpoint is None
    with pytest.raises(ConfigurationError, match="another issuer"):
        metadata_from_document("https://login.example.com", cognito_document())
