"""Filters for getStatsData: axis -> codes or names, levels and ranges, resolved against the metadata.

The typed input (what clients see in the tool's JSON schema)::

    {"area": ["東京都", "13000"]}                      codes or names (a plain list)
    {"time": {"values": ["2020年"]}}                    the same, spelled out
    {"time": {"from": "2015000000", "to": "2020年"}}   a range (cdTimeFrom / cdTimeTo), codes or names
    {"area": {"level": "2"}}                           a level (lvArea): "2", "1-3", "-3" or "2-"
    {"area": {"level": "2", "from": "13000"}}          level and range together

Rules e-Stat does not enforce but a user relies on:

- an empty list is refused: e-Stat answers ``cdArea=`` with the *whole table*;
- a name is resolved through CLASS_INF; a name that several items share (two 府中市) is reported
  with its candidates (code, name, level, parent) instead of guessed; an unknown name gets the
  nearest names as suggestions;
- e-Stat accepts at most 100 codes per ``cd*`` parameter, so longer lists are split into several
  requests (the cross product over axes, each code list deduplicated so every row comes back once).
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from estat_aws_mcp.datasets.schema import AxisInfo, ClassItem, TableMetadata, is_axis_id
from estat_aws_mcp.errors import InputError, quote_prefix

#: e-Stat's limit on the number of codes in one cd* parameter.
MAX_CODES_PER_PARAMETER = 100
#: Above this many split requests a filter is refused: a level or a range says the same far cheaper.
MAX_SPLIT_REQUESTS = 500

_LEVEL = re.compile(r"^(\d+|\d+-\d+|-\d+|\d+-)$")


#: Longest code or name accepted in a filter (e-Stat item names are far shorter).
ITEM_TEXT_CHARS = 200
#: Most items selected on one axis in one call (they are split into e-Stat requests of 100).
MAX_ITEMS_PER_AXIS = 10_000
ItemText = Annotated[str, Field(max_length=ITEM_TEXT_CHARS)]


class AxisSelection(BaseModel):
    """A selection on one axis: ``values`` (codes or names), or a range and/or a level."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    values: list[ItemText] | None = Field(
        default=None,
        max_length=MAX_ITEMS_PER_AXIS,
        description="Codes or names of the items to keep (e.g. ['東京都', '13000']).",
    )
    from_: ItemText | None = Field(
        default=None, alias="from", description="First code (or name) of a range, inclusive (cd*From)."
    )
    to: ItemText | None = Field(default=None, description="Last code (or name) of a range, inclusive (cd*To).")
    level: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, description="Hierarchy level(s) (lv*): '2', '1-3', '-3' (up to 3) or '2-' (from 2)."
    )

    @field_validator("level", mode="before")
    @classmethod
    def _level_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


#: What a tool accepts for one axis.
AxisFilter = Annotated[list[ItemText], Field(max_length=MAX_ITEMS_PER_AXIS)] | AxisSelection


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    level: str
    parent_code: str | None
    parent_name: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent_code,
            "parent_name": self.parent_name,
        }

    def describe(self) -> str:
        parent = f", under {self.parent_code} {self.parent_name or ''}".rstrip() if self.parent_code else ""
        level = f"level {self.level}" if self.level else "no level"
        return f"{self.code} {self.name} ({level}{parent})"


