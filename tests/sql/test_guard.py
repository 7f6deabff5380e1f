"""The read-only guard: every rejection class, each with its rule, and the queries it must accept."""

from __future__ import annotations

import pytest

from estat_aws_mcp.errors import InputError
from estat_aws_mcp.sql.guard import RULES, SqlRejected, TableRef, check_read_only

REJECTED = [
    # (rule, sql)
    ("empty", ""),
    ("empty", "   \n\t"),
    ("empty", "-- only a comment\n;"),
    ("parse_error", "SELECT FROM WHERE ("),
    ("parse_error", "SELECT 'unterminated"),
    ("parse_error", "SELECT " + "(" * 3000 + "1" + ")" * 3000),
    ("ddl", "CREATE TABLE t (a INT)"),
    ("ddl", "CREATE TABLE t AS SELECT 1"),
    ("ddl", "create or replace view v as select 1"),
    ("ddl", "DROP TABLE population"),
    ("ddl", "ALTER TABLE population ADD COLUMN b INT"),
    ("ddl", "TRUNCATE population"),
    ("ddl", "CREATE MACRO m(a) AS a"),
    ("ddl", "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')"),
    ("ddl", "GRANT SELECT ON population TO u"),
    ("ddl", "SELECT * INTO t2 FROM population"),
    ("dml", "INSERT INTO population VALUES (1)"),
    ("dml", "UPDATE population SET value = 0"),
    ("dml", "DELETE FROM population"),
    ("dml", "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE"),
    ("dml", "WITH gone AS (DELETE FROM population RETURNING *) SELECT * FROM gone"),
    ("dml", "WITH x AS (SELECT 1) DELETE FROM population"),
    ("copy", "COPY population TO 'out.csv'"),
    ("copy", "COPY (SELECT 1) TO '/tmp/x.parquet' (FORMAT parquet)"),
    ("copy", "COPY population FROM 'in.csv'"),
    ("copy", "UNLOAD (SELECT 1) TO 's3://b/k' WITH (format = 'PARQUET')"),
    ("attach", "ATTACH 'other.duckdb' AS other"),
    ("attach", "DETACH other"),
    ("attach", "USE other"),
    ("extension", "INSTALL httpfs"),
    ("extension", "FORCE INSTALL httpfs"),
    ("extension", "LOAD httpfs"),
    ("pragma", "PRAGMA table_info('population')"),
    ("pragma", "pragma enable_profiling"),
    ("set", "SET enable_external_access = true"),
    ("set", "SET GLOBAL threads = 1"),
    ("set", "RESET threads"),
    ("set", "SET VARIABLE x = 1"),
    ("call", "CALL pragma_version()"),
    ("call", "EXECUTE stmt"),
    ("export_import", "EXPORT DATABASE '/tmp/dump'"),
    ("export_import", "IMPORT DATABASE '/tmp/dump'"),
    ("transaction", "BEGIN TRANSACTION"),
    ("transaction", "COMMIT"),
    ("multiple_statements", "SELECT 1; SELECT 2"),
    ("multiple_statements", "SELECT 1; DROP TABLE population"),
    # comments hiding statements: the tokenizer sees through them
    ("multiple_statements", "SELECT 1 -- harmless?\n; DROP TABLE population"),
    ("multiple_statements", "SELECT 1 /* ; */ ; /* x */ DELETE FROM population"),
    ("ddl", "/* SELECT 1; */ DROP TABLE population"),
    ("ddl", "-- SELECT\nDROP TABLE population"),
    ("not_a_query", "DESCRIBE population"),
    ("not_a_query", "SHOW TABLES"),
    ("not_a_query", "SUMMARIZE population"),
    ("not_a_query", "EXPLAIN ANALYZE SELECT 1"),
    ("not_a_query", "CHECKPOINT"),
    ("dml", "VACUUM"),
    ("file_access", "SELECT * FROM read_csv('x.csv')"),
    ("file_access", "SELECT * FROM read_csv_auto('/etc/passwd')"),
    ("file_access", "SELECT * FROM read_parquet('s3://other-bucket/*.parquet')"),
    ("file_access", "SELECT * FROM read_json('x.json')"),
    ("file_access", "SELECT * FROM read_text('/etc/passwd')"),
    ("file_access", "SELECT * FROM read_blob('/etc/shadow')"),
    ("file_access", "SELECT * FROM glob('/*')"),
    ("file_access", "SELECT * FROM iceberg_scan('warehouse/t')"),
    ("file_access", "SELECT * FROM parquet_scan('x.parquet')"),
    ("file_access", "SELECT * FROM sniff_csv('x.csv')"),
    ("file_access", "SELECT * FROM query('SELECT 1')"),
    ("file_access", "SELECT * FROM 'x.csv'"),
    ("file_access", "FROM 'data/datasets/x/data.parquet'"),
    ("file_access", 'SELECT * FROM "/etc/passwd"'),
    ("file_access", 'SELECT * FROM "s3://bucket/key.parquet"'),
    ("file_access", 'SELECT * FROM "population$secrets.csv"'),
    ("file_access", "SELECT * FROM population, LATERAL read_csv('x.csv')"),
    ("file_access", "SELECT (SELECT count(*) FROM read_csv('x.csv')) AS n"),
    ("file_access", "SELECT * FROM population JOIN read_parquet('x') USING (area_code)"),
    ("file_access", "WITH x AS (SELECT * FROM read_text('/etc/hosts')) SELECT * FROM x"),
    ("environment", "SELECT getenv('HOME')"),
    ("environment", "SELECT upper(getenv('ESTAT_APP_ID')) AS x"),
    ("dataset_not_loaded", "SELECT * FROM 0003445078-1a2b3c4d5e6f"),
    ("dataset_not_loaded", 'SELECT * FROM "0003445078-1a2b3c4d5e6f" WHERE value > 0'),
    ("dataset_not_loaded", 'SELECT count(*) FROM estat."0003445078-1a2b3c4d5e6f"'),
    ("dataset_not_loaded", "SELECT a FROM population p JOIN 0003445078-1a2b3c4d5e6f d USING (area_code)"),
    ("table_function", "SELECT * FROM duckdb_settings()"),
    ("table_function", "SELECT * FROM TABLE(system.query(query => 'SELECT 1'))"),
]


