"""The SigV4/bearer client helper and its CLI, against the Function URL emulator (in-process handler)."""

from __future__ import annotations

import json

import anyio
import pytest
from botocore.credentials import Credentials

from estat_aws_mcp.cli import main
from estat_aws_mcp.client import ClientConfigurationError, FunctionUrlHTTPError, connect_function_url
from estat_aws_mcp.client.cli import parse_arguments
from estat_aws_mcp.client.function_url import function_url_region, http_timeout, resolve_region
from estat_aws_mcp.lambda_handler.app import build_function_url_handler
from estat_aws_mcp.settings import Settings
from tests.lambda_handler.conftest import FakeLambdaContext, LogCapture, build_test_server
from tests.lambda_handler.function_url import FunctionUrlEmulator, IamPrincipal, direct_invoker

TOKEN = "client-test-token-0123456789"
PRINCIPAL = IamPrincipal(access_key="AKIAE2ECLIENT", secret_key="client-secret", session_token="client-session")
REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture(scope="module")
def handler(logs):
    return build_function_url_handler(Settings(ESTAT_MCP_AUTH_TOKEN=TOKEN), server=build_test_server(), log=logs.logger)


@pytest.fixture(scope="module")
def token_url(handler):
    emulator = FunctionUrlEmulator(direct_invoker(handler.handle, FakeLambdaContext)).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def iam_url(handler):
    emulator = FunctionUrlEmulator(
        direct_invoker(handler.handle, FakeLambdaContext), auth_type="AWS_IAM", region=REGION, principals=[PRINCIPAL]
    ).start()
    yield emulator
    emulator.stop()


def credentials(principal: IamPrincipal = PRINCIPAL, secret: str | None = None) -> Credentials:
    return Credentials(principal.access_key, secret or principal.secret_key, principal.session_token)


async def list_and_echo(url: str, **options) -> tuple[list[str], str]:
    async with connect_function_url(url, **options) as session:
        names = [tool.name for tool in (await session.list_tools()).tools]
        result = await session.call_tool("echo", {"text": "統計"})
        return names, result.content[0].text


@pytest.mark.anyio
async def test_bearer_token_session(token_url) -> None:
    names, echoed = await list_and_echo(token_url.mcp_url, iam=False, token=TOKEN)
    assert "echo" in names
    assert echoed == "統計"


@pytest.mark.anyio
@pytest.mark.parametrize("token", [None, "wrong"])
async def test_missing_or_wrong_token_is_a_clear_401(token_url, token) -> None:
    with anyio.fail_after(30), pytest.raises(FunctionUrlHTTPError) as raised:
        await list_and_echo(token_url.mcp_url, iam=False, token=token)
    assert raised.value.status == 401
    assert "WWW-Authenticate: Bearer" in str(raised.value)


@pytest.mark.anyio
async def test_sigv4_session_reaches_the_handler_as_the_iam_caller(iam_url, logs) -> None:
    names, echoed = await list_and_echo(iam_url.mcp_url, credentials=credentials(), region=REGION)
    assert "echo" in names and echoed == "統計"
    callers = {r.get("caller") for r in logs.records() if r["message"] == "mcp request"}
    assert PRINCIPAL.user_arn in callers
    assert PRINCIPAL.secret_key not in logs.text


@pytest.mark.anyio
async def test_sigv4_uses_the_standard_chain_and_aws_region(iam_url, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", PRINCIPAL.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PRINCIPAL.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", PRINCIPAL.session_token or "")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    names, _ = await list_and_echo(iam_url.mcp_url)
    assert "echo" in names


@pytest.mark.anyio
@pytest.mark.parametrize(
    "options",
    [
        {"credentials": credentials(secret="not-the-secret"), "region": REGION},
        {"credentials": credentials(), "region": "us-east-1"},
    ],
    ids=["wrong-secret", "wrong-region"],
)
async def test_bad_signatures_are_refused_with_403(iam_url, options) -> None:
    with anyio.fail_after(30), pytest.raises(FunctionUrlHTTPError) as raised:
        await list_and_echo(iam_url.mcp_url, **options)
    assert raised.value.status == 403


@pytest.mark.anyio
async def test_a_token_cannot_ride_on_an_iam_url(iam_url) -> None:
    with pytest.raises(ClientConfigurationError):
        await list_and_echo(iam_url.mcp_url, iam=True, token="x", credentials=credentials(), region=REGION)


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/", "ap-northeast-1"),
        ("https://abc123.lambda-url.us-gov-west-1.on.aws/mcp", "us-gov-west-1"),
        ("https://ABC123.LAMBDA-URL.EU-WEST-3.ON.AWS/mcp", "eu-west-3"),
        ("http://127.0.0.1:8080/mcp", None),
        ("https://example.com/mcp", None),
    ],
)
def test_region_from_the_url(url, region) -> None:
    assert function_url_region(url) == region


