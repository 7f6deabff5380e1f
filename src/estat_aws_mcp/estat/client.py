"""Async e-Stat API 3.0 client (JSON flavour) with retries, a process-wide concurrency bound and
every response quirk normalised (see :mod:`estat_aws_mcp.estat.normalize` for the result shapes).

Usage::

    from estat_aws_mcp.estat.client import EstatClient
    from estat_aws_mcp.estat.normalize import split_values, value_columns

    async with EstatClient() as client:               # settings from the environment
        hits = await client.count_stats_list(searchWord="人口 東京")         # -> int (limit=1 probe)
        found = await client.get_stats_list(searchWord="人口", limit=20)    # -> StatsList dict
        meta = await client.get_meta_info("0003445078")                     # -> MetaInfo dict
        rows = await client.count_stats_data("0003445078", cdArea="13000")  # -> int (cntGetFlg=Y)
        page = await client.get_stats_data("0003445078", startPosition=1, limit=100000, metaGetFlg="N")
        async for page in client.iter_stats_data_pages("0003445078", cdArea="13000"): ...  # follows NEXT_KEY
        # page["values"]: raw VALUE dicts; page["notes"]: {char: meaning}; page["next_key"]: int | None
        columns = value_columns(page["values"])                              # fast columnar path
        numbers, markers = split_values(columns["value"], page["notes"])    # NOTE-aware parsing
        files = await client.get_data_catalog(searchWord="チョコレート")      # -> DataCatalog dict

``value_columns`` / ``split_values`` live in :mod:`estat_aws_mcp.estat.normalize` (with ``class_lookup``,
``label_codes``, ``parse_value``, ``iter_value_rows``). ``client.limiter`` is the process-wide
:class:`~estat_aws_mcp.estat.concurrency.ProcessLimiter` (``.limit``, ``.in_use``) shared by every client
with the same limit; it works across event loops (asyncio only), so a fresh ``anyio.run`` per Lambda
request shares the bound.

Parameters are e-Stat's own names (``searchWord``, ``cdArea``, ``startPosition``...); ``None`` values
are dropped, lists/tuples are joined with commas. Constructor overrides (all optional):
``EstatClient(settings=None, *, app_id=None, base_url=None, max_concurrency=None, timeout_s=None,
max_attempts=None, retry_budget_s=None, backoff_initial_s=None, backoff_max_s=None,
retry_after_cap_s=None, transport=None)``.

Outcomes:

- STATUS 0 -> the normalised dict; STATUS 1 -> an empty result (``tables == []`` / ``values == []``,
  counts 0); STATUS 2 -> the result with ``partial=True`` and e-Stat's message in ``error_msg``.
- STATUS 100 (also as HTTP 403 + XML from e-Stat's WAF) -> ``EstatAuthError`` (ConfigurationError), no retry.
- STATUS 101-199 -> ``EstatParameterError`` (InputError) naming the parameter; 300-399 ->
  ``EstatUnknownIdError`` (InputError) suggesting the 10-digit id.
- STATUS 200-299, HTTP 5xx, HTTP 429 (Retry-After honoured up to ``retry_after_cap_s``), timeouts and
  connection errors are retried with exponential backoff and jitter, bounded by ``max_attempts`` and
  by ``retry_budget_s`` of total time; then UpstreamError (EstatServerError for STATUS 2xx). Bodies that
  are not e-Stat JSON (malformed JSON, an HTML maintenance page) are retried once, then UpstreamError.
- Other HTTP 4xx/3xx, a bad ESTAT_API_BASE_URL: fail at once with a message saying what to fix.
- No appId configured -> ConfigurationError explaining ESTAT_APP_ID / ESTAT_APP_ID_SSM_PARAMETER,
  raised at the first request (building a client never fails).

The appId is added to the URL by the innermost transport only, so httpx's request objects, log
lines and exceptions never contain it; messages are also passed through ``redact`` as a backstop.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import re
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, stop_before_delay

from estat_aws_mcp.deadline import stop_by
from estat_aws_mcp.errors import ConfigurationError, UpstreamError
from estat_aws_mcp.estat.app_id import redact, resolve_app_id
from estat_aws_mcp.estat.concurrency import ProcessLimiter, process_limiter
from estat_aws_mcp.estat.normalize import (
    ROOT_KEYS,
    DataCatalog,
    MetaInfo,
    StatsData,
    StatsList,
    normalize_data_catalog,
    normalize_meta_info,
    normalize_stats_data,
    normalize_stats_list,
    response_root,
    result_of,
)
from estat_aws_mcp.estat.status import EstatServerError, error_for_status, is_success, short_text
from estat_aws_mcp.settings import DEFAULT_ESTAT_API_BASE_URL, Settings, get_settings

__all__ = ["EstatClient", "clean_params", "parse_body"]

logger = logging.getLogger(__name__)

# Seconds kept before the invocation's deadline (estat_aws_mcp.deadline) to store what was fetched and answer.
INVOCATION_RESERVE_S = 2.0

USER_AGENT = "estat-aws-mcp (e-Stat API 3.0 client)"
DEFAULT_BACKOFF_INITIAL_S = 0.5  # first retry waits 0.25-0.5 s, then doubling...
DEFAULT_BACKOFF_MAX_S = 8.0  # ...up to 4-8 s between attempts
DEFAULT_RETRY_AFTER_CAP_S = 30.0  # a longer Retry-After fails fast instead of holding the caller
MALFORMED_ATTEMPTS = 2  # bodies that are not e-Stat JSON: one retry, then a clear error


class _AppIdLogFilter(logging.Filter):
    """Backstop for HTTP library log lines: any ``appId=`` query value is blanked (the client's own
    requests never carry it at that level; a custom inner transport or a future library version might)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # not ours to fix
            return True
        if "appid=" in message.lower():
            record.msg, record.args = redact(message), ()
        return True


