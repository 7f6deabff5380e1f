"""Every e-Stat response quirk, normalised in one place.

e-Stat's JSON is a mechanical translation of its XML, which gives it a few traps that every
caller would otherwise have to remember (all seen in the recorded responses in tests/fixtures/estat, see PROVENANCE.md):

- one element becomes a dict instead of a one-item list: TABLE_INF (#17), CLASS_OBJ, CLASS (#1, #3,
  #13, #19), NOTE (#16, #19), VALUE (not recorded, same rule), LIST_INF, RESOURCE (#8);
- an empty element becomes the empty string: ``DATA_INF: ""`` (#5), ``DESCRIPTION: ""`` (#18, #19),
  ``RESULT_INF: ""`` (emulated by public fakes on no-data);
- mixed types: ``SURVEY_DATE`` is ``201110`` (int), ``0`` (unknown) or ``"202001-202012"`` (#12);
  ``@level`` is ``"1"`` or ``""`` (#13); ``@unit`` may be missing on some VALUE rows (#16);
- NOTE declares the special characters of *this* response (``***``, ``-``, ``...``, ``X``, and in
  time-use tables clock times such as ``"2:35"`` whose meaning is 時刻, #6). Nothing here hard-codes
  them: :func:`notes_map` reads them, :func:`parse_value` / :func:`split_values` use them.

The ``normalize_*`` functions take a whole parsed response (``{"GET_STATS_DATA": {...}}``) and return
plain dicts whose shapes are the TypedDicts below. VALUE rows stay as e-Stat sent them (dicts keyed
``@tab``, ``@cat01``, ..., ``@unit``, ``@anno``, ``$``) because converting 100,000 rows one by one is the
slowest thing a caller can do; :func:`value_columns` turns them into columns with one C-level pass
per column, and :func:`iter_value_rows` gives friendly per-row dicts when speed does not matter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypedDict

# ---------------------------------------------------------------------------------------------
# Shapes (documentation for the callers; all plain dicts at run time)


class TableInfo(TypedDict):
    """One statistics table (TABLE_INF), from getStatsList, getMetaInfo or getStatsData."""

    stats_data_id: str  # 10-digit zero-padded id, e.g. "0003445078"
    stat_code: str | None  # government statistics code (STAT_NAME@code), e.g. "00200521"
    stat_name: str | None  # survey name, e.g. "国勢調査"
    gov_org_code: str | None
    gov_org: str | None  # organisation, e.g. "総務省"
    statistics_name: str | None
    title: str | None
    title_no: str | None
    cycle: str | None
    survey_date: str | None  # "201110", "202001-202012"; None when e-Stat says 0 (unknown)
    open_date: str | None
    updated_date: str | None
    small_area: int | None
    collect_area: str | None  # 全国 / 都道府県 / 市区町村 / 該当なし; None when absent (API 2.x)
    main_category_code: str | None
    main_category: str | None
    sub_category_code: str | None
    sub_category: str | None
    overall_total_number: int | None
    statistics_name_spec: dict[str, str]
    title_spec: dict[str, str]
    description: dict[str, Any] | str | None  # None when e-Stat sent "" or nothing


class ClassItem(TypedDict):
    """One code of an axis (CLASS)."""

    code: str
    name: str
    level: str | None  # "1", "2", ...; None when e-Stat sent "" or nothing
    unit: str | None
    parent_code: str | None
    add_info: str | None


class ClassAxis(TypedDict):
    """One axis (CLASS_OBJ): ``tab``, ``cat01``..``cat15``, ``area``, ``time``."""

    id: str
    name: str
    items: list[ClassItem]
    explanation: str | None


class Paging(TypedDict):
    """RESULT_INF of getStatsData (``total_number``) or DATALIST_INF of getStatsList (``number``)."""

    total_number: int | None
    from_number: int | None
    to_number: int | None
    next_key: int | None  # None on the last page


class StatsList(TypedDict):
    """getStatsList, normalised."""

    status: int  # 0 ok, 1 no data (tables == []), 2 partial (see ``partial``)
    error_msg: str
    date: str | None
    partial: bool
    parameter: dict[str, Any]
    number: int  # total hits (not the page size)
    from_number: int | None
    to_number: int | None
    next_key: int | None
    tables: list[TableInfo]  # in e-Stat order; one table may repeat once per COLLECT_AREA
    stat_names: list[dict[str, str | None]]  # statsNameList=Y: {stats_code, stat_name, gov_org_code, gov_org}


class MetaInfo(TypedDict):
    """getMetaInfo, normalised."""

    status: int
    error_msg: str
    date: str | None
    partial: bool
    parameter: dict[str, Any]
    table: TableInfo | None
    classes: list[ClassAxis]


class StatsData(TypedDict):
    """getStatsData, normalised. ``values`` are raw VALUE dicts (always a list): use the helpers."""

    status: int
    error_msg: str
    date: str | None
    partial: bool
    parameter: dict[str, Any]
    table: TableInfo | None
    classes: list[ClassAxis]  # empty with metaGetFlg=N; narrowed to the filter with metaGetFlg=Y
    notes: dict[str, str]  # NOTE: special character -> meaning, as declared by this response
    total_number: int  # rows matching the request (all pages); 0 on STATUS 1
    from_number: int | None
    to_number: int | None
    next_key: int | None
    values: list[dict[str, str]]


ROOT_KEYS = {
    "getStatsList": "GET_STATS_LIST",
    "getMetaInfo": "GET_META_INFO",
    "getStatsData": "GET_STATS_DATA",
    "getDataCatalog": "GET_DATA_CATALOG",
}

# ---------------------------------------------------------------------------------------------
# The two structural quirks


def as_list(node: Any) -> list[Any]:
    """A repeated element as a list: one item (dict), none (``None`` / ``""``) or many."""
    if isinstance(node, list):
        return node
    if node is None or node == "":
        return []
    return [node]


def as_object(node: Any) -> dict[str, Any]:
    """An element that may be the empty string (``DATA_INF: ""``) as a dict (``{}`` when empty)."""
    return node if isinstance(node, dict) else {}


def text_of(node: Any) -> str | None:
    """The text of ``{"@code": ..., "$": text}`` or of a bare string/number; ``None`` when empty."""
    if isinstance(node, dict):
        node = node.get("$")
    if node is None or node == "":
        return None
    return str(node)


def code_of(node: Any, attribute: str = "@code") -> str | None:
    """An attribute (``@code`` by default) of an element that may be a bare string."""
    if isinstance(node, dict):
        value = node.get(attribute)
        return None if value is None or value == "" else str(value)
    return None


def optional_int(node: Any) -> int | None:
    if node is None or node == "":
        return None
    try:
        return int(node)
    except (TypeError, ValueError):
        return None


def survey_date(node: Any) -> str | None:
    """SURVEY_DATE as a string: int ``202010`` and str ``"202001-202012"`` both occur; 0 means unknown."""
    if node is None or node == "" or node == 0 or node == "0":
        return None
    return str(node)


def _string_dict(node: Any) -> dict[str, str]:
    node = as_object(node)
    return {key: str(value) for key, value in node.items() if value not in (None, "")}


# ---------------------------------------------------------------------------------------------
# Response envelope


def response_root(document: Any, endpoint: str) -> dict[str, Any]:
    """The body under the endpoint's root key (``GET_STATS_DATA`` ...), or ``{}`` if absent."""
    if not isinstance(document, dict):
        return {}
    return as_object(document.get(ROOT_KEYS[endpoint]))


