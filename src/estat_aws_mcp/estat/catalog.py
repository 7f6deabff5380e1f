"""Searching e-Stat's data catalog (getDataCatalog): the FILES and databases of a survey.

Many statistics exist only as files (Excel, CSV, PDF) or database listings, not as API tables. The
catalog lists them as datasets (a survey release: name, organisation, survey date, landing page), each
with its resources (a file: name, table number, format, URL, release and modification dates).

:func:`search_files` reads the query exactly as ``search_estat_data`` does (NFKC, Janome keywords,
filler words dropped, a year named on its own → ``surveyYears``, keywords ANDed, compounds split when
the whole finds nothing) and, when nothing matches, counts the same synonym / relaxation rewrites against
the catalog and shows the closest one that has hits; with too many hits it counts narrower searches (one
survey, the latest year). ``data_types`` narrows the files' formats (e-Stat's
``dataType``: XLS, CSV, PDF, XML, XLS_REP, DB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from estat_aws_mcp.errors import InputError
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.estat.normalize import DataCatalog
from estat_aws_mcp.estat.search_models import SearchFilters, Suggestion
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES, result_wire_bytes

DataType = Literal["XLS", "CSV", "PDF", "XML", "XLS_REP", "DB"]
DATA_TYPES: tuple[str, ...] = ("XLS", "CSV", "PDF", "XML", "XLS_REP", "DB")
DEFAULT_FILES_PER_DATASET = 20
MAX_FILES_PER_DATASET = 500


class CatalogClient(Protocol):
    async def get_data_catalog(self, **params: Any) -> DataCatalog: ...


class CatalogFile(BaseModel):
    resource_id: str
    name: str | None = None
    table_no: str | None = None
    format: str | None = Field(default=None, description="XLS, CSV, PDF, XML, XLS_REP or DB")
    url: str | None = Field(default=None, description="Download address (or the database page for DB)")
    release_date: str | None = None
    last_modified_date: str | None = None


class CatalogDatasetResult(BaseModel):
    dataset_id: str
    title: str | None = None
    survey: str | None = None
    stats_code: str | None = None
    organisation: str | None = None
    survey_date: str | None = None
    landing_page: str | None = None
    files_total: int = Field(description="Files (resources) of this dataset in the catalog answer")
    files: list[CatalogFile] = Field(description="The first files_per_dataset files")


class FileSearchResult(BaseModel):
    """search_estat_files' answer."""

    query: str
    search_word: str = Field(description="The searchWord sent to e-Stat (keywords joined with AND)")
    keywords: list[str]
    filters: SearchFilters
    data_types: list[str] = Field(default_factory=list)
    total_hits: int = Field(description="Catalog datasets matching the query itself (e-Stat's NUMBER)")
    datasets: list[CatalogDatasetResult]
    more_available: bool = Field(description="More datasets match than are listed (raise max_results or narrow)")
    suggestions: list[Suggestion] = Field(default_factory=list, description="Rewritten searches with hit counts")
    showing: Suggestion | None = Field(
        default=None,
        description="When the query found nothing: the rewritten search whose datasets are listed instead",
    )
    notes: list[str] = Field(default_factory=list)
    truncated: list[str] = Field(default_factory=list)
    credit: str = CREDIT_NOTICE


def validate_data_types(data_types: Sequence[str] | None) -> list[str]:
    wanted = [str(item).strip().upper() for item in data_types or () if str(item).strip()]
    unknown = [item for item in wanted if item not in DATA_TYPES]
    if unknown:
        raise InputError(f"data_types must be among {', '.join(DATA_TYPES)}; got {', '.join(unknown)}")
    return list(dict.fromkeys(wanted))


def _catalog_params(plan_params: Mapping[str, str], data_types: Sequence[str], lang: str) -> dict[str, str]:
    params = dict(plan_params)
    params.pop("collectArea", None)  # not a getDataCatalog parameter
    if data_types:
        params["dataType"] = ",".join(data_types)
    if lang == "E":
        params["lang"] = "E"
    return params


def _dataset(node: Mapping[str, Any], files_per_dataset: int) -> CatalogDatasetResult:
    resources = node.get("resources") or []
    return CatalogDatasetResult(
        dataset_id=node["dataset_id"],
        title=node.get("title"),
        survey=node.get("stat_name"),
        stats_code=node.get("stat_code"),
        organisation=node.get("organization"),
        survey_date=node.get("survey_date"),
        landing_page=node.get("landing_page"),
        files_total=len(resources),
        files=[CatalogFile(**resource) for resource in resources[:files_per_dataset]],
    )