_app_id_log_filter = _AppIdLogFilter()
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_app_id_log_filter)


class _Transient(Exception):
    """A failure worth retrying; ``message`` is safe to show (already redacted)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None, malformed: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.malformed = malformed  # a body that is not e-Stat's: retried at most MALFORMED_ATTEMPTS times


def _stop_after_malformed(limit: int) -> Any:
    """A tenacity stop condition: give up after ``limit`` bodies that were not e-Stat JSON (a broken
    proxy or a maintenance page does not heal in seconds, unlike a 503)."""
    seen = 0

    def stop(retry_state: Any) -> bool:
        nonlocal seen
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _Transient) and failure.malformed:
            seen += 1
        return seen >= limit

    return stop


class _AppIdTransport(httpx.AsyncBaseTransport):
    """Adds ``appId`` to the URL at the last moment, on a copy of the request.

    httpx logs ``request.url`` and attaches the request to exceptions; both see the outer request,
    which never carries the appId."""

    def __init__(self, inner: httpx.AsyncBaseTransport, app_id: str) -> None:
        self._inner = inner
        self._app_id = app_id

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_merge_params({"appId": self._app_id})
        inner_request = httpx.Request(
            request.method, url, headers=request.headers, stream=request.stream, extensions=request.extensions
        )
        return await self._inner.handle_async_request(inner_request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs ~80 ms, and a
    client is opened per tool call."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def default_transport() -> httpx.AsyncHTTPTransport:
    """The transport a client builds unless given one: no httpx-level retries (the client retries,
    bounded) and the process-wide TLS context. Callers that wrap the transport start from this."""
    return httpx.AsyncHTTPTransport(retries=0, verify=_shared_ssl_context())


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_XML_STATUS = re.compile(rb"<STATUS>\s*(\d+)\s*</STATUS>")
_XML_MESSAGE = re.compile(rb"<ERROR_MSG>(.*?)</ERROR_MSG>", re.DOTALL)
_XML_ROOT = re.compile(rb"<(GET_[A-Z_]+)[\s>]")
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def parse_body(content: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(document, problem). JSON bodies are parsed; XML bodies (e-Stat's WAF answers auth failures
    with HTTP 403 + XML, fixture #23, possibly cut short) are reduced to ``{ROOT: {"RESULT": ...}}``."""
    stripped = content.lstrip()
    if stripped.startswith(b"<"):
        status = _XML_STATUS.search(stripped)
        if not status:
            title = _HTML_TITLE.search(stripped)
            if title:  # e.g. a maintenance page (メンテナンス) answered with HTTP 200
                text = title.group(1).decode("utf-8", "replace").strip()[:80]
                return None, f"an HTML page titled 「{text}」 instead of JSON (maintenance?)"
            return None, "an XML/HTML body without an e-Stat STATUS"
        message = _XML_MESSAGE.search(stripped)
        root = _XML_ROOT.search(stripped)
        result = {
            "STATUS": int(status.group(1)),
            "ERROR_MSG": message.group(1).decode("utf-8", "replace").strip() if message else "",
        }
        return {root.group(1).decode() if root else "RESULT_ONLY": {"RESULT": result}}, None
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as error:
        return None, f"malformed JSON ({type(error).__name__} at byte {getattr(error, 'pos', '?')})"
    if not isinstance(document, dict):
        return None, "a JSON body that is not an object"
    return document, None


