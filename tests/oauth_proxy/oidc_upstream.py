"""A real OpenID Provider for the OAuth tests: the certified ``oidc-provider`` npm package on 127.0.0.1.

``make e2e-tools`` (and, if missing, the first test that needs it) installs the exact versions of
``oidc_upstream/package-lock.json`` into ``.tools/oidc-provider`` with ``npm ci``. The provider runs
``oidc_upstream/provider.mjs`` with a JSON configuration the test writes: its clients, the resource
(the MCP endpoint, the audience of its JWT access tokens), the resource's scope, the access-token
lifetime and the users who may sign in. Tests sign in by submitting its HTML form over HTTP.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lambda_handler.rie import TOOLS_DIR
from tests.processes import free_port, stop_process

SOURCE_DIR = Path(__file__).resolve().parent / "oidc_upstream"
INSTALL_DIR = TOOLS_DIR / "oidc-provider"
LOCK = "package-lock.json"


class ProviderUnavailable(RuntimeError):
    """Node.js/npm are missing: the tests that need a real OpenID Provider skip, saying so."""


def install() -> Path:
    """``.tools/oidc-provider`` with the locked packages (``npm ci``), unless already there."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise ProviderUnavailable("Node.js and npm are needed to run the oidc-provider OpenID Provider")
    lock = (SOURCE_DIR / LOCK).read_bytes()
    installed = INSTALL_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not installed.is_file() or (INSTALL_DIR / LOCK).read_bytes() != lock:
        INSTALL_DIR.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", LOCK):
            shutil.copyfile(SOURCE_DIR / name, INSTALL_DIR / name)
        # From the folder itself: with --prefix, npm ci reads the lock of an enclosing project.
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=INSTALL_DIR, check=True, timeout=600)
    # The script imports 'oidc-provider' from next to itself: it runs from the install folder.
    shutil.copyfile(SOURCE_DIR / "provider.mjs", INSTALL_DIR / "provider.mjs")
    return INSTALL_DIR


@dataclass
class OidcProvider:
    """One provider process; :attr:`issuer` once started."""

    clients: list[dict[str, Any]]
    resource: str
    resource_scope: str = "mcp-server/tools"
    access_token_ttl: int = 300
    users: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="oidc-upstream-")
        self.output: list[str] = []

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> OidcProvider:
        folder = install()
        config = Path(self._folder.name) / "config.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "clients": self.clients,
                    "resource": self.resource,
                    "resource_scope": self.resource_scope,
                    "access_token_ttl": self.access_token_ttl,
                    "users": self.users,
                }
            )
        )
        self._process = subprocess.Popen(
            [shutil.which("node") or "node", str(folder / "provider.mjs"), str(config)],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def read() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                self.output.append(line.rstrip())
                if line.startswith("READY "):
                    ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout_s
        while not ready.wait(0.2):
            exited = self._process.poll()
            if exited is not None or time.monotonic() > deadline:
                self.stop()
                reader.join(2)  # the rest of what it printed
                how = f"exited with code {exited}" if exited is not None else f"no READY line within {timeout_s:.0f} s"
                raise RuntimeError(f"oidc-provider did not start ({how}):\n" + "\n".join(self.output[-40:]))
        return self

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._process = None
        self._folder.cleanup()


if __name__ == "__main__":  # make e2e-tools
    try:
        print(f"oidc-provider: {install()}")
    except ProviderUnavailable as reason:
        print(f"oidc-provider: unavailable here ({reason}); the tests that need it will say so", file=sys.stderr)
    sys.exit(0)
