"""Exports of datasets produced by the real fetch engine from the fake e-Stat (not the factory):
the recorded census table 0003445078 (recordings #13/#14) locally, and a SYNTHETIC generated table
fetched into S3 (moto) and exported there as a multipart CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pyarrow as pa

from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.datasets.export import export_csv, export_parquet, read_csv_page
from estat_aws_mcp.datasets.fetch import EstatClientSource, fetch_dataset
from estat_aws_mcp.datasets.s3_store import MIN_PART_SIZE, S3ObjectStore
from estat_aws_mcp.datasets.store import ObjectStore
from estat_aws_mcp.estat.client import EstatClient
from tests.datasets.conftest import read_parquet
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, FakeEstat, GeneratedTable


def _fetch(store: ObjectStore, stats_data_id: str) -> Any:
    async def run():
        async with EstatClient(backoff_initial_s=0.05, backoff_max_s=0.2) as client:
            return await fetch_dataset(EstatClientSource(client), store, stats_data_id, mode="complete")

    return asyncio.run(run()).manifest


def _rows(store: ObjectStore, key: str) -> list[dict[str, Any]]:
    with store.open_read(key) as fh:
        return read_parquet(fh).to_pylist()


def _csv_equals_dataset(text: str, rows: list[dict[str, Any]]) -> None:
    records = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert list(record) == list(row)
        for name, cell in record.items():
            expected = row[name]
            if name == "value" and expected is not None:
                assert float(cell) == expected
            else:
                assert cell == ("" if expected is None else str(expected)), name


def test_recorded_census_table_exports(fake_estat: FakeEstat, local_store) -> None:  # noqa: F811
    manifest = _fetch(local_store, "0003445078")
    rows = _rows(local_store, manifest.data_key)
    assert len(rows) == manifest.row_count > 0
    for encoding in ("utf-8", "utf-8-sig", "cp932"):
        result = export_csv(local_store, manifest.dataset_id, encoding)
        assert result.row_count == len(rows)
        raw = local_store.read_bytes(result.key)
        _csv_equals_dataset(raw.decode("utf-8-sig" if encoding != "cp932" else "cp932"), rows)
    parquet = export_parquet(local_store, manifest.dataset_id)
    with local_store.open_read(parquet.key) as fh:
        table = read_parquet(fh)
    for field in table.schema:
        expected = {"value": pa.float64(), "time_start": pa.date32(), "time_end": pa.date32()}
        assert field.type == expected.get(field.name, pa.string()), field
    assert table.to_pylist() == rows


def test_generated_table_fetched_into_s3_and_exported_multipart(fake_estat: FakeEstat, s3_store: S3ObjectStore) -> None:  # noqa: F811
    # SYNTHETIC: cat01 (70) x area (48) x time (21) = 70,560 rows, about 5.7 MB of CSV: two 5 MiB parts.
    fake_estat.add_table(
        GeneratedTable(
            "0009100077",
            [Axis.numbered("cat01", "項目", 70, width=4, unit="人"), Axis.areas(47), Axis.years(2000, 2020)],
        ),
        catalog=False,
    )
    s3_store = S3ObjectStore(s3_store.root_uri, client=s3_store.client, part_size=MIN_PART_SIZE)
    manifest = _fetch(s3_store, "0009100077")
    assert manifest.row_count == 70 * 48 * 21
    rows = _rows(s3_store, manifest.data_key)
    result = export_csv(s3_store, manifest.dataset_id, "cp932")
    head = aws_client("s3").head_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}/{result.key}")
    assert head["ContentLength"] == result.bytes > s3_store.part_size  # large enough to go multipart
    assert head["ETag"].strip('"').endswith("-2")  # a multipart object's ETag is "<md5>-<parts>"
    body = aws_client("s3").get_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}/{result.key}")["Body"].read()
    _csv_equals_dataset(body.decode("cp932"), rows)
    # A page from the middle, through ranged GETs, is exactly the bytes it claims.
    page = read_csv_page(s3_store, result.key, offset=result.bytes // 2, max_bytes=10_000, content_budget=10**6)
    assert body[page.offset : page.offset + page.bytes_returned].decode("cp932") == page.content
    assert page.content.endswith("\n") and page.next_offset == page.offset + page.bytes_returned


def test_a_fetch_whose_s3_upload_fails_publishes_no_dataset(
    fake_estat: FakeEstat,  # noqa: F811
    s3_store: S3ObjectStore,
    monkeypatch,
) -> None:
    import pytest

    from estat_aws_mcp.errors import UpstreamError

    client = s3_store.client
    real_put = client.put_object

    def failing_put(**kwargs):
        if kwargs["Key"].endswith("/data.parquet"):
            raise client.exceptions.ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "PutObject")
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_object", failing_put)
    with pytest.raises(UpstreamError, match="SlowDown"):
        _fetch(s3_store, "0003445078")
    listed = aws_client("s3").list_objects_v2(Bucket=s3_store.bucket).get("Contents", [])
    assert listed == []
    assert aws_client("s3").list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", []) == []
