"""End to end: the image's task root under the Lambda Runtime Interface Emulator, behind a Function URL.

Chain under test: real MCP clients (the Python SDK, the Inspector CLI, the SigV4 helper and CLI,
``mcp-proxy-for-aws``) -> loopback Function URL emulator (payload 2.0, SigV4 verification, 6 MB
limits, :mod:`.function_url`) -> ``aws-lambda-rie`` -> ``awslambdaric`` ->
``estat_aws_mcp.lambda_handler.handler`` loaded from a task root built like the Dockerfile's
(:mod:`.task_root`). Tools reach only loopback fakes: e-Stat (``tests/fakes/fake_estat.py``) and
moto (AWS). One RIE per deployment (in-process, stdio, token-guarded), started once per module.

The oversized-result cases use production tools only: a batch of ``download_csv_from_s3`` pages
that together exceed Lambda's 6 MB cap (default budget), and, on the token-guarded deployment
whose response budget is set to 500 kB (``ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES``), one page.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from estat_aws_mcp.client import connect_function_url
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from tests.estat.conftest import TEST_APP_ID, _fake_estat_server  # noqa: F401 - fixture
from tests.fakes.moto_server import MotoServer
from tests.lambda_handler.function_url import FunctionUrlEmulator, IamPrincipal, rie_invoker
from tests.lambda_handler.rie import EmulatorUnavailable, RuntimeEmulator, inspector_cli, rie_binary
from tests.lambda_handler.task_root import runtime_layer

pytestmark = [pytest.mark.lambda_e2e, pytest.mark.timeout(240)]

REGION = "ap-northeast-1"
PRINCIPAL = IamPrincipal(
    access_key="AKIAE2EEXAMPLE",
    secret_key="e2e-secret-key",
    user_arn="arn:aws:sts::123456789012:assumed-role/estat-mcp-client/e2e-session",
)
TOKEN = "e2e-bearer-token-3f1c9a7d5b"
TOKEN_PARAMETER = "/estat-aws-mcp/e2e/bearer-token"
LOG_GROUP = "/e2e/estat-aws-mcp"
ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
# Every request through the Function URL is a Lambda invocation: the first one of a deployment carries the
# cold start (the RIE counts the handler's import inside it), and the RIE serves one invocation at a time,
# so a request may queue behind another test's. httpx's 5 s default is a timing assumption that a loaded
# machine breaks; a request that gets no answer at all still fails, after this bound.
HTTP_TIMEOUT_S = 120.0
post = partial(httpx.post, timeout=HTTP_TIMEOUT_S)
get = partial(httpx.get, timeout=HTTP_TIMEOUT_S)


def unavailable(reason: str) -> None:
    """Skip where the emulator or Node cannot run; in CI that is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the Lambda end-to-end suite)")
    pytest.skip(reason)


@dataclass
class Deployment:
    rie: RuntimeEmulator
    none: FunctionUrlEmulator
    iam: FunctionUrlEmulator | None = None
    base64: FunctionUrlEmulator | None = None

    def log(self) -> str:
        return self.rie.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def e2e_dir(tmp_path_factory) -> Path:
    try:
        rie_binary()
    except EmulatorUnavailable as reason:
        unavailable(str(reason))
    return tmp_path_factory.mktemp("lambda-e2e")


@pytest.fixture(scope="module")
def task_root(e2e_dir, lambda_task_root) -> Path:
    return lambda_task_root


@pytest.fixture(scope="module")
def store(e2e_dir) -> Path:
    """The dataset store (local folder) with CSV files the download tool pages through."""
    root = e2e_dir / "store"
    (root / "exports").mkdir(parents=True)
    header = "地域,年,人口\n"
    row = "東京都千代田区丸の内一丁目,2020,統計値テキスト\n"
    (root / "exports" / "japanese.csv").write_text(header + row * 45_000, encoding="utf-8")  # ~2 MB
    (root / "exports" / "ascii.csv").write_text("area,year,value\n" + "13101,2020,12345\n" * 120_000)
    return root


