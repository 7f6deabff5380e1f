"""Client ID Metadata Documents: the SSRF guards, the limits and the document rules, against a real HTTPS server."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator

import pytest

from estat_aws_mcp.oauth_proxy.cimd import (
    ClientMetadataError,
    ClientMetadataFetcher,
    check_document_url,
    public_address,
)
from tests.oauth_proxy.tls_server import TlsServer

HOST = "client.test"


def _json(document: object, **headers: str):
    body = json.dumps(document).encode()
    return lambda _path: (200, {"Content-Type": "application/json", **headers}, body)


@pytest.fixture(scope="module")
def server() -> Iterator[TlsServer]:
    server = TlsServer(HOST, {})
    server.start()
    base = f"https://{HOST}:{server.port}"
    server.routes.update(
        {
            "/client.json": _json(
                {
                    "client_id": f"{base}/client.json",
                    "client_name": "Example client",
                    "redirect_uris": ["http://127.0.0.1:3333/callback"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "token_endpoint_auth_method": "none",
                }
            ),
            "/big.json": _json(
                {"client_id": f"{base}/big.json", "redirect_uris": ["https://a.example/cb"], "pad": "x" * 6000}
            ),
            "/big-unannounced.json": lambda _p: (
                200,
                {"Content-Type": "application/json", "X-Omit-Length": "1"},
                b'{"pad": "' + b"x" * 20000 + b'"}',
            ),
            "/redirect.json": lambda _p: (302, {"Location": f"{base}/client.json"}, b""),
            "/other-id.json": _json({"client_id": f"{base}/client.json", "redirect_uris": ["https://a.example/cb"]}),
            "/secret.json": _json(
                {
                    "client_id": f"{base}/secret.json",
                    "redirect_uris": ["https://a.example/cb"],
                    "token_endpoint_auth_method": "client_secret_basic",
                }
            ),
            "/no-redirects.json": _json({"client_id": f"{base}/no-redirects.json"}),
            "/not-json.json": lambda _p: (200, {"Content-Type": "application/json"}, b"<html>"),
        }
    )
    yield server
    server.stop()


def loopback_fetcher(server: TlsServer, **kwargs) -> ClientMetadataFetcher:
    """The real fetcher, told that ``client.test`` is at 127.0.0.1 and that loopback is acceptable here."""
    return ClientMetadataFetcher(
        resolver=lambda host, port: ["127.0.0.1"] if host == HOST else [],
        address_allowed=lambda address: address.is_loopback,
        verify=server.client_context(),
        **kwargs,
    )


def test_a_valid_document_is_fetched_once_and_cached(server: TlsServer) -> None:
    fetcher = loopback_fetcher(server)
    first = fetcher.get(server.url("/client.json"))
    assert first.redirect_uris == ("http://127.0.0.1:3333/callback",)
    assert first.client_name == "Example client"
    assert fetcher.get(server.url("/client.json")) == first
    assert fetcher.fetches == 1


def test_the_tls_certificate_is_checked_against_the_host_name(server: TlsServer) -> None:
    fetcher = ClientMetadataFetcher(
        resolver=lambda host, port: ["127.0.0.1"],
        address_allowed=lambda address: address.is_loopback,
        verify=True,  # the system trust store does not know the test CA
    )
    with pytest.raises(ClientMetadataError, match="could not be fetched"):
        fetcher.get(server.url("/client.json"))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/big.json", "larger than"),
        ("/big-unannounced.json", "larger than"),
        ("/redirect.json", "HTTP 302"),
        ("/other-id.json", "not its own URL"),
        ("/secret.json", "public client"),
        ("/no-redirects.json", "redirect_uris"),
        ("/not-json.json", "not JSON"),
        ("/missing.json", "HTTP 404"),
    ],
)
def test_unusable_documents_are_refused(server: TlsServer, path: str, message: str) -> None:
    with pytest.raises(ClientMetadataError, match=message):
        loopback_fetcher(server).get(server.url(path))


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["172.16.0.9"],
        ["192.168.1.1"],
        ["169.254.169.254"],  # instance metadata
        ["100.64.0.1"],  # shared address space
        ["0.0.0.0"],
        ["::1"],
        ["fe80::1"],
        ["fd00::1"],
        ["::ffff:127.0.0.1"],
        ["::ffff:169.254.169.254"],
        ["2002:7f00:1::1"],  # 6to4 wrapping 127.0.0.1
        ["64:ff9b::a00:1"],  # NAT64 wrapping 10.0.0.1
        ["93.184.215.14", "10.0.0.1"],  # one private answer is enough to refuse
        ["224.0.0.1"],
    ],
)
def test_hosts_resolving_to_non_public_addresses_are_refused_before_any_connection(addresses: list[str]) -> None:
    connections: list[str] = []
    fetcher = ClientMetadataFetcher(resolver=lambda host, port: connections.append(host) or addresses)
    with pytest.raises(ClientMetadataError, match="not public"):
        fetcher.get("https://attacker.example/client.json")
    assert fetcher.fetches == 0


@pytest.mark.parametrize(
    "client_id",
    ["https://127.0.0.1/client.json", "https://[::1]/client.json", "https://169.254.169.254/latest/meta-data/x"],
)
def test_address_literals_are_checked_too(client_id: str) -> None:
    with pytest.raises(ClientMetadataError, match="not public"):
        ClientMetadataFetcher().get(client_id)


def test_localhost_is_refused_after_real_resolution() -> None:
    with pytest.raises(ClientMetadataError, match=r"not public|does not resolve"):
        ClientMetadataFetcher().get("https://localhost/client.json")


@pytest.mark.parametrize(
    "client_id",
    [
        "http://client.example/client.json",
        "https://client.example",
        "https://client.example/",
        "https://user:pw@client.example/client.json",
        "https://client.example/a/../client.json",
        "https://client.example/client.json#frag",
        "ftp://client.example/client.json",
    ],
)
def test_url_shape_rules(client_id: str) -> None:
    with pytest.raises(ClientMetadataError):
        check_document_url(client_id)


def test_public_addresses_are_accepted() -> None:
    assert public_address(ipaddress.ip_address("93.184.215.14"))
    assert public_address(ipaddress.ip_address("2606:4700::6810:84e5"))
    assert not public_address(ipaddress.ip_address("::ffff:10.0.0.1"))
