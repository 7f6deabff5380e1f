"""Path confinement of the dataset store, local folder and S3, through ``key_from_uri`` and the
download resolver (which must give ONE answer for every refusal, whether or not the path exists)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from estat_aws_mcp.datasets.export import resolve_stored_csv
from estat_aws_mcp.datasets.s3_store import S3ObjectStore
from estat_aws_mcp.datasets.store import LocalObjectStore, open_store, validate_key
from estat_aws_mcp.errors import InputError


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../x.csv",
        "exports/../../x.csv",
        "exports/./x.csv",
        "exports//x.csv",
        "%2e%2e/x.csv",
        "exports/%2E%2E/x.csv",
        "%252e%252e/x.csv",
        "exports\\..\\x.csv",
        "exports/x.csv\x00",
        "exports/\u202ex.csv",
        "C:/x.csv",
        "exports/ x.csv",
        "a" * 600,
    ],
)
def test_validate_key_refuses(key: str) -> None:
    with pytest.raises(InputError):
        validate_key(key)


@pytest.mark.parametrize("key", ["exports/x.csv", "datasets/0003445078-0123456789ab/data.parquet", "a=b/c-d_e.f"])
def test_validate_key_accepts(key: str) -> None:
    assert validate_key(key) == key


# -- local -------------------------------------------------------------------------------------


def _local_refusals(root: Path) -> list[str]:
    outside = root.parent / "outside.csv"
    return [
        "/etc/passwd",
        str(outside),
        outside.as_uri(),
        f"file://{root}/../outside.csv",
        f"file://{root}/%2e%2e/outside.csv",
        f"file://{root}/exports/%2E%2E/%2e%2e/outside.csv",
        f"file://{root}-sibling/x.csv",
        "../outside.csv",
        "exports/../../outside.csv",
        "s3://bucket/exports/x.csv",
        "http://example.com/x.csv",
        "exports/link.csv",  # symlink to a file outside the root
        "linkdir/x.csv",  # a symlinked folder
        "exports/missing.csv",  # inside, absent: same answer as outside
        "exports/data.txt",  # inside, present, not a CSV
    ]


@pytest.fixture
def local_with_bait(tmp_path: Path) -> LocalObjectStore:
    root = tmp_path / "store"
    store = LocalObjectStore(root)
    store.write_bytes("exports/real.csv", b"a,b\n1,2\n")
    store.write_bytes("exports/data.txt", b"hello")
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"secret,1\n")
    (tmp_path / "store-sibling").mkdir()
    (tmp_path / "store-sibling" / "x.csv").write_bytes(b"secret,2\n")
    os.symlink(outside, root / "exports" / "link.csv")
    os.symlink(tmp_path / "store-sibling", root / "linkdir")
    return store


def test_local_resolver_refuses_everything_outside_with_one_message(local_with_bait: LocalObjectStore) -> None:
    root = local_with_bait.root
    messages = set()
    for uri in _local_refusals(root):
        with pytest.raises(InputError) as info:
            resolve_stored_csv(local_with_bait, uri)
        messages.add(str(info.value).replace(repr(uri), "<uri>"))
        assert "secret" not in str(info.value)
    assert len(messages) == 1, messages
    assert "not a CSV file in the dataset store" in messages.pop()


@pytest.mark.parametrize("form", ["uri", "key"])
def test_local_resolver_accepts_files_inside(local_with_bait: LocalObjectStore, form: str) -> None:
    uri = local_with_bait.uri_for("exports/real.csv") if form == "uri" else "exports/real.csv"
    assert resolve_stored_csv(local_with_bait, uri) == "exports/real.csv"


def test_local_store_never_reads_through_symlinks(local_with_bait: LocalObjectStore) -> None:
    for key in ("exports/link.csv", "linkdir/x.csv"):
        with pytest.raises(InputError):
            local_with_bait.open_read(key)
    assert "exports/link.csv" not in local_with_bait.list_keys()


def test_open_store_routes_schemes(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path / "a")), LocalObjectStore)
    assert isinstance(open_store((tmp_path / "b").as_uri()), LocalObjectStore)
    assert isinstance(open_store("s3://bucket-name/prefix"), S3ObjectStore)
    with pytest.raises(InputError):
        open_store("gs://bucket/prefix")


# -- S3 (no network needed: key_from_uri is pure) ---------------------------------------------------


S3_REFUSALS = [
    "s3://other-bucket/estat/exports/x.csv",
    "s3://estat-test-bucket-2/estat/exports/x.csv",
    "s3://estat-test-bucket/estat-other/x.csv",  # prefix sibling
    "s3://estat-test-bucket/estatexports/x.csv",
    "s3://estat-test-bucket/x.csv",  # bucket root, outside the prefix
    "s3://estat-test-bucket/estat",  # the prefix itself
    "s3://estat-test-bucket/estat/../x.csv",
    "s3://estat-test-bucket/estat/exports/../../x.csv",
    "s3://estat-test-bucket/estat/%2e%2e/x.csv",
    "s3://estat-test-bucket/estat/%2E%2E/other/x.csv",
    "s3://estat-test-bucket/estat//x.csv",
    "s3://estat-test-bucket/estat/./x.csv",
    "S3://estat-test-bucket/estat/x.csv",
    "/estat/exports/x.csv",
    "file:///etc/passwd",
    "https://estat-test-bucket.s3.amazonaws.com/estat/x.csv",
    "../x.csv",
]


@pytest.mark.parametrize("uri", S3_REFUSALS)
def test_s3_key_from_uri_refuses(uri: str) -> None:
    store = S3ObjectStore("s3://estat-test-bucket/estat", client=object())
    with pytest.raises(InputError):
        store.key_from_uri(uri)


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        ("s3://estat-test-bucket/estat/exports/x.csv", "exports/x.csv"),
        ("exports/x.csv", "exports/x.csv"),
        ("  s3://estat-test-bucket/estat/a/b.csv ", "a/b.csv"),
    ],
)
def test_s3_key_from_uri_accepts(uri: str, key: str) -> None:
    store = S3ObjectStore("s3://estat-test-bucket/estat", client=object())
    assert store.key_from_uri(uri) == key
    assert store.uri_for(key) == f"s3://estat-test-bucket/estat/{key}"


def test_s3_store_without_prefix_uses_the_whole_bucket() -> None:
    store = S3ObjectStore("s3://estat-test-bucket/", client=object())
    assert store.root_uri == "s3://estat-test-bucket"
    assert store.key_from_uri("s3://estat-test-bucket/exports/x.csv") == "exports/x.csv"
    with pytest.raises(InputError):
        store.key_from_uri("s3://other/exports/x.csv")


@pytest.mark.parametrize(
    "uri", ["s3://Bad_Bucket/p", "s3://a/p", "s3://bucket/../p", "s3://bucket/p/%2e%2e", "s3:///p", "s3://b..c/p"]
)
def test_s3_store_refuses_bad_storage_uris(uri: str) -> None:
    with pytest.raises(InputError):
        S3ObjectStore(uri, client=object())


def test_s3_resolver_refusals_share_one_message(s3_store: S3ObjectStore) -> None:
    s3_store.write_bytes("exports/real.csv", b"a\n1\n")
    s3_store.write_bytes("exports/notes.txt", b"a\n1\n")
    from estat_aws_mcp.aws.clients import aws_client

    s3 = aws_client("s3")
    # Bait that exists but lies outside the prefix or in another bucket.
    s3.put_object(Bucket="estat-test-bucket", Key="estat-other/x.csv", Body=b"secret")
    s3.put_object(Bucket="estat-test-bucket", Key="x.csv", Body=b"secret")
    s3.create_bucket(Bucket="other-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="other-bucket", Key="estat/exports/x.csv", Body=b"secret")
    uris = [*S3_REFUSALS, "s3://estat-test-bucket/estat/exports/missing.csv", "exports/notes.txt"]
    messages = set()
    for uri in uris:
        with pytest.raises(InputError) as info:
            resolve_stored_csv(s3_store, uri)
        messages.add(str(info.value).replace(repr(uri), "<uri>"))
    assert len(messages) == 1, messages
    assert resolve_stored_csv(s3_store, "s3://estat-test-bucket/estat/exports/real.csv") == "exports/real.csv"


def test_local_open_read_does_not_follow_a_symlink_swapped_in_after_the_check(
    local_with_bait: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate the race: the path check passes, then the file is a symlink when it is opened.
    monkeypatch.setattr(LocalObjectStore, "_path", lambda self, key: self.root / key)
    with pytest.raises(InputError, match="symbolic link"):
        local_with_bait.open_read("exports/link.csv")
    with pytest.raises(FileNotFoundError):
        local_with_bait.open_read("exports/none.csv")