@pytest.fixture(scope="module")
def function_env(moto_server: MotoServer, _fake_estat_server, store) -> dict[str, str]:  # noqa: F811
    return {
        **moto_server.env(),
        "ESTAT_API_BASE_URL": _fake_estat_server.base_url,
        "ESTAT_APP_ID": TEST_APP_ID,
        "ESTAT_MCP_STORAGE_URI": str(store),
    }


def deploy(task_root: Path, e2e_dir: Path, name: str, env: dict[str, str], *, iam: bool = False) -> Deployment:
    log_path = e2e_dir / f"rie-{name}.log"
    rie = RuntimeEmulator(task_root, runtime_layer(), env, log_path).start()
    invoke = rie_invoker(rie.url)
    deployment = Deployment(rie=rie, none=FunctionUrlEmulator(invoke, region=REGION).start())
    if iam:
        deployment.iam = FunctionUrlEmulator(invoke, auth_type="AWS_IAM", region=REGION, principals=[PRINCIPAL]).start()
        deployment.base64 = FunctionUrlEmulator(invoke, region=REGION, force_base64=True).start()
    return deployment


def undeploy(deployment: Deployment) -> None:
    for url in (deployment.none, deployment.iam, deployment.base64):
        if url is not None:
            url.stop()
    deployment.rie.stop()


@pytest.fixture(scope="module")
def inprocess(task_root, e2e_dir, function_env) -> Iterator[Deployment]:
    deployment = deploy(task_root, e2e_dir, "inprocess", {**function_env, "ESTAT_MCP_DISPATCH": "inprocess"}, iam=True)
    yield deployment
    undeploy(deployment)


@pytest.fixture(scope="module")
def stdio(task_root, e2e_dir, function_env) -> Iterator[Deployment]:
    deployment = deploy(task_root, e2e_dir, "stdio", {**function_env, "ESTAT_MCP_DISPATCH": "stdio"})
    yield deployment
    undeploy(deployment)


@pytest.fixture(scope="module")
def guarded(task_root, e2e_dir, function_env, moto_server) -> Iterator[Deployment]:
    """NONE auth with a bearer token from an SSM SecureString, and a 500 kB response budget."""
    import boto3

    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=moto_server.url, **_moto_keys())
    ssm.put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString", Overwrite=True)
    env = {
        **function_env,
        "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER": TOKEN_PARAMETER,
        # Rotation (a re-read every 60 s by default) is tested in tests/auth; here the token must
        # outlive whatever later tests do to moto, so the container trusts it for the whole module.
        "ESTAT_MCP_AUTH_TOKEN_CACHE_S": "3600",
        "ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES": "500000",
    }
    deployment = deploy(task_root, e2e_dir, "guarded", env)
    # Warm up now (a cold start on a busy machine can take a while): the token is read and cached.
    response = post(deployment.none.mcp_url, headers={**ACCEPT, "authorization": f"Bearer {TOKEN}"}, json=_ping())
    assert response.status_code == 200, deployment.rie.log_tail()
    yield deployment
    undeploy(deployment)


def _moto_keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def _ping(id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id, "method": "ping"}


@pytest.fixture
def log_group(moto_server) -> str:
    import boto3

    logs = boto3.client("logs", region_name=REGION, endpoint_url=moto_server.url, **_moto_keys())
    if not logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=LOG_GROUP)
    return LOG_GROUP


def text_of(result) -> str:
    return "\n".join(getattr(item, "text", "") for item in result.content)


async def sdk_session_round_trip(url: str, log_group: str, headers: dict[str, str] | None = None) -> None:
    """The stock MCP Python SDK client: initialize, list, and two tool calls."""
    async with (
        httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(HTTP_TIMEOUT_S, connect=10)) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        info = await session.initialize()
        assert info.serverInfo.name == "estat-aws-mcp"
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"search_estat_data", "run_aws_cli", "download_csv_from_s3"} <= names
        search = await session.call_tool("search_estat_data", {"query": "人口"})
        assert not search.isError, text_of(search)
        assert CREDIT_NOTICE in text_of(search)
        cli = await session.call_tool("run_aws_cli", {"command": "logs describe-log-groups"})
        assert not cli.isError, text_of(cli)
        assert log_group in text_of(cli)


