"""S3ObjectStore against moto's server: real objects checked through boto3."""

from __future__ import annotations

import io
import os

import httpx
import pytest

from estat_aws_mcp.aws.clients import aws_client
from estat_aws_mcp.datasets.manifest import DATA_FILE, MANIFEST_FILE, dataset_key, load_manifest
from estat_aws_mcp.datasets.s3_store import MIN_PART_SIZE, S3ObjectStore
from estat_aws_mcp.errors import InputError, UpstreamError
from tests.datasets.conftest import read_parquet, write_dataset

BUCKET = "estat-test-bucket"
PART = MIN_PART_SIZE  # S3 (and moto) refuse smaller parts except the last


def _objects(prefix: str = "") -> list[str]:
    response = aws_client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in response.get("Contents", []))


def _uploads() -> list[dict]:
    return aws_client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def _small_parts(store: S3ObjectStore) -> S3ObjectStore:
    return S3ObjectStore(store.root_uri, client=store.client, part_size=PART)


def _get(key: str) -> bytes:
    return aws_client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_small_write_is_one_put_visible_only_after_the_block(s3_store: S3ObjectStore) -> None:
    with s3_store.open_write("exports/a.csv") as fh:
        fh.write(b"a,b\n")
        fh.write(memoryview(b"1,2\n"))
        assert fh.tell() == 8
        assert _objects() == []  # nothing visible while writing
    assert _objects() == ["estat/exports/a.csv"]
    assert _get("estat/exports/a.csv") == b"a,b\n1,2\n"
    assert s3_store.exists("exports/a.csv")
    assert s3_store.size("exports/a.csv") == 8
    assert s3_store.read_bytes("exports/a.csv") == b"a,b\n1,2\n"


def test_large_write_streams_multipart_and_appears_on_completion(s3_store: S3ObjectStore) -> None:
    s3_store = _small_parts(s3_store)
    payload = os.urandom(2 * PART + 12345)
    with s3_store.open_write("big/blob.bin") as fh:
        for start in range(0, len(payload), 1_000_000):
            fh.write(payload[start : start + 1_000_000])
        # Parts are uploaded while writing (memory stays bounded) but no object exists yet.
        assert len(_uploads()) == 1
        assert _objects() == []
    assert _uploads() == []
    assert _objects() == ["estat/big/blob.bin"]
    head = aws_client("s3").head_object(Bucket=BUCKET, Key="estat/big/blob.bin")
    assert head["ContentLength"] == len(payload)
    assert head["ETag"].strip('"').endswith("-3")  # a three-part multipart object
    assert _get("estat/big/blob.bin") == payload


def test_error_in_the_writer_aborts_the_multipart_upload(s3_store: S3ObjectStore) -> None:
    s3_store = _small_parts(s3_store)
    s3_store.write_bytes("big/blob.bin", b"previous good version")
    with pytest.raises(RuntimeError, match="boom"), s3_store.open_write("big/blob.bin") as fh:
        fh.write(os.urandom(PART + 10))
        assert len(_uploads()) == 1
        raise RuntimeError("boom")
    assert _uploads() == []  # aborted: no parts left behind
    assert _get("estat/big/blob.bin") == b"previous good version"


