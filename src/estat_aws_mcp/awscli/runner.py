"""In-process execution of a validated command through awscli's own driver.

- No shell and no subprocess: a fresh ``CLIDriver`` and botocore session per call (nothing
  leaks between calls: region, handlers, parsed globals), sharing one botocore data loader so
  that service models are parsed once per process.
- The driver's plugins from config files and aliases are not loaded; the CLI's file/URL
  parameter loading is switched off and any file/URL value that reached it is refused
  (defence in depth behind :mod:`.validator`).
- The API call itself is made here (awscli's ``calling-command`` hook), with explicit connect
  and read timeouts, a bounded retry count and the call's deadline; output is formatted by
  awscli's own formatters (``--output``, ``--query``), so it reads as the CLI would print it.
- Paginated answers are fetched page by page and recorded; if the formatted output would pass
  the budget, the answer is re-rendered from the recorded pages with the largest item count
  that fits (botocore's own ``MaxItems`` logic, so ``NextToken`` is exact), never by cutting text
  unless even one item does not fit.
- awscli writes errors to ``sys.stdout``/``sys.stderr``; they are captured per call under a
  process-wide lock (one CLI call at a time per process).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from estat_aws_mcp.awscli.denial import Denied
from estat_aws_mcp.awscli.internals import service_table
from estat_aws_mcp.awscli.redaction import redact_data
from estat_aws_mcp.awscli.validator import ValidatedCommand

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 9.0
MAX_ATTEMPTS = 2
# A call with less time left than this is refused before AWS is asked (the smallest timeout tier's worst case).
MIN_CALL_S = 0.2
# Clients kept: a few services x regions x timeout tiers (~280 kB each).
CLIENT_CACHE_SIZE = 32
# Fetch bounds for paginated answers, whatever the output budget.
MAX_PAGES = 100
MAX_RAW_FETCH_CHARS = 4_000_000
_SCHEMES = ("file://", "fileb://", "http://", "https://")

_loader_lock = threading.Lock()
_shared_loader: Any = None
_hooks_template: Any = None
_run_lock = threading.Lock()
_client_lock = threading.Lock()
_client_cache: OrderedDict[str, Any] = OrderedDict()


# botocore and urllib3 log request headers (session token, access key id) at DEBUG.
_SDK_LOGGERS = ("botocore", "awscli", "urllib3", "s3transfer")


@contextlib.contextmanager
def _quiet_sdk_debug_logs() -> Any:
    """During a call, SDK loggers emit nothing below INFO, whatever the process log level."""
    import logging

    saved = []
    for name in _SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        saved.append((sdk_logger, sdk_logger.level))
        if sdk_logger.getEffectiveLevel() < logging.INFO:
            sdk_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for sdk_logger, level in saved:
            sdk_logger.setLevel(level)


class DeadlineExceeded(Exception):
    """The call's deadline passed before AWS could be asked."""


class _TapeExhausted(Exception):
    """A replay asked for a page that was never fetched."""


def _share_loader(session: Any) -> None:
    """One botocore data loader per process (service models are parsed once), built the session's way."""
    global _shared_loader
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = session.get_component("data_loader")  # honours AWS_DATA_PATH set by awscli
        else:
            session.register_component("data_loader", _shared_loader)


@dataclass(frozen=True)
class Timeouts:
    """A botocore client's connect/read timeouts and attempts (fixed when the client is built)."""

    connect: float
    read: float
    attempts: int

    @property
    def worst_case(self) -> float:
        return self.attempts * (self.connect + self.read)


def _timeout_tiers() -> tuple[Timeouts, ...]:
    """The timeouts a client may have, longest first: the standard ones (two attempts), one attempt of
    them, then single attempts whose worst case halves from tier to tier down to :data:`MIN_CALL_S`."""
    tiers = [
        Timeouts(CONNECT_TIMEOUT_S, READ_TIMEOUT_S, MAX_ATTEMPTS),
        Timeouts(CONNECT_TIMEOUT_S, READ_TIMEOUT_S, 1),
    ]

    def single_attempt(budget: float) -> Timeouts:  # whole milliseconds, rounded down: never over budget
        connect = math.floor(min(CONNECT_TIMEOUT_S, budget / 4) * 1000) / 1000
        return Timeouts(connect, math.floor((budget - connect) * 1000) / 1000, 1)

    budget = (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) / 2
    while budget > MIN_CALL_S:
        tiers.append(single_attempt(budget))
        budget /= 2
    tiers.append(single_attempt(MIN_CALL_S))
    return tuple(tiers)


