"""Non-MCP routes served the same on both transports: RFC 9728 metadata, and the Function URL ASGI bridge."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from estat_aws_mcp.auth import PublicRoutes
from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from tests.auth.conftest import PUBLIC_URL, SCOPE
from tests.lambda_handler.conftest import FakeLambdaContext, build_test_server, url_event

PRM = "/.well-known/oauth-protected-resource"


def lambda_get(handler, path: str, method: str = "GET", headers: dict | None = None) -> dict:
    return handler.handle(url_event(method=method, path=path, headers=headers or {}), FakeLambdaContext())


@pytest.fixture
def lambda_handler(issuer, log_capture):
    return build_function_url_handler(issuer.settings(), server=build_test_server(), log=log_capture.logger)


@pytest.fixture
def http_client(issuer):
    app = build_http_app(settings=issuer.settings(), server=build_test_server())
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        yield client


@pytest.mark.parametrize(("path", "resource"), [(PRM, PUBLIC_URL), (PRM + "/mcp", PUBLIC_URL + "/mcp")])
def test_protected_resource_metadata_on_both_transports(issuer, lambda_handler, http_client, path, resource) -> None:
    expected = {
        "resource": resource,
        "authorization_servers": [issuer.url],
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
    }
    response = lambda_get(lambda_handler, path)
    assert response["statusCode"] == 200
    from_lambda = json.loads(response["body"])
    from_http = http_client.get(path).json()
    assert from_lambda == from_http
    assert {key: from_lambda[key] for key in expected} == expected


def test_metadata_answers_cors_preflights_and_refuses_other_methods(lambda_handler, http_client) -> None:
    preflight = {"origin": "http://localhost:6274", "access-control-request-method": "GET"}
    response = lambda_get(lambda_handler, PRM, method="OPTIONS", headers=preflight)
    assert response["statusCode"] == 200
    assert response["headers"]["access-control-allow-origin"] == "*"
    assert http_client.options(PRM, headers=preflight).headers["access-control-allow-origin"] == "*"
    assert lambda_get(lambda_handler, PRM, method="POST")["statusCode"] == 405
    assert http_client.post(PRM).status_code == 405


def test_no_metadata_outside_oauth_mode(test_server, log_capture) -> None:
    from estat_aws_mcp.settings import Settings

    handler = build_function_url_handler(Settings(), server=test_server, log=log_capture.logger)
    assert not handler.public_routes.owns("GET", PRM)
    assert lambda_get(handler, PRM)["statusCode"] == 405  # the MCP adapter's answer to any GET


class TestFunctionUrlBridge:
    """What an added route (the OAuth proxy's) gets through a Function URL event."""

    @pytest.fixture
    def routes(self) -> PublicRoutes:
        async def echo(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else {}
            response = JSONResponse(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": dict(request.query_params),
                    "form": dict(form),
                    "cookie": request.cookies.get("session"),
                    "client": request.client.host if request.client else None,
                    "url": str(request.url),
                },
                status_code=201,
            )
            response.set_cookie("session", "abc", httponly=True)
            response.set_cookie("other", "def")
            return response

        async def binary(_: Request) -> Response:
            return Response(bytes(range(256)), media_type="application/octet-stream")

        return PublicRoutes([Route("/token", echo, methods=["GET", "POST"]), Route("/blob", binary)])

    def test_query_form_cookies_and_client_reach_the_route(self, routes) -> None:
        event = url_event(
            "grant_type=authorization_code&code=x%2By",
            path="/token",
            headers={"content-type": "application/x-www-form-urlencoded", "host": "abc.lambda-url.eu-west-1.on.aws"},
            base64_body=True,
        )
        event["rawQueryString"] = "a=1&b=%E7%B5%B1"
        event["cookies"] = ["session=s1", "x=y"]
        event["requestContext"]["http"]["sourceIp"] = "203.0.113.9"
        response = routes.handle_function_url_event(event)
        assert response["statusCode"] == 201
        body = json.loads(response["body"])
        assert body == {
            "method": "POST",
            "path": "/token",
            "query": {"a": "1", "b": "統"},
            "form": {"grant_type": "authorization_code", "code": "x+y"},
            "cookie": "s1",
            "client": "203.0.113.9",
            "url": "https://abc.lambda-url.eu-west-1.on.aws/token?a=1&b=%E7%B5%B1",
        }
        assert [cookie.split(";")[0] for cookie in response["cookies"]] == ["session=abc", "other=def"]
        assert "set-cookie" not in {name.lower() for name in response["headers"]}

    def test_binary_bodies_are_base64(self, routes) -> None:
        response = routes.handle_function_url_event(url_event(method="GET", path="/blob"))
        assert response["isBase64Encoded"] is True
        assert base64.b64decode(response["body"]) == bytes(range(256))

    def test_ownership_is_by_path(self, routes) -> None:
        assert routes.owns("GET", "/token")
        assert routes.owns("DELETE", "/token")  # answered 405 by the route, not by the MCP endpoint
        assert not routes.owns("POST", "/mcp")