def inspector(url: str, *args: str) -> dict:
    try:
        binary = inspector_cli()
    except EmulatorUnavailable as reason:
        unavailable(str(reason))
    completed = subprocess.run(
        [str(binary), "--cli", url, "--transport", "http", *args], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


# -- in-process dispatch, NONE ------------------------------------------------------------------


@pytest.mark.anyio
async def test_sdk_client_inprocess(inprocess, log_group) -> None:
    await sdk_session_round_trip(inprocess.none.mcp_url, log_group)


def test_inspector_cli_inprocess(inprocess) -> None:
    listed = inspector(inprocess.none.mcp_url, "--method", "tools/list")
    assert "search_estat_data" in {tool["name"] for tool in listed["tools"]}
    called = inspector(
        inprocess.none.mcp_url, "--method", "tools/call", "--tool-name", "search_estat_data", "--tool-arg", "query=人口"
    )
    assert not called.get("isError")
    assert CREDIT_NOTICE in json.dumps(called, ensure_ascii=False)


def test_conformance_suite_through_the_rie(inprocess, tmp_path) -> None:
    """The official MCP conformance suite through awslambdaric and the RIE: the same outcome for every
    scenario as against the handler in process (docs/operations.md, "Conformance")."""
    from tests.conformance.mcp_conformance import SuiteUnavailable, install, run_suite
    from tests.conformance.test_mcp_conformance import assert_outcomes, expected_failures

    try:
        install()
    except SuiteUnavailable as reason:
        unavailable(str(reason))
    assert_outcomes(run_suite(inprocess.none.mcp_url, tmp_path / "results"), expected_failures("lambda"))


def test_http_edges_through_the_url(inprocess) -> None:
    url = inprocess.none.url
    health = get(f"{url}/health")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert get(f"{url}/mcp").status_code == 405
    note = post(f"{url}/mcp", headers=ACCEPT, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert (note.status_code, note.text) == (202, "")
    batch = post(f"{url}/mcp", headers=ACCEPT, json=[_ping(1), {"jsonrpc": "2.0", "method": "x/y", "id": "b"}])
    assert [item["id"] for item in batch.json()] == [1, "b"]
    assert batch.json()[1]["error"]["code"] == -32601  # method not found (issue 15)
    empty = post(f"{url}/mcp", headers=ACCEPT, content=b"[]")
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, -32600)
    deep = post(f"{url}/mcp", headers=ACCEPT, content=b"[" * 100_000 + b"]" * 100_000)
    assert (deep.status_code, deep.json()["error"]["code"]) == (400, -32700)
    invocations = inprocess.none.invocations
    too_big = post(f"{url}/mcp", headers=ACCEPT, content=b"[" + b" " * (6 * 1024 * 1024 + 10) + b"]")
    assert too_big.status_code == 413
    assert inprocess.none.invocations == invocations


def test_base64_bodies(inprocess) -> None:
    response = post(
        inprocess.base64.mcp_url,
        headers=ACCEPT,
        json={
            "jsonrpc": "2.0",
            "id": 5,
            "method": "tools/call",
            "params": {"name": "search_estat_data", "arguments": {"query": "人口"}},
        },
    )
    assert response.status_code == 200
    assert response.json()["id"] == 5
    assert not response.json()["result"].get("isError")


def test_a_batch_over_6mb_gets_tool_errors_not_a_502(inprocess, store) -> None:
    uri = (store / "exports" / "japanese.csv").as_uri()
    # The tool keeps each page near 1 MB of Lambda payload; eight pages do not fit in 6 MB.
    arguments = {"uri": uri, "max_bytes": 1_048_576}
    call = {"method": "tools/call", "params": {"name": "download_csv_from_s3", "arguments": arguments}}
    batch = [{"jsonrpc": "2.0", "id": i, **call} for i in range(8)]
    response = post(inprocess.none.mcp_url, headers=ACCEPT, json=batch)
    assert response.status_code == 200, inprocess.rie.log_tail()
    answers = response.json()
    assert [answer["id"] for answer in answers] == list(range(8))
    refused = [answer["result"]["content"][0]["text"] for answer in answers if answer["result"].get("isError")]
    assert 1 <= len(refused) <= 3
    assert not answers[0]["result"].get("isError") and answers[-1]["result"]["isError"]
    assert all("6 MB" in text and "offset" in text for text in refused)


def test_an_allowed_run_aws_cli_call_leaves_its_info_audit_line(inprocess, log_group) -> None:
    """The runtime leaves the root logger at WARNING; the INFO audit line must still reach the output."""
    call = {"jsonrpc": "2.0", "id": "audit-1", "method": "tools/call"}
    call["params"] = {"name": "run_aws_cli", "arguments": {"command": "logs describe-log-groups"}}
    answer = post(inprocess.none.mcp_url, headers=ACCEPT, json=call).json()
    assert not answer["result"].get("isError"), answer
    call_id = answer["result"]["structuredContent"]["call_id"]
    records = [json.loads(line) for line in inprocess.log().splitlines() if line.startswith('{"level"')]
    # The audit message is a JSON object (powertools keeps it as one).
    audits = [r for r in records if isinstance(r.get("message"), dict) and r["message"].get("event") == "run_aws_cli"]
    mine = [r for r in audits if r["message"]["call_id"] == call_id]
    assert len(mine) == 1, audits[-3:]
    assert mine[0]["level"] == "INFO" and mine[0]["message"]["decision"] == "allowed"
    assert mine[0]["request_id"]  # the invocation's id, as on every line of the function's logger


def test_structured_logs_in_the_function_output(inprocess) -> None:
    records = [json.loads(line) for line in inprocess.log().splitlines() if line.startswith('{"level"')]
    calls = [r for r in records if r.get("message") == "mcp request" and r.get("tool") == "search_estat_data"]
    assert calls and all(r["request_id"] and r["duration_ms"] >= 0 and r["outcome"] == "ok" for r in calls)
    assert TEST_APP_ID not in inprocess.log()
    assert "地域,年,人口" not in inprocess.log()  # no payloads


# -- in-process dispatch, AWS_IAM ---------------------------------------------------------------


@pytest.mark.anyio
async def test_sigv4_helper(inprocess, log_group) -> None:
    from botocore.credentials import Credentials

    credentials = Credentials(PRINCIPAL.access_key, PRINCIPAL.secret_key)
    async with connect_function_url(inprocess.iam.mcp_url, credentials=credentials, region=REGION) as session:
        assert "run_aws_cli" in {tool.name for tool in (await session.list_tools()).tools}
        result = await session.call_tool("run_aws_cli", {"command": "logs describe-log-groups"})
        assert not result.isError and log_group in text_of(result)
    assert PRINCIPAL.user_arn in inprocess.log()
    assert PRINCIPAL.secret_key not in inprocess.log()


def principal_env(region: str = REGION) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **env,
        "AWS_ACCESS_KEY_ID": PRINCIPAL.access_key,
        "AWS_SECRET_ACCESS_KEY": PRINCIPAL.secret_key,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }


