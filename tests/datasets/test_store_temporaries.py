"""Temporary files of killed writers are swept; live writers' files never are (issue 15 item 11).
A store folder that cannot be created names the setting and the path (item 13)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from estat_aws_mcp.datasets import store as store_module
from estat_aws_mcp.datasets.store import STALE_TEMP_AGE_S, LocalObjectStore
from estat_aws_mcp.errors import ConfigurationError

REPO_SRC = Path(__file__).resolve().parents[2] / "src"
OLD = time.time() - STALE_TEMP_AGE_S - 60

KILLED_WRITER = """
import sys, time
from estat_aws_mcp.datasets.store import LocalObjectStore
store = LocalObjectStore(sys.argv[1])
with store.open_write("datasets/0003445078-0123456789ab/data.parquet") as fh:
    fh.write(b"x" * 1000)
    fh.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def _killed_writer_leftover(root: Path) -> Path:
    """Run a real writer in a child process and SIGKILL it mid-write: its temporary file stays behind."""
    env = {**os.environ, "PYTHONPATH": str(REPO_SRC)}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(root)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    [leftover] = list(root.rglob(".tmp-*"))
    return leftover


def _new_process_view(root: Path) -> LocalObjectStore:
    """Open the store as a new process would (the start-up sweep runs once per process and root)."""
    store_module._swept_roots.discard(root.resolve())
    return LocalObjectStore(root)


def test_startup_sweeps_what_a_killed_fetch_left(tmp_path: Path) -> None:
    root = tmp_path / "store"
    leftover = _killed_writer_leftover(root)
    recent = leftover.with_name(".tmp-recent")  # another process may be writing this one right now
    recent.write_bytes(b"y")
    _new_process_view(root)
    assert leftover.exists()  # young: it could belong to a live writer elsewhere
    os.utime(leftover, (OLD, OLD))
    _new_process_view(root)
    assert not leftover.exists()
    assert recent.exists()


def test_a_write_sweeps_its_folder_but_never_a_live_writers_file(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    key = "datasets/0003445078-0123456789ab/data.parquet"
    folder = tmp_path / "store" / "datasets" / "0003445078-0123456789ab"
    folder.mkdir(parents=True)
    stale = folder / ".tmp-killed"
    stale.write_bytes(b"old")
    os.utime(stale, (OLD, OLD))
    with store.open_write(key) as live:
        live.write(b"live")
        [live_temp] = [path for path in folder.glob(".tmp-*") if path != stale and path.exists()]
        os.utime(live_temp, (OLD, OLD))  # even a live file that looks old is left alone
        store.write_bytes("datasets/0003445078-0123456789ab/manifest.json", b"{}")  # a write in the same folder
        assert not stale.exists()
        assert live_temp.exists()
    assert store.read_bytes(key) == b"live"
    assert sorted(p.name for p in folder.iterdir()) == ["data.parquet", "manifest.json"]


@pytest.mark.parametrize("uri", ["/proc/x", "/dev/null/store"])
def test_a_store_that_cannot_be_created_names_the_setting_and_the_path(uri: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        LocalObjectStore(uri)
    message = str(caught.value)
    assert "ESTAT_MCP_STORAGE_URI" in message and uri in message
    assert "[Errno" not in message
