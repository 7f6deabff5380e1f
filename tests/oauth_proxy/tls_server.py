"""A real HTTPS server on 127.0.0.1 with a throwaway CA, for fetching Client ID Metadata Documents."""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# path -> (status, headers, body)
Route = Callable[[str], tuple[int, dict[str, str], bytes]]


def _certificate(subject: str, issuer_name: x509.Name, key, signer, *, ca: bool, hostname: str | None = None):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hostname:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
    return builder.sign(signer, hashes.SHA256())


class TlsServer:
    """Serves ``routes`` over HTTPS for ``hostname`` (resolve it to 127.0.0.1 yourself); :attr:`ca_file` trusts it."""

    def __init__(self, hostname: str, routes: dict[str, Route]) -> None:
        self.hostname = hostname
        self.routes = routes
        self.requests: list[str] = []
        self._folder = tempfile.TemporaryDirectory(prefix="tls-")
        folder = Path(self._folder.name)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e2e test CA")])
        ca_cert = _certificate("e2e test CA", ca_name, ca_key, ca_key, ca=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(hostname, ca_name, key, ca_key, ca=False, hostname=hostname)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        self._server: ThreadingHTTPServer | None = None

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self) -> TlsServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                status, headers, body = route(self.path) if route else (404, {}, b"not found")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "X-Omit-Length" not in headers:  # without it: HTTP/1.0, the body ends at close
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = self._context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"https://{self.hostname}:{self.port}{path}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._folder.cleanup()
