"""Japanese text handling for e-Stat search: NFKC normalisation and keyword extraction.

Design: queries are normalised with Unicode NFKC (full-width letters/digits/spaces become ASCII,
half-width katakana becomes full-width) and then cut into search keywords with **Janome** (a pure
Python morphological analyser with its own dictionary, pinned in pyproject.toml). Japanese has no
spaces between words, so "東京都の人口推移" must become the keywords 東京都 / 人口推移 before e-Stat
can AND them. Janome is heavy to load (~0.5 s, tens of MB), so it is imported and built lazily on
the first query and never while the server is being built.

Chunking rule: consecutive content morphemes (nouns, number + counter suffix, prefixes) form one
compound keyword, because e-Stat titles use compounds (男女別人口, 消費者物価指数). Particles,
auxiliaries and symbols end a compound and are dropped; independent verbs/adjectives become their
own keyword (base form). Each compound also remembers its parts (suffixes such as 別/率/者 stay
attached to the word before them), used when the compound as a whole matches nothing.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache

_WHITESPACE = re.compile(r"\s+")
# e-Stat's own search operators (the API manual: "東京 AND 人口", "東京 OR 大阪").
SEARCH_OPERATORS = frozenset({"AND", "OR", "NOT"})

# Whole keywords that only say "I want statistics" and narrow nothing.
FILLER_KEYWORDS = frozenset(
    {
        "データ",
        "統計",
        "統計データ",
        "統計表",
        "情報",
        "数値",
        "一覧",
        "資料",
        "表",
        "数",
        "人",
        "方",
        "件",
        "値",
        "等",
        "など",
        "こと",
        "もの",
        "推計値",
        "最新",
        "最近",
        "全国的",
    }
)
# Verbs/adjectives that express the request, not its subject.
FILLER_PREDICATES = frozenset(
    {
        "する",
        "いる",
        "ある",
        "なる",
        "できる",
        "知る",
        "調べる",
        "教える",
        "見る",
        "探す",
        "欲しい",
        "ほしい",
        "ない",
        "わかる",
        "分かる",
        "関する",
        "よる",
        "おける",
        "いう",
        "思う",
        "見せる",
        "出す",
    }
)

_WAREKI_START = {"令和": 2018, "平成": 1988, "昭和": 1925}
_SEIREKI_YEAR = re.compile(r"^((?:19|20)\d{2})(?:年度?)?$")
_WAREKI_YEAR = re.compile(r"^(令和|平成|昭和)(\d{1,2}|元)年度?$")


def normalize_text(text: str) -> str:
    """NFKC, trimmed, runs of whitespace collapsed to one ASCII space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def compact(text: str) -> str:
    """Normalised text without any whitespace: the form used for substring matching."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def year_of_keyword(keyword: str) -> int | None:
    """The calendar year a keyword names on its own (2020, 2020年, 2020年度, 令和2年, 平成元年度), else None."""
    if match := _SEIREKI_YEAR.match(keyword):
        return int(match.group(1))
    if match := _WAREKI_YEAR.match(keyword):
        number = 1 if match.group(2) == "元" else int(match.group(2))
        return _WAREKI_START[match.group(1)] + number
    return None


@dataclass(frozen=True)
class Morpheme:
    surface: str
    pos: str  # e.g. "名詞"
    pos_detail: str  # e.g. "接尾"
    base_form: str


_tokenizer_lock = threading.Lock()


@cache
def _janome_tokenizer():
    # Lazy: Janome loads its dictionary on construction (the heavy part).
    from janome.tokenizer import Tokenizer

    return Tokenizer()


def warm_up() -> None:
    """Load Janome's dictionary now (blocking, ~0.5 s once per process); async callers run this in
    a worker thread so that the first query does not stall the event loop."""
    with _tokenizer_lock:  # concurrent first calls build one Tokenizer, not several
        _janome_tokenizer()


def tokenize(text: str) -> list[Morpheme]:
    """Morphemes of ``text`` (NFKC-normalised first) with Janome's IPADIC part of speech."""
    normalized = normalize_text(text)
    if not normalized:
        return []
    with _tokenizer_lock:  # one Tokenizer instance shared by threads
        tokens = list(_janome_tokenizer().tokenize(normalized))
    morphemes = []
    for token in tokens:
        if not token.surface.strip():
            continue
        pos, detail, *_ = (*token.part_of_speech.split(","), "*")
        base = token.base_form if token.base_form != "*" else token.surface
        morphemes.append(Morpheme(token.surface, pos, detail, base))
    return morphemes


def morpheme_boundaries(text: str) -> set[int]:
    """Offsets in ``text`` (already NFKC-normalised) where a morpheme starts or ends, plus 0 and len."""
    boundaries = {0, len(text)}
    position = 0
    for morpheme in tokenize(text):
        start = text.find(morpheme.surface, position)
        if start < 0:  # cannot happen for normalised text; stay safe rather than misplace offsets
            continue
        position = start + len(morpheme.surface)
        boundaries.update((start, position))
    return boundaries


