"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``) and the servers it is run against.

``make e2e-tools`` (and, if missing, the first test that needs it) installs the exact versions of
``suite/package-lock.json`` into ``.tools/mcp-conformance`` with ``npm ci`` (0.1.13: the newest release
that runs on Node 20). :func:`run_suite` runs every server scenario (``--suite all``) against one MCP URL
and returns each scenario's checks, read from the ``checks.json`` files the suite writes.

:func:`server_env` is the environment the conformance and Inspector tests give ``serve --http``
(:func:`tests.processes.serve_http`: a subprocess, this checkout's source first on the import path).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lambda_handler.rie import REPO_ROOT, TOOLS_DIR

SOURCE_DIR = Path(__file__).resolve().parent / "suite"
INSTALL_DIR = TOOLS_DIR / "mcp-conformance"
LOCK = "package-lock.json"
PACKAGE = "@modelcontextprotocol/conformance"
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


class SuiteUnavailable(RuntimeError):
    """Node.js/npm are missing (not a failure of the code under test; CI treats it as one)."""


def install() -> Path:
    """The suite's ``conformance`` command in ``.tools/mcp-conformance`` (``npm ci`` of the lock), unless there."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise SuiteUnavailable("Node.js and npm are needed to run the MCP conformance suite")
    lock = (SOURCE_DIR / LOCK).read_bytes()
    entry = INSTALL_DIR / "node_modules" / PACKAGE / "dist" / "index.js"
    if not entry.is_file() or not (INSTALL_DIR / LOCK).is_file() or (INSTALL_DIR / LOCK).read_bytes() != lock:
        INSTALL_DIR.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", LOCK):
            shutil.copyfile(SOURCE_DIR / name, INSTALL_DIR / name)
        # From the folder itself: with --prefix, npm ci reads the lock of an enclosing project.
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=INSTALL_DIR, check=True, timeout=600)
    return entry


FETCH_HEADER = Path(__file__).resolve().parent / "fetch_header.cjs"


def run_suite(
    url: str, out_dir: Path, timeout_s: float = 180, header: tuple[str, str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every server scenario against ``url``: scenario name → its checks (``status``, ``errorMessage``…).

    ``header`` (name, value) is added to every request the suite sends with ``fetch`` (its MCP client;
    the suite has no header option), e.g. a bearer token.
    """
    entry = install()
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if header is not None:
        env |= {"NODE_OPTIONS": f"--require {FETCH_HEADER}", "MCP_TEST_HEADER_NAME": header[0]}
        env["MCP_TEST_HEADER_VALUE"] = header[1]
    completed = subprocess.run(
        [shutil.which("node") or "node", str(entry), "server", "--url", url, "--suite", "all", "-o", str(out_dir)],
        cwd=out_dir,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
    )
    (out_dir / "suite-output.txt").write_text(completed.stdout + completed.stderr)
    results: dict[str, list[dict[str, Any]]] = {}
    for folder in out_dir.iterdir():
        match = _RESULT_DIR.match(folder.name)
        if match and (folder / "checks.json").is_file():
            results[match["scenario"]] = json.loads((folder / "checks.json").read_text())
    if not results:
        raise RuntimeError(
            f"the conformance suite wrote no results:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
        )
    return results


def server_env(store: Path, **extra: str) -> dict[str, str]:
    """A minimal environment for ``serve --http``: nothing of the test process's own settings leaks in."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT / "src"),  # this checkout's source (a worktree's too)
            "ESTAT_MCP_STORAGE_URI": str(store),
            "ESTAT_MCP_AUTH_MODE": "none",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra)
    return env


if __name__ == "__main__":  # make e2e-tools
    try:
        print(f"MCP conformance suite: {install()}")
    except SuiteUnavailable as reason:
        print(
            f"MCP conformance suite: unavailable here ({reason}); the tests that need it will say so", file=sys.stderr
        )
