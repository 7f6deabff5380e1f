"""SQL under a memory bomb: the server's peak RSS stays under the configured limit plus a stated margin.

    python -m bench.sql_memory_bomb [--limit-mb 1024]

Issue 15's recursive CTE (it once grew a server to 23 GiB) runs in a fresh child process
(tests/sql/memory_probe.py) with ``ESTAT_MCP_SQL_MEMORY_LIMIT_MB=--limit-mb``, once without spilling
and once spilling into the local store. Each line prints how the query ended, how long it ran, and
the child's peak RSS (VmHWM) against the bound: the RSS before the query + the query's memory share
+ ``RSS_MARGIN_MB``. Exit 1 if a bound is exceeded or the query did not end with the memory error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.sql.memory_probe import MEMORY_BOMB_SQL  # noqa: E402


def _probe(store: str, limit_mb: int, spill_mb: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ESTAT_", "AWS_LAMBDA"))}
    env.update(
        ESTAT_MCP_STORAGE_URI=store,
        ESTAT_MCP_SQL_MEMORY_LIMIT_MB=str(limit_mb),
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)]),
    )
    if spill_mb is not None:
        env["ESTAT_MCP_SQL_SPILL_MB"] = str(spill_mb)
    done = subprocess.run(
        [sys.executable, "-m", "tests.sql.memory_probe", MEMORY_BOMB_SQL, "120"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mb", type=int, default=1024, help="ESTAT_MCP_SQL_MEMORY_LIMIT_MB for the child")
    args = parser.parse_args(argv)
    print(f"query: {MEMORY_BOMB_SQL}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bench-bomb-") as tmp:
        for label, spill in (("no spilling", 0), ("spilling to the store", None)):
            out = _probe(os.path.join(tmp, "store"), args.limit_mb, spill)
            bound = out["baseline_mb"] + out["query_memory_mb"] + out["margin_mb"]
            ok = out["error"] == "ResourceLimitError" and out["peak_mb"] < bound
            failures += not ok
            print(
                f"SQL under a memory bomb ({label}): limit {out['budget_mb']} MB ({out['query_memory_mb']} MB per "
                f"query, spill {out['spill_mb']} MB, {out['threads']} threads) -> {out['error']} after "
                f"{out['elapsed_s']:.1f} s; peak RSS {out['peak_mb']:.0f} MB < bound {bound:.0f} MB "
                f"(RSS before {out['baseline_mb']:.0f} + query {out['query_memory_mb']} + margin "
                f"{out['margin_mb']}): {'OK' if ok else 'EXCEEDED'}",
                flush=True,
            )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
