"""Run one DuckDB-engine query in THIS process and print, as JSON, how it ended and the peak RSS.

    python -m tests.sql.memory_probe "<sql>" [deadline_s]

Used by tests/sql/test_resources.py and ``make bench`` (bench/sql_memory_bomb.py) in a child process,
so that the peak resident memory measured (``VmHWM``) is the query's process's own. The settings come
from the environment (ESTAT_MCP_STORAGE_URI, ESTAT_MCP_SQL_MEMORY_LIMIT_MB, ...).
"""

from __future__ import annotations

import json
import sys
import time

#: The recursive CTE of issue 15 (grew a server to 23 GiB before the memory limit).
MEMORY_BOMB_SQL = (
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t, range(10) WHERE n < 12) SELECT count(*) FROM t"
)
#: Its streaming form: rows flow to the client until the time limit.
ENDLESS_STREAM_SQL = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t) SELECT * FROM t"


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024


def main(argv: list[str]) -> int:
    sql = argv[0]
    deadline_s = float(argv[1]) if len(argv) > 1 else 30.0
    from estat_aws_mcp.settings import get_settings
    from estat_aws_mcp.sql.duckdb_engine import DuckDBEngine
    from estat_aws_mcp.sql.resources import RSS_MARGIN_MB, resources_for

    settings = get_settings()
    engine = DuckDBEngine(settings)
    engine.execute("SELECT 1")  # imports and first connection out of the measure
    baseline_mb = _status_mb("VmRSS:")
    resources = resources_for(settings)
    started = time.monotonic()
    outcome: dict[str, object] = {}
    try:
        result = engine.execute(sql, deadline=time.monotonic() + deadline_s)
        outcome = {"error": None, "rows": result.row_count}
    except Exception as exc:  # reported to the parent, which asserts on it
        outcome = {"error": type(exc).__name__, "message": str(exc)}
    outcome.update(
        elapsed_s=round(time.monotonic() - started, 3),
        baseline_mb=round(baseline_mb, 1),
        peak_mb=round(_status_mb("VmHWM:"), 1),
        query_memory_mb=resources.query_memory_mb,
        budget_mb=resources.budget_mb,
        spill_mb=resources.spill_mb,
        threads=resources.threads,
        margin_mb=RSS_MARGIN_MB,
    )
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
