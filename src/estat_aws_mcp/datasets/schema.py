"""The normalised long schema of a dataset, and the conversion of e-Stat VALUE pages into it.

One row per e-Stat VALUE. For each axis the table has (``tab``, ``cat01``…``cat15``, ``area``,
``time``, in that order) the columns ``<axis>_code``, ``<axis>_name``, ``<axis>_level`` (the item's
``@level``: "1" is the top, e.g. 全国, "2" the prefectures...; null when e-Stat gives none) and
``<axis>_parent_code`` (the item's ``@parentCode``), so that one level can be aggregated without counting
parents and children together (``WHERE area_level = '2'``). A table with a time axis also has
``time_start`` and ``time_end`` (dates) and ``time_granularity`` (year, fiscal_year, half, quarter,
month, range, day) right after the time columns, derived from the time code by the rules of
:mod:`estat_aws_mcp.estat.timecodes` (null for a code no rule covers; the fetch result then says so); then

- ``unit``: the row's ``@unit``, else the unit of the first class item along the axes that has one;
- ``value``: float64 by the one rule shared with :func:`estat_aws_mcp.estat.normalize.parse_value`
  (:data:`~estat_aws_mcp.estat.normalize.NUMBER_PATTERN`): a cell that is a number is that number, also
  when NOTE declares it (tables declare ``0``, "the total is zero": value 0.0, its meaning in ``note``);
  null where e-Stat sent a marker (or anything else that is not a number); a clock time that the
  response's NOTE declares (time-use tables: ``"2:35"``, meaning 時刻) is a real value, not a missing
  one, and becomes minutes since 0:00 (155.0);
- ``value_raw``: the string exactly as e-Stat sent it;
- ``note``: the meaning of a NOTE-declared cell, read from the same response's ``NOTE`` (never a
  built-in list);
- ``annotation``: the row's ``@anno`` (annotation mark) when e-Stat sent one.

Names come from the metadata (``getMetaInfo``'s CLASS_INF) joined by code, so every page of a table
gets the same labels whatever each page's own CLASS_INF says (with ``metaGetFlg=Y`` e-Stat narrows it
to the filter). The conversion is columnar: the VALUE attributes become Arrow string columns (read by
Arrow's CSV or JSON reader from the raw page, or one pass per attribute over the VALUE dicts), then vectorised
joins and casts; pyarrow is imported only when a conversion runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from estat_aws_mcp.errors import UpstreamError
from estat_aws_mcp.estat.normalize import CLOCK_TIME_PATTERN, NUMBER_PATTERN, MetaInfo, StatsData, cell_number

if TYPE_CHECKING:
    import pyarrow as pa

CATEGORY_AXES: tuple[str, ...] = tuple(f"cat{i:02d}" for i in range(1, 16))
#: Every axis e-Stat knows, in the column order of the normalised schema.
AXIS_ORDER: tuple[str, ...] = ("tab", *CATEGORY_AXES, "area", "time")
TRAILING_COLUMNS: tuple[str, ...] = ("unit", "value", "value_raw", "note", "annotation")
TIME_COLUMNS: tuple[str, ...] = ("time_start", "time_end", "time_granularity")
DATE_COLUMNS = frozenset({"time_start", "time_end"})

_AXIS_ID = re.compile(r"^(tab|cat(0[1-9]|1[0-5])|area|time)$")


def is_axis_id(axis: str) -> bool:
    return bool(_AXIS_ID.match(axis))


@dataclass(frozen=True)
class ClassItem:
    code: str
    name: str
    level: str = ""
    unit: str | None = None
    parent_code: str | None = None


@dataclass
class AxisInfo:
    """One CLASS_OBJ: an axis and its items."""

    id: str
    name: str
    items: list[ClassItem] = field(default_factory=list)

    @property
    def hierarchical(self) -> bool:
        return any(item.parent_code for item in self.items) or len({i.level for i in self.items if i.level}) > 1

    @property
    def levels(self) -> dict[str, int]:
        """Items per level, e.g. ``{"1": 1, "2": 47}`` (items without a level are not counted)."""
        counts: dict[str, int] = {}
        for item in self.items:
            if item.level:
                counts[item.level] = counts.get(item.level, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (len(kv[0]), kv[0])))


@dataclass
class TableMetadata:
    """What getMetaInfo says about a table: its description and its axes in schema order."""

    stats_data_id: str
    title: str | None = None
    survey: str | None = None
    organisation: str | None = None
    statistics_name: str | None = None
    updated_date: str | None = None
    survey_date: str | None = None
    open_date: str | None = None
    cycle: str | None = None
    collect_area: str | None = None
    overall_total_number: int | None = None
    axes: list[AxisInfo] = field(default_factory=list)

    @property
    def axis_ids(self) -> list[str]:
        return [axis.id for axis in self.axes]

    def axis(self, axis_id: str) -> AxisInfo | None:
        return next((axis for axis in self.axes if axis.id == axis_id), None)

    @property
    def cell_count(self) -> int:
        """Item combinations of the axes: the most rows the table can have (one per cell)."""
        return math.prod(len(axis.items) for axis in self.axes)

    @property
    def hierarchical_axes(self) -> list[str]:
        """Axes whose items nest (a parent code, or more than one level): sum one level at a time."""
        return [axis.id for axis in self.axes if axis.hierarchical]

    def time_notes(self, limit: int = 10) -> list[str]:
        """One note per time code no rule maps (their time_start/time_end/time_granularity are null)."""
        time = self.axis("time")
        if time is None:
            return []
        from estat_aws_mcp.estat.timecodes import parse_time_code

        notes = [p.note for item in time.items if not (p := parse_time_code(item.code, item.name)).mapped and p.note]
        if len(notes) > limit:
            notes = [*notes[:limit], f"... and {len(notes) - limit} more time codes left null"]
        return notes

    def describe(self) -> dict[str, Any]:
        """The table's description for tool results and manifests (no class item lists)."""
        return {
            "stats_data_id": self.stats_data_id,
            "title": self.title,
            "survey": self.survey,
            "statistics_name": self.statistics_name,
            "organisation": self.organisation,
            "updated_date": self.updated_date,
            "survey_date": self.survey_date,
            "open_date": self.open_date,
            "cycle": self.cycle,
            "collect_area": self.collect_area,
            "axes": [
                {
                    "id": axis.id,
                    "name": axis.name,
                    "items": len(axis.items),
                    "hierarchical": axis.hierarchical,
                    "levels": axis.levels,
                }
                for axis in self.axes
            ],
            "hierarchical_axes": self.hierarchical_axes,
        }