@pytest.mark.anyio
async def test_mcp_proxy_for_aws(inprocess, log_group) -> None:
    proxy = Path(sys.executable).with_name("mcp-proxy-for-aws")
    params = StdioServerParameters(
        command=str(proxy),
        args=[inprocess.iam.mcp_url, "--service", "lambda", "--region", REGION],
        env=principal_env(),
    )
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            assert "search_estat_data" in {tool.name for tool in (await session.list_tools()).tools}
            result = await session.call_tool("run_aws_cli", {"command": "logs describe-log-groups"})
            assert not result.isError and log_group in text_of(result)


def signed_post(url: str, *, secret: str, region: str) -> httpx.Response:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps(_ping()).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(ACCEPT))
    SigV4Auth(Credentials(PRINCIPAL.access_key, secret), "lambda", region).add_auth(request)
    return post(url, headers=dict(request.headers), content=body)


def test_iam_refusals_never_reach_the_function(inprocess) -> None:
    url = inprocess.iam.mcp_url
    before = inprocess.iam.invocations
    assert post(url, headers=ACCEPT, json=_ping()).status_code == 403
    assert signed_post(url, secret="wrong-secret", region=REGION).status_code == 403
    assert signed_post(url, secret=PRINCIPAL.secret_key, region="us-east-1").status_code == 403
    assert inprocess.iam.invocations == before
    ok = signed_post(url, secret=PRINCIPAL.secret_key, region=REGION)
    assert ok.status_code == 200 and ok.json()["result"] == {}


