"""The image's dependency install resolves to wheels only, on the image's own platform, for both architectures,
and installs no opencv-python.

The end-to-end tests build their task root from this machine's virtualenv (Debian, glibc 2.36, the test
interpreter), so they cannot see whether the image's base can install the pins. This test asks pip, as the
image's build stage would: the Python version is read from the Dockerfile's ``FROM`` line, and the build
stage's own ``RUN`` commands are replayed in a copy of what its ``COPY`` line sends (the requirement files are
written by the Dockerfile's own command; every ``pip install`` runs with the Dockerfile's arguments, plus
``--dry-run --report`` and the image's platform: the base's glibc (Amazon Linux 2023: ``manylinux_2_34``) on
x86_64 and aarch64). ``--only-binary=:all:`` makes any package without a suitable wheel fail the resolution,
and the failure names it. The union of the reports is what lands in ``/opt/task``: it must not hold
opencv-python (japanmap declares it; the image installs japanmap with ``--no-deps``), and every other
dependency that a ``--no-deps`` package declares must be installed anyway. It needs PyPI, like ``make install``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.lambda_handler.task_root import REPO_ROOT, image_left_out

DOCKERFILE = REPO_ROOT / "Dockerfile"
# The Lambda Python base images: 3.8–3.11 are built on Amazon Linux 2 (glibc 2.26), 3.12 and newer on
# Amazon Linux 2023 (glibc 2.34) — https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
AL2_PYTHONS = {"3.8", "3.9", "3.10", "3.11"}
GLIBC_MINOR = {"al2": 26, "al2023": 34}
# The base this project used before (Amazon Linux 2): kept to show the check would have caught it.
OLD_BASE = "public.ecr.aws/lambda/python:3.11.2024.11.22.15-${ARCH}"
ARCHITECTURES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class Base:
    image: str
    python: str  # "3.12"

    @property
    def glibc_minor(self) -> int:
        return GLIBC_MINOR["al2" if self.python in AL2_PYTHONS else "al2023"]


def parse_base(image: str) -> Base:
    match = re.fullmatch(r"public\.ecr\.aws/lambda/python:(\d+\.\d+)\.[^@\s]*(@sha256:[0-9a-f]{64})?", image)
    assert match, f"not a pinned AWS Lambda Python base image: {image}"
    return Base(image, match.group(1))


def dockerfile_bases() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    return re.findall(r"^FROM\s+(\S+)", text, flags=re.M)


def build_stage() -> str:
    """The build stage's instructions, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r"\\\n\s*", " ", text)
    match = re.search(r"^FROM \S+ AS build\n(.*?)^FROM ", text, flags=re.M | re.S)
    assert match, "the Dockerfile has no build stage"
    return match.group(1)


def build_commands() -> list[list[str]]:
    """The build stage's ``RUN`` line as its ``&&``-separated commands (each split as the shell would)."""
    (run,) = re.findall(r"^RUN (.*)$", build_stage(), flags=re.M)
    return [shlex.split(command) for command in run.split("&&")]


def build_context(directory: Path) -> Path:
    """The files the build stage copies into its WORKDIR (``COPY a b ./``), laid out there in ``directory``."""
    for line in re.findall(r"^COPY (.*)$", build_stage(), flags=re.M):
        *sources, destination = line.split()
        if destination != "./":
            continue  # COPY src ./src: the project itself, which no dependency resolution reads
        for source in sources:
            shutil.copy2(REPO_ROOT / source, directory / Path(source).name)
    return directory


