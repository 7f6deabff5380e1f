"""The credentials in the environment never appear in any answer or log line, on any path."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import pytest

from estat_aws_mcp.awscli import runner, service
from estat_aws_mcp.awscli.service import run_aws_cli, to_call_tool_result
from estat_aws_mcp.deadline import invocation_deadline
from tests.awscli.conftest import BASE_MS, LOG_GROUP, SeededAws

CANARIES = {
    "AWS_ACCESS_KEY_ID": "AKIAH4LEAKCANARY7Q2Z",
    "AWS_SECRET_ACCESS_KEY": "h4/LeakCanarySecret+0123456789abcdefghijKL",
    "AWS_SESSION_TOKEN": "H4LeakCanarySessionToken//" + "Zx9" * 40,
    "ESTAT_APP_ID": "h4leakcanaryappid0123456789abcdef",
}
# Substrings distinctive enough that no legitimate output contains them.
MARKERS = ("LEAKCANARY", "LeakCanary", "leakcanary")

COMMANDS = [
    "aws logs describe-log-groups",
    "aws logs describe-log-groups --output text",
    "aws cloudwatch describe-alarms --output table",
    "aws sts get-caller-identity",  # allowed by the extension below; its answer names the caller
    "aws logs filter-log-events --log-group-name /aws/lambda/missing",  # AWS-side error
    f"aws logs get-log-events --log-group-name {LOG_GROUP}",  # argparse: required option missing
    "aws cloudwatch get-metric-statistics --namespace N --metric-name M --start-time not-a-date "
    "--end-time 2025-01-01 --period 60 --statistics Sum",  # parameter parsing error
    "aws logs describe-log-groups --debug",
    "aws logs describe-log-groups --endpoint-url http://127.0.0.1:9",
    "aws logs filter-log-events --log-group-name file:///proc/self/environ",
    "aws sts get-session-token",
    "aws configure get aws_secret_access_key",
    "aws logs describe-log-groups $AWS_SECRET_ACCESS_KEY",
    f"aws logs describe-log-groups --log-group-name-prefix {CANARIES['AWS_SECRET_ACCESS_KEY']}",
]


@pytest.fixture
def canary_env(seeded_aws: SeededAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in CANARIES.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", "sts:get-caller-identity")
    yield


def _assert_clean(text: str) -> None:
    for secret in CANARIES.values():
        assert secret not in text
    for marker in MARKERS:
        assert marker not in text


def _everything(result) -> str:
    answer = to_call_tool_result(result)
    return json.dumps(result.to_dict(), ensure_ascii=False) + answer.model_dump_json()


@pytest.mark.parametrize("command", COMMANDS)
def test_no_credential_in_any_answer_or_log(command: str, canary_env: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    result = run_aws_cli(command)
    _assert_clean(_everything(result))
    _assert_clean(caplog.text)


def test_the_paths_above_are_really_taken(canary_env: None) -> None:
    outcomes = {command: run_aws_cli(command) for command in COMMANDS[3:8]}
    identity, aws_error, usage, param_error, debug = outcomes.values()
    assert identity.exit_status == 0 and identity.service == "sts"
    assert aws_error.error == "aws_error"
    assert (usage.decision, usage.rule) == ("denied", "cli_usage_error")
    assert param_error.error == "cli_error" and param_error.stderr
    assert debug.rule == "debug_output"


def test_secret_inside_aws_data_is_redacted(canary_env: None, seeded_aws: SeededAws) -> None:
    import boto3

    logs = boto3.client("logs", endpoint_url=seeded_aws.server.url, region_name="ap-northeast-1")
    logs.create_log_group(logGroupName="/app/leaky")
    logs.create_log_stream(logGroupName="/app/leaky", logStreamName="s")
    leaked = f"config dump: secret={CANARIES['AWS_SECRET_ACCESS_KEY']} token={CANARIES['AWS_SESSION_TOKEN']}"
    logs.put_log_events(
        logGroupName="/app/leaky", logStreamName="s", logEvents=[{"timestamp": BASE_MS, "message": leaked}]
    )
    for output in ("json", "text", "table"):
        result = run_aws_cli(f"aws logs filter-log-events --log-group-name /app/leaky --output {output}")
        assert result.exit_status == 0 and "[REDACTED]" in result.output
        _assert_clean(_everything(result))


def test_connection_error_path(canary_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    result = run_aws_cli("aws logs describe-log-groups")
    assert result.error == "cli_error" and "Could not connect" in result.stderr
    _assert_clean(_everything(result))


def test_deadline_path(canary_env: None) -> None:
    with invocation_deadline(0):
        result = run_aws_cli("aws logs describe-log-groups")
    assert result.error == "deadline_exceeded"
    _assert_clean(_everything(result))


def test_internal_error_path(
    canary_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise RuntimeError(f"boom {CANARIES['AWS_SECRET_ACCESS_KEY']}")

    monkeypatch.setattr(runner, "create_driver", explode)
    result = run_aws_cli("aws logs describe-log-groups")
    assert (result.decision, result.rule) == ("denied", "internal_error")
    _assert_clean(_everything(result))
    _assert_clean(caplog.text)


def test_policy_failure_path(
    canary_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ESTAT_MCP_AWSCLI_POLICY_FILE", f"/nonexistent/{CANARIES['AWS_SECRET_ACCESS_KEY']}.json")
    result = run_aws_cli("aws logs describe-log-groups")
    assert result.rule == "policy_unavailable"
    _assert_clean(_everything(result))
    _assert_clean(caplog.text)


def test_through_the_mcp_tool_surface(canary_env: None) -> None:
    from mcp.shared.memory import create_connected_server_and_client_session

    from estat_aws_mcp.tools.server import build_server

    async def call_all() -> list[str]:
        async with create_connected_server_and_client_session(build_server()) as client:
            texts = []
            for command in COMMANDS:
                answer = await client.call_tool("run_aws_cli", {"command": command})
                texts.append(answer.model_dump_json())
            return texts

    for text in anyio.run(call_all):
        _assert_clean(text)


def test_redaction_covers_every_string_field() -> None:
    result = service.AwsCliResult(
        decision="allowed", output="a SECRETVALUE1234 b", stderr="SECRETVALUE1234", request_ids=["SECRETVALUE1234"]
    )
    service._redact_result(result, ["SECRETVALUE1234"])
    assert "SECRETVALUE1234" not in json.dumps(result.to_dict())


# JMESPath expressions that transform the data: before redaction moved ahead of --query, the first one
# returned the secret reversed (issue 15 item 8).
TRANSFORMING_QUERIES = [
    "reverse(events[0].message)",
    "map(&reverse(message), events)",
    "join('', reverse(events[].message))",
    "join('|', events[].message)",
    "to_string(events)",
    "sort_by(events, &message)[].message",
    "max_by(events, &message).message",
    "events[?contains(message, 'h4/')].message",
    "events[?starts_with(message, 'config')].message | [0]",
    "to_array(reverse(events[0].message))",
    "events[0].message[::-1]",
    "length(events[?contains(message, 'LeakCanarySecret')])",
]


def _assert_no_form_of_any_secret(text: str) -> None:
    folded = text.casefold()
    for secret in CANARIES.values():
        for form in (secret, secret[::-1]):
            for start in range(0, len(form) - 8):
                assert form[start : start + 8].casefold() not in folded, (form[start : start + 8], text[:300])


@pytest.fixture
def leaky_group(canary_env: None, seeded_aws: SeededAws) -> str:
    import boto3

    logs = boto3.client("logs", endpoint_url=seeded_aws.server.url, region_name="ap-northeast-1")
    group = "/app/leaky-query"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        return group  # seeded by an earlier test on the same moto server
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    events = [
        f"config dump: secret={CANARIES['AWS_SECRET_ACCESS_KEY']} key={CANARIES['AWS_ACCESS_KEY_ID']}",
        f"token={CANARIES['AWS_SESSION_TOKEN']} appId={CANARIES['ESTAT_APP_ID']}",
        "an ordinary line",
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": BASE_MS + i, "message": message} for i, message in enumerate(events)],
    )
    return group


@pytest.mark.parametrize("output", ["json", "text"])
@pytest.mark.parametrize("query", TRANSFORMING_QUERIES)
def test_redaction_survives_transforming_queries(leaky_group: str, query: str, output: str) -> None:
    command = f'aws logs filter-log-events --log-group-name {leaky_group} --query "{query}" --output {output}'
    result = run_aws_cli(command)
    assert result.decision == "allowed" and result.exit_status == 0, result
    _assert_no_form_of_any_secret(_everything(result))


def test_the_secret_is_redacted_before_the_query_sees_it(leaky_group: str) -> None:
    """reverse() runs on the redacted text: the answer is the reversed marker, not a refusal or an empty string."""
    command = f"aws logs filter-log-events --log-group-name {leaky_group} --query 'reverse(events[0].message)'"
    result = run_aws_cli(command + " --output text")
    assert "]DETCADER[" in result.output
    searched = run_aws_cli(
        f"aws logs filter-log-events --log-group-name {leaky_group} "
        "--query \"length(events[?contains(message, 'LeakCanarySecret')])\" --output text"
    )
    assert searched.output.strip() == "0"  # no comparison against the secret's characters either


def test_transformed_secret_forms_are_detected() -> None:
    from estat_aws_mcp.awscli.redaction import defeated_redaction, redact_data

    secrets = [CANARIES["AWS_SECRET_ACCESS_KEY"]]
    secret = secrets[0]
    assert defeated_redaction(f"x {secret[::-1]} y", secrets)
    assert defeated_redaction(secret.upper(), secrets)
    assert defeated_redaction("-".join(secret), secrets)
    assert defeated_redaction(json.dumps(list(secret)), secrets)
    assert not defeated_redaction("[REDACTED] an ordinary line", secrets)
    data = {"events": [{"message": f"a {secret} b", secret: (secret, 1)}], "n": 3}
    assert redact_data(data, secrets) == {
        "events": [{"message": "a [REDACTED] b", "[REDACTED]": ("[REDACTED]", 1)}],
        "n": 3,
    }
