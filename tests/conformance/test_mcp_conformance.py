"""The official MCP conformance suite's server scenarios against ``serve --http`` and the Lambda handler.

Each scenario's outcome is asserted exactly (docs/operations.md, "Conformance", explains the table):

- ``PASSES``: every check succeeds;
- ``STATELESS``: only the warning that the server gives no session id (both transports are stateless
  by design: one Lambda invocation per request), so the scenario has nothing else to check;
- the other scenarios call the suite's reference tools, prompts and resources (``test_simple_text``,
  ``test://static-text``…) that only its own test server has, or capabilities this server does not
  declare: they must fail with the JSON-RPC error the specification asks for (unknown tool or prompt
  ``-32602``, unknown resource ``-32002``, undeclared method ``-32601``), never anything else.

The same suite also runs against a SYNTHETIC server with the suite's reference tools, resources and
prompts (:mod:`tests.conformance.reference_server`) served through the same two transports, so the
transports themselves are checked on every content type, errors, notifications, logging/setLevel,
completions and subscriptions (``REFERENCE_FAILS`` lists what cannot pass and why).

A scenario added by a new suite version fails the test until it is classified here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from estat_aws_mcp.settings import Settings
from tests.conformance.mcp_conformance import SuiteUnavailable, install, run_suite, server_env
from tests.conformance.reference_server import build_reference_server
from tests.lambda_handler.conftest import FakeLambdaContext
from tests.lambda_handler.function_url import FunctionUrlEmulator, direct_invoker
from tests.processes import serve_http, serving

pytestmark = pytest.mark.slow

PASSES = {"server-initialize", "ping", "tools-list", "resources-list", "prompts-list"}
STATELESS = {"server-sse-polling", "server-sse-multiple-streams"}
REFERENCE_TOOLS = {
    "tools-call-simple-text": "test_simple_text",
    "tools-call-image": "test_image_content",
    "tools-call-audio": "test_audio_content",
    "tools-call-embedded-resource": "test_embedded_resource",
    "tools-call-mixed-content": "test_multiple_content_types",
    "tools-call-error": "test_error_handling",
    "tools-call-with-progress": "test_tool_with_progress",
    "tools-call-sampling": "test_sampling",
    "tools-call-elicitation": "test_elicitation",
    "elicitation-sep1034-defaults": "test_elicitation_sep1034_defaults",
    "elicitation-sep1330-enums": "test_elicitation_sep1330_enums",
}
REFERENCE_PROMPTS = {
    "prompts-get-simple": "test_simple_prompt",
    "prompts-get-with-args": "test_prompt_with_arguments",
    "prompts-get-embedded-resource": "test_prompt_with_embedded_resource",
    "prompts-get-with-image": "test_prompt_with_image",
}
REFERENCE_RESOURCES = {
    "resources-read-text": "test://static-text",
    "resources-read-binary": "test://static-binary",
    "resources-templates-read": "test://template/123/data",
}
# logging/setLevel, completion/complete, resources/subscribe: capabilities the server does not declare
UNDECLARED = {
    "logging-set-level",
    "completion-complete",
    "resources-subscribe",
    "resources-unsubscribe",
    "tools-call-with-logging",
}


ALL_SCENARIOS = (
    PASSES | STATELESS | set(REFERENCE_TOOLS) | set(REFERENCE_PROMPTS) | set(REFERENCE_RESOURCES) | UNDECLARED
) | {"json-schema-2020-12", "dns-rebinding-protection"}
# The reference server: server-to-client requests (sampling, elicitation) need a session to route the
# client's answer back, which neither stateless transport has; the 2020-12 schema tool is not built.
REFERENCE_FAILS = {
    "tools-call-sampling": "Server did not request sampling from client",
    "tools-call-elicitation": "Server did not request elicitation from client",
    "elicitation-sep1034-defaults": "Server did not request elicitation from client",
    "elicitation-sep1330-enums": "Server did not request elicitation from client",
    "json-schema-2020-12": "Tool 'json_schema_2020_12_tool' not found",
    # serve --http streams (SSE) only requests with a progressToken; others get JSON, without notifications
    "tools-call-with-logging": "No log notifications received",
}
# A Function URL answers with one buffered JSON response: notifications have no channel
LAMBDA_REFERENCE_FAILS = {
    "tools-call-with-progress": "No progress notifications received",
    "dns-rebinding-protection": "Expected HTTP 4xx for invalid Host/Origin headers, got 200",
}


def expected_failures(transport: str) -> dict[str, str]:
    """Scenario → the text its failing check must carry (the production server)."""
    expected = {name: f"MCP error -32602: Unknown tool: '{tool}'" for name, tool in REFERENCE_TOOLS.items()}
    expected |= {name: f"MCP error -32602: Unknown prompt: '{prompt}'" for name, prompt in REFERENCE_PROMPTS.items()}
    expected |= {name: f"MCP error -32002: Unknown resource: {uri}" for name, uri in REFERENCE_RESOURCES.items()}
    expected |= dict.fromkeys(UNDECLARED, "MCP error -32601: Method not found")
    expected["json-schema-2020-12"] = "Tool 'json_schema_2020_12_tool' not found"
    if transport == "lambda":
        # A Function URL's Host header is the URL's own (AWS routes by it): the localhost-only DNS
        # rebinding scenario does not apply; serve --http on loopback must pass it.
        expected["dns-rebinding-protection"] = "Expected HTTP 4xx for invalid Host/Origin headers, got 200"
    return expected


def unavailable(reason: str) -> None:
    """Skip where Node.js cannot run; in CI that is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the MCP conformance suite)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def suite_installed() -> None:
    try:
        install()
    except SuiteUnavailable as reason:
        unavailable(str(reason))


