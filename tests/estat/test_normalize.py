"""Every quirk of the recorded responses (tests/fixtures/estat, see PROVENANCE.md), normalised."""

from __future__ import annotations

import json
from typing import Any

import pytest

from estat_aws_mcp.estat.normalize import (
    class_lookup,
    iter_value_rows,
    label_codes,
    normalize_data_catalog,
    normalize_meta_info,
    normalize_stats_data,
    normalize_stats_list,
    notes_map,
    parse_value,
    split_values,
    value_axis_ids,
    value_columns,
)
from tests.conftest import ESTAT_FIXTURES, estat_fixture

JSON_FIXTURES = sorted(path.name for path in ESTAT_FIXTURES.glob("*.json"))


def load(name: str) -> Any:
    document = json.loads(estat_fixture(name).read_text(encoding="utf-8"))
    if "GET_STATS_DATA" not in document and "VALUE" in document:  # #14, #16 kept only DATA_INF
        document = {
            "GET_STATS_DATA": {"RESULT": {"STATUS": 0, "ERROR_MSG": ""}, "STATISTICAL_DATA": {"DATA_INF": document}}
        }
    return document


def find(fragment: str) -> str:
    names = [name for name in JSON_FIXTURES if fragment in name]
    if len(names) != 1:
        pytest.fail(f"expected one recorded fixture matching {fragment!r} in {ESTAT_FIXTURES}, found {names}")
    return names[0]


def normalize(name: str) -> dict[str, Any]:
    document = load(name)
    if "getStatsList" in name:
        return normalize_stats_list(document)
    if "getMetaInfo" in name:
        return normalize_meta_info(document)
    if "getDataCatalog" in name:
        return normalize_data_catalog(document)
    return normalize_stats_data(document)


def test_the_corpus_is_there() -> None:
    assert len(JSON_FIXTURES) >= 18


@pytest.mark.parametrize("name", JSON_FIXTURES)
def test_shapes_are_uniform_for_every_recording(name: str) -> None:
    result = normalize(name)
    assert isinstance(result["status"], int)
    assert isinstance(result["error_msg"], str)
    assert isinstance(result["parameter"], dict)
    assert result["partial"] is (result["status"] == 2)
    tables = result.get("tables", []) + ([result["table"]] if result.get("table") else [])
    for table in tables:
        assert len(table["stats_data_id"]) == 10 and table["stats_data_id"].isdigit()
        assert table["survey_date"] is None or isinstance(table["survey_date"], str)
        assert table["description"] is None or isinstance(table["description"], (dict, str))
        assert table["description"] != ""
        assert isinstance(table["statistics_name_spec"], dict) and isinstance(table["title_spec"], dict)
        assert table["title"] and table["stat_name"] and table["gov_org"]
    for axis in result.get("classes", []):
        assert axis["id"] and isinstance(axis["items"], list) and axis["items"]
        for item in axis["items"]:
            assert isinstance(item["code"], str) and isinstance(item["name"], str)
            assert item["level"] is None or item["level"].isdigit()
    if "values" in result:
        assert isinstance(result["values"], list)
        assert all(isinstance(row, dict) and "$" in row for row in result["values"])
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in result["notes"].items())
    for dataset in result.get("datasets", []):
        assert isinstance(dataset["resources"], list) and dataset["resources"]


@pytest.mark.parametrize("name", [n for n in JSON_FIXTURES if "getStatsList" in n])
def test_table_counts_match_the_raw_elements(name: str) -> None:
    raw = load(name)["GET_STATS_LIST"].get("DATALIST_INF", {})
    table_inf = raw.get("TABLE_INF", [])
    expected = len(table_inf) if isinstance(table_inf, list) else 1
    assert len(normalize(name)["tables"]) == expected


def test_single_table_inf_dict_becomes_a_list() -> None:  # #17
    result = normalize(find("single-TABLE_INF"))
    assert [t["stats_data_id"] for t in result["tables"]] == ["0000010101"]
    assert result["tables"][0]["description"] == {
        "TABULATION_CATEGORY_EXPLANATION": "社会・人口統計体系の都道府県ごとに集計したデータを提供します。"
    }


def test_empty_description_becomes_none() -> None:  # #18
    result = normalize(find("list-TABLE_INF__EDITED"))
    assert [t["description"] for t in result["tables"]] == [None, None]
    assert result["next_key"] == 3


def test_mixed_survey_date_types_and_duplicate_ids_per_collect_area() -> None:  # #12
    result = normalize(find("danjobetsu"))
    assert [t["survey_date"] for t in result["tables"]] == ["202010", "202010", "202010", "202001-202012"]
    assert [t["collect_area"] for t in result["tables"]] == ["全国", "市区町村", "都道府県", "該当なし"]
    assert (result["number"], result["to_number"], result["next_key"]) == (55, 40, 41)
    assert result["parameter"]["SURVEY_YEARS"] == 2020


