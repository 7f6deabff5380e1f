"""The ObjectStore contract, run against both backends: the local folder and S3 (moto's server).

Whatever ``ESTAT_MCP_STORAGE_URI`` says, tools must see the same behaviour: atomic writes, seekable
reads, ranges, listings confined to the store, prefix deletion, missing keys as FileNotFoundError."""

from __future__ import annotations

import io

import pytest

from estat_aws_mcp.datasets.store import ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    return request.getfixturevalue("local_store" if request.param == "local" else "s3_store")


def test_write_then_read(store: ObjectStore) -> None:
    store.write_bytes("a/b.bin", b"hello world")
    assert store.exists("a/b.bin")
    assert store.size("a/b.bin") == 11
    assert store.read_bytes("a/b.bin") == b"hello world"
    assert store.read_range("a/b.bin", 6, 100) == b"world"
    assert store.read_range("a/b.bin", 11, 5) == b""
    with store.open_read("a/b.bin") as fh:
        assert fh.seekable()
        fh.seek(-5, io.SEEK_END)
        assert fh.read() == b"world"


def test_a_failed_write_keeps_the_previous_version_and_leaves_no_trace(store: ObjectStore) -> None:
    store.write_bytes("a/b.bin", b"v1")
    with pytest.raises(RuntimeError), store.open_write("a/b.bin") as fh:
        fh.write(b"v2 partial")
        raise RuntimeError("interrupted")
    assert store.read_bytes("a/b.bin") == b"v1"
    with pytest.raises(RuntimeError), store.open_write("a/new.bin") as fh:
        fh.write(b"partial")
        raise RuntimeError("interrupted")
    assert not store.exists("a/new.bin")
    assert store.list_keys() == ["a/b.bin"]  # no temporary files or pending uploads listed


def test_content_is_invisible_until_the_write_completes(store: ObjectStore) -> None:
    with store.open_write("c/d.bin") as fh:
        fh.write(b"x" * 1000)
        assert not store.exists("c/d.bin")
        assert store.list_keys() == []
    assert store.exists("c/d.bin")


def test_listing_and_deleting_by_folder_prefix(store: ObjectStore) -> None:
    for key in ("datasets/a/data.parquet", "datasets/a/manifest.json", "datasets/ab/data.parquet", "x.csv"):
        store.write_bytes(key, b"1")
    assert store.list_keys("datasets/a") == ["datasets/a/data.parquet", "datasets/a/manifest.json"]
    assert store.list_keys("nothing") == []
    store.delete_prefix("datasets/a")
    assert store.list_keys() == ["datasets/ab/data.parquet", "x.csv"]
    store.delete_prefix("x.csv")  # a single key
    assert store.list_keys() == ["datasets/ab/data.parquet"]


def test_missing_keys(store: ObjectStore) -> None:
    assert not store.exists("none.bin")
    with pytest.raises(FileNotFoundError):
        store.read_bytes("none.bin")
    with pytest.raises(FileNotFoundError):
        store.size("none.bin")


def test_uris_round_trip(store: ObjectStore) -> None:
    uri = store.uri_for("exports/x.csv")
    assert uri.startswith(store.root_uri + "/")
    assert store.key_from_uri(uri) == "exports/x.csv"


def test_list_sizes(store: ObjectStore) -> None:
    store.write_bytes("datasets/a/data.parquet", b"12345")
    store.write_bytes("datasets/ab/data.parquet", b"1")
    store.write_bytes("exports/a.csv", b"123")
    assert store.list_sizes("datasets/a") == {"datasets/a/data.parquet": 5}
    assert store.list_sizes() == {"datasets/a/data.parquet": 5, "datasets/ab/data.parquet": 1, "exports/a.csv": 3}
    assert store.list_sizes("nothing") == {}
