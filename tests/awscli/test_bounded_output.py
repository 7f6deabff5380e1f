"""Large answers: fewer items rather than cut text, with truncated / item_count / next_token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from estat_aws_mcp.awscli.service import run_aws_cli, to_call_tool_result
from estat_aws_mcp.limits import TEXT_OUTPUT_BUDGET_CHARS
from tests.awscli.conftest import BASE_MS, SeededAws, real_cli
from tests.fakes.moto_server import MotoServer

BIG_GROUP = "/aws/lambda/big"
EVENTS = 1200


@pytest.fixture(scope="module")
def big_logs(moto_server: MotoServer) -> Iterator[SeededAws]:
    import boto3

    moto_server.reset()
    env = moto_server.env()
    logs = boto3.client(
        "logs",
        endpoint_url=moto_server.url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    logs.create_log_group(logGroupName=BIG_GROUP)
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName=BIG_GROUP, logStreamName=stream)
    half = EVENTS // 2
    for offset, stream in ((0, "a"), (half, "b")):
        logs.put_log_events(
            logGroupName=BIG_GROUP,
            logStreamName=stream,
            logEvents=[
                {"timestamp": BASE_MS + i, "message": f"INFO 集計 row={i:05d} " + "データ" * 20}
                for i in range(offset, offset + half)
            ],
        )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield SeededAws(server=moto_server, env=env)


def _events(output: str) -> list[dict]:
    return json.loads(output)["events"]


def test_large_answer_returns_fewer_items_and_a_token(big_logs: SeededAws) -> None:
    result = run_aws_cli(f"aws logs filter-log-events --log-group-name {BIG_GROUP}")
    assert result.decision == "allowed" and result.exit_status == 0
    assert result.truncated and result.next_token
    assert len(result.output) <= TEXT_OUTPUT_BUDGET_CHARS
    events = _events(result.output)  # whole items: still valid JSON
    assert 0 < result.item_count == len(events) < EVENTS
    assert json.loads(result.output)["NextToken"] == result.next_token
    # The largest count that fits: one more item would not.
    bigger = run_aws_cli(
        f"aws logs filter-log-events --log-group-name {BIG_GROUP} --max-items {result.item_count + 1}",
        max_output_chars=100_000,
    )
    assert len(bigger.output) > TEXT_OUTPUT_BUDGET_CHARS
    # Exactly what the real CLI prints for that many items.
    reference = real_cli(
        ["logs", "filter-log-events", "--log-group-name", BIG_GROUP, "--max-items", str(result.item_count)]
    )
    assert result.output == reference.stdout


def test_next_token_pages_through_everything_once(big_logs: SeededAws) -> None:
    seen: list[str] = []
    token = None
    for _ in range(20):
        suffix = f" --starting-token {token}" if token else ""
        page = run_aws_cli(f"aws logs filter-log-events --log-group-name {BIG_GROUP}{suffix}", max_output_chars=100_000)
        assert page.exit_status == 0
        seen.extend(e["eventId"] for e in _events(page.output))
        token = page.next_token
        if not token:
            break
    assert len(seen) == EVENTS and len(set(seen)) == EVENTS


def test_text_output_is_bounded_and_ends_with_the_token(big_logs: SeededAws) -> None:
    result = run_aws_cli(
        f"aws logs filter-log-events --log-group-name {BIG_GROUP} --output text", max_output_chars=20_000
    )
    assert result.truncated and len(result.output) <= 20_000
    assert result.output.rstrip("\n").splitlines()[-1] == f"NEXTTOKEN\t{result.next_token}"
    assert sum(line.startswith("EVENTS\t") for line in result.output.splitlines()) == result.item_count


def test_budget_is_measured_on_formatted_output_not_raw_items(big_logs: SeededAws) -> None:
    result = run_aws_cli(f"aws logs filter-log-events --log-group-name {BIG_GROUP} --query 'length(events)'")
    assert result.output.strip() == str(EVENTS)
    assert not result.truncated and result.next_token is None


def test_small_pages_stop_fetching_at_the_budget(big_logs: SeededAws) -> None:
    result = run_aws_cli(
        f"aws logs filter-log-events --log-group-name {BIG_GROUP} --page-size 50", max_output_chars=5_000
    )
    assert result.truncated and result.next_token
    assert len(result.request_ids) < 10  # far fewer than the 24 pages the whole answer takes


def test_unpaginated_answer_is_cut_as_a_last_resort(big_logs: SeededAws) -> None:
    result = run_aws_cli(
        f"aws logs filter-log-events --log-group-name {BIG_GROUP} --no-paginate", max_output_chars=10_000
    )
    assert result.exit_status == 0 and result.truncated
    assert 0 < len(result.output) <= 10_000 and result.item_count is None


def test_hard_cap_applies_to_the_final_encoded_answer(big_logs: SeededAws) -> None:
    result = run_aws_cli(f"aws logs filter-log-events --log-group-name {BIG_GROUP}", max_output_chars=100_000)
    answer = to_call_tool_result(result, hard_cap_bytes=60_000)
    encoded = answer.model_dump_json(by_alias=True, exclude_none=True).encode()
    assert len(encoded) <= 60_000
    assert answer.structuredContent["truncated"] is True
    default = to_call_tool_result(run_aws_cli(f"aws logs filter-log-events --log-group-name {BIG_GROUP}"))
    assert len(default.model_dump_json(by_alias=True, exclude_none=True).encode()) < 1024 * 1024