def result_of(root: Mapping[str, Any]) -> tuple[int | None, str, str | None]:
    """(STATUS, ERROR_MSG, DATE) of a response root; STATUS ``None`` when there is no RESULT."""
    result = as_object(root.get("RESULT"))
    status = optional_int(result.get("STATUS"))
    return status, str(result.get("ERROR_MSG") or ""), result.get("DATE")


# ---------------------------------------------------------------------------------------------
# Elements


def table_info(node: Any) -> TableInfo | None:
    """Normalise one TABLE_INF element (``None`` when absent or empty)."""
    node = as_object(node)
    if not node:
        return None
    title = node.get("TITLE")
    description = node.get("DESCRIPTION")
    return {
        "stats_data_id": str(node.get("@id") or ""),
        "stat_code": code_of(node.get("STAT_NAME")),
        "stat_name": text_of(node.get("STAT_NAME")),
        "gov_org_code": code_of(node.get("GOV_ORG")),
        "gov_org": text_of(node.get("GOV_ORG")),
        "statistics_name": text_of(node.get("STATISTICS_NAME")),
        "title": text_of(title),
        "title_no": code_of(title, "@no"),
        "cycle": text_of(node.get("CYCLE")),
        "survey_date": survey_date(node.get("SURVEY_DATE")),
        "open_date": text_of(node.get("OPEN_DATE")),
        "updated_date": text_of(node.get("UPDATED_DATE")),
        "small_area": optional_int(node.get("SMALL_AREA")),
        "collect_area": text_of(node.get("COLLECT_AREA")),
        "main_category_code": code_of(node.get("MAIN_CATEGORY")),
        "main_category": text_of(node.get("MAIN_CATEGORY")),
        "sub_category_code": code_of(node.get("SUB_CATEGORY")),
        "sub_category": text_of(node.get("SUB_CATEGORY")),
        "overall_total_number": optional_int(node.get("OVERALL_TOTAL_NUMBER")),
        "statistics_name_spec": _string_dict(node.get("STATISTICS_NAME_SPEC")),
        "title_spec": _string_dict(node.get("TITLE_SPEC")),
        "description": description if description not in (None, "") else None,
    }


