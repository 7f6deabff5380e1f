"""Running this repository's Terraform offline: the local aws provider, a compatible copy, moto.

The Lambda module declares ``aws >= 6.28`` for real users (the public Function URL permission needs
``invoked_via_function_url``, added in 6.28); this machine has only the 5.100 provider. Tests work
on a copy of terraform/ where a test-only ``provider_version_override.tf`` lowers the constraint and
the lines tagged ``# provider>=6.28`` (that one argument) are left out. Everything else is the
shipped code, byte for byte; ``test_compat_copy_changes_only_the_tagged_lines`` keeps that true.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULE_DIR = TERRAFORM_DIR / "modules" / "estat-mcp-lambda"
MODULES = ("modules/estat-mcp-common", "modules/estat-mcp-lambda", "modules/estat-mcp-ecs")
LAMBDA_EXAMPLES = ("public-url", "iam-auth")
EXAMPLES = (*LAMBDA_EXAMPLES, "ecs-fargate")
# Root modules with a tests/*.tftest.hcl (terraform test, mock provider).
TESTED_ROOTS = MODULES
# Roots whose constraint includes the Lambda module's ">= 6.28" (they get the test-only override);
# the common and ECS modules and the ECS example need only what 5.100 has.
NEEDS_PROVIDER6 = ("modules/estat-mcp-lambda", *(f"examples/{e}" for e in LAMBDA_EXAMPLES))
PROVIDER6_MARKER = "# provider>=6.28"
VERSION_OVERRIDE = """terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}
"""
# Every service the stack touches, pointed at one moto server.
MOTO_SERVICES = (
    "appautoscaling",
    "athena",
    "cloudwatch",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "glue",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "ssm",
    "sts",
)


@functools.cache
def terraform_bin() -> str | None:
    return shutil.which("terraform")


def _plugin_search_roots() -> list[Path]:
    """Where to look, nearest first: the plugin cache, Terraform's implied local mirrors, the usual
    install prefixes, then the whole filesystem (a search of / alone takes seconds, more under load,
    and every pytest-xdist worker makes it)."""
    home = Path.home()
    roots = [os.environ.get("TF_PLUGIN_CACHE_DIR", ""), home / ".terraform.d", home / ".local" / "share" / "terraform"]
    roots += ["/usr/local/share/terraform", "/usr/share/terraform", "/opt", "/usr/local", "/"]
    return [Path(root) for root in roots if str(root) and Path(root).is_dir()]


@functools.cache
def provider_plugin_root() -> Path | None:
    """The folder above ``registry.terraform.io`` that holds terraform-provider-aws_*, found at run time."""
    for root in _plugin_search_roots():
        found = subprocess.run(
            ["find", str(root), "-name", "terraform-provider-aws_*", "-not", "-path", "/proc/*"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout.split()
        for binary in sorted(found):
            for parent in Path(binary).parents:
                if parent.name == "registry.terraform.io":
                    return parent.parent
    return None


def skip_reason() -> str | None:
    if terraform_bin() is None:
        return "terraform is not on PATH (install Terraform >= 1.11 to run the module tests)"
    if provider_plugin_root() is None:
        return "no local hashicorp/aws provider plugin (terraform-provider-aws_*) found on this machine"
    return None


def compat_copy(destination: Path) -> Path:
    """A copy of terraform/ that runs on the local 5.100 provider (see the module docstring)."""
    shutil.copytree(
        TERRAFORM_DIR, destination, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    )
    for tf_file in destination.rglob("*.tf"):
        text = tf_file.read_text(encoding="utf-8")
        if PROVIDER6_MARKER in text:
            kept = [line for line in text.splitlines(keepends=True) if not line.rstrip().endswith(PROVIDER6_MARKER)]
            tf_file.write_text("".join(kept), encoding="utf-8")
    for root in NEEDS_PROVIDER6:
        (destination / root / "provider_version_override.tf").write_text(VERSION_OVERRIDE, encoding="utf-8")
    return destination


def write_moto_provider_override(example_dir: Path, endpoint: str, services: Iterable[str] = MOTO_SERVICES) -> None:
    """Test-only provider settings: every service at moto, dummy keys, no metadata or credential calls."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in services)
    (example_dir / "moto_override.tf").write_text(
        f"""provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  # false: the provider asks moto's STS for the account id (Athena and Glue ARNs need it).
  skip_requesting_account_id = false
  s3_use_path_style          = true

  endpoints {{
{endpoints}
  }}
}}
""",
        encoding="utf-8",
    )


def write_cli_config_file(path: Path) -> Path:
    path.write_text("disable_checkpoint = true\n", encoding="utf-8")
    return path
