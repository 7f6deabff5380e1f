# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""The people's CLI (check, search, describe) run against the fake e-Stat; its answers match the tools'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estat_aws_mcp.cli import main
from estat_aws_mcp.console import display_width, format_table
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.tools.server import build_server
from tests.estat.conftest import TEST_APP_ID, _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import FakeEstat
from tests.tools.mcp_calls import call_tool


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_estat: FakeEstat) -> Path:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    for name in (
        "ESTAT_MCP_SQL_ENGINE",
        "ESTAT_MCP_AUTH_MODE",
        "ESTAT_MCP_AUTH_TOKEN",
        "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER",
        "ESTAT_APP_ID_SSM_PARAMETER",
    ):
        monkeypatch.delenv(name, raising=False)
    return root


def test_check_all_good_locally(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check"], capsys)
    assert code == 0, out
    assert out.count("OK ") >= 4 and "all checks passed" in out
    assert "accepted by e-Stat" in out and "is writable" in out and "DuckDB" in out
    assert "SKIP  AWS" in out and "mode none" in out
    assert TEST_APP_ID not in out  # never the secret itself
    assert not list((local_env / "checks").glob("*"))  # the probe is cleaned up


def test_check_reports_what_is_wrong_and_how_to_fix_it(
    local_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ESTAT_APP_ID", "wrong-app-id-123")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(blocker / "store"))
    monkeypatch.setenv("ESTAT_MCP_AUTH_MODE", "token")
    code, out, _ = run(["check"], capsys)
    assert code == 1
    assert "FAIL  e-Stat appId" in out and "STATUS 100" in out and "https://www.e-stat.go.jp/api/" in out
    assert "FAIL  dataset store" in out and "fix: point ESTAT_MCP_STORAGE_URI at a folder" in out
    assert "SKIP  SQL engine" in out and "fix the store first" in out
    assert "FAIL  auth" in out and "no token is configured" in out
    assert "3 check(s) failed" in out and "wrong-app-id-123" not in out


def test_check_without_an_app_id(local_env: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("ESTAT_APP_ID")
    code, out, _ = run(["check"], capsys)
    assert code == 1 and "no appId configured" in out and "set ESTAT_APP_ID" in out


def test_check_aws_backends(local_env: Path, aws_env, monkeypatch, capsys) -> None:
    from estat_aws_mcp.aws.clients import aws_client

    s3_bucket = "estat-check-bucket"
    aws_client("s3").create_bucket(Bucket=s3_bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", f"s3://{s3_bucket}/estat")
    code, out, _ = run(["check"], capsys)
    assert code == 0, out
    assert "OK    AWS" in out and "region ap-northeast-1 (for S3 store)" in out
    assert f"s3://{s3_bucket}/estat is writable" in out
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    from estat_aws_mcp.aws.clients import reset_session_cache

    reset_session_cache()
    code, out, _ = run(["check"], capsys)
    assert code == 1 and "FAIL  AWS" in out and "set AWS_REGION" in out


def test_check_reads_the_oauth_settings_held_in_ssm(local_env: Path, aws_env, monkeypatch, capsys) -> None:
    from estat_aws_mcp.aws.clients import aws_client

    parameter = "/estat-aws-mcp/check/oauth/public-url"
    monkeypatch.setenv("ESTAT_MCP_AUTH_MODE", "oauth")
    monkeypatch.setenv(
        "ESTAT_MCP_OAUTH_ISSUER", "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_Check"
    )
    monkeypatch.setenv("ESTAT_MCP_OAUTH_CLIENT_IDS", "check-client")
    monkeypatch.setenv("ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER", parameter)
    code, out, _ = run(["check"], capsys)
    assert code == 1 and "FAIL  auth" in out and f"SSM parameter '{parameter}' does not exist" in out
    aws_client("ssm").put_parameter(Name=parameter, Value="https://mcp.example.test", Type="String")
    code, out, _ = run(["check"], capsys)
    assert "OK    auth" in out and "public URL https://mcp.example.test (SSM)" in out, out


async def _tool_answer(name: str, arguments: dict) -> dict:
    result = await call_tool(build_server(), name, arguments)
    return result.structuredContent


def test_search_prints_the_tool_answer_as_a_table(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import anyio

    code, out, _ = run(["search", "男女別人口", "--json"], capsys)
    assert code == 0
    cli_answer = json.loads(out)
    tool_answer = anyio.run(_tool_answer, "search_estat_data", {"query": "男女別人口"})
    assert cli_answer == tool_answer

    code, out, _ = run(["search", "男女別", "人口"], capsys)
    assert code == 0
    assert "stats_data_id" in out and CREDIT_NOTICE in out
    for table in cli_answer["results"][:3]:
        assert table["stats_data_id"] in out


def test_search_refuses_a_bad_query_without_a_traceback(local_env: Path, capsys) -> None:
    code, _, err = run(["search", "x" * 300], capsys)
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_describe_prints_axes_and_items(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import anyio

    code, out, _ = run(["describe", "0003445078", "--json"], capsys)
    assert code == 0
    assert json.loads(out) == anyio.run(_tool_answer, "describe_estat_table", {"stats_data_id": "0003445078"})

    code, out, _ = run(["describe", "3445078", "--axis", "area", "--search", "東京"], capsys)
    assert code == 0
    assert "[area]" in out and "13000" in out and "東京都" in out and "hierarchical axes" in out
    assert CREDIT_NOTICE in out
    code, _, err = run(["describe", "abc"], capsys)
    assert code == 2 and "invalid stats_data_id" in err


def test_format_table_aligns_wide_characters() -> None:
    text = format_table(["code", "name"], [["13000", "東京都"], ["1", "x"]])
    lines = text.splitlines()
    assert display_width(lines[2]) == display_width("13000  東京都")
    assert lines[3] == "1      x"
    assert format_table(["a"], [["長" * 100]], max_width=10).splitlines()[2].endswith("…")


def test_datasets_list_and_delete(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import anyio

    fetched = anyio.run(_tool_answer, "fetch_dataset_auto", {"stats_data_id": "0003445078"})
    code, out, _ = run(["datasets"], capsys)
    assert code == 0 and fetched["dataset_id"] in out and "1 dataset(s)" in out and "42" in out
    code, out, _ = run(["datasets", "--json"], capsys)
    assert json.loads(out)["datasets"][0]["dataset_id"] == fetched["dataset_id"]
    code, out, _ = run(["datasets", "--delete", fetched["dataset_id"]], capsys)
    assert code == 0 and out.startswith(f"deleted {fetched['dataset_id']}")
    code, out, _ = run(["datasets"], capsys)
    assert "0 dataset(s)" in out
    code, _, err = run(["datasets", "--delete", "../x"], capsys)
    assert code == 2 and "invalid dataset_id" in err
