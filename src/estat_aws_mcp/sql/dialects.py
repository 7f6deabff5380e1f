"""SQL dialects: users write DuckDB SQL (or Trino SQL); each engine runs its own dialect.

The guard parses the text in the first dialect that accepts it and the engine regenerates it in
its own dialect with sqlglot, raising on constructs the target lacks instead of guessing. See the
docs/sql.md for what differs and what is transpiled.
"""

from __future__ import annotations

from typing import Literal

from estat_aws_mcp.errors import InputError

InputDialect = Literal["auto", "duckdb", "trino"]

ENGINE_DIALECT = {"duckdb": "duckdb", "athena": "trino"}


def dialects_for(dialect: str) -> tuple[str, ...]:
    """The parse order for a user's ``dialect`` choice: ``auto`` tries DuckDB first, then Trino."""
    if dialect == "auto":
        return ("duckdb", "trino")
    if dialect in ("duckdb", "trino"):
        return (dialect,)
    if dialect == "athena":
        return ("trino",)
    raise InputError(f"dialect must be 'auto', 'duckdb' or 'trino', not {dialect!r}")


def transpile(sql: str, *, read: str, write: str) -> str:
    """``sql`` from one dialect to another (one statement), raising InputError if it cannot be expressed."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

    try:
        statements = sqlglot.transpile(sql, read=read, write=write, unsupported_level=ErrorLevel.RAISE)
    except (ParseError, UnsupportedError) as exc:
        raise InputError(f"cannot translate the query from {read} to {write}: {exc}") from exc
    if len(statements) != 1:
        raise InputError("exactly one statement is expected")
    return statements[0]
