"""Searching e-Stat tables: query → searchWord, bounded paging, merging by table id, ranking.

How a search runs (:func:`search_estat`):

1. The query is NFKC-normalised and cut into keywords by Janome (see :mod:`estat.text`): compounds
   stay whole (男女別人口), particles and filler words (データ, 知りたい) go, and a year named on its
   own (2020年, 令和2年) becomes the ``surveyYears`` filter unless one was given. The keywords are
   sent ANDed with e-Stat's explicit operator (``東京都 AND 人口推移``).
2. Pages of 100 rows are fetched until the pool holds enough distinct tables to rank
   (``2 × max_results``, at least 20) or ``MAX_PAGES`` pages were read: more than asked for, bounded.
3. If nothing matches and a compound can be split (人口推移 → 人口 AND 推移; 2020年国勢調査 →
   国勢調査 with surveyYears=2020), the split search runs at once; the answer says so in ``notes``.
4. Rows are merged by table id: e-Stat lists a table once per collection area (全国/都道府県/市区町村),
   and the merged result lists every area.
5. Ranking (:func:`score_table`), highest first:
   - **keyword match** (0-3): each keyword counts 1 when it is in the table title, 0.5 in the survey
     or release name, 0.25 in the category names; a compound not found whole earns 0.6 × the mean
     of its parts. The mean over keywords is scaled to 3;
   - **phrase** (+1): the keywords appear contiguously in the title;
   - **focus** (0-1): the share of the title the matched keywords cover (short, on-topic titles win);
   - **recency** (0-1.5): the survey's last year (else the open date's), linear over the last 30 years;
   - **detail** (0-0.3): 0.1 per collection area level the table is listed under.
   Ties go to the most recently updated table, then to e-Stat's own order.
6. With ``auto_suggest``, zero hits or more than ``TOO_MANY_HITS`` yield counted suggestions
   (:mod:`estat.suggest`). Results are always returned when any exist.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from estat_aws_mcp.errors import InputError, quote_prefix
from estat_aws_mcp.estat.search_models import (
    COLLECT_AREA_NAMES,
    ESTAT_TABLE_PAGE,
    MAX_RESULTS_LIMIT,
    SearchFilters,
    SearchResult,
    Suggestion,
    TableResult,
)
from estat_aws_mcp.estat.suggest import (
    Candidate,
    CountedSearch,
    count_candidates,
    load_synonym_dictionary,
    refinement_candidates,
    relaxation_candidates,
    survey_year,
    synonym_candidates,
)
from estat_aws_mcp.estat.text import QueryAnalysis, analyse_query, compact, join_keywords, normalize_text
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES, result_wire_bytes

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 3
MAX_QUERY_CHARS = 200
# Above this many hits the results are a small sample of what matches: suggest refinements.
TOO_MANY_HITS = 500

# e-Stat's statistical fields (統計分野, the statsField codes' first level).
STATS_FIELDS = {
    "01": "国土・気象",
    "02": "人口・世帯",
    "03": "労働・賃金",
    "04": "農林水産業",
    "05": "鉱工業",
    "06": "商業・サービス業",
    "07": "企業・家計・経済",
    "08": "住宅・土地・建設",
    "09": "エネルギー・水",
    "10": "運輸・観光",
    "11": "情報通信・科学技術",
    "12": "教育・文化・スポーツ・生活",
    "13": "行財政",
    "14": "司法・安全・環境",
    "15": "社会保障・衛生",
    "16": "国際",
    "99": "その他",
}


class StatsListClient(Protocol):
    """The part of ``EstatClient`` a search needs (normalised getStatsList and its limit=1 count)."""

    async def get_stats_list(self, **params: Any) -> Mapping[str, Any]: ...

    async def count_stats_list(self, **params: Any) -> int: ...


class WithLang:
    """A :class:`StatsListClient` whose every request carries e-Stat's ``lang`` parameter."""

    def __init__(self, client: StatsListClient, lang: str) -> None:
        self._client, self._lang = client, lang

    async def get_stats_list(self, **params: Any) -> Mapping[str, Any]:
        return await self._client.get_stats_list(**params, lang=self._lang)

    async def count_stats_list(self, **params: Any) -> int:
        return await self._client.count_stats_list(**params, lang=self._lang)


