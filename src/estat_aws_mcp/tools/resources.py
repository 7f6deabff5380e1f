"""MCP resources and prompts: datasets and table metadata as resources, and a guided-analysis prompt.

- ``estat://datasets/{dataset_id}``: a stored dataset's manifest and schema (JSON). Every dataset in the
  store is listed by ``resources/list`` (newest first, at most :data:`LISTED_DATASETS`), and any dataset
  id can be read through the template.
- ``estat://tables/{stats_data_id}``: an e-Stat table's metadata (the answer of ``describe_estat_table``
  with its default paging), read from e-Stat when the resource is read.
- Prompt ``analyze_estat_statistics``: walks a model through search → describe → fetch → SQL, with the
  hierarchy rule (aggregate one level) and the credit notice.

The core functions (:func:`dataset_resource`, :func:`table_resource`, :func:`analysis_prompt`) are
plain Python, so the CLI and tests can use them without a session.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.types import Resource

from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.sdk import low_level_server
from estat_aws_mcp.tools.errors import in_worker_thread, tool_errors

DATASET_URI_PREFIX = "estat://datasets/"
DATASET_URI_TEMPLATE = DATASET_URI_PREFIX + "{dataset_id}"
TABLE_URI_TEMPLATE = "estat://tables/{stats_data_id}"
JSON_MIME = "application/json"
#: datasets listed by resources/list (newest first); older ones stay readable through the template
LISTED_DATASETS = 100
#: longest list echoed per filter in a dataset resource (the manifest file keeps every entry)
ECHO_LIST_LIMIT = 200

DATASET_RESOURCE_DESCRIPTION = (
    "A dataset in the store (a dataset_id from a fetch tool or list_datasets): where it came from (e-Stat "
    "table, filters, UPDATED_DATE, when fetched), its row count, axes and columns with their meaning, its URIs "
    "and the e-Stat credit notice."
)
TABLE_RESOURCE_DESCRIPTION = (
    "An e-Stat table's metadata, read from e-Stat: title, survey, dates, total rows, data notes and every axis "
    "with its items (code, name, level, parent code, unit); the same answer as describe_estat_table."
)
PROMPT_DESCRIPTION = (
    "Answer a question with Japan's official statistics: search e-Stat, understand the table, fetch only "
    "what is needed, aggregate with SQL without double-counting hierarchy levels, and cite e-Stat."
)

_TRAILING_MEANINGS = {
    "unit": "the row's unit (e.g. 人, 円, %)",
    "value": "the cell as a number (null where e-Stat sent a marker such as *** or -; see note)",
    "value_raw": "the cell exactly as e-Stat sent it",
    "note": "meaning of a marker cell, from the table's NOTE",
    "annotation": "e-Stat's annotation mark for the cell, if any",
    "time_start": "first day of the period the time code stands for",
    "time_end": "last day of that period",
    "time_granularity": "year, fiscal_year, half, quarter, month, day, range … (null when no rule covers the code)",
}
_AXIS_SUFFIX_MEANINGS = {
    "parent_code": "code of the {label} item's parent in the hierarchy",
    "code": "item code of the {label} axis",
    "name": "item name of the {label} axis",
    "level": "hierarchy level of the {label} item (aggregate ONE level, e.g. {axis}_level = '2')",
}


def column_meaning(name: str, axis_names: dict[str, str]) -> str:
    """A short description of a dataset column."""
    if name in _TRAILING_MEANINGS:
        return _TRAILING_MEANINGS[name]
    for suffix, template in _AXIS_SUFFIX_MEANINGS.items():
        if name.endswith(f"_{suffix}"):
            axis = name[: -len(suffix) - 1]
            label = f"{axis} ({axis_names[axis]})" if axis_names.get(axis) else axis
            return template.format(axis=axis, label=label)
    return ""


def _abbreviated(filters: dict[str, Any]) -> dict[str, Any]:
    short: dict[str, Any] = {}
    for axis, echo in filters.items():
        if isinstance(echo, dict):
            entry: dict[str, Any] = {}
            for key, value in echo.items():
                if isinstance(value, list) and len(value) > ECHO_LIST_LIMIT:
                    entry[key] = value[:ECHO_LIST_LIMIT]
                    entry[f"{key}_total"] = len(value)
                else:
                    entry[key] = value
            short[axis] = entry
        else:
            short[axis] = echo
    return short


def dataset_resource(dataset_id: str) -> str:
    """The JSON text of ``estat://datasets/<dataset_id>`` (an unknown id is an InputError)."""
    from estat_aws_mcp.datasets.manifest import MANIFEST_FILE, dataset_key, load_manifest
    from estat_aws_mcp.datasets.store import open_store
    from estat_aws_mcp.settings import get_settings

    store = open_store(get_settings().storage_uri)
    manifest = load_manifest(store, dataset_id)
    table = manifest.extra.get("table") or {}
    axis_names = {axis.get("id"): axis.get("name") for axis in table.get("axes", []) if isinstance(axis, dict)}
    columns = [{**column, "description": column_meaning(column["name"], axis_names)} for column in manifest.columns]
    document = {
        "uri": DATASET_URI_PREFIX + manifest.dataset_id,
        "dataset_id": manifest.dataset_id,
        "stats_data_id": manifest.stats_data_id,
        "title": manifest.title,
        "survey": manifest.survey,
        "organisation": manifest.organisation,
        "updated_date": manifest.updated_date,
        "fetched_at": manifest.created_at,
        "row_count": manifest.row_count,
        "axes": manifest.axes,
        "filters": _abbreviated(manifest.filters),
        "columns": columns,
        "table": table,
        "fetch": {k: v for k, v in manifest.extra.items() if k in ("fetch_mode", "requests", "pages", "total_number")},
        "data_uri": store.uri_for(manifest.data_key),
        "manifest_uri": store.uri_for(dataset_key(manifest.dataset_id, MANIFEST_FILE)),
        "how_to_use": (
            "load_to_iceberg(dataset_id, table) then analyze_with_athena(sql); save_dataset_as_csv or "
            "transform_to_parquet for files; delete_dataset to remove it."
        ),
        "credit": manifest.credit or CREDIT_NOTICE,
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def dataset_resources(limit: int = LISTED_DATASETS) -> list[Resource]:
    """The newest datasets of the store as concrete resources (for resources/list)."""
    from estat_aws_mcp.datasets.inventory import list_datasets
    from estat_aws_mcp.datasets.store import open_store
    from estat_aws_mcp.settings import get_settings

    listing = list_datasets(open_store(get_settings().storage_uri), limit=limit)
    return [
        Resource(
            uri=DATASET_URI_PREFIX + info.dataset_id,  # type: ignore[arg-type]
            name=info.dataset_id,
            title=f"{info.title or info.stats_data_id} ({info.rows:,} rows)",
            description=f"e-Stat table {info.stats_data_id}, fetched {info.fetched_at}, UPDATED_DATE {info.updated_date}",
            mimeType=JSON_MIME,
            size=None,
        )
        for info in listing.datasets
    ]


async def table_resource(stats_data_id: str) -> str:
    """The JSON text of ``estat://tables/<stats_data_id>``: describe_estat_table's answer."""
    from estat_aws_mcp.estat.client import EstatClient
    from estat_aws_mcp.estat.describe import describe_table

    async with EstatClient() as client:
        description = await describe_table(client, stats_data_id)
    return description.model_dump_json(indent=1)


def analysis_prompt(question: str, area: str | None = None, years: str | None = None) -> str:
    """The text of the ``analyze_estat_statistics`` prompt."""
    scope = "".join(
        [f"\nArea of interest: {area}." if area else "", f"\nPeriod of interest: {years}." if years else ""]
    )
    return f"""Answer this question with Japan's official statistics from e-Stat: {question}{scope}

Work in these steps, using the estat-aws-mcp tools:

1. Find tables: search_estat_data with the question's key words in Japanese (e.g. 人口 東京都, 賃金 平均).
   If nothing fits, try a suggestion it returns (apply_keyword_suggestions). Pick the table whose title,
   survey and date match the question; note its stats_data_id.
2. Understand it: describe_estat_table(stats_data_id). Read the axes (tab, cat01…, area, time), their
   items and units, and hierarchical_axes. For a large axis, search it (axis='area', search='東京').
   The data notes say what markers such as *** or - mean.
3. Fetch only what is needed: fetch_dataset_filtered with codes or names from step 2 (e.g.
   {{"area": ["13000"], "time": {{"from": "2015年", "to": "2020年"}}}}), or fetch_dataset_auto for a small
   table. A small result comes back inline in `rows`: then answer from it directly.
4. For larger results, load_to_iceberg(dataset_id, table='some_name') and query with
   analyze_with_athena. On a hierarchical axis aggregate ONE level (e.g. WHERE area_level = '2' for the
   prefectures): summing all levels counts the national total and its parts together. Filter tab/cat
   totals (総数) the same way. Aggregate in SQL instead of reading raw rows.
5. Answer with the numbers, their unit, the period and area they cover, the table's title and
   stats_data_id, and any marker cells that were left out.

Always show this credit notice with e-Stat data:
{CREDIT_NOTICE}"""


def register(mcp: FastMCP) -> None:
    @mcp.resource(
        DATASET_URI_TEMPLATE,
        name="dataset",
        title="Stored dataset (manifest and schema)",
        description=DATASET_RESOURCE_DESCRIPTION,
        mime_type=JSON_MIME,
    )
    async def dataset(dataset_id: str) -> str:
        return await in_worker_thread(dataset_resource, dataset_id)

    @mcp.resource(
        TABLE_URI_TEMPLATE,
        name="estat_table",
        title="e-Stat table metadata",
        description=TABLE_RESOURCE_DESCRIPTION,
        mime_type=JSON_MIME,
    )
    async def estat_table(stats_data_id: str) -> str:
        with tool_errors():
            return await table_resource(stats_data_id)

    async def list_resources() -> list[Resource]:
        static = await mcp.list_resources()
        return [*static, *await in_worker_thread(dataset_resources)]

    low_level_server(mcp).list_resources()(list_resources)  # every stored dataset, not only static resources

    @mcp.prompt(name="analyze_estat_statistics", title="Analyse e-Stat statistics", description=PROMPT_DESCRIPTION)
    def analyze_estat_statistics(question: str, area: str | None = None, years: str | None = None) -> str:
        return analysis_prompt(question, area, years)
