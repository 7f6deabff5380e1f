"""Runner internals: the fitting search, defence in depth, fresh state per call, deadline, audit."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import time
from functools import partial

import pytest

from estat_aws_mcp.awscli.runner import _OperationRunner, create_driver, run_validated
from estat_aws_mcp.awscli.service import RESPONSE_RESERVE_S, call_deadline, run_aws_cli
from estat_aws_mcp.awscli.validator import ValidatedCommand
from estat_aws_mcp.deadline import current_deadline, invocation_deadline
from tests.awscli.conftest import LOG_GROUP, SeededAws


@pytest.mark.parametrize("seed", range(30))
def test_largest_fitting_finds_the_maximum(seed: int) -> None:
    rng = random.Random(seed)
    most = rng.randint(1, 400)
    sizes = [0]
    for _ in range(most):
        sizes.append(sizes[-1] + rng.randint(1, 50))
    budget = rng.randint(1, sizes[-1] + 100)
    runner = _OperationRunner(None, "logs", "FilterLogEvents", None, budget, 0.0)
    calls: list[int] = []

    def render(count: int):
        calls.append(count)
        return "x" * sizes[count], count

    guess_items = rng.randint(1, most)
    found = runner._largest_fitting(render, most, measured_items=guess_items, measured_chars=sizes[guess_items])
    expected = max((k for k in range(1, most + 1) if sizes[k] <= budget), default=None)
    assert (found[1] if found else None) == expected
    assert len(calls) <= 24


def _manual(argv: list[str]) -> ValidatedCommand:
    """A command that skipped the validator, to exercise the runner's own guards."""
    return ValidatedCommand(service=argv[0], operation=argv[1], argv=argv)


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        (["logs", "filter-log-events", "--log-group-name", "file:///etc/passwd"], "file_or_url_value"),
        (["logs", "filter-log-events", "--log-group-name", "http://127.0.0.1:9001/x"], "file_or_url_value"),
        (
            ["logs", "filter-log-events", "--log-group-name", "x", "--log-stream-names", "fileb:///etc/hostname"],
            "file_or_url_value",
        ),
        (
            ["cloudwatch", "list-metrics", "--dimensions", "Name=a,Value@=file:///etc/hostname"],
            "shorthand_file_reference",
        ),
        (["logs", "describe-log-groups", "--cli-input-json", "file:///etc/passwd"], "file_or_url_value"),
        (["logs", "describe-log-groups", "--cli-input-json", '{"limit": 1}'], "cli_input_json"),
    ],
)
def test_runner_refuses_file_and_url_values_even_without_the_validator(
    argv: list[str], rule: str, seeded_aws: SeededAws
) -> None:
    outcome = run_validated(_manual(argv), create_driver(), budget_chars=10_000, deadline=time.monotonic() + 10)
    assert outcome.state.denied is not None and outcome.state.denied.rule == rule
    assert "root:" not in outcome.output + outcome.stderr
    assert not outcome.state.operation_ran


def test_no_state_leaks_between_calls(seeded_aws: SeededAws) -> None:
    west = run_aws_cli("aws logs describe-log-groups --region us-west-2 --output text")
    assert west.region == "us-west-2" and west.output == ""  # moto keeps regions apart
    default = run_aws_cli("aws logs describe-log-groups")
    assert default.region == "ap-northeast-1" and LOG_GROUP in default.output
    assert default.output_format == "json"
    logger = logging.getLogger("awscli")
    assert not [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]


def test_invocation_deadline_reaches_worker_threads_and_ends() -> None:
    import anyio

    assert current_deadline() is None
    with invocation_deadline(30) as deadline:
        seen = anyio.run(lambda: anyio.to_thread.run_sync(current_deadline))
        assert seen == deadline
        assert call_deadline() <= deadline - RESPONSE_RESERVE_S + 0.01
    assert current_deadline() is None


def test_passed_deadline_stops_before_asking_aws(seeded_aws: SeededAws) -> None:
    with invocation_deadline(RESPONSE_RESERVE_S / 2):
        result = run_aws_cli("aws logs describe-log-groups")
    assert (result.decision, result.error, result.exit_status) == ("allowed", "deadline_exceeded", 255)
    assert result.request_ids == [] and result.is_error