class FilterError(InputError):
    """One or more filter values could not be resolved; ``problems`` carries the structured details."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem["message"] for problem in problems))


@dataclass
class ResolvedFilters:
    """Filters as e-Stat parameters, ready to send."""

    #: axis -> deduplicated codes (split into chunks of 100 when sent)
    code_lists: dict[str, list[str]] = field(default_factory=dict)
    #: lv*/cd*From/cd*To parameters, sent with every request
    fixed_params: dict[str, str] = field(default_factory=dict)
    #: what was asked and what it resolved to, per axis (stored in the manifest)
    echo: dict[str, Any] = field(default_factory=dict)

    def request_params(self) -> list[dict[str, str]]:
        """One parameter set per request: the cross product of the 100-code chunks of every axis."""
        chunked = [
            [(axis, codes[i : i + MAX_CODES_PER_PARAMETER]) for i in range(0, len(codes), MAX_CODES_PER_PARAMETER)]
            for axis, codes in self.code_lists.items()
        ]
        requests = []
        for combination in itertools.product(*chunked):
            params = dict(self.fixed_params)
            for axis, codes in combination:
                params[parameter_name("cd", axis)] = ",".join(codes)
            requests.append(params)
        return requests

    @property
    def is_empty(self) -> bool:
        return not self.code_lists and not self.fixed_params


def parameter_name(prefix: str, axis: str, suffix: str = "") -> str:
    """``("cd", "area") -> "cdArea"``, ``("lv", "cat01") -> "lvCat01"``, ``("cd", "time", "From")``."""
    return f"{prefix}{axis[0].upper()}{axis[1:]}{suffix}"


def normalise_text(text: str) -> str:
    """NFKC, trimmed, inner whitespace collapsed: '東京都 ' and '東京都' match, full-width digits too."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def normalise_axis_key(key: str) -> str:
    """Accept 'area', 'Area', 'cdArea', 'cat1' as well as 'cat01'."""
    raw = key.strip()
    if raw[:2] == "cd" and len(raw) > 2 and raw[2].isupper():
        raw = raw[2:]
    lowered = raw.lower()
    match = re.fullmatch(r"cat(\d{1,2})", lowered)
    if match:
        return f"cat{int(match.group(1)):02d}"
    return lowered


