"""`serve --http` behind the same gate as the Lambda handler: token mode, X-API-Key, /health, start-up refusal."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from estat_aws_mcp.auth import AuthGate, is_loopback_host, require_protection_for_host
from estat_aws_mcp.errors import ConfigurationError
from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.settings import Settings
from tests.lambda_handler.conftest import MCP_HEADERS, build_test_server, rpc

TOKEN = "http-s3cr3t-token-0123456789abcdef"
BASE_URL = "http://127.0.0.1:8080"
CLI = "import sys; from estat_aws_mcp.cli import main; main(sys.argv[1:])"


def http_app(**settings):
    return build_http_app(settings=Settings(**settings), server=build_test_server())


@pytest.fixture
def guarded() -> TestClient:
    with TestClient(http_app(ESTAT_MCP_AUTH_TOKEN=TOKEN), base_url=BASE_URL) as client:
        yield client


def tools_list(client: TestClient, **headers: str):
    return client.post("/mcp", json=rpc("tools/list"), headers={**MCP_HEADERS, **headers})


def test_health_is_open(guarded) -> None:
    response = guarded.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="estat-aws-mcp"'),
        ({"authorization": "Basic dXNlcjpwYXNz"}, 'Bearer realm="estat-aws-mcp"'),
        ({"authorization": "Bearer wrong-token"}, 'Bearer realm="estat-aws-mcp", error="invalid_token"'),
        ({"authorization": f"Bearer {TOKEN}x"}, 'Bearer realm="estat-aws-mcp", error="invalid_token"'),
        ({"x-api-key": "wrong-token"}, 'Bearer realm="estat-aws-mcp", error="invalid_token"'),
    ],
)
def test_missing_or_wrong_tokens_get_401_with_the_same_challenge_as_lambda(guarded, headers, challenge) -> None:
    response = tools_list(guarded, **headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge
    assert response.json()["error"]["code"] == -32001
    assert TOKEN not in response.text


@pytest.mark.parametrize("headers", [{"authorization": f"Bearer {TOKEN}"}, {"X-API-Key": TOKEN}])
def test_the_right_token_passes_as_bearer_or_x_api_key(guarded, headers) -> None:
    response = tools_list(guarded, **headers)
    assert response.status_code == 200
    assert response.json()["result"]["tools"]


def test_the_token_never_reaches_a_log_line(guarded, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        tools_list(guarded, authorization=f"Bearer {TOKEN}")
        tools_list(guarded, **{"x-api-key": TOKEN})
        tools_list(guarded, authorization="Bearer wrong-token-value")
    assert "http request POST /mcp 200" in caplog.text
    assert "http request POST /mcp 401" in caplog.text
    assert TOKEN not in caplog.text
    assert "wrong-token-value" not in caplog.text


def test_an_open_app_on_loopback_needs_nothing() -> None:
    with TestClient(http_app(), base_url=BASE_URL) as client:
        assert tools_list(client).status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("10.0.0.5", False), ("::", False)],
)
def test_loopback_hosts(host, loopback) -> None:
    assert is_loopback_host(host) is loopback


def test_a_non_loopback_bind_without_auth_is_refused_unless_allowed() -> None:
    open_gate = AuthGate.from_settings(Settings())
    with pytest.raises(ConfigurationError, match="--allow-unauthenticated"):
        require_protection_for_host(open_gate, "0.0.0.0", allow_unauthenticated=False)
    require_protection_for_host(open_gate, "0.0.0.0", allow_unauthenticated=True)
    require_protection_for_host(open_gate, "127.0.0.1", allow_unauthenticated=False)
    require_protection_for_host(AuthGate.from_settings(Settings(ESTAT_MCP_AUTH_TOKEN=TOKEN)), "0.0.0.0", False)


def test_the_cli_refuses_to_start_open_on_all_interfaces(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", CLI, "serve", "--http", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Refusing to serve HTTP on 0.0.0.0 without authentication" in done.stderr
    assert "--allow-unauthenticated" in done.stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ESTAT_MCP_AUTH_MODE": "token"}, "no token is configured"),
        ({"ESTAT_MCP_AUTH_MODE": "none", "ESTAT_MCP_AUTH_TOKEN": TOKEN}, "a bearer token is configured"),
        ({"ESTAT_MCP_AUTH_MODE": "oauth"}, "ESTAT_MCP_PUBLIC_URL"),
    ],
)
def test_contradicting_settings_fail_at_start_up(settings, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AuthGate.from_settings(Settings(**settings))


def test_mode_names_are_case_insensitive_and_empty_means_unset() -> None:
    assert AuthGate.from_settings(Settings(ESTAT_MCP_AUTH_MODE="", ESTAT_MCP_AUTH_TOKEN=TOKEN)).mode == "token"
    assert AuthGate.from_settings(Settings(ESTAT_MCP_AUTH_MODE="NONE")).mode == "none"


def test_an_allowed_open_bind_is_logged_as_such(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        require_protection_for_host(AuthGate.from_settings(Settings()), "0.0.0.0", allow_unauthenticated=True)
    assert "WITHOUT authentication" in caplog.text
