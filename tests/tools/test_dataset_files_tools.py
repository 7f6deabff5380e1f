"""The dataset file tools through a real MCP client session (in memory), local folder and S3 (moto)."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.tools import dataset_files
from estat_aws_mcp.tools.server import build_server
from tests.datasets.conftest import read_parquet, synthetic_rows, write_dataset
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.tools.mcp_calls import call_tool, error_text, server_with

pytestmark = pytest.mark.anyio
TOOLS = {"save_dataset_as_csv", "transform_to_parquet", "download_csv_from_s3"}


async def call(name: str, **arguments: Any):
    return await call_tool(server_with(dataset_files), name, arguments)


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalObjectStore:
    root = tmp_path / "store"
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(root))
    return LocalObjectStore(root)


@pytest.fixture
def s3_env(aws_env, monkeypatch: pytest.MonkeyPatch):
    from estat_aws_mcp.aws.clients import aws_client
    from estat_aws_mcp.datasets.s3_store import S3ObjectStore

    aws_client("s3").create_bucket(
        Bucket="estat-tools", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", "s3://estat-tools/team/estat")
    return S3ObjectStore("s3://estat-tools/team/estat")


async def test_tools_are_registered_with_described_parameters() -> None:
    async with create_connected_server_and_client_session(build_server()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert TOOLS.issubset(tools)
    for name in TOOLS:
        schema = tools[name].inputSchema
        assert all(prop.get("description") for prop in schema["properties"].values()), name
        assert tools[name].outputSchema is not None
    csv_schema = tools["save_dataset_as_csv"].inputSchema["properties"]
    assert csv_schema["on_unencodable"]["enum"] == ["error", "replace"]
    assert tools["download_csv_from_s3"].annotations.readOnlyHint is True
    assert tools["save_dataset_as_csv"].annotations.readOnlyHint is False
    assert tools["transform_to_parquet"].annotations.idempotentHint is True
    download = tools["download_csv_from_s3"].inputSchema["properties"]
    assert download["offset"]["minimum"] == 0 and download["max_bytes"]["minimum"] == 1


async def test_save_csv_returns_a_reference_with_credit(local_env: LocalObjectStore) -> None:
    manifest = write_dataset(local_env, 250)
    result = await call("save_dataset_as_csv", dataset_id=manifest.dataset_id, encoding="utf-8-sig")
    assert not result.isError
    data = result.structuredContent
    assert data["row_count"] == 250 and data["encoding"] == "utf-8-sig" and data["credit"] == CREDIT_NOTICE
    raw = local_env.read_bytes(local_env.key_from_uri(data["uri"]))
    assert raw.startswith(codecs.BOM_UTF8) and data["bytes"] == len(raw)
    assert len(list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) == 251


async def test_cp932_refusal_and_replacement_through_the_tool(local_env: LocalObjectStore) -> None:
    columns = synthetic_rows(20)
    columns["area_name"][3] = "𠮷田町"
    manifest = write_dataset(local_env, columns)
    refused = await call("save_dataset_as_csv", dataset_id=manifest.dataset_id, encoding="cp932")
    text = error_text(refused)
    assert "row 4 column area_name" in text and "U+20BB7" in text and "no file was written" in text
    replaced = await call(
        "save_dataset_as_csv", dataset_id=manifest.dataset_id, encoding="cp932", on_unencodable="replace"
    )
    assert not replaced.isError
    data = replaced.structuredContent
    assert data["substitutions"]["cells"] == 1
    assert data["substitutions_uri"].endswith(".cp932-substitutions.csv")
    assert "〓田町" in local_env.read_bytes(local_env.key_from_uri(data["uri"])).decode("cp932")


@pytest.mark.parametrize(
    ("tool", "arguments", "fragment"),
    [
        ("save_dataset_as_csv", {"encoding": "latin-1"}, "unsupported encoding"),
        ("save_dataset_as_csv", {"encoding": "shift_jis"}, "use encoding='cp932'"),
        ("transform_to_parquet", {"compression": "gzip"}, "unsupported compression"),
    ],
)
async def test_bad_options_are_clear_errors(local_env, tool, arguments, fragment) -> None:
    manifest = write_dataset(local_env, 5)
    assert fragment in error_text(await call(tool, dataset_id=manifest.dataset_id, **arguments))


@pytest.mark.parametrize("tool", ["save_dataset_as_csv", "transform_to_parquet"])
async def test_unknown_dataset_says_what_to_do(local_env, tool) -> None:
    text = error_text(await call(tool, dataset_id="0003445078-0123456789ab"))
    assert "unknown dataset_id" in text and "fetch_dataset_auto" in text


async def test_transform_to_parquet_through_the_tool(local_env: LocalObjectStore) -> None:

    manifest = write_dataset(local_env, 300)
    result = await call("transform_to_parquet", dataset_id=manifest.dataset_id, compression="snappy")
    data = result.structuredContent
    assert data["row_count"] == 300 and data["compression"] == "snappy" and data["credit"] == CREDIT_NOTICE
    assert {"name": "value", "type": "double"} in data["parquet_schema"]
    with local_env.open_read(local_env.key_from_uri(data["uri"])) as fh:
        assert read_parquet(fh).num_rows == 300


async def test_download_pages_locally_without_presigned_url(local_env: LocalObjectStore) -> None:
    manifest = write_dataset(local_env, 200)
    uri = (await call("save_dataset_as_csv", dataset_id=manifest.dataset_id, encoding="cp932")).structuredContent["uri"]
    whole = local_env.read_bytes(local_env.key_from_uri(uri)).decode("cp932")
    offset, parts = 0, []
    while offset is not None:
        page = (await call("download_csv_from_s3", uri=uri, max_bytes=4000, offset=offset)).structuredContent
        assert page["encoding"] == "cp932" and page["presigned_url"] is None
        parts.append(page["content"])
        offset = page["next_offset"]
    assert "".join(parts) == whole and len(parts) > 3


async def test_download_pages_carry_the_credit_and_end_on_line_boundaries(local_env: LocalObjectStore) -> None:
    """Issue 15 item 12: the e-Stat credit on every page; 100-byte pages end on a line boundary when a line
    fits, and a page smaller than one line says so (it used to end mid-field with note null)."""
    from estat_aws_mcp.estat.credit import CREDIT_NOTICE

    manifest = write_dataset(local_env, 50)
    uri = (await call("save_dataset_as_csv", dataset_id=manifest.dataset_id)).structuredContent["uri"]
    lines = local_env.read_bytes(local_env.key_from_uri(uri)).decode().splitlines(keepends=True)
    longest = max(len(line.encode()) for line in lines)
    page = (await call("download_csv_from_s3", uri=uri, max_bytes=longest + 5)).structuredContent
    assert page["credit"] == CREDIT_NOTICE
    assert page["content"].endswith("\n") and page["note"] is None

    small = (await call("download_csv_from_s3", uri=uri, max_bytes=20)).structuredContent
    assert small["credit"] == CREDIT_NOTICE
    assert not small["content"].endswith("\n")
    assert small["note"].startswith("page smaller than one line")
    assert f"max_bytes >= {len(lines[0].encode())}" in small["note"]


async def test_download_refusals_are_identical(local_env: LocalObjectStore, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("secret\n")
    local_env.write_bytes("exports/real.csv", b"a\n")
    uris = [
        str(tmp_path / "secret.csv"),
        (tmp_path / "secret.csv").as_uri(),
        f"{local_env.root_uri}/../secret.csv",
        f"{local_env.root_uri}/%2e%2e/secret.csv",
        "exports/../../secret.csv",
        "exports/absent.csv",
        "s3://other/exports/real.csv",
    ]
    texts = {error_text(await call("download_csv_from_s3", uri=u)).replace(repr(u), "<uri>") for u in uris}
    assert len(texts) == 1
    assert "secret" not in texts.pop()


async def test_s3_chain_with_presigned_url(s3_env, monkeypatch: pytest.MonkeyPatch) -> None:
    from estat_aws_mcp.aws.clients import aws_client

    manifest = write_dataset(s3_env, 3000)
    saved = (await call("save_dataset_as_csv", dataset_id=manifest.dataset_id)).structuredContent
    assert saved["uri"] == f"s3://estat-tools/team/estat/exports/{manifest.dataset_id}.csv"
    body = (
        aws_client("s3")
        .get_object(Bucket="estat-tools", Key=f"team/estat/exports/{manifest.dataset_id}.csv")["Body"]
        .read()
    )
    assert len(body) == saved["bytes"] > 100_000

    page = (await call("download_csv_from_s3", uri=saved["uri"], max_bytes=50_000)).structuredContent
    assert page["content"].encode() == body[: page["bytes_returned"]]
    assert page["next_offset"] == page["bytes_returned"] and page["total_bytes"] == len(body)
    assert page["presigned_url_expires_in_s"] == 900 and "bearer" in page["presigned_url_note"]
    assert "X-Amz-Expires=900" in page["presigned_url"]
    downloaded = httpx.get(page["presigned_url"], timeout=10)
    assert downloaded.status_code == 200 and downloaded.content == body

    parquet = (await call("transform_to_parquet", dataset_id=manifest.dataset_id)).structuredContent
    assert (
        aws_client("s3").head_object(Bucket="estat-tools", Key=f"team/estat/exports/{manifest.dataset_id}.parquet")[
            "ContentLength"
        ]
        == parquet["bytes"]
    )

    monkeypatch.setenv("ESTAT_MCP_PRESIGNED_URL_EXPIRES_S", "120")
    page = (await call("download_csv_from_s3", uri=saved["uri"], max_bytes=50_000)).structuredContent
    assert "X-Amz-Expires=120" in page["presigned_url"]
    monkeypatch.setenv("ESTAT_MCP_PRESIGNED_URLS", "false")
    page = (await call("download_csv_from_s3", uri=saved["uri"], max_bytes=50_000)).structuredContent
    assert page["presigned_url"] is None and page["content"]


async def test_s3_small_file_needs_no_presigned_url(s3_env) -> None:
    manifest = write_dataset(s3_env, 10)
    saved = (await call("save_dataset_as_csv", dataset_id=manifest.dataset_id)).structuredContent
    page = (await call("download_csv_from_s3", uri=saved["uri"])).structuredContent
    assert page["eof"] and page["presigned_url"] is None


async def test_s3_download_refuses_outside_the_prefix(s3_env) -> None:
    from estat_aws_mcp.aws.clients import aws_client

    aws_client("s3").put_object(Bucket="estat-tools", Key="team/estat-other/x.csv", Body=b"secret")
    aws_client("s3").put_object(Bucket="estat-tools", Key="team/x.csv", Body=b"secret")
    uris = [
        "s3://estat-tools/team/estat-other/x.csv",
        "s3://estat-tools/team/x.csv",
        "s3://estat-tools/team/estat/../x.csv",
        "s3://estat-tools/team/estat/%2e%2e/x.csv",
        "s3://elsewhere/team/estat/exports/x.csv",
        "s3://estat-tools/team/estat/exports/absent.csv",
    ]
    texts = {error_text(await call("download_csv_from_s3", uri=u)).replace(repr(u), "<uri>") for u in uris}
    assert len(texts) == 1 and "secret" not in texts.pop()


async def test_invalid_storage_uri_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", "gs://bucket/prefix")
    text = error_text(await call("save_dataset_as_csv", dataset_id="0003445078-0123456789ab"))
    assert "unsupported storage URI scheme" in text


async def test_tool_chain_on_s3_fetch_then_files(s3_env, fake_estat) -> None:  # noqa: F811
    """fetch_dataset_auto (fake e-Stat, recorded census table) → CSV (cp932) and Parquet in S3 → download
    with a presigned URL, all through one MCP session of the real server."""
    from estat_aws_mcp.aws.clients import aws_client

    async with create_connected_server_and_client_session(build_server()) as session:
        fetched = await session.call_tool("fetch_dataset_auto", {"stats_data_id": "0003445078"})
        assert not fetched.isError, fetched.content
        dataset_id = fetched.structuredContent["dataset_id"]
        saved = await session.call_tool("save_dataset_as_csv", {"dataset_id": dataset_id, "encoding": "cp932"})
        assert not saved.isError, saved.content
        parquet = await session.call_tool("transform_to_parquet", {"dataset_id": dataset_id})
        assert not parquet.isError, parquet.content
        page = await session.call_tool(
            "download_csv_from_s3", {"uri": saved.structuredContent["uri"], "max_bytes": 1000}
        )
    s3 = aws_client("s3")
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="estat-tools")["Contents"]}
    assert {
        f"team/estat/datasets/{dataset_id}/data.parquet",
        f"team/estat/datasets/{dataset_id}/manifest.json",
        f"team/estat/exports/{dataset_id}.cp932.csv",
        f"team/estat/exports/{dataset_id}.parquet",
    } <= keys
    body = s3.get_object(Bucket="estat-tools", Key=f"team/estat/exports/{dataset_id}.cp932.csv")["Body"].read()
    data = page.structuredContent
    assert data["encoding"] == "cp932" and data["content"] == body[: data["bytes_returned"]].decode("cp932")
    assert saved.structuredContent["row_count"] == fetched.structuredContent["row_count"]
    assert httpx.get(data["presigned_url"], timeout=10).content == body