def test_failed_upload_part_leaves_no_object(s3_store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    s3_store = _small_parts(s3_store)
    client = s3_store.client
    real_upload_part = client.upload_part
    calls = {"n": 0}

    def flaky_upload_part(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise client.exceptions.ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected"}}, "UploadPart"
            )
        return real_upload_part(**kwargs)

    monkeypatch.setattr(client, "upload_part", flaky_upload_part)
    with pytest.raises(UpstreamError, match="UploadPart failed: InternalError"), s3_store.open_write("x/y.bin") as fh:
        for _ in range(3):
            fh.write(os.urandom(PART))
    assert calls["n"] == 2
    assert _objects() == []
    assert _uploads() == []


def test_failed_dataset_upload_publishes_no_dataset(s3_store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset whose data upload fails mid-stream has neither data nor manifest in S3."""
    s3_store = _small_parts(s3_store)
    import tests.datasets.conftest as factory

    client = s3_store.client
    real = client.upload_part
    calls = {"n": 0}

    def fail_second_part(**kwargs):
        calls["n"] += 1
        if calls["n"] >= 2:
            raise client.exceptions.ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "UploadPart")
        return real(**kwargs)

    monkeypatch.setattr(client, "upload_part", fail_second_part)
    # Random (incompressible) annotations make the Parquet file span several 5 MiB parts.
    n = 12_000
    columns = factory.synthetic_rows(n)
    columns["annotation"] = [os.urandom(700).hex() for _ in range(n)]
    with pytest.raises(UpstreamError):
        write_dataset(s3_store, columns, row_group_rows=2_000)
    assert calls["n"] >= 2
    assert _objects() == []
    assert _uploads() == []
    assert s3_store.list_keys("datasets") == []


def test_dataset_round_trip_through_s3(s3_store: S3ObjectStore) -> None:

    manifest = write_dataset(s3_store, 500)
    keys = _objects()
    assert f"estat/{dataset_key(manifest.dataset_id, DATA_FILE)}" in keys
    assert f"estat/{dataset_key(manifest.dataset_id, MANIFEST_FILE)}" in keys
    assert load_manifest(s3_store, manifest.dataset_id).row_count == 500
    table = read_parquet(io.BytesIO(_get(f"estat/{manifest.data_key}")))
    with s3_store.open_read(manifest.data_key) as fh:
        assert read_parquet(fh).equals(table)


def test_ranged_reader_seeks_and_reads(s3_store: S3ObjectStore) -> None:
    payload = bytes(range(256)) * 100
    s3_store.write_bytes("r/data.bin", payload)
    store = S3ObjectStore(s3_store.root_uri, read_block=1000)
    with store.open_read("r/data.bin") as fh:
        assert fh.seekable()
        fh.seek(5000)
        assert fh.read(10) == payload[5000:5010]
        fh.seek(-7, io.SEEK_END)
        assert fh.read() == payload[-7:]
        fh.seek(0)
        assert fh.read() == payload
        assert fh.read(5) == b""
    assert store.read_range("r/data.bin", 25590, 100) == payload[25590:]
    assert store.read_range("r/data.bin", len(payload), 10) == b""


def test_reader_refuses_a_concurrent_overwrite(s3_store: S3ObjectStore) -> None:
    s3_store.write_bytes("r/v.bin", b"A" * 10_000)
    store = S3ObjectStore(s3_store.root_uri, read_block=1000)
    with store.open_read("r/v.bin") as fh:
        assert fh.read(10) == b"A" * 10
        s3_store.write_bytes("r/v.bin", b"B" * 10_000)
        fh.seek(5000)
        with pytest.raises(UpstreamError, match="PreconditionFailed"):
            fh.read(10)


def test_missing_objects_raise_file_not_found(s3_store: S3ObjectStore) -> None:
    assert not s3_store.exists("nope.csv")
    for call in (s3_store.open_read, s3_store.size, s3_store.read_bytes):
        with pytest.raises(FileNotFoundError):
            call("nope.csv")
    with pytest.raises(FileNotFoundError):
        s3_store.read_range("nope.csv", 0, 10)


def test_list_and_delete_stay_inside_the_prefix(s3_store: S3ObjectStore) -> None:
    s3 = aws_client("s3")
    s3.put_object(Bucket=BUCKET, Key="estat-other/datasets/x", Body=b"keep")
    s3.put_object(Bucket=BUCKET, Key="datasets/y", Body=b"keep")
    for key in ("datasets/a/data.parquet", "datasets/a/manifest.json", "datasets/ab/data.parquet", "exports/a.csv"):
        s3_store.write_bytes(key, b"x")
    assert s3_store.list_keys() == [
        "datasets/a/data.parquet",
        "datasets/a/manifest.json",
        "datasets/ab/data.parquet",
        "exports/a.csv",
    ]
    assert s3_store.list_keys("datasets/a") == ["datasets/a/data.parquet", "datasets/a/manifest.json"]
    s3_store.delete_prefix("datasets/a")
    assert s3_store.list_keys("datasets") == ["datasets/ab/data.parquet"]
    assert "estat-other/datasets/x" in _objects()
    assert "datasets/y" in _objects()
    with pytest.raises(InputError):
        s3_store.delete_prefix("../estat-other")


def test_presigned_url_downloads_the_object(s3_store: S3ObjectStore) -> None:
    s3_store.write_bytes("exports/p.csv", "a,名前\n1,東京都\n".encode())
    url = s3_store.presign("exports/p.csv", 300)
    assert url is not None and url.startswith(os.environ["AWS_ENDPOINT_URL"])
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=300" in url
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == "a,名前\n1,東京都\n".encode()


def test_client_uses_explicit_timeouts_and_the_endpoint(s3_store: S3ObjectStore) -> None:
    config = s3_store.client.meta.config
    assert config.connect_timeout > 0 and config.read_timeout > 0
    assert config.retries["mode"] == "standard" and config.retries["total_max_attempts"] >= 5
    assert config.read_timeout == 60.0
    assert s3_store.client.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL"]


@pytest.mark.parametrize("operation", ["complete_multipart_upload", "put_object"])
def test_failure_at_the_final_step_leaves_nothing(
    s3_store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    store = _small_parts(s3_store)
    client = store.client

    def fail(**kwargs):
        raise client.exceptions.ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, operation)

    monkeypatch.setattr(client, operation, fail)
    size = PART + 100 if operation == "complete_multipart_upload" else 100
    with pytest.raises(UpstreamError, match="InternalError"), store.open_write("x/final.bin") as fh:
        fh.write(os.urandom(size))
    assert _objects() == []
    assert _uploads() == []
