# ruff: noqa: F811  (pytest fixtures imported from tests/estat/conftest.py are parameters here)
"""The fast page path: VALUE array cut from the body and read by Arrow, with the json fallback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from estat_aws_mcp.datasets.fetch import FetchedPage, convert_page
from estat_aws_mcp.datasets.pages import split_value_array, value_lines_as_json
from estat_aws_mcp.datasets.schema import PageConverter, table_metadata
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.estat.normalize import normalize_stats_data
from tests.datasets.conftest import read_parquet
from tests.datasets.test_fetch import fetch
from tests.estat.conftest import _fake_estat_server, fake_estat  # noqa: F401  (fixtures)
from tests.fakes.fake_estat import Axis, FakeEstat, default_value

WAGES_PAGE = "java-springboot-comment__getStatsData_0003425893_narrowed_raw-unicode-escaped__2021-12-19.json"  # 19
MUNICIPAL_PAGE = "estat-api-dlt-helper__getStatsData_0000020202_limit10_NEXT_KEY__2025-07-16.json"  # 1


def test_recorded_wire_format_takes_the_fast_path(estat_fixtures_dir: Path) -> None:
    """#19 is e-Stat's raw 3.0 wire format (compact, \\u-escaped): both paths give the same batch."""
    body = (estat_fixtures_dir / WAGES_PAGE).read_bytes()
    split = split_value_array(body)
    assert split is not None
    envelope, lines = split
    assert lines.count(b"\n") == 23  # 24 VALUE objects, one per line
    data = normalize_stats_data(json.loads(envelope))
    assert data["values"] == [] and data["notes"] == {"-": "計数のない場合"}
    metadata = table_metadata("0003425893", data)  # the envelope keeps CLASS_INF and TABLE_INF
    converter = PageConverter(metadata)
    full = normalize_stats_data(json.loads(body))
    fast = converter.convert_json_lines(lines, data["notes"])
    assert fast.equals(converter.convert(full["values"], full["notes"]))
    assert json.loads(value_lines_as_json(lines)) == full["values"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":{"@area":"1","$":"2"}}}}}',  # one VALUE: a dict
        b'{"GET_STATS_DATA":{"RESULT":{"STATUS":100}}}',  # no VALUE
        b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":[{"$":"1"}],"X":[1]}}}}',  # VALUE not last
        b'{"TITLE":"a,\\"VALUE\\":[{}]","GET_STATS_DATA":{}}',  # the key only inside a string
        # SYNTHETIC: another array after VALUE (an ANNOTATION list, say) must not be taken for its end
        b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":[{"$":"1"}],"ANNOTATION":[{"$":"x"}]}}}}',
        b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":[{"$":"a]b"}]}}}}',  # "]" in a cell
    ],
)
def test_other_shapes_are_left_alone(body: bytes) -> None:
    assert split_value_array(body) is None


def test_empty_value_array() -> None:
    body = b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":[]}}}}'
    assert split_value_array(body) == (body, b"")


def test_pretty_printed_bodies_fall_back_to_json(estat_fixtures_dir: Path) -> None:
    """#1 was saved indented: the split may succeed, Arrow refuses the lines, json reads them."""
    body = (estat_fixtures_dir / MUNICIPAL_PAGE).read_bytes()
    full = normalize_stats_data(json.loads(body))
    converter = PageConverter(table_metadata("0000020202", full))
    expected = converter.convert(full["values"], full["notes"])
    split = split_value_array(body)
    if split is None:
        return  # left alone: the client's dict path applies
    envelope, lines = split
    data = normalize_stats_data(json.loads(envelope))
    assert convert_page(converter, FetchedPage(data, lines)).equals(expected)


def tricky_value(index: int) -> str:
    """SYNTHETIC: a cell that contains the object separator itself (never seen, but legal JSON)."""
    return 'a"},{"b' if index == 7 else default_value(index)


def table_of(store: LocalObjectStore, data_key: str) -> Any:
    with store.open_read(data_key) as fh:
        return read_parquet(fh)


