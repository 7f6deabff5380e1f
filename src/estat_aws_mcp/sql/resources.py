"""How much memory and how many threads the embedded SQL engine may use, derived from where it runs.

One query must not be able to take the host down. The process's DuckDB *budget* is

- ``ESTAT_MCP_SQL_MEMORY_LIMIT_MB`` when set, else
- half of the memory the process may use: on Lambda ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` (the function's
  configured memory), elsewhere the smaller of the cgroup limit (v2 ``memory.max``, v1
  ``memory.limit_in_bytes``) and the machine's physical memory; at least :data:`MIN_BUDGET_MB`.

At most ``ESTAT_MCP_SQL_MAX_CONCURRENT`` queries run at once in a process (the others wait, within their
time limit) and each gets an equal share of the budget as DuckDB's ``memory_limit``, so the process's
SQL memory stays under the budget however many clients call at once. The other half of the memory is
left to Python, Arrow batches of results and the rest of the server.

Threads per query: ``ESTAT_MCP_SQL_THREADS``, else the CPUs the process may use (affinity, cgroup CPU
quota, and on Lambda the vCPUs its memory size buys: one per 1,769 MB), and no more than one thread per
:data:`MIN_MB_PER_THREAD` of the query's memory (DuckDB needs working memory per thread).

Spilling (sorts, joins and aggregates larger than memory written to disk) is allowed only with a
*local* store, into ``<store>/.tmp/duckdb/<query>`` (removed afterwards), capped by
``ESTAT_MCP_SQL_SPILL_MB`` (default: the budget, at most a quarter of the store's free disk; 0 turns
spilling off); folders left by a killed process are swept after two hours. With an ``s3://`` store (Lambda)
there is no spilling: Lambda's ``/tmp`` is small and shared with the dataset writer. DuckDB does not
enforce its own temp-directory cap for every operator (a recursive CTE was measured writing 2 GB past a
200 MB ``max_temp_directory_size``), and some allocations live outside its buffer manager, so the engine
also watches the process's resident memory and the spill folder while a query runs and interrupts it
past the query's share plus :data:`RSS_MARGIN_MB` (see ``DuckDBEngine``).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
#: The smallest budget derived automatically (a setting may go lower, to 64 MB).
MIN_BUDGET_MB = 128
#: DuckDB working memory per worker thread below which more threads only add contention.
MIN_MB_PER_THREAD = 128
#: Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB, up to 6.
LAMBDA_MB_PER_VCPU = 1769
#: Resident memory a query may add above its DuckDB share before the watchdog stops it (Arrow result
#: batches, allocations outside DuckDB's buffer manager). ``make bench`` checks the whole process stays
#: under budget + this margin + the interpreter's own baseline under a memory bomb.
RSS_MARGIN_MB = 192

_UNLIMITED_CGROUP = 1 << 60  # cgroup v1 reports "no limit" as a huge number


@dataclass(frozen=True)
class SqlResources:
    """What a DuckDB query gets; ``source`` says where the budget came from (shown in bench and docs)."""

    budget_mb: int
    query_memory_mb: int
    threads: int
    max_concurrent: int
    spill_mb: int  # 0: no spilling
    source: str


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_memory_bytes(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The cgroup memory limit of this process (v2 or v1), or None when unlimited/unknown."""
    for candidate in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        text = _read(candidate)
        if text and text != "max":
            try:
                value = int(text)
            except ValueError:
                continue
            if 0 < value < _UNLIMITED_CGROUP:
                return value
    return None


def cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The cgroup CPU quota in CPUs (v2 ``cpu.max`` or v1 cfs quota/period), or None when unlimited."""
    text = _read(root / "cpu.max")
    if text:
        quota, _, period = text.partition(" ")
        if quota != "max":
            try:
                return int(quota) / int(period or "100000")
            except (ValueError, ZeroDivisionError):
                return None
        return None
    quota_text, period_text = _read(root / "cpu" / "cpu.cfs_quota_us"), _read(root / "cpu" / "cpu.cfs_period_us")
    try:
        quota, period = int(quota_text or "-1"), int(period_text or "0")
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def derive_resources(
    *,
    memory_limit_mb: int | None = None,
    threads: int | None = None,
    max_concurrent: int = 2,
    spill_mb: int | None = None,
    local_store: bool = True,
    free_disk_bytes: int | None = None,
    environ: dict[str, str] | None = None,
    cgroup_root: Path = Path("/sys/fs/cgroup"),
    physical_bytes: int | None = None,
    cpus: int | None = None,
) -> SqlResources:
    """The resources for one query, from the settings (overrides) and the machine or Lambda function."""
    env = os.environ if environ is None else environ
    if memory_limit_mb is not None:
        budget_mb, source = memory_limit_mb, "ESTAT_MCP_SQL_MEMORY_LIMIT_MB"
    else:
        lambda_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        if lambda_mb.isdigit() and int(lambda_mb) > 0:
            total, source = int(lambda_mb) * MIB, f"half of the Lambda memory size ({lambda_mb} MB)"
        else:
            limits = [b for b in (cgroup_memory_bytes(cgroup_root),) if b]
            machine = physical_bytes if physical_bytes is not None else physical_memory_bytes()
            if machine:
                limits.append(machine)
            total = min(limits) if limits else 2048 * MIB
            source = f"half of the process's memory ({total // MIB} MB: cgroup limit or machine total)"
        budget_mb = max(MIN_BUDGET_MB, total // MIB // 2)
    query_mb = max(32, budget_mb // max_concurrent)

    if threads is None:
        available = float(cpus if cpus is not None else _available_cpus())
        quota = cgroup_cpus(cgroup_root)
        if quota:
            available = min(available, quota)
        lambda_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        if lambda_mb.isdigit() and int(lambda_mb) > 0:
            available = min(available, int(lambda_mb) / LAMBDA_MB_PER_VCPU)
        threads = max(1, math.ceil(available - 0.25))  # 1.1 CPUs is one thread, 1.9 is two
        threads = max(1, min(threads, query_mb // MIN_MB_PER_THREAD))

    if not local_store:
        spill = 0
    elif spill_mb is None:
        # the budget again on disk, but never more than a quarter of the store's free space
        spill = budget_mb if free_disk_bytes is None else min(budget_mb, free_disk_bytes // MIB // 4)
    else:
        spill = spill_mb
    return SqlResources(
        budget_mb=budget_mb,
        query_memory_mb=query_mb,
        threads=threads,
        max_concurrent=max_concurrent,
        spill_mb=spill,
        source=source,
    )


def resources_for(settings) -> SqlResources:
    """:func:`derive_resources` from :class:`~estat_aws_mcp.settings.Settings`."""
    local = "://" not in settings.storage_uri
    return derive_resources(
        memory_limit_mb=settings.sql_memory_limit_mb,
        threads=settings.sql_threads,
        max_concurrent=settings.sql_max_concurrent,
        spill_mb=settings.sql_spill_mb,
        local_store=local,
        free_disk_bytes=free_disk_bytes(Path(settings.storage_uri)) if local else None,
    )


def free_disk_bytes(path: Path) -> int | None:
    """Free bytes on the filesystem that holds ``path`` (or its nearest existing parent)."""
    import shutil

    path = path.expanduser().resolve()
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


#: A spill folder left by a killed process is removed once it is this old (longer than any query runs).
STALE_SPILL_S = 2 * 3600


def sweep_stale_spill(root: Path, *, now: float | None = None) -> None:
    """Remove ``q-*`` spill folders under ``root`` untouched for :data:`STALE_SPILL_S` (a process killed mid-query
    leaves its folder; a live query's folder is younger than the longest time limit, 3,600 s)."""
    import shutil
    import time

    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.startswith("q-") and now - entry.stat(follow_symlinks=False).st_mtime > STALE_SPILL_S:
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            continue


# One gate per process for the concurrent DuckDB queries (sized by the first query's setting).
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def query_slots(max_concurrent: int) -> threading.BoundedSemaphore:
    """The process's semaphore admitting ``max_concurrent`` DuckDB queries at once."""
    with _slots_lock:
        if max_concurrent not in _slots:
            _slots[max_concurrent] = threading.BoundedSemaphore(max_concurrent)
        return _slots[max_concurrent]


def process_rss_bytes() -> int | None:
    """Resident memory of this process now (Linux ``/proc/self/statm``), or None elsewhere."""
    text = _read(Path("/proc/self/statm"))
    if not text:
        return None
    try:
        return int(text.split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (IndexError, ValueError, OSError):
        return None


def folder_bytes(path: Path) -> int:
    """Bytes of the files directly in ``path`` (DuckDB's spill files; it makes no subfolders)."""
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    except OSError:
        return 0
    return total
