"""Fixtures shared by the whole suite. Concern-specific fixtures live in each test folder's conftest."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.moto_server import MotoServer, running_moto_server

REPO_ROOT = Path(__file__).resolve().parent.parent
# Recorded e-Stat responses, vendored with their provenance (tests/fixtures/estat/PROVENANCE.md).
ESTAT_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "estat"


def estat_fixture(name: str) -> Path:
    """The path of one recorded response; a missing file fails the test that needs it, naming the file."""
    path = ESTAT_FIXTURES / name
    if not path.is_file():
        pytest.fail(f"recorded e-Stat fixture missing: {path} (see tests/fixtures/estat/PROVENANCE.md)")
    return path


# -- pytest-xdist (make test: `-n 2 --dist loadgroup --no-loadscope-reorder`) ----------------------
# A worker takes one group at a time and runs its tests in file order. A group is a test file (its
# module fixtures are built once), except that the files using one costly session fixture form one
# group (else each worker would build it: three Terraform deployments, a 15 s Lambda task root).
# pytest 9.2 ignores xdist's own `xdist_group` mark (xdist 3.8 renames item._nodeid, which pytest no
# longer reads), so the grouping is a scheduler of ours. Workers order the files longest first: the
# Terraform deployments, then files with slow or Terraform tests, then the rest in file order.
SHARED_SESSION_GROUPS = {"moto_stacks": "terraform-moto-stacks", "lambda_task_root": "lambda-task-root"}


@functools.cache
def xdist_group_of(path: str) -> str:
    """The group of a test file (a path from the root): a shared session fixture's, else its own."""
    source = (REPO_ROOT / path).read_text(encoding="utf-8")
    for fixture, group in SHARED_SESSION_GROUPS.items():
        if re.search(rf"\b{fixture}\b", source):
            return group
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FileGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid.split("::")[0])

    return FileGroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers by --dist loadgroup
        return  # a plain run keeps its order

    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)

    def rank(path: str, file_items: list[pytest.Item]) -> int:
        if any("moto_stacks" in item.fixturenames for item in file_items):
            return 0
        slow = any(item.get_closest_marker("slow") or item.get_closest_marker("terraform") for item in file_items)
        return 1 if slow or xdist_group_of(path) != path else 2

    ranks = {path: rank(path, file_items) for path, file_items in by_file.items()}
    items.sort(key=lambda item: ranks[item.nodeid.split("::")[0]])  # stable: file order within a rank


@pytest.fixture(scope="session")
def estat_fixtures_dir() -> Path:
    if not ESTAT_FIXTURES.is_dir():
        pytest.fail(f"recorded e-Stat fixtures not found at {ESTAT_FIXTURES} (tests/fixtures/estat in the repository)")
    return ESTAT_FIXTURES


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server process for the session."""
    with running_moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def lambda_task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda task root built like the image's /var/task (tests/lambda_handler/task_root.py), once per
    session (building it takes ~15 s): the runtime-emulator tests only read it."""
    from tests.lambda_handler.task_root import build_task_root

    return build_task_root(tmp_path_factory.mktemp("lambda-task-root") / "task")


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """Point AWS SDKs at a freshly reset moto server with dummy credentials."""
    from estat_aws_mcp.aws.clients import reset_session_cache

    moto_server.reset()
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    reset_session_cache()
    yield moto_server
    reset_session_cache()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
