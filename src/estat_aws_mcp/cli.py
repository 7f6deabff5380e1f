"""Command line: ``estat-aws-mcp serve --stdio|--http`` (and later subcommands)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def _configure_logging(level: str) -> None:
    # stdout belongs to the MCP stdio transport: logs always go to stderr.
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _serve(args: argparse.Namespace) -> int:
    from estat_aws_mcp.settings import get_settings

    _configure_logging(get_settings().log_level)
    if args.http:
        from estat_aws_mcp.errors import ConfigurationError
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
    parser = argparse.ArgumentParser(prog="estat-aws-mcp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the MCP server")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="serve over stdio (default)")
    mode.add_argument("--http", action="store_true", help="serve streamable HTTP with GET /health")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve HTTP without authentication on a non-loopback address (only behind something that authenticates)",
    )
    serve.set_defaults(func=_serve)

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
