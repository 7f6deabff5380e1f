"""The authorization proxy over HTTP (uvicorn) in front of a real OpenID Provider (oidc-provider on 127.0.0.1).

The whole flow (registration → consent → sign-in → callback → token → refresh) and each refusal:
wrong redirect_uri, PKCE missing/mismatched, replayed code (and the revocation of what it
produced, with the proxy's state in SQLite and in DynamoDB on moto), replayed/forged state, consent
or callback from another browser, metadata documents on private addresses, refresh tokens of
another client. No code, state, verifier or token ever reaches a log line.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from estat_aws_mcp.oauth_proxy.cimd import ClientMetadataFetcher
from estat_aws_mcp.oauth_proxy.core import APPROVALS_COOKIE, AuthorizationProxy, ProxyConfig, s256, unseal
from estat_aws_mcp.oauth_proxy.routes import proxy_routes
from estat_aws_mcp.oauth_proxy.store import DynamoDbStateStore, SqliteStateStore
from estat_aws_mcp.oauth_proxy.upstream import UpstreamProvider
from tests.fakes.moto_server import FAKE_AWS_ENV, MotoServer
from tests.oauth_proxy.flow import UPSTREAM_CLIENT_ID, Browser, provider_for, query_of, uvicorn_server
from tests.oauth_proxy.oidc_upstream import ProviderUnavailable
from tests.oauth_proxy.tls_server import TlsServer
from tests.processes import free_port

CLIENT_REDIRECT = "http://127.0.0.1:33418/callback"
CIMD_HOST = "mcp-client.test"


@dataclass
class Stack:
    base: str
    upstream_issuer: str
    http: httpx.Client
    cimd_base: str  # a second proxy (same provider and store) that may fetch metadata documents from loopback
    document_url: str  # a Client ID Metadata Document on a local HTTPS server
    dynamodb_port: int  # a third proxy's port (the provider knows its callback): see the dynamodb_stack fixture
    proxy: AuthorizationProxy  # the one serving ``base``


def proxy_config(url: str) -> ProxyConfig:
    return ProxyConfig(
        issuer=url,
        resource=f"{url}/mcp",
        scopes_supported=("mcp-server/tools",),
        upstream_scopes="openid mcp-server/tools",
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    port, cimd_port, dynamodb_port = free_port(), free_port(), free_port()
    base, cimd_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{cimd_port}"
    provider = provider_for(
        base, extra_redirects=[f"{cimd_base}/callback", f"http://127.0.0.1:{dynamodb_port}/callback"]
    )
    try:
        provider.start()
    except ProviderUnavailable as reason:
        pytest.skip(str(reason))
    store = SqliteStateStore(tmp_path_factory.mktemp("oauth") / "state.sqlite3")

    def proxy_at(url: str, fetcher: ClientMetadataFetcher | None = None) -> AuthorizationProxy:
        upstream = UpstreamProvider(provider.issuer, UPSTREAM_CLIENT_ID)
        return AuthorizationProxy(proxy_config(url), store, upstream, fetcher)

    tls = TlsServer(CIMD_HOST, {}).start()
    document_url = tls.url("/client.json")
    document = {
        "client_id": document_url,
        "client_name": "Metadata document client",
        "redirect_uris": [CLIENT_REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    tls.routes["/client.json"] = lambda _p: (200, {"Content-Type": "application/json"}, json.dumps(document).encode())
    # The real fetcher, told that the document's host is this machine and that loopback is fine here.
    loopback = ClientMetadataFetcher(
        resolver=lambda host, port: ["127.0.0.1"],
        address_allowed=lambda address: address.is_loopback,
        verify=tls.client_context(),
    )
    main = proxy_at(base)
    try:
        with (
            uvicorn_server(Starlette(routes=proxy_routes(main, registrations_per_minute=1000)), port),
            uvicorn_server(Starlette(routes=proxy_routes(proxy_at(cimd_base, loopback))), cimd_port),
            httpx.Client(base_url=base, timeout=15) as http,
        ):
            yield Stack(base, provider.issuer, http, cimd_base, document_url, dynamodb_port, main)
    finally:
        tls.stop()
        provider.stop()


@pytest.fixture(scope="module")
def dynamodb_stack(stack: Stack, moto_server: MotoServer) -> Iterator[Stack]:
    """The same flow through a proxy that keeps its state in DynamoDB (moto's server)."""
    import boto3

    credentials = {
        "aws_access_key_id": FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": FAKE_AWS_ENV["AWS_SESSION_TOKEN"],
    }
    client = boto3.client("dynamodb", region_name="ap-northeast-1", endpoint_url=moto_server.url, **credentials)
    table = f"oauth-flow-{secrets.token_hex(4)}"
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    base = f"http://127.0.0.1:{stack.dynamodb_port}"
    proxy = AuthorizationProxy(
        proxy_config(base),
        DynamoDbStateStore(table, client=client),
        UpstreamProvider(stack.upstream_issuer, UPSTREAM_CLIENT_ID),
    )
    with (
        uvicorn_server(Starlette(routes=proxy_routes(proxy)), stack.dynamodb_port),
        httpx.Client(base_url=base, timeout=15) as http,
    ):
        yield dataclasses.replace(stack, base=base, http=http, proxy=proxy)


@pytest.fixture(params=["sqlite", "dynamodb"])
def either_stack(request: pytest.FixtureRequest, stack: Stack) -> Stack:
    return stack if request.param == "sqlite" else request.getfixturevalue("dynamodb_stack")


@pytest.fixture
def secrets_seen() -> list[str]:
    return []


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture, secrets_seen: list[str]) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    # The server's lines (uvicorn's thread and its workers); the test's own HTTP client runs in the main thread.
    server_records = [r for r in caplog.get_records("call") if r.threadName != "MainThread"]
    if secrets_seen:
        assert any(r.name == "estat_aws_mcp.oauth_proxy" for r in server_records)
    for secret in secrets_seen:
        leaks = [r.getMessage()[:300] for r in server_records if secret in f"{r.getMessage()} {r.__dict__}"]
        assert not leaks, f"a code, state, verifier or token reached a log line: {leaks}"


