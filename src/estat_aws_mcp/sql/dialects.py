"""SQL dialects: users write DuckDB SQL (or Trino SQL); each engine runs its own dialect.

The guard (:func:`estat_aws_mcp.sql.guard.check_read_only`) parses the text in the first dialect
that accepts it, and the engine regenerates it in its own dialect with sqlglot
(``CheckedQuery.sql``), raising on constructs the target lacks instead of guessing. See
docs/sql.md for what differs and what is transpiled.
"""

from __future__ import annotations

from estat_aws_mcp.errors import InputError


def dialects_for(dialect: str) -> tuple[str, ...]:
    """The parse order for a user's ``dialect`` choice: ``auto`` tries DuckDB first, then Trino."""
    if dialect == "auto":
        return ("duckdb", "trino")
    if dialect in ("duckdb", "trino"):
        return (dialect,)
    if dialect == "athena":
        return ("trino",)
    raise InputError(f"dialect must be 'auto', 'duckdb' or 'trino', not {dialect!r}")
