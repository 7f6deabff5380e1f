"""The fast path for getStatsData pages: the VALUE array goes from the HTTP body to Arrow untouched by Python.

A 100,000-row page is ~10 MB of JSON; ``json.loads`` turns it into 100,000 dicts and 600,000 strings
(the slowest part of a fetch, and it holds the GIL, so concurrent pages cannot overlap it). Instead,
:class:`ValueCapturingTransport` (an httpx transport given to :class:`EstatClient`) cuts the VALUE array
out of the body and hands the client a small envelope with ``"VALUE":[]``: the client still parses
RESULT/STATUS, RESULT_INF, TABLE_INF and NOTE, retries and limits as usual, while the VALUE objects,
one per line, are parsed by Arrow's multi-threaded JSON reader
(:meth:`~estat_aws_mcp.datasets.schema.PageConverter.convert_json_lines`).

Only requests made inside :func:`capturing_values` are touched (the page requests of a fetch); any body
whose shape is not exactly ``..."VALUE":[{...},...,{...}]}}}`` (a single VALUE dict, an error body, a
pretty-printed recording) is passed through unchanged, and the caller uses the normal dict path.

The transport runs on the event loop, which also receives the other pages of a concurrent fetch, so it
only *locates* the VALUE array (a few scans of the body, no copy of it): the captured
:class:`ValueSpan` is turned into lines later, in the thread that converts the page, by an Arrow kernel
that does not hold the GIL (:meth:`ValueSpan.lines`).

e-Stat writes every VALUE object of a page with the same attributes in the same order, all strings
(``{"@tab":"01","@cat01":"001",...,"$":"123"}``). Such lines are read by :func:`read_uniform_lines`:
split at every ``"`` by Arrow's CSV reader, which takes less CPU than its JSON reader, the dearest step
of a page (``python -m bench.pages_to_parquet`` compares them: ``engine`` and ``engine-arrow-json``).
Every key and separator is checked, and the few cells with an escape are decoded by ``json``. Lines of
any other shape are left to Arrow's JSON reader.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
from array import array
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import pyarrow as pa

# The VALUE key: preceded by '{' or ',' (so it is a key, not text inside a string) and opening an array.
_VALUE_ARRAY = re.compile(rb'[{,]\s*"VALUE"\s*:\s*\[')
_CLOSING = re.compile(rb"[\s}]*")  # what may follow the VALUE array (fullmatch)
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}
_OPEN, _CLOSE = ord("{"), ord("}")


@dataclass(frozen=True)
class ValueSpan:
    """The VALUE objects of a page where they arrived: ``body[start:end]``, compact JSON objects separated
    by ``},{`` (see :func:`locate_value_array`)."""

    body: bytes
    start: int
    end: int

    def lines(self) -> pa.Buffer:
        """The objects one per line, as Arrow's JSON reader wants them: every ``},{`` becomes ``}\\n{``,
        exactly as ``bytes.replace`` would (left to right, non-overlapping), but by Arrow's
        ``replace_substring`` kernel on a zero-copy view of the body, which releases the GIL (~2x faster
        than ``bytes.replace``, and the event loop keeps receiving meanwhile)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        offsets = pa.py_buffer(array("q", (self.start, self.end)))
        view = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(self.body)])
        replaced = pc.replace_substring(view, pattern=b"},{", replacement=b"}\n{")
        _, offsets_out, data = replaced.buffers()
        first, last = memoryview(offsets_out).cast("q")[replaced.offset : replaced.offset + 2]
        return data.slice(first, last - first)


def locate_value_array(body: bytes) -> tuple[bytes, ValueSpan | bytes] | None:
    """``(envelope with "VALUE":[], where the VALUE objects are)``, or ``None`` if the body is not a
    compact getStatsData page whose VALUE array is the last element (as e-Stat sends them). An empty
    VALUE array gives ``(body, b"")``. Cheap: the body is scanned, not copied."""
    match = _VALUE_ARRAY.search(body)
    if match is None:
        return None
    end = body.rfind(b"]")
    if end < match.end() or not _CLOSING.fullmatch(body, end + 1):
        return None
    start = match.end()
    if start == end or body[start] != _OPEN or body[end - 1] != _CLOSE:
        if not body[start:end].strip():
            return body, b""
        return None  # not a flat array of compact objects (e.g. indented): json reads it
    if body.find(b"]", start, end) != -1:
        # Not exactly one flat array of objects (e.g. another array such as ANNOTATION after VALUE,
        # or a "]" inside a string): leave the body to json, which is always right.
        return None
    envelope = body[:start] + body[end:]
    # Compact JSON separates the objects with "},{"; a "},{" inside a string would break a line, which
    # Arrow's reader rejects, and the caller then falls back to json (see :func:`value_lines_as_json`).
    return envelope, ValueSpan(body, start, end)


