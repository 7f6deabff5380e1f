"""Lambda handler dispatch: in-process vs the adapter's stdio mode, and the handler's cold import.

``python -m bench.lambda_dispatch [--inprocess-runs N] [--stdio-runs N] [--cold-runs N]``

Everything goes through the same entry point Lambda calls, ``FunctionUrlHandler.handle(event,
context)`` with a Function URL event, in one run:

- warm ``tools/list`` and a small ``tools/call`` (``run_aws_cli`` refused by its allowlist: no
  network, the full tool path) with ``ESTAT_MCP_DISPATCH=inprocess`` and ``=stdio``;
  targets: in-process p50 <= 10 ms and >= 100x faster than stdio;
- cold start: fresh interpreters importing ``estat_aws_mcp.lambda_handler`` and building the
  handler (what the Lambda init phase does); target <= 2.0 s, with pyarrow, duckdb, pyiceberg and
  awscli not imported.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

HEAVY = ("pyarrow", "duckdb", "pyiceberg", "awscli")
TARGET_INPROCESS_P50_MS = 10.0
TARGET_SPEEDUP = 100.0
TARGET_COLD_S = 2.0


class _Context:
    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _event(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/mcp",
        "headers": {"content-type": "application/json", "accept": "application/json, text/event-stream"},
        "requestContext": {"http": {"method": "POST", "path": "/mcp"}},
        "body": json.dumps(message),
        "isBase64Encoded": False,
    }


LIST = _event({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
CALL = _event(
    {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "run_aws_cli", "arguments": {"command": "sts get-caller-identity"}},
    }
)


def _handler(dispatch: str) -> Any:
    from aws_lambda_powertools import Logger

    from estat_aws_mcp.lambda_handler.app import build_function_url_handler
    from estat_aws_mcp.settings import Settings

    service = f"bench-{dispatch}"
    silent = Logger(service=service, logger_handler=logging.StreamHandler(io.StringIO()))
    logging.getLogger(service).propagate = False
    return build_function_url_handler(Settings(ESTAT_MCP_DISPATCH=dispatch), log=silent)


def _timed(handler: Any, event: dict[str, Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = handler.handle(event, _Context())
        samples.append((time.perf_counter() - started) * 1000)
        if response["statusCode"] != 200 or '"result"' not in response["body"]:
            raise RuntimeError(f"unexpected answer: {response['statusCode']} {response['body'][:200]}")
    return samples


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"p50 {statistics.median(ordered):8.2f} ms   p90 {p90:8.2f} ms   (n={len(ordered)})"


def _cold_start(runs: int) -> tuple[list[float], list[float], list[str]]:
    code = (
        "import json, sys, time\n"
        "t0 = time.perf_counter()\n"
        "import estat_aws_mcp.lambda_handler as h\n"
        "t1 = time.perf_counter()\n"
        "h.get_function_url_handler()\n"
        "t2 = time.perf_counter()\n"
        f"print(json.dumps([t1 - t0, t2 - t0, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    imports, inits, heavy = [], [], set()
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        import_s, init_s, loaded = json.loads(out.stdout.strip().splitlines()[-1])
        imports.append(import_s)
        inits.append(init_s)
        heavy.update(loaded)
    return imports, inits, sorted(heavy)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lambda_dispatch", description=__doc__.splitlines()[0])
    parser.add_argument("--inprocess-runs", type=int, default=200)
    parser.add_argument("--stdio-runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args(argv)

    os.environ.setdefault("ESTAT_MCP_STORAGE_URI", tempfile.mkdtemp(prefix="bench-lambda-store-"))
    logging.getLogger("mcp").setLevel(logging.WARNING)
    logging.getLogger("estat_aws_mcp").setLevel(logging.ERROR)

    results: dict[str, dict[str, list[float]]] = {}
    for dispatch, runs in (("inprocess", args.inprocess_runs), ("stdio", args.stdio_runs)):
        handler = _handler(dispatch)
        _timed(handler, LIST, 2)  # warm: imports, first tool use
        _timed(handler, CALL, 2)
        results[dispatch] = {"tools/list": _timed(handler, LIST, runs), "tools/call": _timed(handler, CALL, runs)}

    ok = True
    print("Warm dispatch through FunctionUrlHandler.handle (Function URL event in, response out):")
    for method in ("tools/list", "tools/call"):
        inprocess = statistics.median(results["inprocess"][method])
        stdio = statistics.median(results["stdio"][method])
        speedup = stdio / inprocess
        print(f"  {method:10}  in-process {_summary(results['inprocess'][method])}")
        print(f"  {method:10}  stdio      {_summary(results['stdio'][method])}")
        verdict = inprocess <= TARGET_INPROCESS_P50_MS and speedup >= TARGET_SPEEDUP
        ok &= verdict
        print(
            f"  {method:10}  in-process is {speedup:,.0f}x faster than stdio "
            f"(targets: p50 <= {TARGET_INPROCESS_P50_MS:.0f} ms, >= {TARGET_SPEEDUP:.0f}x) "
            f"{'OK' if verdict else 'MISSED'}"
        )

    imports, inits, heavy = _cold_start(args.cold_runs)
    cold = statistics.median(inits)
    cold_ok = cold <= TARGET_COLD_S and not heavy
    ok &= cold_ok
    print("Cold start (fresh interpreter; the Lambda init phase):")
    print(
        f"  import estat_aws_mcp.lambda_handler          median {statistics.median(imports):.3f} s (n={len(imports)})"
    )
    print(f"  import + build the handler (server, tools)   median {cold:.3f} s (target <= {TARGET_COLD_S:.1f} s)")
    print(f"  heavy modules loaded at cold start: {', '.join(heavy) or 'none'} ({'OK' if cold_ok else 'MISSED'})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
