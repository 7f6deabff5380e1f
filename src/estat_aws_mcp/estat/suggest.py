"""Keyword suggestions: the synonym dictionary, substitutions, and rewritten searches to count.

Suggestions are made when a search finds nothing or too much:

- **synonym** (zero hits): an everyday word in the query is swapped for the official term e-Stat
  titles use (給料→賃金, 収入→所得), from the curated ``synonyms.json``;
- **relaxation** (zero hits): split compounds, drop one keyword, match any keyword (OR), or drop a filter;
- **refinement** (too many hits): a broad term swapped for a narrower one (人口→年齢別人口), or a filter
  taken from the tables already fetched (the most common surveys, fields, the latest year, an area level).

Every candidate is counted with a cheap ``limit=1`` request before it is shown, and only candidates
that help are kept (hits > 0; for refinements also fewer hits than the original). This module only
builds candidates and keeps the useful ones; the search module supplies the counting function.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from estat_aws_mcp.errors import EstatMcpError, InputError
from estat_aws_mcp.estat.search_models import (
    COLLECT_AREA_NAMES,
    AcceptedSuggestion,
    KeywordSubstitution,
    SearchFilters,
    Suggestion,
)
from estat_aws_mcp.estat.text import morpheme_boundaries, normalize_text

logger = logging.getLogger(__name__)

SuggestionKind = Literal["synonym", "relaxation", "refinement"]

# Candidates counted per search (each is one limit=1 request) and suggestions returned.
MAX_COUNTED_CANDIDATES = 16
MAX_SUGGESTIONS = 8

# ---------------------------------------------------------------------------------------------
# The dictionary (data in synonyms.json)


@dataclass(frozen=True)
class SynonymEntry:
    word: str
    terms: tuple[str, ...]
    field: str
    note: str | None = None


@dataclass(frozen=True)
class RefinementEntry:
    term: str
    narrower: tuple[str, ...]
    field: str


@dataclass(frozen=True)
class WordMatch:
    start: int
    end: int
    word: str
    replacements: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class SynonymDictionary:
    version: str
    fields: tuple[str, ...]
    synonyms: tuple[SynonymEntry, ...]
    refinements: tuple[RefinementEntry, ...]
    weak_words: frozenset[str] = frozenset()

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SynonymDictionary:
        synonyms = tuple(
            SynonymEntry(
                word=normalize_text(entry["word"]),
                terms=tuple(normalize_text(term) for term in entry["terms"]),
                field=entry["field"],
                note=entry.get("note"),
            )
            for entry in document["synonyms"]
        )
        refinements = tuple(
            RefinementEntry(
                term=normalize_text(entry["term"]),
                narrower=tuple(normalize_text(term) for term in entry["narrower"]),
                field=entry["field"],
            )
            for entry in document.get("refinements", ())
        )
        weak = frozenset(normalize_text(word) for word in document.get("weak_words", ()))
        return cls(str(document["version"]), tuple(document.get("fields", ())), synonyms, refinements, weak)

    def strong_parts(self, parts: Sequence[str]) -> list[str]:
        """The parts of a compound that are not weak words (平均給料 → 給料)."""
        return [part for part in parts if part not in self.weak_words]

    def synonym_matches(self, text: str) -> list[WordMatch]:
        """Everyday words in ``text`` (longest first, not overlapping, on morpheme boundaries so that
        パートタイム is not found inside デパート), skipping places that already hold the official
        term (売上 inside 売上高)."""
        return _find_words(text, [(e.word, e.terms, e.note) for e in self.synonyms])

    def refinement_matches(self, text: str) -> list[WordMatch]:
        """Broad official terms in ``text`` that have narrower ones."""
        return _find_words(text, [(e.term, e.narrower, None) for e in self.refinements])


def _find_words(text: str, entries: Sequence[tuple[str, tuple[str, ...], str | None]]) -> list[WordMatch]:
    taken = [False] * len(text)
    boundaries = morpheme_boundaries(text)
    matches: list[WordMatch] = []
    for word, replacements, note in sorted(entries, key=lambda entry: -len(entry[0])):
        for found in re.finditer(re.escape(word), text):
            start, end = found.span()
            if start not in boundaries or end not in boundaries or any(taken[start:end]):
                continue
            if any(_extends_over(text, term, start, end) for term in replacements):
                continue
            useful = tuple(term for term in replacements if term != word)
            if not useful:
                continue
            matches.append(WordMatch(start, end, word, useful, note))
            for index in range(start, end):
                taken[index] = True
    return sorted(matches, key=lambda match: match.start)


def _extends_over(text: str, term: str, start: int, end: int) -> bool:
    """True when ``term`` already stands in ``text`` across the span [start, end) and beyond it, i.e.
    the query already uses the official term (売上 inside 売上高), so swapping would garble it."""
    return any(
        found.start() < end and start < found.end() and not (start <= found.start() and found.end() <= end)
        for found in re.finditer(re.escape(term), text)
    )


@cache
def load_synonym_dictionary() -> SynonymDictionary:
    """The curated dictionary shipped in the package (``estat/synonyms.json``)."""
    text = resources.files("estat_aws_mcp.estat").joinpath("synonyms.json").read_text(encoding="utf-8")
    return SynonymDictionary.from_document(json.loads(text))


# ---------------------------------------------------------------------------------------------
# Substitutions (apply_keyword_suggestions)


@dataclass(frozen=True)
class SubstitutionOutcome:
    rewritten: str
    applied: list[KeywordSubstitution]
    not_found: list[str]


def coerce_substitutions(
    accepted: Mapping[str, str] | Iterable[KeywordSubstitution | AcceptedSuggestion | Mapping[str, Any]],
) -> list[KeywordSubstitution]:
    """Accepted keywords as typed substitutions, NFKC-normalised. Three spellings are accepted:
    ``{"収入": "所得"}``, ``[{"original": "収入", "replacement": "所得"}, ...]``, or whole suggestions
    (``[{"kind": "synonym", "substitutions": [...], ...}]``). The same original mapped to two
    different replacements is an input error, and so is a suggestion that only changes filters."""
    items: list[KeywordSubstitution] = []
    if isinstance(accepted, Mapping):
        items = [KeywordSubstitution(original=k, replacement=v) for k, v in accepted.items()]
    else:
        for item in accepted:
            if isinstance(item, Mapping):
                item = AcceptedSuggestion(**item) if "substitutions" in item else KeywordSubstitution(**item)
            if isinstance(item, AcceptedSuggestion):
                if not item.substitutions:
                    raise InputError(
                        f"The suggestion {item.query or ''!r} changes no keyword (it drops words or changes "
                        "filters): call search_estat_data with its query and filters instead."
                    )
                items.extend(item.substitutions)
            else:
                items.append(item)
    chosen: dict[str, str] = {}
    for item in items:
        original, replacement = normalize_text(item.original), normalize_text(item.replacement)
        if not original:
            raise InputError("accepted_keywords: an original keyword is empty.")
        if chosen.get(original, replacement) != replacement:
            raise InputError(
                f"accepted_keywords maps {original!r} to both {chosen[original]!r} and {replacement!r}; keep one."
            )
        chosen[original] = replacement
    if not chosen:
        raise InputError("accepted_keywords is empty: give at least one original → replacement pair.")
    return [KeywordSubstitution(original=k, replacement=v) for k, v in chosen.items()]


def apply_substitutions(query: str, substitutions: Sequence[KeywordSubstitution]) -> SubstitutionOutcome:
    """Replace every occurrence of each original in the NFKC-normalised query, in one pass.

    Matching is on substrings (給料 inside 平均給料 is found; nothing is split on spaces). When
    originals overlap, the longest wins at each position, and replaced text is never re-matched.
    """
    text = normalize_text(query)
    mapping = {normalize_text(s.original): normalize_text(s.replacement) for s in substitutions}
    mapping = {original: replacement for original, replacement in mapping.items() if original}
    if not mapping:
        return SubstitutionOutcome(text, [], [])
    pattern = re.compile("|".join(re.escape(original) for original in sorted(mapping, key=len, reverse=True)))
    used: set[str] = set()

    def replace(found: re.Match[str]) -> str:
        used.add(found.group(0))
        return mapping[found.group(0)]

    rewritten = normalize_text(pattern.sub(replace, text))
    applied = [KeywordSubstitution(original=o, replacement=r) for o, r in mapping.items() if o in used]
    not_found = [original for original in mapping if original not in used]
    return SubstitutionOutcome(rewritten, applied, not_found)


# ---------------------------------------------------------------------------------------------
# Candidates


@dataclass(frozen=True)
class Candidate:
    """A search to count: ``query`` + ``filters`` as search_estat_data would receive them."""

    kind: SuggestionKind
    query: str
    filters: SearchFilters
    reason: str
    substitutions: tuple[KeywordSubstitution, ...] = ()


def _replace_span(text: str, match: WordMatch, replacement: str) -> str:
    return normalize_text(text[: match.start] + replacement + text[match.end :])


def synonym_candidates(
    normalized_query: str,
    keywords: Sequence[str],
    filters: SearchFilters,
    dictionary: SynonymDictionary,
    *,
    effective_filters: SearchFilters | None = None,
    parts: Mapping[str, Sequence[str]] | None = None,
) -> list[Candidate]:
    """Everyday words swapped for official terms, best bets first (``filters`` as the caller gave
    them; ``effective_filters`` also hold a year taken from the query; ``parts``: each compound keyword's
    parts):

    1. each (word, official term) swap in the whole query;
    2. every word swapped for its first term at once (when the query has several);
    3. inside a compound (平均給料): its parts with the term (平均 賃金), then the term with the
       compound's weak parts dropped (賃金), see :func:`_compound_synonym_candidates`;
    4. each word's first term on its own, the other keywords dropped (給料の平均 → 賃金), because an
       official term rarely shares a title with the everyday words around it.
    """
    matches = dictionary.synonym_matches(normalized_query)
    candidates: list[Candidate] = []
    for match in matches:
        note = f" ({match.note})" if match.note else ""
        for term in match.replacements:
            candidates.append(
                Candidate(
                    kind="synonym",
                    query=_replace_span(normalized_query, match, term),
                    filters=filters,
                    reason=f"e-Stat tables use the official term {term} rather than {match.word}{note}.",
                    substitutions=(KeywordSubstitution(original=match.word, replacement=term),),
                )
            )
    if len(matches) > 1:
        substitutions = tuple(KeywordSubstitution(original=m.word, replacement=m.replacements[0]) for m in matches)
        rewritten = apply_substitutions(normalized_query, substitutions).rewritten
        swapped = ", ".join(f"{s.original}→{s.replacement}" for s in substitutions)
        candidates.append(
            Candidate(
                "synonym", rewritten, filters, f"Use the official terms for every word ({swapped}).", substitutions
            )
        )
    candidates += _compound_synonym_candidates(keywords, parts or {}, filters, dictionary, effective_filters)
    for match in matches:
        others = [k for k in keywords if match.word not in k and k not in match.word]
        if not others:
            continue
        term = match.replacements[0]
        substitutions = (
            KeywordSubstitution(original=match.word, replacement=term),
            *(KeywordSubstitution(original=k, replacement="") for k in others),
        )
        candidates.append(
            Candidate(
                "synonym",
                term,
                effective_filters or filters,
                f"Search the official term {term} (for {match.word}) on its own, without {' '.join(others)}.",
                substitutions,
            )
        )
    return candidates


def _compound_synonym_candidates(
    keywords: Sequence[str],
    parts: Mapping[str, Sequence[str]],
    filters: SearchFilters,
    dictionary: SynonymDictionary,
    effective_filters: SearchFilters | None,
) -> list[Candidate]:
    """Synonyms applied INSIDE compound keywords: 平均給料 is one keyword, so swapping 給料→賃金 gives
    平均賃金, which titles rarely use either. Also try the compound's parts ANDed with the official term
    (平均 AND 賃金) and the term with the compound's weak parts dropped (賃金: 平均 is a column, not a title
    word), keeping the other keywords."""
    candidates: list[Candidate] = []
    for keyword in keywords:
        compound_parts = list(parts.get(keyword, ()))
        if len(compound_parts) < 2:
            continue
        others = [k for k in keywords if k != keyword]
        for match in dictionary.synonym_matches(keyword):
            if match.word == keyword:
                continue
            for term in match.replacements[:2]:
                swap = KeywordSubstitution(original=match.word, replacement=term)
                swapped = [apply_substitutions(part, [swap]).rewritten for part in compound_parts]
                split = " ".join([*others, *swapped])
                candidates.append(
                    Candidate(
                        "synonym",
                        split,
                        effective_filters or filters,
                        f"e-Stat tables use the official term {term} rather than {match.word}; "
                        f"search the parts of {keyword} separately.",
                        (swap,),
                    )
                )
                strong = dictionary.strong_parts(swapped)
                dropped = [part for part in swapped if part not in strong]
                if strong and dropped:
                    removed = tuple(KeywordSubstitution(original=part, replacement="") for part in dropped)
                    candidates.append(
                        Candidate(
                            "synonym",
                            " ".join([*others, *strong]),
                            effective_filters or filters,
                            f"{term} (the official term for {match.word}) without the generic word(s) "
                            f"{' '.join(dropped)}, which titles rarely contain.",
                            (swap, *removed),
                        )
                    )
    return candidates


MAX_PART_CANDIDATES = 4


def relaxation_candidates(
    keywords: Sequence[str],
    split_keywords: Sequence[str],
    filters: SearchFilters,
    *,
    split_already_tried: bool,
    parts: Mapping[str, Sequence[str]] | None = None,
    query: str | None = None,
    weak_words: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Broader searches for a query with zero hits, from the least to the most relaxed.

    ``keywords`` are the query's compound keywords, ``split_keywords`` all their parts, ``parts``
    each compound's parts; ``filters`` are the effective ones; ``query`` is the text kept when only a
    filter is dropped (by default the keywords). The ladder: the split search (unless it already
    ran), each keyword dropped, each keyword on its own (three or more), each part of a split
    compound on its own (after a failed split), any keyword (OR), then each filter removed. First of
    all, the weak parts of compounds (``weak_words``: 推移, 平均, 状況...) are dropped (人口推移 → 人口), and
    a weak word is never searched on its own.
    """
    candidates: list[Candidate] = []
    parts = parts or {}

    def add(text: str, reason: str, with_filters: SearchFilters = filters) -> None:
        candidates.append(Candidate("relaxation", text, with_filters, reason))

    strong_terms: list[str] = []
    weak_found: list[str] = []
    for keyword in keywords:
        keyword_parts = list(parts.get(keyword, (keyword,)))
        kept = [part for part in keyword_parts if part not in weak_words]
        if len(keyword_parts) > 1 and kept and len(kept) < len(keyword_parts):
            weak_found += [part for part in keyword_parts if part in weak_words]
            strong_terms += kept
        elif keyword not in weak_words or len(keywords) == 1:
            strong_terms.append(keyword)
        else:
            weak_found.append(keyword)
    if weak_found and strong_terms:
        add(
            " ".join(dict.fromkeys(strong_terms)),
            f"Drop the generic word(s) {' '.join(dict.fromkeys(weak_found))}, which titles rarely contain.",
        )

    if not split_already_tried and list(split_keywords) != list(keywords):
        joined = " ".join(k for k in keywords if k not in split_keywords)
        add(" ".join(split_keywords), f"No title contains {joined} as one word; search for its parts separately.")
    if len(keywords) > 1:
        for dropped in keywords:
            rest = [k for k in keywords if k != dropped]
            add(" ".join(rest), f"Drop the keyword {dropped}; keep {' '.join(rest)}.")
    if len(keywords) > 2:
        for kept in keywords:
            if kept not in weak_words:
                add(kept, f"Search {kept} on its own.")
    if split_already_tried and parts:
        words = [
            p
            for k in keywords
            for p in parts.get(k, ())
            if len(parts.get(k, ())) > 1 and p in split_keywords and p not in weak_words
        ]
        for part in list(dict.fromkeys(words))[:MAX_PART_CANDIDATES]:
            compound = next(k for k in keywords if part in parts.get(k, ()))
            add(part, f"Search {part} (part of {compound}) on its own.")
    terms = list(split_keywords) if split_already_tried else list(keywords)
    if len(terms) > 1:
        add(" OR ".join(terms), "Match tables that contain any of the words instead of all of them.")
    query = query or " ".join(keywords)
    for name, value in filters.model_dump().items():
        if value is not None:
            add(query, f"Remove the filter {name}={value}.", filters.model_copy(update={name: None}))
    return candidates