def class_item(node: Mapping[str, Any]) -> ClassItem:
    def attr(name: str) -> str | None:
        value = node.get(name)
        return None if value is None or value == "" else str(value)

    return {
        "code": str(node.get("@code", "")),
        "name": str(node.get("@name", "")),
        "level": attr("@level"),
        "unit": attr("@unit"),
        "parent_code": attr("@parentCode"),
        "add_info": attr("@addInf"),
    }


def class_info(node: Any) -> list[ClassAxis]:
    """CLASS_INF (or its CLASS_OBJ list) as axes, each with all its items, in e-Stat order."""
    node = as_object(node)
    objects = as_list(node.get("CLASS_OBJ")) if "CLASS_OBJ" in node else []
    axes: list[ClassAxis] = []
    for obj in objects:
        obj = as_object(obj)
        # e-Stat 3.0 sends an axis's explanation as the CLASS_OBJ attribute "@description"
        # (explanationGetFlg=Y); there is no EXPLANATION element on CLASS_OBJ.
        explanation = obj.get("@description")
        axes.append(
            {
                "id": str(obj.get("@id", "")),
                "name": str(obj.get("@name", "")),
                "items": [class_item(item) for item in as_list(obj.get("CLASS")) if isinstance(item, dict)],
                "explanation": text_of(explanation) if explanation not in (None, "") else None,
            }
        )
    return axes


def class_lookup(axes: Iterable[ClassAxis]) -> dict[str, dict[str, ClassItem]]:
    """``{axis_id: {code: item}}`` for joining VALUE codes with names, units, levels and parents."""
    return {axis["id"]: {item["code"]: item for item in axis["items"]} for axis in axes}


def label_codes(codes: Sequence[str | None], axis: ClassAxis) -> list[str | None]:
    """The names of ``codes`` on one axis (``None`` for codes the metadata does not list)."""
    get = {item["code"]: item["name"] for item in axis["items"]}.get
    return [get(code) if code is not None else None for code in codes]


def notes_map(node: Any) -> dict[str, str]:
    """NOTE (list or single dict) as ``{special character: meaning}``, exactly as this response declares."""
    notes: dict[str, str] = {}
    for note in as_list(node):
        if isinstance(note, dict) and note.get("@char") not in (None, ""):
            notes[str(note["@char"])] = str(note.get("$") or "")
    return notes


def paging(node: Any) -> Paging:
    """RESULT_INF (which may be ``""`` or absent) as paging ints."""
    node = as_object(node)
    return {
        "total_number": optional_int(node.get("TOTAL_NUMBER")),
        "from_number": optional_int(node.get("FROM_NUMBER")),
        "to_number": optional_int(node.get("TO_NUMBER")),
        "next_key": optional_int(node.get("NEXT_KEY")),
    }


