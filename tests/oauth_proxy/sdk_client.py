"""The MCP Python SDK's own OAuth client (``OAuthClientProvider``) signing in through the proxy.

Given nothing but the MCP endpoint URL, the SDK finds everything itself (401 → Protected Resource
Metadata → authorization server metadata → dynamic registration → authorize → token). Only the
browser is played by the test: the SDK's ``redirect_handler`` hands the authorization URL to a
:class:`~tests.oauth_proxy.flow.Browser` that consents and signs in over HTTP, and its
``callback_handler`` returns the code and state the browser was redirected with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import anyio
import httpx
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from tests.oauth_proxy.flow import Browser, query_of

CLIENT_REDIRECT = "http://127.0.0.1:33418/callback"


@dataclass
class RecordingStorage(TokenStorage):
    tokens: OAuthToken | None = None
    client: OAuthClientInformationFull | None = None
    token_history: list[OAuthToken] = field(default_factory=list)

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.token_history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class SdkRun:
    """What one run saw: sign-ins through the browser, the stored tokens, every URL the SDK fetched."""

    storage: RecordingStorage = field(default_factory=RecordingStorage)
    browser: Browser = field(default_factory=Browser)
    sign_ins: int = 0
    requests: list[str] = field(default_factory=list)
    token_forms: list[str] = field(default_factory=list)  # values the SDK posted to /token (codes, verifiers, tokens)

    def provider(self, mcp_url: str) -> OAuthClientProvider:
        final: dict[str, str] = {}

        async def redirect_handler(authorization_url: str) -> None:
            self.sign_ins += 1
            final["url"] = await anyio.to_thread.run_sync(self.browser.authorize, authorization_url, CLIENT_REDIRECT)

        async def callback_handler() -> tuple[str, str | None]:
            answer = query_of(final.pop("url"))
            return answer["code"], answer.get("state")

        return OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=OAuthClientMetadata(
                client_name="estat-aws-mcp e2e (MCP Python SDK)",
                redirect_uris=[CLIENT_REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=self.storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )

    def http_client(self, mcp_url: str) -> httpx.AsyncClient:
        async def record(request: httpx.Request) -> None:
            self.requests.append(f"{request.method} {request.url.copy_with(query=None)}")
            if request.method == "POST" and request.url.path.endswith("/token"):
                form = dict(parse_qsl(request.content.decode()))
                self.token_forms += [form.get(k, "") for k in ("code", "code_verifier", "refresh_token")]

        # 120 s: through the Lambda, the first request carries the function's cold start (the RIE counts the
        # handler's import inside the invocation); the callers bound the whole session anyway.
        return httpx.AsyncClient(auth=self.provider(mcp_url), timeout=120, event_hooks={"request": [record]})


async def session_through_the_proxy(run: SdkRun, mcp_url: str, search_query: str) -> dict:
    """Connect with the server URL only, list tools, call one, wait for the access token to expire,
    call again (the SDK refreshes); what was seen, for the caller's assertions."""
    async with (
        run.http_client(mcp_url) as http,
        streamable_http_client(mcp_url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        first = await session.call_tool("search_estat_data", {"query": search_query, "max_results": 3})
        tokens = run.storage.tokens
        assert tokens is not None and tokens.expires_in is not None
        issued = len(run.storage.token_history)
        # Past the access token's lifetime (the provider issues short ones): the SDK must refresh.
        await anyio.sleep(tokens.expires_in + 1.5)
        second = await session.call_tool("search_estat_data", {"query": search_query, "max_results": 3})
        refreshed = run.storage.token_history[issued:]
    return {"tools": tools, "first": first, "second": second, "refreshed": refreshed, "finished_at": time.time()}


async def list_tools_through_the_proxy(run: SdkRun, mcp_url: str) -> set[str]:
    """Connect (signing in if ``run.storage`` holds no tokens) and list the tools."""
    async with (
        run.http_client(mcp_url) as http,
        streamable_http_client(mcp_url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return {tool.name for tool in (await session.list_tools()).tools}
