"""make deploy's clear errors (credentials, the SSM parameters, docker) and stage 2's exact commands.

AWS is moto's server; docker is a recording stand-in (fake_docker.py) because no Docker engine
runs here. ECR's digest check is real: the test pushes a manifest to moto's ECR.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import boto3
import pytest

from estat_aws_mcp.deploy import flow
from estat_aws_mcp.deploy.errors import DeployError, PreflightError
from estat_aws_mcp.deploy.image import DockerImageBuilder

REGION = "ap-northeast-1"
APP_ID = "/estat-aws-mcp/estat-app-id"
TOKEN = "/estat-aws-mcp/auth-token"


def _bin_dir(tmp_path: Path, *, docker: bool) -> Path:
    """A PATH folder with terraform (when installed) and, optionally, the stand-in docker."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    if terraform := shutil.which("terraform"):
        (folder / "terraform").symlink_to(terraform)
    if docker:
        script = folder / "docker"
        script.write_text(f'#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name("fake_docker.py")} "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def _options(tmp_path: Path) -> flow.DeployOptions:
    return flow.DeployOptions.for_example("public-url", region=REGION)


def _ssm():
    return boto3.client("ssm", region_name=REGION)


def test_missing_parameters_and_docker_are_listed_together_with_their_fixes(aws_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=False)))
    with pytest.raises(PreflightError) as caught:
        flow.run_preflight(_options(tmp_path))
    message = str(caught.value)
    assert f"the SSM parameter {APP_ID} (the e-Stat appId) does not exist in {REGION}" in message
    assert f"aws ssm put-parameter --region {REGION} --name {APP_ID} --type SecureString --value" in message
    assert f"the SSM parameter {TOKEN} (the bearer token) does not exist" in message
    assert "docker not found on PATH" in message


def test_a_plain_string_parameter_is_refused_and_values_are_never_shown(aws_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=True)))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.jsonl"))
    _ssm().put_parameter(Name=APP_ID, Type="String", Value="secret-app-id-value")
    _ssm().put_parameter(Name=TOKEN, Type="SecureString", Value="secret-token-value")
    with pytest.raises(PreflightError) as caught:
        flow.run_preflight(_options(tmp_path))
    assert caught.value.problems == [
        f"the SSM parameter {APP_ID} (the e-Stat appId) is a String, not a SecureString; recreate it: "
        f"aws ssm delete-parameter --region {REGION} --name {APP_ID} && aws ssm put-parameter --region {REGION} "
        f"--name {APP_ID} --type SecureString --value '<your e-Stat appId>'"
    ]
    assert "secret" not in str(caught.value)


def test_unreachable_docker_engine_is_reported(aws_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=True)))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.jsonl"))
    monkeypatch.setenv("FAKE_DOCKER_NO_ENGINE", "1")
    for name in (APP_ID, TOKEN):
        _ssm().put_parameter(Name=name, Type="SecureString", Value="x")
    with pytest.raises(PreflightError) as caught:
        flow.run_preflight(_options(tmp_path))
    assert caught.value.problems == [
        "the Docker engine is not reachable: start Docker and retry "
        "(Cannot connect to the Docker daemon at unix:///var/run/docker.sock)"
    ]


def test_everything_present_passes_and_names_the_account(aws_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=True)))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.jsonl"))
    for name in (APP_ID, TOKEN):
        _ssm().put_parameter(Name=name, Type="SecureString", Value="x")
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    assert flow.run_preflight(_options(tmp_path)).account == "123456789012"


def test_missing_credentials_are_explained(tmp_path, monkeypatch, capsys) -> None:
    from estat_aws_mcp.aws.clients import reset_session_cache
    from estat_aws_mcp.cli import main

    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=False)))
    reset_session_cache()
    try:
        with pytest.raises(SystemExit) as exited:
            main(["deploy", "--example", "public-url"])
    finally:
        reset_session_cache()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "no AWS credentials found: run `aws configure`" in err
    assert "docker not found on PATH" in err


