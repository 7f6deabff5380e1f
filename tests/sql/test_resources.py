"""Bounded SQL resources: memory limit and threads derived from the machine or Lambda, spill only into
a local store, a clear error when a query needs more memory, the same time-limit message however the
query fails, and each table listed once by information_schema.

The memory bombs run in a child process (tests/sql/memory_probe.py) so that its peak resident memory
(VmHWM) is measured, not taken from the engine's answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from estat_aws_mcp.errors import ResourceLimitError, UpstreamError
from estat_aws_mcp.settings import get_settings
from estat_aws_mcp.sql.duckdb_engine import MEMORY_LIMIT_MESSAGE, DuckDBEngine
from estat_aws_mcp.sql.resources import (
    MIB,
    RSS_MARGIN_MB,
    cgroup_cpus,
    cgroup_memory_bytes,
    derive_resources,
    query_slots,
    resources_for,
)
from tests.sql.conftest import Loaded
from tests.sql.memory_probe import ENDLESS_STREAM_SQL, MEMORY_BOMB_SQL

REPO_ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ derivation


def test_lambda_memory_size_sets_the_budget_and_threads(tmp_path: Path) -> None:
    r = derive_resources(environ={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, cgroup_root=tmp_path, cpus=2)
    assert (r.budget_mb, r.query_memory_mb, r.threads) == (512, 256, 1)  # 1024 MB buys 0.58 vCPU
    assert "Lambda" in r.source
    big = derive_resources(environ={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, cgroup_root=tmp_path, cpus=6)
    assert (big.budget_mb, big.threads) == (5120, 6)


def test_cgroup_v2_limits_win_over_the_machine(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text(f"{2048 * MIB}\n")
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_memory_bytes(tmp_path) == 2048 * MIB and cgroup_cpus(tmp_path) == 1.5
    r = derive_resources(environ={}, cgroup_root=tmp_path, physical_bytes=64 * 1024 * MIB, cpus=8)
    assert (r.budget_mb, r.query_memory_mb, r.threads) == (1024, 512, 2)


def test_cgroup_v1_and_unlimited(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str(9223372036854771712))  # v1 "no limit"
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_memory_bytes(tmp_path) is None and cgroup_cpus(tmp_path) is None
    r = derive_resources(environ={}, cgroup_root=tmp_path, physical_bytes=8 * 1024 * MIB, cpus=4)
    assert (r.budget_mb, r.threads) == (4096, 4)
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str(512 * MIB))
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000")
    r = derive_resources(environ={}, cgroup_root=tmp_path, physical_bytes=8 * 1024 * MIB, cpus=4)
    assert (r.budget_mb, r.query_memory_mb, r.threads) == (256, 128, 1)


def test_settings_override_and_spill_only_with_a_local_store(tmp_path: Path) -> None:
    r = derive_resources(memory_limit_mb=300, threads=3, max_concurrent=3, environ={}, cgroup_root=tmp_path, cpus=1)
    assert (r.budget_mb, r.query_memory_mb, r.threads, r.spill_mb) == (300, 100, 3, 300)
    assert r.source == "ESTAT_MCP_SQL_MEMORY_LIMIT_MB"
    assert derive_resources(memory_limit_mb=300, spill_mb=0, environ={}, cgroup_root=tmp_path).spill_mb == 0
    assert derive_resources(memory_limit_mb=300, local_store=False, environ={}, cgroup_root=tmp_path).spill_mb == 0


def test_the_engine_runs_with_the_derived_settings(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_MCP_SQL_MEMORY_LIMIT_MB", "400")
    monkeypatch.setenv("ESTAT_MCP_SQL_THREADS", "1")
    settings = get_settings()
    rows = (
        DuckDBEngine(settings)
        .execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')"
        )
        .rows
    )
    memory, threads, temp = rows[0]
    assert memory.startswith("190") and threads == 1  # 200 MB each for 2 concurrent queries (DuckDB shows MiB)
    assert Path(temp).parent == Path(settings.storage_uri).resolve() / ".tmp" / "duckdb"
    assert not any(Path(temp).parent.iterdir())  # the query's spill folder is gone afterwards


# ------------------------------------------------------------------ memory bombs (child processes)


def _probe(
    tmp_path: Path, sql: str, *, limit_mb: int | None, spill_mb: int | None, deadline_s: float = 60, **extra: str
) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESTAT_", "AWS_LAMBDA"))}
    env.update(
        ESTAT_MCP_STORAGE_URI=str(tmp_path / "store"),
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)]),
        **extra,
    )
    if limit_mb is not None:
        env["ESTAT_MCP_SQL_MEMORY_LIMIT_MB"] = str(limit_mb)
    if spill_mb is not None:
        env["ESTAT_MCP_SQL_SPILL_MB"] = str(spill_mb)
    done = subprocess.run(
        [sys.executable, "-m", "tests.sql.memory_probe", sql, str(deadline_s)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=deadline_s + 60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "spill_mb", [0, pytest.param(None, marks=pytest.mark.slow)], ids=["no-spill", "spill-to-store"]
)
def test_the_recursive_cte_bomb_ends_with_the_memory_error_within_bounds(tmp_path: Path, spill_mb) -> None:
    out = _probe(tmp_path, MEMORY_BOMB_SQL, limit_mb=256, spill_mb=spill_mb)
    assert out["error"] == "ResourceLimitError", out
    assert "needs more memory than allowed (128 MB per query" in out["message"]
    assert "temp_directory" not in out["message"] and "Out of Memory Error" not in out["message"]
    # the process's peak: what it had before the query + the query's share + the stated margin
    assert out["peak_mb"] < out["baseline_mb"] + out["query_memory_mb"] + RSS_MARGIN_MB, out
    # Ended by the memory limit, not by the 60 s deadline: the deadline would have raised the time-limit
    # error instead of ResourceLimitError (checked above), whatever the machine's speed.
    spill_root = tmp_path / "store" / ".tmp" / "duckdb"
    assert not spill_root.exists() or not any(spill_root.iterdir())


def test_a_1024_mb_lambda_keeps_the_bomb_inside_the_function(tmp_path: Path) -> None:
    """No setting: the Lambda memory size alone bounds the query (512 MB budget, 256 MB per query)."""
    out = _probe(tmp_path, MEMORY_BOMB_SQL, limit_mb=None, spill_mb=0, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024")
    assert out["error"] == "ResourceLimitError", out
    assert (out["budget_mb"], out["query_memory_mb"], out["threads"]) == (512, 256, 1)
    assert out["peak_mb"] < out["baseline_mb"] + out["query_memory_mb"] + RSS_MARGIN_MB, out
    assert out["peak_mb"] < 1024, out  # the function would be killed past its memory size


def test_spilling_lets_a_big_aggregate_finish_that_memory_alone_cannot(loaded: Loaded, monkeypatch) -> None:
    sql = "SELECT count(*) FROM (SELECT i % 3000000 AS k, count(*) FROM range(6000000) t(i) GROUP BY k)"
    monkeypatch.setenv("ESTAT_MCP_SQL_MEMORY_LIMIT_MB", "128")
    monkeypatch.setenv("ESTAT_MCP_SQL_SPILL_MB", "0")
    with pytest.raises(ResourceLimitError, match="needs more memory than allowed"):
        DuckDBEngine(get_settings()).execute(sql)
    monkeypatch.setenv("ESTAT_MCP_SQL_SPILL_MB", "512")
    assert DuckDBEngine(get_settings()).execute(sql).rows == [[3_000_000]]


# ------------------------------------------------------------------ time limit and slots


def test_streaming_and_counting_forms_of_a_timeout_give_the_same_message(loaded: Loaded) -> None:
    engine = DuckDBEngine(loaded.settings)
    messages = []
    for sql in (ENDLESS_STREAM_SQL, ENDLESS_STREAM_SQL.replace("SELECT * FROM t", "SELECT count(*) FROM t")):
        started = time.monotonic()
        with pytest.raises(UpstreamError) as caught:
            engine.execute(sql, deadline=time.monotonic() + 0.5)
        assert time.monotonic() - started < 10
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "time limit" in messages[0] and "Interrupted" not in messages[0]


def test_a_query_waits_for_a_slot_within_its_time_limit(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_MCP_SQL_MAX_CONCURRENT", "1")
    settings = get_settings()
    slots = query_slots(resources_for(settings).max_concurrent)
    assert slots.acquire(timeout=5)
    try:
        with pytest.raises(UpstreamError, match=r"time limit.*query slots"):
            DuckDBEngine(settings).execute("SELECT 1", deadline=time.monotonic() + 0.3)
    finally:
        slots.release()
    assert DuckDBEngine(settings).execute("SELECT 1").rows == [[1]]


def test_memory_message_names_the_settings() -> None:
    assert "ESTAT_MCP_SQL_MEMORY_LIMIT_MB" in MEMORY_LIMIT_MESSAGE


# ------------------------------------------------------------------ information_schema


def test_information_schema_lists_each_table_once(loaded: Loaded) -> None:
    engine = DuckDBEngine(loaded.settings)
    rows = engine.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2").rows
    assert rows == [["estat", "population"]]
    # unqualified names still resolve in the default namespace
    assert engine.execute("SELECT count(*) FROM population").rows == [[600]]


def test_default_spill_is_bounded_by_the_stores_free_disk(tmp_path: Path) -> None:
    r = derive_resources(memory_limit_mb=4096, free_disk_bytes=2048 * MIB, environ={}, cgroup_root=tmp_path)
    assert r.spill_mb == 512  # a quarter of the free space, below the 4,096 MB budget
    r = derive_resources(memory_limit_mb=256, free_disk_bytes=2048 * MIB, environ={}, cgroup_root=tmp_path)
    assert r.spill_mb == 256


def test_spill_folders_of_killed_processes_are_swept(tmp_path: Path) -> None:
    from estat_aws_mcp.sql.resources import STALE_SPILL_S, sweep_stale_spill

    stale, live, other = tmp_path / "q-aaaaaaaaaaaa", tmp_path / "q-bbbbbbbbbbbb", tmp_path / "keep"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "duckdb_temp_storage.tmp").write_bytes(b"x")
    old = time.time() - STALE_SPILL_S - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    sweep_stale_spill(tmp_path)
    assert not stale.exists() and live.exists() and other.exists()
