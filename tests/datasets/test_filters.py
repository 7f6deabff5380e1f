"""Filter resolution against metadata: names, codes, ambiguity, empty lists, >100 splits, lv*/From/To."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estat_aws_mcp.datasets.filters import (
    MAX_CODES_PER_PARAMETER,
    AxisSelection,
    FilterError,
    normalise_axis_key,
    parameter_name,
    resolve_filters,
)
from estat_aws_mcp.datasets.schema import AxisInfo, ClassItem, TableMetadata, table_metadata
from estat_aws_mcp.errors import InputError
from estat_aws_mcp.estat.normalize import normalize_meta_info, normalize_stats_data

CENSUS_META = "hermes__getMetaInfo_0003445078_census2020_area-trimmed__2026-10-02.json"  # 13
CPI_META = "hermes__getMetaInfo_0004052037_cpi2025_trimmed__2026-10-02.json"  # 15
MUNICIPAL_PAGE = "estat-api-dlt-helper__getStatsData_0000020202_limit10_NEXT_KEY__2025-07-16.json"  # 1


@pytest.fixture
def census(estat_fixtures_dir: Path) -> TableMetadata:
    document = json.loads((estat_fixtures_dir / CENSUS_META).read_text(encoding="utf-8"))
    return table_metadata("0003445078", normalize_meta_info(document))


def synthetic_table(codes: int) -> TableMetadata:
    """SYNTHETIC: an area axis with ``codes`` items and a cat01 axis with 250 items."""
    area = AxisInfo("area", "地域", [ClassItem(f"{i:05d}", f"地域{i}", "2") for i in range(codes)])
    cat = AxisInfo("cat01", "品目", [ClassItem(f"{i:04d}", f"品目{i}", "1") for i in range(250)])
    return TableMetadata("0000000001", axes=[cat, area])


def test_names_and_codes_mixed(census: TableMetadata) -> None:
    resolved = resolve_filters(census, {"area": ["東京都", "13000", "27000"], "time": ["2020年"]})
    assert resolved.code_lists == {"area": ["13000", "27000"], "time": ["2020000000"]}
    assert resolved.request_params() == [{"cdArea": "13000,27000", "cdTime": "2020000000"}]
    assert resolved.echo["area"] == {
        "requested": ["東京都", "13000", "27000"],
        "codes": ["13000", "27000"],
        "names": ["東京都", "大阪府"],
    }


def test_names_are_normalised(census: TableMetadata) -> None:
    # full-width digits / surrounding spaces: NFKC + trim
    resolved = resolve_filters(census, {"time": ["２０２０年 "], "cat01": [" 男"]})
    assert resolved.code_lists == {"time": ["2020000000"], "cat01": ["1"]}


def test_ambiguous_name_reports_candidates(census: TableMetadata) -> None:
    with pytest.raises(FilterError) as caught:
        resolve_filters(census, {"area": ["府中市"]})
    (problem,) = caught.value.problems
    assert problem["kind"] == "ambiguous"
    assert problem["candidates"] == [
        {"code": "13206", "name": "府中市", "level": "4", "parent_code": "13000", "parent_name": "東京都"},
        {"code": "34208", "name": "府中市", "level": "4", "parent_code": "34000", "parent_name": "広島県"},
    ]
    message = str(caught.value)
    assert "ambiguous" in message and "13206" in message and "広島県" in message
    # The code resolves it.
    assert resolve_filters(census, {"area": ["34208"]}).code_lists == {"area": ["34208"]}


def test_unknown_name_suggests_near_names_and_all_problems_at_once(census: TableMetadata) -> None:
    with pytest.raises(FilterError) as caught:
        resolve_filters(census, {"area": ["東京", "府中市"], "cat01": ["男性"]})
    kinds = [(p["axis"], p["kind"]) for p in caught.value.problems]
    assert kinds == [("area", "unknown"), ("area", "ambiguous"), ("cat01", "unknown")]
    assert "東京都" in caught.value.problems[0]["suggestions"]


@pytest.mark.parametrize(
    ("filters", "fragment"),
    [
        ({"area": []}, "empty list"),
        ({"area": {"values": []}}, "empty list"),
        ({"area": [""]}, "empty value"),
        ({"area": {}}, "is empty"),
        ({"prefecture": ["東京都"]}, "not an e-Stat axis"),
        ({"cat02": ["1"]}, "not an axis of this table"),
        ({"area": {"values": ["13000"], "level": "2"}}, "either"),
        ({"area": {"level": "two"}}, "level"),
        ({"area": {"from": " "}}, "'from' is empty"),
        ({"area": {"colour": "red"}}, "not valid"),
        ({"area": ["13000"], "cdArea": ["13000"]}, "twice"),
        ({"area": 13000}, "must be a list"),
    ],
)
def test_bad_filters_are_refused_clearly(census: TableMetadata, filters: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        resolve_filters(census, filters)


def test_no_filters_means_no_parameters(census: TableMetadata) -> None:
    for filters in (None, {}):
        resolved = resolve_filters(census, filters)
        assert resolved.is_empty and resolved.request_params() == [{}]


def test_more_than_100_codes_are_split_without_overlap() -> None:
    metadata = synthetic_table(codes=250)
    codes = [f"{i:05d}" for i in range(250)]
    resolved = resolve_filters(metadata, {"area": [*codes, codes[0], "地域3"]})  # duplicates collapse
    requests = resolved.request_params()
    assert len(requests) == 3
    chunks = [r["cdArea"].split(",") for r in requests]
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert [code for chunk in chunks for code in chunk] == codes  # each code exactly once, order kept
    assert all(len(c) <= MAX_CODES_PER_PARAMETER for c in chunks)


def test_two_long_lists_split_as_a_cross_product() -> None:
    metadata = synthetic_table(codes=150)
    resolved = resolve_filters(
        metadata, {"area": [f"{i:05d}" for i in range(150)], "cat01": [f"{i:04d}" for i in range(201)]}
    )
    requests = resolved.request_params()
    assert len(requests) == 2 * 3
    pairs = {(a, c) for r in requests for a in r["cdArea"].split(",") for c in r["cdCat01"].split(",")}
    assert len(pairs) == 150 * 201  # every combination exactly once


def test_too_many_split_requests_are_refused() -> None:
    area = AxisInfo("area", "地域", [ClassItem(f"{i:05d}", f"地域{i}") for i in range(2600)])
    cat = AxisInfo("cat01", "品目", [ClassItem(f"{i:04d}", f"品目{i}") for i in range(2600)])
    metadata = TableMetadata("1", axes=[cat, area])
    every = {"area": [i.code for i in area.items], "cat01": [i.code for i in cat.items]}
    with pytest.raises(InputError, match="level or a from/to range"):
        resolve_filters(metadata, every)


def test_level_and_range(census: TableMetadata) -> None:
    resolved = resolve_filters(census, {"area": {"level": 2, "from": "北海道", "to": "27000"}})
    assert resolved.fixed_params == {"cdAreaFrom": "01000", "cdAreaTo": "27000", "lvArea": "2"}
    assert resolved.request_params() == [{"cdAreaFrom": "01000", "cdAreaTo": "27000", "lvArea": "2"}]
    assert resolved.echo["area"]["from"] == {"code": "01000", "name": "北海道"}
    for level in ("1-3", "-3", "2-"):
        assert resolve_filters(census, {"area": AxisSelection(level=level)}).fixed_params == {"lvArea": level}


def test_range_combines_with_code_lists_of_other_axes(estat_fixtures_dir: Path) -> None:
    document = json.loads((estat_fixtures_dir / CPI_META).read_text(encoding="utf-8"))
    cpi = table_metadata("0004052037", normalize_meta_info(document))
    resolved = resolve_filters(cpi, {"time": {"from": "2025年9月"}, "area": ["全国"]})
    assert resolved.request_params() == [{"cdTimeFrom": "2025000909", "cdArea": "00000"}]


def test_last_segment_of_path_names(estat_fixtures_dir: Path) -> None:
    """#1 writes municipal names as paths ("北海道 札幌市 中央区"): the last segment finds them."""
    document = json.loads((estat_fixtures_dir / MUNICIPAL_PAGE).read_text(encoding="utf-8"))
    metadata = table_metadata("0000020202", normalize_stats_data(document))
    resolved = resolve_filters(metadata, {"area": ["北海道 札幌市 中央区", "札幌市 中央区", "豊平区"]})
    assert resolved.code_lists == {"area": ["01101", "01105"]}
    # "中央区" exists in eleven cities: reported with every candidate and its parent, never guessed.
    with pytest.raises(FilterError) as caught:
        resolve_filters(metadata, {"area": ["中央区"]})
    candidates = caught.value.problems[0]["candidates"]
    assert len(candidates) == 11
    assert {"code": "13102", "name": "東京都 中央区", "level": "3", "parent_code": "13100"}.items() <= candidates[
        3
    ].items()


@pytest.mark.parametrize(
    ("key", "axis"), [("area", "area"), ("Area", "area"), ("cdArea", "area"), ("cat1", "cat01"), ("cat01", "cat01")]
)
def test_axis_key_spellings(key: str, axis: str) -> None:
    assert normalise_axis_key(key) == axis


def test_parameter_names() -> None:
    assert parameter_name("cd", "cat01") == "cdCat01"
    assert parameter_name("lv", "area") == "lvArea"
    assert parameter_name("cd", "time", "From") == "cdTimeFrom"
