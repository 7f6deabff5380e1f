"""A loopback Lambda Function URL: HTTP in, payload-2.0 event to a Lambda invoke, HTTP out.

What it reproduces of the real service (and what the handler relies on):

- the event (payload format 2.0): ``rawPath``, lower-cased ``headers``, ``cookies`` (the Cookie header's
  pairs, in their own list as the service sends them), ``requestContext.http``,
  ``isBase64Encoded`` with a base64 body for non-text content types (``force_base64`` sends every
  body that way);
- ``AuthType = AWS_IAM``: the SigV4 signature is verified with botocore for service ``lambda`` in
  the URL's region; unsigned requests, unknown keys, wrong secrets, another region or a stale
  timestamp get 403 ``{"Message":"Forbidden"}`` and the function is not invoked; on success
  ``requestContext.authorizer.iam`` carries the caller;
- limits: request bodies over 6 MB get 413; a function result the invoke path refuses (the RIE
  enforces the 6 MB response cap) or a function error becomes 502;
- the result: a ``statusCode``-shaped dict becomes that response (``isBase64Encoded`` honoured, each
  entry of ``cookies`` a ``Set-Cookie`` header);
  anything else is returned as a JSON 200.

One invocation at a time, like one Lambda execution environment.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

MAX_REQUEST_BYTES = 6 * 1024 * 1024
_TEXT_TYPES = re.compile(
    r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json|[^;]*\+xml)", re.I
)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<akid>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)

Invoke = Callable[[dict[str, Any]], tuple[int, bytes]]


@dataclass(frozen=True)
class IamPrincipal:
    """A key pair the emulated IAM knows, and who it belongs to."""

    access_key: str
    secret_key: str
    session_token: str | None = None
    account_id: str = "123456789012"
    user_arn: str = "arn:aws:sts::123456789012:assumed-role/mcp-client/e2e"
    user_id: str = "AROAEXAMPLEID:e2e"


class Forbidden(Exception):
    """The request's signature does not verify (the reason is for the test log, never the client)."""


