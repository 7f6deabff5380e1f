"""A fake e-Stat API 3.0 (JSON flavour) on 127.0.0.1, for tests and local benchmarks.

Usage::

    from tests.fakes.fake_estat import Axis, FakeEstat

    with FakeEstat(app_id="test-app-id") as fake:          # real HTTP server on a free port
        fake.base_url                                       # ".../rest/3.0/app": ESTAT_API_BASE_URL
        table = fake.add_generated_table(                   # SYNTHETIC table served by both endpoints
            "0009000001",
            [Axis.numbered("cat01", "男女", 3), Axis.numbered("area", "地域", 47, width=5), Axis.years(2000, 2024)],
        )                                                   # 3*47*25 rows; default values include NOTE markers
        fake.fail(times=2, status=503, endpoint="getStatsData")    # a 5xx burst
        fake.rate_limit(times=1, retry_after=0.01)          # HTTP 429 + Retry-After
        fake.reset_connection(times=1)                      # TCP reset instead of a response
        fake.malformed_json(times=1)                        # truncated JSON body
        fake.estat_status(203, times=1)                     # an e-Stat STATUS error body (synthetic)
        fake.set_latency(lambda request: 0.01 * (request.start_position or 1) % 3)  # per-page delays
        fake.change_table_after("0009000001", 2, updated_date="2026-12-01", row_limit=100)
        fake.before_response(lambda request: None)          # general hook -> FakeResponse | None
        fake.delay(1.0, times=1)                            # one slow answer (client timeouts)
        fake.hold_until_in_flight(3)                        # answers wait until 3 requests are out at once
        fake.requests, fake.max_in_flight, fake.count("getStatsData")   # request log (appId never kept)
        table.rows({"cdArea": "13000"}), table.row_at(12)   # expected VALUE rows, to compare with pages
        fake.add_catalog_entry(table_inf_dict)              # more search results (label them synthetic)

Other knobs: ``auth_failure_style`` ("json" | "xml403"), ``search_item_names``, ``clear_faults()``,
``reset_log()``, ``snapshot()`` / ``restore()``, ``GeneratedTable(value_fn=..., notes=..., row_limit=...)``
and ``table.update(row_limit=..., updated_date=..., axes=...)``. :class:`FakeRequest` has
``endpoint``, ``params`` (without appId), ``app_id_valid``, ``start_position``, ``is_count``,
``started`` / ``finished`` (monotonic), ``http_status``, ``estat_status``, ``outcome``.

With the pytest fixture ``fake_estat`` (tests/estat/conftest.py; other folders import it with
``from tests.estat.conftest import _fake_estat_server, fake_estat``) the environment already points
``ESTAT_API_BASE_URL`` / ``ESTAT_APP_ID`` at it, and tables, catalog entries, faults and hooks a test
adds are removed after it.

What it serves
- ``/json/getStatsList`` over a catalog of TABLE_INF entries (plus their CLASS item names with
  ``search_item_names=True``, as e-Stat searches them): the real ones from the recordings
  (#2, #12, #17, #18, plus the TABLE_INF of #1, #13, #15, #19; #11 shows the statsNameList=Y
  shape reproduced here) and SYNTHETIC entries (``SYNTHETIC_CATALOG``), plus every generated table.
  searchWord (space = AND, ``OR``, ``NOT``), surveyYears, openYears, statsField, statsCode,
  collectArea, statsNameList, limit/startPosition, NUMBER = total hits, NEXT_KEY, STATUS 1 without
  DATALIST_INF when nothing matches, and a single TABLE_INF as a dict (#17).
- ``/json/getMetaInfo`` and ``/json/getStatsData`` for recorded tables (#3 / #13 / #15 metadata
  verbatim; data rows of #14, #16, #19 served with paging and narrowing; the exact recorded requests
  of #1, #5, #6, #7, #19 answered with the recorded bytes) and for generated tables.
  startPosition/limit (<= 100,000)/NEXT_KEY paging, cd*/lv*/cd*From/cd*To narrowing, cntGetFlg=Y
  (``DATA_INF: ""``, #5), metaGetFlg (CLASS_INF narrowed to the filter, #7), NOTE per response, a
  single VALUE as a dict (SYNTHETIC: no recording shows it, it follows the XML-to-JSON rule).
- ``/json/getDataCatalog`` over the 100 recorded entries of #8 (its own request gets the recorded bytes).
- ``lang=E`` (SYNTHETIC: no English response was ever recorded): generated tables answer with their
  ``title_en`` / ``stat_name_en`` and the ``name_en`` of axes and items (``Axis.areas`` and ``Axis.years``
  have them), falling back to the Japanese text; getStatsList serves and searches an entry's English
  TABLE_INF when it has one (``add_catalog_entry(english=...)``, generated tables with ``title_en``);
  recorded tables and the data catalog are served as recorded, with ``LANG`` echoed.
- Error bodies (SYNTHETIC apart from STATUS 100): STATUS 100 as HTTP 200 JSON (#24) or HTTP 403 +
  XML (#23, ``auth_failure_style="xml403"``), parameter errors 101-105, server errors 2xx, unknown id 300.

CLI: ``python -m tests.fakes.fake_estat --port 0 --rows 1000000 --latency-ms 20`` serves one
generated table (id ``0009999999``) until interrupted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import unicodedata
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Recorded e-Stat responses vendored with their provenance (tests/fixtures/estat/PROVENANCE.md).
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "estat"
API_PREFIX = "/rest/3.0/app"
MAX_LIMIT = 100_000
DEFAULT_APP_ID = "fake-estat-app-id-0123456789"

OK_MESSAGE = "正常に終了しました。"
NO_DATA_MESSAGE = "正常に終了しましたが、該当データはありませんでした。"
PARTIAL_MESSAGE = "正常に終了しましたが、一部にエラーがあります。"
AUTH_MESSAGE = "認証に失敗しました。アプリケーションIDを確認して下さい。"  # #23, #24
# SYNTHETIC messages (no recording shows these STATUS values).
STATUS_MESSAGES = {
    101: "必須パラメータ（統計表ID）が指定されていません。",
    102: "パラメータ（取得件数）の指定が不正です。",
    103: "パラメータ（開始位置）の指定が不正です。",
    104: "パラメータ（メタ情報有無）の指定が不正です。",
    105: "パラメータ（絞り込み条件）の指定が不正です。",
    200: "システムエラーが発生しました。",
    201: "データベースに接続できませんでした。",
    203: "処理が混み合っています。時間をおいて再度実行してください。",
    300: "指定された統計表IDは存在しません。",
}

# =============================================================================================
# Tables


@dataclass
class AxisItem:
    code: str
    name: str
    level: str = "1"
    unit: str | None = None
    parent_code: str | None = None
    name_en: str | None = None  # SYNTHETIC English name (lang=E); no English response was ever recorded

    def as_class(self, lang: str = "J") -> dict[str, str]:
        name = self.name_en if lang == "E" and self.name_en else self.name
        node = {"@code": self.code, "@name": name, "@level": self.level}
        if self.unit is not None:
            node["@unit"] = self.unit
        if self.parent_code is not None:
            node["@parentCode"] = self.parent_code
        return node


@dataclass
class Axis:
    """One axis of a generated table: ``id`` is ``tab``, ``cat01``..``cat15``, ``area`` or ``time``."""

    id: str
    name: str
    items: list[AxisItem]
    name_en: str | None = None  # SYNTHETIC English axis name (lang=E)
    description: str | None = None  # SYNTHETIC axis explanation, sent as CLASS_OBJ/@description

    @classmethod
    def numbered(
        cls, axis_id: str, name: str, count: int, *, width: int = 3, unit: str | None = None, start: int = 1
    ) -> Axis:
        return cls(
            axis_id,
            name,
            [AxisItem(str(i).zfill(width), f"{name}{i}", "1", unit) for i in range(start, start + count)],
        )

    @classmethod
    def years(cls, first: int, last: int, name: str = "時間軸（年次）") -> Axis:
        items = [AxisItem(f"{year}000000", f"{year}年", name_en=str(year)) for year in range(first, last + 1)]
        return cls("time", name, items, name_en="Time (year)")

    @classmethod
    def areas(cls, prefectures: int = 47) -> Axis:
        items = [AxisItem("00000", "全国", "1", name_en="Japan")]
        items += [
            AxisItem(f"{i:02d}000", f"都道府県{i:02d}", "2", None, "00000", name_en=f"Prefecture {i:02d}")
            for i in range(1, prefectures + 1)
        ]
        return cls("area", "地域", items, name_en="Area")


def default_value(index: int) -> str:
    """Deterministic cell values with NOTE markers (``***``, ``-``, ``X``) and signed decimals."""
    if index % 1009 == 5:
        return "***"
    if index % 1013 == 7:
        return "-"
    if index % 1019 == 11:
        return "X"
    if index % 7 == 3:
        return f"-{index % 97}.{index % 10}"
    return str((index * 7919) % 1000003)


DEFAULT_NOTES = [
    {"@char": "***", "$": "該当データがないもの"},
    {"@char": "-", "$": "データが得られないもの"},
    {"@char": "X", "$": "数値が秘匿されているもの"},
]


_encode_string = json.encoder.encode_basestring_ascii  # C-accelerated, \u escapes like e-Stat's wire format


def _dump(value: Any) -> str:
    # e-Stat's wire format: compact JSON with \\u escapes (#2, #19).
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _one_or_list(items: list[Any]) -> Any:
    """e-Stat's XML-to-JSON rule: one element is a bare object."""
    return items[0] if len(items) == 1 else items