def ordered_axes(axis_ids: Iterable[str]) -> list[str]:
    """Axis ids in schema order; an id e-Stat does not define is an upstream error, not a silent column."""
    ids = list(dict.fromkeys(axis_ids))
    unknown = [axis for axis in ids if not is_axis_id(axis)]
    if unknown:
        raise UpstreamError(f"e-Stat returned unknown axis ids {unknown}; expected tab, cat01..cat15, area, time")
    return sorted(ids, key=AXIS_ORDER.index)


def column_names(axes: Sequence[str]) -> list[str]:
    names: list[str] = []
    for axis in axes:
        names += [f"{axis}_code", f"{axis}_name", f"{axis}_level", f"{axis}_parent_code"]
        if axis == "time":
            names += TIME_COLUMNS
    return [*names, *TRAILING_COLUMNS]


def column_type(name: str) -> str:
    """``double`` (value), ``date`` (time_start, time_end) or ``string`` (everything else)."""
    return "double" if name == "value" else "date" if name in DATE_COLUMNS else "string"


def arrow_schema(axes: Sequence[str]) -> pa.Schema:
    """Codes and names as strings (codes such as "00000" must keep their zeros), value as float64,
    time_start/time_end as dates."""
    import pyarrow as pa

    types = {"double": pa.float64(), "date": pa.date32(), "string": pa.string()}
    return pa.schema([pa.field(name, types[column_type(name)]) for name in column_names(axes)])


def schema_description(axes: Sequence[str]) -> list[dict[str, str]]:
    """``[{"name", "type"}]`` as stored in manifests and returned by tools."""
    return [{"name": name, "type": column_type(name)} for name in column_names(axes)]


def table_metadata(stats_data_id: str, meta: MetaInfo | StatsData) -> TableMetadata:
    """Our view of a normalised getMetaInfo (or getStatsData with metaGetFlg=Y) response."""
    table = meta.get("table") or {}
    axes = {
        axis["id"]: AxisInfo(
            id=axis["id"],
            name=axis["name"],
            items=[
                ClassItem(
                    code=item["code"],
                    name=item["name"],
                    level=item["level"] or "",
                    unit=item["unit"],
                    parent_code=item["parent_code"],
                )
                for item in axis["items"]
            ],
        )
        for axis in meta.get("classes") or []
    }
    return TableMetadata(
        stats_data_id=table.get("stats_data_id") or stats_data_id,
        title=table.get("title"),
        survey=table.get("stat_name"),
        organisation=table.get("gov_org"),
        statistics_name=table.get("statistics_name"),
        updated_date=table.get("updated_date"),
        survey_date=table.get("survey_date"),
        open_date=table.get("open_date"),
        cycle=table.get("cycle"),
        collect_area=table.get("collect_area"),
        overall_total_number=table.get("overall_total_number"),
        axes=[axes[axis_id] for axis_id in ordered_axes(axes)],
    )


