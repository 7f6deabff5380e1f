"""What a table is before it is fetched: getMetaInfo (and one tiny getStatsData probe) as a description.

:func:`describe_table` returns a :class:`TableDescription`: the table's information (title, survey,
cycle, survey date, updated date, total rows), every axis with its item count, whether it is
hierarchical (``@level`` / ``@parentCode``, e.g. 全国 → 都道府県 → 市区町村) and its items (code, name,
level, parent code, unit; time items also get dates, see :mod:`estat_aws_mcp.estat.timecodes`), the
axis explanations, the table's explanation texts, and the NOTE of the data (special characters such as
``***`` or ``X`` and their meaning, read from a ``limit=1`` getStatsData that also gives the exact row
count).

Huge axes (thousands of municipalities) are paged: each axis lists at most ``max_items`` items from
``offset``, and ``search`` (a name substring or a code prefix), ``level`` and ``parent_code`` narrow them
inside the tool. The answer is kept within :data:`~estat_aws_mcp.limits.TOOL_RESULT_BUDGET_BYTES`.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from estat_aws_mcp.errors import EstatMcpError, InputError
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from estat_aws_mcp.estat.normalize import ClassAxis, MetaInfo, StatsData
from estat_aws_mcp.estat.timecodes import parse_time_code
from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES, result_wire_bytes

Lang = Literal["J", "E"]

DEFAULT_MAX_ITEMS = 100
MAX_ITEMS_LIMIT = 2000
#: Longest explanation text kept (table and axis explanations can be pages long).
EXPLANATION_CHARS = 2000


class MetaSource(Protocol):
    async def get_meta_info(self, stats_data_id: str, **params: Any) -> MetaInfo: ...

    async def get_stats_data(self, stats_data_id: str, **params: Any) -> StatsData: ...


class AxisItem(BaseModel):
    code: str
    name: str
    level: str | None = Field(
        default=None, description="Hierarchy level ('1' = top, e.g. 全国); None if e-Stat gives none"
    )
    parent_code: str | None = Field(default=None, description="Code of the parent item (e.g. the prefecture of a city)")
    unit: str | None = None
    time_start: str | None = Field(default=None, description="Time items: first day of the period (ISO date)")
    time_end: str | None = Field(default=None, description="Time items: last day of the period (ISO date)")
    time_granularity: str | None = Field(
        default=None, description="Time items: year, fiscal_year, half, quarter, month, range or day"
    )


class AxisDescription(BaseModel):
    id: str = Field(description="Axis id: tab, cat01..cat15, area or time (the <axis>_ prefix of dataset columns)")
    name: str
    explanation: str | None = None
    item_count: int = Field(description="Items on this axis in the table")
    hierarchical: bool = Field(description="Items form a hierarchy (levels / parent codes): do not sum across levels")
    levels: dict[str, int] = Field(default_factory=dict, description="Items per level, e.g. {'1': 1, '2': 47}")
    units: list[str] = Field(default_factory=list, description="Distinct units of the items (up to 20)")
    matched: int = Field(description="Items matching search/level/parent_code (= item_count without them)")
    offset: int
    items: list[AxisItem]
    next_offset: int | None = Field(default=None, description="Pass as offset (with axis=this id) for the next items")
    notes: list[str] = Field(default_factory=list)

    def summary(self) -> AxisDescription:
        """The axis without its items (another axis was asked for); next_offset 0 lists them."""
        return self.model_copy(update={"items": [], "offset": 0, "next_offset": 0 if self.item_count else None})


class DataNote(BaseModel):
    char: str = Field(description="The special character as it appears in value_raw, e.g. *** or X")
    meaning: str


class TableDescription(BaseModel):
    """describe_estat_table's answer."""

    stats_data_id: str
    lang: Lang
    title: str | None = None
    survey: str | None = Field(default=None, description="The statistics (survey), e.g. 国勢調査")
    stats_code: str | None = None
    statistics_name: str | None = None
    organisation: str | None = None
    cycle: str | None = None
    survey_date: str | None = None
    open_date: str | None = None
    updated_date: str | None = None
    collect_area: str | None = None
    main_category: str | None = None
    sub_category: str | None = None
    total_rows: int | None = Field(default=None, description="Data values in the whole table")
    explanation: dict[str, str] = Field(default_factory=dict, description="The table's explanation texts")
    axes: list[AxisDescription]
    hierarchical_axes: list[str] = Field(
        description="Axes whose items nest (e.g. area: 全国 > 都道府県 > 市区町村). Aggregate one level at a time "
        "(WHERE area_level = '2'), or the totals count the parents and their children together."
    )
    data_notes: list[DataNote] = Field(
        default_factory=list, description="Special characters in the data and their meaning (e-Stat's NOTE)"
    )
    notes: list[str] = Field(default_factory=list)
    truncated: list[str] = Field(default_factory=list, description="Parts shortened to fit the result budget")
    credit: str = CREDIT_NOTICE


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _text(value: Any, limit: int = EXPLANATION_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_hierarchical(axis: ClassAxis) -> bool:
    """Items nest when any has a parent code or the axis has more than one level."""
    items = axis["items"]
    return any(item["parent_code"] for item in items) or len({item["level"] for item in items if item["level"]}) > 1


def _matches(item: Mapping[str, Any], search: str | None, level: str | None, parent_code: str | None) -> bool:
    if level is not None and (item["level"] or "") != level:
        return False
    if parent_code is not None and (item["parent_code"] or "") != parent_code:
        return False
    if search:
        folded = _fold(search)
        return item["code"].startswith(search) or folded in _fold(item["name"])
    return True


def describe_axis(
    axis: ClassAxis,
    *,
    offset: int = 0,
    max_items: int = DEFAULT_MAX_ITEMS,
    search: str | None = None,
    level: str | None = None,
    parent_code: str | None = None,
) -> AxisDescription:
    items = axis["items"]
    selected = [item for item in items if _matches(item, search, level, parent_code)]
    page = selected[offset : offset + max_items]
    described = []
    notes: list[str] = []
    for item in page:
        extra: dict[str, Any] = {}
        if axis["id"] == "time":
            period = parse_time_code(item["code"], item["name"])
            if period.mapped:
                extra = {
                    "time_start": period.start.isoformat(),  # type: ignore[union-attr]
                    "time_end": period.end.isoformat(),  # type: ignore[union-attr]
                    "time_granularity": period.granularity,
                }
            elif period.note:
                notes.append(period.note)
        described.append(
            AxisItem(
                code=item["code"],
                name=item["name"],
                level=item["level"],
                parent_code=item["parent_code"],
                unit=item["unit"],
                **extra,
            )
        )
    levels = Counter(item["level"] for item in items if item["level"])
    units = list(dict.fromkeys(item["unit"] for item in items if item["unit"]))[:20]
    end = offset + len(page)
    return AxisDescription(
        id=axis["id"],
        name=axis["name"],
        explanation=_text(axis["explanation"]) if axis["explanation"] else None,
        item_count=len(items),
        hierarchical=is_hierarchical(axis),
        levels=dict(sorted(levels.items(), key=lambda kv: (len(kv[0]), kv[0]))),
        units=units,
        matched=len(selected),
        offset=offset,
        items=described,
        next_offset=end if end < len(selected) else None,
        notes=notes,
    )


def lang_params(lang: str) -> dict[str, str]:
    """e-Stat's ``lang`` parameter: sent only for English (Japanese is e-Stat's default)."""
    if lang not in ("J", "E"):
        raise InputError(f"lang must be 'J' (Japanese) or 'E' (English); got {lang!r}")
    return {"lang": "E"} if lang == "E" else {}


async def describe_table(
    client: MetaSource,
    stats_data_id: str,
    *,
    lang: Lang = "J",
    axis: str | None = None,
    search: str | None = None,
    level: str | None = None,
    parent_code: str | None = None,
    offset: int = 0,
    max_items: int = DEFAULT_MAX_ITEMS,
    include_data_notes: bool = True,
    budget: int = TOOL_RESULT_BUDGET_BYTES,
) -> TableDescription:
    """Describe a table (see the module docstring). ``axis`` limits items (and search/level/parent_code/
    offset) to one axis; the other axes are then summarised without items."""
    from estat_aws_mcp.datasets.fetch import normalise_stats_data_id

    stats_data_id = normalise_stats_data_id(stats_data_id)
    if offset < 0:
        raise InputError("offset must be 0 or more")
    if not 1 <= max_items <= MAX_ITEMS_LIMIT:
        raise InputError(f"max_items must be between 1 and {MAX_ITEMS_LIMIT}")
    extra = lang_params(lang)
    meta_call = client.get_meta_info(stats_data_id, explanationGetFlg="Y", **extra)
    if include_data_notes:
        probe = client.get_stats_data(
            stats_data_id, limit=1, metaGetFlg="N", explanationGetFlg="N", annotationGetFlg="N", **extra
        )
        meta, data = await asyncio.gather(meta_call, probe, return_exceptions=True)
        if isinstance(meta, BaseException):
            raise meta
    else:
        meta, data = await meta_call, None
    assert not isinstance(meta, BaseException)
    notes: list[str] = []
    if isinstance(data, BaseException):
        if not isinstance(data, EstatMcpError):
            raise data
        notes.append(f"The data's special characters (NOTE) could not be read: {data}")
        data = None

    axes = meta["classes"]
    if not axes and meta.get("status") == 1:
        raise InputError(f"e-Stat has no metadata for table {stats_data_id} (STATUS 1: no data).")
    if axis is not None and axis not in {a["id"] for a in axes}:
        raise InputError(f"table {stats_data_id} has no axis {axis!r}; its axes are {', '.join(a['id'] for a in axes)}")
    described = []
    for class_axis in axes:
        if axis is None or class_axis["id"] == axis:
            described.append(
                describe_axis(
                    class_axis, offset=offset, max_items=max_items, search=search, level=level, parent_code=parent_code
                )
            )
        else:
            described.append(describe_axis(class_axis, max_items=1).summary())

    table = meta.get("table") or {}
    description = table.get("description")
    explanation: dict[str, str] = {}
    if isinstance(description, dict):
        explanation = {str(k): _text(v) for k, v in description.items() if v not in (None, "")}
    elif description:
        explanation = {"DESCRIPTION": _text(description)}
    total_rows = table.get("overall_total_number")
    data_notes: list[DataNote] = []
    if data is not None:
        total_rows = data["total_number"] or total_rows
        data_notes = [DataNote(char=char, meaning=meaning) for char, meaning in data["notes"].items()]
    hierarchical = [a.id for a in described if a.hierarchical]
    if hierarchical:
        first = next(a for a in described if a.id == hierarchical[0])
        example = list(first.levels)[1] if len(first.levels) > 1 else "2"
        notes.append(
            f"Hierarchical axes: {', '.join(hierarchical)}. Fetched datasets carry <axis>_level and "
            f"<axis>_parent_code columns; aggregate one level at a time (e.g. WHERE {first.id}_level = "
            f"'{example}') so parents and children are not counted together."
        )
    if lang == "E" and table.get("title") and not table.get("title", "").isascii():
        notes.append("e-Stat has no English title for this table; Japanese names are shown where English is missing.")
    result = TableDescription(
        stats_data_id=table.get("stats_data_id") or stats_data_id,
        lang=lang,
        title=table.get("title"),
        survey=table.get("stat_name"),
        stats_code=table.get("stat_code"),
        statistics_name=table.get("statistics_name"),
        organisation=table.get("gov_org"),
        cycle=table.get("cycle"),
        survey_date=table.get("survey_date"),
        open_date=table.get("open_date"),
        updated_date=table.get("updated_date"),
        collect_area=table.get("collect_area"),
        main_category=table.get("main_category"),
        sub_category=table.get("sub_category"),
        total_rows=total_rows,
        explanation=explanation,
        axes=described,
        hierarchical_axes=hierarchical,
        data_notes=data_notes,
        notes=notes,
    )
    return fit_to_budget(result, budget)


def fit_to_budget(result: TableDescription, budget: int = TOOL_RESULT_BUDGET_BYTES) -> TableDescription:
    """Halve the listed items of the longest axes until the answer fits (paging still reaches the rest)."""
    if result_wire_bytes(result) <= budget:
        return result
    result.explanation = {key: _text(value, 300) for key, value in result.explanation.items()}
    while result_wire_bytes(result) > budget:
        longest = max(result.axes, key=lambda a: len(a.items), default=None)
        if longest is None or len(longest.items) <= 1:
            break
        keep = len(longest.items) // 2
        longest.items = longest.items[:keep]
        longest.next_offset = longest.offset + keep
    shown = ", ".join(f"{a.id} {len(a.items)}/{a.matched}" for a in result.axes)
    result.truncated.append(f"item lists shortened to fit {budget} bytes ({shown}); page with axis + offset")
    return result