async def search_files(
    client: CatalogClient,
    query: str,
    filters: SearchFilters | None = None,
    *,
    data_types: Sequence[str] | None = None,
    max_results: int = 10,
    files_per_dataset: int = DEFAULT_FILES_PER_DATASET,
    auto_suggest: bool = True,
    lang: str = "J",
    budget: int = TOOL_RESULT_BUDGET_BYTES,
    too_many_hits: int | None = None,
) -> FileSearchResult:
    """Search the catalog (see the module docstring)."""
    from estat_aws_mcp.estat.search import (
        TOO_MANY_HITS,
        build_plan,
        counted_suggestions,
        validate_max_results,
        validate_query,
    )

    too_many_hits = TOO_MANY_HITS if too_many_hits is None else too_many_hits

    validate_query(query)
    validate_max_results(max_results)
    if lang not in ("J", "E"):
        raise InputError(f"lang must be 'J' (Japanese) or 'E' (English); got {lang!r}")
    if not 1 <= files_per_dataset <= MAX_FILES_PER_DATASET:
        raise InputError(f"files_per_dataset must be between 1 and {MAX_FILES_PER_DATASET}")
    types = validate_data_types(data_types)
    filters = filters or SearchFilters()
    if filters.collect_area is not None:
        raise InputError("collect_area is not a filter of the data catalog; leave it out for search_estat_files")
    plan = build_plan(query, filters)
    notes = list(plan.notes)

    async def fetch(params: Mapping[str, str]) -> DataCatalog:
        return await client.get_data_catalog(**_catalog_params(params, types, lang), limit=max_results)

    async def count(params: Mapping[str, str]) -> int:
        return (await client.get_data_catalog(**_catalog_params(params, types, lang), limit=1))["number"]

    catalog = await fetch(plan.params())
    split = plan.split() if catalog["number"] == 0 else None
    if split is not None:
        split_catalog = await fetch(split.params())
        if split_catalog["number"]:
            notes.append(f"No dataset matched {plan.search_word}; showing {split.search_word} (compound words split).")
            notes.extend(note for note in split.notes if note not in notes)
            plan, catalog, split = split, split_catalog, None
    total = catalog["number"]
    if catalog.get("partial"):
        notes.append(f"e-Stat answered with a partial result (STATUS 2): {catalog.get('error_msg')}")

    suggestions: list[Suggestion] = []
    showing: Suggestion | None = None
    if total > too_many_hits and auto_suggest:  # narrower searches, from the datasets just read
        from estat_aws_mcp.estat.search import FetchedPool

        rows = [
            {
                "stats_data_id": node["dataset_id"],
                "stat_code": node.get("stat_code"),
                "stat_name": node.get("stat_name"),
                "survey_date": node.get("survey_date"),
            }
            for node in catalog["datasets"]
        ]
        suggestions, more_notes = await counted_suggestions(
            None,
            plan,
            filters,
            FetchedPool(total, rows),
            hit_status="too_many",
            too_many_hits=too_many_hits,
            failed_split=None,
            counter=count,
        )
        notes.extend(more_notes)
    if total == 0 and auto_suggest:
        from estat_aws_mcp.estat.search import FetchedPool

        suggestions, more_notes = await counted_suggestions(
            None,
            plan,
            filters,
            FetchedPool(),
            hit_status="none",
            too_many_hits=0,
            failed_split=split,
            counter=count,
        )
        notes.extend(more_notes)
        if suggestions:
            showing = suggestions[0]
            shown_plan = build_plan(showing.query, showing.filters)
            shown = await fetch(shown_plan.params())
            if shown["number"]:
                catalog = shown
                notes.append(
                    f"No dataset matched {plan.search_word}; showing the {showing.hit_count} dataset(s) of "
                    f"{shown_plan.search_word} instead ({showing.reason.rstrip('.')})."
                )
            else:
                showing = None
    datasets = [_dataset(node, files_per_dataset) for node in catalog["datasets"]]
    result = FileSearchResult(
        query=query,
        search_word=plan.search_word,
        keywords=list(plan.keywords),
        filters=plan.filters,
        data_types=types,
        total_hits=total,
        datasets=datasets,
        more_available=catalog["next_key"] is not None,
        suggestions=suggestions,
        showing=showing,
        notes=notes,
    )
    return fit_to_budget(result, budget)


def fit_to_budget(result: FileSearchResult, budget: int = TOOL_RESULT_BUDGET_BYTES) -> FileSearchResult:
    """Halve the files listed per dataset, then the datasets, until the answer fits."""
    if result_wire_bytes(result) <= budget:
        return result
    while result_wire_bytes(result) > budget and any(len(d.files) > 1 for d in result.datasets):
        for dataset in result.datasets:
            dataset.files = dataset.files[: max(1, len(dataset.files) // 2)]
    while result_wire_bytes(result) > budget and len(result.datasets) > 1:
        result.datasets = result.datasets[: len(result.datasets) // 2]
        result.more_available = True
    result.truncated.append(f"files and datasets listed were cut to fit {budget} bytes")
    return result