# ---------------------------------------------------------------------------------------------
# Input validation

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{6}$")
_MONTH_RANGE = re.compile(r"^(\d{6})-(\d{6})$")
_YEAR_RANGE = re.compile(r"^(\d{4})-(\d{4})$")


def _optional_text(value: str | int | None) -> str | None:
    """A parameter as normalised text; ``None`` for a missing or blank value."""
    text = normalize_text(str(value)) if value is not None else ""
    return text or None


def _valid_month(value: str) -> bool:
    return 1 <= int(value[4:]) <= 12


def validate_survey_years(value: str | int | None) -> str | None:
    """``yyyy``, ``yyyymm`` or ``yyyymm-yyyymm`` (``yyyy-yyyy`` is accepted as ``yyyy01-yyyy12``)."""
    text = _optional_text(value)
    if text is None:
        return None
    text = text.replace(" ", "").replace("~", "-").replace("〜", "-")
    problem = (
        f"survey_years must be yyyy, yyyymm or yyyymm-yyyymm (for example 2020, 202010 or 201501-202012); "
        f"got {quote_prefix(value)}."
    )
    if _YEAR.match(text):
        return text
    if _MONTH.match(text):
        if not _valid_month(text):
            raise InputError(problem + " The month must be 01-12.")
        return text
    if match := _YEAR_RANGE.match(text):
        start, end = match.groups()
        text = f"{start}01-{end}12"
    if match := _MONTH_RANGE.match(text):
        start, end = match.groups()
        if not (_valid_month(start) and _valid_month(end)):
            raise InputError(problem + " The months must be 01-12.")
        if start > end:
            raise InputError(problem + " The start must not be after the end.")
        return text
    raise InputError(problem)


def validate_stats_field(value: str | int | None) -> str | None:
    """A 2- or 4-digit field code, or a field name such as 人口・世帯."""
    text = _optional_text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{2}(\d{2})?", text) and text[:2] in STATS_FIELDS:
        return text
    by_name = {name: code for code, name in STATS_FIELDS.items()}
    if text in by_name:
        return by_name[text]
    choices = ", ".join(f"{code} {name}" for code, name in STATS_FIELDS.items())
    raise InputError(
        f"stats_field must be a 2-digit field code, a 4-digit sub-field code or a field name; got {quote_prefix(value)}. "
        f"Fields: {choices}."
    )


def validate_stats_code(value: str | int | None) -> str | None:
    text = _optional_text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{8}|\d{5}", text):
        return text
    raise InputError(
        f"stats_code must be an 8-digit statistics code (e.g. 00200521 for 国勢調査) or a 5-digit "
        f"organisation code (e.g. 00200 for 総務省); got {quote_prefix(value)}."
    )


def validate_collect_area(value: str | int | None) -> str | None:
    text = _optional_text(value)
    if text is None:
        return None
    if text in COLLECT_AREA_NAMES:
        return text
    by_name = {name: code for code, name in COLLECT_AREA_NAMES.items()}
    if text in by_name:
        return by_name[text]
    raise InputError(f"collect_area must be 1 (全国), 2 (都道府県) or 3 (市区町村); got {quote_prefix(value)}.")


def validate_filters(
    survey_years: str | int | None = None,
    stats_field: str | int | None = None,
    stats_code: str | int | None = None,
    collect_area: str | int | None = None,
) -> SearchFilters:
    return SearchFilters(
        survey_years=validate_survey_years(survey_years),
        stats_field=validate_stats_field(stats_field),
        stats_code=validate_stats_code(stats_code),
        collect_area=validate_collect_area(collect_area),  # type: ignore[arg-type]
    )


