"""run_aws_cli prints what the real ``aws`` executable prints against the same (moto) endpoint."""

from __future__ import annotations

import json
import shlex
from concurrent.futures import ThreadPoolExecutor

import pytest

from estat_aws_mcp.awscli.service import run_aws_cli
from tests.awscli.conftest import BASE_MS, LOG_GROUP, SeededAws, real_cli

# The four original commands first, then realistic variants that combine several features each
# (every reference run starts a real CLI process, ~1.4 s of CPU, so the list stays short).
COMMANDS = [
    "aws logs describe-log-groups",
    f"aws logs filter-log-events --log-group-name {LOG_GROUP} --limit 10",
    "aws cloudwatch list-metrics --namespace AWS/Lambda",
    "aws cloudwatch describe-alarms",
    # quoted filter pattern with spaces, --start-time, text output
    f"aws logs filter-log-events --log-group-name {LOG_GROUP} --filter-pattern '\"Task timed out\"' "
    f"--start-time {BASE_MS + 10_000} --output text",
    # two-term pattern (Japanese messages match), --max-items and --query
    f"aws logs filter-log-events --log-group-name {LOG_GROUP} --filter-pattern 'ERROR timeout' --max-items 3 "
    "--query 'events[].[eventId,message]'",
    # table output with Japanese text (column widths)
    "aws cloudwatch describe-alarms --output table",
    # global option first, text output with the NextToken line, --opt=value form
    "aws --region ap-northeast-1 logs describe-log-groups --log-group-name-prefix=/aws/lambda --max-items 1 --output text",
    # an AWS-side error: same exit status and message
    "aws logs filter-log-events --log-group-name /aws/lambda/missing",
]


@pytest.fixture(scope="module")
def references(seeded_aws: SeededAws) -> dict[str, object]:
    """Reference runs of the real CLI, started together (each costs ~1.5 s of interpreter start-up)."""

    def reference(command: str) -> object:
        words = shlex.split(command)
        return real_cli(words[1:] if words[0] == "aws" else words)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(COMMANDS, pool.map(reference, COMMANDS), strict=True))


@pytest.mark.parametrize("command", COMMANDS)
def test_same_output_as_the_real_cli(command: str, references: dict[str, object], seeded_aws: SeededAws) -> None:
    reference = references[command]
    result = run_aws_cli(command)
    assert result.decision == "allowed"
    assert result.exit_status == reference.returncode, (result.to_dict(), reference.stderr)
    assert result.output == reference.stdout
    if reference.returncode:
        assert result.stderr == reference.stderr.strip()


def test_original_commands_show_the_seeded_data(seeded_aws: SeededAws) -> None:
    groups = json.loads(run_aws_cli("aws logs describe-log-groups").output)
    assert {g["logGroupName"] for g in groups["logGroups"]} == {LOG_GROUP, "/aws/lambda/batch"}
    events = run_aws_cli(f"aws logs filter-log-events --log-group-name {LOG_GROUP} --filter-pattern エラー")
    assert "タイムアウト" in events.output
    assert events.request_ids and events.item_count == len(json.loads(events.output)["events"]) > 0
    metrics = json.loads(run_aws_cli("aws cloudwatch list-metrics --namespace AWS/Lambda").output)
    assert {m["MetricName"] for m in metrics["Metrics"]} == {"Invocations", "Errors", "Duration"}
    alarms = run_aws_cli("aws cloudwatch describe-alarms --query 'MetricAlarms[].AlarmDescription' --output text")
    assert "エラー監視" in alarms.output


def test_aws_side_error_is_allowed_but_an_error(seeded_aws: SeededAws) -> None:
    result = run_aws_cli("aws logs filter-log-events --log-group-name /aws/lambda/missing")
    assert (result.decision, result.error, result.aws_error_code) == (
        "allowed",
        "aws_error",
        "ResourceNotFoundException",
    )
    assert result.exit_status == 255 and result.request_ids and result.is_error


def test_max_items_gives_a_token_that_continues(seeded_aws: SeededAws) -> None:
    first = run_aws_cli(f"aws logs filter-log-events --log-group-name {LOG_GROUP} --max-items 5")
    assert first.item_count == 5 and first.next_token and not first.truncated
    rest = run_aws_cli(
        f"aws logs filter-log-events --log-group-name {LOG_GROUP} --max-items 100 --starting-token {first.next_token}"
    )
    first_ids = [e["eventId"] for e in json.loads(first.output)["events"]]
    rest_ids = [e["eventId"] for e in json.loads(rest.output)["events"]]
    assert rest.item_count == 19 and rest.next_token is None
    assert not set(first_ids) & set(rest_ids)
