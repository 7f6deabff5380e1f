"""Fixtures for run_aws_cli: a moto server seeded with log groups, events (Japanese text too), metrics and alarms."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.moto_server import MotoServer

AWS_BIN = Path(sys.executable).with_name("aws")
LOG_GROUP = "/aws/lambda/estat-mcp"
OTHER_GROUP = "/aws/lambda/batch"
# Event times (ms): an hour-aligned time in the last two hours (moto drops events older than 14 days),
# so --start-time selects a known subset.
BASE_MS = (int(time.time()) // 3600 - 1) * 3600 * 1000
MESSAGES = [
    "START RequestId: 1a2b Version: $LATEST",
    "INFO 統計表を取得しました statsDataId=0003410379",
    "ERROR timeout while calling e-Stat",
    "WARN 人口推計 の件数が多い",
    "ERROR エラー: タイムアウト (timeout)",
    "Task timed out after 30.00 seconds",
    "END RequestId: 1a2b",
    "INFO done",
]


@dataclass(frozen=True)
class SeededAws:
    server: MotoServer
    env: dict[str, str]


def seed(server: MotoServer, env: dict[str, str]) -> None:
    import boto3

    kwargs = {
        "endpoint_url": server.url,
        "region_name": env["AWS_DEFAULT_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": env["AWS_SESSION_TOKEN"],
    }
    logs = boto3.client("logs", **kwargs)
    for group in (LOG_GROUP, OTHER_GROUP):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="2025/11/21/[$LATEST]abc")
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="2025/11/21/[$LATEST]def")
    events = [{"timestamp": BASE_MS + i * 1000, "message": MESSAGES[i % len(MESSAGES)]} for i in range(24)]
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName="2025/11/21/[$LATEST]abc", logEvents=events[:12])
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName="2025/11/21/[$LATEST]def", logEvents=events[12:])
    cloudwatch = boto3.client("cloudwatch", **kwargs)
    for name in ("Invocations", "Errors", "Duration"):
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {"MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": "estat-mcp"}], "Value": 1.0}
            ],
        )
    cloudwatch.put_metric_data(Namespace="EstatMcp", MetricData=[{"MetricName": "Fetches", "Value": 3.0}])
    for name, threshold in (("estat-mcp-errors", 1.0), ("estat-mcp-duration", 25000.0)):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription="エラー監視" if name.endswith("errors") else "duration",
            Namespace="AWS/Lambda",
            MetricName="Errors" if name.endswith("errors") else "Duration",
            Dimensions=[{"Name": "FunctionName", "Value": "estat-mcp"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )


@pytest.fixture(scope="module")
def seeded_aws(moto_server: MotoServer) -> Iterator[SeededAws]:
    """Module-scoped: moto reset and seeded once; the environment points AWS SDKs and the CLI at it."""
    moto_server.reset()
    env = moto_server.env()
    seed(moto_server, env)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        for key in ("AWS_PROFILE", "ESTAT_MCP_AWSCLI_POLICY_FILE", "ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS"):
            patch.delenv(key, raising=False)
        yield SeededAws(server=moto_server, env=env)


def real_cli(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``aws`` executable (same venv, same endpoint) as the reference."""
    full_env = {**os.environ, **(env or {}), "PYTHONIOENCODING": "utf-8", "AWS_PAGER": ""}
    return subprocess.run(
        [str(AWS_BIN), *command], capture_output=True, text=True, encoding="utf-8", env=full_env, timeout=60
    )
