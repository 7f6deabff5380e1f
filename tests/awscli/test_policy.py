"""The allowlist: packaged data, operator extensions, fail-closed loading, fixed credential denials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from estat_aws_mcp.awscli import policy as policy_module
from estat_aws_mcp.awscli.policy import (
    CREDENTIAL_OPERATIONS,
    load_packaged_document,
    load_policy,
    parse_extra_operations,
)
from estat_aws_mcp.awscli.service import run_aws_cli
from estat_aws_mcp.errors import ConfigurationError


@pytest.fixture(autouse=True)
def unreachable_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.delenv("ESTAT_MCP_AWSCLI_POLICY_FILE", raising=False)
    monkeypatch.delenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", raising=False)
    yield


def test_packaged_policy_is_read_only_cloudwatch() -> None:
    policy = load_policy()
    assert policy.version == 1 and policy.sources == ("policy.json",)
    assert {service for service, _ in policy.operations} == {"logs", "cloudwatch"}
    for (_service, operation), _rule in policy.operations.items():
        assert operation.split("-")[0] in {"describe", "get", "list", "filter", "test"}
    for original in (
        ("logs", "describe-log-groups"),
        ("logs", "filter-log-events"),
        ("cloudwatch", "list-metrics"),
        ("cloudwatch", "describe-alarms"),
    ):
        assert original in policy.operations
    assert "--unmask" in policy.rule_for("logs", "filter-log-events").denied_parameters
    assert not set(policy.operations) & CREDENTIAL_OPERATIONS


def test_packaged_operations_exist_in_awscli() -> None:
    from estat_aws_mcp.awscli.runner import create_driver

    table = create_driver()._get_command_table()
    for service, operation in load_policy().operations:
        assert operation in table[service]._get_command_table(), (service, operation)


def test_extension_by_file_and_env(tmp_path: Path) -> None:
    extra = tmp_path / "policy.json"
    extra.write_text(
        json.dumps(
            {
                "version": 1,
                "services": {
                    "logs": {
                        "operations": {"start-query": {}, "describe-log-groups": {"deny_parameters": {"--limit": "x"}}}
                    },
                    "s3api": {"operations": {"list-buckets": {}}},
                },
            }
        )
    )
    policy = load_policy(policy_file=str(extra), extra_operations="ssm:get-parameter, sts:get-caller-identity")
    assert ("logs", "start-query") in policy.operations and ("s3api", "list-buckets") in policy.operations
    assert ("ssm", "get-parameter") in policy.operations and ("sts", "get-caller-identity") in policy.operations
    assert policy.rule_for("logs", "describe-log-groups").denied_parameters == {"--limit": "x"}
    # Extensions add denies; they never drop a packaged one.
    assert "--unmask" in policy.rule_for("logs", "filter-log-events").denied_parameters
    assert policy.sources == ("policy.json", "ESTAT_MCP_AWSCLI_POLICY_FILE", "ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS")


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"version": 2, "services": {}},
        {"version": 1},
        {"version": 1, "services": {"logs": {"operations": {"bad name": {}}}}},
        {"version": 1, "services": {"logs": {"operations": {"describe-log-groups": {"allow_all": True}}}}},
        {"version": 1, "services": {"logs": {"operations": {"describe-log-groups": {"deny_parameters": ["--x"]}}}}},
        {"version": 1, "services": {"Logs!": {"operations": {}}}},
        {"version": 1, "services": {}, "extra": 1},
    ],
)
def test_invalid_extension_file_fails_closed(document: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigurationError):
        load_policy(policy_file=str(path))
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_POLICY_FILE", str(path))
    result = run_aws_cli("aws logs describe-log-groups")
    assert (result.decision, result.rule) == ("denied", "policy_unavailable")


@pytest.mark.parametrize("spec", ["logs", "logs:", ":x", "logs:Start_Query", "a:b:c", "logs start-query"])
def test_invalid_extra_operations_fail_closed(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError):
        parse_extra_operations(spec)
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", spec)
    assert run_aws_cli("aws logs describe-log-groups").rule == "policy_unavailable"


def test_policy_follows_changes_to_settings_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from estat_aws_mcp.awscli.policy import load_policy_from_settings

    assert ("logs", "start-query") not in load_policy_from_settings().operations
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", "logs:start-query")
    assert ("logs", "start-query") in load_policy_from_settings().operations
    monkeypatch.delenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS")
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"version": 1, "services": {"s3api": {"operations": {"list-buckets": {}}}}}))
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_POLICY_FILE", str(path))
    assert ("s3api", "list-buckets") in load_policy_from_settings().operations
    path.write_text(json.dumps({"version": 1, "services": {"s3api": {"operations": {"list-objects-v2": {}}}}}))
    policy = load_policy_from_settings()
    assert ("s3api", "list-objects-v2") in policy.operations and ("s3api", "list-buckets") not in policy.operations


def test_missing_or_unreadable_policy_fails_closed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_POLICY_FILE", str(tmp_path / "missing.json"))
    assert run_aws_cli("aws logs describe-log-groups").rule == "policy_unavailable"
    (tmp_path / "notjson.json").write_text("{not json")
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_POLICY_FILE", str(tmp_path / "notjson.json"))
    assert run_aws_cli("aws logs describe-log-groups").rule == "policy_unavailable"


def test_broken_packaged_policy_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> object:
        raise OSError("package data missing")

    monkeypatch.setattr(policy_module, "load_packaged_document", broken)
    monkeypatch.setattr(policy_module, "_policy_cache", None)
    assert run_aws_cli("aws logs describe-log-groups").rule == "policy_unavailable"
    assert load_packaged_document  # the real loader is untouched outside this test


@pytest.mark.parametrize(
    ("extra", "command", "rule"),
    [
        ("sts:get-session-token", "aws sts get-session-token", "credential_operation"),
        (
            "secretsmanager:get-secret-value",
            "aws secretsmanager get-secret-value --secret-id x",
            "credential_operation",
        ),
        ("ecr:get-login-password", "aws ecr get-login-password", "credential_operation"),
        ("ecr:get-authorization-token", "aws ecr get-authorization-token", "credential_operation"),
        ("ec2:get-password-data", "aws ec2 get-password-data --instance-id i-1", "credential_operation"),
        ("ssm:get-parameter", "aws ssm get-parameter --name /db/password --with-decryption", "credential_parameter"),
        (
            "ssm:get-parameters-by-path",
            "aws ssm get-parameters-by-path --path / --with-decryption",
            "credential_parameter",
        ),
        ("apigateway:get-api-keys", "aws apigateway get-api-keys --include-values", "credential_parameter"),
        ("logs:start-live-tail", "aws logs start-live-tail --log-group-identifiers x", "custom_command"),
        ("s3api:get-object", "aws s3api get-object --bucket b --key k /tmp/out", "local_file_output"),
        ("lambda:invoke", "aws lambda invoke --function-name f /tmp/out", "local_file_output"),
        ("s3:ls", "aws s3 ls", "custom_command"),
        ("cloudwatch:wait", "aws cloudwatch wait alarm-exists", "custom_command"),
    ],
)
def test_configuration_cannot_open_what_is_always_denied(
    extra: str, command: str, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", extra)
    result = run_aws_cli(command)
    assert (result.decision, result.rule) == ("denied", rule), result.to_dict()


def test_extension_really_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """An extended operation passes every check and reaches AWS (here: a closed port)."""
    assert run_aws_cli("aws ssm get-parameter --name /app/region").rule == "operation_not_allowed"
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", "ssm:get-parameter")
    result = run_aws_cli("aws ssm get-parameter --name /app/region")
    assert result.decision == "allowed" and result.error == "cli_error"
