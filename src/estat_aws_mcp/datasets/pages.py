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
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

# The VALUE key: preceded by '{' or ',' (so it is a key, not text inside a string) and opening an array.
_VALUE_ARRAY = re.compile(rb'[{,]\s*"VALUE"\s*:\s*\[')
_CLOSING = re.compile(rb"^[\s}]*$")
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


def split_value_array(body: bytes) -> tuple[bytes, bytes] | None:
    """``(envelope with "VALUE":[], the VALUE objects one per line)``, or ``None`` if the body is not a
    compact getStatsData page whose VALUE array is the last element (as e-Stat sends them)."""
    match = _VALUE_ARRAY.search(body)
    if match is None:
        return None
    end = body.rfind(b"]")
    if end < match.end() or not _CLOSING.match(body[end + 1 :]):
        return None
    values = body[match.end() : end]
    if not values.strip():
        return body, b""
    if not (values.startswith(b"{") and values.endswith(b"}")) or b"]" in values:
        # Not exactly one flat array of objects (e.g. another array such as ANNOTATION after VALUE,
        # or a "]" inside a string): leave the body to json, which is always right.
        return None
    envelope = body[: match.end()] + body[end:]
    # Compact JSON separates the objects with "},{"; a "},{" inside a string would break a line, which
    # Arrow's reader rejects, and the caller then falls back to json (see :func:`value_lines_as_json`).
    return envelope, values.replace(b"},{", b"}\n{")


def value_lines_as_json(value_lines: bytes) -> bytes:
    """The VALUE array back as JSON text (exact inverse of the line split), for the fallback path."""
    return b"[" + value_lines.replace(b"}\n{", b"},{") + b"]"


@dataclass
class ValueCapture:
    """Where the transport leaves the VALUE lines of the last response of one request."""

    value_lines: bytes | None = None


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
        split = split_value_array(body)
        content = body
        if split is not None:
            content, capture.value_lines = split
        headers = [(key, value) for key, value in response.headers.items() if key.lower() not in _DROPPED_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()
