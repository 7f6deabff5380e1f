"""Shared steps of the real apply/destroy tests: deploy an example to moto and inspect it with boto3.

The image: Lambda needs an image in ECR, but nothing can be built here (no Docker engine) and
moto never pulls images. Stage 1 of the real deployment creates the repository; the test then
uses ``<repository_url>@sha256:<digest of a marker text>``, a syntactically valid digest URI, where
stage 2 would have put the digest of the pushed image. Stage 2's command line is tested in
tests/deploy.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from estat_aws_mcp.deploy import flow
from estat_aws_mcp.deploy.terraform import Terraform
from tests.fakes.moto_server import MotoServer
from tests.terraform import harness

REGION = "ap-northeast-1"
APP_ID_PARAMETER = "/estat-aws-mcp-test/estat-app-id"
AUTH_TOKEN_PARAMETER = "/estat-aws-mcp-test/auth-token"
# Values the "user" puts in SSM; the tests prove they never reach Terraform's state.
APP_ID_VALUE = "test-app-id-0123456789abcdef"
AUTH_TOKEN_VALUE = "test-bearer-token-fedcba9876543210"
FAKE_IMAGE_DIGEST = "sha256:" + hashlib.sha256(b"estat-aws-mcp test image (moto never pulls it)").hexdigest()


@dataclass
class Stack:
    example: str
    server: MotoServer
    root: Path
    tf: Terraform
    options: flow.DeployOptions
    outputs: dict[str, Any] = field(default_factory=dict)
    image_uri: str = ""
    destroyed: bool = False
    messages: list[str] = field(default_factory=list)
    builder_calls: list[dict[str, Any]] = field(default_factory=list)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.server.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def variables(self, **overrides: Any) -> dict[str, Any]:
        return {**self.options.variables(image_uri=self.image_uri), **overrides}

    def state_text(self) -> str:
        state = self.root / "terraform.tfstate"
        return state.read_text(encoding="utf-8") if state.exists() else ""


class PinnedDigestBuilder:
    """Stage 2 without Docker: pushes nothing and answers the repository (created by stage 1, which
    the call proves) with a fixed, syntactically valid digest. moto never pulls the image."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def build_and_push(self, repository_url: str, *, tag: str, architecture: str, region: str) -> str:
        self.calls.append(
            {"repository_url": repository_url, "tag": tag, "architecture": architecture, "region": region}
        )
        return f"{repository_url}@{FAKE_IMAGE_DIGEST}"


def start_stack(
    example: str,
    workdir: Path,
    plugin_root: Path,
    cli_config: Path,
    prepare: Callable[[Stack], dict[str, Any]] | None = None,
    **variables: Any,
) -> Stack:
    """A moto server of its own and the example deployed through stages 1 and 3 (see :func:`close_stack`).

    ``prepare`` creates what the user brings (a VPC, a certificate) on the stack's moto server and
    returns the variables that name it."""
    # moto plus what it leaves out of the ECS example's calls (see that module).
    server = MotoServer(module="tests.terraform.moto_for_ecs").start()
    try:
        tree = harness.compat_copy(workdir / "terraform")
        root = tree / "examples" / example
        harness.write_moto_provider_override(root, server.url)
    except BaseException:
        server.stop()  # no stack yet for close_stack to stop it with
        raise
    auth_token = example in flow.TOKEN_EXAMPLES
    options = flow.DeployOptions(
        root=root,
        region=REGION,
        architecture="arm64",
        app_id_parameter=APP_ID_PARAMETER,
        auth_token_parameter=AUTH_TOKEN_PARAMETER if auth_token else None,
        extra_variables=dict(variables),
        plugin_dir=plugin_root,
        terraform_env=terraform_env(cli_config),
    )
    stack = Stack(
        example=example, server=server, root=root, tf=flow.terraform_for(options, stream_output=False), options=options
    )
    try:
        ssm = stack.client("ssm")
        # What the README tells users to do first: aws ssm put-parameter --type SecureString.
        ssm.put_parameter(Name=APP_ID_PARAMETER, Type="SecureString", Value=APP_ID_VALUE)
        if auth_token:
            ssm.put_parameter(Name=AUTH_TOKEN_PARAMETER, Type="SecureString", Value=AUTH_TOKEN_VALUE)
        if prepare is not None:
            options.extra_variables.update(prepare(stack))
        # The real staged deployment (init, stage 1, stage 2 through the builder, stage 3), with the
        # preflight's docker check left out: no Docker engine here (tests/deploy covers the checks).
        builder = PinnedDigestBuilder()
        result = flow.deploy(options, builder, echo=stack.messages.append, skip_preflight=True, stream_output=False)
        stack.image_uri, stack.outputs = result.image_uri, result.outputs
        stack.builder_calls = builder.calls
    except BaseException:
        close_stack(stack)
        raise
    return stack


