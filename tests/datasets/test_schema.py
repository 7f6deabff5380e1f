"""The normalised long schema and the VALUE page -> Arrow conversion, on the recorded fixtures.

Fixture numbers refer to tests/fixtures/estat/PROVENANCE.md. Rows marked SYNTHETIC are built
here where no recording shows the case (they reuse a recorded NOTE block and recorded codes).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from estat_aws_mcp.datasets.schema import (
    AXIS_ORDER,
    PageConverter,
    arrow_schema,
    column_names,
    ordered_axes,
    table_metadata,
)
from estat_aws_mcp.errors import UpstreamError
from estat_aws_mcp.estat.normalize import normalize_meta_info, normalize_stats_data, split_values

CENSUS_META = "hermes__getMetaInfo_0003445078_census2020_area-trimmed__2026-10-02.json"  # 13
CENSUS_VALUES = "hermes__getStatsData_0003445078_DATA_INF-only_14areas__2026-10-02.json"  # 14
CPI_META = "hermes__getMetaInfo_0004052037_cpi2025_trimmed__2026-10-02.json"  # 15
CPI_VALUES = "hermes__getStatsData_0004052037_DATA_INF-only__TRUNCATED__2026-10-02.json"  # 16
TIME_USE_META = "estatapi_r__getMetaInfo_0003065345__api2.x_2016-07-30.json"  # 3
TIME_USE_PAGE = "estatapi_r__getStatsData_limit3_metaN_0003065345__api2.x_2016-08-01.json"  # 6
WAGES_PAGE = "java-springboot-comment__getStatsData_0003425893_narrowed_raw-unicode-escaped__2021-12-19.json"  # 19
MUNICIPAL_PAGE = "estat-api-dlt-helper__getStatsData_0000020202_limit10_NEXT_KEY__2025-07-16.json"  # 1


def load(fixtures: Path, name: str) -> Any:
    return json.loads((fixtures / name).read_text(encoding="utf-8"))


def data_inf_only(document: dict[str, Any]) -> dict[str, Any]:
    """#14 and #16 kept only DATA_INF: wrap it back into a getStatsData envelope."""
    return {"GET_STATS_DATA": {"RESULT": {"STATUS": 0, "ERROR_MSG": ""}, "STATISTICAL_DATA": {"DATA_INF": document}}}


def convert(fixtures: Path, meta_name: str, page_document: dict[str, Any]) -> tuple[Any, pa.RecordBatch]:
    metadata = table_metadata("x", normalize_meta_info(load(fixtures, meta_name)))
    page = normalize_stats_data(page_document)
    return metadata, PageConverter(metadata).convert(page["values"], page["notes"])


def test_census_names_units_and_values(estat_fixtures_dir: Path) -> None:
    metadata, batch = convert(estat_fixtures_dir, CENSUS_META, data_inf_only(load(estat_fixtures_dir, CENSUS_VALUES)))
    assert metadata.stats_data_id == "0003445078"
    assert metadata.title and "男女別人口" in metadata.title
    assert (metadata.survey, metadata.organisation, metadata.updated_date) == ("国勢調査", "総務省", "2026-09-29")
    assert batch.schema.names == column_names(["tab", "cat01", "area", "time"])
    assert batch.num_rows == 42
    rows = batch.to_pylist()
    tokyo_male = next(r for r in rows if r["area_code"] == "13000" and r["cat01_code"] == "1")
    assert tokyo_male == {
        "tab_code": "2020_01",
        "tab_name": "人口",
        "tab_level": None,  # e-Stat sent @level ""
        "tab_parent_code": None,
        "cat01_code": "1",
        "cat01_name": "男",
        "cat01_level": "1",
        "cat01_parent_code": None,
        "area_code": "13000",
        "area_name": "東京都",
        "area_level": "2",
        "area_parent_code": "00000",
        "time_code": "2020000000",
        "time_name": "2020年",
        "time_level": "1",
        "time_parent_code": None,
        "time_start": dt.date(2020, 1, 1),
        "time_end": dt.date(2020, 12, 31),
        "time_granularity": "year",
        "unit": "人",
        "value": 6898388.0,
        "value_raw": "6898388",
        "note": None,
        "annotation": None,
    }
    # Both 府中市 keep their own code; names join by code, not by name.
    fuchu = {r["area_code"]: r["area_name"] for r in rows if r["area_name"] == "府中市"}
    assert fuchu == {"13206": "府中市", "34208": "府中市"}