@dataclass
class Selection:
    """Rows of a table matching one request's narrowing."""

    total: int
    page: Callable[[int, int], list[str]]  # (start index 0-based, count) -> VALUE JSON fragments
    class_objs: list[dict[str, Any]]  # CLASS_OBJ narrowed to the filter


def _axis_param(axis_id: str) -> str:
    return axis_id[0].upper() + axis_id[1:]  # cat01 -> Cat01, area -> Area


def _level_ok(level: str, condition: str) -> bool:
    """e-Stat lv* syntax: "2", "1-3", "-2", "2-"."""
    if not level.isdigit():
        return True
    value = int(level)
    if "-" not in condition:
        return condition.isdigit() and value == int(condition)
    low, _, high = condition.partition("-")
    return (not low or value >= int(low)) and (not high or value <= int(high))


class NarrowingError(ValueError):
    pass


def narrow_items(
    axis_id: str,
    items: Sequence[Any],
    params: dict[str, str],
    code_of: Callable[[Any], str],
    level_of: Callable[[Any], str],
) -> tuple[list[int], dict[str, str]]:
    """Positions of ``items`` kept by cd<Axis>, lv<Axis>, cd<Axis>From, cd<Axis>To; and the echo."""
    suffix = _axis_param(axis_id)
    echo: dict[str, str] = {}
    keep = list(range(len(items)))
    codes = params.get(f"cd{suffix}")
    if codes is not None:
        wanted = [code for code in codes.split(",") if code]
        if not wanted:
            raise NarrowingError(f"cd{suffix}")
        wanted_set = set(wanted)
        keep = [i for i in keep if code_of(items[i]) in wanted_set]
        echo[f"CODE_{axis_id.upper()}_SELECT"] = codes
    level = params.get(f"lv{suffix}")
    if level is not None:
        if not re.fullmatch(r"\d*-?\d*", level) or level in ("", "-"):
            raise NarrowingError(f"lv{suffix}")
        keep = [i for i in keep if _level_ok(level_of(items[i]), level)]
        echo[f"LEVEL_{axis_id.upper()}_COND"] = level
    low = params.get(f"cd{suffix}From")
    if low is not None:
        keep = [i for i in keep if code_of(items[i]) >= low]
        echo[f"CODE_{axis_id.upper()}_FROM"] = low
    high = params.get(f"cd{suffix}To")
    if high is not None:
        keep = [i for i in keep if code_of(items[i]) <= high]
        echo[f"CODE_{axis_id.upper()}_TO"] = high
    return keep, echo