def test_one_audit_line_per_call(seeded_aws: SeededAws, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="estat_aws_mcp.awscli.audit")
    run_aws_cli(
        f"aws logs filter-log-events --log-group-name {LOG_GROUP} --filter-pattern 'secret words' --limit 5",
        request_id="r-1",
    )
    run_aws_cli("aws logs describe-log-groups --endpoint-url http://evil.example")
    records = [r for r in caplog.records if r.name == "estat_aws_mcp.awscli.audit"]
    assert len(records) == 2
    allowed, denied = (json.loads(r.getMessage()) for r in records)
    assert records[0].levelno == logging.INFO and records[1].levelno == logging.WARNING
    assert allowed["request_id"] == "r-1" and allowed["decision"] == "allowed"
    assert (allowed["service"], allowed["operation"], allowed["region"]) == (
        "logs",
        "filter-log-events",
        "ap-northeast-1",
    )
    assert allowed["aws_request_ids"] and allowed["duration_ms"] >= 0 and allowed["output_chars"] > 0
    assert "secret words" not in allowed["command"] and "--limit 5" in allowed["command"]
    assert (denied["decision"], denied["rule"]) == ("denied", "endpoint_override")
    assert "evil.example" not in denied["command"]


def test_building_the_server_and_importing_the_tool_do_not_import_awscli() -> None:
    code = (
        "import sys; import estat_aws_mcp.tools.aws_cli, estat_aws_mcp.awscli.service; "
        "print('awscli' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_awscli_does_not_swap_the_process_botocore() -> None:
    code = (
        "import os, importlib.metadata as md; os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1'); "
        "from estat_aws_mcp.awscli.runner import create_driver; create_driver(); "
        "import boto3, botocore; print(botocore.__version__ == md.version('botocore'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_other_threads_output_never_lands_in_an_answer(
    seeded_aws: SeededAws, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    from estat_aws_mcp.awscli import runner

    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            sys.stderr.write("OTHER-THREAD-NOISE\n")
            sys.stdout.write("OTHER-THREAD-NOISE\n")
            time.sleep(0.0005)

    original = runner._OperationRunner.__call__

    def slow_call(self, *args, **kwargs):
        time.sleep(0.05)  # let the other thread write while the call's streams are captured
        return original(self, *args, **kwargs)

    thread = threading.Thread(target=chatter)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner._OperationRunner, "__call__", slow_call)
        thread.start()
        try:
            ok = run_aws_cli("aws logs describe-log-groups")
            failed = run_aws_cli("aws logs filter-log-events --log-group-name /aws/lambda/missing")
        finally:
            stop.set()
            thread.join()
    assert ok.exit_status == 0 and failed.exit_status == 255
    for result in (ok, failed):
        assert "OTHER-THREAD-NOISE" not in result.output + result.stderr
    assert "OTHER-THREAD-NOISE" in capsys.readouterr().err


def test_clients_are_reused_only_for_the_same_endpoint_identity_and_region(
    seeded_aws: SeededAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from estat_aws_mcp.awscli import runner, service

    # The time left picks a client's timeout tier, which is part of the key; the default budget (25 s)
    # leaves one second above the standard tier's worst case (24 s) for parsing, which a loaded machine
    # can use up. This test is about the rest of the key, so its calls get a budget far above that.
    worst_case_s = runner.MAX_ATTEMPTS * (runner.CONNECT_TIMEOUT_S + runner.READ_TIMEOUT_S)
    monkeypatch.setattr(service, "call_deadline", partial(call_deadline, 10 * worst_case_s))
    runner._client_cache.clear()
    run_aws_cli("aws logs describe-log-groups")
    (first,) = runner._client_cache.values()
    run_aws_cli("aws logs describe-log-groups --output text")
    assert list(runner._client_cache.values()) == [first]  # the same client object, not a rebuilt one
    run_aws_cli("aws logs describe-log-groups --region us-west-2")
    assert len(runner._client_cache) == 2
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOTHERIDENTITY0001")
    run_aws_cli("aws logs describe-log-groups")
    assert len(runner._client_cache) == 3
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:9")
    moved = run_aws_cli("aws logs describe-log-groups")
    assert len(runner._client_cache) == 4 and moved.error == "cli_error"


def _recording_clients(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The client each call's ``_client_for`` returns, in order."""
    from estat_aws_mcp.awscli import runner

    built: list[object] = []
    original = runner._client_for

    def recording(*args, **kwargs):
        client = original(*args, **kwargs)
        built.append(client)
        return client

    monkeypatch.setattr(runner, "_client_for", recording)
    return built


def test_calls_short_on_time_reuse_one_client_whose_timeouts_fit(
    seeded_aws: SeededAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Little time left (5 s, under the standard worst case of 24 s): a client with tighter timeouts,
    built once and reused by the next call with as little time left (not rebuilt for every call)."""
    from estat_aws_mcp.awscli import runner

    built = _recording_clients(monkeypatch)
    runner._client_cache.clear()
    for _ in range(2):
        with invocation_deadline(RESPONSE_RESERVE_S + 5.0):
            result = run_aws_cli("aws logs describe-log-groups")
        assert result.exit_status == 0 and LOG_GROUP in result.output
    first, second = built
    assert second is first
    config = first.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout + config.read_timeout <= 5.0
    # a call with plenty of time gets the standard timeouts (another client), and the short one stays cached
    with invocation_deadline(RESPONSE_RESERVE_S + 100.0):
        assert run_aws_cli("aws logs describe-log-groups").exit_status == 0
    standard = built[2].meta.config
    assert standard.retries["total_max_attempts"] == runner.MAX_ATTEMPTS
    assert (standard.connect_timeout, standard.read_timeout) == (runner.CONNECT_TIMEOUT_S, runner.READ_TIMEOUT_S)
    assert len(runner._client_cache) == 2
    with invocation_deadline(RESPONSE_RESERVE_S + 5.0):
        assert run_aws_cli("aws logs describe-log-groups").exit_status == 0
    assert built[3] is first


def test_every_timeout_tier_fits_the_time_left_and_uses_at_least_half_of_it() -> None:
    from estat_aws_mcp.awscli import runner

    standard = runner.MAX_ATTEMPTS * (runner.CONNECT_TIMEOUT_S + runner.READ_TIMEOUT_S)
    assert runner._timeouts(standard).attempts == runner.MAX_ATTEMPTS
    chosen = set()
    remaining = runner.MIN_CALL_S + 0.001
    while remaining < 2 * standard:
        tier = runner._timeouts(remaining)
        chosen.add(tier)
        assert tier.worst_case <= remaining, (remaining, tier)
        assert tier.worst_case >= min(remaining, standard) / 2, (remaining, tier)
        assert 0 < tier.connect <= runner.CONNECT_TIMEOUT_S and 0 < tier.read <= runner.READ_TIMEOUT_S
        remaining *= 1.01
    assert chosen == set(runner.TIMEOUT_TIERS) and len(chosen) <= 10  # a handful of clients per service


def test_calls_short_on_time_stop_in_time_against_an_endpoint_that_never_answers(
    seeded_aws: SeededAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two calls with 2.9 s left against a hanging endpoint: each gives up within its time (the cached
    client's read timeout fits it), the second on the client the first built. 2.9 s is 1.4 s above the
    1.5 s tier both get: the first call's parsing (cold, under load) may take that long before its
    client is chosen (with 2 s, 0.5 s of it picked the next tier down and a second client)."""
    from tests.processes import silent_endpoint

    built = _recording_clients(monkeypatch)
    with silent_endpoint() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", url)
        for _ in range(2):
            with invocation_deadline(RESPONSE_RESERVE_S + 2.9) as deadline:
                result = run_aws_cli("aws logs describe-log-groups")
                finished = time.monotonic()
            assert result.error in {"cli_error", "deadline_exceeded"} and result.exit_status == 255, result
            assert finished < deadline - RESPONSE_RESERVE_S + 0.5  # its own stop, slack for a loaded machine
    first, second = built
    assert second is first
    assert first.meta.config.connect_timeout + first.meta.config.read_timeout <= 2.9