def test_region_precedence(monkeypatch) -> None:
    url = "https://abc.lambda-url.eu-west-1.on.aws/"
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert resolve_region(url, "ap-south-1") == "ap-south-1"
    assert resolve_region(url) == "eu-west-1"
    assert resolve_region("http://127.0.0.1:9/mcp") == "us-east-2"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ClientConfigurationError, match="--region"):
        resolve_region("http://127.0.0.1:9/mcp")


@pytest.mark.parametrize("function_timeout", [3.0, 60.0, 900.0])
def test_reads_wait_at_least_the_function_timeout(function_timeout) -> None:
    timeout = http_timeout(function_timeout)
    assert timeout.read >= function_timeout
    assert timeout.connect <= 10


SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "stats_code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "max_results": {"type": "integer"},
        "filters": {"type": "object"},
        "auto_suggest": {"type": "boolean"},
        "anything": {},
    },
}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (["query=人口 2020"], {"query": "人口 2020"}),
        (["query=2020"], {"query": "2020"}),
        (["stats_code=00200521"], {"stats_code": "00200521"}),
        (["max_results=5", "auto_suggest=false"], {"max_results": 5, "auto_suggest": False}),
        (['filters={"area": ["13000"]}'], {"filters": {"area": ["13000"]}}),
        (["anything=a=b"], {"anything": "a=b"}),
    ],
)
def test_arguments_are_typed_by_the_schema(pairs, expected) -> None:
    assert parse_arguments(pairs, SCHEMA) == expected


@pytest.mark.parametrize("pairs", [["nokey"], ["=x"], ["unknown=1"]])
def test_bad_arguments_are_refused(pairs) -> None:
    with pytest.raises(ValueError):
        parse_arguments(pairs, SCHEMA)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_cli_lists_and_calls_with_a_token(token_url, capsys) -> None:
    code, out, _ = run_cli(capsys, "client", token_url.mcp_url, "--token", TOKEN, "tools")
    assert code == 0
    assert any(line.startswith("echo\t") for line in out.splitlines())
    code, out, _ = run_cli(capsys, "client", token_url.mcp_url, "--token", TOKEN, "call", "echo", "text=2020")
    assert (code, out.strip()) == (0, "2020")
    code, out, _ = run_cli(capsys, "client", token_url.mcp_url, "--token", TOKEN, "--json", "call", "echo", "text=x")
    assert json.loads(out)["content"][0]["text"] == "x"


def test_cli_reports_tool_errors_and_refusals(token_url, capsys) -> None:
    code, _, err = run_cli(capsys, "client", token_url.mcp_url, "--token", TOKEN, "call", "fails")
    assert code == 1 and "broken on purpose" in err
    code, _, err = run_cli(capsys, "client", token_url.mcp_url, "--token", TOKEN, "call", "nope")
    assert code == 2 and "no tool named" in err
    code, _, err = run_cli(capsys, "client", token_url.mcp_url, "--token", "wrong", "tools")
    assert code == 2 and "HTTP 401" in err
    assert TOKEN not in err


def test_cli_signs_with_iam(iam_url, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", PRINCIPAL.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PRINCIPAL.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", PRINCIPAL.session_token or "")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    code, out, _ = run_cli(capsys, "client", iam_url.mcp_url, "--iam", "--region", REGION, "call", "echo", "text=ok")
    assert (code, out.strip()) == (0, "ok")
    code, _, err = run_cli(capsys, "client", iam_url.mcp_url, "--iam", "--region", "us-west-2", "tools")
    assert code == 2 and "403" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["client", "U", "--iam", "--region", "eu-west-1", "tools"],
        ["client", "U", "tools", "--iam", "--region", "eu-west-1"],
        ["client", "U", "--iam", "call", "echo", "text=x", "--region", "eu-west-1"],
    ],
)
def test_connection_options_before_or_after_the_action(argv) -> None:
    from estat_aws_mcp.cli import build_parser

    args = build_parser().parse_args(argv)
    assert (args.iam, args.region, args.timeout) == (True, "eu-west-1", 900.0)


@pytest.mark.anyio
async def test_sigv4_with_a_named_profile(iam_url, tmp_path, monkeypatch) -> None:
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        "[analyst]\n"
        f"aws_access_key_id = {PRINCIPAL.access_key}\n"
        f"aws_secret_access_key = {PRINCIPAL.secret_key}\n"
        f"aws_session_token = {PRINCIPAL.session_token}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    names, _ = await list_and_echo(iam_url.mcp_url, profile="analyst", region=REGION)
    assert "echo" in names
    with pytest.raises(ClientConfigurationError, match="analyst-missing"):
        await list_and_echo(iam_url.mcp_url, profile="analyst-missing", region=REGION)