class _AxisIndex:
    """Lookups over one axis's class items: by code, by full name, by the trailing segments of a name."""

    def __init__(self, axis: AxisInfo) -> None:
        self.axis = axis
        self.by_code: dict[str, ClassItem] = {item.code: item for item in axis.items}
        self.by_name: dict[str, list[ClassItem]] = {}
        self.by_name_suffix: dict[str, list[ClassItem]] = {}
        for item in axis.items:
            name = normalise_text(item.name)
            self.by_name.setdefault(name, []).append(item)
            # e-Stat writes some names as paths ("北海道 札幌市 中央区"): let "札幌市 中央区" and
            # "中央区" find them (several matches are reported as ambiguous, never guessed).
            parts = name.split(" ")
            for start in range(1, len(parts)):
                self.by_name_suffix.setdefault(" ".join(parts[start:]), []).append(item)

    def candidate(self, item: ClassItem) -> Candidate:
        parent = self.by_code.get(item.parent_code) if item.parent_code else None
        return Candidate(item.code, item.name, item.level, item.parent_code, parent.name if parent else None)

    def resolve(self, value: str) -> tuple[str | None, dict[str, Any] | None]:
        """(code, None) or (None, problem)."""
        axis_id = self.axis.id
        text = value.strip()
        if text in self.by_code:
            return text, None
        normalised = normalise_text(text)
        if normalised in self.by_code:
            return normalised, None
        matches = self.by_name.get(normalised) or self.by_name_suffix.get(normalised) or []
        if len(matches) == 1:
            return matches[0].code, None
        if len(matches) > 1:
            candidates = [self.candidate(item) for item in matches]
            return None, {
                "kind": "ambiguous",
                "axis": axis_id,
                "value": value,
                "candidates": [candidate.as_dict() for candidate in candidates],
                "message": (
                    f"{axis_id} name {quote_prefix(value)} is ambiguous ({len(candidates)} items share it): "
                    + "; ".join(candidate.describe() for candidate in candidates)
                    + ". Pass the code of the one you mean"
                ),
            }
        suggestions = difflib.get_close_matches(normalised, list(self.by_name), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        return None, {
            "kind": "unknown",
            "axis": axis_id,
            "value": value,
            "suggestions": suggestions,
            "message": f"{axis_id} has no item with code or name {quote_prefix(value)} (axis {self.axis.name!r}){hint}",
        }


def _as_selection(axis_key: str, raw: Any) -> AxisSelection:
    if isinstance(raw, AxisSelection):
        return raw
    if isinstance(raw, str):
        return AxisSelection(values=[raw])
    if isinstance(raw, list | tuple):
        return AxisSelection(values=[str(v) if isinstance(v, int) else v for v in raw])
    if isinstance(raw, Mapping):
        try:
            return AxisSelection.model_validate(dict(raw))
        except ValueError as exc:
            raise InputError(f"filter for {quote_prefix(axis_key)} is not valid: {exc}") from None
    raise InputError(
        f"filter for {quote_prefix(axis_key)} must be a list of codes/names or an object with values/from/to/level"
    )


def resolve_filters(metadata: TableMetadata, filters: Mapping[str, Any] | None) -> ResolvedFilters:
    """Check and resolve ``filters`` against ``metadata``; raise :class:`InputError`/:class:`FilterError`."""
    resolved = ResolvedFilters()
    if not filters:
        return resolved
    if not isinstance(filters, Mapping):
        raise InputError("filters must be an object mapping an axis (area, time, tab, cat01...) to codes or names")
    problems: list[dict[str, Any]] = []
    present = metadata.axis_ids
    for key, raw in filters.items():
        axis_id = normalise_axis_key(str(key))
        axis = metadata.axis(axis_id)
        if axis is None:
            what = "is not an e-Stat axis" if not is_axis_id(axis_id) else "is not an axis of this table"
            raise InputError(f"filter key {quote_prefix(key)} {what}; this table's axes are: {', '.join(present)}")
        if axis_id in resolved.echo:
            raise InputError(f"axis {axis_id!r} is given twice in filters")
        selection = _as_selection(axis_id, raw)
        index = _AxisIndex(axis)
        problems += _resolve_selection(axis_id, selection, index, resolved)
    if problems:
        raise FilterError(problems)
    requests = 1
    for codes in resolved.code_lists.values():
        requests *= -(-len(codes) // MAX_CODES_PER_PARAMETER)
    if requests > MAX_SPLIT_REQUESTS:
        raise InputError(
            f"these code lists need {requests} e-Stat requests (at most {MAX_CODES_PER_PARAMETER} codes per axis "
            f"per request); narrow them or use a level or a from/to range instead"
        )
    return resolved


def _resolve_selection(
    axis_id: str, selection: AxisSelection, index: _AxisIndex, resolved: ResolvedFilters
) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    has_range = selection.from_ is not None or selection.to is not None
    if selection.values is not None:
        if has_range or selection.level is not None:
            raise InputError(f"filter for {axis_id!r}: give either 'values' or a from/to range and/or a level")
        if not selection.values:
            raise InputError(
                f"filter for {axis_id!r} is an empty list: e-Stat would return the whole table for an empty "
                f"{parameter_name('cd', axis_id)}; omit the axis to keep all of it, or name the items to keep"
            )
        codes: list[str] = []
        names: list[str] = []
        for value in selection.values:
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"filter for {axis_id!r} contains an empty value")
            code, problem = index.resolve(value)
            if problem:
                problems.append(problem)
            elif code not in codes:
                codes.append(code)
                names.append(index.by_code[code].name)
        resolved.code_lists[axis_id] = codes
        resolved.echo[axis_id] = {"requested": list(selection.values), "codes": codes, "names": names}
        return problems

    if not has_range and selection.level is None:
        raise InputError(f"filter for {axis_id!r} is empty: give values, a from/to range or a level")
    echo: dict[str, Any] = {}
    for bound, value, suffix in (("from", selection.from_, "From"), ("to", selection.to, "To")):
        if value is None:
            continue
        if not value.strip():
            raise InputError(f"filter for {axis_id!r}: '{bound}' is empty")
        code, problem = index.resolve(value)
        if problem:
            problems.append(problem)
            continue
        resolved.fixed_params[parameter_name("cd", axis_id, suffix)] = code
        echo[bound] = {"code": code, "name": index.by_code[code].name}
    if selection.level is not None:
        level = selection.level.strip()
        if not _LEVEL.match(level):
            raise InputError(
                f"filter for {axis_id!r}: level {quote_prefix(selection.level)} must look like '2', '1-3', '-3' or '2-'"
            )
        resolved.fixed_params[parameter_name("lv", axis_id)] = level
        echo["level"] = level
    resolved.echo[axis_id] = echo
    return problems
