"""read_uniform_lines: e-Stat's VALUE lines read by Arrow's CSV reader give exactly what its JSON reader
gives, and every line it cannot read that way is left to the JSON reader (``None``), never misread."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pa_json
import pytest

from estat_aws_mcp.datasets.pages import MAX_ESCAPED_DISTINCT, read_uniform_lines, split_value_array

KNOWN = ["@tab", "@cat01", "@area", "@time", "@unit", "@anno", "$"]
WAGES_PAGE = "java-springboot-comment__getStatsData_0003425893_narrowed_raw-unicode-escaped__2021-12-19.json"


def json_reader_columns(lines: bytes, keys: list[str]) -> dict[str, pa.Array]:
    """What convert_json_lines reads when the fast path declines: the reference."""
    schema = pa.schema([pa.field(key, pa.string()) for key in keys])
    table = pa_json.read_json(
        pa.BufferReader(lines),
        parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
    )
    return {key: table.column(key).combine_chunks() for key in keys}


def assert_same_as_json_reader(lines: bytes) -> None:
    uniform = read_uniform_lines(lines, KNOWN)
    assert uniform is not None, lines[:200]
    reference = json_reader_columns(lines, KNOWN)
    assert list(uniform) == KNOWN
    for key in KNOWN:
        assert uniform[key].equals(reference[key]), (key, uniform[key][:5], reference[key][:5])
    # and the same again from an Arrow buffer (what ValueSpan.lines gives)
    again = read_uniform_lines(pa.py_buffer(lines), KNOWN)
    assert again is not None and all(again[key].equals(uniform[key]) for key in KNOWN)


# SYNTHETIC cells: what JSON strings may hold, escaped as e-Stat escapes them (\uXXXX, uppercase) or not.
CELLS = [
    "123",
    "-4.5e3",
    "",
    "人",
    "…",
    "***",
    "x",
    "2:35",
    'say "hi"',
    "back\\slash",
    "ends in a backslash\\",
    "\\",
    "tab\there",
    "line\nbreak",
    "a/b",
    "},{",
    '"},{"',
    "{",
    "}",
    ":",
    ",",
    "😀",  # a surrogate pair when escaped
    "\x00nul",
    '\\"',
]


def dumps(value: dict[str, str], *, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))


@pytest.mark.parametrize("ascii_only", [True, False], ids=["u-escaped", "raw-utf8"])
@pytest.mark.parametrize("seed", range(8))
def test_random_uniform_lines_read_as_the_json_reader_does(seed: int, ascii_only: bool) -> None:
    rng = random.Random(seed)
    keys = rng.sample(KNOWN, rng.randint(1, len(KNOWN)))  # any subset, in any order, the same on every line
    cells = [cell for cell in CELLS if '"' not in cell]
    rows = [{key: rng.choice(cells) if rng.random() < 0.5 else str(rng.randint(0, 10**6)) for key in keys}]
    rows += [{key: rng.choice(cells) for key in keys} for _ in range(rng.randint(0, 300))]
    assert_same_as_json_reader("\n".join(dumps(row, ascii_only=ascii_only) for row in rows).encode())


@pytest.mark.parametrize("cell", [cell for cell in CELLS if '"' in cell] + ['x","@area":"y', 'a"b"c"d"e'])
def test_a_cell_with_a_quote_is_left_to_the_json_reader(cell: str) -> None:
    """A quote in a cell is escaped, and the split there leaves a piece ending in a backslash, whatever
    it spells (SYNTHETIC ``","@area":"`` looks like a key; four quotes keep the piece count)."""
    lines = "\n".join(dumps({"@tab": cell, "$": str(i)}, ascii_only=True) for i in range(20)).encode()
    assert read_uniform_lines(lines, KNOWN) is None
    reference = json_reader_columns(lines, KNOWN)
    assert reference["@tab"].to_pylist() == [cell] * 20 and reference["@area"].null_count == 20


@pytest.mark.parametrize(
    "lines",
    [
        b'{"@area":"1","$":"2"}\n{"$":"3","@area":"4"}',  # another order on line 2
        b'{"@area":"1","$":"2"}\n{"@area":"4"}',  # a key missing on line 2
        b'{"@area":"1","$":"2"}\n{"@area":"4","$":"3","@unit":"5"}',  # a key more on line 2
        b'{"@area":"1","@what":"2"}',  # a key the schema does not know
        b'{"@area":"1","@area":"2"}',  # the same key twice
        b'{"@area":"1","$":2}',  # a number, not a string
        b'{"@area":"1","$":null}',  # null
        b'{"@area":"1","$":["2"]}',  # an array
        b'{"@area":"1", "$":"2"}',  # whitespace
        b'{"@area" : "1","$":"2"}',
        b'{"@area":"1","$":"2"} ',
        b'{"@area":"1","$":"a\tb"}',  # a raw control character inside a string (not JSON)
        b'{"@area":"1","$":"a\rb"}',
        b'{"@area":"1","$":"2"}\n\n{"@area":"1","$":"2"}',  # an empty line
        b'{"@area":"1","$":"\\x41"}',  # an invalid escape
        b'{"@area":"1","$":"\\ud800"}',  # a lone surrogate
        b'{"@area":"1","$":"\\u12"}',  # a short \u escape
        b'{"@area":"1","$":"ab\\"}',  # the cell's quote is escaped: the line is broken
        b'{"@area":"1","$":"\xff"}',  # not UTF-8
        b'\xef\xbb\xbf{"@area":"1","$":"2"}',  # a byte-order mark (the CSV reader would skip it)
        b'["@area","1","$","2"]',  # not an object
        b'{"@area":"1","$":"2"}{"@area":"1","$":"2"}',  # two objects on a line
        b'{"@area":"1","$":"2"',  # no closing brace
        b'{"@area":"1";"$":"2"}',  # not a comma
        b'{"@\\u0061rea":"1"}',  # an escaped key
        b'{"@area":"1","$":"2"}\n{"@area":"1","$":"2","$":"3"}',
        b"",
        b"{}",
    ],
)
def test_anything_else_is_left_to_the_json_reader(lines: bytes) -> None:
    assert read_uniform_lines(lines, KNOWN) is None


def test_a_page_with_an_annotation_on_many_cells_is_declined_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SYNTHETIC: every tenth cell has an @anno, so its line has one key more; sampled lines show it."""
    rows = [{"@area": str(i), **({"@anno": "†"} if i % 10 == 9 else {}), "$": str(i)} for i in range(5_000)]
    lines = "\n".join(dumps(row, ascii_only=True) for row in rows).encode()
    import pyarrow.csv as pa_csv

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the page was parsed")

    monkeypatch.setattr(pa_csv, "read_csv", no_parse)
    assert read_uniform_lines(lines, KNOWN) is None
    monkeypatch.undo()
    rare = [{"@area": str(i), **({"@anno": "†"} if i == 4_321 else {}), "$": str(i)} for i in range(5_000)]
    assert read_uniform_lines("\n".join(dumps(row, ascii_only=True) for row in rare).encode(), KNOWN) is None


