"""Fixtures for the Terraform tests: skip cleanly without terraform or the local provider."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.terraform import harness, moto_stack
from tests.terraform.moto_stack import Stack


@pytest.fixture(scope="session")
def terraform_ready() -> Path:
    """The provider plugin root (the folder above registry.terraform.io); skips when absent."""
    reason = harness.skip_reason()
    if reason:
        pytest.skip(reason)
    root = harness.provider_plugin_root()
    assert root is not None
    return root


@pytest.fixture(scope="session")
def terraform_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our own CLI config (the environment's TF_CLI_CONFIG_FILE may point at a missing file)."""
    return harness.write_cli_config_file(tmp_path_factory.mktemp("tfcli") / "terraformrc")


@pytest.fixture(scope="session")
def compat_tree(tmp_path_factory: pytest.TempPathFactory, terraform_ready: Path) -> Path:
    """One compatible copy of terraform/ for the read-only checks (fmt, validate, terraform test)."""
    return harness.compat_copy(tmp_path_factory.mktemp("tf") / "terraform")


@pytest.fixture(scope="session")
def moto_stacks(
    tmp_path_factory: pytest.TempPathFactory, terraform_ready: Path, terraform_cli_config: Path
) -> Iterator[dict[str, Stack]]:
    """The Lambda examples and the ECS example deployed to three moto servers at once (terraform
    mostly waits on the provider's polling, so the deployments overlap well on 2 cores); destroyed at
    the end if a test did not."""
    plans = {
        "public-url": {},
        # The iam-auth deployment runs with the AWS data backends off and run_aws_cli's wider log
        # reads on: the real apply covers the optional resources both on (public-url) and off.
        "iam-auth": {
            "enable_aws_data_backends": False,
            "aws_cli_account_wide_log_reads": True,
            "aws_cli_extra_log_group_arns": [moto_stack.OTHER_LOG_GROUP],
        },
        "ecs-fargate": {"prepare": moto_stack.users_network_and_certificate},
    }
    with pytest.MonkeyPatch.context() as patch:
        # The adapter runs without its environment lock when the environment already matches.
        for key, value in moto_stack.terraform_env(terraform_cli_config).items():
            patch.setenv(key, value)
        with ThreadPoolExecutor(max_workers=len(plans)) as pool:
            futures = {
                example: pool.submit(
                    moto_stack.start_stack,
                    example,
                    tmp_path_factory.mktemp(example),
                    terraform_ready,
                    terraform_cli_config,
                    **variables,
                )
                for example, variables in plans.items()
            }
            stacks: dict[str, Stack] = {}
            errors = []
            for example, future in futures.items():
                try:
                    stacks[example] = future.result()
                except Exception as exc:  # the other deployment still gets destroyed
                    errors.append(f"{example}: {exc}")
        try:
            if errors:
                pytest.fail("deployment to moto failed:\n" + "\n".join(errors))
            yield stacks
        finally:
            with ThreadPoolExecutor(max_workers=len(plans)) as pool:
                list(pool.map(moto_stack.close_stack, stacks.values()))