def test_cpi_unit_from_row_or_class_item_and_negative_numbers(estat_fixtures_dir: Path) -> None:
    _, batch = convert(estat_fixtures_dir, CPI_META, data_inf_only(load(estat_fixtures_dir, CPI_VALUES)))
    rows = batch.to_pylist()
    index_rows = [r for r in rows if r["tab_code"] == "1"]
    change_rows = [r for r in rows if r["tab_code"] == "2"]
    assert index_rows and change_rows
    # #16: tab=1 rows have no @unit and the tab=1 class item has none either; tab=2 rows carry "%".
    assert {r["unit"] for r in index_rows} == {None}
    assert {r["unit"] for r in change_rows} == {"%"}
    assert {r["time_name"] for r in rows} >= {"2026年9月", "2025年度"}
    for row in rows:
        assert row["value"] == float(row["value_raw"])
    negative = [r for r in change_rows if r["value_raw"].startswith("-")]
    assert all(r["value"] < 0 and r["note"] is None for r in negative)


def test_unit_falls_back_to_the_class_item(estat_fixtures_dir: Path) -> None:
    """#1 carries @unit on every row; drop it (SYNTHETIC) and the cat01 item's unit must take over."""
    document = load(estat_fixtures_dir, MUNICIPAL_PAGE)
    page = normalize_stats_data(document)
    metadata = table_metadata("0000020202", page)  # getStatsData with metaGetFlg=Y carries CLASS_INF
    rows_without_unit = [{k: v for k, v in row.items() if k != "@unit"} for row in page["values"]]
    with_unit = PageConverter(metadata).convert(page["values"], page["notes"]).to_pylist()
    without_unit = PageConverter(metadata).convert(rows_without_unit, page["notes"]).to_pylist()
    assert [r["unit"] for r in with_unit] == [r["unit"] for r in without_unit] == ["ｈａ"] * 10
    assert with_unit[0]["area_name"] == "北海道 札幌市"
    assert with_unit[0]["cat01_name"] == "B1101_総面積（北方地域及び竹島を除く）"


def test_single_dict_classes_and_note(estat_fixtures_dir: Path) -> None:
    """#19: six CLASS_OBJ whose CLASS is a single dict, NOTE a single dict, no area axis."""
    page = normalize_stats_data(load(estat_fixtures_dir, WAGES_PAGE))
    metadata = table_metadata("0003425893", page)
    assert metadata.axis_ids == ["tab", "cat01", "cat02", "cat03", "cat04", "cat05", "cat06", "time"]
    batch = PageConverter(metadata).convert(page["values"], page["notes"])
    rows = batch.to_pylist()
    assert len(rows) == len(page["values"]) == 24
    assert {r["cat01_name"] for r in rows} == {"企業規模計（10人以上）"}
    assert {r["tab_name"] for r in rows} == {"年齢", "きまって支給する現金給与額"}
    assert all(r["value"] == float(r["value_raw"]) for r in rows)