@dataclass
class FunctionUrlEmulator:
    invoke: Invoke
    auth_type: str = "NONE"
    region: str = "ap-northeast-1"
    principals: list[IamPrincipal] = field(default_factory=list)
    force_base64: bool = False
    invocations: int = 0
    rejections: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FunctionUrlEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                emulator._serve(self)

            do_GET = do_POST
            do_DELETE = do_POST
            do_OPTIONS = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    # -- one request -----------------------------------------------------------------------
    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            request.rfile.read(length)
            return self._reply(
                request, 413, {"Content-Type": "application/json"}, b'{"Message":"Request Entity Too Large"}'
            )
        body = request.rfile.read(length) if length else b""
        authorizer = None
        if self.auth_type == "AWS_IAM":
            try:
                principal = self._verify_sigv4(request, body)
            except Forbidden as reason:
                self.rejections.append(str(reason))
                return self._reply(request, 403, {"Content-Type": "application/json"}, b'{"Message":"Forbidden"}')
            authorizer = {
                "iam": {
                    "accessKey": principal.access_key,
                    "accountId": principal.account_id,
                    "callerId": principal.user_id,
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": principal.user_arn,
                    "userId": principal.user_id,
                }
            }
        event = self._event(request, body, authorizer)
        with self._lock:
            self.invocations += 1
            status, payload = self.invoke(event)
        if status != 200:
            return self._reply(
                request, 502, {"Content-Type": "application/json"}, b'{"Message":"Internal Server Error"}'
            )
        self._reply_with_result(request, json.loads(payload))

    def _event(self, request: BaseHTTPRequestHandler, body: bytes, authorizer: dict | None) -> dict[str, Any]:
        path, _, query = request.path.partition("?")
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        # Like the service, cookies travel in their own list, not as a header.
        cookie_header = headers.pop("cookie", "")
        cookies = [part.strip() for part in cookie_header.replace(",", ";").split(";") if part.strip()]
        content_type = headers.get("content-type", "")
        textual = bool(_TEXT_TYPES.match(content_type)) and not self.force_base64
        try:
            text = body.decode("utf-8") if textual else None
        except UnicodeDecodeError:
            text = None
        now = dt.datetime.now(dt.UTC)
        request_context: dict[str, Any] = {
            "accountId": "anonymous" if authorizer is None else authorizer["iam"]["accountId"],
            "apiId": "e2eurlid",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "e2eurlid",
            "http": {
                "method": request.command,
                "path": path,
                "protocol": request.request_version,
                "sourceIp": request.client_address[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if authorizer is not None:
            request_context["authorizer"] = authorizer
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": request_context,
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
        if body:
            if text is not None:
                event["body"] = text
            else:
                event["body"] = base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = True
        return event

    def _reply_with_result(self, request: BaseHTTPRequestHandler, result: Any) -> None:
        if isinstance(result, dict) and "statusCode" in result:
            body = result.get("body") or ""
            data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
            cookies = [str(cookie) for cookie in result.get("cookies") or []]
            return self._reply(request, int(result["statusCode"]), result.get("headers") or {}, data, cookies)
        return self._reply(request, 200, {"Content-Type": "application/json"}, json.dumps(result).encode())

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        body: bytes,
        cookies: list[str] | None = None,
    ) -> None:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                request.send_header(name, value)
        for cookie in cookies or []:  # the response's ``cookies`` list: one Set-Cookie header each
            request.send_header("Set-Cookie", cookie)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if body and request.command != "HEAD":
            request.wfile.write(body)

    # -- SigV4 -------------------------------------------------------------------------------
    def _verify_sigv4(self, request: BaseHTTPRequestHandler, body: bytes) -> IamPrincipal:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        match = _AUTHORIZATION.match(request.headers.get("Authorization", "").strip())
        if match is None:
            raise Forbidden("missing or malformed SigV4 Authorization header")
        principal = next((p for p in self.principals if p.access_key == match["akid"]), None)
        if principal is None:
            raise Forbidden("unknown access key")
        if match["region"] != self.region or match["service"] != "lambda":
            raise Forbidden(f"credential scoped to {match['region']}/{match['service']}")
        amz_date = request.headers.get("X-Amz-Date", "")
        try:
            signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            raise Forbidden("missing X-Amz-Date") from None
        if abs(dt.datetime.now(dt.UTC) - signed_at) > MAX_CLOCK_SKEW or amz_date[:8] != match["date"]:
            raise Forbidden("signature timestamp outside the allowed window")
        if principal.session_token and request.headers.get("X-Amz-Security-Token") != principal.session_token:
            raise Forbidden("session token mismatch")
        signed_names = match["signed"].split(";")
        if "host" not in signed_names:
            raise Forbidden("host is not signed")
        headers = {}
        for name in signed_names:
            values = request.headers.get_all(name)
            if values is None:
                raise Forbidden(f"signed header {name} is missing")
            headers[name] = ",".join(values)
        url = f"http://{request.headers['Host']}{request.path}"
        aws_request = AWSRequest(method=request.command, url=url, data=body, headers=headers)
        aws_request.context["timestamp"] = amz_date
        signer = SigV4Auth(
            Credentials(principal.access_key, principal.secret_key, principal.session_token), "lambda", self.region
        )
        canonical = signer.canonical_request(aws_request)
        if signer.signed_headers(signer.headers_to_sign(aws_request)) != match["signed"]:
            raise Forbidden("signed header list does not match")
        expected = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
        import hmac

        if not hmac.compare_digest(expected, match["signature"]):
            raise Forbidden("signature mismatch")
        return principal


def rie_invoker(rie_url: str, timeout_s: float = 120.0) -> Invoke:
    """Invoke through the Runtime Interface Emulator's invoke endpoint."""
    endpoint = f"{rie_url}/2015-03-31/functions/function/invocations"

    def invoke(event: dict[str, Any]) -> tuple[int, bytes]:
        data = json.dumps(event).encode()
        request = urllib.request.Request(endpoint, data=data, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    return invoke


def direct_invoker(handler: Callable[[dict[str, Any], Any], Any], context_factory: Callable[[], Any]) -> Invoke:
    """Invoke a handler in this process (for the emulator's own tests), with Lambda's 6 MB cap."""

    def invoke(event: dict[str, Any]) -> tuple[int, bytes]:
        try:
            payload = json.dumps(handler(event, context_factory())).encode()
        except Exception as error:  # what the runtime reports as a function error
            return 502, json.dumps({"errorType": type(error).__name__}).encode()
        if len(payload) > 6 * 1024 * 1024 + 100:
            return 502, b'{"errorType":"Function.ResponseSizeTooLarge"}'
        return 200, payload

    return invoke