# ---------------------------------------------------------------------------------------------
# Whole responses


def _envelope(root: Mapping[str, Any]) -> dict[str, Any]:
    status, message, date = result_of(root)
    return {
        "status": status if status is not None else 0,
        "error_msg": message,
        "date": date,
        "partial": status == 2,
        "parameter": dict(as_object(root.get("PARAMETER"))),
    }


def normalize_stats_list(document: Any) -> StatsList:
    """A getStatsList response (TABLE_INF or, with statsNameList=Y, LIST_INF)."""
    root = response_root(document, "getStatsList")
    datalist = as_object(root.get("DATALIST_INF"))
    page = paging(datalist.get("RESULT_INF"))
    tables = [info for info in (table_info(node) for node in as_list(datalist.get("TABLE_INF"))) if info]
    stat_names = [
        {
            "stats_code": str(node.get("@id") or code_of(node.get("STAT_NAME")) or ""),
            "stat_name": text_of(node.get("STAT_NAME")),
            "gov_org_code": code_of(node.get("GOV_ORG")),
            "gov_org": text_of(node.get("GOV_ORG")),
        }
        for node in as_list(datalist.get("LIST_INF"))
        if isinstance(node, dict)
    ]
    return {
        **_envelope(root),
        "number": optional_int(datalist.get("NUMBER")) or 0,
        "from_number": page["from_number"],
        "to_number": page["to_number"],
        "next_key": page["next_key"],
        "tables": tables,
        "stat_names": stat_names,
    }  # type: ignore[typeddict-item]


def normalize_meta_info(document: Any) -> MetaInfo:
    root = response_root(document, "getMetaInfo")
    metadata = as_object(root.get("METADATA_INF"))
    return {
        **_envelope(root),
        "table": table_info(metadata.get("TABLE_INF")),
        "classes": class_info(metadata.get("CLASS_INF")),
    }  # type: ignore[typeddict-item]


def normalize_stats_data(document: Any) -> StatsData:
    """A getStatsData response, including the cntGetFlg=Y count-only shape (``DATA_INF: ""``)."""
    root = response_root(document, "getStatsData")
    data = as_object(root.get("STATISTICAL_DATA"))
    page = paging(data.get("RESULT_INF"))
    data_inf = as_object(data.get("DATA_INF"))
    return {
        **_envelope(root),
        "table": table_info(data.get("TABLE_INF")),
        "classes": class_info(data.get("CLASS_INF")),
        "notes": notes_map(data_inf.get("NOTE")),
        "total_number": page["total_number"] or 0,
        "from_number": page["from_number"],
        "to_number": page["to_number"],
        "next_key": page["next_key"],
        "values": as_list(data_inf.get("VALUE")),
    }  # type: ignore[typeddict-item]


class CatalogResource(TypedDict):
    resource_id: str
    name: str | None
    table_no: str | None
    url: str | None
    format: str | None
    release_date: str | None
    last_modified_date: str | None


class CatalogDataset(TypedDict):
    dataset_id: str
    stat_code: str | None
    stat_name: str | None
    organization_code: str | None
    organization: str | None
    title: str | None
    survey_date: str | None
    landing_page: str | None
    resources: list[CatalogResource]


class DataCatalog(TypedDict):
    """getDataCatalog (statistical table files and databases), normalised."""

    status: int
    error_msg: str
    date: str | None
    partial: bool
    parameter: dict[str, Any]
    number: int
    from_number: int | None
    to_number: int | None
    next_key: int | None
    datasets: list[CatalogDataset]


def _catalog_resource(node: Mapping[str, Any]) -> CatalogResource:
    title = as_object(node.get("TITLE"))
    return {
        "resource_id": str(node.get("@id") or ""),
        "name": text_of(title.get("NAME")),
        "table_no": text_of(title.get("TABLE_NO")),
        "url": text_of(node.get("URL")),
        "format": text_of(node.get("FORMAT")),
        "release_date": text_of(node.get("RELEASE_DATE")),
        "last_modified_date": text_of(node.get("LAST_MODIFIED_DATE")),
    }


