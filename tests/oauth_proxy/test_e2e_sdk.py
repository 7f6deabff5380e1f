"""End to end: the MCP Python SDK's own OAuth client signs in through the proxy at a real OpenID Provider.

The SDK is given nothing but the MCP endpoint URL. Its path: 401 with ``resource_metadata`` →
Protected Resource Metadata → the proxy's authorization server metadata → dynamic registration →
``/authorize`` (the test's browser consents at the proxy and signs in at ``oidc-provider`` on
127.0.0.1) → ``/callback`` → ``/token`` → ``tools/list`` and a tool call with the provider's JWT
access token, validated by the server against the provider's issuer and JWKS → the access token
expires (the provider issues short-lived ones) → the SDK refreshes through the proxy → another call.
Through ``serve --http`` the same client then signs in again in the same browser: its approval is
remembered, so no consent page is shown.

Once through ``estat-aws-mcp serve --http`` (real uvicorn in a subprocess) and once through the
Lambda handler behind the project's Function URL emulator. Nothing secret (codes, verifiers,
access or refresh tokens) may appear in the server's logs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import boto3
import httpx
import pytest

from tests.fakes.fake_estat import FakeEstat
from tests.fakes.moto_server import MotoServer
from tests.lambda_handler.function_url import FunctionUrlEmulator, rie_invoker
from tests.lambda_handler.rie import REPO_ROOT, EmulatorUnavailable, RuntimeEmulator, rie_binary
from tests.lambda_handler.task_root import runtime_layer
from tests.oauth_proxy.flow import UPSTREAM_CLIENT_ID, provider_for, query_of
from tests.oauth_proxy.oidc_upstream import OidcProvider, ProviderUnavailable
from tests.oauth_proxy.sdk_client import (
    RecordingStorage,
    SdkRun,
    list_tools_through_the_proxy,
    session_through_the_proxy,
)
from tests.processes import free_port, serve_http

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

APP_ID = "e2e-oauth-app-id-3f9a"
ACCESS_TOKEN_TTL_S = 6
SEARCH = "令和2年国勢調査の男女別人口"


@pytest.fixture(scope="module")
def fake_estat(estat_fixtures_dir: Path) -> Iterator[FakeEstat]:
    with FakeEstat(app_id=APP_ID, fixtures_dir=estat_fixtures_dir) as fake:
        yield fake


@contextlib.contextmanager
def running_provider(base_url: str) -> Iterator[OidcProvider]:
    provider = provider_for(base_url, access_token_ttl=ACCESS_TOKEN_TTL_S)
    try:
        provider.start()
    except ProviderUnavailable as reason:
        pytest.skip(str(reason))
    try:
        yield provider
    finally:
        provider.stop()


def oauth_env(base_url: str, provider: OidcProvider, fake: FakeEstat, tmp_path: Path) -> dict[str, str]:
    """oauth mode with the proxy: the provider is both the token issuer and the proxy's upstream."""
    return {
        "ESTAT_API_BASE_URL": fake.base_url,
        "ESTAT_APP_ID": APP_ID,
        "ESTAT_MCP_STORAGE_URI": str(tmp_path / "data"),
        "ESTAT_MCP_LOG_LEVEL": "DEBUG",
        "ESTAT_MCP_AUTH_MODE": "oauth",
        "ESTAT_MCP_PUBLIC_URL": base_url,
        "ESTAT_MCP_OAUTH_ISSUER": provider.issuer,
        "ESTAT_MCP_OAUTH_CLIENT_IDS": UPSTREAM_CLIENT_ID,
        "ESTAT_MCP_OAUTH_REQUIRED_SCOPES": "mcp-server/tools",
        "ESTAT_MCP_OAUTH_UPSTREAM_ISSUER": provider.issuer,
        "ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID": UPSTREAM_CLIENT_ID,
    }


def secrets_of(run: SdkRun) -> list[str]:
    """Every code, verifier and token of the run (from what the SDK stored and sent, and the browser's hops)."""
    found: list[str] = []
    for tokens in run.storage.token_history:
        found += [tokens.access_token, tokens.refresh_token or ""]
    for hop in run.browser.hops:
        found.append(query_of(hop).get("code", ""))
    found += run.token_forms
    return [value for value in found if len(value) >= 16]


def check_run(run: SdkRun, seen: dict, mcp_url: str, base_url: str) -> None:
    assert run.sign_ins == 1, "one interactive sign-in, then only refreshes"
    assert {"search_estat_data", "describe_estat_table"} <= seen["tools"]
    for result in (seen["first"], seen["second"]):
        assert not result.isError, result.content
        assert result.structuredContent["results"][0]["stats_data_id"] == "0003433219"
    assert seen["refreshed"], "the SDK did not refresh the expired access token"
    assert run.storage.token_history[-1].access_token != run.storage.token_history[0].access_token
    # The discovery path the SDK took, from the server URL alone.
    urls = run.requests
    assert urls[0] == f"POST {mcp_url}"
    assert any(u.startswith(f"GET {base_url}/.well-known/oauth-protected-resource") for u in urls)
    assert f"GET {base_url}/.well-known/oauth-authorization-server" in urls
    assert f"POST {base_url}/register" in urls
    assert urls.count(f"POST {base_url}/token") >= 2  # the code, then the refresh
    assert run.storage.client is not None and run.storage.client.client_id.startswith("mcp-")