@pytest.mark.parametrize(("rule", "sql"), REJECTED, ids=[f"{r}:{s[:40]}" for r, s in REJECTED])
def test_rejections_name_their_rule(rule: str, sql: str) -> None:
    with pytest.raises(SqlRejected) as caught:
        check_read_only(sql)
    assert caught.value.rule == rule, str(caught.value)
    assert f"[{rule}]" in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_every_rule_is_exercised() -> None:
    assert {rule for rule, _ in REJECTED} == set(RULES)


ACCEPTED = [
    ("SELECT 1", ()),
    ("select area_name, sum(value) from population group by area_name;", (TableRef("population"),)),
    ("SELECT * FROM estat.population WHERE time_code = '2020000000'", (TableRef("population", "estat"),)),
    (
        "WITH t AS (SELECT area_code, value FROM population) SELECT area_code, avg(value) FROM t GROUP BY 1",
        (TableRef("population"),),
    ),
    ("SELECT a FROM x UNION ALL SELECT a FROM y", (TableRef("x"), TableRef("y"))),
    ("SELECT a FROM x INTERSECT SELECT a FROM y EXCEPT SELECT a FROM z", None),
    (
        "SELECT area_code, value, rank() OVER (PARTITION BY time_code ORDER BY value DESC) AS r FROM population "
        "QUALIFY r <= 3",
        (TableRef("population"),),
    ),
    ("SELECT * FROM range(10)", ()),
    ("SELECT * FROM generate_series(1, 3)", ()),
    ("SELECT * FROM unnest([1, 2, 3])", ()),
    ("VALUES (1, 'a'), (2, 'b')", ()),
    ("SELECT 'read_csv(x)' AS not_a_call, 'DROP TABLE t' AS text", ()),
    ("SELECT * FROM population -- trailing comment", (TableRef("population"),)),
    # Athena's Iceberg metadata tables and time travel
    ('SELECT * FROM estat."population$snapshots"', (TableRef("population$snapshots", "estat"),)),
    ("SELECT * FROM population FOR VERSION AS OF 42", (TableRef("population"),)),
    # Trino spellings are accepted (sqlglot's DuckDB reader is lenient; dialect="trino" forces Trino)
    ("SELECT date_format(now(), '%Y'), approx_percentile(value, 0.5) FROM population", (TableRef("population"),)),
]


@pytest.mark.parametrize(("sql", "tables"), ACCEPTED, ids=[s[:50] for s, _ in ACCEPTED])
def test_accepted_queries(sql: str, tables: tuple[TableRef, ...] | None) -> None:
    checked = check_read_only(sql)
    if tables is not None:
        assert checked.tables == tables
    # the regenerated SQL is itself accepted (the engines execute the regenerated text)
    assert check_read_only(checked.sql("duckdb")).tables == checked.tables


def test_cte_names_are_not_reported_as_tables() -> None:
    checked = check_read_only("WITH population AS (SELECT 1 AS v) SELECT * FROM population, estat.other")
    assert checked.tables == (TableRef("other", "estat"),)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELEC * FROM population", ["not valid SQL", "'SELEC'", "did you mean SELECT?"]),
        ("WTIH t AS (SELECT 1) SELECT * FROM t", ["not valid SQL", "'WTIH'", "did you mean WITH?"]),
        ("SELECT * FROM population WHERE", ["not valid SQL", "line 1, column 30", "WHERE"]),
        ("SELECT area_code,\n  sum(value FROM population", ["not valid SQL", "line 2"]),
        ("SELECT FROM WHERE (", ["not valid SQL", "line 1", "'WHERE'"]),
        ("SELECT 'unterminated", ["not valid SQL", "not closed"]),
    ],
)
def test_invalid_sql_says_where_in_plain_words(sql: str, expected: list[str]) -> None:
    with pytest.raises(SqlRejected) as caught:
        check_read_only(sql)
    message = str(caught.value)
    assert caught.value.rule == "parse_error"
    for part in expected:
        assert part in message, message
    # none of sqlglot's internals (class paths, token reprs)
    for internal in ("sqlglot", "<class", "Token token_type", "expressions."):
        assert internal not in message, message


def test_a_dataset_id_says_how_to_load_it() -> None:
    with pytest.raises(SqlRejected) as caught:
        check_read_only('SELECT * FROM "0003445078-1a2b3c4d5e6f"')
    assert "load it with load_to_iceberg" in str(caught.value)
    assert "file" not in str(caught.value)