TIMEOUT_TIERS = _timeout_tiers()


def _timeouts(remaining: float) -> Timeouts:
    """The longest tier whose worst case fits in ``remaining`` seconds (the shortest tier below that).

    A client's timeouts and retries are fixed when it is built, so a call short on time needs a client
    with shorter ones. Tiers rather than timeouts cut to the exact time left keep the number of distinct
    clients small, so those are cached too: a call gets at least half of the time it has left (below
    the standard worst case) and reuses the connections of the calls before it.
    """
    for tier in TIMEOUT_TIERS:
        if tier.worst_case <= remaining:
            return tier
    return TIMEOUT_TIERS[-1]


def _client_for(session: Any, service_name: str, parsed_globals: Any, remaining: float) -> Any:
    """A botocore client whose worst case (timeouts x attempts) fits in ``remaining`` seconds.

    Building a client costs ~20 ms (one Python method per API operation) and a new client opens new
    connections, so clients are kept per (service, region, endpoint and identity environment, timeout
    tier), whatever the time left. Nothing a caller controls reaches a client's state: endpoint,
    profile, TLS and timeouts are refused by the validator, and the region is part of the key.
    """
    from botocore.config import Config

    timeouts = _timeouts(remaining)
    region = parsed_globals.region or session.get_config_variable("region")
    # Every AWS_* variable (endpoint URLs, credentials, profile, config files) is part of the key:
    # a change in the operator's environment never reuses a client built before it.
    aws_env = sorted((name, value) for name, value in os.environ.items() if name.upper().startswith("AWS_"))
    identity = json.dumps(
        [service_name, region, parsed_globals.verify_ssl, aws_env, timeouts.connect, timeouts.read, timeouts.attempts]
    )
    key = hashlib.sha256(identity.encode("utf-8")).hexdigest()  # no plaintext credentials held as keys
    with _client_lock:
        client = _client_cache.get(key)
        if client is not None:
            _client_cache.move_to_end(key)
            return client
    config = Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"total_max_attempts": timeouts.attempts, "mode": "standard"},
    )
    client = session.create_client(service_name, region_name=region, verify=parsed_globals.verify_ssl, config=config)
    with _client_lock:
        _client_cache[key] = client
        while len(_client_cache) > CLIENT_CACHE_SIZE:
            _client_cache.popitem(last=False)
    return client


def _no_stream_logger(*_args: Any, **_kwargs: Any) -> None:
    """awscli adds a stderr handler to the 'awscli' logger on every run; a process must not collect them."""


def _no_alias_loader(alias_loader_class: Any) -> Any:
    """An alias loader with no aliases: '!' aliases would run a shell, others rename commands."""

    class NoAliases(alias_loader_class):
        def get_aliases(self) -> dict[str, str]:
            return {}

    return NoAliases()


def _template_hooks() -> Any:
    """The event handlers every driver starts with, registered once per process and never mutated.

    Registering botocore's and awscli's ~400 built-in handlers costs tens of milliseconds per
    session (each registration inspects the handler's signature); each call gets a copy of
    this template instead (botocore's emitters copy their handler tables, not the handlers).
    """
    global _hooks_template
    with _loader_lock:
        if _hooks_template is None:
            from awscli.clidriver import EnvironmentVariables
            from awscli.paramfile import register_uri_param_handler
            from awscli.plugin import load_plugins
            from botocore.hooks import HierarchicalEmitter
            from botocore.session import Session

            hooks = HierarchicalEmitter()
            builder = Session(EnvironmentVariables, event_hooks=hooks)  # botocore's built-in handlers
            # awscli's built-in plugins only: plugins named in the operator's config file are not loaded.
            load_plugins({}, event_hooks=builder.get_component("event_emitter"))
            # file:// and http(s):// parameter loading off: the handler is never registered.
            builder.unregister("session-initialized", register_uri_param_handler)
            _hooks_template = hooks
        return _hooks_template


def create_driver() -> Any:
    """A fresh awscli driver: new session and handlers, shared model loader, no aliases or config plugins."""
    # Importing awscli installs an import hook that maps a *later* ``import botocore`` to the copy
    # vendored inside awscli. Importing the pinned botocore first keeps one botocore per process
    # (the one boto3 uses), whatever order the tools run in.
    import botocore.session  # noqa: F401
    from awscli.alias import AliasLoader
    from awscli.clidriver import CLIDriver, EnvironmentVariables
    from botocore import __version__ as botocore_version
    from botocore.session import Session

    from awscli import __version__ as awscli_version

    hooks = copy.copy(_template_hooks())
    session = Session(EnvironmentVariables, event_hooks=hooks, include_builtin_handlers=False)
    _share_loader(session)
    session.user_agent_name = "aws-cli"
    session.user_agent_version = awscli_version
    session.user_agent_extra = f"botocore/{botocore_version} estat-aws-mcp"
    session.set_stream_logger = _no_stream_logger  # type: ignore[method-assign]
    driver = CLIDriver(session=session)
    driver.alias_loader = _no_alias_loader(AliasLoader)
    return driver


