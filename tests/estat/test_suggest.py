"""The synonym dictionary, substitutions and suggestion candidates (estat/suggest.py)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from estat_aws_mcp.errors import InputError, UpstreamError
from estat_aws_mcp.estat.search_models import KeywordSubstitution, SearchFilters
from estat_aws_mcp.estat.suggest import (
    MAX_COUNTED_CANDIDATES,
    Candidate,
    CountedSearch,
    SynonymDictionary,
    apply_substitutions,
    coerce_substitutions,
    count_candidates,
    load_synonym_dictionary,
    refinement_candidates,
    relaxation_candidates,
    survey_year,
    synonym_candidates,
)
from estat_aws_mcp.estat.text import normalize_text

REQUIRED_FIELDS = {
    "population", "labour", "prices", "income", "households", "housing",
    "health", "education", "industry", "trade", "agriculture",
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The dictionary is data: check its shape and curation rules


def _raw_dictionary() -> dict:
    return json.loads(resources.files("estat_aws_mcp.estat").joinpath("synonyms.json").read_text(encoding="utf-8"))


def test_dictionary_has_a_version_and_enough_curated_entries() -> None:
    raw = _raw_dictionary()
    assert raw["version"]
    dictionary = load_synonym_dictionary()
    assert dictionary.version == raw["version"]
    assert len(dictionary.synonyms) >= 60
    assert {entry.field for entry in dictionary.synonyms} >= REQUIRED_FIELDS
    assert {entry.field for entry in dictionary.synonyms} <= set(raw["fields"])


def test_dictionary_entries_are_clean() -> None:
    raw = _raw_dictionary()
    words = [entry["word"] for entry in raw["synonyms"]]
    assert len(words) == len(set(words)), "duplicate everyday words"
    for entry in raw["synonyms"]:
        word = entry["word"]
        assert word == normalize_text(word), f"{word} is not NFKC-normalised"
        assert len(word) >= 2, f"{word}: one-character words match inside too many other words"
        assert entry["terms"], word
        assert word not in entry["terms"], f"{word} maps to itself"
        assert all(term == normalize_text(term) and term for term in entry["terms"])
    for entry in raw["refinements"]:
        assert entry["narrower"] and entry["term"] not in entry["narrower"]


@pytest.mark.parametrize(
    ("query", "word", "terms"),
    [
        ("給料の平均", "給料", ("賃金", "給与")),
        ("共働き世帯の収入", "収入", ("所得", "実収入")),
        ("人口の年齢別", "人口の年齢別", ("年齢別人口",)),
        ("お米の生産量", "お米", ("米", "水稲")),
        ("老人ホームの数", "老人ホーム", ("老人福祉施設", "介護施設")),  # longest word wins over 老人
    ],
)
def test_synonym_matches(query: str, word: str, terms: tuple) -> None:
    matches = load_synonym_dictionary().synonym_matches(query)
    assert [(m.word, m.replacements) for m in matches] == [(word, terms)]


def test_synonym_is_not_offered_where_the_official_term_already_stands() -> None:
    # 売上 → 売上高 would give 売上高高
    assert load_synonym_dictionary().synonym_matches("小売業の売上高") == []


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("デパートの売上", ["売上"]),  # パート(タイム) must not match inside デパート
        ("外国人の数", []),  # no generic 人の数 → 人口 (it would give 外国人口)
    ],
)
def test_no_false_matches_inside_other_words(query: str, words: list) -> None:
    assert [m.word for m in load_synonym_dictionary().synonym_matches(query)] == words


def test_words_match_only_on_morpheme_boundaries() -> None:
    document = {"version": "test", "synonyms": [{"word": "パート", "terms": ["短時間労働者"], "field": "labour"}]}
    dictionary = SynonymDictionary.from_document(document)
    assert dictionary.synonym_matches("デパートの売上") == []
    assert [m.word for m in dictionary.synonym_matches("パートの賃金")] == ["パート"]


def test_several_words_in_one_query() -> None:
    matches = load_synonym_dictionary().synonym_matches("給料と貯金")
    assert [m.word for m in matches] == ["給料", "貯金"]


# ---------------------------------------------------------------------------------------------
# Substitutions


@pytest.mark.parametrize(
    ("query", "accepted", "rewritten", "not_found"),
    [
        ("共働き世帯の収入", {"収入": "所得"}, "共働き世帯の所得", []),
        # substring-aware: the word is inside a compound, nothing is split on spaces
        ("平均給料月額", {"給料": "賃金"}, "平均賃金月額", []),
        ("東京都 給料 推移", {"給料": "賃金"}, "東京都 賃金 推移", []),
        # originals may contain spaces and full-width text (both sides NFKC-normalised)
        ("人口　推移", {"人口 推移": "人口推移"}, "人口推移", []),
        # every occurrence, in one pass: replaced text is not matched again
        ("収入と収入", {"収入": "所得"}, "所得と所得", []),
        ("所得", {"所得": "所得の収入", "収入": "X"}, "所得の収入", ["収入"]),
        # the longest original wins where two overlap
        ("老人ホーム", {"老人": "高齢者", "老人ホーム": "介護施設"}, "介護施設", ["老人"]),
        # an empty replacement removes the word
        ("人口のデータ", {"のデータ": ""}, "人口", []),
        ("人口", {"給料": "賃金"}, "人口", ["給料"]),
    ],
)
def test_apply_substitutions(query: str, accepted: dict, rewritten: str, not_found: list) -> None:
    outcome = apply_substitutions(query, coerce_substitutions(accepted))
    assert outcome.rewritten == rewritten
    assert outcome.not_found == not_found
    assert {s.original for s in outcome.applied} == {normalize_text(k) for k in accepted} - set(not_found)


def test_coerce_accepts_a_mapping_or_a_list_of_objects() -> None:
    as_list = coerce_substitutions(
        [{"original": "収入", "replacement": "所得"}, KeywordSubstitution(original="給料", replacement="賃金")]
    )
    assert as_list == coerce_substitutions({"収入": "所得", "給料": "賃金"})


def test_coerce_accepts_whole_suggestions() -> None:
    suggestion = {
        "kind": "synonym",
        "query": "賃金",
        "filters": {"survey_years": None},
        "substitutions": [{"original": "給料", "replacement": "賃金"}, {"original": "平均", "replacement": ""}],
        "search_word": "賃金",
        "hit_count": 4,
        "reason": "...",
    }
    assert coerce_substitutions([suggestion]) == coerce_substitutions({"給料": "賃金", "平均": ""})


def test_a_suggestion_that_only_changes_filters_cannot_be_applied() -> None:
    with pytest.raises(InputError, match="call search_estat_data with its query and filters"):
        coerce_substitutions([{"kind": "refinement", "query": "人口", "substitutions": []}])


@pytest.mark.parametrize(
    ("accepted", "message"),
    [
        ({}, "empty"),
        ([], "empty"),
        ([{"original": "収入", "replacement": "所得"}, {"original": "収入", "replacement": "年収"}], "both"),
    ],
)
def test_coerce_rejects_unclear_input(accepted, message: str) -> None:
    with pytest.raises(InputError, match=message):
        coerce_substitutions(accepted)


# ---------------------------------------------------------------------------------------------
# Candidates


def test_synonym_candidates_rewrite_the_query_and_carry_the_substitution() -> None:
    filters = SearchFilters(survey_years="2020")
    candidates = synonym_candidates("給料と貯金", ("給料", "貯金"), filters, load_synonym_dictionary())
    queries = [(c.query, [(s.original, s.replacement) for s in c.substitutions]) for c in candidates]
    assert queries == [
        ("賃金と貯金", [("給料", "賃金")]),
        ("給与と貯金", [("給料", "給与")]),
        ("給料と貯蓄", [("貯金", "貯蓄")]),
        ("給料と貯蓄現在高", [("貯金", "貯蓄現在高")]),
        ("賃金と貯蓄", [("給料", "賃金"), ("貯金", "貯蓄")]),  # every word at once
        ("賃金", [("給料", "賃金"), ("貯金", "")]),  # each official term on its own
        ("貯蓄", [("貯金", "貯蓄"), ("給料", "")]),
    ]
    assert all(c.kind == "synonym" and c.filters == filters for c in candidates)
    assert "賃金" in candidates[0].reason


def test_synonym_on_its_own_keeps_the_year_filter_taken_from_the_query() -> None:
    effective = SearchFilters(survey_years="2020")
    candidates = synonym_candidates(
        "2020年の給料の平均", ("給料", "平均"), SearchFilters(), load_synonym_dictionary(), effective_filters=effective
    )
    alone = [c for c in candidates if len(c.substitutions) == 2]
    assert [(c.query, c.filters) for c in alone] == [("賃金", effective)]
    # applying its substitutions to the original query gives the same search
    rewritten = apply_substitutions("2020年の給料の平均", alone[0].substitutions).rewritten
    assert rewritten == "2020年の賃金の"
    whole = [c for c in candidates if len(c.substitutions) == 1]
    assert whole[0].query == "2020年の賃金の平均" and whole[0].filters == SearchFilters()


def test_relaxation_candidates() -> None:
    filters = SearchFilters(survey_years="2020", collect_area="2")
    candidates = relaxation_candidates(
        ("東京都", "人口推移"), ("東京都", "人口", "推移"), filters, split_already_tried=False
    )
    described = [(c.query, c.filters.describe()) for c in candidates]
    assert described == [
        ("東京都 人口 推移", "survey_years=2020, collect_area=2"),
        ("人口推移", "survey_years=2020, collect_area=2"),
        ("東京都", "survey_years=2020, collect_area=2"),
        ("東京都 OR 人口推移", "survey_years=2020, collect_area=2"),
        ("東京都 人口推移", "collect_area=2"),
        ("東京都 人口推移", "survey_years=2020"),
    ]
    assert {c.kind for c in candidates} == {"relaxation"}


def test_after_a_failed_split_relax_the_parts() -> None:
    keywords, split = ("東京", "消費者物価指数", "推移"), ("東京", "消費者", "物価", "指数", "推移")
    parts = {"東京": ("東京",), "消費者物価指数": ("消費者", "物価", "指数"), "推移": ("推移",)}
    candidates = relaxation_candidates(keywords, split, SearchFilters(), split_already_tried=True, parts=parts)
    assert [c.query for c in candidates] == [
        "消費者物価指数 推移",  # each keyword dropped
        "東京 推移",
        "東京 消費者物価指数",
        "東京",  # each keyword on its own (three or more keywords)
        "消費者物価指数",
        "推移",
        "消費者",  # each part of the split compound on its own
        "物価",
        "指数",
        "東京 OR 消費者 OR 物価 OR 指数 OR 推移",  # any word
    ]
    assert "part of 消費者物価指数" in candidates[6].reason


def test_no_split_relaxation_when_the_split_search_already_ran() -> None:
    candidates = relaxation_candidates(("人口推移",), ("人口", "推移"), SearchFilters(), split_already_tried=True)
    assert [c.query for c in candidates] == ["人口 OR 推移"]


def _row(table_id: str, code: str, name: str, field: str, year: str, area: str) -> dict:
    return {
        "stats_data_id": table_id,
        "stat_code": code,
        "stat_name": name,
        "main_category_code": field,
        "main_category": {"02": "人口・世帯", "03": "労働・賃金"}[field],
        "survey_date": year,
        "collect_area": area,
    }


def test_refinement_candidates_come_from_the_dictionary_and_the_fetched_tables() -> None:
    pool = [
        _row("0000000001", "00200521", "国勢調査", "02", "202010", "全国"),
        _row("0000000001", "00200521", "国勢調査", "02", "202010", "都道府県"),
        _row("0000000002", "00200521", "国勢調査", "02", "201510", "全国"),
        _row("0000000003", "00200524", "人口推計", "02", "202310", "全国"),
        _row("0000000004", "00450071", "毎月勤労統計調査", "03", "202301-202312", "全国"),
    ]
    candidates = refinement_candidates("人口", ("人口",), SearchFilters(), pool, load_synonym_dictionary())
    described = [(c.query, c.filters.describe()) for c in candidates]
    assert described == [
        ("年齢別人口", "no filters"),
        ("男女別人口", "no filters"),
        ("人口推計", "no filters"),
        ("人口", "stats_code=00200521"),  # the most common survey first (2 distinct tables)
        ("人口", "stats_code=00200524"),
        ("人口", "stats_code=00450071"),
        ("人口", "stats_field=02"),
        ("人口", "stats_field=03"),
        ("人口", "survey_years=2023"),
        ("人口", "collect_area=1"),
        ("人口", "collect_area=2"),
    ]
    assert candidates[0].substitutions == (KeywordSubstitution(original="人口", replacement="年齢別人口"),)
    assert "2 of the 4 tables" in candidates[3].reason


def test_refinements_respect_filters_already_set() -> None:
    pool = [_row("0000000001", "00200521", "国勢調査", "02", "202010", "全国")]
    filters = SearchFilters(stats_code="00200521", stats_field="02", survey_years="2020", collect_area="1")
    assert refinement_candidates("国勢調査", ("国勢調査",), filters, pool, load_synonym_dictionary()) == []


@pytest.mark.parametrize(
    ("survey_date", "year"),
    [("202010", 2020), ("201501-202012", 2020), ("2020", 2020), (None, None), ("", None), ("-", None)],
)
def test_survey_year(survey_date, year) -> None:
    assert survey_year(survey_date) == year


# ---------------------------------------------------------------------------------------------
# Counting


def _candidate(kind: str, query: str, **filters) -> Candidate:
    return Candidate(kind, query, SearchFilters(**filters), f"reason for {query}")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_count_keeps_useful_suggestions_best_first() -> None:
    hits = {"a": 0, "b": 7, "c": 3, "d": 30}
    counted: list[str] = []

    async def count(candidate: Candidate) -> CountedSearch:
        counted.append(candidate.query)
        return CountedSearch(candidate.query.upper(), hits[candidate.query])

    candidates = [_candidate("relaxation", "a"), _candidate("relaxation", "b"), _candidate("synonym", "c"),
                  _candidate("synonym", "d"), _candidate("synonym", "d")]  # fmt: skip
    suggestions, notes = await count_candidates(candidates, count, original_hits=0, too_many_hits=500)
    assert sorted(counted) == ["a", "b", "c", "d"]  # duplicates counted once
    # synonyms first, then relaxations, each in candidate order (closest to the query first), not by hits
    assert [(s.kind, s.query, s.hit_count, s.search_word) for s in suggestions] == [
        ("synonym", "c", 3, "C"),
        ("synonym", "d", 30, "D"),
        ("relaxation", "b", 7, "B"),
    ]
    assert notes == []


@pytest.mark.anyio
async def test_refinements_must_narrow_and_manageable_ones_come_first() -> None:
    hits = {"wide": 5000, "same": 9000, "narrow": 40, "medium": 300, "none": 0}

    async def count(candidate: Candidate) -> CountedSearch:
        return CountedSearch(candidate.query, hits[candidate.query])

    candidates = [_candidate("refinement", q) for q in hits]
    suggestions, _ = await count_candidates(candidates, count, original_hits=9000, too_many_hits=500)
    assert [s.query for s in suggestions] == ["medium", "narrow", "wide"]


@pytest.mark.anyio
async def test_counting_is_bounded_and_failures_are_reported() -> None:
    async def count(candidate: Candidate) -> CountedSearch:
        if candidate.query == "q0":
            raise UpstreamError("e-Stat did not answer")
        return CountedSearch(candidate.query, 1)

    candidates = [_candidate("relaxation", f"q{i}") for i in range(MAX_COUNTED_CANDIDATES + 5)]
    suggestions, notes = await count_candidates(candidates, count, original_hits=0, too_many_hits=500, limit=100)
    assert len(suggestions) == MAX_COUNTED_CANDIDATES - 1
    assert any("5 further" in note for note in notes)
    assert any("could not be counted" in note for note in notes)


def test_weak_parts_of_a_compound_are_dropped_first_and_never_searched_alone() -> None:
    dictionary = load_synonym_dictionary()
    assert {"平均", "推移"} <= dictionary.weak_words
    assert dictionary.strong_parts(["平均", "給料"]) == ["給料"]
    candidates = relaxation_candidates(
        ["人口推移"],
        ["人口", "推移"],
        SearchFilters(),
        split_already_tried=True,
        parts={"人口推移": ("人口", "推移")},
        weak_words=dictionary.weak_words,
    )
    queries = [candidate.query for candidate in candidates]
    assert queries[0] == "人口" and "推移" not in queries


def test_synonyms_apply_inside_compounds() -> None:
    dictionary = load_synonym_dictionary()
    candidates = synonym_candidates(
        "平均給料", ["平均給料"], SearchFilters(), dictionary, parts={"平均給料": ("平均", "給料")}
    )
    queries = [candidate.query for candidate in candidates]
    assert queries[:2] == ["平均賃金", "平均給与"]  # the whole-query swaps come first
    assert {"平均 賃金", "賃金", "平均 給与", "給与"} <= set(queries)
    dropped = next(c for c in candidates if c.query == "賃金")
    assert [(s.original, s.replacement) for s in dropped.substitutions] == [("給料", "賃金"), ("平均", "")]
