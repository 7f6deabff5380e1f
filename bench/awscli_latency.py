"""run_aws_cli latency: a warm in-process call vs a subprocess ``aws`` call, same moto endpoint, same run.

    python -m bench.awscli_latency [--iterations 30] [--subprocess-iterations 5]

Starts moto's server on a free loopback port, seeds CloudWatch Logs (with Japanese text),
metrics and alarms, then times the four original commands four ways: the first in-process call
(imports awscli, loads the service models), warm in-process calls (the steady state of a
running server or a warm Lambda), the same with little time left in the invocation
(``--short-time-left``, 5 s: clients with shorter timeouts, cached per timeout tier) and the real
``aws`` executable in a subprocess. Prints medians, p90s and the subprocess/warm ratio; the target
is a warm median of at most 60 ms, with plenty of time left and with little.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.fakes.moto_server import running_moto_server  # noqa: E402

WARM_TARGET_MS = 60.0
LOG_GROUP = "/aws/lambda/estat-mcp"
COMMANDS = [
    "aws logs describe-log-groups",
    f"aws logs filter-log-events --log-group-name {LOG_GROUP} --limit 10",
    "aws cloudwatch list-metrics --namespace AWS/Lambda",
    "aws cloudwatch describe-alarms",
]


def _seed(url: str) -> None:
    import boto3

    kwargs = {"endpoint_url": url, "region_name": "ap-northeast-1"}
    logs = boto3.client("logs", **kwargs)
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": now_ms - 60_000 + i, "message": f"INFO 統計表 {i} を取得"} for i in range(50)],
    )
    cloudwatch = boto3.client("cloudwatch", **kwargs)
    for name in ("Invocations", "Errors", "Duration"):
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[{"MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": "f"}], "Value": 1.0}],
        )
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.awscli_latency")
    parser.add_argument("--iterations", type=int, default=30, help="warm in-process calls per command")
    parser.add_argument("--subprocess-iterations", type=int, default=5, help="subprocess aws calls per command")
    parser.add_argument(
        "--short-time-left", type=float, default=5.0, help="seconds left in the invocation for the short-time pass"
    )
    args = parser.parse_args(argv)
    aws_bin = Path(sys.executable).with_name("aws")

    with running_moto_server() as server:
        env = server.env()
        os.environ.update(env)
        for name in ("AWS_PROFILE", "ESTAT_MCP_AWSCLI_POLICY_FILE", "ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS"):
            os.environ.pop(name, None)
        _seed(server.url)

        from estat_aws_mcp.awscli.service import RESPONSE_RESERVE_S, run_aws_cli
        from estat_aws_mcp.deadline import invocation_deadline

        started = time.perf_counter()
        first = run_aws_cli(COMMANDS[0])
        first_ms = _ms(time.perf_counter() - started)
        if first.exit_status != 0:
            print(f"first call failed: {first.to_dict()}", file=sys.stderr)
            return 1

        print(f"moto at {server.url}; first in-process call (imports awscli, loads models): {first_ms:.0f} ms")

        def measure(label: str, time_left: float | None = None) -> list[float]:
            """Warm calls; with ``time_left``, each inside an invocation with that many seconds left."""
            print(f"\n{label}")
            print(f"{'command':58} {'warm med':>9} {'warm p90':>9}")
            all_warm: list[float] = []
            for command in COMMANDS:
                run_aws_cli(command)  # this service's model is loaded once
                warm: list[float] = []
                for _ in range(args.iterations):
                    with invocation_deadline(time_left):
                        started = time.perf_counter()
                        result = run_aws_cli(command)
                        warm.append(_ms(time.perf_counter() - started))
                    if result.exit_status != 0:
                        raise SystemExit(f"in-process call failed: {result.to_dict()}")
                all_warm += warm
                print(f"{command[:58]:58} {statistics.median(warm):7.1f}ms {_p90(warm):7.1f}ms")
            return all_warm

        warm = measure("warm in-process calls")
        short = measure(
            f"warm in-process calls with {args.short_time_left:g} s left in the invocation "
            f"({args.short_time_left - RESPONSE_RESERVE_S:g} s for the call)",
            time_left=args.short_time_left,
        )

        print("\nsubprocess aws calls")
        all_sub: list[float] = []
        for command in COMMANDS:
            sub: list[float] = []
            for _ in range(args.subprocess_iterations):
                started = time.perf_counter()
                completed = subprocess.run(
                    [str(aws_bin), *command.split()[1:]], capture_output=True, env={**os.environ, **env}, timeout=120
                )
                sub.append(_ms(time.perf_counter() - started))
                if completed.returncode != 0:
                    print(f"subprocess aws failed: {completed.stderr[-500:]!r}", file=sys.stderr)
                    return 1
            all_sub += sub
            print(f"{command[:58]:58} {statistics.median(sub):7.1f}ms {_p90(sub):7.1f}ms")

        warm_median, sub_median = statistics.median(warm), statistics.median(all_sub)
        short_median = statistics.median(short)
        verdict = "met" if max(warm_median, short_median) <= WARM_TARGET_MS else "NOT met"
        print(
            f"\noverall: subprocess aws median {sub_median:.1f} ms; warm in-process median {warm_median:.1f} ms "
            f"(p90 {_p90(warm):.1f} ms, {sub_median / warm_median:.1f}x faster), with "
            f"{args.short_time_left:g} s left {short_median:.1f} ms (p90 {_p90(short):.1f} ms); "
            f"target warm <= {WARM_TARGET_MS:.0f} ms: {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
