"""load_to_iceberg with the AWS Glue Data Catalog, against moto's server (S3 + Glue).

The data files and metadata pyiceberg writes are real objects in moto's S3 and the table is a real
Glue table (checked through boto3), so Athena could query it; moto does not run Athena SQL (see
tests/sql/test_athena_engine.py), the rows are therefore read back here with pyiceberg from S3.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.datasets.iceberg import load_dataset_to_iceberg, open_catalog
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.settings import Settings, get_settings
from tests.datasets.conftest import read_parquet

PREFIX = "estat"  # s3_store fixture: s3://<bucket>/estat


@pytest.fixture
def glue_settings(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", f"s3://{s3_bucket}/{PREFIX}")
    monkeypatch.setenv("ESTAT_MCP_GLUE_DATABASE", "estat")
    return get_settings()


def test_glue_table_with_data_in_the_bucket(
    glue_settings: Settings, s3_store, s3_bucket: str, make_dataset: Callable
) -> None:
    manifest = make_dataset(rows=40, store=s3_store)
    result = load_dataset_to_iceberg(glue_settings, manifest.dataset_id, "population")
    assert result.catalog == "glue" and result.table == "estat.population"
    assert (result.rows_loaded, result.table_row_count) == (40, 40)
    location = f"s3://{s3_bucket}/{PREFIX}/iceberg/estat/population"
    assert result.location == location

    keys = [o["Key"] for o in aws_client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]]
    table_keys = [k for k in keys if k.startswith(f"{PREFIX}/iceberg/estat/population/")]
    assert any(k.startswith(f"{PREFIX}/iceberg/estat/population/data/") and k.endswith(".parquet") for k in table_keys)
    assert any(k.endswith(".metadata.json") for k in table_keys)
    assert all(k.startswith(f"{PREFIX}/") for k in keys)  # nothing outside the store prefix

    glue_table = aws_client("glue").get_table(DatabaseName="estat", Name="population")["Table"]
    assert glue_table["Parameters"]["table_type"] == "ICEBERG"  # what Athena needs to read it as Iceberg
    assert glue_table["Parameters"]["metadata_location"].startswith(f"{location}/metadata/")
    assert glue_table["StorageDescriptor"]["Location"] == location
    glue_columns = [c["Name"] for c in glue_table["StorageDescriptor"]["Columns"]]
    assert glue_columns == [c.name for c in result.columns]


def test_glue_append_overwrite_and_mismatch(glue_settings: Settings, s3_store, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=25, store=s3_store)
    load_dataset_to_iceberg(glue_settings, manifest.dataset_id, "population")
    second = load_dataset_to_iceberg(glue_settings, manifest.dataset_id, "population", mode="append")
    assert second.table_row_count == 50
    table = open_catalog(glue_settings).catalog.load_table("estat.population")
    rows = table.scan().to_arrow()  # read back from moto's S3
    assert rows.num_rows == 50
    assert sorted(rows.column("value_raw").to_pylist()) == sorted(
        [*_source_column(s3_store, manifest, "value_raw")] * 2
    )

    other_axes = make_dataset(rows=5, axes=("area", "time"), store=s3_store)
    with pytest.raises(InputError, match="cannot append"):
        load_dataset_to_iceberg(glue_settings, other_axes.dataset_id, "population")
    replaced = load_dataset_to_iceberg(glue_settings, other_axes.dataset_id, "population", mode="overwrite")
    assert replaced.schema_replaced and replaced.table_row_count == 5
    glue_table = aws_client("glue").get_table(DatabaseName="estat", Name="population")["Table"]
    current = [
        c["Name"]
        for c in glue_table["StorageDescriptor"]["Columns"]
        if c["Parameters"]["iceberg.field.current"] == "true"
    ]
    assert current[:4] == ["area_code", "area_name", "time_code", "time_name"]


def test_namespace_is_a_glue_database(glue_settings: Settings, s3_store, make_dataset: Callable) -> None:
    manifest = make_dataset(rows=3, store=s3_store)
    load_dataset_to_iceberg(glue_settings, manifest.dataset_id, "households", namespace="census")
    names = [t["Name"] for t in aws_client("glue").get_tables(DatabaseName="census")["TableList"]]
    assert names == ["households"]


def _source_column(store, manifest, name: str) -> list:

    with store.open_read(manifest.data_key) as fh:
        return read_parquet(fh, columns=[name]).column(name).to_pylist()


def test_existing_database_is_used_and_a_missing_one_reported(
    glue_settings: Settings, s3_store, make_dataset: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployed role may GetDatabase but not CreateDatabase (see the Terraform module): an existing
    database must be used without trying to create it, and a missing one reported clearly."""
    from botocore.exceptions import ClientError

    import estat_aws_mcp.datasets.iceberg as iceberg_module
    from estat_aws_mcp.errors import UpstreamError

    aws_client("glue").create_database(DatabaseInput={"Name": "estat"})
    handle = open_catalog(glue_settings)
    calls: list[str] = []

    def access_denied(**kwargs):
        calls.append(kwargs["DatabaseInput"]["Name"])
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "CreateDatabase")

    monkeypatch.setattr(handle.catalog.glue, "create_database", access_denied)
    monkeypatch.setattr(iceberg_module, "open_catalog", lambda settings, create=True: handle)
    manifest = make_dataset(rows=4, store=s3_store)
    assert load_dataset_to_iceberg(glue_settings, manifest.dataset_id, "population").table_row_count == 4
    assert calls == []
    with pytest.raises(UpstreamError, match=r"'elsewhere' does not exist .* could not be created"):
        load_dataset_to_iceberg(glue_settings, manifest.dataset_id, "population", namespace="elsewhere")
    assert calls == ["elsewhere"]
