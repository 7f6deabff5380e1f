"""The Function URL emulator the end-to-end suite relies on: its SigV4 check and limits are real."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.lambda_handler.function_url import FunctionUrlEmulator, IamPrincipal, direct_invoker

PRINCIPAL = IamPrincipal(access_key="AKIAEMULATORTEST", secret_key="emulator-secret", session_token="tok")
HEADERS = {"content-type": "application/json", "accept": "application/json"}


def echo_event(event, _context):
    """A function that returns the event it got (so tests can inspect it)."""
    if event.get("rawPath") == "/raise":
        raise RuntimeError("function error")
    if event.get("rawPath") == "/huge":
        return {"statusCode": 200, "body": "x" * (6 * 1024 * 1024 + 200)}  # the RIE allows 6 MiB + 100
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}


@pytest.fixture(scope="module")
def iam_url():
    emulator = FunctionUrlEmulator(
        direct_invoker(echo_event, lambda: None), auth_type="AWS_IAM", principals=[PRINCIPAL]
    ).start()
    yield emulator
    emulator.stop()


def signed(url: str, body: bytes, *, secret: str = PRINCIPAL.secret_key, region: str = "ap-northeast-1", token="tok"):
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(HEADERS))
    SigV4Auth(Credentials(PRINCIPAL.access_key, secret, token), "lambda", region).add_auth(request)
    return dict(request.headers)


def test_a_valid_signature_reaches_the_function_with_the_caller(iam_url) -> None:
    body = b'{"a": 1}'
    response = httpx.post(f"{iam_url.url}/mcp?x=1", headers=signed(f"{iam_url.url}/mcp?x=1", body), content=body)
    assert response.status_code == 200
    event = response.json()
    assert event["requestContext"]["authorizer"]["iam"]["userArn"] == PRINCIPAL.user_arn
    assert (event["rawPath"], event["rawQueryString"], event["body"]) == ("/mcp", "x=1", '{"a": 1}')
    assert event["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "region", "token", "unsigned", "stale"],
)
def test_every_bad_signature_is_403_without_invoking(iam_url, tamper) -> None:
    url = f"{iam_url.url}/mcp"
    body = b'{"a": 1}'
    options = {"secret": "wrong"} if tamper == "secret" else {"region": "us-east-1"} if tamper == "region" else {}
    if tamper == "token":
        options = {"token": "other-token"}
    headers = signed(url, body, **options)
    sent = b'{"a": 2}' if tamper == "body" else body
    if tamper == "unsigned":
        headers = dict(HEADERS)
    if tamper == "stale":
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
        headers["X-Amz-Date"] = old
    before = iam_url.invocations
    response = httpx.post(url, headers=headers, content=sent)
    assert response.status_code == 403
    assert response.json() == {"Message": "Forbidden"}
    assert iam_url.invocations == before


def test_limits_and_function_errors() -> None:
    emulator = FunctionUrlEmulator(direct_invoker(echo_event, lambda: None)).start()
    try:
        assert (
            httpx.post(f"{emulator.url}/mcp", headers=HEADERS, content=b" " * (6 * 1024 * 1024 + 1)).status_code == 413
        )
        assert httpx.post(f"{emulator.url}/raise", headers=HEADERS, content=b"{}").status_code == 502
        assert httpx.post(f"{emulator.url}/huge", headers=HEADERS, content=b"{}").status_code == 502
        binary = httpx.post(
            f"{emulator.url}/mcp", headers={"content-type": "application/octet-stream"}, content=b"\xff\x00"
        )
        assert binary.json()["isBase64Encoded"] is True
    finally:
        emulator.stop()


def test_cookies_travel_in_their_own_lists_both_ways() -> None:
    """As the service does: request cookies in ``event["cookies"]`` (not a header), and each entry of the
    result's ``cookies`` a Set-Cookie header (the OAuth proxy's consent and callback rely on both)."""

    def cookie_function(event, _context):
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "cookies": ["a=1; Path=/; HttpOnly", "b=2; Path=/callback"],
            "body": json.dumps({"cookies": event.get("cookies"), "cookie_header": event["headers"].get("cookie")}),
        }

    emulator = FunctionUrlEmulator(direct_invoker(cookie_function, lambda: None)).start()
    try:
        response = httpx.get(f"{emulator.url}/authorize", headers={"Cookie": "x=1; y=2"})
    finally:
        emulator.stop()
    assert response.json() == {"cookies": ["x=1", "y=2"], "cookie_header": None}
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/; HttpOnly", "b=2; Path=/callback"]