def register(stack: Stack, **metadata) -> dict:
    body = {"redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "none", "client_name": "Test client"}
    response = stack.http.post("/register", json={**body, **metadata})
    assert response.status_code == 201, response.text
    return response.json()


def authorize_url(stack: Stack, client_id: str, challenge: str, state: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CLIENT_REDIRECT,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "mcp-server/tools",
        "resource": f"{stack.base}/mcp",
        **extra,
    }
    return str(httpx.URL(f"{stack.base}/authorize", params=params))


def signed_in_code(
    stack: Stack, client_id: str, secrets_seen: list[str], browser: Browser | None = None
) -> tuple[str, str, Browser]:
    """(proxy code, client verifier, the browser) after a complete interactive sign-in (in a new browser)."""
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    browser = browser or Browser()
    final = browser.authorize(authorize_url(stack, client_id, s256(verifier), state), CLIENT_REDIRECT)
    answer = query_of(final)
    assert answer["state"] == state
    assert answer["iss"] == stack.base
    secrets_seen.extend([verifier, answer["code"], *[query_of(h).get("code", "") for h in browser.hops]])
    secrets_seen[:] = [s for s in secrets_seen if s]
    return answer["code"], verifier, browser


def redeem(stack: Stack, client_id: str, code: str, verifier: str, **extra: str) -> httpx.Response:
    return stack.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CLIENT_REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": f"{stack.base}/mcp",
            **extra,
        },
    )


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_metadata(stack: Stack) -> None:
    metadata = stack.http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == stack.base
    assert metadata["authorization_endpoint"] == f"{stack.base}/authorize"
    assert metadata["token_endpoint"] == f"{stack.base}/token"
    assert metadata["registration_endpoint"] == f"{stack.base}/register"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["scopes_supported"] == ["mcp-server/tools"]