def validate_query(query: str) -> str:
    normalized = normalize_text(query or "")
    if not normalized:
        raise InputError("query is empty: describe the statistics you want, e.g. 男女別人口 or 消費者物価指数.")
    if len(normalized) > MAX_QUERY_CHARS:
        raise InputError(f"query is too long ({len(normalized)} characters; at most {MAX_QUERY_CHARS}).")
    return normalized


def validate_max_results(max_results: int) -> int:
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise InputError(f"max_results must be between 1 and {MAX_RESULTS_LIMIT}; got {max_results}.")
    return max_results


# ---------------------------------------------------------------------------------------------
# Query → plan


@dataclass(frozen=True)
class SearchPlan:
    """What one search sends to e-Stat."""

    analysis: QueryAnalysis
    keywords: tuple[str, ...]
    search_word: str
    filters: SearchFilters  # effective: includes a year taken from the query
    notes: tuple[str, ...] = ()

    def params(self) -> dict[str, str]:
        params = self.filters.to_params()
        if self.search_word:
            params["searchWord"] = self.search_word
        return params

    def split(self) -> SearchPlan | None:
        """The same search with every compound cut into its parts (None when nothing splits); a year
        that stood at the head of a compound (2020年国勢調査) becomes the survey_years filter."""
        analysis = self.analysis
        parts = analysis.split_keywords
        if analysis.explicit_operators or (list(parts) == list(self.keywords) and not analysis.split_years):
            return None
        filters, notes = self.filters, list(self.notes)
        if analysis.split_years:
            filters = filters.model_copy(
                update={"survey_years": years_filter(sorted({*analysis.years, *analysis.split_years}))}
            )
            notes.append(f"The year in the query became the filter survey_years={filters.survey_years}.")
        return SearchPlan(analysis, parts, join_keywords(parts), filters, tuple(notes))


def years_filter(years: Sequence[int]) -> str:
    if len(years) == 1:
        return str(years[0])
    return f"{min(years)}01-{max(years)}12"


def build_plan(query: str, filters: SearchFilters) -> SearchPlan:
    """Turn a validated query and filters into the searchWord and parameters e-Stat receives."""
    analysis = analyse_query(query, extract_years=filters.survey_years is None)
    notes: list[str] = []
    if analysis.years:
        filters = filters.model_copy(update={"survey_years": years_filter(analysis.years)})
        notes.append(f"The year in the query became the filter survey_years={filters.survey_years}.")
    if analysis.dropped:
        notes.append(f"Ignored filler words: {', '.join(analysis.dropped)}.")
    search_word = analysis.normalized if analysis.explicit_operators else join_keywords(analysis.keywords)
    if not analysis.keywords and not any(filters.model_dump().values()):
        raise InputError(
            f"The query {analysis.normalized!r} names no subject to search for; say what the statistics are "
            "about, e.g. 人口, 賃金, 消費者物価指数."
        )
    return SearchPlan(analysis, analysis.keywords, search_word, filters, tuple(notes))


# ---------------------------------------------------------------------------------------------
# Fetching


@dataclass
class FetchedPool:
    total_hits: int = 0
    rows: list[Mapping[str, Any]] = field(default_factory=list)
    more_available: bool = False
    partial_messages: list[str] = field(default_factory=list)  # e-Stat STATUS 2 (partial result)


def pool_target(max_results: int) -> int:
    """Distinct tables to gather before ranking: twice what is asked for, at least 20."""
    return max(2 * max_results, 20)


async def fetch_pool(client: StatsListClient, params: Mapping[str, str], max_results: int) -> FetchedPool:
    """Read pages of PAGE_SIZE rows until the pool is big enough to rank, at most MAX_PAGES pages."""
    pool = FetchedPool()
    start = 1
    for _ in range(MAX_PAGES):
        listing = await client.get_stats_list(**params, limit=PAGE_SIZE, startPosition=start, explanationGetFlg="N")
        pool.total_hits = int(listing.get("number") or 0)
        if listing.get("partial"):
            pool.partial_messages.append(str(listing.get("error_msg") or "partial result"))
        tables = listing.get("tables") or []
        pool.rows.extend(tables)
        next_key = listing.get("next_key") if tables else None
        distinct = len({row["stats_data_id"] for row in pool.rows})
        pool.more_available = next_key is not None
        if next_key is None or distinct >= pool_target(max_results):
            break
        start = int(next_key)
    return pool


