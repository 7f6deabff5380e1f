"""The DuckDB engine over the local Iceberg catalog: results checked against values computed here."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pydantic_core
import pytest

from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg, open_catalog
from estat_aws_mcp.errors import InputError, UpstreamError
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES
from estat_aws_mcp.sql.duckdb_engine import DuckDBEngine
from estat_aws_mcp.sql.guard import SqlRejected
from tests.datasets.conftest import write_dataset
from tests.sql.conftest import AXES, Loaded


def _sums_by(rows: list[dict], key: str) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for row in rows:
        if row["value"] is not None:
            sums[row[key]] += row["value"]
    return dict(sums)


@pytest.mark.parametrize("table", ["population", "estat.population"])
def test_group_by_sums_match_python(loaded: Loaded, table: str) -> None:
    result = DuckDBEngine(loaded.settings).execute(
        f"SELECT area_name, sum(value) AS total, count(*) AS n FROM {table} GROUP BY area_name ORDER BY area_name"
    )
    expected = _sums_by(loaded.rows(), "area_name")
    assert [c.name for c in result.columns] == ["area_name", "total", "n"]
    assert [c.type for c in result.columns] == ["varchar", "double", "bigint"]
    got = {name: total for name, total, _ in result.rows}
    assert got.keys() == expected.keys()
    for name, total in expected.items():
        assert got[name] == pytest.approx(total)
    counts = {name: n for name, _, n in result.rows}
    assert sum(counts.values()) == 600
    assert result.engine == "duckdb" and not result.truncated and result.total_rows == len(expected)
    assert result.credit == CREDIT_NOTICE


def test_markers_are_null_values_with_their_raw_string(loaded: Loaded) -> None:
    result = DuckDBEngine(loaded.settings).execute(
        "SELECT value_raw, note, count(*) FROM population WHERE value IS NULL GROUP BY ALL ORDER BY 1"
    )
    expected: dict[tuple, int] = defaultdict(int)
    for row in loaded.rows():
        if row["value"] is None:
            expected[(row["value_raw"], row["note"])] += 1
    assert {(raw, note): n for raw, note, n in result.rows} == dict(expected)


def test_window_function_and_cte(loaded: Loaded) -> None:
    sql = """
        WITH by_area AS (SELECT area_code, time_code, sum(value) AS v FROM estat.population GROUP BY 1, 2)
        SELECT area_code, time_code, v, rank() OVER (PARTITION BY time_code ORDER BY v DESC) AS r
        FROM by_area QUALIFY r = 1 ORDER BY time_code
    """
    result = DuckDBEngine(loaded.settings).execute(sql)
    best: dict[str, tuple[str, float]] = {}
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for row in loaded.rows():
        if row["value"] is not None:
            sums[(row["area_code"], row["time_code"])] += row["value"]
    for (area, time_code), v in sums.items():
        if time_code not in best or v > best[time_code][1]:
            best[time_code] = (area, v)
    assert [(r[1], r[0]) for r in result.rows] == [(t, best[t][0]) for t in sorted(best)]


def test_max_rows_truncates_and_reports_the_total(loaded: Loaded) -> None:
    result = DuckDBEngine(loaded.settings).execute("SELECT * FROM population ORDER BY value_raw", max_rows=25)
    assert result.row_count == 25 and len(result.rows) == 25
    assert result.truncated and result.truncation_reason == "max_rows"
    assert result.total_rows == 600


def test_byte_budget_truncates_under_the_tool_result_budget(loaded: Loaded) -> None:
    # ~2 MB of text: over the budget whatever max_rows says
    result = DuckDBEngine(loaded.settings).execute(
        "SELECT i, repeat('x', 10000) AS big FROM range(200) t(i)", max_rows=1000
    )
    assert result.truncated and result.truncation_reason == "byte_budget"
    assert 0 < result.row_count < 200 and result.total_rows == 200
    assert [r[0] for r in result.rows] == list(range(result.row_count))
    # both copies FastMCP sends fit together: the indented text (escaped as a JSON string) and the
    # compact structured content; the MCP round trip is measured in tests/tools/test_analytics_tools.py
    text = pydantic_core.to_json(result, indent=2).decode()
    both = len(json.dumps(text, ensure_ascii=False).encode()) + len(pydantic_core.to_json(result))
    assert TOOL_RESULT_BUDGET_BYTES * 0.8 < both <= TOOL_RESULT_BUDGET_BYTES  # cut near the budget, not far below


def test_values_are_json_types(loaded: Loaded) -> None:
    result = DuckDBEngine(loaded.settings).execute(
        "SELECT DATE '2020-10-01' AS d, 1.25::DECIMAL(10,2) AS dec, [1, 2] AS l, NULL AS n, 'nan'::DOUBLE AS nan"
    )
    assert result.rows == [["2020-10-01", 1.25, [1, 2], None, None]]
    assert [c.type for c in result.columns][:2] == ["date", "decimal(10,2)"]


def test_unknown_table_lists_the_loaded_tables(loaded: Loaded) -> None:
    with pytest.raises(InputError) as caught:
        DuckDBEngine(loaded.settings).execute("SELECT * FROM households")
    assert "Loaded tables: estat.population" in str(caught.value)


def test_no_tables_loaded_yet(local_settings) -> None:
    with pytest.raises(InputError, match="load_to_iceberg"):
        DuckDBEngine(local_settings).execute("SELECT * FROM population")
    # queries without tables work before anything is loaded, and create no catalog
    assert DuckDBEngine(local_settings).execute("SELECT 41 + 1 AS answer").rows == [[42]]
    assert open_catalog(local_settings, create=False) is None


def test_guard_runs_before_the_engine(loaded: Loaded) -> None:
    with pytest.raises(SqlRejected) as caught:
        DuckDBEngine(loaded.settings).execute("SELECT * FROM read_parquet('/etc/passwd')")
    assert caught.value.rule == "file_access"


def test_sandbox_holds_even_without_the_guard(loaded: Loaded) -> None:
    """Defence in depth: statements the guard would refuse fail inside the locked connection too."""
    import duckdb

    from estat_aws_mcp.sql.guard import check_read_only

    engine = DuckDBEngine(loaded.settings)
    handle = open_catalog(loaded.settings, create=False)
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False, "python_enable_replacements": False})
    try:
        engine._expose_tables(con, handle, check_read_only("SELECT * FROM population"))
        assert con.sql("SELECT count(*) FROM population").fetchall() == [(600,)]
        for attack in (
            "SELECT * FROM read_text('/etc/passwd')",
            f"SELECT * FROM read_parquet('{loaded.store.root}/datasets/{loaded.manifest.dataset_id}/data.parquet')",
            "COPY (SELECT 1) TO '/tmp/estat-h7-should-not-exist.csv'",
            "ATTACH '/tmp/estat-h7-should-not-exist.duckdb' AS x",
            "INSTALL httpfs",
        ):
            with pytest.raises(duckdb.PermissionException):
                con.execute(attack)
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("SET enable_external_access = true")
    finally:
        con.close()


def test_timeout_interrupts_the_query(loaded: Loaded) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamError, match="time limit"):
        DuckDBEngine(loaded.settings).execute(
            "SELECT count(*) FROM range(100000000000) a", deadline=time.monotonic() + 0.2
        )
    assert time.monotonic() - started < 10


def test_trino_sql_is_transpiled(loaded: Loaded) -> None:
    result = DuckDBEngine(loaded.settings).execute(
        "SELECT cardinality(ARRAY[1, 2, 3]) AS n, max_by(area_name, value) AS top FROM population", dialect="trino"
    )
    top = max((r for r in loaded.rows() if r["value"] is not None), key=lambda r: r["value"])["area_name"]
    assert result.rows == [[3, top]]
    assert any("transpiled" in n for n in result.notices)


def test_tables_in_other_namespaces_and_unqualified_default(loaded: Loaded) -> None:
    other = write_dataset(loaded.store, 20, AXES)
    load_dataset_to_iceberg(loaded.settings, other.dataset_id, "households", namespace="census")
    engine = DuckDBEngine(loaded.settings)
    result = engine.execute(
        "SELECT (SELECT count(*) FROM census.households) AS h, (SELECT count(*) FROM population) AS p"
    )
    assert result.rows == [[20, 600]]
    with pytest.raises(InputError):  # not in the default namespace
        engine.execute("SELECT count(*) FROM households")


def test_appended_and_overwritten_tables_are_read_at_their_current_snapshot(loaded: Loaded) -> None:
    engine = DuckDBEngine(loaded.settings)
    load_dataset_to_iceberg(loaded.settings, loaded.manifest.dataset_id, "population", mode="append")
    assert engine.execute("SELECT count(*), sum(value) FROM population").rows[0][0] == 1200
    small = write_dataset(loaded.store, 5, ("area", "time"))
    load_dataset_to_iceberg(loaded.settings, small.dataset_id, "population", mode="overwrite")
    result = engine.execute("SELECT * FROM population")
    assert result.total_rows == 5
    assert [c.name for c in result.columns][:4] == ["area_code", "area_name", "time_code", "time_name"]


def test_counting_beyond_the_cap_reports_an_unknown_total(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    import estat_aws_mcp.sql.duckdb_engine as engine_module

    monkeypatch.setattr(engine_module, "COUNT_CAP_ROWS", 5_000)
    result = DuckDBEngine(loaded.settings).execute("SELECT * FROM range(100000) t(i)", max_rows=10)
    assert result.truncated and result.row_count == 10 and result.total_rows is None


def test_duckdb_over_a_glue_catalog_on_s3_reads_through_pyiceberg(aws_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 store with the DuckDB engine: the data files are not local, so the view is an Arrow scan."""
    from estat_aws_mcp.aws.clients import aws_client
    from estat_aws_mcp.datasets.s3_store import S3ObjectStore
    from estat_aws_mcp.settings import get_settings
    from tests.datasets.conftest import synthetic_rows

    aws_client("s3").create_bucket(
        Bucket="duck-on-s3", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", "s3://duck-on-s3/p")
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    settings = get_settings()
    columns = synthetic_rows(80, AXES)
    manifest = write_dataset(S3ObjectStore("s3://duck-on-s3/p"), columns, AXES)
    load_dataset_to_iceberg(settings, manifest.dataset_id, "population")
    result = DuckDBEngine(settings).execute("SELECT count(*), sum(value) FROM estat.population")
    assert result.rows == [[80, pytest.approx(sum(v for v in columns["value"] if v is not None))]]
    assert any("non-local data files" in n for n in result.notices)


def test_information_schema_lists_the_loaded_tables_and_columns(loaded: Loaded) -> None:
    other = write_dataset(loaded.store, 3, ("area", "time"))
    load_dataset_to_iceberg(loaded.settings, other.dataset_id, "households", namespace="census")
    engine = DuckDBEngine(loaded.settings)
    tables = engine.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema <> 'main' ORDER BY 1, 2"
    )
    assert tables.rows == [["census", "households"], ["estat", "population"]]
    columns = engine.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'census' AND table_name = 'households' ORDER BY ordinal_position"
    )
    assert [r[0] for r in columns.rows][:4] == ["area_code", "area_name", "time_code", "time_name"]
    assert dict(columns.rows)["value"] == "DOUBLE"


def test_table_names_match_case_insensitively(loaded: Loaded) -> None:
    engine = DuckDBEngine(loaded.settings)
    assert engine.execute("SELECT count(*) FROM ESTAT.Population").rows == [[600]]
    assert engine.execute('SELECT count(*) FROM "Population"').rows == [[600]]
