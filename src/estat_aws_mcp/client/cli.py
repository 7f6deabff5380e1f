"""``estat-aws-mcp client URL tools|call TOOL key=value…``: talk to a deployed Function URL from a shell.

Arguments are ``key=value``; each value is read the way the tool's input schema types it (a
string parameter keeps ``2020`` or ``0003410379`` as text; numbers, booleans, lists and objects are
parsed as JSON). ``--iam`` signs with SigV4 (standard credential chain or ``--profile``);
``--token`` (or ``ESTAT_MCP_AUTH_TOKEN``) sends a bearer token to a NONE-auth URL.
Exit status: 0 success, 1 the tool reported an error, 2 the call could not be made.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_TOOL_ERROR = 1
EXIT_FAILED = 2


def add_client_parser(subparsers: Any) -> None:
    client = subparsers.add_parser(
        "client",
        help="call a deployed Function URL (SigV4 or bearer token)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    client.add_argument("url", help="the Function URL, e.g. https://<id>.lambda-url.<region>.on.aws/mcp")
    _add_connection_options(client, suppress_defaults=False)
    actions = client.add_subparsers(dest="action", required=True)
    # The connection options are accepted after the action too (``client URL tools --iam``).
    tools = actions.add_parser("tools", help="list the tools")
    _add_connection_options(tools, suppress_defaults=True)
    call = actions.add_parser("call", help="call one tool")
    _add_connection_options(call, suppress_defaults=True)
    call.add_argument("tool", help="tool name")
    call.add_argument("arguments", nargs="*", metavar="key=value", help="tool arguments")
    client.set_defaults(func=run_client)


def _add_connection_options(parser: argparse.ArgumentParser, *, suppress_defaults: bool) -> None:
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress_defaults else value

    parser.add_argument(
        "--iam", action="store_true", default=default(False), help="sign requests with SigV4 (AuthType AWS_IAM)"
    )
    parser.add_argument(
        "--token", default=default(None), help="bearer token for a NONE-auth URL (default: $ESTAT_MCP_AUTH_TOKEN)"
    )
    parser.add_argument(
        "--region", default=default(None), help="signing region (default: from the URL, then AWS_REGION)"
    )
    parser.add_argument(
        "--profile", default=default(None), help="AWS profile for the credentials (default: the standard chain)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=default(900.0),
        help="the function's timeout in seconds; reads wait at least this long (default 900)",
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="print the raw MCP result as JSON")


def _property_types(schema: dict[str, Any]) -> set[str]:
    kinds: set[str] = set()
    if isinstance(schema.get("type"), str):
        kinds.add(schema["type"])
    elif isinstance(schema.get("type"), list):
        kinds.update(t for t in schema["type"] if isinstance(t, str))
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key) or []:
            if isinstance(option, dict):
                kinds |= _property_types(option)
    return kinds - {"null"}


def parse_arguments(pairs: list[str], input_schema: dict[str, Any]) -> dict[str, Any]:
    """``key=value`` pairs typed by ``input_schema``; ValueError names unknown keys and bad pairs."""
    properties: dict[str, Any] = input_schema.get("properties") or {}
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"argument {pair!r} is not key=value")
        if properties and key not in properties:
            raise ValueError(f"unknown argument {key!r}; this tool takes: {', '.join(sorted(properties))}")
        kinds = _property_types(properties.get(key) or {})
        if kinds == {"string"}:
            arguments[key] = raw
            continue
        try:
            arguments[key] = json.loads(raw)
        except json.JSONDecodeError:
            arguments[key] = raw
    return arguments


def _print_tools(tools: list[Any], as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                [tool.model_dump(mode="json", exclude_none=True) for tool in tools], ensure_ascii=False, indent=2
            )
        )
        return
    for tool in tools:
        summary = (tool.description or "").strip().splitlines()
        print(f"{tool.name}\t{summary[0] if summary else ''}")


def _print_result(result: Any, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2))
    else:
        stream = sys.stderr if result.isError else sys.stdout
        for item in result.content:
            text = getattr(item, "text", None)
            print(
                text if text is not None else json.dumps(item.model_dump(mode="json"), ensure_ascii=False), file=stream
            )
    return EXIT_TOOL_ERROR if result.isError else 0


async def _run(args: argparse.Namespace) -> int:
    from estat_aws_mcp.client.function_url import connect_function_url

    token = args.token if args.token is not None else os.environ.get("ESTAT_MCP_AUTH_TOKEN") or None
    async with connect_function_url(
        args.url,
        iam=args.iam,
        token=None if args.iam else token,
        region=args.region,
        profile=args.profile,
        function_timeout_s=args.timeout,
    ) as session:
        tools = (await session.list_tools()).tools
        if args.action == "tools":
            _print_tools(tools, args.json)
            return 0
        tool = next((t for t in tools if t.name == args.tool), None)
        if tool is None:
            print(f"no tool named {args.tool!r}; available: {', '.join(t.name for t in tools)}", file=sys.stderr)
            return EXIT_FAILED
        try:
            arguments = parse_arguments(args.arguments, tool.inputSchema)
        except ValueError as error:
            print(error, file=sys.stderr)
            return EXIT_FAILED
        return _print_result(await session.call_tool(args.tool, arguments), args.json)


def run_client(args: argparse.Namespace) -> int:
    import anyio
    from mcp.shared.exceptions import McpError

    from estat_aws_mcp.client.function_url import ClientConfigurationError, FunctionUrlHTTPError

    try:
        return anyio.run(_run, args)
    except (ClientConfigurationError, FunctionUrlHTTPError, McpError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