def normalize_data_catalog(document: Any) -> DataCatalog:
    """A getDataCatalog response (#8): RESOURCES.RESOURCE is a dict for a single file."""
    root = response_root(document, "getDataCatalog")
    catalog = as_object(root.get("DATA_CATALOG_LIST_INF"))
    page = paging(catalog.get("RESULT_INF"))
    datasets: list[CatalogDataset] = []
    for node in as_list(catalog.get("DATA_CATALOG_INF")):
        if not isinstance(node, dict):
            continue
        dataset = as_object(node.get("DATASET"))
        title = as_object(dataset.get("TITLE"))
        resources = as_list(as_object(node.get("RESOURCES")).get("RESOURCE"))
        datasets.append(
            {
                "dataset_id": str(node.get("@id") or ""),
                "stat_code": code_of(dataset.get("STAT_NAME")),
                "stat_name": text_of(dataset.get("STAT_NAME")),
                "organization_code": code_of(dataset.get("ORGANIZATION")),
                "organization": text_of(dataset.get("ORGANIZATION")),
                "title": text_of(title.get("NAME")),
                "survey_date": survey_date(title.get("SURVEY_DATE")),
                "landing_page": text_of(dataset.get("LANDING_PAGE")),
                "resources": [_catalog_resource(item) for item in resources if isinstance(item, dict)],
            }
        )
    return {
        **_envelope(root),
        "number": optional_int(catalog.get("NUMBER")) or 0,
        "from_number": page["from_number"],
        "to_number": page["to_number"],
        "next_key": page["next_key"],
        "datasets": datasets,
    }  # type: ignore[typeddict-item]


# ---------------------------------------------------------------------------------------------
# VALUE rows: columnar (fast) and per-row (friendly)

_NON_AXIS_ATTRIBUTES = frozenset({"@unit", "@anno", "$"})


def value_axis_ids(values: Sequence[Mapping[str, Any]], classes: Iterable[ClassAxis] = ()) -> list[str]:
    """Axis ids present in VALUE rows (``tab``, ``cat01``, ``area``, ``time``...), in CLASS_INF order
    when metadata is given, else in the order of the first row (other keys appended as found)."""
    seen: dict[str, None] = {axis["id"]: None for axis in classes}
    found: dict[str, None] = {}
    # Axis attributes are on every row; scanning a bounded sample plus the last row is enough and cheap.
    sample = list(values[:64]) + list(values[-1:])
    for row in sample:
        for key in row:
            if key.startswith("@") and key not in _NON_AXIS_ATTRIBUTES:
                found.setdefault(key[1:], None)
    ordered = [axis for axis in seen if axis in found]
    ordered += [axis for axis in found if axis not in seen]
    return ordered


def value_columns(
    values: Sequence[Mapping[str, Any]], axis_ids: Sequence[str] | None = None
) -> dict[str, list[str | None]]:
    """VALUE rows as columns: one list per axis id (codes), plus ``unit``, ``value`` (raw string as
    sent, markers included) and ``annotation``. Missing attributes become ``None``.

    Each column is one list comprehension over the rows, which is far cheaper than building a
    dict per row (100,000 rows take a few tens of milliseconds)."""
    if axis_ids is None:
        axis_ids = value_axis_ids(values)
    columns: dict[str, list[str | None]] = {}
    for axis in axis_ids:
        key = "@" + axis
        columns[axis] = [row.get(key) for row in values]
    columns["unit"] = [row.get("@unit") for row in values]
    columns["value"] = [row.get("$") for row in values]
    columns["annotation"] = [row.get("@anno") for row in values]
    return columns


class ValueRow(TypedDict):
    codes: dict[str, str]  # axis id -> code
    unit: str | None
    value: str | None  # raw string as sent
    number: float | None  # parsed number (None for markers)
    marker: str | None  # the special character when the cell is not a number
    annotation: str | None