def assert_no_secret_in(log: str, run: SdkRun) -> None:
    assert log.strip(), "the server should have logged something"
    assert "oauth token" in log
    for secret in secrets_of(run):
        assert secret not in log, "a code, verifier or token reached the server's log"
    assert APP_ID not in log


def serve_env(env: dict[str, str]) -> dict[str, str]:
    """The child's environment: ``env`` over PATH, HOME, LANG and the source under test (a worktree's too)."""
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return {**base, "PYTHONPATH": str(REPO_ROOT / "src"), **env}


async def test_sdk_signs_in_through_serve_http(fake_estat: FakeEstat, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve-http.log"
    with (
        running_provider(base_url) as provider,
        serve_http(serve_env(oauth_env(base_url, provider, fake_estat, tmp_path)), log_path, port=port),
    ):
        # Unauthenticated: refused with the pointer to the metadata, as the SDK expects.
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"{base_url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        assert (
            f'resource_metadata="{base_url}/.well-known/oauth-protected-resource' in refused.headers["www-authenticate"]
        )
        run = SdkRun()
        with anyio.fail_after(120):
            seen = await session_through_the_proxy(run, f"{base_url}/mcp", SEARCH)
        # The same client signs in again later (its registration kept, its tokens gone) in the same browser:
        # the approval is remembered, so the browser goes straight to the provider without a consent page.
        again = SdkRun(storage=RecordingStorage(client=run.storage.client), browser=run.browser)
        with anyio.fail_after(60):
            tools = await list_tools_through_the_proxy(again, f"{base_url}/mcp")
    check_run(run, seen, f"{base_url}/mcp", base_url)
    assert "search_estat_data" in tools
    assert again.sign_ins == 1 and f"POST {base_url}/register" not in again.requests
    assert (run.browser.consents_shown, run.browser.consents_skipped) == (1, 1)
    assert_no_secret_in(log_path.read_text(), run)
    assert_no_secret_in(log_path.read_text(), again)


@pytest.mark.lambda_e2e
@pytest.mark.timeout(300)
async def test_sdk_signs_in_through_the_lambda_function_url(
    fake_estat: FakeEstat, moto_server: MotoServer, tmp_path: Path, lambda_task_root: Path
) -> None:
    """The handler as the image runs it (task root, ``aws-lambda-rie``, ``awslambdaric``) behind the Function
    URL emulator (AuthType NONE); the proxy keeps its state in DynamoDB (moto's server)."""
    try:
        rie_binary()
    except EmulatorUnavailable as reason:
        pytest.skip(str(reason))
    moto_server.reset()
    table = "estat-mcp-oauth-e2e"
    dynamodb = boto3.client(
        "dynamodb",
        region_name="ap-northeast-1",
        endpoint_url=moto_server.url,
        **{"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"},
    )
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def not_deployed_yet(_event: dict) -> tuple[int, bytes]:
        return 502, b"{}"

    url = FunctionUrlEmulator(not_deployed_yet).start()  # its address is the public URL the function needs
    base_url = url.url
    rie = None
    try:
        with running_provider(base_url) as provider:
            env = {
                **moto_server.env(),
                **oauth_env(base_url, provider, fake_estat, tmp_path),
                "ESTAT_MCP_OAUTH_STATE_TABLE": table,
            }
            rie = RuntimeEmulator(lambda_task_root, runtime_layer(), env, tmp_path / "rie.log").start()
            url.invoke = rie_invoker(rie.url)
            run = SdkRun()
            with anyio.fail_after(180):
                seen = await session_through_the_proxy(run, url.mcp_url, SEARCH)
        check_run(run, seen, url.mcp_url, base_url)
        stored = dynamodb.scan(TableName=table)["Items"]
        assert stored and all("expires_at" in item for item in stored)
        records = [item for item in stored if item["pk"]["S"].startswith("oauth#")]
        counters = [item for item in stored if item["pk"]["S"].startswith("ratelimit#")]
        assert records and len(records) + len(counters) == len(stored)
        # The SDK's registration was counted in the table (shared by all containers), not in the process.
        assert [item["count"]["N"] for item in counters] == ["1"]
        assert_no_secret_in(rie.log_path.read_text(errors="replace"), run)
    finally:
        url.stop()
        if rie is not None:
            rie.stop()