def assert_outcomes(results: dict[str, list[dict[str, Any]]], failures: dict[str, str]) -> None:
    """Every scenario not in ``failures`` (or ``STATELESS``) passes; those in it fail saying what they must."""
    assert set(results) == ALL_SCENARIOS, f"scenarios not classified here: {sorted(set(results) ^ ALL_SCENARIOS)}"
    problems = []
    for scenario, checks in sorted(results.items()):
        bad = [check for check in checks if check["status"] in ("FAILURE", "WARNING")]
        if scenario in failures:
            messages = [check.get("errorMessage") or "" for check in bad if check["status"] == "FAILURE"]
            if not any(failures[scenario] in message for message in messages):
                problems.append(f"{scenario}: expected a failure saying {failures[scenario]!r}, got {messages}")
            others = [m for m in messages if failures[scenario] not in m]
            if others:
                problems.append(f"{scenario}: unexpected further failures {others}")
        elif scenario in STATELESS:
            unexpected = [check["id"] for check in bad if not check["id"].endswith("-session")]
            if unexpected or not checks:
                problems.append(f"{scenario}: expected only the no-session warning, got {bad or checks}")
        else:
            if bad or not any(check["status"] == "SUCCESS" for check in checks):
                problems.append(f"{scenario}: {[(c['id'], c['status'], c.get('errorMessage')) for c in bad]}")
    assert not problems, "\n".join(problems)


@contextlib.contextmanager
def function_url(server: Any = None) -> Iterator[str]:
    """The Lambda handler (``server``, else the production one) behind the Function URL emulator, no auth."""
    handler = build_function_url_handler(Settings(), server=server)
    emulator = FunctionUrlEmulator(direct_invoker(handler.handle, FakeLambdaContext)).start()
    try:
        yield emulator.mcp_url
    finally:
        emulator.stop()


@pytest.fixture
def open_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No authentication and an empty local store, for the servers built in this process."""
    (tmp_path / "store").mkdir()
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    for name in ("ESTAT_MCP_AUTH_TOKEN", "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER", "ESTAT_MCP_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "store"


def test_serve_http(suite_installed, tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    with serve_http(server_env(tmp_path / "store"), tmp_path / "server.log") as url:
        results = run_suite(url, tmp_path / "results")
    assert_outcomes(results, expected_failures("serve-http"))


def test_serve_http_with_a_token(suite_installed, tmp_path: Path) -> None:
    """Token mode: the same outcomes with the token on every request of the suite's client, except the DNS
    rebinding scenario, which sends its own requests without it (it is meant for servers without auth)."""
    token = "conformance-token-0123456789abcdef"
    (tmp_path / "store").mkdir()
    env = server_env(tmp_path / "store", ESTAT_MCP_AUTH_MODE="token", ESTAT_MCP_AUTH_TOKEN=token)
    with serve_http(env, tmp_path / "server.log") as url:
        results = run_suite(url, tmp_path / "results", header=("Authorization", f"Bearer {token}"))
    assert token not in (tmp_path / "server.log").read_text()
    failures = expected_failures("serve-http")
    failures["dns-rebinding-protection"] = "Expected HTTP 2xx for valid localhost Host/Origin headers, got 401"
    assert_outcomes(results, failures)


def test_lambda_function_url(suite_installed, open_store, tmp_path: Path) -> None:
    with function_url() as url:
        results = run_suite(url, tmp_path / "results")
    assert_outcomes(results, expected_failures("lambda"))


def test_reference_server_through_serve_http(suite_installed, open_store, tmp_path: Path) -> None:
    with serving(build_http_app(settings=Settings(), server=build_reference_server())) as base:
        results = run_suite(f"{base}/mcp", tmp_path / "results")
    assert_outcomes(results, REFERENCE_FAILS)


def test_reference_server_through_the_lambda_handler(suite_installed, open_store, tmp_path: Path) -> None:
    with function_url(build_reference_server()) as url:
        results = run_suite(url, tmp_path / "results")
    assert_outcomes(results, REFERENCE_FAILS | LAMBDA_REFERENCE_FAILS)