class PageConverter:
    """Turns the VALUE list of one getStatsData page into an Arrow record batch of the normalised schema.

    Built once per table from its metadata: the code→name and code→unit lookups are Arrow arrays,
    so each page costs a few vectorised kernels plus either one Python pass per attribute over the
    VALUE dicts (:meth:`convert`) or nothing per row at all when the VALUE array arrives as raw JSON
    (:meth:`convert_json_lines`, see :mod:`estat_aws_mcp.datasets.pages`).
    """

    def __init__(self, metadata: TableMetadata) -> None:
        import pyarrow as pa

        from estat_aws_mcp.datasets.memory import disable_transparent_huge_pages

        disable_transparent_huge_pages()  # pages come and go ~10 MB at a time: see datasets/memory.py
        self.axes = metadata.axis_ids
        self.schema = arrow_schema(self.axes)
        self._codes: dict[str, pa.Array] = {}
        #: per axis, the item attributes that become columns (name, level, parent code, and for the time
        #: axis its dates and granularity), each one value per item; None where no item has one (the
        #: column is then all null and needs no lookup)
        self._lookups: dict[str, list[pa.Array | None]] = {}
        self._units: dict[str, pa.Array] = {}
        for axis in metadata.axes:
            self._codes[axis.id] = pa.array([item.code for item in axis.items], pa.string())
            lookups = [
                pa.array([item.name for item in axis.items], pa.string()),
                pa.array([item.level or None for item in axis.items], pa.string()),
                pa.array([item.parent_code for item in axis.items], pa.string()),
            ]
            if any(item.unit for item in axis.items):
                self._units[axis.id] = pa.array([item.unit for item in axis.items], pa.string())
            if axis.id == "time":
                from estat_aws_mcp.estat.timecodes import parse_time_code

                periods = [parse_time_code(item.code, item.name) for item in axis.items]
                lookups += [
                    pa.array([p.start for p in periods], pa.date32()),
                    pa.array([p.end for p in periods], pa.date32()),
                    pa.array([p.granularity for p in periods], pa.string()),
                ]
            self._lookups[axis.id] = [None if lookup.null_count == len(lookup) else lookup for lookup in lookups]

    @property
    def attributes(self) -> list[str]:
        """The VALUE attributes read: one per axis, then ``@unit``, ``@anno`` and ``$`` (the cell)."""
        return [*(f"@{axis}" for axis in self.axes), "@unit", "@anno", "$"]

    def convert(self, values: Sequence[Mapping[str, Any]], notes: Mapping[str, str] | None = None) -> pa.RecordBatch:
        """``values``: DATA_INF.VALUE rows as sent; ``notes``: the same response's NOTE (marker -> meaning)."""
        import pyarrow as pa

        columns = {key: pa.array([row.get(key) for row in values], pa.string()) for key in self.attributes}
        return self.convert_columns(columns, notes)

    def convert_json_lines(
        self, value_lines: bytes | pa.Buffer, notes: Mapping[str, str] | None = None
    ) -> pa.RecordBatch:
        """VALUE objects one per line, read by Arrow without a Python object per row: by its CSV reader when
        every line has the same keys in the same order (:func:`~estat_aws_mcp.datasets.pages.read_uniform_lines`,
        e-Stat's pages), else by its JSON reader. Raises ``pyarrow.ArrowInvalid`` on anything unexpected
        (an unknown attribute, a value that is not a string, a broken line); callers then use :meth:`convert`."""
        import pyarrow as pa
        import pyarrow.json as pa_json

        from estat_aws_mcp.datasets.pages import read_uniform_lines

        if not len(value_lines) or (isinstance(value_lines, bytes) and not value_lines.strip()):
            return self.convert([], notes)
        uniform = read_uniform_lines(value_lines, self.attributes)
        if uniform is not None:
            return self.convert_columns(uniform, notes)
        schema = pa.schema([pa.field(key, pa.string()) for key in self.attributes])
        table = pa_json.read_json(
            pa.BufferReader(value_lines),
            read_options=pa_json.ReadOptions(block_size=1 << 20),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
        )
        return self.convert_columns({key: table.column(key).combine_chunks() for key in self.attributes}, notes)

    def convert_columns(
        self, columns: Mapping[str, pa.Array], notes: Mapping[str, str] | None = None
    ) -> pa.RecordBatch:
        """Columns of raw VALUE attributes (see :attr:`attributes`, all strings) -> the normalised batch."""
        import pyarrow as pa
        import pyarrow.compute as pc

        rows = len(columns["$"])
        arrays: list[pa.Array] = []
        row_unit = columns["@unit"]
        # A row's own @unit wins; the items' units are looked up only when some row lacks one.
        unit_candidates: list[pa.Array] = [row_unit]
        for axis in self.axes:
            codes = columns[f"@{axis}"]
            # Each lookup maps the item attributes (one value per code, computed once per table in
            # __init__) onto the rows by position; an all-null attribute needs no lookup.
            positions = pc.index_in(codes, value_set=self._codes[axis])
            arrays.append(codes)
            for lookup in self._lookups[axis]:
                arrays.append(pc.take(lookup, positions) if lookup is not None else None)
            if axis in self._units and row_unit.null_count:
                unit_candidates.append(pc.take(self._units[axis], positions))
        arrays = [
            array if array is not None else pa.nulls(rows, self.schema.field(index).type)
            for index, array in enumerate(arrays)
        ]
        unit = pc.coalesce(*unit_candidates) if len(unit_candidates) > 1 else row_unit

        value_raw = columns["$"]
        markers = dict(notes or {})
        if markers:
            marker_values = pa.array(list(markers), pa.string())
            # One hash lookup per cell gives the note, the declared markers that are not numbers (set
            # aside before the numbers are parsed) and the NOTE-declared clock times.
            marker_positions = pc.index_in(value_raw, value_set=marker_values)
            note = pc.take(pa.array(list(markers.values()), pa.string()), marker_positions)
            # A number is a number, NOTE-declared or not (note keeps the meaning).
            value = _parse_floats(value_raw, _declared_non_numbers(marker_values, marker_positions))
            value = _with_clock_minutes(value, marker_values, marker_positions)
        else:
            note = pa.nulls(rows, pa.string())
            value = _parse_floats(value_raw)
        arrays += [unit, value, value_raw, note, columns["@anno"]]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


