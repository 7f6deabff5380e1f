"""Write the Lambda image's two requirement files from pyproject.toml (the Dockerfile's build stage runs this in /build).

- ``runtime-requirements.txt``: ``[project].dependencies``, installed with their dependencies;
- ``no-deps-requirements.txt``: the dependencies named in ``[tool.estat-aws-mcp.image.no-deps]``, installed
  with ``pip install --no-deps`` because some of what they declare is never imported by the code we call
  (japanmap declares opencv-python, a ~70 MB wheel and ~290 MB installed, used only by ``japanmap.picture``). The table lists, per
  package, the dependencies the image leaves out; everything else such a package needs must be a pin of
  its own in ``[project].dependencies`` (tests/lambda_handler/test_image_wheels.py checks both).

Standard library only: it runs on the base image's bare Python before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

RUNTIME = "runtime-requirements.txt"
NO_DEPS = "no-deps-requirements.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return canonical(match.group(1))


def left_out(pyproject: dict) -> dict[str, list[str]]:
    """Package -> the declared dependencies of it that the image does not install."""
    table = pyproject.get("tool", {}).get("estat-aws-mcp", {}).get("image", {}).get("no-deps", {})
    return {canonical(name): [canonical(dep) for dep in deps] for name, deps in table.items()}


def split(pyproject: dict) -> tuple[list[str], list[str]]:
    """([project].dependencies installed with their dependencies, those installed without)."""
    no_deps = left_out(pyproject)
    dependencies = pyproject["project"]["dependencies"]
    unknown = set(no_deps) - {requirement_name(r) for r in dependencies}
    if unknown:
        raise SystemExit(f"[tool.estat-aws-mcp.image.no-deps] names no runtime dependency: {sorted(unknown)}")
    with_deps = [r for r in dependencies if requirement_name(r) not in no_deps]
    without = [r for r in dependencies if requirement_name(r) in no_deps]
    return with_deps, without


def main(directory: Path) -> None:
    with (directory / "pyproject.toml").open("rb") as file:
        with_deps, without = split(tomllib.load(file))
    (directory / RUNTIME).write_text("".join(f"{r}\n" for r in with_deps), encoding="utf-8")
    (directory / NO_DEPS).write_text("".join(f"{r}\n" for r in without), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
