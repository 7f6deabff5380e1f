"""Commands for people at a terminal: ``check``, ``search`` and ``describe``.

- ``estat-aws-mcp check`` verifies the set-up in one go: the appId (e-Stat accepts it), the dataset store
  (writable), the SQL engine (ready), AWS credentials and region (when an AWS backend is configured) and the
  auth mode; each problem is printed with how to fix it, and the exit status is 1 if any check failed.
- ``estat-aws-mcp search <words>`` and ``estat-aws-mcp describe <id>`` print the same answers as the tools
  ``search_estat_data`` and ``describe_estat_table`` (the same core functions), as tables; ``--json`` prints
  the tool's structured answer itself. ``estat-aws-mcp datasets`` lists the store (``--delete <id>``
  removes one dataset and its exports), as ``list_datasets`` / ``delete_dataset``.

Secrets (appId, tokens) are never printed: only where they come from.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from estat_aws_mcp.estat.credit import CREDIT_NOTICE

APP_ID_URL = "https://www.e-stat.go.jp/api/"
CELL_WIDTH = 48


# --------------------------------------------------------------------------- text tables


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(_char_width(ch) for ch in text)


def _clip(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = CELL_WIDTH) -> str:
    """Rows as aligned columns (cells clipped to ``max_width`` terminal columns)."""
    cells = [[_clip("" if v is None else str(v).replace("\n", " "), max_width) for v in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        widths = [max(w, display_width(c)) for w, c in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - display_width(v)) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)])


# --------------------------------------------------------------------------- check


@dataclass
class Check:
    name: str
    status: str  # "ok" | "fail" | "skip" | "warn"
    detail: str
    fix: str = ""


async def _check_app_id(settings: Any) -> Check:
    from estat_aws_mcp.errors import ConfigurationError, EstatMcpError
    from estat_aws_mcp.estat.client import EstatClient

    source = (
        "ESTAT_APP_ID"
        if settings.estat_app_id
        else f"SSM parameter {settings.estat_app_id_ssm_parameter}"
        if settings.estat_app_id_ssm_parameter
        else None
    )
    if source is None:
        return Check(
            "e-Stat appId",
            "fail",
            "no appId configured",
            f"register at {APP_ID_URL} (free) and set ESTAT_APP_ID, or ESTAT_APP_ID_SSM_PARAMETER on AWS",
        )
    try:
        async with EstatClient(settings, max_attempts=2, retry_budget_s=20.0) as client:
            await client.get_stats_list(searchWord="人口", limit=1)
    except ConfigurationError as exc:
        return Check(
            "e-Stat appId",
            "fail",
            f"from {source}: {exc}",
            f"check the appId on {APP_ID_URL} (マイページ → API機能) and set it again",
        )
    except EstatMcpError as exc:
        return Check(
            "e-Stat appId",
            "fail",
            f"from {source}: e-Stat at {settings.estat_api_base_url} did not answer: {exc}",
            "check the network (HTTPS to api.e-stat.go.jp) and ESTAT_API_BASE_URL; e-Stat has maintenance windows",
        )
    return Check("e-Stat appId", "ok", f"from {source}, accepted by e-Stat ({settings.estat_api_base_url})")


def _check_store(settings: Any) -> Check:
    from estat_aws_mcp.datasets.store import open_store

    uri = settings.storage_uri
    try:
        store = open_store(uri)
        key = f"checks/{secrets.token_hex(8)}.probe"
        payload = b"estat-aws-mcp check"
        store.write_bytes(key, payload)
        try:
            if store.read_bytes(key) != payload:
                raise OSError("what was written could not be read back")
        finally:
            store.delete_prefix(key)
    except Exception as exc:
        fix = (
            "check the bucket, prefix and IAM permissions (s3:PutObject, GetObject, DeleteObject, ListBucket)"
            if uri.startswith("s3://")
            else "point ESTAT_MCP_STORAGE_URI at a folder you can write (it is created if missing)"
        )
        return Check("dataset store", "fail", f"{uri}: {type(exc).__name__}: {exc}", fix)
    return Check("dataset store", "ok", f"{store.root_uri} is writable")


def _check_sql(settings: Any) -> Check:
    if settings.sql_engine == "athena":
        from estat_aws_mcp.aws.clients import aws_client

        try:
            group = aws_client("athena").get_work_group(WorkGroup=settings.athena_workgroup)["WorkGroup"]
        except Exception as exc:
            return Check(
                "SQL engine",
                "fail",
                f"Athena workgroup {settings.athena_workgroup!r}: {type(exc).__name__}: {exc}",
                "set ESTAT_MCP_ATHENA_WORKGROUP to an existing workgroup and allow athena:GetWorkGroup",
            )
        configured = group.get("Configuration", {}).get("ResultConfiguration", {}).get("OutputLocation")
        if not (settings.athena_output_location or configured):
            return Check(
                "SQL engine",
                "fail",
                f"Athena workgroup {settings.athena_workgroup!r} has no query result location",
                "set ESTAT_MCP_ATHENA_OUTPUT_LOCATION (s3://bucket/prefix/) or configure one on the workgroup",
            )
        return Check("SQL engine", "ok", f"Athena, workgroup {settings.athena_workgroup!r}")
    try:
        from estat_aws_mcp.sql import get_engine

        result = get_engine(settings).execute("SELECT 1 AS ok", max_rows=1)
        if result.rows != [[1]]:
            raise RuntimeError(f"unexpected answer {result.rows!r}")
    except Exception as exc:
        return Check(
            "SQL engine",
            "fail",
            f"DuckDB: {type(exc).__name__}: {exc}",
            "check ESTAT_MCP_STORAGE_URI and ESTAT_MCP_SQL_* settings; reinstall the package if duckdb is missing",
        )
    return Check("SQL engine", "ok", "DuckDB (embedded) answers")


def _aws_reasons(settings: Any) -> list[str]:
    reasons = []
    if settings.storage_uri.startswith("s3://"):
        reasons.append("S3 store")
    if settings.sql_engine == "athena":
        reasons.append("Athena")
    if settings.estat_app_id_ssm_parameter and not settings.estat_app_id:
        reasons.append("appId in SSM")
    if settings.auth_token_ssm_parameter:
        reasons.append("token in SSM")
    return reasons


def _check_aws(settings: Any) -> Check:
    reasons = _aws_reasons(settings)
    if not reasons:
        return Check("AWS", "skip", "no AWS backend configured (local store, DuckDB, appId from the environment)")
    from estat_aws_mcp.aws.clients import aws_client, aws_region

    region = aws_region()
    if not region:
        return Check(
            "AWS", "fail", f"no region ({', '.join(reasons)} configured)", "set AWS_REGION (e.g. ap-northeast-1)"
        )
    try:
        identity = aws_client("sts", region=region).get_caller_identity()
    except Exception as exc:
        return Check(
            "AWS",
            "fail",
            f"no usable credentials ({', '.join(reasons)} configured): {type(exc).__name__}",
            "configure credentials (AWS_PROFILE, aws sso login, or an instance/Lambda role)",
        )
    return Check("AWS", "ok", f"account {identity.get('Account')}, region {region} (for {', '.join(reasons)})")


def _check_auth(settings: Any) -> Check:
    from estat_aws_mcp.errors import EstatMcpError

    try:
        from estat_aws_mcp.auth.gate import AuthGate

        gate = AuthGate.from_settings(settings)
    except EstatMcpError as exc:
        return Check("auth", "fail", str(exc), "see docs/auth.md for the settings of each mode")
    if gate.mode == "none":
        return Check(
            "auth",
            "ok",
            "mode none: open (fine for stdio and a loopback HTTP server; serve --http refuses an open "
            "non-loopback bind)",
        )
    if gate.mode == "token":
        return Check("auth", "ok", f"mode token: bearer token from {gate.token.description}")  # type: ignore[union-attr]
    from estat_aws_mcp.auth.deferred import DeferredGate

    if isinstance(gate, DeferredGate):  # the public URL / client id are in SSM parameters
        try:
            resolved = gate.auth.current_settings()
        except EstatMcpError as exc:
            return Check(
                "auth",
                "fail",
                f"mode oauth, settings in SSM (every request is refused until they can be read): {exc}",
                "the deployment writes them (terraform apply of examples/oauth); see docs/auth.md",
            )
        return Check(
            "auth", "ok", f"mode oauth: issuer {settings.oauth_issuer}, public URL {resolved.public_url} (SSM)"
        )
    return Check("auth", "ok", f"mode oauth: issuer {settings.oauth_issuer}")


async def run_checks(settings: Any) -> list[Check]:
    checks = [await _check_app_id(settings), await asyncio.to_thread(_check_store, settings)]
    if checks[-1].status == "fail" and settings.sql_engine == "duckdb":
        checks.append(Check("SQL engine", "skip", "DuckDB works in the dataset store: fix the store first"))
    else:
        checks.append(await asyncio.to_thread(_check_sql, settings))
    for probe in (_check_aws, _check_auth):
        checks.append(await asyncio.to_thread(probe, settings))
    return checks


def print_checks(checks: Sequence[Check], out: TextIO) -> int:
    labels = {"ok": "OK", "fail": "FAIL", "skip": "SKIP", "warn": "WARN"}
    width = max(len(c.name) for c in checks)
    for check in checks:
        print(f"{labels[check.status]:<5} {check.name:<{width}}  {check.detail}", file=out)
        if check.fix:
            print(f"{'':<5} {'':<{width}}  fix: {check.fix}", file=out)
    failed = [c.name for c in checks if c.status == "fail"]
    print(("\nall checks passed" if not failed else f"\n{len(failed)} check(s) failed: {', '.join(failed)}"), file=out)
    return 1 if failed else 0


def _check(args: argparse.Namespace) -> int:
    from estat_aws_mcp.settings import get_settings

    try:
        settings = get_settings()
    except Exception as exc:  # a malformed setting (pydantic names the variable)
        print(f"FAIL  settings  {exc}", file=sys.stdout)
        return 1
    return print_checks(asyncio.run(run_checks(settings)), sys.stdout)


# --------------------------------------------------------------------------- search / describe


def _run_core(action: Callable[[], Any]) -> Any:
    """Run an async core call; a user-facing error is printed (exit 2), not a traceback."""
    from estat_aws_mcp.errors import EstatMcpError

    try:
        return asyncio.run(action())
    except EstatMcpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def print_search(result: Any, out: TextIO) -> None:
    rows = [
        (
            r.stats_data_id,
            r.title,
            r.survey_name,
            r.survey_date,
            r.updated_date,
            f"{r.total_values:,}" if r.total_values is not None else "",
        )
        for r in result.results
    ]
    print(f"query: {result.query}   e-Stat searchWord: {result.search_word}   hits: {result.total_hits}", file=out)
    if rows:
        print(format_table(["stats_data_id", "title", "survey", "surveyed", "updated", "values"], rows), file=out)
    else:
        print("no tables found", file=out)
    if result.suggestions:
        print("\nsuggestions (hit counts are real):", file=out)
        print(
            format_table(
                ["kind", "query", "hits", "why"], [(s.kind, s.query, s.hit_count, s.reason) for s in result.suggestions]
            ),
            file=out,
        )
    if result.more_available:
        print("\nmore tables are available: narrow the words, or use --max-results", file=out)
    print(f"\n{CREDIT_NOTICE}", file=out)


def _search(args: argparse.Namespace) -> int:
    from estat_aws_mcp.estat.client import EstatClient
    from estat_aws_mcp.estat.search import search_estat, validate_filters, validate_query
    from estat_aws_mcp.estat.text import warm_up

    query = " ".join(args.words)

    async def run() -> Any:
        validate_query(query)
        filters = validate_filters(args.survey_years, args.stats_field, args.stats_code, args.collect_area)
        async with EstatClient() as client:
            await asyncio.to_thread(warm_up)
            return await search_estat(client, query, filters, max_results=args.max_results)

    result = _run_core(run)
    if result is None:
        return 2
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        print_search(result, sys.stdout)
    return 0


def print_description(result: Any, out: TextIO) -> None:
    facts = [
        ("table", f"{result.stats_data_id}  {result.title or ''}"),
        ("survey", f"{result.survey or ''}  {result.statistics_name or ''}".strip()),
        ("organisation", result.organisation),
        ("cycle / surveyed", f"{result.cycle or '-'} / {result.survey_date or '-'}"),
        ("opened / updated", f"{result.open_date or '-'} / {result.updated_date or '-'}"),
        ("total values", f"{result.total_rows:,}" if result.total_rows is not None else "-"),
        ("hierarchical axes", ", ".join(result.hierarchical_axes) or "-"),
    ]
    width = max(len(k) for k, _ in facts)
    for key, value in facts:
        print(f"{key:<{width}}  {value or '-'}", file=out)
    if result.data_notes:
        print("data notes: " + "; ".join(f"{n.char} = {n.meaning}" for n in result.data_notes), file=out)
    for axis in result.axes:
        levels = ", ".join(f"level {k}: {v}" for k, v in axis.levels.items())
        print(f"\n[{axis.id}] {axis.name}: {axis.item_count} items" + (f" ({levels})" if levels else ""), file=out)
        if axis.items:
            is_time = any(i.time_start for i in axis.items)
            headers = ["code", "name", "level", "parent", "unit"] + (["from", "to", "granularity"] if is_time else [])
            rows = [
                [i.code, i.name, i.level, i.parent_code, i.unit]
                + ([i.time_start, i.time_end, i.time_granularity] if is_time else [])
                for i in axis.items
            ]
            print(format_table(headers, rows), file=out)
        if axis.next_offset is not None and not axis.items:
            print(f"  items: --axis {axis.id}", file=out)
        elif axis.next_offset is not None:
            print(f"  … more: --axis {axis.id} --offset {axis.next_offset}", file=out)
        for note in axis.notes:
            print(f"  note: {note}", file=out)
    for note in [*result.notes, *result.truncated]:
        print(f"note: {note}", file=out)
    print(f"\n{CREDIT_NOTICE}", file=out)


def _describe(args: argparse.Namespace) -> int:
    from estat_aws_mcp.estat.client import EstatClient
    from estat_aws_mcp.estat.describe import DEFAULT_MAX_ITEMS, describe_table

    async def run() -> Any:
        async with EstatClient() as client:
            return await describe_table(
                client,
                args.stats_data_id,
                lang=args.lang,
                axis=args.axis,
                search=args.search,
                level=args.level,
                parent_code=args.parent_code,
                offset=args.offset,
                max_items=args.max_items or DEFAULT_MAX_ITEMS,
            )

    result = _run_core(run)
    if result is None:
        return 2
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        print_description(result, sys.stdout)
    return 0


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _datasets(args: argparse.Namespace) -> int:
    from estat_aws_mcp.errors import EstatMcpError
    from estat_aws_mcp.tools.dataset_store import delete_dataset_core, list_datasets_core

    try:
        if args.delete:
            deleted = delete_dataset_core(args.delete)
            if args.json:
                print(deleted.model_dump_json(indent=1))
            else:
                print(
                    f"deleted {deleted.dataset_id}: {deleted.deleted_keys} object(s), "
                    f"{_human_bytes(deleted.bytes_freed)} freed"
                    + (f", exports {', '.join(deleted.exports_deleted)}" if deleted.exports_deleted else "")
                )
            return 0
        listing = list_datasets_core(args.stats_data_id, args.limit, 0)
    except EstatMcpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(listing.model_dump_json(indent=1))
        return 0
    rows = [
        (d.dataset_id, d.title, f"{d.rows:,}", _human_bytes(d.bytes), d.fetched_at, d.updated_date, len(d.exports))
        for d in listing.datasets
    ]
    print(format_table(["dataset_id", "title", "rows", "size", "fetched", "updated", "exports"], rows))
    print(
        f"\n{listing.total} dataset(s), {_human_bytes(listing.total_bytes)}"
        + (f"; showing the newest {len(rows)}" if listing.next_offset is not None else "")
    )
    for dataset_id in listing.expired_deleted:
        print(f"deleted (older than {listing.max_age_days} days): {dataset_id}")
    return 0


def add_console_parsers(sub: Any) -> None:
    """``check``, ``search`` and ``describe`` on the main parser's subcommands."""
    check = sub.add_parser(
        "check", help="verify the set-up (appId, store, SQL engine, AWS, auth) and say how to fix it"
    )
    check.set_defaults(func=_check)

    search = sub.add_parser("search", help="search e-Stat tables (as the search_estat_data tool) and print a table")
    search.add_argument("words", nargs="+", help="what to look for, in Japanese, e.g. 東京都 人口")
    search.add_argument("--max-results", type=int, default=10, choices=range(1, 101), metavar="1-100")
    search.add_argument("--survey-years", help="yyyy, yyyymm or yyyymm-yyyymm")
    search.add_argument("--stats-field", help="statistical field code or name, e.g. 02 or 人口・世帯")
    search.add_argument("--stats-code", help="8-digit survey code or 5-digit organisation code")
    search.add_argument("--collect-area", help="1/全国, 2/都道府県, 3/市区町村")
    search.add_argument("--json", action="store_true", help="print the tool's JSON answer instead of tables")
    search.set_defaults(func=_search)

    describe = sub.add_parser("describe", help="describe an e-Stat table (as describe_estat_table) as tables")
    describe.add_argument("stats_data_id", help="10-digit table id, e.g. 0003445078")
    describe.add_argument("--lang", choices=("J", "E"), default="J", help="E: English names where e-Stat has them")
    describe.add_argument("--axis", help="list items of this axis only (tab, cat01..cat15, area, time)")
    describe.add_argument("--search", help="items whose name contains this or whose code starts with it")
    describe.add_argument("--level", help="items of this level, e.g. 2")
    describe.add_argument("--parent-code", help="the children of this item code")
    describe.add_argument("--offset", type=int, default=0, help="skip this many matching items")
    describe.add_argument("--max-items", type=int, default=None, help="items listed per axis")
    describe.add_argument("--json", action="store_true", help="print the tool's JSON answer instead of tables")
    describe.set_defaults(func=_describe)

    datasets = sub.add_parser("datasets", help="list the datasets in the store (as list_datasets), or delete one")
    datasets.add_argument("--stats-data-id", help="only datasets of this e-Stat table")
    datasets.add_argument("--limit", type=int, default=100, choices=range(1, 501), metavar="1-500")
    datasets.add_argument("--delete", metavar="DATASET_ID", help="delete this dataset and its exports")
    datasets.add_argument("--json", action="store_true", help="print the tool's JSON answer instead of a table")
    datasets.set_defaults(func=_datasets)
