"""The three fetch tools: e-Stat table -> dataset in the store (by reference: id, URIs, schema, sample).

Thin wrappers over :mod:`estat_aws_mcp.datasets.fetch`. Results never carry the data itself, only a
small sample, and are cut to :data:`~estat_aws_mcp.limits.TOOL_RESULT_BUDGET_BYTES` (long filter
echoes are abbreviated; the manifest in the store keeps them whole). Progress goes to the MCP client
as progress notifications when it sent a progress token, and always to the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.fastmcp import Context, FastMCP
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from estat_aws_mcp.datasets.filters import AxisFilter
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.limits import SAMPLE_ROWS, TOOL_RESULT_BUDGET_BYTES, result_wire_bytes
from estat_aws_mcp.tools.errors import in_worker_thread, tool_errors
from estat_aws_mcp.tools.template import StatsDataIdParam

if TYPE_CHECKING:
    from estat_aws_mcp.datasets.fetch import FetchMode, FetchResult

#: Longest list (codes, names) echoed per filter axis in a result; the manifest keeps every entry.
ECHO_LIST_LIMIT = 50
#: Longest string kept in a sample cell.
SAMPLE_TEXT_LIMIT = 200
#: Rows returned inline by default when a fetch's result is that small (a lookup of a few cells), and at most.
INLINE_ROWS_DEFAULT = 100
INLINE_ROWS_MAX = 1000

#: Axes of an e-Stat table: tab, cat01..cat15, area, time.
MAX_FILTER_AXES = 18
AXIS_ID_CHARS = 16

FilterMap = Annotated[
    dict[Annotated[str, Field(max_length=AXIS_ID_CHARS)], AxisFilter], Field(max_length=MAX_FILTER_AXES)
]
Filters = Annotated[
    FilterMap,
    Field(
        description=(
            "Axis -> selection. Axes: tab, cat01..cat15, area, time (as in the table's metadata). A selection is "
            "a list of codes or names, e.g. {'area': ['東京都', '13000'], 'time': ['2020年']}, or an object with "
            "'values', or a range {'from': code/name, 'to': code/name} and/or a level {'level': '2' | '1-3'}. "
            "Ambiguous names (e.g. two 府中市) are reported with their candidates: pass the code then. "
            "Lists over 100 codes are split into several e-Stat requests automatically. Empty lists are refused."
        )
    ),
]
InlineRows = Annotated[
    int,
    Field(
        ge=0,
        le=INLINE_ROWS_MAX,
        description=(
            "Return every row inline (field `rows`) when the result has at most this many rows and fits the "
            f"response budget (default {INLINE_ROWS_DEFAULT}, at most {INLINE_ROWS_MAX}; 0: never). The dataset "
            "is written either way."
        ),
    ),
]
FetchLang = Annotated[
    Literal["J", "E"],
    Field(
        description="J: Japanese names (default); E: English names where e-Stat has them (then filter names "
        "are matched against the English names; codes work either way)"
    ),
]
Refresh = Annotated[
    bool,
    Field(
        description=(
            "Fetch again even if the store holds this table with the same filters at e-Stat's current "
            "UPDATED_DATE (by default such a dataset is reused: one metadata request, no data pages)."
        )
    ),
]
Concurrency = Annotated[
    int | None,
    Field(
        ge=1,
        le=16,
        description="Pages fetched in parallel (default: the server's e-Stat limit, 4); capped by that limit",
    ),
]


class DatasetUris(BaseModel):
    data: str = Field(description="The normalised table (Parquet, zstd)")
    manifest: str = Field(description="The dataset's manifest (metadata, filters, schema)")


class FetchDatasetResult(BaseModel):
    dataset_id: str = Field(description="Pass to save_dataset_as_csv, transform_to_parquet, load_to_iceberg")
    stats_data_id: str
    fetch_mode: str = Field(description="single_request, complete (all pages) or filtered")
    row_count: int
    uris: DatasetUris
    columns: list[dict[str, str]] = Field(description="Schema: column names and types")
    table: dict[str, Any] = Field(description="Title, survey, organisation, updated date and the axes of the table")
    filters: dict[str, Any] = Field(description="Filters as resolved (names -> codes)")
    requests: int = Field(description="e-Stat data requests (filters over 100 codes are split)")
    pages: int
    concurrency: int
    elapsed_s: float
    reused: bool = Field(
        default=False,
        description="True: the store already held this table with the same filters at e-Stat's current "
        "UPDATED_DATE, so that dataset was returned without downloading (pass refresh=true to fetch again)",
    )
    fetched_at: str | None = Field(
        default=None, description="When the dataset's rows were downloaded from e-Stat (UTC; earlier when reused)"
    )
    rows_inline: bool = Field(
        default=False, description="True: `rows` holds every row of the dataset (then `sample` is empty)"
    )
    rows: list[dict[str, Any]] | None = Field(
        default=None,
        description="Every row (null cells left out), when the dataset is small (see inline_rows); else null",
    )
    sample: list[dict[str, Any]] = Field(
        description=f"The first rows (at most {SAMPLE_ROWS}) when the rows are not inline"
    )
    hierarchical_axes: list[str] = Field(
        default_factory=list,
        description="Axes whose items nest (e.g. area: 全国 > 都道府県 > 市区町村); their <axis>_level and "
        "<axis>_parent_code columns let SQL aggregate one level (WHERE area_level = '2') without double counting",
    )
    notes: list[str] = Field(default_factory=list, description="Hierarchy hints and time codes left without dates")
    truncated: list[str] = Field(default_factory=list, description="Parts of this result shortened to fit the budget")
    credit: str = CREDIT_NOTICE


def _settings_and_store() -> tuple[Any, Any]:
    from estat_aws_mcp.datasets.store import open_store
    from estat_aws_mcp.settings import get_settings

    settings = get_settings()
    return settings, open_store(settings.storage_uri)


async def run_fetch(
    mode: FetchMode,
    stats_data_id: str,
    *,
    filters: dict[str, Any] | None = None,
    concurrency: int | None = None,
    ctx: Context | None = None,
    inline_rows: int = INLINE_ROWS_DEFAULT,
    refresh: bool = False,
    lang: str = "J",
) -> FetchDatasetResult:
    """The shared body of the three tools (also used by the tests and benchmarks)."""
    from estat_aws_mcp.datasets.fetch import EstatClientSource, fetch_dataset, new_client

    settings, store = await in_worker_thread(_settings_and_store)  # opening a local store may sweep it
    effective = min(concurrency or settings.estat_concurrency, settings.estat_concurrency)

    async def progress(done: int, total: int, message: str) -> None:
        if ctx is not None:
            await ctx.report_progress(done, total, message)

    if settings.dataset_max_age_days:  # the age limit: expired datasets go before anything could reuse them
        from estat_aws_mcp.datasets.inventory import sweep_expired

        await in_worker_thread(sweep_expired, store, settings.dataset_max_age_days)
    with tool_errors():
        async with new_client(settings) as client:
            result = await fetch_dataset(
                EstatClientSource(client, lang=lang),
                store,
                stats_data_id,
                mode=mode,
                filters=filters,
                concurrency=effective,
                progress=progress,
                inline_rows=inline_rows,
                reuse=not refresh,
            )
    return fit_to_budget(build_result(store, result))


def build_result(store: Any, result: FetchResult) -> FetchDatasetResult:
    from estat_aws_mcp.datasets.manifest import MANIFEST_FILE, dataset_key

    manifest = result.manifest
    return FetchDatasetResult(
        dataset_id=manifest.dataset_id,
        stats_data_id=manifest.stats_data_id,
        fetch_mode=result.fetch_mode,
        row_count=manifest.row_count,
        uris=DatasetUris(
            data=store.uri_for(manifest.data_key),
            manifest=store.uri_for(dataset_key(manifest.dataset_id, MANIFEST_FILE)),
        ),
        columns=manifest.columns,
        table=result.metadata.describe(),
        filters=result.filters,
        requests=result.requests,
        pages=result.pages,
        concurrency=result.concurrency,
        elapsed_s=round(result.elapsed_s, 3),
        reused=result.reused,
        fetched_at=manifest.created_at,
        rows_inline=result.rows is not None,
        rows=[_compact(row) for row in result.rows] if result.rows is not None else None,
        sample=[] if result.rows is not None else result.sample[:SAMPLE_ROWS],
        hierarchical_axes=result.metadata.hierarchical_axes,
        notes=fetch_notes(result.metadata),
    )


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if value is not None}


def fetch_notes(metadata: Any) -> list[str]:
    """How to aggregate the hierarchical axes, and which time codes got no dates."""
    notes = []
    for axis in metadata.hierarchical_axes:
        counts = metadata.axis(axis).levels
        levels = ", ".join(f"level {level}: {count}" for level, count in counts.items())
        example = list(counts)[1] if len(counts) > 1 else "2"
        notes.append(
            f"{axis} is hierarchical ({levels}): sum one level at a time, e.g. SELECT ... SUM(value) ... "
            f"WHERE {axis}_level = '{example}', or parents and children are counted together."
        )
    return notes + metadata.time_notes()


def fit_to_budget(result: FetchDatasetResult, budget: int = TOOL_RESULT_BUDGET_BYTES) -> FetchDatasetResult:
    """Shorten the parts that can grow (inline rows, filter echoes, sample cells, table text) until the result fits
    (both copies, as :func:`~estat_aws_mcp.limits.result_wire_bytes` measures it)."""
    if result_wire_bytes(result) <= budget:
        return result
    if result.rows is not None:  # too many to show inline after all: back to a sample
        result.sample = result.rows[:SAMPLE_ROWS]
        result.rows, result.rows_inline = None, False
        result.truncated.append(
            "rows: too large to return inline; query them with SQL or read an export (save_dataset_as_csv)"
        )
        if result_wire_bytes(result) <= budget:
            return result
    result.filters = {axis: _abbreviate_echo(echo) for axis, echo in result.filters.items()}
    result.truncated.append(f"filters: lists cut to {ECHO_LIST_LIMIT} entries (the manifest keeps them all)")
    if result_wire_bytes(result) <= budget:
        return result
    result.sample = [{key: _short(value, SAMPLE_TEXT_LIMIT) for key, value in row.items()} for row in result.sample]
    result.table = {key: _short(value, 2 * SAMPLE_TEXT_LIMIT) for key, value in result.table.items()}
    result.truncated.append(f"sample and table texts cut to {SAMPLE_TEXT_LIMIT} characters")
    if result_wire_bytes(result) > budget:
        result.filters = {axis: "omitted: see the manifest" for axis in result.filters}
        result.truncated.append("filters omitted (see the manifest)")
    while result.sample and result_wire_bytes(result) > budget:
        result.sample = result.sample[: len(result.sample) // 2]
    return result


def _abbreviate_echo(echo: Any) -> Any:
    if not isinstance(echo, dict):
        return echo
    short: dict[str, Any] = {}
    for key, value in echo.items():
        if isinstance(value, list) and len(value) > ECHO_LIST_LIMIT:
            short[key] = [_short(v, SAMPLE_TEXT_LIMIT) for v in value[:ECHO_LIST_LIMIT]]
            short[f"{key}_total"] = len(value)
        else:
            short[key] = _short(value, SAMPLE_TEXT_LIMIT) if isinstance(value, str) else value
    return short


def _short(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


_COMMON_NOTE = (
    f"A small result (at most inline_rows rows, default {INLINE_ROWS_DEFAULT}) comes back inline in `rows`, so "
    "a lookup of a few cells takes one call. A table already in the store with the same filters and e-Stat's "
    "current UPDATED_DATE is reused (reused=true, one metadata request) unless refresh=true. Columns: "
    "<axis>_code, _name, _level, _parent_code per axis, time_start/time_end/time_granularity, unit, value; "
    "hierarchical_axes names axes that nest (sum one level: WHERE area_level = '2'). Call "
    "describe_estat_table first to see the axes and items."
)

FETCH_AUTO_DESCRIPTION = (
    "Fetch a whole e-Stat table into the dataset store and return a dataset_id (plus URIs, row count, "
    "schema, a small sample and the table's metadata). The size is probed first (cntGetFlg=Y): a small "
    "table takes one request, a large one is fetched completely (every 100,000-row page, in parallel, "
    "verified). Use fetch_dataset_filtered to fetch only some areas, years or categories. " + _COMMON_NOTE
)

FETCH_FILTERED_DESCRIPTION = (
    "Fetch the rows of an e-Stat table that match filters into the dataset store; returns a dataset_id. "
    "Filters name items by code or by name (resolved through the table's metadata; ambiguous names are "
    "reported with candidates, never guessed), or select a level or a code range. All matching rows are "
    "fetched, however many pages they take. " + _COMMON_NOTE
)

FETCH_COMPLETE_DESCRIPTION = (
    "Fetch EVERY row of an e-Stat table (optionally filtered) into the dataset store: counts the rows, "
    "fetches all 100,000-row pages concurrently (bounded), writes them in order with bounded memory, and "
    "verifies the total row count and that the table was not updated during the fetch - on any mismatch "
    "it fails and saves nothing. Reports progress notifications when the client asks for them. " + _COMMON_NOTE
)

# Each fetch writes a dataset into the store from e-Stat (nothing existing is replaced or deleted).
_FETCH_ANNOTATIONS = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True
)


def register(mcp: FastMCP) -> None:
    @mcp.tool(
        name="fetch_dataset_auto",
        title="Fetch a whole e-Stat table",
        description=FETCH_AUTO_DESCRIPTION,
        annotations=_FETCH_ANNOTATIONS,
        structured_output=True,
    )
    async def fetch_dataset_auto(
        stats_data_id: StatsDataIdParam,
        ctx: Context,
        inline_rows: InlineRows = INLINE_ROWS_DEFAULT,
        refresh: Refresh = False,
        lang: FetchLang = "J",
    ) -> FetchDatasetResult:
        return await run_fetch("auto", stats_data_id, ctx=ctx, inline_rows=inline_rows, refresh=refresh, lang=lang)

    @mcp.tool(
        name="fetch_dataset_filtered",
        title="Fetch the matching rows of an e-Stat table",
        description=FETCH_FILTERED_DESCRIPTION,
        annotations=_FETCH_ANNOTATIONS,
        structured_output=True,
    )
    async def fetch_dataset_filtered(
        stats_data_id: StatsDataIdParam,
        filters: Filters,
        ctx: Context,
        inline_rows: InlineRows = INLINE_ROWS_DEFAULT,
        refresh: Refresh = False,
        lang: FetchLang = "J",
    ) -> FetchDatasetResult:
        return await run_fetch(
            "filtered",
            stats_data_id,
            filters=filters,
            ctx=ctx,
            inline_rows=inline_rows,
            refresh=refresh,
            lang=lang,
        )

    @mcp.tool(
        name="fetch_large_dataset_complete",
        title="Fetch every row of a large e-Stat table",
        description=FETCH_COMPLETE_DESCRIPTION,
        annotations=_FETCH_ANNOTATIONS,
        structured_output=True,
    )
    async def fetch_large_dataset_complete(
        stats_data_id: StatsDataIdParam,
        ctx: Context,
        filters: Annotated[
            FilterMap | None,
            Field(description="Optional filters, same form as fetch_dataset_filtered"),
        ] = None,
        concurrency: Concurrency = None,
        inline_rows: InlineRows = INLINE_ROWS_DEFAULT,
        refresh: Refresh = False,
        lang: FetchLang = "J",
    ) -> FetchDatasetResult:
        return await run_fetch(
            "complete",
            stats_data_id,
            filters=filters,
            concurrency=concurrency,
            ctx=ctx,
            inline_rows=inline_rows,
            refresh=refresh,
            lang=lang,
        )
