"""A Lambda task root built the way the Dockerfile builds ``/var/task``, for the runtime-emulator tests.

The Dockerfile runs ``pip install -c constraints.txt --target /var/task .`` (production
dependencies only, no extras) and compiles every module (``compileall --invalidation-mode
unchecked-hash``). Downloading ~200 MB of wheels on every test run would take minutes, so this
documented equivalent takes the dependencies from the project's virtualenv instead, which was
installed from the same pins:

1. the runtime closure is resolved from ``pyproject.toml``'s ``[project].dependencies`` (extras
   and environment markers honoured) through the installed distributions' metadata; a pin the
   venv does not satisfy fails loudly (run ``make install``); the packages the image installs
   with ``--no-deps`` (``[tool.estat-aws-mcp.image.no-deps]``: japanmap) contribute no
   dependencies, so opencv-python is absent here as in the image;
2. every file each distribution's ``RECORD`` lists is hard-linked (copied across filesystems)
   into the task root, exactly where ``pip install --target`` puts it, bytecode included (pip
   compiled it when it installed the venv; recompiling ~100 MB of dependencies on every fresh
   machine would cost minutes and test nothing of ours);
3. the project itself is installed for real, ``pip install --no-deps --target`` from a copy of
   the sources, so the test runs a built wheel, not the checkout;
4. the project is compiled with the same ``compileall`` command as the Dockerfile.

Dev-only distributions (pytest, moto, ruff, awslambdaric...) are therefore absent, as in the image.
``awslambdaric``, which the Lambda base image provides in ``/var/runtime``, is laid out the same
way in a separate runtime folder. Dependency layers are cached under the system temp folder,
keyed by the pins and the installed versions; the project layer is rebuilt every session.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "estat-aws-mcp"
# Same flags as the Dockerfile's RUN line.
COMPILEALL_ARGS = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]


class VenvOutOfDate(RuntimeError):
    pass


def project_requirements() -> list[Requirement]:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(text) for text in data["project"]["dependencies"]]


def image_left_out() -> dict[str, list[str]]:
    """Package -> its dependencies the image leaves out (``[tool.estat-aws-mcp.image.no-deps]``), read by
    the script the Dockerfile runs (image/requirements.py)."""
    spec = importlib.util.spec_from_file_location("image_requirements", REPO_ROOT / "image" / "requirements.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.left_out(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")))


def image_no_deps() -> frozenset[str]:
    """The runtime dependencies the image installs with ``pip install --no-deps`` (canonical names)."""
    return frozenset(canonicalize_name(name) for name in image_left_out())


def runtime_closure(
    roots: list[Requirement], without_dependencies: frozenset[str] = frozenset()
) -> dict[str, metadata.Distribution]:
    """Installed distributions needed by ``roots`` (name -> distribution), markers and extras honoured;
    the dependencies of the packages in ``without_dependencies`` are not followed."""
    found: dict[str, metadata.Distribution] = {}
    pending: list[tuple[Requirement, frozenset[str]]] = [(req, frozenset()) for req in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, parent_extras = pending.pop()
        if requirement.marker is not None:
            environments = [{"extra": extra} for extra in parent_extras] or [{"extra": ""}]
            if not any(requirement.marker.evaluate(env) for env in environments):
                continue
        name = canonicalize_name(requirement.name)
        extras = frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise VenvOutOfDate(f"{requirement} is not installed in {sys.prefix}; run `make install`") from None
        if requirement.specifier and distribution.version not in requirement.specifier:
            raise VenvOutOfDate(f"{requirement} but {distribution.version} is installed; run `make install`")
        found[name] = distribution
        if name in without_dependencies:
            continue
        for text in distribution.requires or []:
            pending.append((Requirement(text), extras))
    return found


def _closure_key(distributions: dict[str, metadata.Distribution], salt: str) -> str:
    digest = hashlib.sha256(salt.encode())
    for name in sorted(distributions):
        digest.update(f"{name}=={distributions[name].version}\n".encode())
    return digest.hexdigest()[:16]


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def lay_out(distributions: dict[str, metadata.Distribution], target: Path) -> None:
    """Place every RECORD-listed file of ``distributions`` under ``target`` (as ``pip --target`` would)."""
    for distribution in distributions.values():
        base = Path(distribution.locate_file("")).resolve()
        for entry in distribution.files or []:
            parts = Path(entry).parts
            if not parts or parts[0] == "..":
                continue  # console scripts live outside site-packages
            source = base / entry
            if source.is_file():
                _link_or_copy(source, target / entry)


# Bump when the layout of a cached layer changes.
LAYOUT_VERSION = "2"


def _cached_layer(kind: str, distributions: dict[str, metadata.Distribution], salt: str) -> Path:
    cache = Path(tempfile.gettempdir()) / "estat-aws-mcp-lambda-e2e"
    final = cache / f"{kind}-{_closure_key(distributions, LAYOUT_VERSION + salt)}"
    if final.is_dir():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=cache))
    lay_out(distributions, staging)
    try:
        staging.rename(final)
    except OSError:  # another session finished first: use theirs
        shutil.rmtree(staging, ignore_errors=True)
    return final


def dependency_layer() -> Path:
    closure = runtime_closure(project_requirements(), image_no_deps())
    closure.pop(canonicalize_name(PROJECT), None)
    constraints = (REPO_ROOT / "constraints.txt").read_text(encoding="utf-8")
    return _cached_layer("deps", closure, constraints)


def runtime_layer() -> Path:
    """awslambdaric and its dependencies (the Lambda base image's ``/var/runtime``)."""
    return _cached_layer("runtime", runtime_closure([Requirement("awslambdaric")]), "")


def build_task_root(destination: Path) -> Path:
    """A fresh task root in ``destination``: the cached dependency layer plus the project, compiled."""
    destination.mkdir(parents=True, exist_ok=True)
    dependencies = dependency_layer()
    for source in dependencies.rglob("*"):
        if source.is_file():
            _link_or_copy(source, destination / source.relative_to(dependencies))
    with tempfile.TemporaryDirectory(prefix="estat-src-") as source_copy:
        # Build from a copy: setuptools writes build/ and *.egg-info into the tree it builds.
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO_ROOT / name, Path(source_copy) / name)
        shutil.copytree(
            REPO_ROOT / "src", Path(source_copy) / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                "--no-compile", "--target", str(destination), source_copy,
            ],
            check=True,
        )  # fmt: skip
    subprocess.run([sys.executable, *COMPILEALL_ARGS, str(destination / "estat_aws_mcp")], check=True)
    return destination