def _is_compound_part(morpheme: Morpheme, following: Morpheme | None) -> bool:
    if morpheme.pos == "名詞":
        return morpheme.pos_detail not in ("非自立", "代名詞")
    if morpheme.pos == "接頭詞":
        return True
    # Hiragana words Janome misreads as adverbs inside a compound (ひとり親世帯).
    return morpheme.pos == "副詞" and following is not None and following.pos in ("名詞", "接頭詞")


@dataclass(frozen=True)
class Compound:
    """One search keyword and the smaller words it can be split into."""

    text: str
    parts: tuple[str, ...]


def _parts_of(morphemes: list[Morpheme]) -> tuple[str, ...]:
    # Suffixes (別, 率, 者, 都, 年...) stay glued to the word before them, prefixes to the word
    # after them, and digits to an era name (令和 + 2 + 年).
    parts: list[str] = []
    prefix = ""
    for morpheme in morphemes:
        if morpheme.pos in ("接頭詞", "副詞"):
            prefix += morpheme.surface
            continue
        glue_suffix = morpheme.pos_detail == "接尾"
        glue_number = morpheme.pos_detail == "数" and parts and (parts[-1] in _WAREKI_START or parts[-1][-1].isdigit())
        if parts and not prefix and (glue_suffix or glue_number):
            parts[-1] += morpheme.surface
        else:
            parts.append(prefix + morpheme.surface)
        prefix = ""
    if prefix:
        parts.append(prefix)
    return tuple(parts)


def extract_compounds(segment: str) -> tuple[list[Compound], list[str]]:
    """Keywords of one space-free segment, and the words dropped as fillers."""
    morphemes = tokenize(segment)
    compounds: list[Compound] = []
    dropped: list[str] = []
    run: list[Morpheme] = []

    def flush() -> None:
        if run:
            text = "".join(m.surface for m in run)
            if text in FILLER_KEYWORDS:
                dropped.append(text)
            else:
                compounds.append(Compound(text, _parts_of(run)))
            run.clear()

    for index, morpheme in enumerate(morphemes):
        following = morphemes[index + 1] if index + 1 < len(morphemes) else None
        if _is_compound_part(morpheme, following):
            run.append(morpheme)
            continue
        flush()
        if morpheme.pos in ("動詞", "形容詞") and morpheme.pos_detail == "自立":
            if morpheme.base_form in FILLER_PREDICATES:
                dropped.append(morpheme.base_form)
            else:
                compounds.append(Compound(morpheme.base_form, (morpheme.base_form,)))
    flush()
    return compounds, dropped


@dataclass(frozen=True)
class QueryAnalysis:
    """How a free-text query becomes an e-Stat ``searchWord``.

    ``keywords`` are ANDed; ``split_keywords`` is the same query with every compound cut into its
    parts (a broader AND of the same words). ``years`` are calendar years named on their own
    (2020年, 令和2年), which the search turns into a ``surveyYears`` filter; ``split_years`` are
    years that only stand alone once a compound is split (2020年国勢調査 → 2020 + 国勢調査).
    """

    original: str
    normalized: str
    keywords: tuple[str, ...]
    split_keywords: tuple[str, ...]
    years: tuple[int, ...] = ()
    dropped: tuple[str, ...] = ()
    split_years: tuple[int, ...] = ()
    explicit_operators: bool = False
    compounds: tuple[Compound, ...] = field(default=(), repr=False)


def analyse_query(query: str, *, extract_years: bool = True) -> QueryAnalysis:
    """Normalise ``query`` and extract its keywords (see the module docstring for the rules).

    A query that already uses e-Stat operators (``東京 AND 人口``, ``東京 OR 大阪``) is taken as written.
    With ``extract_years`` False, year words stay keywords (the caller already filters by year).
    """
    normalized = normalize_text(query)
    words = normalized.split(" ") if normalized else []
    if any(word in SEARCH_OPERATORS for word in words):
        terms = tuple(word for word in words if word not in SEARCH_OPERATORS)
        return QueryAnalysis(query, normalized, terms, terms, explicit_operators=True)

    compounds: list[Compound] = []
    dropped: list[str] = []
    for word in words:
        found, fillers = extract_compounds(word)
        compounds.extend(found)
        dropped.extend(fillers)

    years: list[int] = []
    kept: list[Compound] = []
    for compound in compounds:
        year = year_of_keyword(compound.text) if extract_years else None
        if year is not None:
            years.append(year)
        elif compound not in kept:
            kept.append(compound)

    keywords = tuple(c.text for c in kept)
    split: list[str] = []
    split_years: set[int] = set()
    for compound in kept:
        for part in compound.parts:
            year = year_of_keyword(part) if extract_years and len(compound.parts) > 1 else None
            if year is not None:
                split_years.add(year)
            elif part not in split and part not in FILLER_KEYWORDS:
                split.append(part)
    return QueryAnalysis(
        original=query,
        normalized=normalized,
        keywords=keywords,
        split_keywords=tuple(split) or keywords,
        years=tuple(sorted(set(years))),
        dropped=tuple(dropped),
        split_years=tuple(sorted(split_years - set(years))),
        compounds=tuple(kept),
    )


def join_keywords(keywords: tuple[str, ...] | list[str], operator: str = "AND") -> str:
    """An e-Stat ``searchWord`` that combines keywords with an explicit operator."""
    return f" {operator} ".join(keywords)
