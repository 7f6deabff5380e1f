"""Child processes of the tests (servers, emulators): a free port to give them, and one way to stop them."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Terminate ``process`` and wait for it; kill it when it has not exited within ``timeout_s``."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