# ---------------------------------------------------------------------------------------------
# Merging and ranking


@dataclass
class MergedTable:
    """One table id with every collection area it was listed under."""

    info: Mapping[str, Any]
    collect_areas: list[str]
    position: int  # first position in e-Stat's order


def merge_tables(rows: Sequence[Mapping[str, Any]]) -> list[MergedTable]:
    """Merge rows that share a table id (one per COLLECT_AREA) into one table, in first-seen order."""
    merged: dict[str, MergedTable] = {}
    for position, row in enumerate(rows):
        table_id = str(row.get("stats_data_id") or "")
        if not table_id:
            continue
        area = row.get("collect_area")
        table = merged.get(table_id)
        if table is None:
            merged[table_id] = MergedTable(row, [area] if area else [], position)
            continue
        if area and area not in table.collect_areas:
            table.collect_areas.append(area)
        if (row.get("updated_date") or "") > (table.info.get("updated_date") or ""):
            table.info = {**table.info, "updated_date": row.get("updated_date")}
    return list(merged.values())


_FIELD_WEIGHTS = (("title", 1.0), ("names", 0.5), ("categories", 0.25))


def _joined(*texts: Any) -> str:
    # TITLE_SPEC / STATISTICS_NAME_SPEC usually repeat the title and name: count each text once.
    return compact(" ".join(dict.fromkeys(str(text) for text in texts if text)))


def _table_texts(info: Mapping[str, Any]) -> dict[str, str]:
    title_spec = info.get("title_spec") or {}
    name_spec = info.get("statistics_name_spec") or {}
    return {
        "title": _joined(info.get("title"), *title_spec.values()),
        "names": _joined(info.get("statistics_name"), info.get("stat_name"), *name_spec.values()),
        "categories": _joined(info.get("main_category"), info.get("sub_category")),
    }


def _weight(term: str, texts: Mapping[str, str]) -> float:
    term = compact(term)
    for name, weight in _FIELD_WEIGHTS:
        if term and term in texts[name]:
            return weight
    return 0.0


@dataclass(frozen=True)
class Score:
    total: float
    matched: tuple[str, ...]


def score_table(
    table: MergedTable, terms: Sequence[tuple[str, Sequence[str]]], *, this_year: int | None = None
) -> Score:
    """The ranking score described in the module docstring. ``terms`` = (keyword, its parts)."""
    texts = _table_texts(table.info)
    this_year = this_year or dt.date.today().year
    matched: list[str] = []
    match_total = 0.0
    covered = 0
    for keyword, parts in terms:
        weight = _weight(keyword, texts)
        if weight:
            matched.append(keyword)
            if weight == 1.0:
                covered += len(compact(keyword))
        elif len(parts) > 1:
            part_weights = [_weight(part, texts) for part in parts]
            weight = 0.6 * sum(part_weights) / len(parts)
            matched.extend(part for part, w in zip(parts, part_weights, strict=True) if w)
            covered += sum(len(compact(p)) for p, w in zip(parts, part_weights, strict=True) if w == 1.0)
        match_total += weight
    score = 3.0 * match_total / len(terms) if terms else 0.0
    if len(terms) > 1 and compact("".join(k for k, _ in terms)) in texts["title"]:
        score += 1.0
    if texts["title"]:
        score += min(1.0, covered / len(texts["title"]))
    year = survey_year(table.info.get("survey_date")) or survey_year(
        (table.info.get("open_date") or "").replace("-", "")
    )
    if year:
        score += 1.5 * min(1.0, max(0.0, (year - (this_year - 30)) / 30))
    score += 0.1 * min(3, len(table.collect_areas))
    return Score(round(score, 3), tuple(dict.fromkeys(matched)))


