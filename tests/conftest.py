"""Fixtures shared by the whole suite. Concern-specific fixtures live in each test folder's conftest."""

from __future__ import annotations

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
