"""Parquet exports: exact schema types, round trip, compression, provenance metadata."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from estat_aws_mcp.datasets.export import export_parquet, parquet_key
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from tests.datasets.conftest import read_parquet, synthetic_rows

AXES = ("tab", "cat01", "area", "time")


def _expected_schema(axes=AXES) -> pa.Schema:
    names = [f"{a}_{k}" for a in axes for k in ("code", "name")]
    names += ["unit", "value", "value_raw", "note", "annotation"]
    return pa.schema([pa.field(n, pa.float64() if n == "value" else pa.string()) for n in names])


@pytest.mark.parametrize("compression", ["zstd", "snappy", "SNAPPY"])
def test_parquet_round_trip_with_exact_types(local_store, make_dataset, compression) -> None:
    manifest = make_dataset(rows=5000)
    result = export_parquet(local_store, manifest.dataset_id, compression, batch_rows=1000)
    assert result.key == parquet_key(manifest.dataset_id)
    assert result.row_count == 5000
    assert result.compression == compression.lower()
    assert result.credit == CREDIT_NOTICE
    with local_store.open_read(result.key) as fh:
        assert fh.seek(0, 2) == result.bytes
        fh.seek(0)
        parquet = pq.ParquetFile(fh)
        codec = parquet.metadata.row_group(0).column(0).compression
        table = parquet.read()
    assert codec == compression.upper()
    assert table.schema.remove_metadata() == _expected_schema()
    assert result.parquet_schema == [{"name": f.name, "type": str(f.type)} for f in _expected_schema()]
    with local_store.open_read(manifest.data_key) as fh:
        source = read_parquet(fh)
    assert table.to_pylist() == source.to_pylist()
    provenance = json.loads(table.schema.metadata[b"estat_aws_mcp"])
    assert provenance["dataset_id"] == manifest.dataset_id
    assert provenance["stats_data_id"] == "0003445078"
    assert provenance["credit"] == CREDIT_NOTICE


def test_codes_stay_strings_even_when_they_look_like_numbers(local_store, make_dataset) -> None:
    """A source whose codes were stored as integers (leading zeros already lost) is exported as strings,
    and one whose value came as a string is exported as float64."""
    columns = synthetic_rows(10, ("area",))
    table = pa.table(
        {
            "area_code": pa.array([int(c) for c in columns["area_code"]], pa.int64()),
            "area_name": columns["area_name"],
            "unit": columns["unit"],
            "value": pa.array([None if v is None else str(v) for v in columns["value"]], pa.string()),
            "value_raw": columns["value_raw"],
            "note": columns["note"],
            "annotation": pa.array(columns["annotation"], pa.string()),
        }
    )
    manifest = make_dataset(rows=columns, axes=("area",))
    # make_dataset writes strings; overwrite the data file with the mistyped table.
    with local_store.open_write(manifest.data_key) as fh:
        pq.write_table(table, fh)
    result = export_parquet(local_store, manifest.dataset_id)
    with local_store.open_read(result.key) as fh:
        out = read_parquet(fh)
    assert out.schema.field("area_code").type == pa.string()
    assert out.schema.field("value").type == pa.float64()
    assert out.column("area_code").to_pylist()[:3] == ["0", "1000", "13000"]
    assert out.column("value").to_pylist() == columns["value"]


def test_zstd_is_smaller_than_snappy_for_repetitive_data(local_store, make_dataset) -> None:
    manifest = make_dataset(rows=20_000)
    zstd = export_parquet(local_store, manifest.dataset_id, "zstd").bytes
    snappy = export_parquet(local_store, manifest.dataset_id, "snappy").bytes
    assert zstd < snappy


@pytest.mark.parametrize("compression", ["gzip", "none", "lz4", ""])
def test_bad_compression_is_a_clear_error(local_store, make_dataset, compression) -> None:
    manifest = make_dataset(rows=3)
    with pytest.raises(InputError, match=r"unsupported compression .*zstd.*snappy"):
        export_parquet(local_store, manifest.dataset_id, compression)
    assert local_store.list_keys("exports") == []


def test_unknown_dataset(local_store) -> None:
    with pytest.raises(InputError, match="unknown dataset_id"):
        export_parquet(local_store, "0003445078-0123456789ab")


def test_parquet_export_into_s3(s3_store) -> None:
    from estat_aws_mcp.aws.clients import aws_client
    from tests.datasets.conftest import write_dataset

    manifest = write_dataset(s3_store, 3000)
    result = export_parquet(s3_store, manifest.dataset_id, "zstd")
    assert result.uri == f"s3://estat-test-bucket/estat/exports/{manifest.dataset_id}.parquet"
    body = aws_client("s3").get_object(Bucket="estat-test-bucket", Key=f"estat/{result.key}")["Body"].read()
    assert len(body) == result.bytes
    import io

    assert read_parquet(io.BytesIO(body)).num_rows == 3000


def test_data_disagreeing_with_its_manifest_exports_nothing(local_store, make_dataset) -> None:
    from estat_aws_mcp.datasets.export import export_csv
    from estat_aws_mcp.errors import UpstreamError

    manifest = make_dataset(rows=100)
    with local_store.open_write(manifest.data_key) as fh:  # data replaced behind the manifest's back
        pq.write_table(read_parquet(local_store.uri_for(manifest.data_key).removeprefix("file://")).slice(0, 60), fh)
    with pytest.raises(UpstreamError, match="60 rows but its manifest says 100"):
        export_parquet(local_store, manifest.dataset_id)
    with pytest.raises(UpstreamError, match="60 rows"):
        export_csv(local_store, manifest.dataset_id)
    with pytest.raises(UpstreamError, match="60 rows"):  # the substitution report is discarded too
        export_csv(local_store, manifest.dataset_id, "cp932", on_unencodable="replace")
    assert local_store.list_keys("exports") == []