def test_markers_come_from_each_responses_note(estat_fixtures_dir: Path) -> None:
    """#6 declares ***, -, ... and the clock times 0:00-23:59 (時刻). VALUE rows are SYNTHETIC on #6's codes."""
    page = normalize_stats_data(load(estat_fixtures_dir, TIME_USE_PAGE))
    metadata = table_metadata("0003065345", normalize_meta_info(load(estat_fixtures_dir, TIME_USE_META)))
    assert metadata.axis_ids == ["cat01", "cat02", "cat03", "area", "time"]  # no tab axis at all (#3)
    template = page["values"][0]
    raws = ["9782", "-0.3", "-", "***", "...", "2:35", "23:59", "abc", "0"]
    values = [{**template, "$": raw} for raw in raws]
    rows = PageConverter(metadata).convert(values, page["notes"]).to_pylist()
    got = {r["value_raw"]: (r["value"], r["note"]) for r in rows}
    assert got == {
        "9782": (9782.0, None),
        "-0.3": (-0.3, None),
        "-": (None, "当該数値が皆無"),
        "***": (None, "当該属性での集計なし"),
        "...": (None, "当該属性の標本数が皆無又は標本数10未満"),
        "2:35": (155.0, "時刻"),  # a declared clock time is a real value: minutes since 0:00
        "23:59": (1439.0, "時刻"),
        "abc": (None, None),  # not a number and not declared: null, raw text kept
        "0": (0.0, None),
    }
    # Without that NOTE, "-" is not a marker with a meaning (nothing is hard-coded), yet not a number either.
    bare = PageConverter(metadata).convert([{**template, "$": "-"}], {}).to_pylist()[0]
    assert (bare["value"], bare["value_raw"], bare["note"]) == (None, "-", None)
    undeclared_clock = PageConverter(metadata).convert([{**template, "$": "2:35"}], {}).to_pylist()[0]
    assert (undeclared_clock["value"], undeclared_clock["note"]) == (None, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1e3", 1000.0),
        ("nan", None),
        ("inf", None),
        ("-Infinity", None),
        ("1e400", None),
        ("1_0", None),
        ("１２", None),
        (" 5 ", 5.0),
        ("\v5\t", 5.0),  # RE2's \s leaves out the vertical tab, Python's does not: the rule spells it out
        ("\f5\r\n", 5.0),
        ("\x1c5", None),  # float() strips it (str.isspace), the rule does not
        ("5\x1f", None),
        ("+1", 1.0),
        ("5.", 5.0),
        ("-.5", -0.5),
        ("0x10", None),
        ("1e", None),
        ("", None),
    ],
)
def test_only_plain_finite_numbers_become_values(raw: str, expected: float | None) -> None:
    from estat_aws_mcp.datasets.schema import _parse_floats
    from estat_aws_mcp.estat.normalize import cell_number

    (value,) = _parse_floats(pa.array([raw], pa.string())).to_pylist()
    assert value == expected or (expected is None and value is None)
    assert value is None or math.isfinite(value)
    assert value == cell_number(raw)
    assert split_values([raw], {})[0] == [value]  # the dict path's columnar parse agrees
    # Next to plain numbers and a declared marker set aside (the usual page), the cell reads the same.
    cells = pa.array(["12", "-", raw, "0.5"], pa.string())
    declared = pa.array([False, True, False, False])
    assert _parse_floats(cells, declared).to_pylist() == [12.0, None, value, 0.5]


def test_codes_unknown_to_the_metadata_keep_their_code(estat_fixtures_dir: Path) -> None:
    metadata = table_metadata("x", normalize_meta_info(load(estat_fixtures_dir, CENSUS_META)))
    row = {"@tab": "2020_01", "@cat01": "9", "@area": "99999", "@time": "2020000000", "$": "1"}
    (out,) = PageConverter(metadata).convert([row], {}).to_pylist()
    assert (out["cat01_code"], out["cat01_name"], out["area_code"], out["area_name"]) == ("9", None, "99999", None)
    assert (out["area_level"], out["area_parent_code"]) == (None, None)  # unknown codes: no hierarchy either
    # The hierarchy of the census area axis, skipping levels as e-Stat does (札幌市 level 4 under 北海道).
    sapporo = PageConverter(metadata).convert([{**row, "@area": "01100"}], {}).to_pylist()[0]
    assert (sapporo["area_level"], sapporo["area_parent_code"]) == ("4", "01000")
    assert metadata.hierarchical_axes == ["area"]
    assert metadata.describe()["axes"][2]["levels"] == {"1": 1, "2": 5, "4": 8}
    assert out["unit"] == "人"  # from the tab item


