"""Helpers for driving sign-ins over HTTP: a uvicorn server in a thread and a cookie-keeping "browser"."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.oauth_proxy.oidc_upstream import OidcProvider
from tests.processes import serving

USER_EMAIL = "analyst@example.com"
USER_PASSWORD = "correct horse battery staple"
UPSTREAM_CLIENT_ID = "estat-mcp-proxy"


def provider_for(
    base_url: str,
    *,
    access_token_ttl: int = 300,
    extra_redirects: list[str] | None = None,
    client_secret: str | None = None,
) -> OidcProvider:
    """An oidc-provider with the proxy at ``base_url`` as its client (public, or confidential with
    ``client_secret``, HTTP Basic) and one user."""
    client: dict = {
        "client_id": UPSTREAM_CLIENT_ID,
        "token_endpoint_auth_method": "none",
        "redirect_uris": [f"{base_url}/callback", *(extra_redirects or [])],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    }
    if client_secret:
        client.update(token_endpoint_auth_method="client_secret_basic", client_secret=client_secret)
    return OidcProvider(
        clients=[client],
        resource=f"{base_url}/mcp",
        access_token_ttl=access_token_ttl,
        users={USER_EMAIL: USER_PASSWORD},
    )


def uvicorn_server(app, port: int) -> contextlib.AbstractContextManager[str]:
    """The proxy's routes served on ``port`` (known before the server starts: the provider needs the redirect URI)."""
    return serving(app, port=port, log_level="warning")


_TRANSACTION = re.compile(r"name='transaction' value='([^']+)'")
_LOGIN_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


class Browser:
    """Follows redirects by hand (to see every hop) and keeps cookies, as a browser would."""

    def __init__(self) -> None:
        self.set_cookies: list[str] = []  # every Set-Cookie header received, in order
        self.http = httpx.Client(
            timeout=15,
            follow_redirects=False,
            event_hooks={
                "response": [lambda response: self.set_cookies.extend(response.headers.get_list("set-cookie"))]
            },
        )
        self.hops: list[str] = []
        self.consents_shown = 0
        self.consents_skipped = 0

    def close(self) -> None:
        self.http.close()

    def follow(self, response: httpx.Response, stop_prefix: str) -> httpx.Response | str:
        """Follow redirects; the URL once one points at ``stop_prefix`` (the client's redirect URI)."""
        for _ in range(20):
            if response.status_code not in (301, 302, 303, 307):
                return response
            location = urljoin(str(response.url), response.headers["location"])
            self.hops.append(location)
            if location.startswith(stop_prefix):
                return location
            response = self.http.get(location)
        raise AssertionError("too many redirects")

    def consent_page(self, authorize_url: str) -> httpx.Response:
        return self.http.get(authorize_url)

    def approve(self, page: httpx.Response, stop_prefix: str, decision: str = "approve") -> httpx.Response | str:
        match = _TRANSACTION.search(page.text)
        assert match, page.text[:500]
        action = str(page.url).split("?")[0]
        response = self.http.post(action, data={"transaction": match.group(1), "decision": decision})
        return self.follow(response, stop_prefix)

    def sign_in(
        self, login_page: httpx.Response, stop_prefix: str, email: str = USER_EMAIL, password: str = USER_PASSWORD
    ) -> httpx.Response | str:
        match = _LOGIN_ACTION.search(login_page.text)
        assert match, login_page.text[:500]
        response = self.http.post(
            urljoin(str(login_page.url), match.group(1)), data={"email": email, "password": password}
        )
        return self.follow(response, stop_prefix)

    def authorize(self, authorize_url: str, stop_prefix: str) -> str:
        """The whole interactive part: consent at the proxy (unless this browser approved the same request
        before), sign-in at the provider (unless it has a session there); the client's redirect URL."""
        page = self.consent_page(authorize_url)
        if page.status_code == 302:  # a remembered approval: straight on to the provider
            self.consents_skipped += 1
            login = self.follow(page, stop_prefix)
        else:
            assert page.status_code == 200, (page.status_code, page.headers.get("location"), page.text[:500])
            self.consents_shown += 1
            login = self.approve(page, stop_prefix)
        if isinstance(login, str):  # the provider remembered the user as well
            return login
        assert login.status_code == 200, login
        final = self.sign_in(login, stop_prefix)
        assert isinstance(final, str), final.text[:500] if isinstance(final, httpx.Response) else final
        return final


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
