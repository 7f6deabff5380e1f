"""Checks before anything is created: each missing prerequisite becomes one line with its fix."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass

DOCKER_PROBE_TIMEOUT_S = 20


@dataclass(frozen=True)
class AwsIdentity:
    account: str
    arn: str


def check_terraform(terraform_bin: str = "terraform") -> str | None:
    if shutil.which(terraform_bin) is None:
        return (
            f"terraform not found on PATH ({terraform_bin!r}): install Terraform >= 1.11 "
            "(https://developer.hashicorp.com/terraform/install)"
        )
    return None


def check_docker(docker_bin: str = "docker") -> str | None:
    """docker, its buildx plugin and a reachable engine (the image is built locally, then pushed)."""
    if shutil.which(docker_bin) is None:
        return (
            f"docker not found on PATH ({docker_bin!r}): stage 2 builds the Lambda image with "
            "`docker buildx build`; install Docker (Desktop, Engine or a compatible runtime) and retry"
        )
    for probe, problem in (
        (["buildx", "version"], "the docker buildx plugin is missing: install docker-buildx"),
        (["info", "--format", "{{.ServerVersion}}"], "the Docker engine is not reachable: start Docker and retry"),
    ):
        try:
            completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [docker_bin, *probe], capture_output=True, text=True, timeout=DOCKER_PROBE_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{problem} ({type(exc).__name__})"
        if completed.returncode != 0:
            detail = (completed.stderr or completed.stdout).strip().splitlines()
            return f"{problem}" + (f" ({detail[-1]})" if detail else "")
    return None


def check_aws_credentials(region: str) -> tuple[AwsIdentity | None, str | None]:
    """Who the deployment runs as (sts:GetCallerIdentity needs no permission)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from estat_aws_mcp.aws.clients import aws_client

    try:
        identity = aws_client("sts", region=region, max_attempts=2).get_caller_identity()
    except NoCredentialsError:
        return None, (
            "no AWS credentials found: run `aws configure` (or `aws sso login --profile P` and export "
            "AWS_PROFILE=P) so that the standard credential chain finds them"
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        return None, f"AWS credentials were rejected ({code}): refresh them (expired session?) and retry"
    except BotoCoreError as exc:
        return None, f"AWS is not reachable to check the credentials ({type(exc).__name__}): check the network/region"
    return AwsIdentity(account=identity["Account"], arn=identity["Arn"]), None


def check_secure_string_parameter(name: str, region: str, *, what: str, put_value_hint: str) -> str | None:
    """The parameter exists as a SecureString. Only its metadata is read, never its value."""
    from botocore.exceptions import BotoCoreError, ClientError

    from estat_aws_mcp.aws.clients import aws_client

    put_command = (
        f"aws ssm put-parameter --region {shlex.quote(region)} --name {shlex.quote(name)} "
        f"--type SecureString --value {put_value_hint}"
    )
    try:
        found = aws_client("ssm", region=region, max_attempts=2).describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
        )["Parameters"]
    except (ClientError, BotoCoreError) as exc:
        return f"cannot check the SSM parameter {name} for {what} ({type(exc).__name__}); create it with: {put_command}"
    if not found:
        return f"the SSM parameter {name} ({what}) does not exist in {region}; create it with: {put_command}"
    if found[0].get("Type") != "SecureString":
        return (
            f"the SSM parameter {name} ({what}) is a {found[0].get('Type')}, not a SecureString; recreate it: "
            f"aws ssm delete-parameter --region {shlex.quote(region)} --name {shlex.quote(name)} && {put_command}"
        )
    return None


MIN_UNRESERVED_CONCURRENCY = 10  # Lambda refuses reservations that leave fewer unreserved


def concurrency_problem(*, account_limit: int, unreserved: int, current_reservation: int, wanted: int) -> str | None:
    """Would reserving ``wanted`` leave the account below Lambda's unreserved minimum?"""
    left = unreserved + current_reservation - wanted
    if wanted < 1 or left >= MIN_UNRESERVED_CONCURRENCY:
        return None
    return (
        f"reserving {wanted} concurrent executions would leave {left} unreserved in this account "
        f"(Lambda keeps at least {MIN_UNRESERVED_CONCURRENCY}; the account limit is {account_limit}, common for new "
        "accounts): deploy with --var reserved_concurrent_executions=-1 (no cap) or a smaller value, or request "
        "a higher 'Concurrent executions' quota in Service Quotas"
    )


def check_lambda_concurrency(region: str, function_name: str, wanted: int) -> str | None:
    """Best effort: an account that cannot afford the reservation fails here, not halfway through apply."""
    from botocore.exceptions import BotoCoreError, ClientError

    from estat_aws_mcp.aws.clients import aws_client

    if wanted < 1:
        return None
    lam = aws_client("lambda", region=region, max_attempts=2)
    try:
        limits = lam.get_account_settings()["AccountLimit"]
    except (ClientError, BotoCoreError):
        return None  # cannot tell; Terraform reports the same limit if it is hit
    try:
        current = lam.get_function_concurrency(FunctionName=function_name).get("ReservedConcurrentExecutions", 0)
    except (ClientError, BotoCoreError):
        current = 0  # no function yet
    return concurrency_problem(
        account_limit=limits["ConcurrentExecutions"],
        unreserved=limits["UnreservedConcurrentExecutions"],
        current_reservation=current or 0,
        wanted=wanted,
    )
