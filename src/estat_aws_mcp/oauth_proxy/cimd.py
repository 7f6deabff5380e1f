"""Client ID Metadata Documents: a ``client_id`` that is an HTTPS URL names its own registration.

The document is fetched from a URL the *caller* chose, so the fetch is guarded against server-side
request forgery:

- the URL must be ``https`` with a host and a path, no credentials, fragment or dot segments;
- the host is resolved once, and every address must be public (no private, loopback, link-local,
  shared, reserved, multicast or unspecified address, IPv4-mapped/6to4/Teredo/NAT64 forms
  included); the connection then goes to the checked address (TLS still verifies the host name),
  so a second DNS answer cannot redirect it (DNS rebinding);
- redirects are not followed; the answer must be ``200`` JSON of at most :data:`MAX_DOCUMENT_BYTES`,
  read within :data:`FETCH_TIMEOUT_S` seconds in total;
- documents are cached (:data:`CACHE_TTL_S`), so a client's sign-ins do not fetch it every time.

The document must name itself (``client_id`` equal to the URL), list ``redirect_uris``, and be a
public client (``token_endpoint_auth_method`` ``none`` or absent): nobody can hold a secret for a
document anyone can read.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

MAX_DOCUMENT_BYTES = 5 * 1024
FETCH_TIMEOUT_S = 5.0
CACHE_TTL_S = 300.0
CACHE_ENTRIES = 256

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_TUNNEL_NETWORKS = (
    ipaddress.ip_network("2002::/16"),  # 6to4
    ipaddress.ip_network("2001::/32"),  # Teredo
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64
    ipaddress.ip_network("64:ff9b:1::/48"),
)


class ClientMetadataError(Exception):
    """The document cannot be used; the message is safe to show the client (no internal addresses)."""


def is_client_metadata_url(client_id: str) -> bool:
    """Whether ``client_id`` is meant as a metadata document URL (rather than a registered id)."""
    return client_id.startswith("https://")


def public_address(address: IpAddress) -> bool:
    """True only for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return public_address(address.ipv4_mapped)
        if any(address in network for network in _TUNNEL_NETWORKS):
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_document_url(client_id: str) -> tuple[str, int, str]:
    """(host, port, path with query) of an acceptable metadata URL, else :class:`ClientMetadataError`."""
    if len(client_id) > 2048:
        raise ClientMetadataError("client_id is too long")
    parts = urlsplit(client_id)
    if parts.scheme != "https":
        raise ClientMetadataError("a client_id URL must use https")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ClientMetadataError("a client_id URL needs a host and no credentials")
    if parts.fragment or "#" in client_id:
        raise ClientMetadataError("a client_id URL must not have a fragment")
    segments = parts.path.split("/")
    if not parts.path or parts.path == "/" or any(segment in (".", "..") for segment in segments):
        raise ClientMetadataError("a client_id URL needs a path without dot segments")
    try:
        port = parts.port or 443
    except ValueError:
        raise ClientMetadataError("a client_id URL has an invalid port") from None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, path


@dataclass(frozen=True)
class ClientMetadata:
    client_id: str
    redirect_uris: tuple[str, ...]
    client_name: str | None
    grant_types: tuple[str, ...]


def parse_document(client_id: str, document: Any) -> ClientMetadata:
    if not isinstance(document, dict):
        raise ClientMetadataError("the client metadata document is not a JSON object")
    if document.get("client_id") != client_id:
        raise ClientMetadataError("the client metadata document's client_id is not its own URL")
    redirect_uris = document.get("redirect_uris")
    if (
        not isinstance(redirect_uris, list)
        or not redirect_uris
        or not all(isinstance(uri, str) and uri for uri in redirect_uris)
    ):
        raise ClientMetadataError("the client metadata document needs a non-empty list of redirect_uris")
    method = document.get("token_endpoint_auth_method", "none")
    if method != "none" or "client_secret" in document:
        raise ClientMetadataError("a client metadata document can only describe a public client (auth method none)")
    grant_types = document.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or "authorization_code" not in grant_types:
        raise ClientMetadataError("the client metadata document must allow the authorization_code grant")
    name = document.get("client_name")
    return ClientMetadata(
        client_id=client_id,
        redirect_uris=tuple(redirect_uris),
        client_name=name if isinstance(name, str) else None,
        grant_types=tuple(str(grant) for grant in grant_types),
    )


class ClientMetadataFetcher:
    """Fetches, validates and caches Client ID Metadata Documents."""

    def __init__(
        self,
        *,
        resolver: Resolver = system_resolver,
        address_allowed: Callable[[IpAddress], bool] = public_address,
        verify: Any = True,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        timeout_s: float = FETCH_TIMEOUT_S,
        cache_ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._address_allowed = address_allowed
        self._verify = verify
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.cache_ttl_s = cache_ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, ClientMetadata]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, client_id: str) -> ClientMetadata:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(client_id)
            if cached is not None and cached[0] > now:
                return cached[1]
        metadata = parse_document(client_id, self._fetch(client_id))
        with self._lock:
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
                while len(self._cache) >= CACHE_ENTRIES:
                    self._cache.pop(next(iter(self._cache)))
            self._cache[client_id] = (now + self.cache_ttl_s, metadata)
        return metadata

    def _checked_address(self, host: str, port: int) -> str:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates: Iterable[str] = [str(literal)]
        else:
            try:
                candidates = self._resolver(host, port)
            except OSError:
                raise ClientMetadataError("the client_id host does not resolve") from None
        addresses = [ipaddress.ip_address(candidate.split("%")[0]) for candidate in candidates]
        if not addresses:
            raise ClientMetadataError("the client_id host does not resolve")
        if not all(self._address_allowed(address) for address in addresses):
            raise ClientMetadataError("the client_id host resolves to an address that is not public")
        return str(addresses[0])

    def _fetch(self, client_id: str) -> Any:
        host, port, path = check_document_url(client_id)
        address = self._checked_address(host, port)
        target = f"[{address}]" if ":" in address else address
        host_header = host if port == 443 else f"{host}:{port}"
        deadline = time.monotonic() + self.timeout_s
        self.fetches += 1
        try:
            with (
                httpx.Client(verify=self._verify, timeout=self.timeout_s, follow_redirects=False) as client,
                client.stream(
                    "GET",
                    f"https://{target}:{port}{path}",
                    headers={"Host": host_header, "Accept": "application/json"},
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                if response.status_code != 200:
                    raise ClientMetadataError(
                        f"the client metadata document answered HTTP {response.status_code} (redirects are not followed)"
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    raise ClientMetadataError(f"the client metadata document is larger than {self.max_bytes} bytes")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        raise ClientMetadataError(f"the client metadata document is larger than {self.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise ClientMetadataError("the client metadata document took too long to fetch")
        except httpx.HTTPError as error:
            raise ClientMetadataError(
                f"the client metadata document could not be fetched ({type(error).__name__})"
            ) from None
        try:
            return json.loads(bytes(body))
        except ValueError:
            raise ClientMetadataError("the client metadata document is not JSON") from None
