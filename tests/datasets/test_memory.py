"""Transparent huge pages are turned off for a process that converts pages (datasets/memory.py).

The check runs in a fresh interpreter, which first turns THP back on (a child inherits the setting of
its parent, and this test process may have converted pages already). Fixture numbers refer to
tests/fixtures/estat/PROVENANCE.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from estat_aws_mcp.datasets import memory

SRC = Path(__file__).resolve().parents[2] / "src"
CENSUS_META = "hermes__getMetaInfo_0003445078_census2020_area-trimmed__2026-10-02.json"  # 13

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "THP_enabled" not in Path("/proc/self/status").read_text(),
    reason="THP is a Linux setting, shown per process in /proc/self/status since Linux 5.0",
)

CHILD = textwrap.dedent(
    """
    import ctypes, json, sys
    from pathlib import Path

    # A child inherits its parent's setting (pytest's worker may have converted pages already): start
    # from THP on, as a process started from a shell is.
    ctypes.CDLL(None).prctl(41, 0, 0, 0, 0)

    def thp_enabled():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("THP_enabled:"):
                return int(line.split(":")[1])

    before = thp_enabled()
    from estat_aws_mcp.datasets.schema import PageConverter, table_metadata
    from estat_aws_mcp.estat.normalize import normalize_meta_info

    meta = normalize_meta_info(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
    imported = thp_enabled()
    PageConverter(table_metadata("0003445078", meta))
    print(before, imported, thp_enabled())
    """
)


@linux_only
def test_the_first_page_converter_turns_thp_off_for_its_process(estat_fixtures_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(estat_fixtures_dir / CENSUS_META)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    before, imported, after = result.stdout.split()
    assert (before, imported) == ("1", "1"), "importing the engine must not change the process"
    assert after == "0", result.stderr


@linux_only
def test_disabling_is_done_once_and_reports_the_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_state", None)
    calls: list[tuple[int, int]] = []
    real = memory._prctl

    def counting(option: int, argument: int) -> int | None:
        calls.append((option, argument))
        return real(option, argument)

    monkeypatch.setattr(memory, "_prctl", counting)
    assert memory.disable_transparent_huge_pages() is True
    assert memory.disable_transparent_huge_pages() is True
    assert calls == [(memory.PR_SET_THP_DISABLE, 1), (memory.PR_GET_THP_DISABLE, 0)]
    assert memory.transparent_huge_pages_disabled() is True


def test_a_system_without_prctl_keeps_its_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_state", None)
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory._prctl(memory.PR_GET_THP_DISABLE, 0) is None
    assert memory.transparent_huge_pages_disabled() is False
    assert memory.disable_transparent_huge_pages() is False


def test_a_refused_prctl_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_state", None)
    monkeypatch.setattr(memory, "_prctl", lambda option, argument: -1)  # e.g. a seccomp filter: EINVAL/EPERM
    assert memory.disable_transparent_huge_pages() is False
