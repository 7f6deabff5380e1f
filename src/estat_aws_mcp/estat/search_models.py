"""Typed shapes of the search tools' inputs and results (clients see them as JSON schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from estat_aws_mcp.estat.credit import CREDIT_NOTICE

ESTAT_TABLE_PAGE = "https://www.e-stat.go.jp/dbview?sid={stats_data_id}"

#: The most tables (search_estat_data) or catalog datasets (search_estat_files) one search returns.
MAX_RESULTS_LIMIT = 100

# e-Stat's collectArea codes.
COLLECT_AREA_NAMES = {"1": "全国", "2": "都道府県", "3": "市区町村"}


class SearchFilters(BaseModel):
    """e-Stat getStatsList filters, already validated (see ``search.validate_filters``)."""

    model_config = ConfigDict(extra="forbid")

    survey_years: str | None = Field(
        default=None, description="Survey period: yyyy, yyyymm or yyyymm-yyyymm (e.g. 2020, 202010, 201501-202012)."
    )
    stats_field: str | None = Field(
        default=None, description="Statistical field code: 2 digits (e.g. 02 人口・世帯) or 4 digits (e.g. 0201)."
    )
    stats_code: str | None = Field(
        default=None,
        description="8-digit statistics (survey) code, e.g. 00200521 国勢調査, or a 5-digit organisation code.",
    )
    collect_area: Literal["1", "2", "3"] | None = Field(
        default=None, description="Collection area level: 1 全国, 2 都道府県, 3 市区町村."
    )

    def to_params(self) -> dict[str, str]:
        """The e-Stat request parameters for these filters."""
        names = {
            "survey_years": "surveyYears",
            "stats_field": "statsField",
            "stats_code": "statsCode",
            "collect_area": "collectArea",
        }
        return {names[key]: value for key, value in self.model_dump().items() if value is not None}

    def describe(self) -> str:
        parts = [f"{key}={value}" for key, value in self.model_dump().items() if value is not None]
        return ", ".join(parts) if parts else "no filters"


class KeywordSubstitution(BaseModel):
    """Replace every occurrence of ``original`` in the query by ``replacement`` (substring match)."""

    model_config = ConfigDict(extra="forbid")

    original: str = Field(min_length=1, max_length=100, description="Text to find in the query (a substring).")
    replacement: str = Field(
        max_length=100, description="Text to put in its place; an empty string removes the original."
    )


class AcceptedSuggestion(BaseModel):
    """A suggestion from search_estat_data accepted as a whole: its substitutions are applied
    (its other fields may be sent back as received; they are ignored)."""

    model_config = ConfigDict(extra="ignore")

    substitutions: list[KeywordSubstitution] = Field(max_length=50, description="The suggestion's substitutions.")
    kind: str | None = Field(default=None, max_length=64)
    query: str | None = Field(default=None, max_length=1_000)


class Suggestion(BaseModel):
    """A rewritten search and how many e-Stat rows it finds."""

    kind: Literal["synonym", "relaxation", "refinement"] = Field(
        description="synonym: an everyday word swapped for the official term; relaxation: a broader search; "
        "refinement: a narrower search."
    )
    query: str = Field(description="The rewritten query: pass it as `query` to search_estat_data.")
    filters: SearchFilters = Field(description="The complete filters to pass with that query.")
    substitutions: list[KeywordSubstitution] = Field(
        default_factory=list,
        description="For keyword swaps: pass these as `accepted_keywords` to apply_keyword_suggestions "
        "with the original query. Empty when the suggestion changes only filters or drops words.",
    )
    search_word: str = Field(description="The exact e-Stat searchWord that was counted.")
    hit_count: int = Field(description="e-Stat hit count for this search (rows; a table counts once per area).")
    reason: str


class TableResult(BaseModel):
    """One e-Stat statistics table (duplicate rows per collection area merged into one)."""

    stats_data_id: str = Field(description="10-digit table id for the fetch tools and getStatsData.")
    title: str | None
    table_number: str | None = Field(description="The table's number within its survey release (TITLE @no).")
    survey_name: str | None = Field(description="The statistics (survey), e.g. 国勢調査.")
    stats_code: str | None = Field(description="8-digit statistics code of the survey.")
    statistics_name: str | None = Field(description="The release the table belongs to.")
    organization: str | None = Field(description="Government organisation, e.g. 総務省.")
    survey_date: str | None = Field(description="Survey period as e-Stat gives it (yyyymm or yyyymm-yyyymm).")
    open_date: str | None
    updated_date: str | None
    cycle: str | None
    collect_areas: list[str] = Field(description="Every collection area level the table is listed under.")
    main_category: str | None
    sub_category: str | None
    stats_field: str | None = Field(description="4-digit field code (main + sub category), usable as a filter.")
    total_values: int | None = Field(description="Number of data values in the whole table (OVERALL_TOTAL_NUMBER).")
    url: str = Field(description="The table's page on e-Stat.")
    score: float = Field(description="Ranking score (see search_estat_data's description).")
    matched_keywords: list[str] = Field(description="Keywords found in the title or survey names.")


class SearchResult(BaseModel):
    """search_estat_data's answer."""

    query: str = Field(description="The query as received.")
    search_word: str = Field(description="The searchWord sent to e-Stat (keywords joined with AND).")
    keywords: list[str] = Field(description="Keywords extracted from the query (Janome tokenizer, NFKC).")
    filters: SearchFilters = Field(description="Filters applied, including a year taken from the query.")
    total_hits: int = Field(description="e-Stat's hit count: rows, where a table counts once per collection area.")
    hit_status: Literal["none", "ok", "too_many"]
    results: list[TableResult] = Field(description="Distinct tables, best first.")
    tables_ranked: int = Field(description="Distinct tables fetched and ranked (results are the best of these).")
    rows_fetched: int
    more_available: bool = Field(description="True when e-Stat has more rows than were fetched and ranked.")
    suggestions: list[Suggestion] = Field(
        default_factory=list, description="Rewritten searches with their hit counts (zero or too many hits)."
    )
    showing: Suggestion | None = Field(
        default=None,
        description="When the query itself found nothing (total_hits 0): the rewritten search whose results are "
        "shown instead (its query, search_word and hit_count), the first suggestion that has hits.",
    )
    notes: list[str] = Field(default_factory=list)
    credit: str = Field(default=CREDIT_NOTICE, description="e-Stat credit notice; show it with the data.")


class ApplySuggestionsResult(BaseModel):
    """apply_keyword_suggestions' answer."""

    original_query: str
    rewritten_query: str
    applied: list[KeywordSubstitution] = Field(description="Substitutions that matched the query.")
    not_found: list[str] = Field(description="Originals that do not occur in the query (ignored).")
    search: SearchResult | None = Field(description="The search for the rewritten query (None with run_search=false).")
    credit: str = Field(default=CREDIT_NOTICE)