def split_value_array(body: bytes) -> tuple[bytes, bytes] | None:
    """:func:`locate_value_array` with the VALUE objects as bytes, one per line."""
    located = locate_value_array(body)
    if located is None:
        return None
    envelope, values = located
    return envelope, values.lines().to_pybytes() if isinstance(values, ValueSpan) else values


#: More distinct cells with an escape than this in one column, and the JSON reader reads the lines (decoding
#: them here takes a json call each). e-Stat escapes non-ASCII: units, annotation marks, markers such as
#: "…": a handful per column.
MAX_ESCAPED_DISTINCT = 1_000
#: How far the first line is looked for; a VALUE object is a few hundred bytes at most.
_FIRST_LINE_MAX = 1 << 16


def read_uniform_lines(lines: pa.Buffer | bytes, known_keys: Collection[str]) -> dict[str, pa.Array] | None:
    """The VALUE objects, one per line, as one string column per key of ``known_keys`` (all null for a
    key the objects do not have), when every line is ``{"k1":"v1","k2":"v2",...}`` with the same
    keys of ``known_keys`` in the same order, every value a string, nothing else. Otherwise ``None``
    (the caller reads the lines with Arrow's JSON reader, which gives the same columns for these lines).

    The lines are split at every ``"`` by Arrow's CSV reader (no quoting, no escaping), so each line
    gives ``{`` key ``:`` value ``,`` key ... value ``}``. Each of those pieces is checked, column by
    column, so a line with other keys, another order, a non-string value, whitespace or a quote inside a
    value does not pass. A quote inside a value is always escaped (``\\"``), and splitting there leaves a
    piece that ends in a backslash, which fails the key or separator check, or the decoding of the value.
    Raw control characters (invalid in JSON strings) are refused. Values with an escape (e-Stat sends
    non-ASCII as ``\\uXXXX``) are decoded by ``json``, once per distinct value."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    buffer = lines if isinstance(lines, pa.Buffer) else pa.py_buffer(lines)
    head = buffer.slice(0, min(buffer.size, _FIRST_LINE_MAX)).to_pybytes()
    newline = head.find(b"\n")
    if newline < 0 and buffer.size > len(head):
        return None
    pieces = (head if newline < 0 else head[:newline]).split(b'"')
    if len(pieces) < 5 or (len(pieces) - 1) % 4 or pieces[0] != b"{":  # (the CSV reader would drop a BOM)
        return None
    keys = [piece.decode("ascii", "replace") for piece in pieces[1::4]]
    if len(set(keys)) != len(keys) or not set(keys) <= set(known_keys):
        return None
    if not _sampled_lines_alike(buffer, pieces[1::4]):
        return None  # declined before the whole page is parsed (e.g. @anno on some of the cells)
    # The pieces every line must have, in order (None: a value).
    expected: list[bytes | None] = [b"{"]
    for key in keys:
        expected += [key.encode(), b":", None, b","]
    expected[-1] = b"}"
    names = [str(index) for index in range(len(expected))]
    types = {name: pa.binary() if text is not None else pa.string() for name, text in zip(names, expected, strict=True)}
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(buffer),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=1 << 20),
            # An empty line is a row of one piece (refused), not skipped.
            parse_options=pa_csv.ParseOptions(
                delimiter='"', quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a line with another number of pieces, or not UTF-8
        return None
    columns: dict[str, pa.Array] = {}
    for index, text in enumerate(expected):
        column = table.column(index)
        if text is not None:
            if not pc.all(pc.equal(column, pa.scalar(text, pa.binary()))).as_py():
                return None
            continue
        raw = column.combine_chunks()
        if _has_control_characters(raw):  # raw ones are not JSON (a string spells them \\t, \\u0001, ...)
            return None
        decoded = _decode_escapes(raw)
        if decoded is None:
            return None
        columns[keys[(index - 3) // 4]] = decoded
    absent = pa.nulls(table.num_rows, pa.string())
    return {key: columns.get(key, absent) for key in known_keys}


#: Lines compared with the first before a page is parsed (:func:`_sampled_lines_alike`).
_SAMPLED_LINES = 32


def _sampled_lines_alike(buffer: pa.Buffer, keys: list[bytes]) -> bool:
    """Whether the lines that start after :data:`_SAMPLED_LINES` evenly spaced points of ``buffer`` have the
    first line's keys. Cheap (a few hundred bytes each), so that a page whose objects differ in their keys
    often (an ``@anno`` on many cells) is left to the JSON reader without a CSV parse first; a rare
    difference is found by the parse itself."""
    size = buffer.size
    for point in range(1, _SAMPLED_LINES):
        window = buffer.slice(
            size * point // _SAMPLED_LINES, min(_FIRST_LINE_MAX, size - size * point // _SAMPLED_LINES)
        )
        text = window.to_pybytes()
        start = text.find(b"\n") + 1
        end = text.find(b"\n", start)
        if start == 0 or end < 0:
            continue  # no whole line there (a long line, or the end of the page)
        if text[start:end].split(b'"')[1::4] != keys:
            return False
    return True


def _has_control_characters(strings: pa.Array) -> bool:
    """Whether a byte below 0x20 is in ``strings`` (a string array): the smallest byte of its data."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _, offsets, data = strings.buffers()
    if offsets is None or data is None:  # an empty array
        return False
    positions = memoryview(offsets).cast("i")
    first, last = positions[strings.offset], positions[strings.offset + len(strings)]
    if last == first:
        return False
    smallest = pc.min(pa.Array.from_buffers(pa.uint8(), last - first, [None, data.slice(first, last - first)]))
    return smallest.as_py() < 0x20


