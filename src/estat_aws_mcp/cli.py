"""Command line: ``estat-aws-mcp serve --stdio|--http`` (and later subcommands)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

# reStructuredText roles and literals in docstrings used as help texts: :func:`~a.b` -> b, ``x`` -> x.
_REST_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
_REST_LITERAL = re.compile(r"``([^`]+)``|`([^`]+)`")


def plain_text(text: str) -> str:
    """Help text without reStructuredText markup."""
    text = _REST_ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), text)
    return _REST_LITERAL.sub(lambda m: m.group(1) or m.group(2), text)


class PlainArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help is plain text (its subcommands' parsers are of this class too)."""

    def format_help(self) -> str:
        return plain_text(super().format_help())


def port_number(value: str) -> int:
    """``--port``: an integer from 0 (any free port) to 65535 (a usage error otherwise, never a traceback)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _serve(args: argparse.Namespace) -> int:
    if not args.http and (args.port is not None or args.host is not None):
        args.usage_error("--host and --port apply to --http only (stdio has no address)")  # exits 2
    args.host = DEFAULT_HOST if args.host is None else args.host
    args.port = DEFAULT_PORT if args.port is None else args.port
    from estat_aws_mcp.errors import ConfigurationError
    from estat_aws_mcp.logs import configure_logging, log_startup
    from estat_aws_mcp.settings import get_settings

    settings = get_settings()
    try:
        configure_logging(settings.log_level)  # stderr: stdout belongs to the MCP stdio transport
    except ConfigurationError as error:
        print(f"estat-aws-mcp serve: {error}", file=sys.stderr)
        return 2
    log_startup(settings.storage_uri, "streamable HTTP" if args.http else "stdio")
    if args.http:
        from estat_aws_mcp.http_app import serve_http

        try:
            serve_http(host=args.host, port=args.port, allow_unauthenticated=args.allow_unauthenticated)
        except ConfigurationError as error:
            print(f"estat-aws-mcp serve: {error}", file=sys.stderr)
            return 2
    else:
        from estat_aws_mcp.deadline import invocation_deadline, remaining_from_environment
        from estat_aws_mcp.tools.server import build_server

        # A Lambda stdio-dispatch child serves one request within its parent's invocation deadline.
        with invocation_deadline(remaining_from_environment()):
            build_server().run(transport="stdio")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = PlainArgumentParser(prog="estat-aws-mcp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the MCP server")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="serve over stdio (default)")
    mode.add_argument("--http", action="store_true", help="serve streamable HTTP with GET /health")
    serve.add_argument("--host", help=f"HTTP bind address (default {DEFAULT_HOST}; --http only)")
    serve.add_argument(
        "--port", type=port_number, help=f"HTTP port, 0-65535 (0: any free port; default {DEFAULT_PORT}; --http only)"
    )
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve HTTP without authentication on a non-loopback address (only behind something that authenticates)",
    )
    serve.set_defaults(func=_serve, usage_error=serve.error)

    from estat_aws_mcp.client.cli import add_client_parser

    add_client_parser(sub)

    from estat_aws_mcp.deploy.cli import add_deploy_parsers

    add_deploy_parsers(sub)

    from estat_aws_mcp.console import add_console_parsers

    add_console_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
