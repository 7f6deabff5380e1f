"""The AWS Lambda Runtime Interface Emulator running the handler with ``awslambdaric``, as the base image does.

The RIE binary ships inside the ``aws-sam-cli`` wheel (``samcli/local/rapid/aws-lambda-rie-<arch>``);
``make e2e-tools`` extracts it into ``.tools/``, and :func:`rie_binary` does the same if it is
missing. The runtime is started the way ``/lambda-entrypoint.sh`` starts it:
``aws-lambda-rie <python> -m awslambdaric estat_aws_mcp.lambda_handler.handler`` with the task
root as working directory and first on the import path, the base interpreter in no-site mode (only
the task root and the runtime folder are importable, like ``/var/task`` and ``/var/runtime``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.processes import free_port, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / ".tools"
SAM_CLI_VERSION = "1.170.0"
HANDLER = "estat_aws_mcp.lambda_handler.handler"


class EmulatorUnavailable(RuntimeError):
    """The RIE cannot run on this machine (not a failure of the code under test)."""


def _arch() -> str:
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    raise EmulatorUnavailable(f"the Lambda RIE is built for x86_64 and arm64 only, not {machine}")


def rie_binary() -> Path:
    """``.tools/aws-lambda-rie-<arch>``, extracted from the aws-sam-cli wheel if missing."""
    if sys.platform != "linux":
        raise EmulatorUnavailable(f"the Lambda RIE is a Linux binary; this is {sys.platform}")
    name = f"aws-lambda-rie-{_arch()}"
    binary = TOOLS_DIR / name
    if binary.is_file():
        return binary
    TOOLS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                f"aws-sam-cli=={SAM_CLI_VERSION}",
                "-d",
                download,
            ],
            check=True,
        )
        (wheel,) = Path(download).glob("aws_sam_cli-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(f"samcli/local/rapid/{name}")
    partial = binary.with_suffix(".partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    partial.replace(binary)
    return binary


def base_python() -> str:
    """The interpreter behind the virtualenv (the image has no venv either)."""
    return getattr(sys, "_base_executable", None) or sys.executable


class RuntimeEmulator:
    """One RIE process serving the handler from ``task_root``; invoke URL in :attr:`url`."""

    def __init__(self, task_root: Path, runtime_dir: Path, env: Mapping[str, str], log_path: Path) -> None:
        self.task_root = task_root
        self.runtime_dir = runtime_dir
        self.extra_env = dict(env)
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        home = self.log_path.parent / "home"
        home.mkdir(exist_ok=True)
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "PYTHONPATH": os.pathsep.join([str(self.task_root), str(self.runtime_dir)]),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": "60",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            **self.extra_env,
        }

    def start(self) -> RuntimeEmulator:
        command = [
            str(rie_binary()),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            base_python(),
            "-S",
            "-m",
            "awslambdaric",
            HANDLER,
        ]
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command, cwd=self.task_root, env=self.environment(), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60  # a generous bound: the binary may start slowly on a loaded machine
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the RIE exited with {self._process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the RIE did not listen in time:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._process = None


def inspector_cli() -> Path:
    """``.tools/node_modules/.bin/mcp-inspector`` (``make e2e-tools``), installed with npm if missing."""
    binary = TOOLS_DIR / "node_modules" / ".bin" / "mcp-inspector"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise EmulatorUnavailable("Node.js and npm are needed for the MCP Inspector CLI")
    TOOLS_DIR.mkdir(exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(TOOLS_DIR),
            "--no-audit",
            "--no-fund",
            "--silent",
            "@modelcontextprotocol/inspector@0.15.0",
        ],
        check=True,
        timeout=600,
    )
    return binary


@contextlib.contextmanager
def running(emulator: RuntimeEmulator) -> Iterator[RuntimeEmulator]:
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def prepare_tools() -> int:
    """``make e2e-tools``: fetch the RIE and the Inspector CLI now (a missing platform only warns)."""
    for name, prepare in (("Lambda RIE", rie_binary), ("MCP Inspector CLI", inspector_cli)):
        try:
            print(f"{name}: {prepare()}")
        except EmulatorUnavailable as reason:
            print(f"{name}: unavailable here ({reason}); the tests that need it will say so", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(prepare_tools())
