"""Search core: validation, query plans, merging by table id, ranking, budget (estat/search.py).

Searches against the fake e-Stat server are in test_search_fake.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estat_aws_mcp.errors import InputError
from estat_aws_mcp.estat.normalize import normalize_stats_list
from estat_aws_mcp.estat.search import (
    MergedTable,
    build_plan,
    fit_to_budget,
    merge_tables,
    rank_tables,
    score_table,
    to_result,
    validate_collect_area,
    validate_filters,
    validate_max_results,
    validate_query,
    validate_stats_code,
    validate_stats_field,
    validate_survey_years,
)
from estat_aws_mcp.estat.search_models import SearchFilters, SearchResult
from estat_aws_mcp.limits import result_wire_bytes

# Recording #12 (PROVENANCE.md): table 0003433219 appears three times, once per COLLECT_AREA.
CENSUS_LIST = "hermes__getStatsList_searchWord-danjobetsu-jinko_statsCode-00200521_surveyYears-2020_limit40__TRUNCATED-4of40__2026-10-02.json"
# Recording #2: API 2.x rows without COLLECT_AREA.
CD_LIST = "estatapi_r__getStatsList_searchWord-CD_limit3__api2.x_2016-07-30.json"


def _tables(fixtures: Path, name: str) -> list[dict]:
    return normalize_stats_list(json.loads((fixtures / name).read_text(encoding="utf-8")))["tables"]


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2020", "2020"), (2020, "2020"), ("202010", "202010"), ("201501-202012", "201501-202012"),
     ("2015-2020", "201501-202012"), ("２０２０", "2020"), ("201501〜202012", "201501-202012"), (None, None), ("", None)],
)  # fmt: skip
def test_survey_years_accepted(value, expected) -> None:
    assert validate_survey_years(value) == expected


@pytest.mark.parametrize(
    ("value", "hint"),
    [("20", "yyyy"), ("2020年", "yyyy"), ("202013", "01-12"), ("202012-201501", "after"), ("last year", "yyyymm")],
)
def test_survey_years_rejected_with_the_format(value: str, hint: str) -> None:
    with pytest.raises(InputError, match="survey_years") as error:
        validate_survey_years(value)
    assert hint in str(error.value)


@pytest.mark.parametrize(
    ("value", "expected"), [("02", "02"), ("0201", "0201"), ("人口・世帯", "02"), ("労働・賃金", "03"), (None, None)]
)
def test_stats_field(value, expected) -> None:
    assert validate_stats_field(value) == expected


@pytest.mark.parametrize("value", ["2", "55", "020", "people"])
def test_stats_field_rejected_lists_the_fields(value: str) -> None:
    with pytest.raises(InputError, match="02 人口・世帯"):
        validate_stats_field(value)


@pytest.mark.parametrize(("value", "expected"), [("00200521", "00200521"), ("00200", "00200"), (None, None)])
def test_stats_code(value, expected) -> None:
    assert validate_stats_code(value) == expected


@pytest.mark.parametrize("value", ["200521", "0020052X", "国勢調査"])
def test_stats_code_rejected(value: str) -> None:
    with pytest.raises(InputError, match="8-digit"):
        validate_stats_code(value)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", "1"), (2, "2"), ("市区町村", "3"), ("全国", "1"), ("", None), (None, None)]
)
def test_collect_area(value, expected) -> None:
    assert validate_collect_area(value) == expected


def test_collect_area_rejected() -> None:
    with pytest.raises(InputError, match=r"1 \(全国\)"):
        validate_collect_area("4")


@pytest.mark.parametrize("query", ["", "   ", "　"])
def test_empty_query_rejected(query: str) -> None:
    with pytest.raises(InputError, match="query is empty"):
        validate_query(query)


def test_overlong_query_rejected() -> None:
    with pytest.raises(InputError, match="too long"):
        validate_query("人口" * 150)


@pytest.mark.parametrize("value", [0, -1, 101])
def test_max_results_bounds(value: int) -> None:
    with pytest.raises(InputError, match="between 1 and 100"):
        validate_max_results(value)


def test_filters_to_params() -> None:
    filters = validate_filters(survey_years="2020", stats_field="02", stats_code="00200521", collect_area="都道府県")
    assert filters.to_params() == {
        "surveyYears": "2020",
        "statsField": "02",
        "statsCode": "00200521",
        "collectArea": "2",
    }


# ---------------------------------------------------------------------------------------------
# Plans


@pytest.mark.parametrize(
    ("query", "filters", "search_word", "survey_years"),
    [
        ("東京都の人口推移", SearchFilters(), "東京都 AND 人口推移", None),
        ("令和2年の男女別人口", SearchFilters(), "男女別人口", "2020"),
        ("2015年から2020年の国勢調査", SearchFilters(), "国勢調査", "201501-202012"),
        # an explicit filter wins: the year stays a keyword
        ("2020年の国勢調査", SearchFilters(survey_years="2015"), "2020年 AND 国勢調査", "2015"),
        ("東京 OR 大阪", SearchFilters(), "東京 OR 大阪", None),
        # nothing but a year: search by the year filter alone
        ("2020年", SearchFilters(), "", "2020"),
    ],
)
def test_build_plan(query: str, filters: SearchFilters, search_word: str, survey_years) -> None:
    plan = build_plan(query, filters)
    assert plan.search_word == search_word
    assert plan.filters.survey_years == survey_years
    params = plan.params()
    assert params.get("searchWord", "") == search_word
    assert params.get("surveyYears") == survey_years


def test_plan_with_only_filler_words_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no subject"):
        build_plan("統計データを教えて", SearchFilters())


def test_plan_with_only_filler_words_but_a_filter_searches_by_filter() -> None:
    plan = build_plan("統計データ", SearchFilters(stats_code="00200521"))
    assert plan.params() == {"statsCode": "00200521"}


def test_split_plan_cuts_compounds() -> None:
    plan = build_plan("東京都の人口推移", SearchFilters())
    split = plan.split()
    assert split is not None and split.search_word == "東京都 AND 人口 AND 推移"
    assert build_plan("人口", SearchFilters()).split() is None


def test_split_plan_turns_a_leading_year_into_the_filter() -> None:
    split = build_plan("2020年国勢調査", SearchFilters()).split()
    assert split is not None
    assert (split.search_word, split.filters.survey_years) == ("国勢調査", "2020")
    # with a survey_years filter given, the year stays a word
    split = build_plan("2020年国勢調査", SearchFilters(survey_years="2015")).split()
    assert split is not None
    assert (split.search_word, split.filters.survey_years) == ("2020年 AND 国勢調査", "2015")


# ---------------------------------------------------------------------------------------------
# Merging (recording #12: one @id per COLLECT_AREA)


def test_rows_of_one_table_merge_into_one_result(estat_fixtures_dir: Path) -> None:
    rows = _tables(estat_fixtures_dir, CENSUS_LIST)
    assert [row["stats_data_id"] for row in rows] == ["0003433219"] * 3 + ["0003410379"]
    merged = merge_tables(rows)
    assert [(t.info["stats_data_id"], t.collect_areas) for t in merged] == [
        ("0003433219", ["全国", "市区町村", "都道府県"]),
        ("0003410379", ["該当なし"]),
    ]


def test_merge_keeps_the_latest_update_and_first_position() -> None:
    rows = [
        {"stats_data_id": "1", "collect_area": "全国", "updated_date": "2020-01-01"},
        {"stats_data_id": "2", "collect_area": "全国", "updated_date": "2020-01-01"},
        {"stats_data_id": "1", "collect_area": "都道府県", "updated_date": "2024-05-01"},
        {"stats_data_id": "1", "collect_area": "都道府県", "updated_date": "2021-01-01"},
    ]
    merged = merge_tables(rows)
    assert [(t.info["stats_data_id"], t.collect_areas, t.position) for t in merged] == [
        ("1", ["全国", "都道府県"], 0),
        ("2", ["全国"], 1),
    ]
    assert merged[0].info["updated_date"] == "2024-05-01"


def test_rows_without_collect_area(estat_fixtures_dir: Path) -> None:
    merged = merge_tables(_tables(estat_fixtures_dir, CD_LIST))
    assert len(merged) == 3 and all(t.collect_areas == [] for t in merged)


def test_result_fields(estat_fixtures_dir: Path) -> None:
    merged = merge_tables(_tables(estat_fixtures_dir, CENSUS_LIST))
    result = to_result(merged[0], score_table(merged[0], [("男女別人口", ("男女別", "人口"))], this_year=2026))
    assert result.stats_data_id == "0003433219"
    assert result.url == "https://www.e-stat.go.jp/dbview?sid=0003433219"
    assert result.title == "男女別人口－全国，都道府県，市区町村"
    assert result.survey_name == "国勢調査"
    assert result.stats_code == "00200521"
    assert result.organization == "総務省"
    assert (result.survey_date, result.open_date, result.updated_date) == ("202010", "2021-06-25", "2026-09-29")
    assert result.collect_areas == ["全国", "市区町村", "都道府県"]
    assert result.stats_field == "0201"
    assert result.matched_keywords == ["男女別人口"]


# ---------------------------------------------------------------------------------------------
# Ranking


def _table(
    position: int, title: str, survey_date: str = "202010", names: str = "", areas: int = 1, **info
) -> MergedTable:
    return MergedTable(
        {
            "stats_data_id": f"{position:010d}",
            "title": title,
            "statistics_name": names,
            "survey_date": survey_date,
            **info,
        },
        ["全国", "都道府県", "市区町村"][:areas],
        position,
    )


TERMS = [("男女別人口", ("男女別", "人口"))]


@pytest.mark.parametrize(
    ("better", "worse", "why"),
    [
        (_table(1, "男女別人口"), _table(0, "年齢別人口", names="男女別人口の調査"), "title match beats a name match"),
        (
            _table(1, "男女別人口"),
            _table(0, "都道府県別 男女別 年齢 人口 (年齢各歳)"),
            "whole compound beats its parts",
        ),
        (
            _table(1, "男女別人口－全国"),
            _table(0, "配偶関係,年齢,国籍別の男女別人口－全国,都道府県,市区町村"),
            "focused title",
        ),
        (_table(1, "男女別人口", survey_date="202010"), _table(0, "男女別人口", survey_date="200010"), "newer survey"),
        (_table(1, "男女別人口", areas=3), _table(0, "男女別人口", areas=1), "more collection areas"),
        (
            _table(1, "男女別人口", updated_date="2025-01-01"),
            _table(0, "男女別人口", updated_date="2020-01-01"),
            "tie: later update",
        ),
    ],
)
def test_ranking_prefers(better: MergedTable, worse: MergedTable, why: str) -> None:
    ranked = rank_tables([worse, better], TERMS, this_year=2026)
    assert ranked[0][0] is better, why


def test_ranking_ties_keep_estat_order() -> None:
    first, second = _table(0, "男女別人口"), _table(1, "男女別人口")
    assert [t for t, _ in rank_tables([second, first], TERMS, this_year=2026)] == [first, second]


def test_phrase_bonus_for_keywords_in_sequence() -> None:
    terms = [("東京都", ("東京都",)), ("人口", ("人口",))]
    together = score_table(_table(0, "東京都人口"), terms, this_year=2026)
    apart = score_table(_table(0, "人口 東京都"), terms, this_year=2026)
    assert together.total > apart.total


def test_recorded_census_tables_rank_the_exact_title_first(estat_fixtures_dir: Path) -> None:
    merged = merge_tables(_tables(estat_fixtures_dir, CENSUS_LIST))
    ranked = rank_tables(list(reversed(merged)), TERMS, this_year=2026)
    assert [t.info["stats_data_id"] for t, _ in ranked] == ["0003433219", "0003410379"]


# ---------------------------------------------------------------------------------------------
# Budget


def test_fit_to_budget_drops_results_from_the_end(estat_fixtures_dir: Path) -> None:
    merged = merge_tables(_tables(estat_fixtures_dir, CENSUS_LIST))
    results = [to_result(t, score_table(t, TERMS)) for t in merged] * 20
    response = SearchResult(
        query="q", search_word="q", keywords=["q"], filters=SearchFilters(), total_hits=40, hit_status="ok",
        results=results, tables_ranked=40, rows_fetched=40, more_available=False,
    )  # fmt: skip
    budget = result_wire_bytes(response) - 5 * (result_wire_bytes(response) // 40)
    trimmed = fit_to_budget(response, budget)
    assert result_wire_bytes(trimmed) <= budget
    assert 30 <= len(trimmed.results) < 40
    assert "cut" in trimmed.notes[-1]
    assert fit_to_budget(response) is response
