"""The image's dependency install resolves to wheels only, on the image's own platform, for both architectures.

The end-to-end tests build their task root from this machine's virtualenv (Debian, glibc 2.36, the test
interpreter), so they cannot see whether the image's base can install the pins. This test asks pip, as the
image's build stage would: the Python version is read from the Dockerfile's ``FROM`` line, the requirements
are produced by the Dockerfile's own command (``[project].dependencies`` of pyproject.toml), the constraints
are constraints.txt, and the platform is the base's glibc (Amazon Linux 2023: ``manylinux_2_34``) on x86_64
and aarch64. ``--only-binary=:all:`` makes any package without a suitable wheel fail the resolution, and the
failure names it. It needs PyPI, like ``make install``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tests.lambda_handler.task_root import REPO_ROOT

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


def image_requirements() -> list[str]:
    """The requirement lines the build stage installs, produced by the Dockerfile's own command."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    match = re.search(r'python3\.\d+ -c "([^"]*tomllib[^"]*)"\s*>\s*runtime-requirements\.txt', text)
    assert match, "the Dockerfile no longer derives runtime-requirements.txt from pyproject.toml"
    out = subprocess.run(
        [sys.executable, "-c", match.group(1)], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    requirements = [line for line in out.splitlines() if line.strip()]
    assert requirements, "the Dockerfile's command produced no requirements"
    return requirements


def manylinux_platforms(glibc_minor: int, arch: str) -> list[str]:
    """Every manylinux tag a system with glibc 2.<glibc_minor> accepts (pip does not expand ``manylinux_2_X``)."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{arch}" for minor, name in legacy.items() if minor <= glibc_minor]
    return tags


@dataclass(frozen=True)
class Resolution:
    ok: bool
    wheels: list[str]
    missing: list[str]
    output: str


def resolve(base: Base, arch: str, tmp_path: Path) -> Resolution:
    requirements = tmp_path / "runtime-requirements.txt"
    requirements.write_text("\n".join(image_requirements()) + "\n", encoding="utf-8")
    report = tmp_path / f"report-{arch}.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--disable-pip-version-check", "--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", base.python, "--target", str(tmp_path / "target")]
    for platform in manylinux_platforms(base.glibc_minor, arch):
        command += ["--platform", platform]
    command += ["-c", str(REPO_ROOT / "constraints.txt"), "--report", str(report), "-r", str(requirements)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("WARNING: Location")
    )
    if result.returncode != 0:
        missing = re.findall(r"No matching distribution found for ([\w.-]+)", output)
        missing += re.findall(r"Cannot install ([\w.-]+)", output)
        block = re.search(r"no matching distributions available for your environment:\n((?:\s+\S+\n?)+)", output)
        if block:
            missing += block.group(1).split()
        return Resolution(False, [], sorted(set(missing)), output)
    installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    urls = [item["download_info"]["url"] for item in installs]
    sources = [url.rsplit("/", 1)[-1] for url in urls if not url.endswith(".whl")]
    return Resolution(not sources, [url.rsplit("/", 1)[-1] for url in urls], sources, output)


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


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_runtime_pin_installs_as_a_wheel_on_the_image(arch: str, resolutions: dict[str, Resolution]) -> None:
    base = parse_base(dockerfile_bases()[0])
    resolution = resolutions[arch]
    assert resolution.ok, (
        f"the image ({base.image}, CPython {base.python}, manylinux_2_{base.glibc_minor}_{arch}) would build "
        f"{', '.join(resolution.missing) or 'a package'} from source or cannot install it:\n{resolution.output}"
    )
    names = {wheel.split("-")[0].lower() for wheel in resolution.wheels}
    assert {"pyarrow", "duckdb", "mcp", "pyiceberg"} <= names, sorted(names)


def test_the_old_amazon_linux_2_base_is_caught(resolutions: dict[str, Resolution]) -> None:
    resolution = resolutions["old-base"]
    assert not resolution.ok
    assert "pyarrow" in resolution.missing, resolution.output
