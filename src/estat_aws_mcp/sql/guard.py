"""The read-only SQL guard: one read-only query, or a refusal that names the rule it broke.

The SQL is parsed with sqlglot (DuckDB dialect first, Trino as a fallback) and accepted only if it
is a single query (``SELECT``, ``WITH … SELECT``, set operations, ``VALUES``) that

- contains no statement other than a query anywhere in its tree (a ``DELETE`` inside a CTE,
  ``SELECT … INTO`` which creates a table),
- reads no file: no file-reading table function (``read_csv``, ``read_parquet``, ``glob``,
  ``iceberg_scan`` …) in any position, no table function at all except a small allowlist of
  generators (``range``, ``generate_series``, ``unnest``), and no table reference that is not a
  plain identifier (DuckDB reads ``FROM 'x.csv'`` or ``FROM "s3://b/k.parquet"`` as files).

Every refusal is a :class:`SqlRejected` with a stable ``rule`` name (see :data:`RULES`).

The engines execute the SQL *regenerated from the checked tree*, never the raw text, so that a
difference between sqlglot's parser and the engine's cannot smuggle in something the guard did not
see. The DuckDB engine is additionally locked down (no external access except the table's data
files, locked configuration); Athena runs with the IAM permissions of the server's role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from estat_aws_mcp.errors import InputError

#: rule name -> what it protects against (the message shown starts from this).
RULES: dict[str, str] = {
    "empty": "no SQL given",
    "parse_error": "not valid SQL",
    "multiple_statements": "only one statement per call is allowed",
    "ddl": "DDL (CREATE, DROP, ALTER, TRUNCATE, GRANT, SELECT … INTO …) changes the catalog",
    "dml": "DML (INSERT, UPDATE, DELETE, MERGE) changes data",
    "copy": "COPY / UNLOAD writes or reads files",
    "attach": "ATTACH / DETACH / USE switches databases",
    "extension": "INSTALL / LOAD changes the engine's extensions",
    "pragma": "PRAGMA reads or changes engine state",
    "set": "SET / RESET changes settings",
    "call": "CALL / EXECUTE runs procedures",
    "export_import": "EXPORT / IMPORT DATABASE writes or reads files",
    "transaction": "transaction control is not needed for a read-only query",
    "not_a_query": "only queries (SELECT, WITH … SELECT, UNION, VALUES) are allowed",
    "file_access": "reading files (file-reading table functions or quoted paths) is not allowed",
    "environment": "reading the server's environment variables (getenv) is not allowed",
    "dataset_not_loaded": (
        "a dataset_id is not a table: load it with load_to_iceberg(dataset_id, table) first, then query that table"
    ),
    "table_function": "table functions other than range, generate_series and unnest are not allowed",
}

# First keyword of a statement -> rule. Used for statements sqlglot cannot parse (EXPORT DATABASE)
# or parses only as an opaque Command (LOAD, RESET, CALL), and as a fast path for the rest.
_KEYWORD_RULES: dict[str, str] = {
    **dict.fromkeys(("CREATE", "DROP", "ALTER", "TRUNCATE", "COMMENT", "RENAME", "GRANT", "REVOKE", "MSCK"), "ddl"),
    **dict.fromkeys(("INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "OPTIMIZE", "VACUUM"), "dml"),
    **dict.fromkeys(("COPY", "UNLOAD"), "copy"),
    **dict.fromkeys(("ATTACH", "DETACH", "USE"), "attach"),
    **dict.fromkeys(("INSTALL", "LOAD", "UPDATE_EXTENSIONS"), "extension"),
    "PRAGMA": "pragma",
    **dict.fromkeys(("SET", "RESET"), "set"),
    **dict.fromkeys(("CALL", "EXECUTE", "PREPARE", "DEALLOCATE"), "call"),
    **dict.fromkeys(("EXPORT", "IMPORT"), "export_import"),
    **dict.fromkeys(
        ("BEGIN", "START", "COMMIT", "ROLLBACK", "ABORT", "END", "TRANSACTION", "SAVEPOINT"), "transaction"
    ),
}

# Table functions (and scalar helpers) that read files, globs or other databases, by lower-case name.
FILE_READING_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "read_xlsx",
        "glob",
        "sniff_csv",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "parquet_bloom_probe",
        "iceberg_scan",
        "iceberg_metadata",
        "iceberg_snapshots",
        "delta_scan",
        "sqlite_scan",
        "sqlite_attach",
        "postgres_scan",
        "postgres_attach",
        "mysql_scan",
        "st_read",
        "read_ipc",
        "arrow_scan",
        "query",
        "query_table",
    }
)
# Functions that read the server's environment (secrets such as ESTAT_APP_ID or AWS credentials live there).
ENVIRONMENT_FUNCTIONS = frozenset({"getenv"})
# A dataset_id (estat_aws_mcp.datasets.manifest): what a fetch tool returns, not yet a table.
_DATASET_ID = re.compile(r"^[0-9A-Za-z_]{1,32}-[0-9a-f]{12}$")
_DATASET_ID_AFTER_FROM = re.compile(
    r"\b(?:FROM|JOIN)\s+(?:[A-Za-z_][A-Za-z0-9_]*\.)?[\"`]?([0-9A-Za-z_]{1,32}-[0-9a-f]{12})\b", re.IGNORECASE
)
# sqlglot's repr of a token in its messages -> the token's text
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]*, text: ([^,]*),[^>]*>")
# Statement starts a query may have; a first word close to one of them is reported as a typo.
_QUERY_STARTS = ("SELECT", "WITH", "VALUES", "FROM", "TABLE", "EXPLAIN", "DESCRIBE", "SHOW")
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})

# A plain identifier, optionally an Athena Iceberg metadata table ("population$snapshots").
_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\$(snapshots|history|files|manifests|partitions|refs))?$")
MAX_SQL_CHARS = 100_000


class SqlRejected(InputError):
    """The SQL is not a single read-only query; ``rule`` names the class of refusal."""

    def __init__(self, rule: str, detail: str = "") -> None:
        self.rule = rule
        message = f"SQL rejected [{rule}]: {RULES[rule]}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


@dataclass(frozen=True)
class TableRef:
    """A table the query reads: ``namespace`` is None when unqualified."""

    name: str
    namespace: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard accepted: its tree, the dialect it parsed in, and the tables it reads."""

    expression: object  # sqlglot.exp.Expression (kept untyped so this module imports no sqlglot at load)
    dialect: str
    tables: tuple[TableRef, ...] = field(default_factory=tuple)

    def sql(self, dialect: str) -> str:
        """The checked query regenerated in ``dialect`` (raises on constructs the dialect lacks)."""
        from sqlglot.errors import ErrorLevel

        try:
            return self.expression.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)  # type: ignore[attr-defined]
        except RecursionError:
            raise SqlRejected("parse_error", "the query is nested too deeply") from None


