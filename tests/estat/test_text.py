"""NFKC normalisation, Janome keyword extraction and year words (estat/text.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from estat_aws_mcp.estat.text import (
    analyse_query,
    compact,
    join_keywords,
    morpheme_boundaries,
    normalize_text,
    tokenize,
    year_of_keyword,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＧＤＰ　成長率", "GDP 成長率"),  # full-width letters and ideographic space
        ("  人口   推移 ", "人口 推移"),
        ("２０２０年", "2020年"),
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana
        ("男女別人口－全国，都道府県", "男女別人口-全国,都道府県"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_compact_removes_all_whitespace() -> None:
    assert compact("人口速報集計　（男女別人口 及び世帯総数）") == "人口速報集計(男女別人口及び世帯総数)"


@pytest.mark.parametrize(
    ("query", "keywords", "split"),
    [
        # Japanese without spaces: particles end a compound, compounds stay whole.
        ("東京都の人口推移", ("東京都", "人口推移"), ("東京都", "人口", "推移")),
        ("男女別人口", ("男女別人口",), ("男女別", "人口")),
        ("消費者物価指数", ("消費者物価指数",), ("消費者", "物価", "指数")),
        ("年齢別の人口", ("年齢別", "人口"), ("年齢別", "人口")),
        ("ひとり親世帯の収入", ("ひとり親世帯", "収入"), ("ひとり親世帯", "収入")),
        ("人口・世帯", ("人口", "世帯"), ("人口", "世帯")),
        # spaces still separate keywords; full-width input is normalised first
        ("ＧＤＰ　成長率", ("GDP", "成長率"), ("GDP", "成長率")),
        # a counter suffix stays on its word when a compound is split
        ("外国人労働者数", ("外国人労働者数",), ("外国人", "労働者数")),
        # verbs become their base form; filler nouns are dropped
        ("働く人の数", ("働く",), ("働く",)),
        ("高い物価", ("高い", "物価"), ("高い", "物価")),
    ],
)
def test_keywords_from_queries_without_spaces(query: str, keywords: tuple, split: tuple) -> None:
    analysis = analyse_query(query)
    assert analysis.keywords == keywords
    assert analysis.split_keywords == split


def test_filler_words_are_reported_as_dropped() -> None:
    analysis = analyse_query("こどもの数を知りたい")
    assert analysis.keywords == ("こども",)
    assert set(analysis.dropped) == {"数", "知る"}


def test_query_of_fillers_only_has_no_keywords() -> None:
    assert analyse_query("統計データを教えて").keywords == ()


@pytest.mark.parametrize(
    ("query", "keywords", "years"),
    [
        ("令和2年の人口", ("人口",), (2020,)),
        ("2020年の国勢調査", ("国勢調査",), (2020,)),
        ("平成27年度の所得", ("所得",), (2015,)),
        ("2015年から2020年の国勢調査", ("国勢調査",), (2015, 2020)),
        # a year inside a compound is part of the name, not a filter
        ("2020年基準消費者物価指数", ("2020年基準消費者物価指数",), ()),
    ],
)
def test_years_named_on_their_own_are_extracted(query: str, keywords: tuple, years: tuple) -> None:
    analysis = analyse_query(query)
    assert analysis.keywords == keywords
    assert analysis.years == years


def test_years_stay_keywords_when_not_extracted() -> None:
    assert analyse_query("2020年の国勢調査", extract_years=False).keywords == ("2020年", "国勢調査")


@pytest.mark.parametrize(
    ("word", "year"),
    [
        ("2020", 2020),
        ("2020年", 2020),
        ("2020年度", 2020),
        ("令和2年", 2020),
        ("令和元年", 2019),
        ("平成元年度", 1989),
        ("昭和64年", 1989),
        ("2020年基準", None),
        ("人口", None),
        ("12345", None),
    ],
)
def test_year_of_keyword(word: str, year: int | None) -> None:
    assert year_of_keyword(word) == year


def test_explicit_operators_are_kept_as_written() -> None:
    analysis = analyse_query("東京 OR 大阪")
    assert analysis.explicit_operators
    assert analysis.keywords == ("東京", "大阪")


def test_tokenize_gives_parts_of_speech() -> None:
    morphemes = tokenize("男女別人口")
    assert [m.surface for m in morphemes] == ["男女", "別", "人口"]
    assert morphemes[1].pos == "名詞" and morphemes[1].pos_detail == "接尾"


def test_join_keywords_uses_the_explicit_operator() -> None:
    assert join_keywords(("東京都", "人口")) == "東京都 AND 人口"
    assert join_keywords(["東京都", "大阪府"], "OR") == "東京都 OR 大阪府"


def test_janome_is_not_imported_until_a_query_is_analysed() -> None:
    code = (
        "import sys; import estat_aws_mcp.estat.text as t; import estat_aws_mcp.estat.search; "
        "before = 'janome' in sys.modules; t.analyse_query('人口'); print(before, 'janome' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


@pytest.mark.parametrize(
    ("query", "keywords", "split", "split_years"),
    [
        ("2020年国勢調査", ("2020年国勢調査",), ("国勢調査",), (2020,)),
        ("令和2年国勢調査", ("令和2年国勢調査",), ("国勢調査",), (2020,)),
        # a year named on its own is already a filter, not a split year
        ("2020年の2020年国勢調査", ("2020年国勢調査",), ("国勢調査",), ()),
    ],
)
def test_years_at_the_head_of_a_compound(query: str, keywords: tuple, split: tuple, split_years: tuple) -> None:
    analysis = analyse_query(query)
    assert (analysis.keywords, analysis.split_keywords, analysis.split_years) == (keywords, split, split_years)


def test_split_years_are_kept_as_words_when_years_are_not_extracted() -> None:
    analysis = analyse_query("2020年国勢調査", extract_years=False)
    assert (analysis.split_keywords, analysis.split_years) == (("2020年", "国勢調査"), ())


def test_morpheme_boundaries() -> None:
    text = "平均給料 月額"  # 平均 / 給料 / (space) / 月額
    assert morpheme_boundaries(text) == {0, 2, 4, 5, 7}
    assert 2 not in morpheme_boundaries("デパート")