@pytest.mark.parametrize("value_fn", [default_value, tricky_value], ids=["markers", "separator-in-a-string"])
def test_fast_and_dict_paths_write_identical_datasets(
    fake_estat: FakeEstat,
    tmp_path: Path,
    value_fn: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_estat.add_generated_table(
        "0009300001",
        [Axis.numbered("tab", "表章", 2, unit="件"), Axis.areas(47), Axis.years(1990, 2024)],
        value_fn=value_fn,
        catalog=False,
    )
    store = LocalObjectStore(tmp_path)
    caplog.set_level("INFO", logger="estat_aws_mcp.datasets.fetch")
    try:
        fast = asyncio.run(fetch(fake_estat, store, "0009300001", mode="complete", fast=True))
        plain = asyncio.run(fetch(fake_estat, store, "0009300001", mode="complete", fast=False))
    finally:
        fake_estat.tables.pop("0009300001", None)
    fast_table = table_of(store, fast.manifest.data_key)
    assert fast_table.num_rows == 2 * 48 * 35
    assert fast_table.equals(table_of(store, plain.manifest.data_key))
    raws = fast_table.column("value_raw").to_pylist()
    assert raws[7] == value_fn(7)
    fell_back = "parsing it with json instead" in caplog.text
    assert fell_back == (value_fn is tricky_value)


def page_body(values: list[dict[str, str]]) -> bytes:
    document = {
        "GET_STATS_DATA": {
            "RESULT": {"STATUS": 0, "ERROR_MSG": "正常に終了しました。"},
            "STATISTICAL_DATA": {"RESULT_INF": {"TOTAL_NUMBER": len(values)}, "DATA_INF": {"VALUE": values}},
        }
    }
    return json.dumps(document, separators=(",", ":")).encode()


def test_transport_captures_gzip_pages_only_inside_the_block() -> None:
    """SYNTHETIC bodies through httpx's MockTransport: gzip is decoded before the split."""
    import gzip

    import httpx

    from estat_aws_mcp.datasets.pages import ValueCapturingTransport, ValueSpan, capturing_values

    values = [{"@area": f"{i:05d}", "$": str(i)} for i in range(3)]
    body = page_body(values)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getMetaInfo"):
            return httpx.Response(200, content=b'{"GET_META_INFO":{}}')
        if request.url.params.get("fail"):
            return httpx.Response(503, content=b"busy")
        return httpx.Response(200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"})

    async def main() -> None:
        transport = ValueCapturingTransport(httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            outside = await client.get("/json/getStatsData")
            assert outside.content == body  # no capture block: untouched
            with capturing_values() as capture:
                inside = await client.get("/json/getStatsData")
                meta = await client.get("/json/getMetaInfo")
            assert json.loads(inside.content)["GET_STATS_DATA"]["STATISTICAL_DATA"]["DATA_INF"]["VALUE"] == []
            # the transport only locates the objects (no copy on the event loop); lines are made later
            assert isinstance(capture.value_lines, ValueSpan)
            assert json.loads(value_lines_as_json(capture.value_lines.lines().to_pybytes())) == values
            assert meta.content == b'{"GET_META_INFO":{}}'
            with capturing_values() as capture:
                failed = await client.get("/json/getStatsData", params={"fail": "1"})
            assert failed.status_code == 503 and capture.value_lines is None

    asyncio.run(main())


@pytest.mark.parametrize(
    "values",
    [
        b'{"$":"1"},{"$":"2"},{"$":"3"}',
        b'{"$":"a},{b"},{"$":"},{},{"}',  # separators inside strings: replaced as bytes.replace would
        b'{"$":"1"}',
        b"{},{},{}",
    ],
)
def test_value_span_lines_are_bytes_replace(values: bytes) -> None:
    """The GIL-free kernel that makes the lines gives exactly what ``bytes.replace`` gives."""
    from estat_aws_mcp.datasets.pages import ValueSpan, locate_value_array

    body = b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":[' + values + b"]}}}}"
    located = locate_value_array(body)
    assert located is not None
    envelope, span = located
    assert isinstance(span, ValueSpan) and body[span.start : span.end] == values
    assert envelope == b'{"GET_STATS_DATA":{"STATISTICAL_DATA":{"DATA_INF":{"VALUE":[]}}}}'
    assert span.lines().to_pybytes() == values.replace(b"},{", b"}\n{")
