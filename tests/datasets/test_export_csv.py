"""CSV exports: three encodings decoded and compared to the dataset independently; cp932 reporting."""

from __future__ import annotations

import codecs
import csv
import io

import pytest

from estat_aws_mcp.datasets.export import (
    CP932_REPLACEMENT,
    UnencodableCharactersError,
    csv_key,
    export_csv,
    normalise_encoding,
    substitutions_key,
)
from estat_aws_mcp.datasets.store import LocalObjectStore
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from tests.datasets.conftest import read_parquet, synthetic_rows


def _dataset_rows(store, manifest) -> list[dict]:
    with store.open_read(manifest.data_key) as fh:
        return read_parquet(fh).to_pylist()


def _assert_csv_matches(text: str, rows: list[dict]) -> None:
    records = list(csv.reader(io.StringIO(text, newline="")))
    header, body = records[0], records[1:]
    assert header == list(rows[0].keys())
    assert len(body) == len(rows)
    for record, row in zip(body, rows, strict=True):
        for name, cell in zip(header, record, strict=True):
            expected = row[name]
            if name == "value":
                if expected is None:
                    assert cell == ""
                else:
                    assert float(cell) == expected  # shortest round-trip repr: exact
            else:
                assert cell == ("" if expected is None else expected)


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8-sig", codecs.BOM_UTF8), ("cp932", b"")],
)
def test_csv_in_each_encoding_round_trips(local_store: LocalObjectStore, make_dataset, encoding, bom) -> None:
    manifest = make_dataset(rows=1000)
    result = export_csv(local_store, manifest.dataset_id, encoding, batch_rows=128)  # many batches
    raw = local_store.read_bytes(result.key)
    assert result.key == csv_key(manifest.dataset_id, encoding)
    assert result.uri == local_store.uri_for(result.key)
    assert result.row_count == 1000
    assert result.bytes == len(raw)
    assert result.encoding == encoding
    assert result.credit == CREDIT_NOTICE
    assert raw.startswith(bom)
    if encoding == "utf-8":
        assert not raw.startswith(codecs.BOM_UTF8)
    text = raw[len(bom) :].decode("utf-8" if encoding != "cp932" else "cp932")
    assert "東京都" in text and "髙島市" in text
    assert raw.count(b"\n") == 1001  # header + one line per row, written once
    _assert_csv_matches(text, _dataset_rows(local_store, manifest))


def test_markers_are_kept_as_raw_strings_with_null_values(local_store, make_dataset) -> None:
    manifest = make_dataset(rows=100)
    text = local_store.read_bytes(export_csv(local_store, manifest.dataset_id).key).decode()
    records = list(csv.DictReader(io.StringIO(text)))
    marked = [r for r in records if r["value_raw"] in ("-", "***", "x")]
    assert len(marked) == 2
    assert all(r["value"] == "" and r["note"] for r in marked)


def test_empty_dataset_gets_a_header(local_store, make_dataset) -> None:
    manifest = make_dataset(rows=0)
    result = export_csv(local_store, manifest.dataset_id, "cp932")
    assert result.row_count == 0
    assert local_store.read_bytes(result.key).decode("cp932").startswith('"tab_code","tab_name"')


def _dataset_with_unencodable(make_dataset):
    columns = synthetic_rows(300)
    columns["area_name"][5] = "𠮷野家町"  # U+20BB7, outside JIS X 0208 / cp932
    columns["annotation"][250] = "注記😀—"  # emoji and EM DASH (U+2014), neither in cp932
    columns["cat01_name"][260] = "𠮷"
    return make_dataset(rows=columns)


def test_cp932_refuses_and_lists_every_unencodable_cell(local_store, make_dataset) -> None:
    manifest = _dataset_with_unencodable(make_dataset)
    local_store.write_bytes(csv_key(manifest.dataset_id, "cp932"), b"previous export")
    with pytest.raises(UnencodableCharactersError) as info:
        export_csv(local_store, manifest.dataset_id, "cp932", batch_rows=100)
    report = info.value.report
    assert report.cells == 3
    assert report.characters == 4
    listed = {(item.row, item.column, "".join(item.characters)) for item in report.listed}
    assert listed == {(6, "area_name", "𠮷"), (251, "annotation", "😀—"), (261, "cat01_name", "𠮷")}
    message = str(info.value)
    for fragment in ("row 6 column area_name", "U+20BB7", "U+1F600", "U+2014", "utf-8-sig", "replace"):
        assert fragment in message
    # Nothing written, and the previous file is untouched (atomic write discarded).
    assert local_store.read_bytes(csv_key(manifest.dataset_id, "cp932")) == b"previous export"
    assert not local_store.exists(substitutions_key(manifest.dataset_id))


