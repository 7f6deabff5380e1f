"""e-Stat search tools: ``search_estat_data`` and ``apply_keyword_suggestions``.

Thin wrappers over :mod:`estat_aws_mcp.estat.search`; the core modules and the e-Stat client are
imported when a tool runs, and Janome's dictionary is loaded in a worker thread on first use, so
building the server stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from estat_aws_mcp.estat.search_models import (
    MAX_RESULTS_LIMIT,
    AcceptedSuggestion,
    ApplySuggestionsResult,
    KeywordSubstitution,
    SearchResult,
)
from estat_aws_mcp.tools.errors import in_worker_thread, tool_errors
from estat_aws_mcp.tools.template import SHORT_TEXT_CHARS, LangParam

logger = logging.getLogger(__name__)

T = TypeVar("T")

SEARCH_DESCRIPTION = """Search e-Stat (Japan's official statistics portal) for statistics tables.

Always searches and returns the matching tables when any exist, best first. Write the query in
Japanese as you would say it, with or without spaces (東京都の人口推移, 男女別人口, 給料 平均): it is
NFKC-normalised and cut into keywords by the Janome tokenizer, filler words (データ, 知りたい) are
dropped, and a year named on its own (2020年, 令和2年) becomes the survey_years filter. Keywords are
ANDed; write 東京 OR 大阪 to use e-Stat's operators directly.

A table that e-Stat lists once per collection area appears once, with every area in collect_areas.
Ranking: keywords in the title count most, then in the survey name, then the category; keywords
in sequence, a short on-topic title, a recent survey and more area levels add to the score.

When nothing matches or there are too many hits (auto_suggest), `suggestions` lists rewritten
searches with their real hit counts: synonym (everyday word → official term, e.g. 給料→賃金, also
inside compounds: 平均給料 → 賃金), relaxation (broader: generic words such as 平均/推移 dropped, compounds
split) and refinement (narrower, e.g. a survey or a year). A search that finds nothing does not
dead-end: `showing` names the closest rewritten search with hits, and `results` are its tables. Re-run a
suggestion with its query and filters, or pass its substitutions to apply_keyword_suggestions.
Use stats_data_id with the fetch tools. Show the `credit` notice with any e-Stat data."""

APPLY_DESCRIPTION = """Apply accepted keyword substitutions to a query and (by default) search again in the
same call. Substitutions match substrings of the normalised query (給料 inside 平均給料 is replaced;
nothing is split on spaces); the longest original wins where two overlap. Pass either a mapping
{"給料": "賃金"} or the `substitutions` list of a suggestion from search_estat_data."""

#: Longest query accepted in the schema (validate_query refuses more than MAX_QUERY_CHARS with a message).
QUERY_SCHEMA_CHARS = 1_000
#: Substitutions accepted in one apply_keyword_suggestions call.
MAX_SUBSTITUTIONS = 50

QueryParam = Annotated[
    str,
    Field(
        max_length=QUERY_SCHEMA_CHARS,
        description="What to look for, in Japanese (spaces optional), e.g. 男女別人口, 東京都の人口推移, 消費者物価指数. "
        "At most 200 characters.",
    ),
]
MaxResultsParam = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_RESULTS_LIMIT,
        description=f"How many distinct tables to return (1-{MAX_RESULTS_LIMIT}, default 10).",
    ),
]
SurveyYearsParam = Annotated[
    Annotated[str, Field(max_length=SHORT_TEXT_CHARS)] | int | None,
    Field(description="Survey period: yyyy, yyyymm or yyyymm-yyyymm, e.g. 2020, 202010, 201501-202012."),
]
StatsFieldParam = Annotated[
    str | None,
    Field(
        max_length=SHORT_TEXT_CHARS,
        description="Statistical field: a 2-digit code or its name (01 国土・気象, 02 人口・世帯, 03 労働・賃金, "
        "04 農林水産業, 05 鉱工業, 06 商業・サービス業, 07 企業・家計・経済, 08 住宅・土地・建設, 09 エネルギー・水, "
        "10 運輸・観光, 11 情報通信・科学技術, 12 教育・文化・スポーツ・生活, 13 行財政, 14 司法・安全・環境, "
        "15 社会保障・衛生, 16 国際, 99 その他), or a 4-digit sub-field code (a result's stats_field).",
    ),
]
StatsCodeParam = Annotated[
    str | None,
    Field(
        max_length=SHORT_TEXT_CHARS,
        description="8-digit statistics (survey) code, e.g. 00200521 国勢調査 (a result's stats_code), "
        "or a 5-digit organisation code, e.g. 00200 総務省.",
    ),
]
CollectAreaParam = Annotated[
    Annotated[str, Field(max_length=SHORT_TEXT_CHARS)] | int | None,
    Field(description="Collection area level: 1 or 全国, 2 or 都道府県, 3 or 市区町村."),
]


async def run_estat(action: Callable[..., Awaitable[T]]) -> T:
    """Open an e-Stat client, run ``action(client)``, and turn user-facing errors into tool errors.

    The e-Stat tools that read the query (searches of tables and of files) call it: Janome's
    dictionary is loaded off the event loop once the client is open.
    """
    from estat_aws_mcp.estat.client import EstatClient
    from estat_aws_mcp.estat.text import warm_up

    with tool_errors():
        async with EstatClient() as client:  # a missing appId fails here, before Janome loads
            await in_worker_thread(warm_up)
            return await action(client)


def register(mcp: FastMCP) -> None:
    annotations = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True)

    @mcp.tool(
        name="search_estat_data",
        title="Search e-Stat statistics tables",
        description=SEARCH_DESCRIPTION,
        annotations=annotations,
        structured_output=True,
    )
    async def search_estat_data(
        query: QueryParam,
        max_results: MaxResultsParam = 10,
        survey_years: SurveyYearsParam = None,
        stats_field: StatsFieldParam = None,
        stats_code: StatsCodeParam = None,
        collect_area: CollectAreaParam = None,
        auto_suggest: Annotated[
            bool, Field(description="Suggest rewritten searches (with hit counts) on zero or too many hits.")
        ] = True,
        lang: LangParam = "J",
    ) -> SearchResult:
        from estat_aws_mcp.estat.search import search_estat, validate_filters, validate_query

        with tool_errors():
            validate_query(query)
            filters = validate_filters(survey_years, stats_field, stats_code, collect_area)

        async def run(client) -> SearchResult:
            return await search_estat(
                client, query, filters, max_results=max_results, auto_suggest=auto_suggest, lang=lang
            )

        result = await run_estat(run)
        logger.info(
            "search_estat_data: %d hits, %d results, %d suggestions",
            result.total_hits,
            len(result.results),
            len(result.suggestions),
        )
        return result

    @mcp.tool(
        name="apply_keyword_suggestions",
        title="Apply keyword suggestions to a search",
        description=APPLY_DESCRIPTION,
        annotations=annotations,
        structured_output=True,
    )
    async def apply_keyword_suggestions(
        original_query: Annotated[
            str, Field(max_length=QUERY_SCHEMA_CHARS, description="The query the suggestions were made for.")
        ],
        accepted_keywords: Annotated[
            Annotated[
                dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=100)]],
                Field(max_length=MAX_SUBSTITUTIONS),
            ]
            | Annotated[list[KeywordSubstitution | AcceptedSuggestion], Field(max_length=MAX_SUBSTITUTIONS)],
            Field(
                description='Accepted substitutions: a mapping {"original": "replacement"} such as {"給料": "賃金"}, '
                "a list of {original, replacement} objects (a suggestion's `substitutions`), or a list of whole "
                "suggestions from search_estat_data (their substitutions are applied). An empty replacement "
                "removes the word."
            ),
        ],
        run_search: Annotated[
            bool, Field(description="Search with the rewritten query in the same call (default true).")
        ] = True,
        max_results: MaxResultsParam = 10,
        survey_years: SurveyYearsParam = None,
        stats_field: StatsFieldParam = None,
        stats_code: StatsCodeParam = None,
        collect_area: CollectAreaParam = None,
        lang: LangParam = "J",
    ) -> ApplySuggestionsResult:
        from estat_aws_mcp.estat.search import search_estat, validate_filters, validate_query
        from estat_aws_mcp.estat.suggest import apply_substitutions, coerce_substitutions

        with tool_errors():
            validate_query(original_query)
            substitutions = coerce_substitutions(accepted_keywords)
            outcome = apply_substitutions(original_query, substitutions)
            if not outcome.applied:
                raise ToolError(
                    f"None of the accepted keywords ({', '.join(outcome.not_found)}) occur in the query "
                    f"{original_query!r}; nothing was changed."
                )
            validate_query(outcome.rewritten)
            filters = validate_filters(survey_years, stats_field, stats_code, collect_area)

        search = None
        if run_search:

            async def run(client) -> SearchResult:
                return await search_estat(client, outcome.rewritten, filters, max_results=max_results, lang=lang)

            search = await run_estat(run)
        return ApplySuggestionsResult(
            original_query=original_query,
            rewritten_query=outcome.rewritten,
            applied=outcome.applied,
            not_found=outcome.not_found,
            search=search,
        )
