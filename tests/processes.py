"""Servers the tests start: a free port to give them, one way to stop a child process, ``estat-aws-mcp
serve --http`` itself in a subprocess, an ASGI app on uvicorn in a thread (:func:`serving`) and a TCP
endpoint that never answers (:func:`silent_endpoint`)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def silent_endpoint() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers (an AWS endpoint that hangs);
    yields its ``http://127.0.0.1:<port>`` URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        server.close()


def stop_process(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Terminate ``process`` and wait for it; kill it when it has not exited within ``timeout_s``."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


@contextlib.contextmanager
def serve_http(env: dict[str, str], log_path: Path, *, port: int | None = None, startup_s: float = 60) -> Iterator[str]:
    """``estat-aws-mcp serve --http`` (the console script's entry point) on a loopback port until ``/health``
    answers; yields the MCP URL. ``env`` is the child's whole environment (with ``PYTHONPATH`` naming the
    source under test); ``port`` defaults to a free one. Its output goes to ``log_path``."""
    port = port or free_port()
    entry = "import sys; from estat_aws_mcp.cli import main; main(sys.argv[1:])"
    command = [sys.executable, "-c", entry, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=log_path.parent)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve --http exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve --http did not answer /health in time:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(process)


@contextlib.contextmanager
def serving(app: Any, *, port: int = 0, log_level: str = "info") -> Iterator[str]:
    """``app`` served by a real uvicorn server on 127.0.0.1 (``port``; 0: a free one) in a thread; yields the base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