def test_api2_search_result() -> None:  # #2: no COLLECT_AREA in 2.x
    result = normalize(find("searchWord-CD"))
    assert (result["number"], result["next_key"]) == (958, 4)
    assert result["tables"][0]["collect_area"] is None
    assert result["tables"][0]["survey_date"] == "201110"
    assert result["tables"][0]["main_category"] == "教育・文化・スポーツ・生活"


def test_stats_name_list_shape() -> None:  # #11
    result = normalize(find("statsNameList-Y"))
    assert result["tables"] == []
    assert [n["stats_code"] for n in result["stat_names"]] == ["00200502", "00200521", "00200524", "00200531"]


def test_status_1_no_data_and_count_only_search() -> None:  # #21, #22
    no_data = normalize(find("STATUS1-no-data"))
    assert (no_data["status"], no_data["number"], no_data["tables"]) == (1, 0, [])
    count = normalize(find("statsField-02_limit1_count"))
    assert (count["status"], count["number"], count["tables"]) == (0, 19416, [])


def test_status_100_envelope_is_read_not_raised() -> None:  # #24 (the client raises, not normalize)
    result = normalize(find("STATUS100"))
    assert result["status"] == 100 and "認証に失敗" in result["error_msg"]


def test_meta_info_single_time_class_and_no_tab_axis() -> None:  # #3
    result = normalize(find("getMetaInfo_0003065345__api2.x_2016-07-30"))
    axes = {axis["id"]: axis for axis in result["classes"]}
    assert list(axes) == ["cat01", "cat02", "cat03", "area", "time"]
    assert [len(axes[a]["items"]) for a in axes] == [72, 3, 57, 78, 1]
    assert axes["time"]["items"][0] == {
        "code": "2011000000",
        "name": "2011年",
        "level": "1",
        "unit": None,
        "parent_code": None,
        "add_info": None,
    }
    assert axes["cat01"]["items"][1]["unit"] == "千人"
    assert axes["cat02"]["items"][1]["parent_code"] == "001"


def test_axis_explanation_is_read_from_class_obj_description() -> None:  # #15 + SYNTHETIC attribute
    """e-Stat 3.0 sends an axis's explanation as CLASS_OBJ/@description (issue 15 item 18). No recording
    here was made with explanationGetFlg=Y, so the attribute is added (SYNTHETIC) to recording #15."""
    document = load(find("getMetaInfo_0004052037"))
    objects = document["GET_META_INFO"]["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"]
    assert all("@description" not in obj and "EXPLANATION" not in obj for obj in objects)
    objects[0]["@description"] = "表章項目の説明 (SYNTHETIC)"
    objects[1]["EXPLANATION"] = "not an e-Stat 3.0 field"
    axes = normalize_meta_info(document)["classes"]
    assert axes[0]["explanation"] == "表章項目の説明 (SYNTHETIC)"
    assert [axis["explanation"] for axis in axes[1:]] == [None] * (len(axes) - 1)


def test_meta_info_parent_codes_outside_the_list() -> None:  # #15
    result = normalize(find("getMetaInfo_0004052037"))
    axes = {axis["id"]: axis for axis in result["classes"]}
    assert [item["unit"] for item in axes["tab"]["items"]] == [None, "%", "%"]
    months = [item for item in axes["time"]["items"] if item["level"] == "4"]
    assert months and all(item["parent_code"] for item in months)
    codes = {item["code"] for item in axes["time"]["items"]}
    assert any(item["parent_code"] not in codes for item in months)


def test_stats_data_page_with_next_key_and_single_tab_class() -> None:  # #1
    result = normalize(find("0000020202"))
    assert (result["total_number"], result["from_number"], result["to_number"], result["next_key"]) == (
        403227,
        1,
        10,
        11,
    )
    axes = {axis["id"]: axis for axis in result["classes"]}
    assert len(axes["tab"]["items"]) == 1 and len(axes["area"]["items"]) == 1913
    assert result["table"]["survey_date"] is None  # SURVEY_DATE 0
    assert isinstance(result["table"]["description"], dict) or result["table"]["description"] is None
    assert result["notes"] == {
        "***": "調査又は集計していないもの",
        "-": "データが得られないもの",
        "X": "数値が秘匿されているもの",
    }
    assert len(result["values"]) == 10 and all(row["@unit"] == "ｈａ" for row in result["values"])


def test_count_only_response_with_empty_data_inf() -> None:  # #5
    result = normalize(find("cntGetFlgY"))
    assert result["total_number"] == 40014
    assert (result["from_number"], result["to_number"], result["next_key"]) == (None, None, None)
    assert result["values"] == [] and result["notes"] == {} and result["classes"] == []
    assert result["table"]["stats_data_id"] == "0003065345"
    assert result["parameter"]["NARROWING_COND"] == {"CODE_CAT01_SELECT": "008,009,010"}


