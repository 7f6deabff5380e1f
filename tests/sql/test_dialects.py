"""The dialect table in docs/sql.md is what sqlglot actually produces (docs that cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from estat_aws_mcp.errors import InputError
from estat_aws_mcp.sql.dialects import dialects_for
from estat_aws_mcp.sql.guard import check_read_only

SQL_DOC = Path(__file__).resolve().parents[2] / "docs" / "sql.md"


def _readme_pairs() -> list[tuple[str, str]]:
    text = SQL_DOC.read_text(encoding="utf-8")
    section = text.split("### Where the dialects differ", 1)[1].split("Not portable", 1)[0]
    pairs = []
    for line in section.splitlines():
        cells = re.findall(r"`([^`]+)`", line.split("|")[1]) if line.startswith("| `") else []
        outs = re.findall(r"`([^`]+)`", line.split("|")[2]) if cells else []
        pairs.extend(zip(cells, outs, strict=False))
    return pairs


def _as_select(fragment: str) -> str:
    return f"SELECT * {fragment}" if fragment.upper().startswith("FROM") else f"SELECT {fragment}"


PAIRS = [p for p in _readme_pairs() if not p[0].upper().startswith("QUALIFY")]


def test_readme_table_found() -> None:
    assert len(PAIRS) >= 10


@pytest.mark.parametrize(("duckdb_sql", "trino_sql"), PAIRS)
def test_readme_dialect_table_matches_sqlglot(duckdb_sql: str, trino_sql: str) -> None:
    got = check_read_only(_as_select(duckdb_sql), dialects=("duckdb",)).sql("trino")  # the Athena engine's path
    assert trino_sql in got, got


def test_qualify_becomes_a_subquery() -> None:
    sql = "SELECT a, rank() OVER (ORDER BY b) AS r FROM t QUALIFY r = 1"
    out = check_read_only(sql).sql("trino")
    assert "QUALIFY" not in out and "WHERE r = 1" in out


def test_dialect_choice() -> None:
    assert dialects_for("auto") == ("duckdb", "trino")
    assert dialects_for("trino") == ("trino",)
    with pytest.raises(InputError):
        dialects_for("mysql")