def rank_tables(
    tables: Sequence[MergedTable], terms: Sequence[tuple[str, Sequence[str]]], *, this_year: int | None = None
) -> list[tuple[MergedTable, Score]]:
    scored = [(table, score_table(table, terms, this_year=this_year)) for table in tables]
    # Stable sorts: e-Stat order, then most recently updated, then score.
    scored.sort(key=lambda item: item[0].position)
    scored.sort(key=lambda item: item[0].info.get("updated_date") or "", reverse=True)
    scored.sort(key=lambda item: item[1].total, reverse=True)
    return scored


def to_result(table: MergedTable, score: Score) -> TableResult:
    info = table.info
    main_code, sub_code = info.get("main_category_code"), info.get("sub_category_code")
    table_id = str(info["stats_data_id"])
    return TableResult(
        stats_data_id=table_id,
        title=info.get("title"),
        table_number=info.get("title_no"),
        survey_name=info.get("stat_name"),
        stats_code=info.get("stat_code"),
        statistics_name=info.get("statistics_name"),
        organization=info.get("gov_org"),
        survey_date=info.get("survey_date"),
        open_date=info.get("open_date"),
        updated_date=info.get("updated_date"),
        cycle=info.get("cycle"),
        collect_areas=table.collect_areas,
        main_category=info.get("main_category"),
        sub_category=info.get("sub_category"),
        stats_field=f"{main_code}{sub_code}" if main_code and sub_code else main_code,
        total_values=info.get("overall_total_number"),
        url=ESTAT_TABLE_PAGE.format(stats_data_id=table_id),
        score=score.total,
        matched_keywords=list(score.matched),
    )


def ranking_terms(plan: SearchPlan) -> list[tuple[str, tuple[str, ...]]]:
    parts = {compound.text: compound.parts for compound in plan.analysis.compounds}
    return [(keyword, parts.get(keyword, (keyword,))) for keyword in plan.keywords]


# ---------------------------------------------------------------------------------------------
# The search


async def search_estat(
    client: StatsListClient,
    query: str,
    filters: SearchFilters | None = None,
    *,
    max_results: int = 10,
    auto_suggest: bool = True,
    too_many_hits: int = TOO_MANY_HITS,
    lang: str = "J",
) -> SearchResult:
    """Search e-Stat tables; see the module docstring for every step. ``lang="E"``: e-Stat answers with
    English titles and names where it has them (the query is matched against them too)."""
    if lang not in ("J", "E"):
        raise InputError(f"lang must be 'J' (Japanese) or 'E' (English); got {lang!r}")
    if lang == "E":
        client = WithLang(client, "E")
    validate_query(query)
    validate_max_results(max_results)
    filters = filters or SearchFilters()
    plan = build_plan(query, filters)
    notes = list(plan.notes)

    pool = await fetch_pool(client, plan.params(), max_results)
    split = plan.split() if pool.total_hits == 0 else None
    if split is not None:
        split_pool = await fetch_pool(client, split.params(), max_results)
        if split_pool.total_hits:
            notes.append(f"No table matched {plan.search_word}; showing {split.search_word} (compound words split).")
            notes.extend(note for note in split.notes if note not in notes)
            plan, pool, split = split, split_pool, None

    for message in dict.fromkeys(pool.partial_messages):
        notes.append(f"e-Stat answered with a partial result (STATUS 2): {message}")
    ranked = rank_tables(merge_tables(pool.rows), ranking_terms(plan))
    results = [to_result(table, score) for table, score in ranked[:max_results]]
    hit_status = "none" if pool.total_hits == 0 else "too_many" if pool.total_hits > too_many_hits else "ok"
    if pool.more_available:
        notes.append(
            f"e-Stat has {pool.total_hits} rows; the best of the first {len(pool.rows)} are ranked here. "
            "Add keywords or filters to see the rest."
        )

    suggestions = []
    showing: Suggestion | None = None
    if auto_suggest and hit_status != "ok":
        suggestions, suggestion_notes = await counted_suggestions(
            client, plan, filters, pool, hit_status=hit_status, too_many_hits=too_many_hits, failed_split=split
        )
        notes.extend(suggestion_notes)
    if hit_status == "none" and suggestions:
        # Do not dead-end: show the results of the closest rewritten search that has hits (synonyms
        # first, then relaxations, in the order they were built: from the closest to the loosest).
        showing = suggestions[0]
        shown_plan = build_plan(showing.query, showing.filters)
        shown_pool = await fetch_pool(client, shown_plan.params(), max_results)
        if shown_pool.total_hits:
            ranked = rank_tables(merge_tables(shown_pool.rows), ranking_terms(shown_plan))
            results = [to_result(table, score) for table, score in ranked[:max_results]]
            pool = FetchedPool(0, shown_pool.rows, shown_pool.more_available, shown_pool.partial_messages)
            notes.append(
                f"No table matched {plan.search_word}; showing the {showing.hit_count} hit(s) of "
                f"{shown_plan.search_word} instead ({showing.reason.rstrip('.')}). The other rewritten searches are in "
                "suggestions."
            )
        else:
            showing = None

    response = SearchResult(
        query=query,
        search_word=plan.search_word,
        keywords=list(plan.keywords),
        filters=plan.filters,
        total_hits=pool.total_hits,
        hit_status=hit_status,
        results=results,
        tables_ranked=len(ranked),
        rows_fetched=len(pool.rows),
        more_available=pool.more_available,
        suggestions=suggestions,
        showing=showing,
        notes=notes,
    )
    return fit_to_budget(response)