def test_schema_types_and_axis_order() -> None:
    schema = arrow_schema(["tab", "cat01", "area", "time"])
    assert schema.field("value").type == pa.float64()
    assert schema.field("time_start").type == schema.field("time_end").type == pa.date32()
    dates = {"value", "time_start", "time_end"}
    assert all(schema.field(name).type == pa.string() for name in schema.names if name not in dates)
    assert schema.names[:8] == [
        "tab_code", "tab_name", "tab_level", "tab_parent_code", "cat01_code", "cat01_name", "cat01_level",
        "cat01_parent_code",
    ]  # fmt: skip
    time_at = schema.names.index("time_code")
    assert schema.names[time_at : time_at + 7] == [
        "time_code", "time_name", "time_level", "time_parent_code", "time_start", "time_end", "time_granularity",
    ]  # fmt: skip
    assert "time_start" not in arrow_schema(["cat01", "area"]).names  # only tables with a time axis
    assert ordered_axes(["time", "area", "cat02", "tab", "cat01", "cat15"]) == [
        "tab",
        "cat01",
        "cat02",
        "cat15",
        "area",
        "time",
    ]
    assert AXIS_ORDER[0] == "tab" and AXIS_ORDER[-2:] == ("area", "time")
    with pytest.raises(UpstreamError):
        ordered_axes(["tab", "cat16"])


def test_empty_page_converts_to_an_empty_batch(estat_fixtures_dir: Path) -> None:
    metadata = table_metadata("x", normalize_meta_info(load(estat_fixtures_dir, CENSUS_META)))
    batch = PageConverter(metadata).convert([], {"-": "x"})
    assert batch.num_rows == 0 and batch.schema == arrow_schema(metadata.axis_ids)


def test_cpi_rows_get_time_dates_from_their_codes(estat_fixtures_dir: Path) -> None:
    metadata, batch = convert(estat_fixtures_dir, CPI_META, data_inf_only(load(estat_fixtures_dir, CPI_VALUES)))
    rows = batch.to_pylist()
    assert rows and all(row["time_start"] and row["time_end"] and row["time_granularity"] for row in rows)
    september = next(row for row in rows if row["time_code"] == "2026000909")
    assert (september["time_start"], september["time_end"], september["time_granularity"]) == (
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 30),
        "month",
    )
    assert september["time_level"] == "4" and september["time_parent_code"] == "2026000709"
    fiscal = next(row for row in rows if row["time_code"] == "2025100000")
    assert (fiscal["time_start"], fiscal["time_end"]) == (dt.date(2025, 4, 1), dt.date(2026, 3, 31))
    assert metadata.time_notes() == []


def test_unmapped_time_codes_are_null_and_noted() -> None:
    from estat_aws_mcp.datasets.schema import AxisInfo, ClassItem, TableMetadata

    metadata = TableMetadata(
        "0009999990",
        axes=[
            AxisInfo("time", "時間軸", [ClassItem("2020000000", "2020年"), ClassItem("2020100103", "2020年度1～3月")])
        ],
    )
    rows = PageConverter(metadata).convert([{"@time": "2020000000", "$": "1"}, {"@time": "2020100103", "$": "2"}])
    first, second = rows.to_pylist()
    assert first["time_granularity"] == "year"
    assert (second["time_start"], second["time_end"], second["time_granularity"]) == (None, None, None)
    (note,) = metadata.time_notes()
    assert "2020100103" in note and "left null" in note


def _row_by_row(metadata: Any, values: list[dict[str, Any]], notes: dict[str, str]) -> list[dict[str, Any]]:
    """The normalised rows computed one row at a time in plain Python (the reference for the columnar
    converter, which looks each attribute up once per item or marker and takes it onto the rows)."""
    from estat_aws_mcp.estat.normalize import parse_value
    from estat_aws_mcp.estat.timecodes import parse_time_code

    items = {axis.id: {} for axis in metadata.axes}
    for axis in metadata.axes:
        for item in axis.items:
            items[axis.id].setdefault(item.code, item)  # the first item of a repeated code wins
    rows = []
    for value in values:
        row: dict[str, Any] = {}
        units = []
        for axis in metadata.axes:
            code = value.get(f"@{axis.id}")
            item = items[axis.id].get(code) if code is not None else None
            row[f"{axis.id}_code"] = code
            row[f"{axis.id}_name"] = item.name if item else None
            row[f"{axis.id}_level"] = (item.level or None) if item else None
            row[f"{axis.id}_parent_code"] = item.parent_code if item else None
            if axis.id == "time":
                period = parse_time_code(item.code, item.name) if item else None
                row["time_start"] = period.start if period else None
                row["time_end"] = period.end if period else None
                row["time_granularity"] = period.granularity if period else None
            if item and item.unit:
                units.append(item.unit)
        raw = value.get("$")
        row["unit"] = value["@unit"] if value.get("@unit") is not None else (units[0] if units else None)
        row["value"] = parse_value(raw, notes)[0] if raw is not None else None
        row["value_raw"] = raw
        row["note"] = notes.get(raw) if raw is not None else None
        row["annotation"] = value.get("@anno")
        rows.append(row)
    return rows


