"""ONE rule for a VALUE cell, on both paths with the same cells (issue 15 item 17): the e-Stat client's
``parse_value`` / ``split_values`` and the dataset page converter.

Real NOTE block: recording #6 (the time-use table's NOTE: ``***``, ``-``, ``...`` and the clock times).
SYNTHETIC addition: ``0`` declared as 集計した結果がゼロのもの ("the total is zero"), as e-Stat tables do
(no recording here declares it); VALUE rows are SYNTHETIC on #6's codes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estat_aws_mcp.datasets.schema import PageConverter, table_metadata
from estat_aws_mcp.estat.normalize import (
    iter_value_rows,
    normalize_meta_info,
    normalize_stats_data,
    parse_value,
    split_values,
)

TIME_USE_META = "estatapi_r__getMetaInfo_0003065345__api2.x_2016-07-30.json"  # 3
TIME_USE_PAGE = "estatapi_r__getStatsData_limit3_metaN_0003065345__api2.x_2016-08-01.json"  # 6
ZERO_MEANING = "集計した結果がゼロのもの"

CELLS = [
    "0",  # declared in NOTE (SYNTHETIC) and a number: 0.0, meaning kept in note
    "0.0",
    "9782",
    "-0.3",
    "+5",
    "1e3",
    " 5 ",
    ".5",
    "5.",
    "-",
    "***",
    "...",
    "2:35",  # a declared clock time: minutes since 0:00
    "abc",
    "nan",
    "inf",
    "1e999",
    "1_0",
    "１２",  # full-width digits: not an e-Stat number
    "",
]


@pytest.fixture(scope="module")
def page_and_metadata(estat_fixtures_dir: Path):
    load = lambda name: json.loads((estat_fixtures_dir / name).read_text(encoding="utf-8"))  # noqa: E731
    page = normalize_stats_data(load(TIME_USE_PAGE))
    notes = {**page["notes"], "0": ZERO_MEANING}
    metadata = table_metadata("0003065345", normalize_meta_info(load(TIME_USE_META)))
    return page, notes, metadata


def test_both_paths_agree_cell_by_cell(page_and_metadata) -> None:
    page, notes, metadata = page_and_metadata
    template = page["values"][0]
    values = [{**template, "$": raw} for raw in CELLS]
    converter = PageConverter(metadata)
    rows = converter.convert(values, notes).to_pylist()
    # The fetch's fast path (Arrow's JSON reader over the raw VALUE objects) gives the same rows.
    lines = "\n".join(json.dumps(value, ensure_ascii=False) for value in values).encode()
    assert converter.convert_json_lines(lines, notes).to_pylist() == rows
    numbers, _markers = split_values(CELLS, notes)
    per_row = [row["number"] for row in iter_value_rows([{**template, "$": raw} for raw in CELLS], notes)]
    for raw, row, columnar, friendly in zip(CELLS, rows, numbers, per_row, strict=True):
        client = parse_value(raw, notes)[0]
        assert row["value"] == client == columnar == friendly, raw
        assert row["value_raw"] == raw
        assert row["note"] == notes.get(raw), raw


def test_a_declared_zero_is_a_number_with_its_meaning(page_and_metadata) -> None:
    page, notes, metadata = page_and_metadata
    (row,) = PageConverter(metadata).convert([{**page["values"][0], "$": "0"}], notes).to_pylist()
    assert (row["value"], row["value_raw"], row["note"]) == (0.0, "0", ZERO_MEANING)
    assert parse_value("0", notes) == (0.0, None)
    expected = {"0": 0.0, "0.0": 0.0, "+5": 5.0, " 5 ": 5.0, "2:35": 155.0, "-": None, "１２": None, "1e999": None}
    assert {raw: parse_value(raw, notes)[0] for raw in expected} == expected