def iter_value_rows(values: Iterable[Mapping[str, Any]], notes: Mapping[str, str] | None = None) -> Iterator[ValueRow]:
    """Friendly per-row dicts (codes, unit, raw value, parsed number / marker, annotation)."""
    notes = notes or {}
    for row in values:
        raw = row.get("$")
        number, marker = parse_value(raw, notes)
        yield {
            "codes": {
                key[1:]: value for key, value in row.items() if key[0] == "@" and key not in _NON_AXIS_ATTRIBUTES
            },
            "unit": row.get("@unit"),
            "value": raw,
            "number": number,
            "marker": marker,
            "annotation": row.get("@anno"),
        }


# Clock times declared in NOTE (time-use tables); shared with the dataset conversion.
CLOCK_TIME_PATTERN = r"^\d{1,3}:[0-5]\d$"
_CLOCK_TIME = re.compile(CLOCK_TIME_PATTERN)


def is_clock_time(raw: str) -> bool:
    """``"2:35"``-style cell (time-use tables declare these in NOTE with the meaning 時刻)."""
    return bool(_CLOCK_TIME.match(raw))


def clock_minutes(raw: str) -> float:
    hours, minutes = raw.split(":")
    return float(int(hours) * 60 + int(minutes))


#: THE rule for a VALUE cell, shared by :func:`parse_value` / :func:`split_values` and the dataset
#: converter (:mod:`estat_aws_mcp.datasets.schema`): a cell that is a plain finite decimal number
#: (ASCII digits, optional sign, point and exponent, ASCII whitespace around) is that number, even when
#: the response's NOTE declares the same text as a special character (tables do declare ``0``, e.g.
#: 集計した結果がゼロのもの, "the total is zero"). Written for both Python's ``re`` and Arrow's RE2, whose
#: ``\s`` differ (RE2's leaves out the vertical tab), so the whitespace is spelled out.
NUMBER_PATTERN = r"^[ \t\n\r\f\v]*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?[ \t\n\r\f\v]*$"
_NUMBER = re.compile(NUMBER_PATTERN, re.ASCII)


def cell_number(text: str) -> float | None:
    """The number a cell's text holds by :data:`NUMBER_PATTERN`, or None ("nan", "1_0", "１２", "-")."""
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_value(raw: Any, notes: Mapping[str, str]) -> tuple[float | None, str | None]:
    """(number, marker) for one raw cell.

    - a number (``"102.5"``, ``"-0.3"``, ``"0"``; see :data:`NUMBER_PATTERN`) -> ``(number, None)``,
      also when NOTE declares it (its meaning is still in ``notes``);
    - a clock time declared in NOTE (``"2:35"`` in time-use tables) -> ``(minutes since 0:00, None)``;
    - anything else (``"-"``, ``"***"``, ``"…"``, ``"X"``, declared in NOTE or not) -> ``(None, raw)``;
      look its meaning up in ``notes``. Empty or missing cells -> ``(None, None)``.
    """
    if raw is None or raw == "":
        return None, None
    text = raw if isinstance(raw, str) else str(raw)
    number = cell_number(text)
    if number is not None:
        return number, None
    if text in notes and is_clock_time(text):
        return clock_minutes(text), None
    return None, text


def split_values(
    raw_values: Sequence[str | None], notes: Mapping[str, str]
) -> tuple[list[float | None], list[str | None]]:
    """Columnar :func:`parse_value`: (numbers, markers), both as long as ``raw_values``."""
    numbers: list[float | None] = []
    markers: list[str | None] = []
    add_number = numbers.append
    add_marker = markers.append
    isfinite = math.isfinite
    for raw in raw_values:
        try:
            number = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = None
        # float() accepts what NUMBER_PATTERN does plus non-ASCII digits, "_", inf/nan and more kinds of
        # whitespace around (e.g. "\x1c"): those, and any whitespace around, go the slow way.
        if (
            number is not None
            and isfinite(number)
            and raw.isascii()  # type: ignore[union-attr]
            and "_" not in raw  # type: ignore[operator]
            and not raw[0].isspace()  # type: ignore[index]
            and not raw[-1].isspace()  # type: ignore[index]
        ):
            add_number(number)
            add_marker(None)
        else:
            number, marker = parse_value(raw, notes)
            add_number(number)
            add_marker(marker)
    return numbers, markers