def test_many_distinct_escaped_cells_are_left_to_the_json_reader() -> None:
    """SYNTHETIC: a column of distinct non-ASCII cells (a json call each) goes to the JSON reader whole."""
    few = [{"@area": f"{i % 5}区", "$": str(i)} for i in range(MAX_ESCAPED_DISTINCT * 3)]
    assert_same_as_json_reader("\n".join(dumps(row, ascii_only=True) for row in few).encode())
    many = [{"@area": f"{i}区", "$": str(i)} for i in range(MAX_ESCAPED_DISTINCT + 1)]
    assert read_uniform_lines("\n".join(dumps(row, ascii_only=True) for row in many).encode(), KNOWN) is None


def test_a_trailing_line_break_is_read_as_the_json_reader_reads_it() -> None:
    assert_same_as_json_reader(b'{"@area":"1","$":"2"}\n{"@area":"3","$":"4"}\n')


def test_a_first_line_longer_than_the_look_ahead() -> None:
    long_cell = "y" * 70_000
    lines = "\n".join([dumps({"@area": long_cell, "$": "1"}, ascii_only=True)] * 3).encode()
    assert read_uniform_lines(lines, KNOWN) is None  # declined (the JSON reader reads it)
    short = "\n".join(
        [dumps({"@area": "a", "$": "1"}, ascii_only=True), dumps({"@area": long_cell, "$": "2"}, ascii_only=True)]
    )
    assert_same_as_json_reader(short.encode())


def test_recorded_page_is_uniform(estat_fixtures_dir: Path) -> None:
    """#19, e-Stat's raw wire format (compact, uppercase \\uXXXX escapes): every line has the same keys."""
    split = split_value_array((estat_fixtures_dir / WAGES_PAGE).read_bytes())
    assert split is not None
    _, lines = split
    keys = ["@tab", "@cat01", "@cat02", "@cat03", "@cat04", "@cat05", "@cat06", "@area", "@time", "@unit", "@anno", "$"]
    uniform = read_uniform_lines(lines, keys)
    assert uniform is not None
    reference = json_reader_columns(lines, keys)
    assert all(uniform[key].equals(reference[key]) for key in keys)
    assert uniform["$"].null_count == 0 and len(uniform["$"]) == 24