@dataclass
class _CallState:
    denied: Denied | None = None
    aws_error_code: str | None = None
    error_name: str | None = None
    request_ids: list[str] = field(default_factory=list)
    item_count: int | None = None
    next_token: str | None = None
    truncated: bool = False
    region: str | None = None
    output_format: str | None = None
    operation_ran: bool = False


@dataclass
class RunOutcome:
    exit_status: int
    output: str
    stderr: str
    state: _CallState


def _refuse(state: _CallState, denial: Denied) -> Denied:
    state.denied = denial
    return denial


def _value_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _guard_file_and_url_values(state: _CallState, param: Any, value: Any, **_kwargs: Any) -> None:
    """'load-cli-arg' guard: whatever the parser let through, no file or URL is read."""
    for text in _value_strings(value):
        if text.lstrip().lower().startswith(_SCHEMES):
            raise _refuse(state, Denied("file_or_url_value", "file and URL parameter values are never loaded"))


def _guard_shorthand_files(state: _CallState, param: Any, value: Any, **_kwargs: Any) -> None:
    """'process-cli-arg' guard, first in line: shorthand '@=' (read a file) never reaches the parser."""
    for text in _value_strings(value):
        if "@=" in text:
            raise _refuse(state, Denied("shorthand_file_reference", "shorthand '@=' file references are never loaded"))


class _Tape:
    """Pages fetched once, replayed for every rendering (deep copies: botocore mutates pages)."""

    def __init__(self, deadline: float, secrets: list[str]) -> None:
        self.secrets = secrets
        self.pages: list[dict[str, Any]] = []
        self.offline = False
        self.deadline = deadline
        self.deadline_hit = False

    def page(self, index: int, method: Any, kwargs: dict[str, Any]) -> Any:
        if index < len(self.pages):
            return copy.deepcopy(self.pages[index])
        if self.offline:
            raise _TapeExhausted
        if time.monotonic() >= self.deadline:
            self.deadline_hit = True
            raise _TapeExhausted
        response = redact_data(method(**kwargs), self.secrets)  # before --query sees it
        self.pages.append(copy.deepcopy(response))
        return response


def _tape_page_iterator_class() -> Any:
    from botocore.paginate import PageIterator

    class TapePageIterator(PageIterator):
        def __init__(self, tape: _Tape, *args: Any) -> None:
            super().__init__(*args)
            self._tape = tape
            self._requests = 0
            self.items_yielded = 0

        def _make_request(self, current_kwargs: dict[str, Any]) -> Any:
            index = self._requests
            self._requests += 1
            return self._tape.page(index, self._method, current_kwargs)

        def __iter__(self) -> Any:
            primary = self.result_keys[0]
            for page in super().__iter__():
                self.items_yielded += len(primary.search(page) or [])
                yield page

    return TapePageIterator


def _request_id(response: Any) -> str | None:
    if isinstance(response, dict):
        return (response.get("ResponseMetadata") or {}).get("RequestId")
    return None