def test_client_cli_with_iam(inprocess, log_group) -> None:
    code = "import sys; from estat_aws_mcp.cli import main; main(sys.argv[1:])"
    args = ["client", inprocess.iam.mcp_url, "--iam", "call", "run_aws_cli", "command=logs describe-log-groups"]
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=principal_env(), timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert log_group in completed.stdout


# -- stdio dispatch ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_sdk_client_stdio(stdio, log_group) -> None:
    await sdk_session_round_trip(stdio.none.mcp_url, log_group)
    assert '"dispatch":"stdio"' in stdio.log()


def test_inspector_cli_stdio(stdio) -> None:
    listed = inspector(stdio.none.mcp_url, "--method", "tools/list")
    assert "run_aws_cli" in {tool["name"] for tool in listed["tools"]}
    called = inspector(
        stdio.none.mcp_url, "--method", "tools/call", "--tool-name", "search_estat_data", "--tool-arg", "query=人口"
    )
    assert not called.get("isError")


# -- NONE with a bearer token (from SSM), 500 kB budget -----------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "error"),
    [(None, None), ("Bearer not-the-token", "invalid_token"), (f"Basic {base64.b64encode(b'a:b').decode()}", None)],
)
def test_token_refusals(guarded, authorization, error) -> None:
    headers = dict(ACCEPT)
    if authorization:
        headers["authorization"] = authorization
    response = post(guarded.none.mcp_url, headers=headers, json=_ping())
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="estat-aws-mcp"')
    assert (error in challenge) if error else ("error=" not in challenge)


@pytest.mark.anyio
async def test_token_accepted_by_sdk_client(guarded, log_group) -> None:
    await sdk_session_round_trip(guarded.none.mcp_url, log_group, headers={"Authorization": f"Bearer {TOKEN}"})
    assert TOKEN not in guarded.log()


@pytest.mark.anyio
async def test_a_page_over_the_budget_is_a_tool_error_that_says_how_to_page(guarded, store) -> None:
    uri = (store / "exports" / "ascii.csv").as_uri()
    async with connect_function_url(guarded.none.mcp_url, iam=False, token=TOKEN, function_timeout_s=60) as session:
        big = await session.call_tool("download_csv_from_s3", {"uri": uri, "max_bytes": 1_048_576})
        assert big.isError
        advice = text_of(big)
        assert "download_csv_from_s3" in advice and "max_bytes" in advice and "offset" in advice
        # Following the advice works, and the session is still alive.
        small = await session.call_tool("download_csv_from_s3", {"uri": uri, "max_bytes": 100_000})
        assert not small.isError


# -- the Lambda Invoke API (no Function URL) ----------------------------------------------------------


@pytest.mark.anyio
async def test_awslabs_lambda_invoke_client(inprocess, monkeypatch) -> None:
    """``mcp_lambda.lambda_function_client`` sends bare JSON-RPC with Invoke; the RIE serves that API."""
    from mcp_lambda import LambdaFunctionParameters, lambda_function_client

    for name, value in {**principal_env(), "AWS_ENDPOINT_URL_LAMBDA": inprocess.rie.url}.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    target = LambdaFunctionParameters(function_name="function", region_name=REGION)
    with anyio.fail_after(120):
        async with lambda_function_client(target) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            assert "search_estat_data" in {tool.name for tool in (await session.list_tools()).tools}
            result = await session.call_tool("search_estat_data", {"query": "人口"})
            assert not result.isError and CREDIT_NOTICE in text_of(result)