ECS_NAME = "estat-mcp-ecs"


def users_network_and_certificate(stack: Stack) -> dict[str, Any]:
    """What the ECS example takes from its user: a VPC, subnets in two zones, an ACM certificate."""
    ec2 = stack.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ac")
    ]
    certificate = stack.client("acm").request_certificate(DomainName="mcp.example.com")["CertificateArn"]
    return {
        "name": ECS_NAME,
        "vpc_id": vpc,
        "alb_subnet_ids": subnets,
        "assign_public_ip": True,
        "certificate_arn": certificate,
    }


def close_stack(stack: Stack) -> None:
    """Destroy what a test left behind (best effort) and stop the stack's moto server."""
    try:
        if not stack.destroyed and stack.state_text():
            destroy_stack(stack)
    finally:
        stack.server.stop()


def destroy_stack(stack: Stack) -> None:
    """`make destroy`'s own path: it reads the running image back from the outputs."""
    flow.destroy(stack.options, echo=stack.messages.append, skip_preflight=True, stream_output=False)
    stack.destroyed = True


def plain_terraform(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """terraform as a user types it in the example folder: no -var, no -var-file."""
    return subprocess.run(
        [harness.terraform_bin() or "terraform", *args, "-no-color", "-input=false"],
        cwd=stack.root,
        env={**os.environ, **stack.options.terraform_env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def terraform_env(cli_config: Path) -> dict[str, str]:
    return {"TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}


# -- reading resource policies (moto keeps AddPermission's raw fields; AWS writes Conditions) -------


def function_policy(stack: Stack) -> list[dict[str, Any]]:
    lam = stack.client("lambda")
    try:
        return json.loads(lam.get_policy(FunctionName=stack.outputs["function_name"])["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:
        return []


def _is_public(statement: dict[str, Any]) -> bool:
    return statement.get("Principal") in ("*", {"AWS": "*"})


def _url_auth_type(statement: dict[str, Any]) -> str | None:
    return statement.get("FunctionUrlAuthType") or (
        statement.get("Condition", {}).get("StringEquals", {}).get("lambda:FunctionUrlAuthType")
    )


def assert_public_url_permissions(statements: list[dict[str, Any]]) -> None:
    """NONE: anyone may call the URL, and the function through it (both statements, ours by Sid)."""
    by_sid = {s.get("Sid"): s for s in statements}
    url = by_sid["estat-mcp-public-invoke-url"]
    assert url["Action"] == "lambda:InvokeFunctionUrl"
    assert _is_public(url)
    assert _url_auth_type(url) == "NONE"
    function = by_sid["estat-mcp-public-invoke-function"]
    assert function["Action"] == "lambda:InvokeFunction"
    assert _is_public(function)


def assert_iam_only_permissions(statements: list[dict[str, Any]]) -> None:
    """AWS_IAM: nothing public can invoke the function; a leftover public URL grant is inert (NONE only)."""
    sids = {s.get("Sid") for s in statements}
    assert not sids & {"estat-mcp-public-invoke-url", "estat-mcp-public-invoke-function"}
    for statement in filter(_is_public, statements):
        assert statement["Action"] == "lambda:InvokeFunctionUrl", statement
        assert _url_auth_type(statement) == "NONE", statement


# -- the execution role --------------------------------------------------------------------------


def role_policies(stack: Stack) -> dict[str, dict[str, Any]]:
    iam = stack.client("iam")
    role = stack.outputs["role_arn"].rsplit("/", 1)[1]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    documents = {}
    for name in names:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        documents[name] = json.loads(document) if isinstance(document, str) else document
    return documents


def statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# A log group the user lets run_aws_cli read besides the server's own (aws_cli_extra_log_group_arns).
OTHER_LOG_GROUP = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/another-function:*"
# Reads IAM cannot limit to log groups although they return log content: granted only with
# aws_cli_account_wide_log_reads (terraform/modules/estat-mcp-common/policies.tf).
ACCOUNT_WIDE_LOG_READS = {
    "logs:DescribeQueries",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
    "logs:GetLogAnomalyDetector",
    "logs:ListAnomalies",
}


def aws_cli_allowlist_actions() -> set[str]:
    """IAM actions behind run_aws_cli's default allowlist (CLI operation -> Service:CamelCase)."""
    policy_file = harness.REPO_ROOT / "src" / "estat_aws_mcp" / "awscli" / "policy.json"
    services = json.loads(policy_file.read_text(encoding="utf-8"))["services"]
    return {
        f"{service}:{''.join(part.capitalize() for part in operation.split('-'))}"
        for service, spec in services.items()
        for operation in spec["operations"]
    }
