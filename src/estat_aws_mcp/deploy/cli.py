"""``estat-aws-mcp deploy`` / ``estat-aws-mcp destroy`` (what ``make deploy`` / ``make destroy`` run)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs; a VALUE in JSON list or object syntax (``'subnet_ids=["subnet-a"]'``) is
    that list or object, anything else a string (Terraform converts strings to numbers and bools)."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--var expects NAME=VALUE, got {pair!r}")
        if value.lstrip().startswith(("[", "{")):
            try:
                values[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"--var {key}: a list or object must be JSON ({exc.msg}), got {value!r}") from None
        else:
            values[key] = value
    return values


def _options(args: argparse.Namespace):
    from estat_aws_mcp.deploy.flow import DeployOptions

    common = {
        "region": args.region,
        "architecture": getattr(args, "architecture", "arm64"),
        "name": args.name,
        "extra_variables": _parse_assignments(args.var),
        "plugin_dir": Path(args.plugin_dir) if args.plugin_dir else None,
    }
    if args.app_id_parameter:
        common["app_id_parameter"] = args.app_id_parameter
    if args.auth_token_parameter is not None:
        common["auth_token_parameter"] = args.auth_token_parameter or None
    if args.root:
        return DeployOptions(root=Path(args.root).resolve(), **common)
    return DeployOptions.for_example(args.example, **common)


def _deploy(args: argparse.Namespace) -> int:
    from estat_aws_mcp.deploy.errors import DeployError
    from estat_aws_mcp.deploy.flow import REPO_ROOT, deploy
    from estat_aws_mcp.deploy.image import DockerImageBuilder

    try:
        options = _options(args)
        context = Path(args.context).resolve() if args.context else REPO_ROOT
        builder = DockerImageBuilder(context=context, dockerfile=context / "Dockerfile")
        options.image_tag = args.tag
        deploy(options, builder)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _destroy(args: argparse.Namespace) -> int:
    from estat_aws_mcp.deploy.errors import DeployError
    from estat_aws_mcp.deploy.flow import destroy

    try:
        destroy(_options(args))
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--example", default="public-url", help="terraform/examples/<name> (default public-url)")
    where.add_argument("--root", help="your own Terraform root module that calls the module as `estat_mcp`")
    parser.add_argument("--region", default="ap-northeast-1", help="AWS region (default ap-northeast-1)")
    parser.add_argument("--name", help="deployment name (default estat-aws-mcp)")
    parser.add_argument("--app-id-parameter", help="SSM SecureString with the e-Stat appId")
    parser.add_argument(
        "--auth-token-parameter",
        help="SSM SecureString with the bearer token ('' for none; the public-url and ecs-fargate default)",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help='extra Terraform variable (lists and maps in JSON: \'subnet_ids=["subnet-a","subnet-b"]\')',
    )
    parser.add_argument("--plugin-dir", help="offline provider mirror for terraform init -plugin-dir")


def add_deploy_parsers(sub) -> None:
    deploy = sub.add_parser("deploy", help="deploy to AWS: ECR, build and push the image, then the function")
    _common(deploy)
    deploy.add_argument("--architecture", default="arm64", choices=["arm64", "x86_64"], help="image/function ISA")
    deploy.add_argument("--context", help="docker build context with the Dockerfile (default: the repository)")
    deploy.add_argument("--tag", help="image tag (default: UTC time and git commit; tags are immutable)")
    deploy.set_defaults(func=_deploy)

    destroy = sub.add_parser("destroy", help="destroy every resource of a deployment")
    _common(destroy)
    destroy.set_defaults(func=_destroy)