def test_clock_times_declared_in_note_are_values_not_markers() -> None:  # #6
    result = normalize(find("limit3_metaN"))
    notes = result["notes"]
    assert notes["2:35"] == "時刻" and notes["-"] == "当該数値が皆無" and "..." in notes
    assert parse_value("2:35", notes) == (155.0, None)
    assert parse_value("-", notes) == (None, "-")
    assert parse_value("...", notes) == (None, "...")
    assert parse_value("***", notes) == (None, "***")
    assert parse_value("9782", notes) == (9782.0, None)
    assert parse_value("2:35", {}) == (None, "2:35")  # only a declared clock time is a value


def test_narrowed_class_inf_with_meta() -> None:  # #7
    result = normalize(find("limit3_metaY"))
    axes = {axis["id"]: axis for axis in result["classes"]}
    assert [item["code"] for item in axes["cat01"]["items"]] == ["008", "009", "010"]


def test_census_rows_and_shared_note_text() -> None:  # #13 + #14
    meta = normalize(find("getMetaInfo_0003445078"))
    data = normalize(find("getStatsData_0003445078"))
    assert data["notes"] == {"***": "当該数値がないもの", "-": "当該数値がないもの"}
    columns = value_columns(data["values"], value_axis_ids(data["values"], meta["classes"]))
    assert list(columns) == ["tab", "cat01", "area", "time", "unit", "value", "annotation"]
    assert len(columns["area"]) == 42 and set(columns["unit"]) == {"人"}
    lookup = class_lookup(meta["classes"])
    assert lookup["area"]["13206"]["name"] == lookup["area"]["34208"]["name"] == "府中市"
    area_axis = next(axis for axis in meta["classes"] if axis["id"] == "area")
    names = label_codes(columns["area"], area_axis)
    assert names[0] == "全国" and None not in names
    assert label_codes(["99999", None], area_axis) == [None, None]


def test_single_note_dict_missing_units_and_signed_decimals() -> None:  # #16
    data = normalize(find("getStatsData_0004052037"))
    assert data["notes"] == {"***": "該当データがない場合を示す。"}
    columns = value_columns(data["values"])
    units = dict(zip(columns["tab"], columns["unit"], strict=True))
    assert units["1"] is None and units["2"] == "%"
    numbers, markers = split_values(["-0.3", "-", "0.0", "102.5", "***", "", None], data["notes"])
    assert numbers == [-0.3, None, 0.0, 102.5, None, None, None]
    assert markers == [None, "-", None, None, "***", None, None]


def test_raw_wire_format_with_six_single_classes() -> None:  # #19
    result = normalize(find("java-springboot"))
    singles = [axis["id"] for axis in result["classes"] if len(axis["items"]) == 1]
    assert singles == ["cat01", "cat02", "cat03", "cat05", "cat06", "time"]
    assert result["notes"] == {"-": "計数のない場合"}
    assert result["next_key"] is None and result["total_number"] == 24 == len(result["values"])
    assert result["table"]["description"] is None
    rows = list(iter_value_rows(result["values"], result["notes"]))
    assert rows[0]["codes"] == {
        "tab": "33",
        "cat01": "01",
        "cat02": "01",
        "cat03": "02",
        "cat04": "02",
        "cat05": "01",
        "cat06": "02",
        "time": "2020000000",
    }
    assert rows[0]["unit"] == "歳" and rows[0]["number"] == 19.0 and rows[0]["marker"] is None


def test_data_catalog_single_and_list_resources() -> None:  # #8
    result = normalize(find("getDataCatalog"))
    assert (result["number"], result["next_key"], len(result["datasets"])) == (315, 101, 100)
    counts = {len(dataset["resources"]) for dataset in result["datasets"]}
    assert 1 in counts and max(counts) > 1
    assert result["datasets"][0]["survey_date"] == "1997"


def test_notes_map_tolerates_missing_and_empty() -> None:
    assert notes_map(None) == {} and notes_map("") == {}
    assert notes_map({"@char": "x", "$": "秘匿"}) == {"x": "秘匿"}
    assert notes_map([{"@char": "", "$": "?"}, {"$": "no char"}]) == {}


def test_value_helpers_are_fast_enough_for_100k_row_pages() -> None:
    # Behaviour at scale (not a timing assertion): 100,000 rows convert to aligned columns.
    rows = [
        {
            "@tab": "1",
            "@cat01": f"{i % 50:03d}",
            "@area": f"{i % 48:02d}000",
            "@time": "2020000000",
            "@unit": "人",
            "$": "-" if i % 1000 == 7 else str(i),
        }
        for i in range(100_000)
    ]
    columns = value_columns(rows)
    numbers, markers = split_values(columns["value"], {"-": "皆無"})
    assert len(numbers) == len(markers) == len(columns["area"]) == 100_000
    assert markers.count("-") == 100 and numbers[1] == 1.0