def _with_clock_minutes(value: pa.Array, markers: pa.Array, marker_positions: pa.Array) -> pa.Array:
    """``value`` with NOTE-declared clock times (``"H:MM"``) as minutes since 0:00 (see the module doc).

    ``markers``: the NOTE-declared texts; ``marker_positions``: each cell's position in ``markers`` (null
    for a cell that is not declared). Whether a marker is a clock time, and its minutes, are computed
    once per declared marker, then taken onto the cells."""
    import pyarrow as pa
    import pyarrow.compute as pc

    clock = pc.fill_null(pc.match_substring_regex(markers, CLOCK_TIME_PATTERN), False)
    if not pc.any(clock).as_py():
        return value
    parts = pc.split_pattern(pc.if_else(clock, markers, pa.scalar(None, pa.string())), ":")
    hours = pc.cast(pc.list_element(parts, 0), pa.float64())
    minutes = pc.cast(pc.list_element(parts, 1), pa.float64())
    per_marker = pc.add(pc.multiply(hours, 60.0), minutes)  # null for a marker that is not a clock time
    per_cell = pc.take(per_marker, marker_positions)
    return pc.if_else(pc.is_valid(per_cell), per_cell, value)


def _declared_non_numbers(markers: pa.Array, marker_positions: pa.Array) -> pa.Array | None:
    """The cells that hold a NOTE-declared marker which is not a number (decided once per marker), as
    a boolean mask; None when there is no such cell."""
    import pyarrow.compute as pc

    not_number = pc.invert(pc.fill_null(pc.match_substring_regex(markers, NUMBER_PATTERN), False))
    if not pc.any(not_number).as_py():
        return None
    cells = pc.fill_null(pc.take(not_number, marker_positions), False)
    return cells if pc.any(cells).as_py() else None


def _parse_floats(raw: pa.Array, not_numbers: pa.Array | None = None) -> pa.Array:
    """Vectorised :func:`~estat_aws_mcp.estat.normalize.cell_number`: the cells that match
    :data:`~estat_aws_mcp.estat.normalize.NUMBER_PATTERN` as float64, every other cell null (its text
    stays in ``value_raw``; markers, "nan", "1_0", "１２").

    ``not_numbers``: an optional mask of cells known not to match (declared markers such as "-"). The
    other cells are first cast as they are: Arrow's string -> float64 cast accepts only texts that
    NUMBER_PATTERN also accepts, plus "nan"/"inf" spellings that are not finite and become null here
    as the rule says; so when it accepts every such cell (the usual page), the result is the rule's
    without a regular-expression pass. Any other cell (text, spaces around a number, "１２") makes it
    fail, and the pattern decides cell by cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    null = pa.scalar(None, pa.string())
    try:
        numbers = pc.cast(raw if not_numbers is None else pc.if_else(not_numbers, null, raw), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        plain = pc.fill_null(pc.match_substring_regex(raw, NUMBER_PATTERN), False)
        try:
            numbers = pc.cast(pc.if_else(plain, raw, null), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. spaces around a number
            return pa.array([None if text is None else cell_number(text) for text in raw.to_pylist()], pa.float64())
    finite = pc.is_finite(numbers)
    if pc.all(finite).as_py() is False:
        numbers = pc.if_else(finite, numbers, pa.scalar(None, pa.float64()))
    return numbers