def run_python(command: list[str], cwd: Path) -> None:
    """A ``python3.X …`` command of the build stage (``> file`` honoured), with the test interpreter."""
    stdout = None
    if ">" in command:
        position = command.index(">")
        command, stdout = command[:position], cwd / command[position + 1]
    result = subprocess.run([sys.executable, *command[1:]], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{shlex.join(command)} failed in the build stage:\n{result.stderr}"
    if stdout is not None:
        stdout.write_text(result.stdout, encoding="utf-8")


def manylinux_platforms(glibc_minor: int, arch: str) -> list[str]:
    """Every manylinux tag a system with glibc 2.<glibc_minor> accepts (pip does not expand ``manylinux_2_X``)."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{arch}" for minor, name in legacy.items() if minor <= glibc_minor]
    return tags


@dataclass(frozen=True)
class Installed:
    name: str  # canonical
    wheel: str  # file name, or the URL when it is no wheel
    requires_dist: list[str]
    no_deps: bool  # installed by a `pip install --no-deps` command


@dataclass(frozen=True)
class Resolution:
    ok: bool
    installed: list[Installed] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def names(self) -> set[str]:
        return {item.name for item in self.installed}


def _dry_run(arguments: list[str], base: Base, arch: str, report: Path, target: Path) -> list[str]:
    """The Dockerfile's ``pip install`` arguments, as a dry run for the image's platform into ``target``."""
    assert arguments[0] == "install", arguments
    # --no-cache-dir would only make the test slower: the dry run downloads metadata, never a package
    arguments = [argument for argument in arguments[1:] if argument != "--no-cache-dir"]
    position = arguments.index("--target")
    arguments[position + 1] = str(target)
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--report", str(report)]
    command += ["--implementation", "cp", "--python-version", base.python]
    for platform in manylinux_platforms(base.glibc_minor, arch):
        command += ["--platform", platform]
    return command + arguments


def resolve(base: Base, arch: str, tmp_path: Path) -> Resolution:
    """Replay the build stage's RUN line: python commands for real, pip installs as dry runs."""
    build = build_context(tmp_path)
    installed: list[Installed] = []
    outputs: list[str] = []
    for number, command in enumerate(build_commands()):
        if re.fullmatch(r"python3\.\d+", command[0]) and command[1:3] == ["-m", "pip"]:
            arguments = command[3:]
            if arguments[-1] == ".":
                assert "--no-deps" in arguments, "the project's own install must not resolve anything"
                continue  # the project itself (built from src/), with --no-deps: adds nothing else
            report = tmp_path / f"report-{arch}-{number}.json"
            dry_run = _dry_run(arguments, base, arch, report, tmp_path / "target")
            result = subprocess.run(dry_run, cwd=build, capture_output=True, text=True, timeout=300)
            output = "\n".join(
                line
                for line in (result.stdout + result.stderr).splitlines()
                if not line.startswith("WARNING: Location")
            )
            outputs.append(output)
            if result.returncode != 0:
                missing = re.findall(r"No matching distribution found for ([\w.-]+)", output)
                missing += re.findall(r"Cannot install ([\w.-]+)", output)
                block = re.search(
                    r"no matching distributions available for your environment:\n((?:\s+\S+\n?)+)", output
                )
                if block:
                    missing += block.group(1).split()
                return Resolution(False, installed, sorted(set(missing)), "\n".join(outputs))
            for item in json.loads(report.read_text(encoding="utf-8"))["install"]:
                url = item["download_info"]["url"]
                installed.append(
                    Installed(
                        name=canonicalize_name(item["metadata"]["name"]),
                        wheel=url.rsplit("/", 1)[-1] if url.endswith(".whl") else url,
                        requires_dist=item["metadata"].get("requires_dist", []),
                        no_deps="--no-deps" in arguments,
                    )
                )
        elif re.fullmatch(r"python3\.\d+", command[0]) and command[1:3] == ["-m", "compileall"]:
            continue
        elif re.fullmatch(r"python3\.\d+", command[0]):
            run_python(command, build)
        else:
            pytest.fail(f"the build stage runs {shlex.join(command)!r}, which this test does not know how to replay")
    sources = [item.wheel for item in installed if not item.wheel.endswith(".whl")]
    return Resolution(not sources, installed, sources, "\n".join(outputs))


def test_both_stages_use_one_pinned_lambda_python_base_that_requires_python_admits() -> None:
    bases = dockerfile_bases()
    assert len(bases) == 2 and len(set(bases)) == 1, bases
    base = parse_base(bases[0])
    assert base.glibc_minor == 34, f"{base.image}: not an Amazon Linux 2023 base"
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requires = SpecifierSet(project["requires-python"])
    assert f"{base.python}.0" in requires, f"requires-python {requires} excludes the image's Python {base.python}"
    tested = f"{sys.version_info.major}.{sys.version_info.minor}.0"
    assert tested in requires, f"requires-python {requires} excludes the test interpreter {tested}"


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Resolution]:
    """The image's base on both architectures and the old base, resolved at once: pip mostly waits on
    PyPI, so three resolutions side by side take about as long as the slowest one alone."""
    base = parse_base(dockerfile_bases()[0])
    jobs = {arch: (base, arch) for arch in ARCHITECTURES}
    jobs["old-base"] = (parse_base(OLD_BASE.replace("${ARCH}", "x86_64")), "x86_64")
    root = tmp_path_factory.mktemp("wheel-resolutions")
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {}
        for key, (job_base, arch) in jobs.items():
            (root / key).mkdir()
            futures[key] = pool.submit(resolve, job_base, arch, root / key)
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.slow  # the module fixture asks PyPI three times (about 40 s)
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_runtime_pin_installs_as_a_wheel_on_the_image(arch: str, resolutions: dict[str, Resolution]) -> None:
    base = parse_base(dockerfile_bases()[0])
    resolution = resolutions[arch]
    assert resolution.ok, (
        f"the image ({base.image}, CPython {base.python}, manylinux_2_{base.glibc_minor}_{arch}) would build "
        f"{', '.join(resolution.missing) or 'a package'} from source or cannot install it:\n{resolution.output}"
    )
    assert {"pyarrow", "duckdb", "mcp", "pyiceberg", "japanmap"} <= resolution.names, sorted(resolution.names)


