"""Time code rules (estat.timecodes), checked on every time code of the recorded responses."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from estat_aws_mcp.estat.timecodes import GRANULARITIES, parse_time_code

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "estat"


def _walk(node, found: dict[str, set[str | None]]) -> None:
    if isinstance(node, dict):
        if node.get("@id") == "time" and "CLASS" in node:
            items = node["CLASS"] if isinstance(node["CLASS"], list) else [node["CLASS"]]
            for item in items:
                found.setdefault(item["@code"], set()).add(item.get("@name"))
                if item.get("@parentCode"):
                    found.setdefault(item["@parentCode"], set())  # a code too (not always listed itself)
        if "@time" in node:
            found.setdefault(str(node["@time"]), set())
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def recorded_time_codes() -> dict[str, set[str | None]]:
    """Every time code (with the names it was given) in every recorded response, JSON and CSV."""
    found: dict[str, set[str | None]] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        _walk(json.loads(path.read_text(encoding="utf-8")), found)
    for path in sorted(FIXTURES.glob("*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))  # quoted fields hold newlines
        header_at = next((i for i, row in enumerate(rows) if "time_code" in row), None)
        if header_at is None:
            continue
        column = rows[header_at].index("time_code")
        for row in rows[header_at + 1 :]:
            if len(row) > column + 1:
                found.setdefault(row[column], set()).add(row[column + 1])
    return found


def test_the_corpus_has_time_codes_of_every_recorded_kind() -> None:
    codes = recorded_time_codes()
    assert len(codes) >= 60
    kinds = {parse_time_code(code).granularity for code in codes}
    assert {"year", "fiscal_year", "month", "quarter"} <= kinds


def test_every_recorded_time_code_maps_to_dates_or_is_null_with_a_note() -> None:
    unmapped = []
    for code, names in recorded_time_codes().items():
        for name in names or {None}:
            period = parse_time_code(code, name)
            if period.mapped:
                assert period.start is not None and period.end is not None and period.start <= period.end
                assert period.granularity in GRANULARITIES
                assert period.note is None
            else:
                assert period.start is None and period.end is None and period.note
                unmapped.append(code)
    # Every code in the recordings is covered by a rule (no recorded code is left null today).
    assert unmapped == []


@pytest.mark.parametrize(
    ("code", "name", "start", "end", "granularity"),
    [
        ("2020000000", "2020年", "2020-01-01", "2020-12-31", "year"),  # #13
        ("1980100000", "1980年度", "1980-04-01", "1981-03-31", "fiscal_year"),  # #1
        ("2026000909", "2026年9月", "2026-09-01", "2026-09-30", "month"),  # #15
        ("2024000202", None, "2024-02-01", "2024-02-29", "month"),  # leap year
        ("2026000709", None, "2026-07-01", "2026-09-30", "quarter"),  # #15 parent code
        ("2025001012", None, "2025-10-01", "2025-12-31", "quarter"),
        ("2021000106", None, "2021-01-01", "2021-06-30", "half"),
        ("2021000712", None, "2021-07-01", "2021-12-31", "half"),
        ("2021000205", None, "2021-02-01", "2021-05-31", "range"),
        ("20200101", "2020年1月1日", "2020-01-01", "2020-01-01", "day"),  # a name that is a whole day
    ],
)
def test_rules(code: str, name: str | None, start: str, end: str, granularity: str) -> None:
    period = parse_time_code(code, name)
    assert (period.start, period.end, period.granularity) == (
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
        granularity,
    )


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("2020100103", None),  # a fiscal sub-period: no recording shows these codes
        ("2020200000", None),  # an unknown kind of period
        ("2020001300", None),  # month 13
        ("2020000900", None),  # first month without a last one
        ("2020000301", None),  # first month after the last
        ("2020", None),
        ("", None),
        ("abcd000000", None),
        ("2020000000", "2021年"),  # the name contradicts the code: trust neither
        ("0000000000", None),
    ],
)
def test_unknown_codes_are_null_with_a_note(code: str, name: str | None) -> None:
    period = parse_time_code(code, name)
    assert (period.start, period.end, period.granularity) == (None, None, None)
    assert period.note and (code in period.note)


def test_a_name_that_is_not_a_plain_date_does_not_override_the_code() -> None:
    assert parse_time_code("2020000000", "2020年10月1日現在").granularity == "year"
    assert parse_time_code("2020000000", "2020").granularity == "year"  # English-style names are not checked