def test_stage2_builds_for_the_platform_pushes_and_returns_the_ecr_digest(aws_env, tmp_path, monkeypatch) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    repository_url = ecr.create_repository(repositoryName="estat-aws-mcp", imageTagMutability="IMMUTABLE")[
        "repository"
    ]["repositoryUri"]
    # What the real push leaves in ECR: a manifest under the new tag, whose digest ECR reports.
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    ecr.put_image(repositoryName="estat-aws-mcp", imageManifest=manifest, imageTag="t1")
    digest = ecr.describe_images(repositoryName="estat-aws-mcp")["imageDetails"][0]["imageDigest"]

    log = tmp_path / "docker.jsonl"
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    monkeypatch.setenv("FAKE_DOCKER_DIGEST", digest)
    docker = _bin_dir(tmp_path, docker=True) / "docker"
    builder = DockerImageBuilder(context=tmp_path, dockerfile=tmp_path / "Dockerfile", docker_bin=str(docker))
    image_uri = builder.build_and_push(repository_url, tag="t1", architecture="arm64", region=REGION)
    assert image_uri == f"{repository_url}@{digest}"

    login, build = [json.loads(line) for line in log.read_text().splitlines()]
    registry = repository_url.split("/")[0]
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", registry]
    assert login["stdin"] and login["stdin"] not in " ".join(build["argv"])  # the password only on stdin
    metadata = build["argv"][build["argv"].index("--metadata-file") + 1]
    assert build["argv"] == [
        "buildx",
        "build",
        "--platform",
        "linux/arm64",
        "--provenance=false",
        "--sbom=false",
        "--file",
        str(tmp_path / "Dockerfile"),
        "--tag",
        f"{repository_url}:t1",
        "--metadata-file",
        metadata,
        "--push",
        "--build-arg",
        "ARCH=arm64",  # the Dockerfile's base-image variant matches the platform
        str(tmp_path),
    ]

    monkeypatch.setenv("FAKE_DOCKER_DIGEST", "sha256:" + "f" * 64)
    with pytest.raises(DeployError, match="ECR reports digest"):
        builder.build_and_push(repository_url, tag="t1", architecture="x86_64", region=REGION)
    x86_build = json.loads(log.read_text().splitlines()[-1])["argv"]
    assert x86_build[3] == "linux/amd64" and "ARCH=x86_64" in x86_build


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (
            {
                "function_url": "https://u.lambda-url.ap-northeast-1.on.aws/",
                "authorization_type": "NONE",
                "auth_token_ssm_parameter_name": TOKEN,
                "region": REGION,
            },
            'claude mcp add --transport http estat https://u.lambda-url.ap-northeast-1.on.aws/ --header "Authorization: Bearer $ESTAT_MCP_TOKEN"',
        ),
        (
            {
                "function_url": "https://u.lambda-url.ap-northeast-1.on.aws/",
                "authorization_type": "AWS_IAM",
                "region": REGION,
            },
            "claude mcp add estat -e AWS_REGION=ap-northeast-1 -- uvx mcp-proxy-for-aws@latest "
            "https://u.lambda-url.ap-northeast-1.on.aws/ --service lambda --region ap-northeast-1",
        ),
    ],
)
def test_client_configs_follow_the_auth_type(outputs: dict, expected: str) -> None:
    assert flow.client_configs(outputs)["claude_code"] == expected
    assert outputs["function_url"] in flow.render_summary(outputs)


@pytest.mark.parametrize(
    ("limit", "unreserved", "current", "wanted", "ok"),
    [
        (1000, 1000, 0, 10, True),  # an established account
        (10, 10, 0, 10, False),  # a new account with the quota of 10 cannot reserve anything
        (10, 10, 0, -1, True),  # ... unless the cap is lifted
        (20, 10, 10, 10, True),  # re-deploying keeps the function's own reservation
        (20, 15, 0, 6, False),
    ],
)
def test_concurrency_reservation_must_leave_ten_unreserved(limit, unreserved, current, wanted, ok) -> None:
    from estat_aws_mcp.deploy.preflight import concurrency_problem

    problem = concurrency_problem(
        account_limit=limit, unreserved=unreserved, current_reservation=current, wanted=wanted
    )
    assert (problem is None) is ok
    if problem:
        assert "--var reserved_concurrent_executions=-1" in problem


def test_a_non_numeric_reservation_is_reported(aws_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=False)))
    options = _options(tmp_path)
    options.extra_variables["reserved_concurrent_executions"] = "ten"
    with pytest.raises(PreflightError, match="reserved_concurrent_executions must be a whole number or -1, not 'ten'"):
        flow.run_preflight(options)


def test_the_ecs_example_takes_the_token_and_skips_the_lambda_concurrency_check(aws_env, tmp_path, monkeypatch) -> None:
    """A reservation Lambda could not afford is no concern of an ECS deployment."""
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, docker=True)))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.jsonl"))
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    options = flow.DeployOptions.for_example("ecs-fargate", region=REGION)
    assert options.auth_token_parameter == TOKEN and options.check_lambda_concurrency is False
    options.extra_variables["reserved_concurrent_executions"] = "ten"  # would be refused for Lambda
    _ssm().put_parameter(Name=APP_ID, Type="SecureString", Value="secret-app-id")
    _ssm().put_parameter(Name=TOKEN, Type="SecureString", Value="secret-token")
    assert flow.run_preflight(options).account


def test_render_summary_names_the_ecs_service() -> None:
    outputs = {
        "mcp_endpoint": "https://estat-1.ap-northeast-1.elb.amazonaws.com/mcp",
        "service_name": "estat",
        "cluster_name": "estat",
        "log_group_name": "/ecs/estat",
        "auth_token_ssm_parameter_name": TOKEN,
        "region": REGION,
    }
    summary = flow.render_summary(outputs)
    assert "MCP endpoint: https://estat-1.ap-northeast-1.elb.amazonaws.com/mcp" in summary
    assert "ECS service: estat in cluster estat" in summary and "Function:" not in summary
    assert '--header "Authorization: Bearer $ESTAT_MCP_TOKEN"' in summary


def test_var_values_in_json_syntax_become_lists_and_maps() -> None:
    from estat_aws_mcp.deploy.cli import _parse_assignments

    assert _parse_assignments(['alb_subnet_ids=["subnet-a", "subnet-b"]', "tags={}", "cpu=2048", "x=a=b"]) == {
        "alb_subnet_ids": ["subnet-a", "subnet-b"],
        "tags": {},
        "cpu": "2048",
        "x": "a=b",
    }
    with pytest.raises(SystemExit, match="a list or object must be JSON"):
        _parse_assignments(["alb_subnet_ids=[subnet-a]"])


def test_unknown_example_and_missing_examples_folder_are_explained(tmp_path, monkeypatch) -> None:
    with pytest.raises(
        DeployError, match=r"unknown example 'nope'; choose one of \['ecs-fargate', 'iam-auth', 'oauth', 'public-url'\]"
    ):
        flow.DeployOptions.for_example("nope")
    monkeypatch.setattr(flow, "EXAMPLES_DIR", tmp_path / "site-packages" / "terraform" / "examples")
    with pytest.raises(DeployError, match="run from a clone of estat-aws-mcp, or pass --root"):
        flow.DeployOptions.for_example("public-url")