def test_lookups_per_item_and_marker_equal_row_by_row() -> None:
    """SYNTHETIC: a mix of known, unknown, repeated and missing codes, items with and without levels,
    parents, units and mappable time codes, rows with and without @unit, and cells that are numbers,
    declared markers (a clock time among them), undeclared text or missing. Both conversion paths
    (VALUE dicts and Arrow's JSON reader) give exactly the row-by-row result."""
    import random

    from estat_aws_mcp.datasets.schema import AxisInfo, ClassItem, TableMetadata

    metadata = TableMetadata(
        "0009999991",
        axes=[
            AxisInfo("tab", "表章項目", [ClassItem("01", "人口", unit="人"), ClassItem("02", "割合", unit="%")]),
            AxisInfo("cat01", "男女", [ClassItem("0", "総数"), ClassItem("1", "男"), ClassItem("1", "男（重複）")]),
            AxisInfo(
                "area",
                "地域",
                [
                    ClassItem("00000", "全国", level="1"),
                    ClassItem("13000", "東京都", level="2", parent_code="00000"),
                    ClassItem("13100", "特別区部", level="3", parent_code="13000", unit="千人"),
                ],
            ),
            AxisInfo(
                "time",
                "時間軸",
                [
                    ClassItem("2020000000", "2020年"),
                    ClassItem("2020100000", "2020年度"),
                    ClassItem("2020000103", "2020年1～3月", level="2", parent_code="2020000000"),
                    ClassItem("2020000101", "2020年2月"),  # the name says another month: unmapped
                    ClassItem("2020100103", "2020年度1～3月"),  # no rule: unmapped
                ],
            ),
        ],
    )
    notes = {"-": "該当なし", "***": "秘匿", "0": "ゼロ", "2:35": "時刻"}
    codes = {
        "tab": ["01", "02", "99"],
        "cat01": ["0", "1", "7"],
        "area": ["00000", "13000", "13100", "99999"],
        "time": ["2020000000", "2020100000", "2020000103", "2020000101", "2020100103", "2021000000"],
    }
    cells = ["12", "-3.5", "1e3", "0", "-", "***", "2:35", "3:15", "abc", "nan", ""]
    rng = random.Random(11)
    values = []
    for _ in range(500):
        value: dict[str, Any] = {f"@{axis}": rng.choice(options) for axis, options in codes.items()}
        if rng.random() < 0.1:
            del value[f"@{rng.choice(list(codes))}"]
        if rng.random() < 0.5:
            value["@unit"] = rng.choice(["人", "円"])
        if rng.random() < 0.1:
            value["@anno"] = "†"
        if rng.random() < 0.95:
            value["$"] = rng.choice(cells)
        values.append(value)
    expected = _row_by_row(metadata, values, notes)
    assert {row["time_granularity"] for row in expected} == {"year", "fiscal_year", "quarter", None}
    assert any(row["value"] == 155.0 for row in expected) and any(row["unit"] == "千人" for row in expected)
    converter = PageConverter(metadata)
    assert converter.convert(values, notes).to_pylist() == expected
    lines = "\n".join(json.dumps(value, ensure_ascii=False) for value in values).encode()
    assert converter.convert_json_lines(lines, notes).to_pylist() == expected
    # Only numbers, declared markers and non-finite spellings: the numbers are read without the pattern.
    numeric = [{**value, "$": rng.choice(["12", "-3.5", "1e3", "0", "-", "***", "2:35", "nan"])} for value in values]
    assert converter.convert(numeric, notes).to_pylist() == _row_by_row(metadata, numeric, notes)
    # Every row carrying its own unit: the items' units are not needed, the result is the same.
    with_units = [{**value, "@unit": value.get("@unit", "人")} for value in values]
    assert converter.convert(with_units, notes).to_pylist() == _row_by_row(metadata, with_units, notes)