def _decode_escapes(raw: pa.Array) -> pa.Array | None:
    """JSON string contents -> the strings: cells with a backslash decoded by ``json`` (strict), one call
    per distinct cell; ``None`` if one is not a valid JSON string content."""
    import pyarrow as pa
    import pyarrow.compute as pc

    escaped = pc.match_substring(raw, "\\")
    count = pc.sum(escaped).as_py() or 0
    if not count:
        return raw
    cells = pc.dictionary_encode(raw if count == len(raw) else pc.filter(raw, escaped))
    if len(cells.dictionary) > MAX_ESCAPED_DISTINCT:
        return None  # many distinct escaped cells: one json call each would hold the GIL for long
    try:
        decoded = pa.array([json.loads(f'"{cell}"') for cell in cells.dictionary.to_pylist()], pa.string())
    except (ValueError, pa.ArrowException):  # a cut at an escaped quote, a bad escape, a lone surrogate
        return None
    mapped = pc.take(decoded, cells.indices)
    return mapped if count == len(raw) else pc.replace_with_mask(raw, escaped, mapped)


def value_lines_as_json(value_lines: bytes) -> bytes:
    """The VALUE array back as JSON text (exact inverse of the line split), for the fallback path."""
    return b"[" + value_lines.replace(b"}\n{", b"},{") + b"]"


@dataclass
class ValueCapture:
    """Where the transport leaves the VALUE objects of the last response of one request (``b""`` for an
    empty VALUE array)."""

    value_lines: ValueSpan | bytes | None = None


_capture: contextvars.ContextVar[ValueCapture | None] = contextvars.ContextVar("estat_value_capture", default=None)


@contextlib.contextmanager
def capturing_values() -> Iterator[ValueCapture]:
    """Requests made in this block (same task) have their VALUE array captured instead of parsed."""
    capture = ValueCapture()
    token = _capture.set(capture)
    try:
        yield capture
    finally:
        _capture.reset(token)


class ValueCapturingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; see the module docstring."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        capture = _capture.get()
        if capture is None or not request.url.path.endswith("/getStatsData"):
            return response
        capture.value_lines = None  # a retried attempt must not leave the previous attempt's rows
        if response.status_code != 200:
            return response
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        located = locate_value_array(body)
        content = body
        if located is not None:
            content, capture.value_lines = located
        headers = [(key, value) for key, value in response.headers.items() if key.lower() not in _DROPPED_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()