def _find_result(document: Mapping[str, Any], endpoint: str) -> tuple[int | None, str]:
    root = response_root(document, endpoint)
    if not root:
        # Error envelopes normally keep the endpoint's root key (#24), but accept any GET_* root.
        for value in document.values():
            if isinstance(value, dict) and "RESULT" in value:
                root = value
                break
    status, message, _date = result_of(root)
    return status, message


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """e-Stat query parameters as strings: ``None`` dropped, sequences comma-joined, bools as Y/N."""
    cleaned: dict[str, str] = {}
    for key, value in params.items():
        if value is None or key == "appId":
            continue
        if isinstance(value, bool):
            value = "Y" if value else "N"
        elif isinstance(value, (list, tuple, set, frozenset)):
            value = ",".join(str(item) for item in value)
        cleaned[key] = str(value)
    return cleaned


class EstatClient:
    """See the module docstring. Safe to share between tasks; use ``async with`` for pooled
    connections (without it, each call opens and closes its own connection pool)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        app_id: str | None = None,
        base_url: str | None = None,
        max_concurrency: int | None = None,
        timeout_s: float | None = None,
        max_attempts: int | None = None,
        retry_budget_s: float | None = None,
        backoff_initial_s: float | None = None,
        backoff_max_s: float | None = None,
        retry_after_cap_s: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings or get_settings()
        s = self._settings
        self._explicit_app_id = app_id
        self._app_id: str | None = None
        self.base_url = (base_url or s.estat_api_base_url).rstrip("/")
        self.limiter: ProcessLimiter = process_limiter(max_concurrency or s.estat_concurrency)
        self.timeout_s = timeout_s if timeout_s is not None else s.estat_timeout_s
        self.max_attempts = max_attempts if max_attempts is not None else s.estat_max_attempts
        self.retry_budget_s = retry_budget_s if retry_budget_s is not None else s.estat_retry_budget_s
        self.backoff_initial_s = backoff_initial_s if backoff_initial_s is not None else DEFAULT_BACKOFF_INITIAL_S
        self.backoff_max_s = backoff_max_s if backoff_max_s is not None else DEFAULT_BACKOFF_MAX_S
        self.retry_after_cap_s = retry_after_cap_s if retry_after_cap_s is not None else DEFAULT_RETRY_AFTER_CAP_S
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> EstatClient:
        self._http = await self._open_http()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def _open_http(self) -> httpx.AsyncClient:
        app_id = await self._resolve_app_id()
        inner = self._transport or default_transport()
        return httpx.AsyncClient(
            transport=_AppIdTransport(inner, app_id),
            timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    async def _resolve_app_id(self) -> str:
        if self._app_id is None:
            if self._explicit_app_id or self._settings.estat_app_id is not None:
                self._app_id = resolve_app_id(self._settings, self._explicit_app_id)
            else:  # may read SSM (blocking boto3 call; cached per process)
                self._app_id = await anyio.to_thread.run_sync(resolve_app_id, self._settings, None)
        return self._app_id

    # -- public API ----------------------------------------------------------------------------

    async def get_stats_list(self, **params: Any) -> StatsList:
        """getStatsList (searchWord, surveyYears, statsField, statsCode, collectArea, limit,
        startPosition, statsNameList...). Returns :class:`~estat_aws_mcp.estat.normalize.StatsList`."""
        return normalize_stats_list(await self.request("getStatsList", params))

    async def count_stats_list(self, **params: Any) -> int:
        """Total hits of a getStatsList search (a cheap ``limit=1`` probe; 0 on STATUS 1)."""
        params = {**params, "limit": 1, "startPosition": None}
        return normalize_stats_list(await self.request("getStatsList", params))["number"]

    async def get_meta_info(self, stats_data_id: str, **params: Any) -> MetaInfo:
        """getMetaInfo: TABLE_INF + CLASS_INF (every axis with all items).
        Returns :class:`~estat_aws_mcp.estat.normalize.MetaInfo`."""
        return normalize_meta_info(await self.request("getMetaInfo", {"statsDataId": stats_data_id, **params}))

    async def get_stats_data(self, stats_data_id: str, **params: Any) -> StatsData:
        """getStatsData (startPosition, limit <= 100000, cd*/lv*/cd*From/cd*To narrowing, metaGetFlg,
        cntGetFlg...). Returns :class:`~estat_aws_mcp.estat.normalize.StatsData`."""
        return normalize_stats_data(await self.request("getStatsData", {"statsDataId": stats_data_id, **params}))

    async def iter_stats_data_pages(
        self, stats_data_id: str, *, page_size: int = 100_000, **params: Any
    ) -> AsyncIterator[StatsData]:
        """Every page of a getStatsData request, one after the other, following NEXT_KEY (for small
        and medium tables; the dataset fetch engine pages concurrently instead)."""
        if not 1 <= page_size <= 100_000:
            raise ValueError("page_size must be between 1 and 100000 (e-Stat's limit)")
        start: int | None = int(params.pop("startPosition", None) or 1)
        params.pop("limit", None)
        while start is not None:
            page = await self.get_stats_data(stats_data_id, **params, startPosition=start, limit=page_size)
            yield page
            if page["next_key"] is not None and page["next_key"] <= start:
                raise UpstreamError(f"e-Stat returned NEXT_KEY {page['next_key']} after startPosition {start}.")
            start = page["next_key"]

    async def count_stats_data(self, stats_data_id: str, **params: Any) -> int:
        """Rows a getStatsData request would return (``cntGetFlg=Y`` probe; 0 on STATUS 1)."""
        params = {**params, "cntGetFlg": "Y", "startPosition": None, "limit": None}
        data = await self.request("getStatsData", {"statsDataId": stats_data_id, **params})
        return normalize_stats_data(data)["total_number"]

    async def get_data_catalog(self, **params: Any) -> DataCatalog:
        """getDataCatalog (statistical table files: searchWord, dataType=XLS,CSV,PDF,DB, limit...).
        Returns :class:`~estat_aws_mcp.estat.normalize.DataCatalog`."""
        return normalize_data_catalog(await self.request("getDataCatalog", params))

    async def request(self, endpoint: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One e-Stat call with retries; the parsed JSON document (STATUS 0, 1 or 2)."""
        if endpoint not in ROOT_KEYS:
            raise ValueError(f"unsupported e-Stat endpoint {endpoint!r}")
        query = clean_params(params)
        started = time.monotonic()
        # The retry budget, capped by the invocation's deadline (estat_aws_mcp.deadline) less a reserve.
        deadline = stop_by(self.retry_budget_s, reserve_s=INVOCATION_RESERVE_S)
        if deadline <= started:
            raise UpstreamError(
                f"e-Stat {endpoint} was not called: too little time is left in this invocation to wait for an "
                "answer. Ask for less (fewer rows, narrower filters) or fetch the table into the dataset store."
            )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts)
            | stop_before_delay(deadline - started)
            | _stop_after_malformed(MALFORMED_ATTEMPTS),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        attempts = 0
        try:
            if self._http is not None:
                http = self._http
                async for attempt in retrying:
                    with attempt:
                        attempts += 1
                        return await self._attempt(http, endpoint, query, deadline)
            else:
                async with await self._open_http() as http:
                    async for attempt in retrying:
                        with attempt:
                            attempts += 1
                            return await self._attempt(http, endpoint, query, deadline)
        except _Transient as failure:
            elapsed = time.monotonic() - started
            message = (
                f"e-Stat {endpoint} failed after {attempts} attempt(s) in {elapsed:.1f} s: {failure.message}. "
                "e-Stat may be busy or down; try again later."
            )
            if failure.status is not None and 200 <= failure.status <= 299:
                raise EstatServerError(message, status=failure.status, retryable=True) from None
            raise UpstreamError(message) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- internals ---------------------------------------------------------------------------------

    def _wait(self, retry_state: Any) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _Transient) and failure.retry_after is not None:
            return failure.retry_after + random.uniform(0, self.backoff_initial_s)  # noqa: S311 - jitter
        exponent = max(0, retry_state.attempt_number - 1)
        base = min(self.backoff_max_s, self.backoff_initial_s * (2**exponent))
        return random.uniform(base / 2, base)  # noqa: S311 - jitter, not crypto

    def _redact(self, text: str) -> str:
        return redact(text, [self._app_id, self._explicit_app_id])

    async def _attempt(
        self, http: httpx.AsyncClient, endpoint: str, query: dict[str, str], deadline: float
    ) -> dict[str, Any]:
        url = f"{self.base_url}/json/{endpoint}"
        remaining = deadline - time.monotonic()
        timeout = max(0.05, min(self.timeout_s, remaining))
        began = time.monotonic()
        async with self.limiter.slot():
            try:
                response = await http.get(url, params=query, timeout=timeout)
                content = response.content
            except httpx.TimeoutException as error:
                raise _Transient(f"timed out after {timeout:.1f} s ({type(error).__name__})") from None
            except httpx.UnsupportedProtocol:
                raise ConfigurationError(
                    f"ESTAT_API_BASE_URL ({self.base_url}) is not an http(s) URL; the default is {DEFAULT_ESTAT_API_BASE_URL}."
                ) from None
            except httpx.ConnectError as error:
                host = httpx.URL(self.base_url).host
                raise _Transient(
                    f"could not connect to {host} ({type(error).__name__}: {self._redact(str(error))}); "
                    "check network egress and ESTAT_API_BASE_URL"
                ) from None
            except (httpx.TransportError, httpx.DecodingError) as error:
                raise _Transient(f"connection failed ({type(error).__name__}: {self._redact(str(error))})") from None
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                raise UpstreamError(
                    f"e-Stat {endpoint} request failed ({type(error).__name__}: {self._redact(str(error))}); "
                    f"check ESTAT_API_BASE_URL ({self.base_url})."
                ) from None
        logger.debug(
            "e-Stat %s %s -> HTTP %s, %d bytes in %.3f s",
            endpoint,
            self._redact(str(response.request.url)),
            response.status_code,
            len(content),
            time.monotonic() - began,
        )
        return self._interpret(endpoint, query, response, content)

    def _interpret(
        self, endpoint: str, query: dict[str, str], response: httpx.Response, content: bytes
    ) -> dict[str, Any]:
        http_status = response.status_code
        document, problem = parse_body(content) if content else (None, "an empty body")
        status, message = _find_result(document, endpoint) if document is not None else (None, "")

        # The body decides whenever it carries an e-Stat STATUS, whatever the HTTP status (#23).
        if status is not None and not (http_status >= 500 and status == 0):
            if is_success(status):
                if http_status >= 400:
                    raise _Transient(f"HTTP {http_status} with STATUS {status}", status=status)
                if status == 2:
                    logger.warning("e-Stat %s answered STATUS 2 (partial): %s", endpoint, message)
                return document  # type: ignore[return-value]
            error = error_for_status(status, message, endpoint=endpoint, params=query)
            if isinstance(error, EstatServerError) and error.retryable:
                raise _Transient(f"STATUS {status} 「{message}」", status=status)
            raise error

        if http_status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > self.retry_after_cap_s:
                raise UpstreamError(
                    f"e-Stat is rate limiting this server (HTTP 429) and asks to wait {retry_after:.0f} s, "
                    f"more than the {self.retry_after_cap_s:.0f} s this server waits; try again later."
                )
            raise _Transient("HTTP 429 Too Many Requests", retry_after=retry_after)
        if http_status >= 500:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, self.retry_after_cap_s)  # 503 + Retry-After: a hint, capped
            raise _Transient(f"HTTP {http_status}", retry_after=retry_after)
        if 300 <= http_status < 400:
            location = self._redact(response.headers.get("Location", "?"))
            raise UpstreamError(
                f"e-Stat {endpoint} answered HTTP {http_status} (a redirect to {location}); "
                f"set ESTAT_API_BASE_URL to the final address (now {self.base_url})."
            )
        if http_status >= 400:
            hint = ""
            if http_status == 404:
                hint = f" Check ESTAT_API_BASE_URL (now {self.base_url}); it should end with /rest/3.0/app."
            elif http_status == 403:
                hint = " e-Stat's firewall refused the request; check ESTAT_APP_ID and the network egress."
            raise UpstreamError(
                f"e-Stat {endpoint} answered HTTP {http_status}: {self._redact(short_text(content))}.{hint}"
            )
        if document is None:
            raise _Transient(f"e-Stat sent {problem}", malformed=True)
        # HTTP 2xx, parsed JSON, but no RESULT.STATUS: not an e-Stat answer.
        raise _Transient(
            f"e-Stat sent a JSON body without RESULT.STATUS: {self._redact(short_text(content, 120))}", malformed=True
        )