def refinement_candidates(
    normalized_query: str,
    keywords: Sequence[str],
    filters: SearchFilters,
    pool: Sequence[Mapping[str, Any]],
    dictionary: SynonymDictionary,
) -> list[Candidate]:
    """Narrower searches for a query with too many hits.

    ``pool`` holds the fetched TABLE_INF rows (normalised, one per collection area) from which the
    common surveys, fields, the latest year and the area levels are read.
    """
    candidates: list[Candidate] = []
    for match in dictionary.refinement_matches(normalized_query)[:2]:
        for term in match.replacements[:3]:
            candidates.append(
                Candidate(
                    "refinement",
                    _replace_span(normalized_query, match, term),
                    filters,
                    f"{match.word} is broad; {term} is a narrower official term.",
                    (KeywordSubstitution(original=match.word, replacement=term),),
                )
            )

    query = " ".join(keywords)
    tables = {row["stats_data_id"]: row for row in pool}.values()

    def narrow(**change: str) -> Callable[[str], Candidate]:
        return lambda reason: Candidate("refinement", query, filters.model_copy(update=change), reason)

    if filters.stats_code is None:
        surveys = Counter((t.get("stat_code"), t.get("stat_name")) for t in tables if t.get("stat_code"))
        for (code, name), count in surveys.most_common(3):
            reason = f"Only the survey {name} ({code}): {count} of the {len(tables)} tables fetched come from it."
            candidates.append(narrow(stats_code=code)(reason))
    if filters.stats_field is None:
        fields = Counter(
            (t.get("main_category_code"), t.get("main_category")) for t in tables if t.get("main_category_code")
        )
        for (code, name), count in fields.most_common(2) if len(fields) > 1 else ():
            reason = f"Only the statistical field {name} ({code}): {count} of the {len(tables)} tables fetched."
            candidates.append(narrow(stats_field=code)(reason))
    if filters.survey_years is None:
        years = sorted({year for t in tables if (year := survey_year(t.get("survey_date")))}, reverse=True)
        if len(years) > 1:
            reason = f"Only surveys of {years[0]}, the latest year among the tables fetched."
            candidates.append(narrow(survey_years=str(years[0]))(reason))
    if filters.collect_area is None:
        levels = {row.get("collect_area") for row in pool}
        for code, name in COLLECT_AREA_NAMES.items() if len(levels) > 1 else ():
            if name in levels:
                candidates.append(narrow(collect_area=code)(f"Only tables collected at the {name} level."))
    return candidates