def _function_name(node) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


def _split_statements(sql: str, dialect: str) -> list[list]:
    """Tokens of each non-empty statement (comments dropped by the tokenizer)."""
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    statements: list[list] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [stmt for stmt in statements if stmt]


def _keyword_rule(tokens: list) -> str | None:
    first = tokens[0].text.upper()
    # ``WITH`` may prefix DML (``WITH x AS (...) DELETE ...``); the tree walk catches that case.
    return _KEYWORD_RULES.get(first)


def _check_tree(expression) -> tuple[TableRef, ...]:
    """Walk the whole tree; raise on anything but read-only query constructs."""
    from sqlglot import exp

    dml = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
    ddl = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Grant, exp.Into)
    other = {
        exp.Copy: "copy",
        exp.Attach: "attach",
        exp.Detach: "attach",
        exp.Use: "attach",
        exp.Install: "extension",
        exp.Pragma: "pragma",
        exp.Set: "set",
        exp.Transaction: "transaction",
        exp.Commit: "transaction",
        exp.Rollback: "transaction",
        exp.Command: "not_a_query",
        exp.LoadData: "copy",
    }
    if not isinstance(expression, (exp.Query, exp.Values)):
        for node_type, rule in other.items():
            if isinstance(expression, node_type):
                raise SqlRejected(rule, f"statement {type(expression).__name__.upper()}")
        if isinstance(expression, dml):
            raise SqlRejected("dml", f"statement {expression.key.upper()}")
        if isinstance(expression, ddl):
            raise SqlRejected("ddl", f"statement {expression.key.upper()}")
        raise SqlRejected("not_a_query", f"got {type(expression).__name__.upper()}")

    cte_names = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    tables: list[TableRef] = []
    for node in expression.walk():
        if isinstance(node, dml):
            raise SqlRejected("dml", f"{node.key.upper()} inside the query")
        if isinstance(node, ddl):
            raise SqlRejected("ddl", f"{node.key.upper()} inside the query")
        for node_type, rule in other.items():
            if isinstance(node, node_type):
                raise SqlRejected(rule, f"{type(node).__name__.upper()} inside the query")
        if isinstance(node, exp.Func) and _function_name(node) in FILE_READING_FUNCTIONS:
            raise SqlRejected("file_access", f"function {_function_name(node)}()")
        if isinstance(node, exp.Func) and _function_name(node) in ENVIRONMENT_FUNCTIONS:
            raise SqlRejected("environment", f"function {_function_name(node)}()")
        if isinstance(node, exp.Lateral) and isinstance(node.this, exp.Func):
            _check_table_function(_function_name(node.this))
        if isinstance(node, exp.Table):
            ref = _table_ref(node)
            if ref is not None and not (ref.namespace is None and ref.name.lower() in cte_names):
                tables.append(ref)
    unique = tuple(dict.fromkeys(tables))
    return unique