def _cut(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    head = text[:budget]
    newline = head.rfind("\n")
    return head[: newline + 1] if newline > budget // 2 else head


class _OperationRunner:
    """The 'calling-command' handler: makes the API call and prints the bounded, formatted answer."""

    def __init__(
        self,
        session: Any,
        service_name: str,
        operation_name: str,
        state: _CallState,
        budget: int,
        deadline: float,
        secrets: list[str] | None = None,
    ) -> None:
        self._secrets = secrets or []
        self._session = session
        self._service_name = service_name
        self._operation_name = operation_name
        self._state = state
        self._budget = budget
        self._deadline = deadline

    def __call__(self, call_parameters: dict[str, Any], parsed_args: Any, parsed_globals: Any, **_kwargs: Any) -> int:
        import sys

        from botocore import xform_name
        from botocore.exceptions import ClientError

        state = self._state
        if getattr(parsed_args, "cli_input_json", None) is not None or getattr(
            parsed_args, "generate_cli_skeleton", None
        ):
            raise _refuse(
                state, Denied("cli_input_json", "--cli-input-json and --generate-cli-skeleton are not available")
            )
        remaining = self._deadline - time.monotonic()
        if remaining <= MIN_CALL_S:
            state.error_name = "deadline_exceeded"
            raise DeadlineExceeded("the call's deadline passed before AWS was asked")
        client = _client_for(self._session, self._service_name, parsed_globals, remaining)
        state.region = client.meta.region_name
        output = parsed_globals.output or self._session.get_config_variable("output") or "json"
        state.output_format = output
        py_name = xform_name(self._operation_name)
        state.operation_ran = True
        try:
            if client.can_paginate(py_name) and parsed_globals.paginate:
                text = self._paginated(client, py_name, call_parameters, output, parsed_globals)
            else:
                # Secrets go before --query is applied: no JMESPath transform ever sees them.
                response = redact_data(getattr(client, py_name)(**call_parameters), self._secrets)
                request_id = _request_id(response)
                if request_id:
                    state.request_ids.append(request_id)
                text = self._render(response, output, parsed_globals)
                if len(text) > self._budget:
                    text = _cut(text, self._budget)
                    state.truncated = True
        except ClientError as exc:
            error = exc.response.get("Error", {})
            state.aws_error_code = error.get("Code") or "ClientError"
            request_id = _request_id(exc.response)
            if request_id:
                state.request_ids.append(request_id)
            raise
        sys.stdout.write(text)
        return 0

    def _largest_fitting(self, render: Any, most: int, *, measured_items: int, measured_chars: int) -> Any:
        """The rendering with the most items (1..most) that fits the budget, or None.

        Starts from a proportional guess and brackets it, so a typical search renders a handful
        of times instead of log2(most).
        """
        cache: dict[int, Any] = {}

        def fits(count: int) -> bool:
            if count not in cache:
                try:
                    cache[count] = render(count)
                except _TapeExhausted:
                    cache[count] = None
            rendered = cache[count]
            return rendered is not None and len(rendered[0]) <= self._budget

        if most < 1:
            return None
        guess = most
        if measured_chars > self._budget and measured_items:
            guess = max(1, min(most, int(measured_items * self._budget / measured_chars)))
        step = max(1, guess // 16)
        if fits(guess):
            low, high = guess, most + 1  # low fits; find the first count that does not
            probe = guess + step
            while probe <= most and fits(probe):
                low, step = probe, step * 2
                probe = low + step
            high = min(high, probe)
        else:
            high, low = guess, 0  # high does not fit
            probe = guess - step
            while probe >= 1 and not fits(probe):
                high, step = probe, step * 2
                probe = high - step
            if probe < 1:
                if not fits(1):
                    return None
                probe = 1
            low = probe
        while high - low > 1:
            middle = (low + high) // 2
            if fits(middle):
                low = middle
            else:
                high = middle
        return cache[low]

    def _render(self, response: Any, output: str, parsed_globals: Any) -> str:
        from awscli.formatter import get_formatter

        stream = io.StringIO()
        get_formatter(output, parsed_globals)(self._operation_name, response, stream=stream)
        return stream.getvalue()

    def _paginated(
        self, client: Any, py_name: str, call_parameters: dict[str, Any], output: str, parsed_globals: Any
    ) -> str:
        state = self._state
        tape = _Tape(self._deadline, self._secrets)
        paginator = client.get_paginator(py_name)
        paginator.PAGE_ITERATOR_CLS = partial(_tape_page_iterator_class(), tape)
        params = copy.deepcopy(call_parameters)
        pagination = dict(params.pop("PaginationConfig", None) or {})
        user_max = pagination.get("MaxItems")

        def iterator(max_items: int | None) -> Any:
            config = {**pagination, "MaxItems": max_items} if max_items is not None else dict(pagination)
            return paginator.paginate(**copy.deepcopy(params), PaginationConfig=config)

        def capped(count: int) -> int:
            return min(count, user_max) if user_max is not None else count

        def render(max_items: int | None) -> tuple[str, Any]:
            pages = iterator(max_items)
            return self._render(pages, output, parsed_globals), pages

        # Fetch: stop as soon as the formatted answer would pass the budget (or a fetch bound).
        fetching = iterator(user_max)
        primary = fetching.result_keys[0]
        fetched = 0
        raw_chars = 0
        next_check = self._budget
        stopped_early = False
        measured_items, measured_chars = 0, 0
        try:
            for page in fetching:
                items = primary.search(page) or []
                fetched += len(items)
                raw_chars += len(json.dumps(items, default=str, ensure_ascii=False))
                if len(tape.pages) >= MAX_PAGES or raw_chars >= MAX_RAW_FETCH_CHARS:
                    stopped_early = True
                    break
                if raw_chars >= next_check and fetched:
                    tape.offline = True
                    try:
                        measured, _ = render(capped(fetched))
                    finally:
                        tape.offline = False
                    measured_items, measured_chars = capped(fetched), len(measured)
                    if len(measured) > self._budget:
                        stopped_early = True
                        break
                    next_check = raw_chars * 2
        except _TapeExhausted:  # the deadline came between two pages
            stopped_early = True
        stopped_early = stopped_early or tape.deadline_hit
        tape.offline = True
        state.request_ids.extend(rid for rid in (_request_id(p) for p in tape.pages) if rid)

        final: Any = None
        text = ""
        if not stopped_early:
            text, final = render(user_max)
        if stopped_early or len(text) > self._budget:
            if text:
                measured_items, measured_chars = capped(fetched), len(text)
            best = self._largest_fitting(
                render, capped(fetched), measured_items=measured_items, measured_chars=measured_chars
            )
            if best is not None:
                text, final = best
            else:
                try:
                    text, final = render(1) if fetched else render(user_max)
                except _TapeExhausted:
                    state.error_name = "deadline_exceeded"
                    raise DeadlineExceeded("the call's deadline passed before AWS answered") from None
                text = _cut(text, self._budget)
            state.truncated = bool(final is not None and final.resume_token) or len(text) >= self._budget
        state.item_count = final.items_yielded if final is not None else fetched
        state.next_token = final.resume_token if final is not None else None
        if tape.deadline_hit:
            state.truncated = True
        return text


class _ThreadRoutedStream(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr during a call: the calling thread's writes are captured,
    every other thread keeps writing where it wrote before (its log lines never land in an answer)."""

    def __init__(self, original: Any, capture: io.StringIO) -> None:
        super().__init__()
        self._original = original
        self._capture = capture
        self._owner = threading.get_ident()

    def _target(self) -> Any:
        return self._capture if threading.get_ident() == self._owner else self._original

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        target = self._target()
        if target is not None:
            target.flush()

    def isatty(self) -> bool:
        return False if threading.get_ident() == self._owner else bool(self._original and self._original.isatty())

    def fileno(self) -> int:
        if threading.get_ident() == self._owner:
            raise io.UnsupportedOperation("captured stream")  # awscli then assumes no terminal (80 columns)
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


@contextlib.contextmanager
def _captured(stdout: io.StringIO, stderr: io.StringIO) -> Any:
    import sys

    saved = sys.stdout, sys.stderr
    sys.stdout = _ThreadRoutedStream(saved[0], stdout)
    sys.stderr = _ThreadRoutedStream(saved[1], stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def run_validated(
    command: ValidatedCommand, driver: Any, *, budget_chars: int, deadline: float, secrets: list[str] | None = None
) -> RunOutcome:
    """Execute ``command`` (already validated against ``driver``'s tables) and capture what it prints;
    ``secrets`` are replaced in AWS's answer before ``--query`` and the formatter see it."""
    from botocore import xform_name

    session = driver.session
    state = _CallState()
    service_command = service_table(driver)[command.service]
    service_model = service_command.service_model
    operation_name = next(name for name in service_model.operation_names if xform_name(name, "-") == command.operation)
    events = session.get_component("event_emitter")
    events.register_first("process-cli-arg", partial(_guard_shorthand_files, state))
    events.register_first("load-cli-arg", partial(_guard_file_and_url_values, state))
    events.register_last(
        f"calling-command.{command.service}.{command.operation}",
        _OperationRunner(
            session, service_model.service_name, operation_name, state, budget_chars, deadline, secrets or []
        ),
    )
    stdout, stderr = io.StringIO(), io.StringIO()
    wait = max(0.0, deadline - time.monotonic())
    if not _run_lock.acquire(timeout=wait):
        state.error_name = "busy"
        return RunOutcome(exit_status=255, output="", stderr="another AWS CLI call is still running", state=state)
    try:
        with _captured(stdout, stderr), _quiet_sdk_debug_logs():
            try:
                exit_status = driver.main(list(command.argv))
            except SystemExit as exc:  # argparse reports usage errors this way
                exit_status = exc.code if isinstance(exc.code, int) else 2
                state.error_name = state.error_name or "cli_usage_error"
    finally:
        _run_lock.release()
    return RunOutcome(exit_status=exit_status, output=stdout.getvalue(), stderr=stderr.getvalue(), state=state)