def _environment(base: Base, arch: str) -> dict[str, str]:
    """Marker values of the image's interpreter (for the dependencies a package declares)."""
    return {
        "python_version": base.python,
        "python_full_version": f"{base.python}.0",
        "platform_machine": arch,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "extra": "",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_image_installs_no_opencv_and_everything_else_no_deps_packages_need(
    arch: str, resolutions: dict[str, Resolution]
) -> None:
    """opencv-python (~290 MB) is not installed, although japanmap declares it; everything else that the
    packages installed with --no-deps declare is installed by the other commands; the left-out list is
    not stale (each left-out package is still declared)."""
    base = parse_base(dockerfile_bases()[0])
    resolution = resolutions[arch]
    assert resolution.ok, resolution.output
    assert not {name for name in resolution.names if "opencv" in name}, sorted(resolution.names)
    exclusions = image_left_out()
    without_deps = {item.name: item for item in resolution.installed if item.no_deps}
    assert set(without_deps) == set(exclusions), "the --no-deps install is not exactly the no-deps table"
    for name, leave_out in exclusions.items():
        declared = {
            canonicalize_name(requirement.name)
            for requirement in map(Requirement, without_deps[name].requires_dist)
            if requirement.marker is None or requirement.marker.evaluate(_environment(base, arch))
        }
        assert set(leave_out) <= declared, f"{name} no longer declares {set(leave_out) - declared}: drop them"
        assert not set(leave_out) & resolution.names, f"{set(leave_out) & resolution.names} is installed anyway"
        unmet = declared - set(leave_out) - resolution.names
        assert not unmet, f"{name} is installed without {unmet}: pin them in [project].dependencies"


@pytest.mark.slow
def test_the_old_amazon_linux_2_base_is_caught(resolutions: dict[str, Resolution]) -> None:
    resolution = resolutions["old-base"]
    assert not resolution.ok
    assert "pyarrow" in resolution.missing, resolution.output