class GeneratedTable:
    """A SYNTHETIC table: the cartesian product of its axes (last axis varies fastest).

    ``value_fn(flat_index) -> str`` gives each cell (``flat_index`` counts rows of the full
    product); ``row_limit`` keeps only rows whose flat index is below it (to shrink/grow a table);
    mutate with :meth:`update` so cached pages are invalidated."""

    def __init__(
        self,
        stats_data_id: str,
        axes: Sequence[Axis],
        *,
        value_fn: Callable[[int], str] = default_value,
        notes: Sequence[dict[str, str]] = DEFAULT_NOTES,
        title: str | None = None,
        stat_code: str = "00299999",
        stat_name: str = "合成統計調査（SYNTHETIC）",
        gov_org_code: str = "00299",
        gov_org: str = "合成府",
        statistics_name: str | None = None,
        survey_date: int | str = 202010,
        open_date: str = "2026-01-15",
        updated_date: str = "2026-01-15",
        collect_area: str = "全国",
        main_category: tuple[str, str] = ("02", "人口・世帯"),
        sub_category: tuple[str, str] = ("01", "人口"),
        row_limit: int | None = None,
        title_en: str | None = None,
        stat_name_en: str | None = None,
    ) -> None:
        self.stats_data_id = stats_data_id
        # SYNTHETIC English (lang=E): the English title and survey name, else the Japanese ones.
        self.title_en, self.stat_name_en = title_en, stat_name_en
        self.axes = list(axes)
        self.value_fn = value_fn
        self.notes = list(notes)
        self.title = title or f"合成統計表 {stats_data_id}（SYNTHETIC）"
        self.stat_code, self.stat_name = stat_code, stat_name
        self.gov_org_code, self.gov_org = gov_org_code, gov_org
        self.statistics_name = statistics_name or f"{stat_name} 合成集計"
        self.survey_date, self.open_date, self.updated_date = survey_date, open_date, updated_date
        self.collect_area = collect_area
        self.main_category, self.sub_category = main_category, sub_category
        self.row_limit = row_limit
        self.version = 0
        self._lock = threading.Lock()

    # -- mutation ---------------------------------------------------------------------------------

    def update(
        self,
        *,
        row_limit: int | str | None = "keep",
        updated_date: str | None = None,
        axes: Sequence[Axis] | None = None,
        value_fn: Callable[[int], str] | None = None,
    ) -> None:
        with self._lock:
            if row_limit != "keep":
                self.row_limit = row_limit  # type: ignore[assignment]
            if updated_date is not None:
                self.updated_date = updated_date
            if axes is not None:
                self.axes = list(axes)
            if value_fn is not None:
                self.value_fn = value_fn
            self.version += 1

    # -- shape ---------------------------------------------------------------------------------------

    @property
    def full_rows(self) -> int:
        count = 1
        for axis in self.axes:
            count *= len(axis.items)
        return count

    @property
    def total_rows(self) -> int:
        return self.full_rows if self.row_limit is None else min(self.full_rows, self.row_limit)

    def strides(self) -> list[int]:
        strides, step = [], 1
        for axis in reversed(self.axes):
            strides.append(step)
            step *= len(axis.items)
        return list(reversed(strides))

    def table_inf(self, lang: str = "J") -> dict[str, Any]:
        english = lang == "E"
        title = self.title_en if english and self.title_en else self.title
        stat_name = self.stat_name_en if english and self.stat_name_en else self.stat_name
        return {
            "@id": self.stats_data_id,
            "STAT_NAME": {"@code": self.stat_code, "$": stat_name},
            "GOV_ORG": {"@code": self.gov_org_code, "$": self.gov_org},
            "STATISTICS_NAME": self.statistics_name,
            "TITLE": {"@no": "1", "$": title},
            "CYCLE": "-",
            "SURVEY_DATE": self.survey_date,
            "OPEN_DATE": self.open_date,
            "SMALL_AREA": 0,
            "COLLECT_AREA": self.collect_area,
            "MAIN_CATEGORY": {"@code": self.main_category[0], "$": self.main_category[1]},
            "SUB_CATEGORY": {"@code": self.sub_category[0], "$": self.sub_category[1]},
            "OVERALL_TOTAL_NUMBER": self.total_rows,
            "UPDATED_DATE": self.updated_date,
            "STATISTICS_NAME_SPEC": {"TABULATION_CATEGORY": self.statistics_name},
            "DESCRIPTION": "",
            "TITLE_SPEC": {"TABLE_NAME": title},
        }

    def class_objs(self, keep: Sequence[Sequence[int]] | None = None, lang: str = "J") -> list[dict[str, Any]]:
        objs = []
        for n, axis in enumerate(self.axes):
            positions = range(len(axis.items)) if keep is None else keep[n]
            obj = {"@id": axis.id, "@name": axis.name_en if lang == "E" and axis.name_en else axis.name}
            if axis.description is not None:
                obj["@description"] = axis.description
            objs.append(
                {
                    **obj,
                    "CLASS": _one_or_list([axis.items[i].as_class(lang) for i in positions]),
                }
            )
        return objs

    def note(self) -> Any:
        return _one_or_list(self.notes) if self.notes else None

    # -- rows ----------------------------------------------------------------------------------------

    def row_unit(self, positions: Sequence[int]) -> str | None:
        for axis, position in zip(self.axes, positions, strict=True):
            unit = axis.items[position].unit
            if unit is not None:
                return unit
        return None

    def rows(self, params: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
        """Expected VALUE rows (as e-Stat dicts) for a narrowing: what paging must reproduce."""
        keep = self._narrow(params or {})[0]
        strides = self.strides()
        for positions in itertools.product(*keep):
            flat = sum(p * s for p, s in zip(positions, strides, strict=True))
            if self.row_limit is None or flat < self.row_limit:
                yield self._row(positions, flat)

    def row_at(self, flat_index: int) -> dict[str, str]:
        """The VALUE row at ``flat_index`` of the full (un-narrowed) table, without iterating."""
        if not 0 <= flat_index < self.total_rows:
            raise IndexError(flat_index)
        positions, rest = [], flat_index
        for stride in self.strides():
            position, rest = divmod(rest, stride)
            positions.append(position)
        return self._row(positions, flat_index)

    def _row(self, positions: Sequence[int], flat_index: int) -> dict[str, str]:
        row = {f"@{axis.id}": axis.items[p].code for axis, p in zip(self.axes, positions, strict=True)}
        unit = self.row_unit(positions)
        if unit is not None:
            row["@unit"] = unit
        row["$"] = self.value_fn(flat_index)
        return row

    def _narrow(self, params: dict[str, str]) -> tuple[list[list[int]], dict[str, str]]:
        keep, echo = [], {}
        for axis in self.axes:
            positions, axis_echo = narrow_items(
                axis.id, axis.items, params, lambda item: item.code, lambda item: item.level
            )
            keep.append(positions)
            echo.update(axis_echo)
        return keep, echo

    def select(self, params: dict[str, str]) -> tuple[Selection, dict[str, str]]:
        keep, echo = self._narrow(params)
        strides = self.strides()
        axes = self.axes
        value_fn = self.value_fn
        # Per axis: (flat offset, '"@id":"code",' fragment, unit) for the kept items.
        entries = [
            [
                (p * strides[n], f'"@{axes[n].id}":{_dump(axes[n].items[p].code)},', axes[n].items[p].unit)
                for p in keep[n]
            ]
            for n in range(len(axes))
        ]
        row_limit = self.row_limit
        product_size = 1
        for axis_entries in entries:
            product_size *= len(axis_entries)
        unfiltered = all(len(kept) == len(axis.items) for kept, axis in zip(keep, axes, strict=True))
        if row_limit is None:
            total = product_size
        elif unfiltered:  # the first row_limit rows of the product
            total = min(product_size, row_limit)
        else:
            total = sum(1 for combo in itertools.product(*entries) if sum(e[0] for e in combo) < row_limit)

        def page(start: int, count: int) -> list[str]:
            if not entries or any(not e for e in entries) or start >= total:
                return []
            count = min(count, total - start)
            if row_limit is not None and not unfiltered:
                return self._page_slow(entries, start, count, row_limit)
            *prefix_axes, last = entries
            inner = len(last)
            out: list[str] = []
            add = out.append
            prefixes = itertools.islice(itertools.product(*prefix_axes), start // inner, None)
            offset = start % inner
            # Units are encoded once per item, values with the C string encoder: a 100k-row page is
            # one f-string per row.
            unit_parts = {}
            for axis_entries in entries:
                for entry in axis_entries:
                    if entry[2] is not None and entry[2] not in unit_parts:
                        unit_parts[entry[2]] = f'"@unit":{_encode_string(entry[2])},'
            for combo in prefixes:
                base = sum(e[0] for e in combo)
                head = "{" + "".join(e[1] for e in combo)
                unit = next((e[2] for e in combo if e[2] is not None), None)
                for flat_offset, fragment, last_unit in last[offset:]:
                    row_unit = unit if unit is not None else last_unit
                    unit_part = unit_parts[row_unit] if row_unit is not None else ""
                    add(f'{head}{fragment}{unit_part}"$":{_encode_string(value_fn(base + flat_offset))}}}')
                    if len(out) >= count:
                        return out
                offset = 0
            return out

        return Selection(total, page, self.class_objs(keep, params.get("lang", "J"))), echo

    def _page_slow(
        self, entries: list[list[tuple[int, str, str | None]]], start: int, count: int, row_limit: int
    ) -> list[str]:
        out: list[str] = []
        skipped = 0
        for combo in itertools.product(*entries):
            flat = sum(e[0] for e in combo)
            if flat >= row_limit:
                continue
            if skipped < start:
                skipped += 1
                continue
            unit = next((e[2] for e in combo if e[2] is not None), None)
            unit_part = f'"@unit":{_dump(unit)},' if unit is not None else ""
            out.append("{" + "".join(e[1] for e in combo) + unit_part + f'"$":{_dump(self.value_fn(flat))}}}')
            if len(out) >= count:
                break
        return out


class RecordedTable:
    """A table whose rows come from a recording (all rows the recording has, served with paging)."""

    def __init__(
        self,
        stats_data_id: str,
        table_inf: dict[str, Any],
        class_objs: list[dict[str, Any]],
        note: Any,
        values: list[dict[str, str]],
        source: str,
    ) -> None:
        self.stats_data_id = stats_data_id
        self._table_inf = table_inf
        self._class_objs = class_objs
        self._note = note
        self.values = values
        self.source = source
        self.version = 0

    def table_inf(self, lang: str = "J") -> dict[str, Any]:
        return self._table_inf  # lang=E: served as recorded (Japanese); no English response was recorded

    def class_objs(self, keep: Sequence[Sequence[int]] | None = None, lang: str = "J") -> list[dict[str, Any]]:
        if keep is None:
            return self._class_objs
        objs = []
        for obj, positions in zip(self._class_objs, keep, strict=True):
            items = _as_list(obj.get("CLASS"))
            objs.append({**obj, "CLASS": _one_or_list([items[i] for i in positions])})
        return objs

    def note(self) -> Any:
        return self._note

    @property
    def total_rows(self) -> int:
        return len(self.values)

    def select(self, params: dict[str, str]) -> tuple[Selection, dict[str, str]]:
        keep, echo = [], {}
        allowed: dict[str, set[str]] = {}
        for obj in self._class_objs:
            items = _as_list(obj.get("CLASS"))
            positions, axis_echo = narrow_items(
                obj["@id"], items, params, lambda item: item["@code"], lambda item: item.get("@level", "")
            )
            keep.append(positions)
            echo.update(axis_echo)
            if axis_echo:
                allowed["@" + obj["@id"]] = {items[i]["@code"] for i in positions}
        rows = [row for row in self.values if all(row.get(key) in codes for key, codes in allowed.items())]

        def page(start: int, count: int) -> list[str]:
            return [_dump(row) for row in rows[start : start + count]]

        return Selection(len(rows), page, self.class_objs(keep)), echo


def _as_list(node: Any) -> list[Any]:
    if isinstance(node, list):
        return node
    return [] if node in (None, "") else [node]


# =============================================================================================
# Catalog (getStatsList)


def synthetic_table_inf(
    stats_data_id: str,
    stat: tuple[str, str],
    org: tuple[str, str],
    statistics_name: str,
    title: str,
    *,
    survey_date: int | str = 0,
    open_date: str = "2025-06-30",
    collect_area: str = "全国",
    main: tuple[str, str] = ("99", "その他"),
    sub: tuple[str, str] = ("99", "その他"),
    overall_total_number: int = 1000,
    cycle: str = "年次",
) -> dict[str, Any]:
    return {
        "@id": stats_data_id,
        "STAT_NAME": {"@code": stat[0], "$": stat[1]},
        "GOV_ORG": {"@code": org[0], "$": org[1]},
        "STATISTICS_NAME": statistics_name,
        "TITLE": {"@no": "1", "$": title},
        "CYCLE": cycle,
        "SURVEY_DATE": survey_date,
        "OPEN_DATE": open_date,
        "SMALL_AREA": 0,
        "COLLECT_AREA": collect_area,
        "MAIN_CATEGORY": {"@code": main[0], "$": main[1]},
        "SUB_CATEGORY": {"@code": sub[0], "$": sub[1]},
        "OVERALL_TOTAL_NUMBER": overall_total_number,
        "UPDATED_DATE": open_date,
        "STATISTICS_NAME_SPEC": {"TABULATION_CATEGORY": statistics_name},
        "TITLE_SPEC": {"TABLE_NAME": title},
    }


# SYNTHETIC catalog entries (ids 00099xxxxx), shaped like the recorded TABLE_INF of #12 so that
# searches for everyday and official words (所得/収入, 賃金/給料, 家計, 物価, 人口...) have hits.
# Columns: id, (survey code, name), organisation, STATISTICS_NAME, TITLE, SURVEY_DATE,
# (main, sub) category, COLLECT_AREA, OVERALL_TOTAL_NUMBER.
_MIC, _MHLW, _MAFF, _MLIT = (
    ("00200", "総務省"),
    ("00450", "厚生労働省"),
    ("00500", "農林水産省"),
    ("00600", "国土交通省"),
)
_WAGES = (("03", "労働・賃金"), ("02", "賃金・労働条件"))
_SYNTHETIC_ROWS: list[tuple[Any, ...]] = [
    ("0009900001", ("00200561", "家計調査"), _MIC, "家計調査 家計収支編 二人以上の世帯",
     "世帯主の年齢階級別 1世帯当たり1か月間の収入と支出", 202401, (("07", "企業・家計・経済"), ("01", "家計")),
     "全国", 52000),
    ("0009900002", ("00200564", "全国家計構造調査"), _MIC, "全国家計構造調査 所得に関する結果",
     "年間収入階級別 世帯の所得分布", 201910, (("07", "企業・家計・経済"), ("01", "家計")), "都道府県", 1000),
    ("0009900003", ("00450061", "国民生活基礎調査"), _MHLW, "国民生活基礎調査 所得票",
     "所得金額階級別 世帯数の相対度数分布", 2022, (("15", "社会保障・衛生"), ("03", "社会保障")), "全国", 1000),
    ("0009900004", ("00450091", "賃金構造基本統計調査"), _MHLW, "賃金構造基本統計調査 一般労働者",
     "都道府県別 きまって支給する現金給与額（賃金）", 2023, _WAGES, "都道府県", 250001),
    ("0009900005", ("00450071", "毎月勤労統計調査"), _MHLW, "毎月勤労統計調査 全国調査",
     "産業別 現金給与総額 実質賃金指数", "202401-202412", _WAGES, "全国", 1000),
    ("0009900006", ("00200531", "労働力調査"), _MIC, "労働力調査 基本集計", "就業状態別 15歳以上人口 完全失業率",
     202412, (("03", "労働・賃金"), ("01", "労働力")), "全国", 1000),
    ("0009900007", ("00200573", "消費者物価指数"), _MIC, "2020年基準消費者物価指数", "品目別 消費者物価指数 全国 月次",
     0, (("07", "企業・家計・経済"), ("03", "物価")), "全国", 1000),
    ("0009900008", ("00200524", "人口推計"), _MIC, "人口推計 各年10月1日現在人口",
     "都道府県 男女別人口 総人口 日本人人口", 2024, (("02", "人口・世帯"), ("01", "人口")), "都道府県", 1000),
    ("0009900009", ("00200522", "住宅・土地統計調査"), _MIC, "住宅・土地統計調査 住宅及び世帯に関する基本集計",
     "住宅の種類 所有の関係別 住宅数 家賃", 201810, (("08", "住宅・土地・建設"), ("01", "住宅・土地")), "市区町村", 1000),
    ("0009900010", ("00450011", "人口動態調査"), _MHLW, "人口動態調査 人口動態統計 確定数 出生",
     "都道府県別 出生数 合計特殊出生率", 2023, (("02", "人口・世帯"), ("02", "人口動態")), "都道府県", 1000),
    ("0009900011", ("00500209", "農林業センサス"), _MAFF, "農林業センサス 農林業経営体",
     "都道府県別 農業経営体数 耕地面積", 2020, (("04", "農林水産業"), ("01", "農業")), "都道府県", 1000),
    ("0009900012", ("00600470", "観光入込客統計"), _MLIT, "共通基準による観光入込客統計",
     "都道府県別 観光入込客数 観光消費額", 2023, (("12", "教育・文化・スポーツ・生活"), ("04", "観光")), "都道府県", 1000),
]  # fmt: skip
SYNTHETIC_CATALOG: list[dict[str, Any]] = [
    synthetic_table_inf(
        table_id, stat, org, statistics_name, title, survey_date=survey_date, main=main, sub=sub,
        collect_area=collect_area, overall_total_number=total,
    )
    for table_id, stat, org, statistics_name, title, survey_date, (main, sub), collect_area, total in _SYNTHETIC_ROWS
]  # fmt: skip


def _text(node: Any) -> str:
    if isinstance(node, dict):
        node = node.get("$")
    return "" if node is None else str(node)


def _searchable(table_inf: dict[str, Any]) -> str:
    parts = [
        _text(table_inf.get(key))
        for key in ("STAT_NAME", "GOV_ORG", "STATISTICS_NAME", "TITLE", "MAIN_CATEGORY", "SUB_CATEGORY")
    ]
    for key in ("STATISTICS_NAME_SPEC", "TITLE_SPEC", "DESCRIPTION"):
        node = table_inf.get(key)
        if isinstance(node, dict):
            parts.extend(str(value) for value in node.values())
    return _fold(" ".join(parts))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def parse_search_word(word: str) -> list[tuple[list[str], list[str]]]:
    """e-Stat searchWord: terms separated by spaces are ANDed; ``OR`` separates alternatives;
    ``NOT term`` excludes. Returns [(required terms, excluded terms)] (any alternative may match)."""
    tokens = _fold(word).split()
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    negate = False
    for token in tokens:
        if token == "or":
            groups.append(([], []))
        elif token == "and":
            continue
        elif token == "not":
            negate = True
        else:
            groups[-1][1 if negate else 0].append(token)
            negate = False
    return [group for group in groups if group[0] or group[1]]


def _date_range(value: str) -> tuple[int, int] | None:
    """ "2020" / "202010" / "202001-202012" as an inclusive yyyymm range."""
    value = value.strip()
    match = re.fullmatch(r"(\d{4})(\d{2})?(?:-(\d{4})(\d{2})?)?", value)
    if not match:
        return None
    y1, m1, y2, m2 = match.groups()
    low = int(y1) * 100 + int(m1 or 1)
    high = int(y2) * 100 + int(m2 or 12) if y2 else int(y1) * 100 + int(m1 or 12)
    return low, high


def _entry_range(node: Any) -> tuple[int, int] | None:
    """SURVEY_DATE (int 202010, str "202001-202012", 0 = unknown) as a yyyymm range."""
    if node in (None, "", 0, "0"):
        return None
    text = str(node)
    return _date_range(text if "-" in text else text[:6])


_COLLECT_AREAS = {"1": "全国", "2": "都道府県", "3": "市区町村"}


@dataclass
class CatalogEntry:
    """One searchable TABLE_INF: ``text`` from its names and titles, ``item_text`` from its CLASS item
    names when known (e-Stat's search also looks there: "CD" finds 0003065345 only through its item
    ＣＤ・テープ・レコード..., #2 + #3; used when ``FakeEstat.search_item_names`` is on)."""

    table_inf: dict[str, Any]
    source: str  # the fixture file, or "synthetic"
    item_names: str = ""
    text: str = ""
    item_text: str = ""
    english: dict[str, Any] | None = None  # SYNTHETIC English TABLE_INF served (and searched) for lang=E
    english_text: str = ""

    def __post_init__(self) -> None:
        self.text = _searchable(self.table_inf)
        self.english_text = _searchable(self.english) if self.english else self.text
        self.item_text = _fold(self.item_names)


def class_item_names(class_objs: Iterable[dict[str, Any]]) -> str:
    return " ".join(str(item.get("@name", "")) for obj in class_objs for item in _as_list(obj.get("CLASS")))


def catalog_matches(entry: CatalogEntry, params: dict[str, str], *, item_names: bool = False) -> bool:
    node = entry.table_inf
    word = params.get("searchWord")
    if word:
        own = entry.english_text if params.get("lang") == "E" else entry.text
        text = own + " " + entry.item_text if item_names else own
        groups = parse_search_word(word)
        if groups and not any(
            all(term in text for term in required) and not any(term in text for term in excluded)
            for required, excluded in groups
        ):
            return False
    for key, attribute in (("surveyYears", "SURVEY_DATE"), ("openYears", "OPEN_DATE")):
        if params.get(key):
            wanted = _date_range(params[key])
            raw = node.get(attribute)
            if attribute == "OPEN_DATE" and isinstance(raw, str):
                raw = raw.replace("-", "")[:6]
            have = _entry_range(raw)
            if wanted is None or have is None or have[1] < wanted[0] or have[0] > wanted[1]:
                return False
    field_code = params.get("statsField")
    if field_code:
        main = (node.get("MAIN_CATEGORY") or {}).get("@code", "")
        sub = (node.get("SUB_CATEGORY") or {}).get("@code", "")
        if (len(field_code) == 2 and main != field_code) or (len(field_code) == 4 and main + sub != field_code):
            return False
    stats_code = params.get("statsCode")
    if stats_code:
        org = (node.get("GOV_ORG") or {}).get("@code", "")
        stat = (node.get("STAT_NAME") or {}).get("@code", "")
        if (len(stats_code) == 5 and org != stats_code) or (len(stats_code) != 5 and stat != stats_code):
            return False
    area = params.get("collectArea")
    return not (area and node.get("COLLECT_AREA") != _COLLECT_AREAS.get(area, area))


# =============================================================================================
# Requests, responses, faults


@dataclass
class FakeRequest:
    """One request as the fake saw it (the appId is never stored, only whether it was right)."""

    seq: int
    endpoint: str
    path: str
    params: dict[str, str]
    app_id_valid: bool
    started: float
    finished: float | None = None
    http_status: int | None = None
    estat_status: int | None = None
    outcome: str = "response"  # response | reset | hook
    log_generation: int = 0  # which request log (reset_log starts a new one) it counts in

    @property
    def stats_data_id(self) -> str | None:
        return self.params.get("statsDataId")

    @property
    def start_position(self) -> int | None:
        value = self.params.get("startPosition")
        return int(value) if value and value.isdigit() else None

    @property
    def is_count(self) -> bool:
        return self.params.get("cntGetFlg", "N").upper() == "Y"


@dataclass
class FakeResponse:
    """What a hook may return instead of the normal answer (``reset=True``: TCP reset, no response)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    content_type: str = "application/json;charset=utf-8"


Hook = Callable[[FakeRequest], FakeResponse | None]


@dataclass
class _Fault:
    make: Callable[[FakeRequest], FakeResponse | None]
    times: int | None
    endpoint: str | None = None
    stats_data_id: str | None = None
    start_position: int | None = None
    include_counts: bool = True

    def applies(self, request: FakeRequest) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.endpoint and request.endpoint != self.endpoint:
            return False
        if self.stats_data_id and request.stats_data_id != self.stats_data_id:
            return False
        if self.start_position is not None and (request.start_position or 1) != self.start_position:
            return False
        return self.include_counts or not request.is_count


def _jst_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+09:00", time.gmtime(time.time() + 9 * 3600))


def envelope(
    root: str, status: int, message: str, parameter: dict[str, Any] | None = None, date: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"RESULT": {"STATUS": status, "ERROR_MSG": message, "DATE": date or _jst_now()}}
    if parameter is not None:
        body["PARAMETER"] = parameter
    return {root: body}


ROOTS = {
    "getStatsList": "GET_STATS_LIST",
    "getMetaInfo": "GET_META_INFO",
    "getStatsData": "GET_STATS_DATA",
    "getDataCatalog": "GET_DATA_CATALOG",
}

XML_AUTH_FAILURE = (  # fixture #23 (the excerpt, with its closing root tag restored)
    "<GET_STATS_LIST>\n  <RESULT>\n    <STATUS>100</STATUS>\n"
    f"    <ERROR_MSG>{AUTH_MESSAGE}</ERROR_MSG>\n  </RESULT>\n</GET_STATS_LIST>\n"
)


# =============================================================================================
# The server


class FakeEstat:
    """See the module docstring."""

    def __init__(
        self,
        app_id: str = DEFAULT_APP_ID,
        *,
        fixtures_dir: Path | None = FIXTURES_DIR,
        auth_failure_style: str = "json",
        page_cache_size: int = 4,
        search_item_names: bool = False,
    ) -> None:
        self.app_id = app_id
        self.auth_failure_style = auth_failure_style  # "json" (HTTP 200, #24) or "xml403" (#23)
        # searchWord also matches CLASS item names, as e-Stat does (off by default: tests written
        # against title-only matching keep their counts).
        self.search_item_names = search_item_names
        self.tables: dict[str, GeneratedTable | RecordedTable] = {}
        self.catalog: list[CatalogEntry] = []
        self.requests: list[FakeRequest] = []
        # Requests of the current log in flight (one still answering after reset_log, e.g. a test's
        # delayed request, never counts in the next test's max_in_flight).
        self.in_flight = 0
        self.max_in_flight = 0
        self._log_generation = 0
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._hooks: list[Hook] = []
        self._latency: Callable[[FakeRequest], float] | None = None
        self._verbatim: list[tuple[str, dict[str, str], bytes, str]] = []
        self._meta_verbatim: dict[str, tuple[bytes, str]] = {}
        self._data_catalog_entries: list[tuple[dict[str, Any], str]] = []
        self._page_cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._page_cache_size = page_cache_size
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if fixtures_dir is not None:
            self._load_recordings(Path(fixtures_dir))
        for table_inf in SYNTHETIC_CATALOG:
            self.add_catalog_entry(table_inf, source="synthetic")

    # -- lifecycle -------------------------------------------------------------------------------

    def _bind(self, port: int) -> _Server:
        self._server = _Server(("127.0.0.1", port), type("Handler", (_Handler,), {"estat": self}))
        return self._server

    def start(self, port: int = 0) -> FakeEstat:
        """Serve in a daemon thread on 127.0.0.1 (``port=0``: a free port; see :attr:`base_url`)."""
        server = self._bind(port)
        self._thread = threading.Thread(target=server.serve_forever, name="fake-estat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeEstat:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeEstat not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    # -- registration -----------------------------------------------------------------------------

    def add_table(self, table: GeneratedTable | RecordedTable, *, catalog: bool = True) -> Any:
        self.tables[table.stats_data_id] = table
        if catalog:
            english = table.table_inf("E") if isinstance(table, GeneratedTable) and table.title_en else None
            self.add_catalog_entry(
                table.table_inf(),
                source="synthetic" if isinstance(table, GeneratedTable) else getattr(table, "source", "recorded"),
                item_names=class_item_names(table.class_objs()),
                english=english,
            )
        return table

    def add_generated_table(
        self, stats_data_id: str, axes: Sequence[Axis], *, catalog: bool = True, **options: Any
    ) -> GeneratedTable:
        """Register a SYNTHETIC table (see :class:`GeneratedTable` for the options)."""
        return self.add_table(GeneratedTable(stats_data_id, axes, **options), catalog=catalog)

    def add_catalog_entry(
        self,
        table_inf: dict[str, Any],
        *,
        source: str = "synthetic",
        item_names: str = "",
        english: dict[str, Any] | None = None,
    ) -> None:
        """Make a TABLE_INF searchable (once per id and COLLECT_AREA); ``item_names``: its CLASS names;
        ``english``: a SYNTHETIC English TABLE_INF for lang=E (else lang=E serves the Japanese one)."""
        key = (table_inf.get("@id"), table_inf.get("COLLECT_AREA"))
        if any((e.table_inf.get("@id"), e.table_inf.get("COLLECT_AREA")) == key for e in self.catalog):
            return
        self.catalog.append(CatalogEntry(table_inf, source, item_names, english=english))

    def snapshot(self) -> tuple[dict[str, Any], list[CatalogEntry]]:
        """The registered tables and catalog, for :meth:`restore` (test isolation)."""
        return dict(self.tables), list(self.catalog)

    def restore(self, snapshot: tuple[dict[str, Any], list[CatalogEntry]]) -> None:
        tables, catalog = snapshot
        with self._lock:
            self.tables = dict(tables)
            self.catalog = list(catalog)
            self._page_cache.clear()

    # -- faults and hooks --------------------------------------------------------------------------

    def before_response(self, hook: Hook) -> Hook:
        """Run ``hook(request)`` before answering; a FakeResponse it returns replaces the answer.
        Hooks may also sleep or mutate tables (e.g. ``self.tables[id].update(...)``)."""
        self._hooks.append(hook)
        return hook

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._hooks.clear()
            self._latency = None

    def _add_fault(self, make: Callable[[FakeRequest], FakeResponse | None], times: int | None, **match: Any) -> None:
        with self._lock:
            self._faults.append(_Fault(make, times, **match))

    def fail(
        self,
        times: int | None = 1,
        *,
        status: int = 503,
        body: bytes = b"Service Unavailable",
        headers: dict[str, str] | None = None,
        endpoint: str | None = None,
        stats_data_id: str | None = None,
        start_position: int | None = None,
    ) -> None:
        """The next ``times`` matching requests get HTTP ``status`` (``times=None``: forever)."""
        response = FakeResponse(status, body, headers or {}, content_type="text/plain")
        self._add_fault(
            lambda request: response,
            times,
            endpoint=endpoint,
            stats_data_id=stats_data_id,
            start_position=start_position,
        )

    def rate_limit(self, times: int | None = 1, *, retry_after: float | str = 1, endpoint: str | None = None) -> None:
        response = FakeResponse(429, b"Too Many Requests", {"Retry-After": str(retry_after)}, content_type="text/plain")
        self._add_fault(lambda request: response, times, endpoint=endpoint)

    def reset_connection(
        self, times: int | None = 1, *, endpoint: str | None = None, start_position: int | None = None
    ) -> None:
        self._add_fault(
            lambda request: FakeResponse(reset=True), times, endpoint=endpoint, start_position=start_position
        )

    def malformed_json(self, times: int | None = 1, *, endpoint: str | None = None) -> None:
        def make(request: FakeRequest) -> FakeResponse:
            root = ROOTS.get(request.endpoint, "GET_STATS_LIST")
            return FakeResponse(200, f'{{"{root}":{{"RESULT":{{"STATUS":0,"ERROR_M'.encode())

        self._add_fault(make, times, endpoint=endpoint)

    def estat_status(
        self,
        status: int,
        times: int | None = 1,
        *,
        message: str | None = None,
        http_status: int = 200,
        endpoint: str | None = None,
    ) -> None:
        """Answer with an e-Stat error envelope (SYNTHETIC except STATUS 100)."""

        def make(request: FakeRequest) -> FakeResponse:
            text = message or (AUTH_MESSAGE if status == 100 else STATUS_MESSAGES.get(status, f"エラー {status}"))
            root = ROOTS.get(request.endpoint, "GET_STATS_LIST")
            return FakeResponse(http_status, _dump(envelope(root, status, text, {"DATA_FORMAT": "J"})).encode())

        self._add_fault(make, times, endpoint=endpoint)

    def delay(
        self, seconds: float, times: int | None = 1, *, endpoint: str | None = None, start_position: int | None = None
    ) -> None:
        """Sleep ``seconds`` before the next ``times`` matching answers (e.g. to force a client timeout)."""

        def make(request: FakeRequest) -> None:
            time.sleep(seconds)
            return None

        self._add_fault(make, times, endpoint=endpoint, start_position=start_position)

    def set_latency(self, latency: float | Callable[[FakeRequest], float] | None) -> None:
        """Fixed seconds per request, or a function of the request (vary it per page so that
        concurrent pages complete out of order)."""
        if latency is None or callable(latency):
            self._latency = latency
        else:
            self._latency = lambda request, seconds=float(latency): seconds

    def hold_until_in_flight(
        self, count: int, *, when: Callable[[FakeRequest], bool] | None = None, limit_s: float = 30.0
    ) -> None:
        """Hold every answer (to requests ``when`` accepts) until ``count`` such requests are in flight at
        once; from then on, or once ``limit_s`` has passed, answer at once. A concurrent client thus shows
        its concurrency in :attr:`max_in_flight` however slow the machine is (a latency only makes an
        overlap likely); a client that never has ``count`` requests out at once is held ``limit_s`` in
        all, and the test's check of ``max_in_flight`` fails."""
        accept = when or (lambda request: True)
        state: dict[str, Any] = {"open": False, "deadline": None}
        changed = threading.Condition(self._lock)

        def hook(request: FakeRequest) -> None:
            if not accept(request):
                return None
            with changed:
                if state["deadline"] is None:
                    state["deadline"] = time.monotonic() + limit_s
                changed.notify_all()  # one more request out: the waiting ones count again
                while not state["open"]:
                    out = sum(1 for r in self.requests if r.finished is None and accept(r))
                    if out >= count or time.monotonic() >= state["deadline"]:
                        state["open"] = True
                        changed.notify_all()
                        break
                    changed.wait(timeout=min(0.05, max(0.0, state["deadline"] - time.monotonic())))
            return None

        self.before_response(hook)

    def change_table_after(self, stats_data_id: str, page_requests: int, **changes: Any) -> None:
        """After ``page_requests`` getStatsData page requests (count probes excluded) for the table,
        apply ``table.update(**changes)`` (``row_limit=``, ``updated_date=``, ``axes=``...) once."""
        state = {"seen": 0, "done": False}

        def hook(request: FakeRequest) -> None:
            if request.endpoint != "getStatsData" or request.stats_data_id != stats_data_id or request.is_count:
                return None
            with self._lock:
                state["seen"] += 1
                due = state["seen"] > page_requests and not state["done"]
                if due:
                    state["done"] = True
            if due:
                self.tables[stats_data_id].update(**changes)  # type: ignore[union-attr]
            return None

        self.before_response(hook)

    # -- request log ---------------------------------------------------------------------------------

    def count(self, endpoint: str | None = None, **params: str) -> int:
        return sum(
            1
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint) and all(r.params.get(k) == v for k, v in params.items())
        )

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0
            self.in_flight = 0
            self._log_generation += 1

    # -- answering ------------------------------------------------------------------------------------

    def _begin(self, endpoint: str, path: str, params: dict[str, str], app_id_valid: bool) -> FakeRequest:
        with self._lock:
            request = FakeRequest(
                len(self.requests) + 1,
                endpoint,
                path,
                params,
                app_id_valid,
                time.monotonic(),
                log_generation=self._log_generation,
            )
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return request

    def _end(self, request: FakeRequest) -> None:
        """Leave the in-flight count (called just before the response is written)."""
        with self._lock:
            if request.log_generation == self._log_generation:
                self.in_flight -= 1
            request.finished = time.monotonic()

    def answer(self, request: FakeRequest) -> FakeResponse:
        """The response for a logged request: faults and hooks first, then the API."""
        latency = self._latency
        if latency is not None:
            seconds = latency(request)
            if seconds > 0:
                time.sleep(seconds)
        with self._lock:
            faults = [f for f in self._faults if f.applies(request)]
            for fault in faults:
                if fault.times is not None:
                    fault.times -= 1
            hooks = list(self._hooks)
        for fault in faults:
            response = fault.make(request)
            if response is not None:
                request.outcome = "hook"
                return response
        for hook in hooks:
            response = hook(request)
            if response is not None:
                request.outcome = "hook"
                return response
        if not request.app_id_valid:
            request.estat_status = 100
            if self.auth_failure_style == "xml403":
                return FakeResponse(
                    403,
                    XML_AUTH_FAILURE.encode(),
                    {"Server": "ZENEDGE", "X-Cdn": "Served-By-Zenedge"},
                    content_type="application/xml;charset=utf-8",
                )
            root = ROOTS[request.endpoint]
            return FakeResponse(200, _dump(envelope(root, 100, AUTH_MESSAGE, {"DATA_FORMAT": "J"})).encode())
        handler = {
            "getStatsList": self._stats_list,
            "getMetaInfo": self._meta_info,
            "getStatsData": self._stats_data,
            "getDataCatalog": self._data_catalog,
        }[request.endpoint]
        return handler(request)

    def _error(self, request: FakeRequest, status: int, parameter: dict[str, Any] | None = None) -> FakeResponse:
        request.estat_status = status
        root = ROOTS[request.endpoint]
        message = STATUS_MESSAGES.get(status, f"エラー {status}")
        return FakeResponse(200, _dump(envelope(root, status, message, parameter or {"DATA_FORMAT": "J"})).encode())

    # getDataCatalog -----------------------------------------------------------------------------------

    def _data_catalog(self, request: FakeRequest) -> FakeResponse:
        """Over the 100 recorded DATA_CATALOG_INF of #8: searchWord (AND/OR/NOT over dataset and
        resource names), dataType (resource FORMAT), limit/startPosition. Entries keep their shape."""
        params = request.params
        verbatim = self._find_verbatim(request)
        if verbatim is not None:
            request.estat_status = 0
            return FakeResponse(200, verbatim)
        paging = self._paging(request, default_limit=100)
        if isinstance(paging, FakeResponse):
            return paging
        start, limit = paging
        groups = parse_search_word(params.get("searchWord", ""))
        formats = {item.strip().upper() for item in params.get("dataType", "").split(",") if item.strip()}
        wanted_years = _date_range(params["surveyYears"]) if params.get("surveyYears") else None
        matches = []
        for entry, text in self._data_catalog_entries:
            resources = _as_list(entry["RESOURCES"].get("RESOURCE"))
            if formats and not any(str(r.get("FORMAT", "")).upper() in formats for r in resources):
                continue
            stats_code = params.get("statsCode")
            if stats_code:  # an 8-digit survey code (STAT_NAME) or a 5-digit organisation code
                node = entry["DATASET"].get("ORGANIZATION" if len(stats_code) == 5 else "STAT_NAME") or {}
                if node.get("@code") != stats_code:
                    continue
            if wanted_years is not None:  # SURVEY_DATE of the dataset's TITLE (#8: an int year such as 1997)
                have = _entry_range((entry["DATASET"].get("TITLE") or {}).get("SURVEY_DATE"))
                if have is None or have[1] < wanted_years[0] or have[0] > wanted_years[1]:
                    continue
            if groups and not any(
                all(t in text for t in required) and not any(t in text for t in excluded)
                for required, excluded in groups
            ):
                continue
            matches.append(entry)
        echo = {re.sub(r"([a-z])([A-Z])", r"\1_\2", key).upper(): value for key, value in params.items()}
        echo.pop("LANG", None)
        parameter = {"LANG": params.get("lang", "J"), **echo, "DATA_FORMAT": "J"}  # searchWord -> SEARCH_WORD (#8)
        if not matches or start > len(matches):
            request.estat_status = 1
            return FakeResponse(200, _dump(envelope("GET_DATA_CATALOG", 1, NO_DATA_MESSAGE, parameter)).encode())
        page = matches[start - 1 : start - 1 + limit]
        result_inf = {"FROM_NUMBER": start, "TO_NUMBER": start + len(page) - 1}
        if start + len(page) - 1 < len(matches):
            result_inf["NEXT_KEY"] = start + len(page)
        body = envelope("GET_DATA_CATALOG", 0, OK_MESSAGE, parameter)
        body["GET_DATA_CATALOG"]["DATA_CATALOG_LIST_INF"] = {
            "NUMBER": len(matches),
            "RESULT_INF": result_inf,
            "DATA_CATALOG_INF": _one_or_list(page),
        }
        request.estat_status = 0
        return FakeResponse(200, _dump(body).encode())

    # getStatsList ------------------------------------------------------------------------------------

    def _stats_list(self, request: FakeRequest) -> FakeResponse:
        params = request.params
        paging = self._paging(request, default_limit=100_000)
        if isinstance(paging, FakeResponse):
            return paging
        start, limit = paging
        parameter = {"LANG": params.get("lang", "J")}
        for key, echo in (
            ("surveyYears", "SURVEY_YEARS"),
            ("openYears", "OPEN_YEARS"),
            ("statsField", "STATS_FIELD"),
            ("statsCode", "STATS_CODE"),
            ("searchWord", "SEARCH_WORD"),
            ("collectArea", "COLLECT_AREA"),
            ("statsNameList", "STATS_NAME_LIST"),
        ):
            if key in params:
                value = params[key]
                parameter[echo] = int(value) if key == "surveyYears" and value.isdigit() else value  # as #12
        parameter["DATA_FORMAT"] = "J"
        if "startPosition" in params:
            parameter["START_POSITION"] = start
        if "limit" in params:
            parameter["LIMIT"] = limit
        matches = [entry for entry in self.catalog if catalog_matches(entry, params, item_names=self.search_item_names)]
        english = params.get("lang", "J") == "E"
        names_only = params.get("statsNameList", "").upper() == "Y"
        if names_only:  # #11: one LIST_INF per survey
            seen: dict[str, dict[str, Any]] = {}
            for entry in matches:
                stat = entry.table_inf.get("STAT_NAME") or {}
                seen.setdefault(
                    stat.get("@code", ""),
                    {"@id": stat.get("@code", ""), "STAT_NAME": stat, "GOV_ORG": entry.table_inf.get("GOV_ORG")},
                )
            items: list[Any] = sorted(seen.values(), key=lambda item: item["@id"])
        else:
            items = [entry.english or entry.table_inf if english else entry.table_inf for entry in matches]
        total = len(items)
        if total == 0 or start > total:
            request.estat_status = 1
            body = envelope("GET_STATS_LIST", 1, NO_DATA_MESSAGE, parameter)
            return FakeResponse(200, _dump(body).encode())
        page = items[start - 1 : start - 1 + limit]
        result_inf: dict[str, int] = {"FROM_NUMBER": start, "TO_NUMBER": start + len(page) - 1}
        if start + len(page) - 1 < total:
            result_inf["NEXT_KEY"] = start + len(page)
        body = envelope("GET_STATS_LIST", 0, OK_MESSAGE, parameter)
        body["GET_STATS_LIST"]["DATALIST_INF"] = {
            "NUMBER": total,
            "RESULT_INF": result_inf,
            ("LIST_INF" if names_only else "TABLE_INF"): _one_or_list(page),
        }
        request.estat_status = 0
        return FakeResponse(200, _dump(body).encode())

    def _paging(self, request: FakeRequest, default_limit: int) -> tuple[int, int] | FakeResponse:
        params = request.params
        try:
            start = int(params.get("startPosition", "1"))
            if start < 1:
                raise ValueError
        except ValueError:
            return self._error(request, 103)
        try:
            limit = int(params.get("limit", str(default_limit)))
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            return self._error(request, 102)
        return start, limit

    def _table_or_error(self, request: FakeRequest) -> GeneratedTable | RecordedTable | FakeResponse:
        stats_data_id = request.params.get("statsDataId")
        if not stats_data_id:
            return self._error(request, 101)
        table = self.tables.get(stats_data_id)
        if table is None and stats_data_id not in self._meta_verbatim:
            return self._error(request, 300, {"STATS_DATA_ID": stats_data_id, "DATA_FORMAT": "J"})
        return table  # type: ignore[return-value]

    # getMetaInfo ------------------------------------------------------------------------------------

    def _meta_info(self, request: FakeRequest) -> FakeResponse:
        table = self._table_or_error(request)
        if isinstance(table, FakeResponse):
            return table
        stats_data_id = request.params["statsDataId"]
        if stats_data_id in self._meta_verbatim:
            body, _source = self._meta_verbatim[stats_data_id]
            request.estat_status = 0
            return FakeResponse(200, body)
        lang = request.params.get("lang", "J")
        parameter = {"LANG": lang, "STATS_DATA_ID": stats_data_id, "DATA_FORMAT": "J"}
        body = envelope("GET_META_INFO", 0, OK_MESSAGE, parameter)
        body["GET_META_INFO"]["METADATA_INF"] = {
            "TABLE_INF": table.table_inf(lang),
            "CLASS_INF": {"CLASS_OBJ": _one_or_list(table.class_objs(lang=lang))},
        }
        request.estat_status = 0
        return FakeResponse(200, _dump(body).encode())

    # getStatsData -----------------------------------------------------------------------------------

    def _stats_data(self, request: FakeRequest) -> FakeResponse:
        verbatim = self._find_verbatim(request)
        if verbatim is not None:
            request.estat_status = 0
            return FakeResponse(200, verbatim)
        table = self._table_or_error(request)
        if isinstance(table, FakeResponse):
            return table
        if table is None:  # only metadata was recorded: say so rather than invent rows or a STATUS
            message = (
                f"fake e-Stat: no rows were recorded for {request.params['statsDataId']} beyond the exact "
                "requests of the recordings (see PROVENANCE.md); register a generated table instead."
            )
            return FakeResponse(501, message.encode(), content_type="text/plain;charset=utf-8")
        params = request.params
        paging = self._paging(request, default_limit=MAX_LIMIT)
        if isinstance(paging, FakeResponse):
            return paging
        start, limit = paging
        meta = params.get("metaGetFlg", "Y").upper()
        count_only = params.get("cntGetFlg", "N").upper()
        if meta not in ("Y", "N") or count_only not in ("Y", "N"):
            return self._error(request, 104)
        cache_key = (id(table), table.version, tuple(sorted(params.items())))
        with self._lock:
            cached = self._page_cache.get(cache_key)
            if cached is not None:
                self._page_cache.move_to_end(cache_key)
        if cached is not None:
            request.estat_status = 0
            return FakeResponse(200, cached)
        try:
            selection, narrowing = table.select(params)
        except NarrowingError:
            return self._error(request, 105)
        lang = params.get("lang", "J")
        parameter: dict[str, Any] = {"LANG": lang, "STATS_DATA_ID": table.stats_data_id}
        if narrowing:
            parameter["NARROWING_COND"] = narrowing
        parameter.update({"DATA_FORMAT": "J", "START_POSITION": start})
        if "limit" in params:
            parameter["LIMIT"] = limit
        parameter["METAGET_FLG"] = meta
        if "cntGetFlg" in params:
            parameter["CNT_GET_FLG"] = count_only
        total = selection.total
        if total == 0 or (start > total and count_only == "N"):
            # SYNTHETIC no-data shape: RESULT_INF with TOTAL_NUMBER 0, no DATA_INF.
            body = envelope("GET_STATS_DATA", 1, NO_DATA_MESSAGE, parameter)
            body["GET_STATS_DATA"]["STATISTICAL_DATA"] = {
                "RESULT_INF": {"TOTAL_NUMBER": 0},
                "TABLE_INF": table.table_inf(lang),
            }
            request.estat_status = 1
            return FakeResponse(200, _dump(body).encode())
        statistical: dict[str, Any] = {}
        body = envelope("GET_STATS_DATA", 0, OK_MESSAGE, parameter)
        if count_only == "Y":  # #5: only TOTAL_NUMBER, TABLE_INF still present, DATA_INF ""
            statistical["RESULT_INF"] = {"TOTAL_NUMBER": total}
            statistical["TABLE_INF"] = table.table_inf(lang)
            statistical["DATA_INF"] = ""
            body["GET_STATS_DATA"]["STATISTICAL_DATA"] = statistical
            request.estat_status = 0
            return FakeResponse(200, _dump(body).encode())
        rows = selection.page(start - 1, limit)
        result_inf = {"TOTAL_NUMBER": total, "FROM_NUMBER": start, "TO_NUMBER": start + len(rows) - 1}
        if start + len(rows) - 1 < total:
            result_inf["NEXT_KEY"] = start + len(rows)
        statistical["RESULT_INF"] = result_inf
        statistical["TABLE_INF"] = table.table_inf(lang)
        if meta == "Y":
            statistical["CLASS_INF"] = {"CLASS_OBJ": _one_or_list(selection.class_objs)}
        data_inf: dict[str, Any] = {}
        note = table.note()
        if note is not None:
            data_inf["NOTE"] = note
        data_inf["VALUE"] = "__VALUE__"
        statistical["DATA_INF"] = data_inf
        body["GET_STATS_DATA"]["STATISTICAL_DATA"] = statistical
        head, tail = _dump(body).split('"__VALUE__"')
        values = rows[0] if len(rows) == 1 else "[" + ",".join(rows) + "]"  # one VALUE: a dict (SYNTHETIC)
        encoded = (head + values + tail).encode()
        with self._lock:
            self._page_cache[cache_key] = encoded
            while len(self._page_cache) > self._page_cache_size:
                self._page_cache.popitem(last=False)
        request.estat_status = 0
        return FakeResponse(200, encoded)

    def _find_verbatim(self, request: FakeRequest) -> bytes | None:
        defaults = {"startPosition": "1", "metaGetFlg": "Y", "cntGetFlg": "N"}
        params = {k: v for k, v in request.params.items() if defaults.get(k) != v}
        for endpoint, wanted, body, _source in self._verbatim:
            if endpoint == request.endpoint and params == wanted:
                return body
        return None

    # recordings ------------------------------------------------------------------------------------

    def _load_recordings(self, directory: Path) -> None:
        if not directory.is_dir():
            return

        def read(name: str) -> tuple[bytes, Any]:
            raw = (directory / name).read_bytes()
            return raw, json.loads(raw)

        # Search catalog (#2, #12, #17, #18), in this order.
        for name in (
            "estatapi_r__getStatsList_searchWord-CD_limit3__api2.x_2016-07-30.json",
            "hermes__getStatsList_searchWord-danjobetsu-jinko_statsCode-00200521_surveyYears-2020_limit40__TRUNCATED-4of40__2026-10-02.json",
            "k-oxon__getStatsList_statsCode-00200502_limit1_single-TABLE_INF__2026-04-25.json",
            "k-oxon__getStatsList_list-TABLE_INF__EDITED__2026-04-25.json",
        ):
            _raw, doc = read(name)
            for table_inf in _as_list(doc["GET_STATS_LIST"]["DATALIST_INF"].get("TABLE_INF")):
                self.add_catalog_entry(table_inf, source=name)

        # getMetaInfo verbatim (#3 newest of 0003065345, #13, #15).
        for name in (
            "estatapi_r__getMetaInfo_0003065345__api2.x_2016-07-30.json",
            "hermes__getMetaInfo_0003445078_census2020_area-trimmed__2026-10-02.json",
            "hermes__getMetaInfo_0004052037_cpi2025_trimmed__2026-10-02.json",
        ):
            raw, doc = read(name)
            metadata = doc["GET_META_INFO"]["METADATA_INF"]
            stats_data_id = metadata["TABLE_INF"]["@id"]
            self._meta_verbatim[stats_data_id] = (raw, name)
            self.add_catalog_entry(metadata["TABLE_INF"], source=name)

        # Data rows served with paging/narrowing: #14 with #13's metadata, #16 with #15's.
        for data_name, meta_id in (
            ("hermes__getStatsData_0003445078_DATA_INF-only_14areas__2026-10-02.json", "0003445078"),
            ("hermes__getStatsData_0004052037_DATA_INF-only__TRUNCATED__2026-10-02.json", "0004052037"),
        ):
            _raw, data_inf = read(data_name)
            meta = json.loads(self._meta_verbatim[meta_id][0])["GET_META_INFO"]["METADATA_INF"]
            self.tables[meta_id] = RecordedTable(
                meta_id,
                meta["TABLE_INF"],
                _as_list(meta["CLASS_INF"]["CLASS_OBJ"]),
                data_inf.get("NOTE"),
                _as_list(data_inf.get("VALUE")),
                data_name,
            )

        # #19: complete response; its (narrowed) CLASS_INF also serves getMetaInfo (derived, SYNTHETIC envelope).
        name19 = "java-springboot-comment__getStatsData_0003425893_narrowed_raw-unicode-escaped__2021-12-19.json"
        raw, doc = read(name19)
        data = doc["GET_STATS_DATA"]["STATISTICAL_DATA"]
        table = RecordedTable(
            "0003425893",
            data["TABLE_INF"],
            _as_list(data["CLASS_INF"]["CLASS_OBJ"]),
            data["DATA_INF"].get("NOTE"),
            _as_list(data["DATA_INF"]["VALUE"]),
            name19,
        )
        self.add_table(table)
        self._verbatim.append(
            (
                "getStatsData",
                {
                    "statsDataId": "0003425893",
                    "cdTab": "33,40",
                    "cdCat01": "01",
                    "cdCat02": "01",
                    "cdCat03": "02",
                    "cdCat04": "02,03,04,05,06,07,08,09,10,11,12,13",
                    "cdCat05": "01",
                    "cdCat06": "02",
                    "explanationGetFlg": "Y",
                    "annotationGetFlg": "Y",
                    "replaceSpChars": "0",
                    "sectionHeaderFlg": "1",
                },
                raw,
                name19,
            )
        )

        # #8: getDataCatalog (searchWord=チョコレート, dataType=PDF,XLS): verbatim for its request, and its
        # 100 entries as the catalog searched otherwise.
        name8 = "estatapi_r__getDataCatalog_searchWord-chocolate_dataType-PDF,XLS__api2.x_2016-07-30.json"
        raw, doc = read(name8)
        self._verbatim.append(("getDataCatalog", {"searchWord": "チョコレート", "dataType": "PDF,XLS"}, raw, name8))
        for entry in _as_list(doc["GET_DATA_CATALOG"]["DATA_CATALOG_LIST_INF"]["DATA_CATALOG_INF"]):
            names = [json.dumps(entry["DATASET"].get("TITLE"), ensure_ascii=False)]
            names += [
                json.dumps(r.get("TITLE"), ensure_ascii=False) for r in _as_list(entry["RESOURCES"].get("RESOURCE"))
            ]
            self._data_catalog_entries.append((entry, _fold(" ".join(names))))

        # #1: page 1 of 0000020202 (10 of 403227 rows): served verbatim for its exact request.
        name1 = "estat-api-dlt-helper__getStatsData_0000020202_limit10_NEXT_KEY__2025-07-16.json"
        raw, doc = read(name1)
        self._verbatim.append(("getStatsData", {"statsDataId": "0000020202", "limit": "10"}, raw, name1))
        self.add_catalog_entry(doc["GET_STATS_DATA"]["STATISTICAL_DATA"]["TABLE_INF"], source=name1)

        # #5, #6, #7: 0003065345 narrowed to cdCat01=008,009,010.
        for name, wanted in (
            (
                "estatapi_r__getStatsData_cntGetFlgY_0003065345__api2.x_2016-07-30.json",
                {"metaGetFlg": "N", "cntGetFlg": "Y"},
            ),
            (
                "estatapi_r__getStatsData_limit3_metaN_0003065345__api2.x_2016-08-01.json",
                {"limit": "3", "metaGetFlg": "N"},
            ),
            ("estatapi_r__getStatsData_limit3_metaY_0003065345__api2.x_2016-02-05.json", {"limit": "3"}),
        ):
            raw, _doc = read(name)
            self._verbatim.append(
                ("getStatsData", {"statsDataId": "0003065345", "cdCat01": "008,009,010", **wanted}, raw, name)
            )

        # Item names make recorded tables searchable the way e-Stat's search is (see CatalogEntry).
        known: dict[str, str] = {}
        for stats_data_id, (raw_meta, _name) in self._meta_verbatim.items():
            objs = json.loads(raw_meta)["GET_META_INFO"]["METADATA_INF"]["CLASS_INF"]["CLASS_OBJ"]
            known[stats_data_id] = class_item_names(_as_list(objs))
        known["0003425893"] = class_item_names(table.class_objs())  # #19 (its narrowed CLASS_INF)
        _raw1, doc1 = read(name1)
        known["0000020202"] = class_item_names(
            _as_list(doc1["GET_STATS_DATA"]["STATISTICAL_DATA"]["CLASS_INF"]["CLASS_OBJ"])
        )
        self.catalog = [
            CatalogEntry(entry.table_inf, entry.source, known.get(entry.table_inf.get("@id"), entry.item_names))
            for entry in self.catalog
        ]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) or a connection the fake reset: expected, not worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)) or (isinstance(error, OSError) and error.errno == 9):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    estat: FakeEstat
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet; the fake keeps its own log
        pass

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        app_id = query.pop("appId", None)
        prefix = API_PREFIX + "/json/"
        endpoint = parsed.path[len(prefix) :] if parsed.path.startswith(prefix) else ""
        if endpoint not in ROOTS:
            self._send(FakeResponse(404, b"<html><body>Not Found</body></html>", content_type="text/html"))
            return
        request = self.estat._begin(endpoint, parsed.path, query, app_id == self.estat.app_id)
        ended = False
        try:
            response = self.estat.answer(request)
            request.http_status = None if response.reset else response.status
            # In flight ends before the first byte goes out: the client cannot have released its
            # concurrency slot yet, so max_in_flight never over-counts the client's real concurrency.
            self.estat._end(request)
            ended = True
            if response.reset:
                request.outcome = "reset"
                self._reset()
                return
            self._send(response)
        finally:
            if not ended:
                self.estat._end(request)

    def _send(self, response: FakeResponse) -> None:
        self.log_request(response.status)
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        if "Server" not in response.headers:
            self.send_header("Server", "fake-estat")
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _reset(self) -> None:
        # SO_LINGER 0 + close: the peer sees a TCP RST (a "connection reset by peer").
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        os.close(self.connection.detach())  # close the descriptor now, whatever file objects remain


# =============================================================================================
# CLI


def _benchmark_table(rows: int) -> GeneratedTable:
    """A generated table with at least ``rows`` rows: cat01 x area (48) x time (by year)."""
    areas = Axis.areas(47)
    years = Axis.years(1900, 2099)
    cats = max(1, -(-rows // (len(areas.items) * len(years.items))))
    table = GeneratedTable(
        "0009999999",
        [Axis.numbered("cat01", "項目", cats, width=4, unit="人"), areas, years],
        title="ベンチマーク用合成表（SYNTHETIC）",
    )
    if rows < table.full_rows:
        table.update(row_limit=rows)
    return table


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake e-Stat API 3.0 on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port (0 = a free one)")
    parser.add_argument("--rows", type=int, default=250_001, help="rows of generated table 0009999999")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    args = parser.parse_args(list(argv) if argv is not None else None)
    fake = FakeEstat(app_id=args.app_id)
    fake.add_table(_benchmark_table(args.rows))
    fake.set_latency(args.latency_ms / 1000.0)
    server = fake._bind(args.port)
    print(f"fake e-Stat at {fake.base_url} (table 0009999999, {args.rows} rows; appId {args.app_id!r})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
