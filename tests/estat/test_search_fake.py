"""search_estat against the fake e-Stat server (real HTTP, real client, catalog from the recordings).

Expected hit counts are computed here from the fake's catalog with a matcher written for the test
(NFKC + casefold substring AND over the searchable TABLE_INF fields, one hit per catalog row), not
with the fake's own matching code.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from estat_aws_mcp.estat.client import EstatClient
from estat_aws_mcp.estat.search import MAX_PAGES, PAGE_SIZE, TOO_MANY_HITS, search_estat
from estat_aws_mcp.estat.search_models import SearchFilters, SearchResult
from estat_aws_mcp.estat.suggest import apply_substitutions
from tests.estat.conftest import TEST_APP_ID
from tests.fakes.fake_estat import FakeEstat, FakeResponse, synthetic_table_inf

pytestmark = pytest.mark.anyio

SEARCHABLE = ("STAT_NAME", "GOV_ORG", "STATISTICS_NAME", "TITLE", "MAIN_CATEGORY", "SUB_CATEGORY")
SEARCHABLE_SPECS = ("STATISTICS_NAME_SPEC", "TITLE_SPEC", "DESCRIPTION")
AREA_NAMES = {"1": "全国", "2": "都道府県", "3": "市区町村"}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _entry_text(table_inf: dict[str, Any]) -> str:
    texts = []
    for key in SEARCHABLE:
        node = table_inf.get(key)
        texts.append(str(node.get("$", "")) if isinstance(node, dict) else str(node or ""))
    for key in SEARCHABLE_SPECS:
        node = table_inf.get(key)
        if isinstance(node, dict):
            texts.extend(str(v) for v in node.values())
    return _fold(" ".join(texts))


def expected_hits(fake: FakeEstat, search_word: str, filters: SearchFilters) -> int:
    """Catalog rows matching ``search_word`` (AND of terms; ``A OR B`` alternatives) and the filters."""
    alternatives = [[t for t in part.split() if t != "and"] for part in _fold(search_word).split(" or ")]
    count = 0
    for entry in fake.catalog:
        info = entry.table_inf
        text = _entry_text(info)
        if search_word and not any(all(term in text for term in terms) for terms in alternatives):
            continue
        if filters.stats_code and info["STAT_NAME"]["@code"] != filters.stats_code:
            continue
        if filters.collect_area and info.get("COLLECT_AREA") != AREA_NAMES[filters.collect_area]:
            continue
        if filters.stats_field and info["MAIN_CATEGORY"]["@code"] != filters.stats_field[:2]:
            continue
        if filters.survey_years:
            year = str(info.get("SURVEY_DATE") or "")
            if not year or not year.split("-")[-1].startswith(filters.survey_years[:4]):
                continue
        count += 1
    return count


@pytest.fixture
async def client(fake_estat: FakeEstat) -> AsyncIterator[EstatClient]:
    async with EstatClient(app_id=TEST_APP_ID, base_url=fake_estat.base_url) as estat:
        yield estat


def _list_requests(fake: FakeEstat) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.endpoint == "getStatsList"]


def assert_counts_are_real(fake: FakeEstat, result: SearchResult) -> None:
    for suggestion in result.suggestions:
        assert suggestion.hit_count == expected_hits(fake, suggestion.search_word, suggestion.filters), suggestion


# ---------------------------------------------------------------------------------------------


async def test_results_merge_rows_of_one_table(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "男女別人口", max_results=10)
    assert result.total_hits == expected_hits(fake_estat, "男女別人口", SearchFilters()) == 6
    ids = [r.stats_data_id for r in result.results]
    assert len(ids) == len(set(ids)) == 4  # 6 rows, 4 tables: 0003433219 is listed once per area
    census = next(r for r in result.results if r.stats_data_id == "0003433219")
    assert sorted(census.collect_areas) == ["全国", "市区町村", "都道府県"]
    assert census.url == "https://www.e-stat.go.jp/dbview?sid=0003433219"
    assert result.hit_status == "ok" and result.suggestions == []
    assert result.credit.startswith("このサービスは、政府統計総合窓口(e-Stat)のAPI機能を使用")


async def test_japanese_query_without_spaces(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "令和2年国勢調査の男女別人口を知りたい")
    # 令和２年国勢調査 is how the release is named (NFKC makes ２ and 2 equal); を知りたい is dropped
    assert result.keywords == ["令和2年国勢調査", "男女別人口"]
    assert result.search_word == "令和2年国勢調査 AND 男女別人口"
    assert result.total_hits == expected_hits(fake_estat, result.search_word, SearchFilters()) > 0
    assert result.results[0].stats_data_id == "0003433219"  # the title is exactly 男女別人口－…
    assert _list_requests(fake_estat)[0]["searchWord"] == "令和2年国勢調査 AND 男女別人口"


async def test_year_words_become_the_survey_years_filter(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "2020年の男女別人口")
    assert (result.search_word, result.filters.survey_years) == ("男女別人口", "2020")
    assert result.total_hits == expected_hits(fake_estat, "男女別人口", SearchFilters(survey_years="2020")) > 0
    sent = _list_requests(fake_estat)[0]
    assert (sent["searchWord"], sent["surveyYears"]) == ("男女別人口", "2020")


async def test_full_width_query_is_normalised(client: EstatClient) -> None:
    half = await search_estat(client, "消費者物価指数 2020年基準")
    full = await search_estat(client, "消費者物価指数　２０２０年基準")
    assert full.search_word == half.search_word
    assert [r.stats_data_id for r in full.results] == [r.stats_data_id for r in half.results] != []


async def test_compound_with_no_hits_is_split_and_results_are_returned(
    fake_estat: FakeEstat, client: EstatClient
) -> None:
    # The title says "都道府県別 出生数" (with a space): the compound has no hit, its parts do.
    assert expected_hits(fake_estat, "都道府県別出生数", SearchFilters()) == 0
    result = await search_estat(client, "都道府県別出生数", auto_suggest=False)
    assert result.search_word == "都道府県別 AND 出生数"
    assert result.total_hits == expected_hits(fake_estat, result.search_word, SearchFilters()) > 0
    assert result.results[0].stats_data_id == "0009900010"
    assert any("split" in note for note in result.notes)


async def test_a_year_at_the_head_of_a_compound_becomes_a_filter_when_split(
    fake_estat: FakeEstat, client: EstatClient
) -> None:
    # Titles say 令和２年国勢調査, not 2020年国勢調査.
    result = await search_estat(client, "2020年国勢調査の男女別人口", auto_suggest=False)
    assert result.filters.survey_years == "2020"
    assert result.search_word == "国勢調査 AND 男女別 AND 人口"
    assert result.total_hits == expected_hits(fake_estat, result.search_word, result.filters) > 0
    assert "0003433219" in [r.stats_data_id for r in result.results]


async def test_zero_hits_give_synonym_suggestions_with_real_counts(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "給料の平均")
    assert result.total_hits == 0 and result.hit_status == "none"
    assert result.suggestions, "a zero-hit search must suggest something"
    assert_counts_are_real(fake_estat, result)
    first = result.suggestions[0]
    assert first.kind == "synonym" and first.query == "賃金" and first.hit_count > 0
    # ...and does not dead-end: the first suggestion with hits is searched and its tables are shown
    assert result.showing == first and 0 < len(result.results) <= first.hit_count
    assert any("showing the" in note for note in result.notes)
    assert ("給料", "賃金") in [(s.original, s.replacement) for s in first.substitutions]
    # the suggestion's substitutions, applied to the original query, give the counted search
    rewritten = apply_substitutions("給料の平均", first.substitutions).rewritten
    again = await search_estat(client, rewritten)
    assert again.search_word == first.search_word and again.total_hits == first.hit_count
    # count probes are cheap: limit=1
    probes = [p for p in _list_requests(fake_estat) if p.get("limit") == "1"]
    assert len(probes) >= len(result.suggestions)


async def test_zero_hits_give_relaxations_with_real_counts(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "東京都の人口推移")
    assert result.total_hits == 0
    kinds = {s.kind for s in result.suggestions}
    assert "relaxation" in kinds
    assert all(s.hit_count > 0 for s in result.suggestions)
    assert_counts_are_real(fake_estat, result)


async def test_filter_relaxation(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "男女別人口", SearchFilters(survey_years="1999"))
    assert result.total_hits == 0
    dropped = [s for s in result.suggestions if s.kind == "relaxation" and s.filters.survey_years is None]
    assert dropped and dropped[0].hit_count == expected_hits(fake_estat, "男女別人口", SearchFilters()) == 6
    assert_counts_are_real(fake_estat, result)


async def test_too_many_hits_give_refinements_that_narrow(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "人口", too_many_hits=5)
    total = expected_hits(fake_estat, "人口", SearchFilters())
    assert result.total_hits == total > 5
    assert result.hit_status == "too_many"
    assert result.results, "results are returned together with the suggestions"
    assert result.suggestions and {s.kind for s in result.suggestions} == {"refinement"}
    assert all(0 < s.hit_count < total for s in result.suggestions)
    assert_counts_are_real(fake_estat, result)
    by_code = [s for s in result.suggestions if s.filters.stats_code == "00200521"]
    assert by_code and by_code[0].query == "人口"


async def test_no_suggestions_when_auto_suggest_is_off(client: EstatClient) -> None:
    result = await search_estat(client, "給料の平均", auto_suggest=False)
    assert result.suggestions == []


async def test_filters_are_sent(fake_estat: FakeEstat, client: EstatClient) -> None:
    filters = SearchFilters(stats_code="00200521", collect_area="2", survey_years="2020", stats_field="02")
    result = await search_estat(client, "男女別人口", filters)
    assert [r.stats_data_id for r in result.results] == ["0003433219"]
    assert result.total_hits == expected_hits(fake_estat, "男女別人口", filters) == 1
    sent = _list_requests(fake_estat)[0]
    assert (sent["statsCode"], sent["collectArea"], sent["surveyYears"], sent["statsField"]) == (
        "00200521", "2", "2020", "02",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A crowded catalog: paging is bounded, merging works across pages, too many hits by default.
# A fake of its own, so that the 600 SYNTHETIC rows never reach other tests' searches.


@pytest.fixture(scope="module")
def crowded_fake(estat_fixtures_dir) -> Iterator[FakeEstat]:
    """200 SYNTHETIC tables, each listed under three collection areas (600 rows)."""
    with FakeEstat(app_id=TEST_APP_ID, fixtures_dir=estat_fixtures_dir) as fake:
        for number in range(200):
            for area in ("全国", "都道府県", "市区町村"):
                fake.add_catalog_entry(
                    synthetic_table_inf(
                        f"00098{number:05d}",
                        ("00999001", "合成試験統計"),
                        ("00999", "試験省"),
                        "合成試験統計 試験集計",
                        f"試験項目{number}別 合成指標",
                        survey_date=2000 + number % 25,
                        collect_area=area,
                    ),
                    source="synthetic",
                )
        yield fake


@pytest.fixture
async def crowded_client(crowded_fake: FakeEstat) -> AsyncIterator[EstatClient]:
    crowded_fake.reset_log()
    async with EstatClient(app_id=TEST_APP_ID, base_url=crowded_fake.base_url) as estat:
        yield estat


async def test_paging_is_bounded_and_merges_across_pages(crowded_fake: FakeEstat, crowded_client: EstatClient) -> None:
    result = await search_estat(crowded_client, "合成指標", max_results=50)
    assert result.total_hits == expected_hits(crowded_fake, "合成指標", SearchFilters()) == 600 > TOO_MANY_HITS
    assert result.hit_status == "too_many"
    fetches = [p for p in _list_requests(crowded_fake) if p.get("limit") == str(PAGE_SIZE)]
    assert [p["startPosition"] for p in fetches] == ["1", "101", "201"][:MAX_PAGES]
    assert result.rows_fetched == PAGE_SIZE * MAX_PAGES
    assert result.tables_ranked == PAGE_SIZE  # 300 rows, 3 per table
    assert len(result.results) == 50
    assert all(len(r.collect_areas) == 3 for r in result.results)
    assert result.more_available
    # the most recent surveys rank first among equally matching tables
    years = [int(r.survey_date) for r in result.results]
    assert years == sorted(years, reverse=True)
    # too many hits by default: refinements with real counts (here: the survey year)
    assert result.suggestions and all(s.kind == "refinement" for s in result.suggestions)
    assert_counts_are_real(crowded_fake, result)


async def test_paging_stops_once_the_pool_is_big_enough(crowded_fake: FakeEstat, crowded_client: EstatClient) -> None:
    await search_estat(crowded_client, "合成指標", max_results=5, auto_suggest=False)
    fetches = [p for p in _list_requests(crowded_fake) if p.get("limit") == str(PAGE_SIZE)]
    assert len(fetches) == 1  # 100 rows hold 34 tables: enough to rank the best 5


async def test_suggestion_counts_stay_within_the_concurrency_bound(fake_estat: FakeEstat, client: EstatClient) -> None:
    fake_estat.set_latency(0.02)
    # The suggestions' counts (limit=1 probes) wait for each other: concurrency shows however loaded the machine.
    fake_estat.hold_until_in_flight(2, when=lambda request: request.params.get("limit") == "1")
    result = await search_estat(client, "人口", too_many_hits=5)
    assert result.suggestions
    assert 1 < fake_estat.max_in_flight <= client.limiter.limit


async def test_explicit_operators_are_kept_when_a_filter_is_relaxed(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "賃金 OR 給与", SearchFilters(survey_years="1990"))
    assert result.search_word == "賃金 OR 給与" and result.total_hits == 0
    relaxed = [s for s in result.suggestions if s.filters.survey_years is None]
    assert relaxed and relaxed[0].query == "賃金 OR 給与" and relaxed[0].search_word == "賃金 OR 給与"
    assert_counts_are_real(fake_estat, result)


async def test_a_partial_result_is_shown_and_noted(fake_estat: FakeEstat, client: EstatClient) -> None:
    """STATUS 2 (partial success) is documented, not recorded: this body is SYNTHETIC."""
    table = synthetic_table_inf("0009900777", ("00200521", "国勢調査"), ("00200", "総務省"), "国勢調査", "部分結果の表")
    body = {
        "GET_STATS_LIST": {
            "RESULT": {
                "STATUS": 2,
                "ERROR_MSG": "正常に終了しましたが、一部にエラーがあります。",
                "DATE": "2026-11-01",
            },
            "DATALIST_INF": {"NUMBER": 1, "RESULT_INF": {"FROM_NUMBER": 1, "TO_NUMBER": 1}, "TABLE_INF": table},
        }
    }
    fake_estat.before_response(
        lambda request: (
            FakeResponse(200, json.dumps(body, ensure_ascii=False).encode())
            if request.endpoint == "getStatsList"
            else None
        )
    )
    result = await search_estat(client, "部分結果")
    assert [r.stats_data_id for r in result.results] == ["0009900777"]
    assert any("partial result (STATUS 2)" in note and "一部にエラー" in note for note in result.notes)


async def test_relaxations_keep_the_main_concept_first(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "東京の消費者物価指数の推移")
    assert result.total_hits == 0
    first = result.suggestions[0]
    assert (first.kind, first.query) == ("relaxation", "消費者物価指数")
    assert first.hit_count == expected_hits(fake_estat, "消費者物価指数", SearchFilters()) > 0
    assert_counts_are_real(fake_estat, result)


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("平均給料を知りたい", "賃金"),  # a synonym INSIDE a compound, its weak part (平均) dropped
        ("給料", "賃金"),
        ("人口推移", "人口"),  # a weak part of a compound dropped automatically
    ],
)
async def test_searches_that_used_to_dead_end_show_results(
    fake_estat: FakeEstat, client: EstatClient, query: str, shown: str
) -> None:
    result = await search_estat(client, query)
    assert result.total_hits == 0 and result.hit_status == "none"
    assert result.showing is not None and result.showing.query == shown
    assert result.showing.hit_count == expected_hits(fake_estat, shown, SearchFilters()) > 0
    assert 0 < len(result.results) <= result.showing.hit_count  # hits are rows: a table per collection area
    assert all(s.hit_count > 0 for s in result.suggestions)
    assert_counts_are_real(fake_estat, result)


async def test_compound_synonyms_are_counted_in_their_split_form(fake_estat: FakeEstat, client: EstatClient) -> None:
    result = await search_estat(client, "平均給料")
    counted = {p["searchWord"] for p in _list_requests(fake_estat) if p.get("limit") == "1"}
    assert {"平均 AND 賃金", "賃金", "平均 AND 給与", "給与"} <= counted  # synonyms applied inside the compound
    assert "平均" not in counted  # a weak word is never searched alone
    assert result.showing is not None and result.showing.substitutions[0].original == "給料"


async def test_english_search_sends_lang_and_returns_english_titles(fake_estat: FakeEstat, client: EstatClient) -> None:
    # SYNTHETIC English: no lang=E response was ever recorded (see PROVENANCE.md).
    from tests.fakes.fake_estat import Axis

    fake_estat.add_generated_table(
        "0009300001",
        [Axis.areas(2), Axis.years(2020, 2020)],
        title="合成人口表（SYNTHETIC）",
        title_en="Synthetic population table (SYNTHETIC)",
    )
    english = await search_estat(client, "synthetic population", lang="E")
    assert [r.title for r in english.results if r.stats_data_id == "0009300001"] == [
        "Synthetic population table (SYNTHETIC)"
    ]
    assert all(p.get("lang") == "E" for p in _list_requests(fake_estat))
    japanese = await search_estat(client, "合成人口表")
    assert [r.title for r in japanese.results if r.stats_data_id == "0009300001"] == ["合成人口表（SYNTHETIC）"]
    from estat_aws_mcp.errors import InputError

    with pytest.raises(InputError):
        await search_estat(client, "人口", lang="X")
