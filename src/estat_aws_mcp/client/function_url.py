"""Connect an MCP ``ClientSession`` to the server's Lambda Function URL.

``AuthType = AWS_IAM``: every request is signed with SigV4 for service ``lambda`` through the
adapter's client (``mcp_lambda.client.streamable_http_sigv4``, which wraps
``mcp-proxy-for-aws``); credentials come from the standard chain or a named profile, the region
from the URL (``https://<id>.lambda-url.<region>.on.aws/``) unless given. ``AuthType = NONE``:
plain streamable HTTP, with ``Authorization: Bearer <token>`` when the function requires a token.

The read timeout is at least the function's timeout (default: Lambda's maximum, 900 s) so a long
tool call is never abandoned by the client while the function is still working on it.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from mcp import ClientSession
from mcp.shared.exceptions import McpError

# Lambda's maximum timeout: a function never runs longer than this.
LAMBDA_MAX_TIMEOUT_S = 900.0
CONNECT_TIMEOUT_S = 10.0
# Beyond the function's own timeout: the Function URL's overhead and the network.
READ_MARGIN_S = 15.0
_FUNCTION_URL_HOST = re.compile(r"^[a-z0-9]+\.lambda-url\.(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)\.on\.aws$")


class ClientConfigurationError(ValueError):
    """The connection cannot be set up as asked (no region, no credentials, conflicting auth)."""


def function_url_region(url: str) -> str | None:
    """The region of a Function URL (``https://<id>.lambda-url.<region>.on.aws/``), else None."""
    match = _FUNCTION_URL_HOST.match((urlsplit(url).hostname or "").lower())
    return match["region"] if match else None


def http_timeout(function_timeout_s: float) -> httpx.Timeout:
    read = max(function_timeout_s, 1.0) + READ_MARGIN_S
    return httpx.Timeout(connect=CONNECT_TIMEOUT_S, read=read, write=60.0, pool=CONNECT_TIMEOUT_S)


def aws_credentials(profile: str | None = None) -> Any:
    """Credentials from a named profile or the standard chain (env, SSO, role...), or an error saying so."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    # botocore may notice a missing profile when the session is built or only when credentials resolve.
    try:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
        credentials = session.get_credentials()
    except ProfileNotFound as error:
        raise ClientConfigurationError(str(error)) from None
    if credentials is None:
        where = f"profile '{profile}'" if profile else "the standard chain (env, ~/.aws, SSO, instance role)"
        raise ClientConfigurationError(f"No AWS credentials found in {where}.")
    return credentials


def resolve_region(url: str, region: str | None = None, profile: str | None = None) -> str:
    """The given region, else the URL's, else ``AWS_REGION``, else the profile's / ``AWS_DEFAULT_REGION``."""
    if region:
        return region
    from_url = function_url_region(url)
    if from_url:
        return from_url
    if os.environ.get("AWS_REGION"):
        return os.environ["AWS_REGION"]
    import boto3

    configured = (boto3.Session(profile_name=profile) if profile else boto3.Session()).region_name
    if configured:
        return configured
    raise ClientConfigurationError(
        "Cannot tell the Function URL's region: pass region=... (CLI: --region) or set AWS_REGION."
    )


@asynccontextmanager
async def connect_function_url(
    url: str,
    *,
    iam: bool = True,
    token: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    credentials: Any = None,
    function_timeout_s: float = LAMBDA_MAX_TIMEOUT_S,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[ClientSession]:
    """An initialised ``ClientSession`` for ``url``; signed with SigV4 when ``iam`` is true.

    ``token`` sends ``Authorization: Bearer`` (NONE-auth URLs only: with IAM that header carries
    the signature). ``credentials`` (botocore credentials) override ``profile`` and the chain.
    """
    timeout = http_timeout(function_timeout_s)
    extra_headers = dict(headers or {})

    def client_factory(
        headers: dict[str, str] | None = None, timeout: Any = None, auth: httpx.Auth | None = None
    ) -> httpx.AsyncClient:
        # Our timeout, not the wrapper's single number (which would also make connects wait 900 s).
        return httpx.AsyncClient(headers=headers, timeout=http_timeout(function_timeout_s), auth=auth)

    if iam:
        if token:
            raise ClientConfigurationError(
                "A bearer token cannot be sent to an AWS_IAM Function URL: the Authorization header carries the SigV4 signature."
            )
        from mcp_lambda.client.streamable_http_sigv4 import streamablehttp_client_with_sigv4

        transport = streamablehttp_client_with_sigv4(
            url=url,
            credentials=credentials or aws_credentials(profile),
            service="lambda",
            region=resolve_region(url, region, profile),
            headers=extra_headers or None,
            timeout=timeout.read or LAMBDA_MAX_TIMEOUT_S,
            httpx_client_factory=client_factory,
        )
    else:
        from mcp.client.streamable_http import streamable_http_client

        if token:
            extra_headers["Authorization"] = f"Bearer {token}"
        http_client = client_factory(headers=extra_headers or None)
        http_client.event_hooks.setdefault("response", []).append(_raise_readable_http_error)
        transport = _owning(streamable_http_client(url, http_client=http_client), http_client)

    try:
        async with transport as (read_stream, write_stream, _get_session_id):
            session = ClientSession(
                read_stream, write_stream, read_timeout_seconds=timedelta(seconds=timeout.read or 0)
            )
            async with session:
                await session.initialize()
                yield session
    except BaseExceptionGroup as group:
        # Task groups (the transport's, the session's) wrap one failure; hand the caller that failure.
        leaf = _single_failure(group)
        if leaf is None:
            raise
        raise _as_http_error(leaf) from None
    except McpError as error:
        raise _as_http_error(error) from None


def _single_failure(group: BaseExceptionGroup) -> BaseException | None:
    import anyio

    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        elif not isinstance(current, anyio.get_cancelled_exc_class() | GeneratorExit):
            leaves.append(current)
    return leaves[0] if len(leaves) == 1 else None


def _as_http_error(error: BaseException) -> BaseException:
    """The SigV4 client reports an HTTP refusal as an McpError whose code is the HTTP status."""
    if isinstance(error, McpError) and 400 <= error.error.code < 600:
        return FunctionUrlHTTPError(error.error.code, error.error.message)
    return error


@asynccontextmanager
async def _owning(transport: Any, http_client: httpx.AsyncClient) -> AsyncIterator[Any]:
    async with http_client, transport as streams:
        yield streams


class FunctionUrlHTTPError(RuntimeError):
    """The Function URL answered with an HTTP error (401 token, 403 signature, 5xx)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(
            f"HTTP {status} from the Function URL: {detail}" if detail else f"HTTP {status} from the Function URL"
        )
        self.status = status


async def _raise_readable_http_error(response: httpx.Response) -> None:
    """mcp 1.x turns a non-2xx POST into a hung request; fail the request clearly instead."""
    if response.request.method != "POST" or response.status_code < 400 or response.status_code == 404:
        return
    await response.aread()
    detail = response.text.strip()[:300]
    challenge = response.headers.get("www-authenticate")
    if challenge:
        detail = f"{detail} (WWW-Authenticate: {challenge})"
    raise FunctionUrlHTTPError(response.status_code, detail)
