"""python-terraform (0.10.1, 2019) behind an adapter that fixes its defaults for Terraform 1.x.

What the library gets wrong on Terraform 1.x, and what this adapter sends instead:

- ``destroy()`` sends ``-force`` (removed in 0.15)            -> ``-auto-approve``, never ``-force``
- ``plan(dir)`` passes the folder as an argument (removed)    -> runs in ``working_dir``, no folder argument
- ``apply()`` without ``skip_plan=True`` waits for approval   -> always ``-auto-approve`` (or a saved plan file)
- ``plan()`` sends ``-detailed-exitcode``: 2 means "changes"  -> exit 2 is a result, not an error
- ``init()`` always sends ``-reconfigure``                    -> only when asked
- every command gets the default ``-var-file``/``-parallelism`` -> only the commands that accept them

Variables go through python-terraform's temporary ``.tfvars.json`` file (never on the command line),
and the process environment of each run is the caller's plus ``env`` (python-terraform copies
``os.environ`` at each call, so the adapter sets the extra variables only for the duration of a call).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from estat_aws_mcp.deploy.errors import DeployError

_ENV_LOCK = threading.Lock()


class TerraformError(DeployError):
    """A terraform command failed; the message names the command and carries its error output."""

    def __init__(self, command: str, returncode: int, stderr: str | None) -> None:
        detail = (stderr or "").strip()
        tail = detail[-4000:] if detail else "(see the output above)"
        super().__init__(f"terraform {command} failed with exit code {returncode}:\n{tail}")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class PlanResult:
    """``terraform plan -detailed-exitcode``: ``changes`` is True for exit code 2."""

    changes: bool
    stdout: str | None


def write_cli_config(path: Path, plugin_dir: Path | None = None) -> Path:
    """A Terraform CLI configuration file; with ``plugin_dir``, providers come only from that mirror."""
    lines = ["disable_checkpoint = true"]
    if plugin_dir is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {json.dumps(str(plugin_dir))}",
            '    include = ["registry.terraform.io/*/*"]',
            "  }",
            "}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Terraform:
    """Runs terraform in one root module folder through python-terraform, with Terraform 1.x semantics."""

    def __init__(
        self,
        working_dir: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        plugin_dir: str | os.PathLike[str] | None = None,
        parallelism: int = 10,
        terraform_bin: str = "terraform",
        stream_output: bool = False,
    ) -> None:
        from python_terraform import Terraform as PythonTerraform

        self.working_dir = Path(working_dir)
        self.env = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", **(env or {})}
        self.plugin_dir = Path(plugin_dir) if plugin_dir is not None else None
        self.parallelism = parallelism
        self.stream_output = stream_output
        # Library-wide defaults stay empty: each method passes exactly what its command accepts.
        self._tf = PythonTerraform(working_dir=str(self.working_dir), terraform_bin_path=terraform_bin)

    # -- commands -------------------------------------------------------------------------------

    def init(self, *, reconfigure: bool = False, upgrade: bool = False) -> None:
        from python_terraform import IsFlagged, IsNotFlagged

        options: dict[str, Any] = {
            "reconfigure": IsFlagged if reconfigure else IsNotFlagged,
            "backend": True,
            "upgrade": IsFlagged if upgrade else None,
            "plugin_dir": str(self.plugin_dir) if self.plugin_dir else None,
            # init accepts neither -var-file nor -parallelism.
            "var": None,
            "parallelism": None,
        }
        self._check("init", self._run(self._tf.init, **options))

    def plan(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        targets: Sequence[str] = (),
        destroy: bool = False,
        out: str | None = None,
        refresh: bool = True,
    ) -> PlanResult:
        from python_terraform import IsFlagged

        options: dict[str, Any] = {
            "detailed_exitcode": IsFlagged,
            "var": dict(variables or {}),
            "target": list(targets),
            "parallelism": self.parallelism,
            "destroy": IsFlagged if destroy else None,
            "out": out,
            "refresh": None if refresh else False,
        }
        code, stdout, stderr = self._run(self._tf.plan, **options)
        if code not in (0, 2):
            raise TerraformError("plan", code, stderr)
        return PlanResult(changes=code == 2, stdout=stdout)

    def apply(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        targets: Sequence[str] = (),
        plan_file: str | None = None,
    ) -> None:
        if plan_file is not None:
            # A saved plan carries its own variables and targets; apply it as is.
            options: dict[str, Any] = {"var": None, "parallelism": self.parallelism}
            self._check("apply", self._run(self._tf.apply, plan_file, skip_plan=False, **options))
            return
        options = {"var": dict(variables or {}), "target": list(targets), "parallelism": self.parallelism}
        self._check("apply", self._run(self._tf.apply, skip_plan=True, **options))

    def destroy(self, variables: Mapping[str, Any] | None = None) -> None:
        from python_terraform import IsFlagged, IsNotFlagged

        options: dict[str, Any] = {
            "force": IsNotFlagged,
            "auto_approve": IsFlagged,
            "var": dict(variables or {}),
            "parallelism": self.parallelism,
        }
        self._check("destroy", self._run(self._tf.destroy, **options))

    def outputs(self) -> dict[str, Any]:
        """``terraform output -json`` as {name: value} (empty before the first apply)."""
        from python_terraform import IsFlagged

        code, stdout, stderr = self._run(self._tf.output_cmd, json=IsFlagged, capture=True)
        self._check("output", (code, stdout, stderr))
        return {name: entry.get("value") for name, entry in json.loads(stdout or "{}").items()}

    def validate(self) -> None:
        from python_terraform import IsFlagged

        self._check("validate", self._run(self._tf.cmd, "validate", no_color=IsFlagged, capture=True))

    # -- plumbing -------------------------------------------------------------------------------

    def _run(self, method, *args: Any, capture: bool = False, **options: Any) -> tuple[int, str | None, str | None]:
        if not capture and self.stream_output:
            options["capture_output"] = False
        with self._environment():
            return method(*args, **options)

    @staticmethod
    def _check(command: str, result: tuple[int, str | None, str | None]) -> None:
        code, _stdout, stderr = result
        if code != 0:
            raise TerraformError(command, code, stderr)

    @contextmanager
    def _environment(self) -> Iterator[None]:
        if all(os.environ.get(key) == value for key, value in self.env.items()):
            # Nothing to change: concurrent runs that need the same environment do not wait.
            yield
            return
        with _ENV_LOCK:
            saved = {key: os.environ.get(key) for key in self.env}
            os.environ.update(self.env)
            try:
                yield
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