async def counted_suggestions(
    client: StatsListClient | None,
    plan: SearchPlan,
    user_filters: SearchFilters,
    pool: FetchedPool,
    *,
    hit_status: str,
    too_many_hits: int,
    failed_split: SearchPlan | None,
    counter: Callable[[dict[str, str]], Awaitable[int]] | None = None,
) -> tuple[list[Suggestion], list[str]]:
    """Counted suggestions for ``plan`` (zero or too many hits); ``counter(params)`` counts one search
    (default: getStatsList's limit=1 probe on ``client``)."""
    dictionary = load_synonym_dictionary()
    normalized = plan.analysis.normalized
    candidates: list[Candidate]
    parts = {compound.text: compound.parts for compound in plan.analysis.compounds}
    if hit_status == "none":
        candidates = synonym_candidates(
            normalized, plan.keywords, user_filters, dictionary, effective_filters=plan.filters, parts=parts
        )
        # After a failed split search, relax the split words (人口推移 → 人口, 推移) rather than the compounds.
        candidates += relaxation_candidates(
            plan.keywords,
            plan.analysis.split_keywords,
            (failed_split or plan).filters,
            split_already_tried=failed_split is not None,
            parts=parts,
            query=normalized if plan.analysis.explicit_operators else None,
            weak_words=dictionary.weak_words,
        )
    else:
        candidates = refinement_candidates(normalized, plan.keywords, plan.filters, pool.rows, dictionary)

    async def count(candidate: Candidate) -> CountedSearch:
        candidate_plan = build_plan(candidate.query, candidate.filters)
        params = candidate_plan.params()
        hits = await counter(params) if counter is not None else await client.count_stats_list(**params)  # type: ignore[union-attr]
        return CountedSearch(candidate_plan.search_word, int(hits))

    return await count_candidates(candidates, count, original_hits=pool.total_hits, too_many_hits=too_many_hits)


def fit_to_budget(response: SearchResult, budget: int = TOOL_RESULT_BUDGET_BYTES) -> SearchResult:
    """Drop results from the end until the answer fits ``budget`` bytes (both copies, :func:`result_wire_bytes`)."""
    size = result_wire_bytes(response)
    if size <= budget:
        return response
    results = list(response.results)
    while results and size > budget:
        results.pop()
        trimmed = response.model_copy(update={"results": results})
        size = result_wire_bytes(trimmed)
    note = f"Results were cut to {len(results)} to keep the answer under {budget} bytes."
    return response.model_copy(update={"results": results, "notes": [*response.notes, note]})
