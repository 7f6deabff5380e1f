"""fmt, validate and `terraform test` (mock provider) of the module and both examples, offline."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.terraform import harness

pytestmark = pytest.mark.terraform


def _terraform(args: list[str], cwd: Path, cli_config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    return subprocess.run(
        [harness.terraform_bin() or "terraform", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _init(root: Path, plugin_root: Path, cli_config: Path) -> None:
    if not (root / ".terraform").is_dir():
        result = _terraform(["init", f"-plugin-dir={plugin_root}", "-input=false", "-no-color"], root, cli_config)
        assert result.returncode == 0, result.stderr


def test_fmt_check_of_the_shipped_code(terraform_ready: Path, terraform_cli_config: Path) -> None:
    result = _terraform(
        ["fmt", "-check", "-recursive", "-diff", "-no-color"], harness.TERRAFORM_DIR, terraform_cli_config
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("root", [*harness.MODULES, *(f"examples/{e}" for e in harness.EXAMPLES)])
def test_validate(root: str, compat_tree: Path, terraform_ready: Path, terraform_cli_config: Path) -> None:
    folder = compat_tree / root
    _init(folder, terraform_ready, terraform_cli_config)
    result = _terraform(["validate", "-no-color"], folder, terraform_cli_config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success! The configuration is valid." in result.stdout


@pytest.mark.parametrize("root", harness.TESTED_ROOTS)
def test_terraform_test_with_the_mock_provider(
    root: str, compat_tree: Path, terraform_ready: Path, terraform_cli_config: Path
) -> None:
    folder = compat_tree / root
    _init(folder, terraform_ready, terraform_cli_config)
    result = _terraform(["test", "-no-color"], folder, terraform_cli_config)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = sum(
        text.count('\nrun "')
        for text in (p.read_text(encoding="utf-8") for p in (folder / "tests").glob("*.tftest.hcl"))
    )
    # Every run block ran and passed (terraform skips the rest of a file after a failure).
    assert f"Success! {runs} passed, 0 failed." in result.stdout, result.stdout


def test_compat_copy_changes_only_the_tagged_lines(tmp_path: Path) -> None:
    """The tests exercise the shipped code: the copy differs only by the provider-6.28-only lines."""
    copy = harness.compat_copy(tmp_path / "terraform")
    changed = []
    for original in sorted(harness.TERRAFORM_DIR.rglob("*")):
        twin = copy / original.relative_to(harness.TERRAFORM_DIR)
        if original.is_dir() or not twin.exists():  # local state, lock files and .terraform are not copied
            continue
        old = original.read_text(encoding="utf-8").splitlines()
        new = twin.read_text(encoding="utf-8").splitlines()
        removed = [line for line in difflib.ndiff(old, new) if line.startswith("- ")]
        added = [line for line in difflib.ndiff(old, new) if line.startswith("+ ")]
        assert not added, original
        assert all(line.rstrip().endswith(harness.PROVIDER6_MARKER) for line in removed), removed
        changed += removed
    # Exactly the two invoked_via_function_url arguments (public and cross-account InvokeFunction grants).
    assert len(changed) == 2 and all("invoked_via_function_url = true" in line for line in changed)
    overrides = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("provider_version_override.tf"))
    assert overrides == sorted(f"{root}/provider_version_override.tf" for root in harness.NEEDS_PROVIDER6)


def test_image_command_default_matches_the_dockerfile_cmd() -> None:
    """The function's image_config.command repeats the Dockerfile's CMD (moto and AWS report it)."""
    dockerfile = harness.REPO_ROOT / "Dockerfile"
    if not dockerfile.is_file():
        pytest.skip("no Dockerfile yet")
    (cmd,) = re.findall(r"^CMD\s+(\[.*\])\s*$", dockerfile.read_text(encoding="utf-8"), re.MULTILINE)
    variables = (harness.MODULE_DIR / "variables.tf").read_text(encoding="utf-8")
    block = variables[variables.index('variable "image_command"') :]
    default = re.search(r"default\s+=\s+(\[.*?\])", block).group(1)
    assert json.loads(default) == json.loads(cmd)
