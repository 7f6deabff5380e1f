"""moto's server (a real HTTP AWS emulator) in its own process on 127.0.0.1.

A separate process keeps the emulator's work off the test process's GIL and lets other
processes (terraform, the Lambda runtime emulator, the aws CLI) reach it too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.processes import free_port, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]

# Dummy credentials: moto accepts any; real ones must never be used by tests.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-northeast-1",
    "AWS_REGION": "ap-northeast-1",
}


class MotoServer:
    """Runs ``python -m moto.server`` on a free loopback port until :meth:`stop`."""

    def __init__(self, port: int | None = None, *, module: str = "moto.server") -> None:
        """``module``: what ``python -m`` runs, moto's server or a launcher that extends it (run from
        the repository root, so that ``tests.…`` launchers import)."""
        self.port = port or free_port()
        self.module = module
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> MotoServer:
        env = {**os.environ, **FAKE_AWS_ENV}
        env.pop("AWS_ENDPOINT_URL", None)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._proc.returncode}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not start in time")

    def reset(self) -> None:
        """Forget every resource (POST /moto-api/reset)."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).close()

    def env(self) -> dict[str, str]:
        """Environment that points every AWS SDK (and the aws CLI) at this server."""
        return {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL": self.url}

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
        self._proc = None


@contextlib.contextmanager
def running_moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
