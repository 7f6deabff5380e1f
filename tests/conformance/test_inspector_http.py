"""The MCP Inspector CLI against the real ``serve --http`` with a bearer token (token mode of the auth gate).

The Inspector 0.15.0 CLI (``make e2e-tools``; the newest that runs on Node 20) has no ``--header``
option, so the test preloads ``fetch_header.cjs`` into it (``NODE_OPTIONS=--require``), which adds the
header to each of its requests, as ``--header`` does in later versions. Everything else is the
Inspector's own client: initialize, tools/list, tools/call, resources/list, prompts/list.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.mcp_conformance import server_env
from tests.lambda_handler.rie import EmulatorUnavailable, inspector_cli
from tests.processes import serve_http

TOKEN = "inspector-token-0123456789abcdef"
PRELOAD = Path(__file__).resolve().parent / "fetch_header.cjs"
pytestmark = pytest.mark.slow  # each Inspector run is a Node process (~2 s)

HEADERS = {"authorization": ("Authorization", f"Bearer {TOKEN}"), "x-api-key": ("X-API-Key", TOKEN)}


def unavailable(reason: str) -> None:
    """Skip where Node.js cannot run; in CI that is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the MCP Inspector tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("inspector-http")
    (folder / "store").mkdir()
    log = folder / "server.log"
    env = server_env(folder / "store", ESTAT_MCP_AUTH_MODE="token", ESTAT_MCP_AUTH_TOKEN=TOKEN)
    with serve_http(env, log) as url:
        yield url, log


def inspector(url: str, header: tuple[str, str] | None, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        binary = inspector_cli()
    except EmulatorUnavailable as reason:
        unavailable(str(reason))
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    if header is not None:
        env |= {
            "NODE_OPTIONS": f"--require {PRELOAD}",
            "MCP_TEST_HEADER_NAME": header[0],
            "MCP_TEST_HEADER_VALUE": header[1],
        }
    return subprocess.run(
        [str(binary), "--cli", url, "--transport", "http", *args], capture_output=True, text=True, timeout=120, env=env
    )


def answer(completed: subprocess.CompletedProcess[str]) -> dict:
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    return json.loads(completed.stdout)


def test_without_the_token_the_inspector_is_refused(server) -> None:
    url, _ = server
    refused = inspector(url, None, "--method", "tools/list")
    assert refused.returncode != 0
    assert "Unauthorized" in refused.stdout + refused.stderr
    wrong = inspector(url, ("Authorization", "Bearer not-the-token-0000000000000"), "--method", "tools/list")
    assert wrong.returncode != 0


@pytest.mark.parametrize("style", sorted(HEADERS))
def test_tools_list_and_a_tool_call(server, style) -> None:
    url, log = server
    listed = answer(inspector(url, HEADERS[style], "--method", "tools/list"))
    names = {tool["name"] for tool in listed["tools"]}
    assert {"search_estat_data", "list_datasets", "analyze_with_athena"} <= names
    called = answer(inspector(url, HEADERS[style], "--method", "tools/call", "--tool-name", "list_datasets"))
    assert called.get("isError") is not True, called
    assert called["structuredContent"]["datasets"] == []
    assert TOKEN not in log.read_text()


def test_resources_and_prompts(server) -> None:
    url, _ = server
    resources = answer(inspector(url, HEADERS["authorization"], "--method", "resources/list"))
    assert resources["resources"] == []  # an empty store: no dataset resources yet
    templates = answer(inspector(url, HEADERS["x-api-key"], "--method", "resources/templates/list"))
    assert {t["uriTemplate"] for t in templates["resourceTemplates"]} >= {"estat://datasets/{dataset_id}"}
    prompts = answer(inspector(url, HEADERS["authorization"], "--method", "prompts/list"))
    assert [prompt["name"] for prompt in prompts["prompts"]] == ["analyze_estat_statistics"]
