"""The staged deployment and the teardown, driven through the Terraform adapter.

1. ECR repository (a targeted apply: Lambda and ECS need the image in ECR before they can run it)
2. docker buildx build + push, capture the digest (:mod:`estat_aws_mcp.deploy.image`)
3. everything else, with ``image_uri`` pinned by that digest (no ``ignore_changes`` needed: a new
   push is a new digest, which updates the function or the task definition)

Before stage 3 the variables of the deployment are recorded in the root module's
``deploy.auto.tfvars.json``, which Terraform reads by itself: afterwards plain ``terraform plan``,
``apply`` and ``destroy`` in that folder manage the same stack with no extra flags.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from estat_aws_mcp.deploy import preflight
from estat_aws_mcp.deploy.errors import DeployError, PreflightError
from estat_aws_mcp.deploy.terraform import Terraform

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES_DIR = REPO_ROOT / "terraform" / "examples"
MODULE_ADDRESS = "module.estat_mcp"
# The repository lives in the shared module (terraform/modules/estat-mcp-common) of either target.
STAGE1_TARGETS = (
    f"{MODULE_ADDRESS}.module.common.aws_ecr_repository.this",
    f"{MODULE_ADDRESS}.module.common.aws_ecr_lifecycle_policy.this",
)
# Written by stage 3, read by every plain terraform command in the root module (*.auto.tfvars.json).
RECORDED_VARIABLES_FILE = "deploy.auto.tfvars.json"
# Examples whose stack is not a Lambda function (no concurrency reservation to check).
NON_LAMBDA_EXAMPLES = frozenset({"ecs-fargate"})
# Examples that read a bearer token from SSM by default.
TOKEN_EXAMPLES = frozenset({"public-url", "ecs-fargate"})
DEFAULT_NAME = "estat-aws-mcp"
DEFAULT_RESERVED_CONCURRENCY = 10  # the examples' default
DEFAULT_APP_ID_PARAMETER = "/estat-aws-mcp/estat-app-id"
DEFAULT_AUTH_TOKEN_PARAMETER = "/estat-aws-mcp/auth-token"  # noqa: S105 - a parameter name, not a secret

Printer = Callable[[str], None]


class ImageBuilder(Protocol):
    def build_and_push(self, repository_url: str, *, tag: str, architecture: str, region: str) -> str: ...


@dataclass
class DeployOptions:
    """What to deploy where. ``root`` is a Terraform root module that calls the module as ``estat_mcp``."""

    root: Path
    region: str = "ap-northeast-1"
    architecture: str = "arm64"
    name: str | None = None
    app_id_parameter: str = DEFAULT_APP_ID_PARAMETER
    auth_token_parameter: str | None = None
    extra_variables: dict[str, Any] = field(default_factory=dict)
    plugin_dir: Path | None = None
    terraform_env: dict[str, str] = field(default_factory=dict)
    parallelism: int = 10
    image_tag: str | None = None
    check_lambda_concurrency: bool = True

    @classmethod
    def for_example(cls, example: str, **kwargs: Any) -> DeployOptions:
        if not EXAMPLES_DIR.is_dir():
            raise DeployError(
                f"the Terraform examples ship with the repository, not the package ({EXAMPLES_DIR} is missing): "
                "run from a clone of estat-aws-mcp, or pass --root with your own root module"
            )
        root = EXAMPLES_DIR / example
        if not (root / "main.tf").is_file():
            known = sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / "main.tf").is_file())
            raise DeployError(f"unknown example {example!r}; choose one of {known} or pass --root")
        if example in TOKEN_EXAMPLES:
            kwargs.setdefault("auth_token_parameter", DEFAULT_AUTH_TOKEN_PARAMETER)
        if example in NON_LAMBDA_EXAMPLES:
            kwargs.setdefault("check_lambda_concurrency", False)
        return cls(root=root, **kwargs)

    def variables(self, image_uri: str | None) -> dict[str, Any]:
        values: dict[str, Any] = {
            "region": self.region,
            "architecture": self.architecture,
            "app_id_ssm_parameter_name": self.app_id_parameter,
            "image_uri": image_uri,
        }
        if self.name:
            values["name"] = self.name
        if self.auth_token_parameter:
            values["auth_token_ssm_parameter_name"] = self.auth_token_parameter
        return {**values, **self.extra_variables}


@dataclass(frozen=True)
class DeployResult:
    image_uri: str
    outputs: dict[str, Any]


def terraform_for(options: DeployOptions, *, stream_output: bool = True) -> Terraform:
    return Terraform(
        options.root,
        env=options.terraform_env,
        plugin_dir=options.plugin_dir,
        parallelism=options.parallelism,
        stream_output=stream_output,
    )


def run_preflight(options: DeployOptions, *, need_docker: bool = True) -> preflight.AwsIdentity:
    """Every missing prerequisite at once, each with its fix; nothing is created before this passes."""
    problems: list[str] = []
    identity, problem = preflight.check_aws_credentials(options.region)
    if problem:
        problems.append(problem)
    else:
        for name, what, hint in (
            (options.app_id_parameter, "the e-Stat appId", "'<your e-Stat appId>'"),
            (options.auth_token_parameter, "the bearer token", '"$(openssl rand -hex 32)"'),
        ):
            if name and (
                problem := preflight.check_secure_string_parameter(name, options.region, what=what, put_value_hint=hint)
            ):
                problems.append(problem)
        if options.check_lambda_concurrency and (problem := _concurrency_problem(options)):
            problems.append(problem)
    if problem := preflight.check_terraform():
        problems.append(problem)
    if need_docker and (problem := preflight.check_docker()):
        problems.append(problem)
    if problems:
        raise PreflightError(problems)
    assert identity is not None
    return identity


def _concurrency_problem(options: DeployOptions) -> str | None:
    raw = options.extra_variables.get("reserved_concurrent_executions", DEFAULT_RESERVED_CONCURRENCY)
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        return f"reserved_concurrent_executions must be a whole number or -1, not {raw!r}"
    return preflight.check_lambda_concurrency(options.region, options.name or DEFAULT_NAME, wanted)


def recorded_variables_path(root: Path) -> Path:
    return root / RECORDED_VARIABLES_FILE


def record_variables(root: Path, variables: Mapping[str, Any]) -> Path:
    """What stage 3 applies, for plain terraform afterwards (names and settings only, no secret)."""
    path = recorded_variables_path(root)
    values = {name: value for name, value in variables.items() if value is not None}
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def default_image_tag(now: dt.datetime | None = None) -> str:
    """Unique per build (the repository's tags are immutable): UTC time plus the git commit when known."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - git from PATH on purpose
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return f"{stamp}-{commit}" if commit else stamp


def stage_repository(tf: Terraform, options: DeployOptions) -> str:
    """Stage 1: only the ECR repository and its lifecycle policy. Returns the repository URL."""
    tf.apply(options.variables(image_uri=None), targets=STAGE1_TARGETS)
    repository_url = tf.outputs().get("repository_url")
    if not repository_url:
        raise DeployError("stage 1 created no ECR repository (create_ecr_repository = false? pass your own image_uri)")
    return repository_url


def stage_service(tf: Terraform, options: DeployOptions, image_uri: str) -> dict[str, Any]:
    """Stage 3: everything else, with the image pinned by digest. Returns the outputs.

    The variables are recorded first, so that even a failed apply leaves a stack that plain
    ``terraform destroy`` can remove."""
    variables = options.variables(image_uri=image_uri)
    record_variables(options.root, variables)
    tf.apply(variables)
    return tf.outputs()


def deploy(
    options: DeployOptions,
    builder: ImageBuilder,
    *,
    echo: Printer = print,
    skip_preflight: bool = False,
    stream_output: bool = True,
) -> DeployResult:
    if not skip_preflight:
        identity = run_preflight(options)
        echo(f"Deploying {options.root.name} to account {identity.account} in {options.region} as {identity.arn}")
    tf = terraform_for(options, stream_output=stream_output)
    tf.init()
    echo("Stage 1/3: ECR repository")
    repository_url = stage_repository(tf, options)
    echo(f"Stage 2/3: build and push the image to {repository_url}")
    tag = options.image_tag or default_image_tag()
    image_uri = builder.build_and_push(
        repository_url, tag=tag, architecture=options.architecture, region=options.region
    )
    echo(f"Stage 3/3: everything else (compute, endpoint, IAM, logs, data stores) with {image_uri}")
    outputs = stage_service(tf, options, image_uri)
    echo(render_summary(outputs))
    return DeployResult(image_uri=image_uri, outputs=outputs)


def destroy(
    options: DeployOptions, *, echo: Printer = print, skip_preflight: bool = False, stream_output: bool = True
) -> None:
    if not skip_preflight:
        problems = []
        _identity, problem = preflight.check_aws_credentials(options.region)
        problems += [problem] if problem else []
        problems += [p] if (p := preflight.check_terraform()) else []
        if problems:
            raise PreflightError(problems)
    tf = terraform_for(options, stream_output=stream_output)
    tf.init()
    # The running image, so that the destroy plan matches what runs (without one, the module's
    # destroy-only placeholder satisfies the provider).
    image_uri = tf.outputs().get("image_uri")
    echo(f"Destroying every resource of {options.root.name} in {options.region}")
    tf.destroy(options.variables(image_uri=image_uri))
    recorded_variables_path(options.root).unlink(missing_ok=True)
    echo("Destroyed. The SSM parameters you created with put-parameter are yours to delete (see docs/deployment.md).")


def client_configs(outputs: Mapping[str, Any]) -> dict[str, str]:
    """Ready-to-paste client configurations for the deployed URL."""
    url = outputs.get("mcp_endpoint") or outputs["function_url"]
    region = outputs.get("region", "ap-northeast-1")
    if outputs.get("authorization_type") == "AWS_IAM":
        proxy = ["uvx", "mcp-proxy-for-aws@latest", url, "--service", "lambda", "--region", region]
        return {
            "cursor": outputs.get("cursor_config") or "",
            "claude_code": "claude mcp add estat -e AWS_REGION=" + region + " -- " + shlex.join(proxy),
            "python": f"estat-aws-mcp client {url} tools --iam",
        }
    token = outputs.get("auth_token_ssm_parameter_name")
    header = ' --header "Authorization: Bearer $ESTAT_MCP_TOKEN"' if token else ""
    return {
        "cursor": outputs.get("cursor_config") or json.dumps({"mcpServers": {"estat": {"url": url}}}),
        "claude_code": f"claude mcp add --transport http estat {url}{header}",
        "python": f"estat-aws-mcp client {url} tools" + (' --token "$ESTAT_MCP_TOKEN"' if token else ""),
    }


def render_summary(outputs: Mapping[str, Any]) -> str:
    configs = client_configs(outputs)
    auth = outputs.get("authorization_type")
    lines = [
        "",
        f"MCP endpoint{f' ({auth})' if auth else ''}: {outputs.get('mcp_endpoint') or outputs['function_url']}",
    ]
    if outputs.get("function_arn"):
        lines.append(f"Function: {outputs['function_arn']}")
    if outputs.get("service_name"):
        lines.append(f"ECS service: {outputs['service_name']} in cluster {outputs.get('cluster_name')}")
    lines.append(f"Logs: {outputs.get('log_group_name')}")
    if outputs.get("data_bucket_name"):
        lines.append(
            f"Data: s3://{outputs['data_bucket_name']}, Athena workgroup {outputs.get('athena_workgroup_name')}, "
            f"Glue database {outputs.get('glue_database_name')}"
        )
    token = outputs.get("auth_token_ssm_parameter_name")
    if token:
        region = outputs.get("region", "ap-northeast-1")
        lines.append(
            "Bearer token: export ESTAT_MCP_TOKEN=$(aws ssm get-parameter --region "
            f"{region} --name {token} --with-decryption --query Parameter.Value --output text)"
        )
    lines += [
        "",
        "Cursor (~/.cursor/mcp.json):",
        json.dumps(json.loads(configs["cursor"]), indent=2) if configs["cursor"] else "(see docs/deployment.md)",
        "",
        "Claude Code:",
        configs["claude_code"],
        "",
        "Python client:",
        configs["python"],
    ]
    return "\n".join(lines)
