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