def test_the_whole_flow_hands_the_provider_tokens_through_and_refreshes(stack: Stack, secrets_seen) -> None:
    client = register(stack)
    code, verifier, browser = signed_in_code(stack, client["client_id"], secrets_seen)
    hops = browser.hops
    assert hops[0].startswith(f"{stack.upstream_issuer}/auth?")  # consent → provider
    upstream_request = query_of(hops[0])
    assert upstream_request["client_id"] == UPSTREAM_CLIENT_ID
    assert upstream_request["code_challenge_method"] == "S256"
    assert upstream_request["redirect_uri"] == f"{stack.base}/callback"
    assert any(h.startswith(f"{stack.base}/callback?") for h in hops)

    response = redeem(stack, client["client_id"], code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    secrets_seen.extend([tokens["access_token"], tokens["refresh_token"]])
    assert tokens["token_type"] == "Bearer"
    assert "id_token" not in tokens
    access = claims(tokens["access_token"])
    assert access["iss"] == stack.upstream_issuer
    assert access["client_id"] == UPSTREAM_CLIENT_ID
    assert access["aud"] == f"{stack.base}/mcp"
    assert "mcp-server/tools" in access["scope"].split()
    assert access["sub"] == "analyst@example.com"

    refreshed = stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client["client_id"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    again = refreshed.json()
    secrets_seen.extend([again["access_token"], again["refresh_token"]])
    assert again["access_token"] != tokens["access_token"]
    assert claims(again["access_token"])["sub"] == "analyst@example.com"

    # The provider rotated the refresh token: the spent one is refused.
    replay = stack.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client["client_id"],
        },
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_a_replayed_code_is_refused(stack: Stack, secrets_seen) -> None:
    client = register(stack)
    code, verifier, _ = signed_in_code(stack, client["client_id"], secrets_seen)
    first = redeem(stack, client["client_id"], code, verifier)
    assert first.status_code == 200
    secrets_seen.extend([first.json()["access_token"], first.json()["refresh_token"]])
    second = redeem(stack, client["client_id"], code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def refresh(stack: Stack, client_id: str, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return stack.http.post("/token", data=data)


def refresh_at_the_provider(stack: Stack, refresh_token: str) -> httpx.Response:
    """The refresh token redeemed at the provider itself, as the proxy's client: does the provider still honour it?"""
    discovery = httpx.get(f"{stack.upstream_issuer}/.well-known/openid-configuration", timeout=10).json()
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": UPSTREAM_CLIENT_ID}
    return httpx.post(discovery["token_endpoint"], data=data, timeout=10)


def signed_in_tokens(stack: Stack, client_id: str, secrets_seen: list[str]) -> tuple[str, str, dict]:
    """(code, verifier, tokens) of a sign-in whose code was redeemed once."""
    code, verifier, _ = signed_in_code(stack, client_id, secrets_seen)
    first = redeem(stack, client_id, code, verifier)
    assert first.status_code == 200, first.text
    secrets_seen.extend([first.json()["access_token"], first.json()["refresh_token"]])
    return code, verifier, first.json()


def replay_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.get_records("call")
        if r.name == "estat_aws_mcp.oauth_proxy" and getattr(r, "outcome", "").startswith("code_replayed")
    ]


def test_a_replayed_code_revokes_the_refresh_token_it_produced(
    either_stack: Stack, secrets_seen, caplog: pytest.LogCaptureFixture
) -> None:
    stack = either_stack
    client = register(stack)["client_id"]
    _, _, kept = signed_in_tokens(stack, client, secrets_seen)  # a second sign-in, never replayed
    code, verifier, tokens = signed_in_tokens(stack, client, secrets_seen)

    replay = redeem(stack, client, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    refused = refresh(stack, client, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    at_provider = refresh_at_the_provider(stack, tokens["refresh_token"])
    assert at_provider.status_code == 400 and at_provider.json()["error"] == "invalid_grant", at_provider.text

    # The other sign-in is untouched, through the proxy and at the provider.
    renewed = refresh(stack, client, kept["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    secrets_seen.extend([renewed.json()["access_token"], renewed.json()["refresh_token"]])
    direct = refresh_at_the_provider(stack, renewed.json()["refresh_token"])
    assert direct.status_code == 200, direct.text
    secrets_seen.extend(value for key, value in direct.json().items() if key.endswith("token"))

    (line,) = replay_lines(caplog)
    assert line.levelno == logging.WARNING
    assert (line.client_id, line.issued_to, line.proxy_refresh) == (client, client, "refused")
    assert line.provider_revocation == "revoked"


def test_a_replay_after_a_refresh_revokes_the_rotated_refresh_token_too(stack: Stack, secrets_seen) -> None:
    client = register(stack)["client_id"]
    code, verifier, tokens = signed_in_tokens(stack, client, secrets_seen)
    rotated = refresh(stack, client, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()["refresh_token"]
    secrets_seen.extend([rotated.json()["access_token"], newest])
    assert newest != tokens["refresh_token"]

    assert redeem(stack, client, code, verifier).json()["error"] == "invalid_grant"

    refused = refresh(stack, client, newest)
    assert refused.status_code == 400 and "replayed" in refused.json()["error_description"]
    assert refresh_at_the_provider(stack, newest).json().get("error") == "invalid_grant"


def test_a_replay_by_another_client_revokes_too(stack: Stack, secrets_seen, caplog) -> None:
    client, thief = register(stack)["client_id"], register(stack)["client_id"]
    code, verifier, tokens = signed_in_tokens(stack, client, secrets_seen)
    assert redeem(stack, thief, code, verifier).json()["error"] == "invalid_grant"
    assert refresh(stack, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    (line,) = replay_lines(caplog)
    assert (line.client_id, line.issued_to) == (thief, client)


def test_the_refresh_token_is_kept_only_sealed_under_its_code(stack: Stack, secrets_seen) -> None:
    client = register(stack)["client_id"]
    code, _, tokens = signed_in_tokens(stack, client, secrets_seen)
    store = stack.proxy.store
    assert isinstance(store, SqliteStateStore)
    raw = b"".join(path.read_bytes() for path in store.path.parent.glob(f"{store.path.name}*"))
    for secret in (code, tokens["refresh_token"], tokens["access_token"]):
        assert secret.encode() not in raw
    sealed = store.get("issued", code)["refresh"]
    assert unseal(code, sealed) == tokens["refresh_token"]
    assert unseal(secrets.token_urlsafe(32), sealed) is None


class PausingUpstream(UpstreamProvider):
    """The real provider, with a pause after it answered a code: a replay can arrive in between."""

    def __init__(self, issuer: str, client_id: str) -> None:
        super().__init__(issuer, client_id)
        self.answered = threading.Event()
        self.resume = threading.Event()

    def token(self, form: dict[str, str]) -> dict:
        answer = super().token(form)
        if form["grant_type"] == "authorization_code":
            self.answered.set()
            assert self.resume.wait(30)
        return answer


def test_a_replay_during_the_first_redemption_makes_both_fail(
    stack: Stack, secrets_seen, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    client = register(stack)["client_id"]
    code, verifier, _ = signed_in_code(stack, client, secrets_seen)
    pausing = PausingUpstream(stack.upstream_issuer, UPSTREAM_CLIENT_ID)
    monkeypatch.setattr(stack.proxy, "upstream", pausing)
    first: list[httpx.Response] = []
    redemption = threading.Thread(target=lambda: first.append(redeem(stack, client, code, verifier)))
    redemption.start()
    try:
        assert pausing.answered.wait(30)
        replay = httpx.post(
            f"{stack.base}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CLIENT_REDIRECT,
                "client_id": client,
                "code_verifier": verifier,
            },
            timeout=15,
        )
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    finally:
        pausing.resume.set()
        redemption.join(30)
    (answer,) = first
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text
    outcomes = sorted(line.outcome for line in replay_lines(caplog))
    assert outcomes == ["code_replayed", "code_replayed_during_redemption"]
    revoked = [line for line in replay_lines(caplog) if line.provider_revocation == "revoked"]
    assert len(revoked) == 1  # the first redemption's own refresh token, revoked by itself


def test_a_pkce_mismatch_is_refused_and_spends_the_code(stack: Stack, secrets_seen) -> None:
    client = register(stack)
    code, verifier, _ = signed_in_code(stack, client["client_id"], secrets_seen)
    wrong = redeem(stack, client["client_id"], code, secrets_seen.append("w" * 50) or "w" * 50)
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": wrong.json()["error_description"]}
    assert "PKCE" in wrong.json()["error_description"]
    assert redeem(stack, client["client_id"], code, verifier).json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_client_and_redirect_uri(stack: Stack, secrets_seen) -> None:
    client = register(stack)
    other = register(stack)
    code, verifier, _ = signed_in_code(stack, client["client_id"], secrets_seen)
    assert redeem(stack, other["client_id"], code, verifier).json()["error"] == "invalid_grant"
    code, verifier, _ = signed_in_code(stack, client["client_id"], secrets_seen)
    mismatch = redeem(stack, client["client_id"], code, verifier, redirect_uri="http://127.0.0.1:1/other")
    assert mismatch.json()["error"] == "invalid_grant"


def test_a_refresh_token_works_only_for_the_client_it_was_issued_to(stack: Stack, secrets_seen) -> None:
    client = register(stack)
    other = register(stack)
    code, verifier, _ = signed_in_code(stack, client["client_id"], secrets_seen)
    tokens = redeem(stack, client["client_id"], code, verifier).json()
    secrets_seen.extend([tokens["access_token"], tokens["refresh_token"]])
    stolen = stack.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": other["client_id"]},
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_a_wrong_redirect_uri_is_refused_without_redirecting(stack: Stack) -> None:
    client = register(stack)
    url = authorize_url(
        stack, client["client_id"], s256("v" * 43), "s", redirect_uri="http://127.0.0.1:33418/callback/"
    )
    response = stack.http.get(url)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "must match exactly" in response.text


def test_pkce_is_required_and_only_s256(stack: Stack) -> None:
    client = register(stack)
    for extra in ({"code_challenge": ""}, {"code_challenge_method": "plain"}):
        url = authorize_url(stack, client["client_id"], s256("v" * 43), "st", **extra)
        response = stack.http.get(url)
        assert response.status_code == 302
        answer = query_of(response.headers["location"])
        assert answer["error"] == "invalid_request"
        assert answer["state"] == "st"


def test_another_resource_is_refused(stack: Stack) -> None:
    client = register(stack)
    url = authorize_url(stack, client["client_id"], s256("v" * 43), "st", resource="https://elsewhere.example/mcp")
    assert query_of(stack.http.get(url).headers["location"])["error"] == "invalid_target"


def test_forged_and_replayed_state_are_refused(stack: Stack, secrets_seen) -> None:
    forged = stack.http.get("/callback", params={"code": "anything", "state": "forged-state"})
    assert forged.status_code == 400
    assert "unknown, expired or already used" in forged.text

    client = register(stack)
    _, _, browser = signed_in_code(stack, client["client_id"], secrets_seen)
    (callback,) = [h for h in browser.hops if h.startswith(f"{stack.base}/callback?")]
    secrets_seen.append(query_of(callback)["state"])
    replayed = browser.http.get(callback)
    assert replayed.status_code == 400
    assert "unknown, expired or already used" in replayed.text


def test_the_callback_must_come_back_to_the_browser_that_consented(stack: Stack, secrets_seen) -> None:
    client = register(stack)
    verifier = secrets.token_urlsafe(48)
    browser = Browser()
    page = browser.consent_page(authorize_url(stack, client["client_id"], s256(verifier), "st"))
    login = browser.approve(page, CLIENT_REDIRECT)
    final = browser.sign_in(login, f"{stack.base}/callback")
    assert isinstance(final, str)
    secrets_seen.extend([query_of(final)["code"], query_of(final)["state"]])
    elsewhere = httpx.get(final, timeout=10)  # no cookie: another browser
    assert elsewhere.status_code == 400
    assert "did not come back to the browser" in elsewhere.text


def test_consent_needs_the_consenting_browser_and_can_be_refused(stack: Stack) -> None:
    client = register(stack)
    browser = Browser()
    page = browser.consent_page(authorize_url(stack, client["client_id"], s256("v" * 43), "st"))
    transaction = page.text.split("name='transaction' value='")[1].split("'")[0]
    csrf = httpx.post(f"{stack.base}/authorize", data={"transaction": transaction, "decision": "approve"}, timeout=10)
    assert csrf.status_code == 400  # no consent cookie: the transaction is spent and refused
    page = browser.consent_page(authorize_url(stack, client["client_id"], s256("v" * 43), "st2"))
    assert page.headers["x-frame-options"] == "DENY"
    denied = browser.approve(page, CLIENT_REDIRECT, decision="deny")
    assert query_of(denied) == {"error": "access_denied", "state": "st2", "iss": stack.base}


def test_a_returning_browser_skips_consent_for_the_same_client_redirect_uri_and_scope_only(
    stack: Stack, secrets_seen
) -> None:
    other_redirect = "http://127.0.0.1:33419/callback"
    client = register(stack, redirect_uris=[CLIENT_REDIRECT, other_redirect])["client_id"]
    browser = Browser()
    code, verifier, _ = signed_in_code(stack, client, secrets_seen, browser)
    assert (browser.consents_shown, browser.consents_skipped) == (1, 0)
    (cookie,) = [c for c in browser.set_cookies if c.startswith(f"{APPROVALS_COOKIE}=")]
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert {"Path", "Max-Age", "HttpOnly", "SameSite"} <= attributes and "Secure" not in attributes  # http loopback
    assert "Path=/authorize" in cookie and f"Max-Age={30 * 86400}" in cookie and "SameSite=Lax" in cookie
    assert redeem(stack, client, code, verifier).status_code == 200

    # The same client, redirect URI and scope in the same browser: no page, and the sign-in still works.
    code, verifier, _ = signed_in_code(stack, client, secrets_seen, browser)
    assert (browser.consents_shown, browser.consents_skipped) == (1, 1)
    tokens = redeem(stack, client, code, verifier)
    assert tokens.status_code == 200, tokens.text
    secrets_seen.extend([tokens.json()["access_token"], tokens.json()["refresh_token"]])

    def shows_consent(url: str, who: Browser = browser) -> bool:
        page = who.consent_page(url)
        assert page.status_code in (200, 302), page.text[:300]
        return page.status_code == 200 and "name='transaction'" in page.text

    challenge = s256(secrets.token_urlsafe(48))
    assert not shows_consent(authorize_url(stack, client, challenge, "s1"))
    assert shows_consent(authorize_url(stack, client, challenge, "s1", prompt="consent"))  # asked for anyway
    # Anything else still asks: another client, another redirect URI, another scope, another browser.
    other_client = register(stack)["client_id"]
    assert shows_consent(authorize_url(stack, other_client, challenge, "s2"))
    assert shows_consent(authorize_url(stack, client, challenge, "s3", redirect_uri=other_redirect))
    assert shows_consent(authorize_url(stack, client, challenge, "s4", scope="mcp-server/tools offline_access"))
    assert shows_consent(authorize_url(stack, client, challenge, "s5"), Browser())
    # A browser id that was never issued (or was forged) is worth nothing.
    forged = Browser()
    forged.http.cookies.set(APPROVALS_COOKIE, secrets.token_urlsafe(32), domain="127.0.0.1", path="/authorize")
    assert shows_consent(authorize_url(stack, client, challenge, "s6"), forged)


@pytest.mark.parametrize("remember_days", [30, 0])
def test_approval_cookie_attributes_and_remembering_off(stack: Stack, tmp_path, remember_days: int) -> None:
    """Behind https the approvals cookie is Secure; with ESTAT_MCP_OAUTH_CONSENT_REMEMBER_DAYS=0 there is none."""
    from estat_aws_mcp.oauth_proxy.core import CONSENT_COOKIE
    from estat_aws_mcp.oauth_proxy.routes import build_proxy
    from estat_aws_mcp.settings import Settings

    settings = Settings(
        ESTAT_MCP_AUTH_MODE="oauth",
        ESTAT_MCP_PUBLIC_URL="https://mcp.example.com",
        ESTAT_MCP_OAUTH_ISSUER=stack.upstream_issuer,
        ESTAT_MCP_OAUTH_CLIENT_IDS=UPSTREAM_CLIENT_ID,
        ESTAT_MCP_OAUTH_UPSTREAM_ISSUER=stack.upstream_issuer,
        ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID=UPSTREAM_CLIENT_ID,
        ESTAT_MCP_OAUTH_STATE_PATH=str(tmp_path / "state.sqlite3"),
        ESTAT_MCP_OAUTH_CONSENT_REMEMBER_DAYS=str(remember_days),
    )
    proxy = build_proxy(settings)
    registered = json.loads(
        proxy.register({"redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "none"}).body
    )
    query = {
        "response_type": "code",
        "client_id": registered["client_id"],
        "redirect_uri": CLIENT_REDIRECT,
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
    }

    def consent_then_approve(cookies: dict[str, str]) -> list[str]:
        page = proxy.authorize(query, cookies)
        assert page.status == 200
        transaction = page.body.split("name='transaction' value='")[1].split("'")[0]
        browser = page.cookies[0].split(";")[0].split("=", 1)[1]
        answer = proxy.consent(
            {"transaction": transaction, "decision": "approve"}, {**cookies, CONSENT_COOKIE: browser}
        )
        assert answer.status == 302 and answer.headers["Location"].startswith(stack.upstream_issuer)
        return [c for c in answer.cookies if c.startswith(f"{APPROVALS_COOKIE}=")]

    approvals = consent_then_approve({})
    if remember_days == 0:
        assert approvals == []
        assert "remembers" not in proxy.authorize(query, {}).body
        return
    (cookie,) = approvals
    assert cookie.endswith("; Secure") and f"Max-Age={remember_days * 86400}" in cookie
    browser_id = cookie.split(";")[0].split("=", 1)[1]
    assert proxy.authorize(query, {APPROVALS_COOKIE: browser_id}).status == 302
    assert proxy.authorize(query, {}).status == 200


def test_metadata_documents_on_private_addresses_are_refused(stack: Stack) -> None:
    for client_id in ("https://127.0.0.1/client.json", "https://localhost/client.json", "https://10.0.0.8/c.json"):
        url = authorize_url(stack, client_id, s256("v" * 43), "st")
        response = stack.http.get(url)
        assert response.status_code == 400, client_id
        assert "metadata document cannot be used" in response.text
        token = stack.http.post(
            "/token", data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": client_id}
        )
        assert token.status_code == 401 and token.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "metadata",
    [
        {"redirect_uris": ["http://evil.example/callback"]},
        {"redirect_uris": ["javascript:alert(1)"]},
        {"redirect_uris": ["https://ok.example/cb#frag"]},
        {"redirect_uris": []},
        {"token_endpoint_auth_method": "private_key_jwt"},
        {"grant_types": ["client_credentials"]},
    ],
)
def test_registration_refusals(stack: Stack, metadata: dict) -> None:
    body = {"redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "none", **metadata}
    response = stack.http.post("/register", json=body)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


def test_confidential_clients_authenticate(stack: Stack, secrets_seen) -> None:
    client = register(
        stack,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=["cursor://anysphere.cursor-retrieval/oauth/callback"],
    )
    secrets_seen.append(client["client_secret"])
    data = {"grant_type": "refresh_token", "refresh_token": "unknown"}
    anonymous = stack.http.post("/token", data={**data, "client_id": client["client_id"]})
    assert anonymous.status_code == 401
    wrong = stack.http.post("/token", data=data, auth=(client["client_id"], "wrong"))
    assert wrong.status_code == 401
    right = stack.http.post("/token", data=data, auth=(client["client_id"], client["client_secret"]))
    assert right.status_code == 400 and right.json()["error"] == "invalid_grant"  # authenticated; the token is bad


def test_unknown_clients_and_grants(stack: Stack) -> None:
    assert (
        stack.http.post("/token", data={"grant_type": "authorization_code", "client_id": "nobody"}).status_code == 401
    )
    client = register(stack)
    odd = stack.http.post("/token", data={"grant_type": "password", "client_id": client["client_id"]})
    assert odd.json()["error"] == "unsupported_grant_type"
    repeated = stack.http.post(
        "/token", content="grant_type=a&grant_type=b", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert repeated.status_code == 400
    assert stack.http.post("/register", content=b"{" * 70000).status_code == 400


def test_a_client_id_metadata_document_client_signs_in_without_registering(stack: Stack, secrets_seen) -> None:
    client_id = stack.document_url
    verifier = secrets.token_urlsafe(48)
    browser = Browser()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CLIENT_REDIRECT,
        "state": "cimd-state",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    page = browser.consent_page(str(httpx.URL(f"{stack.cimd_base}/authorize", params=params)))
    assert page.status_code == 200 and "Metadata document client" in page.text and "metadata document" in page.text
    login = browser.approve(page, CLIENT_REDIRECT)
    final = browser.sign_in(login, CLIENT_REDIRECT)
    answer = query_of(final)
    assert answer["state"] == "cimd-state"
    secrets_seen.extend([verifier, answer["code"]])
    tokens = httpx.post(
        f"{stack.cimd_base}/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": CLIENT_REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        },
        timeout=15,
    )
    assert tokens.status_code == 200, tokens.text
    secrets_seen.extend([tokens.json()["access_token"], tokens.json()["refresh_token"]])
    assert claims(tokens.json()["access_token"])["sub"] == "analyst@example.com"

    # The document's redirect_uris are matched exactly.
    other = {**params, "redirect_uri": "http://127.0.0.1:33419/callback"}
    elsewhere = httpx.get(f"{stack.cimd_base}/authorize", params=other, timeout=15)
    assert elsewhere.status_code == 400 and "must match exactly" in elsewhere.text


def test_registration_keeps_only_the_grants_this_server_offers(stack: Stack) -> None:
    """VS Code asks for the device-code grant too: it is registered without it rather than refused."""
    device = "urn:ietf:params:oauth:grant-type:device_code"
    client = register(stack, grant_types=["authorization_code", "refresh_token", device], response_types=["code"])
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    assert client["response_types"] == ["code"]