def survey_year(survey_date: str | None) -> int | None:
    """The (last) calendar year of an e-Stat SURVEY_DATE (``202010`` → 2020, ``201501-202012`` → 2020)."""
    if not survey_date:
        return None
    digits = str(survey_date).split("-")[-1].strip()
    if len(digits) >= 4 and digits[:4].isdigit():
        year = int(digits[:4])
        return year if 1800 <= year <= 2200 else None
    return None


# ---------------------------------------------------------------------------------------------
# Counting


@dataclass(frozen=True)
class CountedSearch:
    search_word: str
    hit_count: int


CountFunction = Callable[[Candidate], Awaitable[CountedSearch]]


async def count_candidates(
    candidates: Sequence[Candidate],
    count: CountFunction,
    *,
    original_hits: int,
    too_many_hits: int,
    limit: int = MAX_SUGGESTIONS,
) -> tuple[list[Suggestion], list[str]]:
    """Count up to MAX_COUNTED_CANDIDATES distinct candidates concurrently (the e-Stat client bounds
    the requests in flight) and keep the useful ones, best first; returns (suggestions, notes)."""
    distinct: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    for candidate in candidates:
        key = (normalize_text(candidate.query), candidate.filters.model_dump_json())
        if key not in seen:
            seen.add(key)
            distinct.append(candidate)
    notes: list[str] = []
    if len(distinct) > MAX_COUNTED_CANDIDATES:
        notes.append(f"{len(distinct) - MAX_COUNTED_CANDIDATES} further suggestion(s) were not counted.")
        distinct = distinct[:MAX_COUNTED_CANDIDATES]

    outcomes = await asyncio.gather(*(count(candidate) for candidate in distinct), return_exceptions=True)

    kept: list[tuple[int, Suggestion]] = []
    failures = 0
    counted_words: set[tuple[str, str]] = set()
    for order, (candidate, outcome) in enumerate(zip(distinct, outcomes, strict=True)):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, EstatMcpError):
                raise outcome
            failures += 1
            logger.warning("suggestion count failed: %s", type(outcome).__name__)
            continue
        same_search = (outcome.search_word, candidate.filters.model_dump_json())
        if same_search in counted_words or not _helps(candidate.kind, outcome.hit_count, original_hits):
            continue
        counted_words.add(same_search)
        suggestion = Suggestion(
            kind=candidate.kind,
            query=candidate.query,
            filters=candidate.filters,
            substitutions=list(candidate.substitutions),
            search_word=outcome.search_word,
            hit_count=outcome.hit_count,
            reason=candidate.reason,
        )
        kept.append((order, suggestion))
    if failures:
        notes.append(f"{failures} suggestion(s) could not be counted (e-Stat did not answer) and were left out.")

    def rank(item: tuple[int, Suggestion]) -> tuple[int, int, int]:
        order, suggestion = item
        kind_rank = {"synonym": 0, "relaxation": 1, "refinement": 2}[suggestion.kind]
        if suggestion.kind == "refinement":
            # Refinements that bring the hits to a browsable number first, the broadest of those first.
            manageable = 0 if suggestion.hit_count <= too_many_hits else 1
            return (kind_rank, manageable, -suggestion.hit_count if manageable == 0 else suggestion.hit_count)
        # Synonyms and relaxations keep their candidate order: it runs from the closest to the
        # original query to the loosest, and the loosest always has the most hits.
        return (kind_rank, order, 0)

    kept.sort(key=rank)
    return [suggestion for _, suggestion in kept[:limit]], notes


def _helps(kind: SuggestionKind, hits: int, original_hits: int) -> bool:
    if hits <= 0:
        return False
    if kind == "refinement":
        return hits < original_hits
    return True