def _check_table_function(name: str) -> None:
    if name in ENVIRONMENT_FUNCTIONS:
        raise SqlRejected("environment", f"function {name}()")
    if name in FILE_READING_FUNCTIONS:
        raise SqlRejected("file_access", f"function {name}()")
    if name not in ALLOWED_TABLE_FUNCTIONS:
        raise SqlRejected("table_function", f"{name}()")


def _table_ref(node) -> TableRef | None:
    """The table a ``Table`` node names, or a refusal if it is a function call or a path."""
    from sqlglot import exp

    if isinstance(node.this, exp.Func):
        _check_table_function(_function_name(node.this))
        return None
    if not isinstance(node.this, exp.Identifier):
        # e.g. a string literal or a placeholder in table position
        raise SqlRejected("file_access", f"table reference {node.sql()!r}")
    parts = [p for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p is not None]
    for part in parts:
        text = part.name if isinstance(part, exp.Identifier) else part.sql()
        if _DATASET_ID.match(text):
            raise SqlRejected("dataset_not_loaded", f"{text!r} is a dataset_id")
        if not _PLAIN_IDENTIFIER.match(text):
            raise SqlRejected(
                "file_access",
                f"table reference {text!r} is not a plain identifier; DuckDB would read it as a file path",
            )
    namespace = node.args.get("db")
    return TableRef(name=node.name, namespace=namespace.name if namespace is not None else None)


def check_read_only(sql: str, *, dialects: tuple[str, ...] = ("duckdb", "trino")) -> CheckedQuery:
    """Accept ``sql`` if it is exactly one read-only query; else raise :class:`SqlRejected`.

    ``dialects`` are tried in order; the first that parses the SQL is the one it is read in.
    """
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(sql, str) or not sql.strip():
        raise SqlRejected("empty")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRejected("parse_error", f"SQL longer than {MAX_SQL_CHARS:,} characters")

    errors: list[Exception] = []
    for dialect in dialects:
        try:
            statements = _split_statements(sql, dialect)
        except TokenError as exc:
            errors.append(exc)
            continue
        if not statements:
            raise SqlRejected("empty", "only comments or semicolons")
        if len(statements) > 1:
            raise SqlRejected("multiple_statements", f"found {len(statements)} statements")
        rule = _keyword_rule(statements[0])
        if rule is not None:
            raise SqlRejected(rule, f"statement starts with {statements[0][0].text.upper()}")
        try:
            parsed = [p for p in sqlglot.parse(sql, read=dialect) if p is not None]
        except (ParseError, TokenError) as exc:
            errors.append(exc)
            continue
        except RecursionError:
            raise SqlRejected("parse_error", "the query is nested too deeply") from None
        if len(parsed) != 1:
            raise SqlRejected("multiple_statements", f"found {len(parsed)} statements")
        try:
            tables = _check_tree(parsed[0])
        except RecursionError:
            raise SqlRejected("parse_error", "the query is nested too deeply") from None
        return CheckedQuery(expression=parsed[0], dialect=dialect, tables=tables)
    found = _DATASET_ID_AFTER_FROM.search(sql)
    if found:
        raise SqlRejected("dataset_not_loaded", f"{found.group(1)!r} is a dataset_id")
    raise SqlRejected("parse_error", _where_invalid(sql, errors[0] if errors else None))


def _where_invalid(sql: str, error: Exception | None) -> str:
    """Where the SQL stops being valid, in the user's terms (not the parser's internal class names)."""
    import difflib

    from sqlglot.errors import ParseError

    first_word = re.match(r"\s*([A-Za-z_]+)", sql)
    if first_word and first_word.group(1).upper() not in _QUERY_STARTS:
        word = first_word.group(1)
        guess = difflib.get_close_matches(word.upper(), _QUERY_STARTS, n=1, cutoff=0.6)
        hint = f"; did you mean {guess[0]}?" if guess else "; a query starts with SELECT, WITH or VALUES"
        return f"it starts with {word[:40]!r}, which is not a query keyword{hint}"
    if isinstance(error, ParseError) and error.errors:
        info = error.errors[0]
        line, col = info.get("line"), info.get("col")
        near = (str(info.get("start_context") or "")[-30:] + str(info.get("highlight") or "")).strip()
        where = f"at line {line}, column {col}" if line and col else "somewhere"
        if near:
            where += f", near {near[-60:]!r}"
        expecting = str(info.get("description") or "")
        if expecting.startswith(("Expecting", "Expected")):
            expecting = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), expecting.split(". Line")[0])
            where += f" ({expecting[:80]})"
        return where + "; check keywords, commas, brackets and quotes there"
    if error is not None:  # TokenError: an unterminated string, quoted identifier or comment
        return "a string, quoted identifier or comment is not closed; check the quotes"
    return ""