def test_cp932_replace_substitutes_and_reports_every_substitution(local_store, make_dataset) -> None:
    manifest = _dataset_with_unencodable(make_dataset)
    result = export_csv(local_store, manifest.dataset_id, "cp932", on_unencodable="replace", batch_rows=100)
    assert result.row_count == 300
    text = local_store.read_bytes(result.key).decode("cp932")
    records = list(csv.DictReader(io.StringIO(text)))
    assert records[5]["area_name"] == f"{CP932_REPLACEMENT}野家町"
    assert records[250]["annotation"] == f"注記{CP932_REPLACEMENT}{CP932_REPLACEMENT}"
    assert records[260]["cat01_name"] == CP932_REPLACEMENT
    # cp932's extension characters (髙, IBM extension) are kept as they are.
    assert {r["area_name"] for r in records if r["area_code"] == "25210"} == {"髙島市"}
    assert result.substitutions["cells"] == 3 and result.substitutions["characters"] == 4
    assert result.substitutions["by_column"] == {"area_name": 1, "annotation": 1, "cat01_name": 1}
    assert result.substitutions_uri == local_store.uri_for(substitutions_key(manifest.dataset_id))
    report = list(
        csv.DictReader(io.StringIO(local_store.read_bytes(substitutions_key(manifest.dataset_id)).decode("utf-8-sig")))
    )
    assert [(r["row"], r["column"], r["character"], r["codepoint"]) for r in report] == [
        ("6", "area_name", "𠮷", "U+20BB7"),
        ("251", "annotation", "😀", "U+1F600"),
        ("251", "annotation", "—", "U+2014"),
        ("261", "cat01_name", "𠮷", "U+20BB7"),
    ]


def test_utf8_keeps_characters_cp932_cannot_encode(local_store, make_dataset) -> None:
    manifest = _dataset_with_unencodable(make_dataset)
    for encoding in ("utf-8", "utf-8-sig"):
        text = local_store.read_bytes(export_csv(local_store, manifest.dataset_id, encoding).key).decode("utf-8-sig")
        assert "𠮷野家町" in text and "注記😀—" in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [("UTF8", "utf-8"), ("utf_8_sig", "utf-8-sig"), ("Windows-31J", "cp932"), ("MS932", "cp932")],
)
def test_encoding_aliases(name, expected) -> None:
    assert normalise_encoding(name) == expected


@pytest.mark.parametrize("name", ["latin-1", "shift_jis", "euc-jp", "", "utf-16"])
def test_bad_encoding_is_a_clear_error(local_store, make_dataset, name) -> None:
    manifest = make_dataset(rows=3)
    with pytest.raises(InputError, match="unsupported encoding") as info:
        export_csv(local_store, manifest.dataset_id, name)
    if name == "shift_jis":
        assert "cp932" in str(info.value)
    assert local_store.list_keys("exports") == []


def test_unknown_dataset_says_what_to_do(local_store) -> None:
    with pytest.raises(InputError, match=r"unknown dataset_id.*fetch_dataset_auto"):
        export_csv(local_store, "0003445078-0123456789ab")
    with pytest.raises(InputError, match="invalid dataset_id"):
        export_csv(local_store, "../../etc")


def test_bad_unencodable_policy(local_store, make_dataset) -> None:
    manifest = make_dataset(rows=3)
    with pytest.raises(InputError, match="on_unencodable"):
        export_csv(local_store, manifest.dataset_id, "cp932", on_unencodable="ignore")  # type: ignore[arg-type]


def test_a_cell_full_of_unencodable_characters_is_described_briefly(local_store, make_dataset) -> None:
    columns = synthetic_rows(3)
    columns["annotation"][0] = "😀" * 10_000
    manifest = make_dataset(rows=columns)
    with pytest.raises(UnencodableCharactersError) as info:
        export_csv(local_store, manifest.dataset_id, "cp932")
    assert info.value.report.characters == 10_000
    assert "and 9995 more" in str(info.value) and len(str(info.value)) < 2_000


def test_cp932_replace_into_s3_writes_the_substitution_report(s3_store) -> None:
    from tests.datasets.conftest import write_dataset

    columns = synthetic_rows(10)
    columns["area_name"][2] = "𠮷"
    manifest = write_dataset(s3_store, columns)
    result = export_csv(s3_store, manifest.dataset_id, "cp932", on_unencodable="replace")
    assert (
        result.substitutions_uri
        == f"s3://estat-test-bucket/estat/exports/{manifest.dataset_id}.cp932-substitutions.csv"
    )
    report = s3_store.read_bytes(substitutions_key(manifest.dataset_id)).decode("utf-8-sig").splitlines()
    assert report[1].startswith("3,area_name,𠮷,U+20BB7,𠮷,〓")
