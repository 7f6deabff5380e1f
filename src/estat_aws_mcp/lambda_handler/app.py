"""The Function URL handler: the adapter's ``LambdaFunctionURLEventHandler`` with the edge gaps filled.

The adapter (``mcp_lambda``) owns the MCP Streamable HTTP rules: Accept/Content-Type checks (406,
415), batches, 202 for notification-only bodies, 405 for GET (no SSE), CORS preflight. Around it:

- the probes ``GET /health`` and ``GET /ready`` (:mod:`estat_aws_mcp.health`) are answered here (the
  adapter answers 405 to every GET);
- ``isBase64Encoded`` bodies are decoded (the adapter ignores the flag);
- the non-MCP routes of :func:`estat_aws_mcp.auth.routes` (``/.well-known/…``, OAuth endpoints) are
  served through the in-process ASGI bridge, unauthenticated;
- every other request passes the one authentication gate (:class:`estat_aws_mcp.auth.AuthGate`,
  the same as ``serve --http``): token or OAuth per ``ESTAT_MCP_AUTH_MODE``, rate limits; an IAM
  caller already verified by an AWS_IAM URL is admitted;
- every JSON-RPC answer is measured against the 6 MB response cap (:mod:`.budget`), timed and
  logged (:class:`ObservedRequestHandler`);
- the invocation's deadline is set once (:mod:`estat_aws_mcp.deadline`) for every part that must
  stop in time; batch items that cannot start before it are answered at once.

A bare JSON-RPC message (the Lambda Invoke API, as ``mcp_lambda.lambda_function_client`` sends
it) is served too, with the same dispatcher, budget and logs.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from mcp import types
from mcp_lambda import LambdaFunctionURLEventHandler, RequestHandler
from mcp_lambda.handlers.streamable_http_handler import HttpResponse, ParsedHttpRequest

from estat_aws_mcp.auth import AuthGate, GateRequest, PublicRoutes, Refusal
from estat_aws_mcp.auth.gate import REFUSAL_CODE, iam_caller
from estat_aws_mcp.deadline import invocation_deadline, time_left
from estat_aws_mcp.health import is_probe, probe_answer
from estat_aws_mcp.lambda_handler.budget import DEFAULT_RESPONSE_BUDGET_BYTES, ResponseBudget
from estat_aws_mcp.lambda_handler.results import error_for_request, not_started_error, tool_name
from estat_aws_mcp.limits import LAMBDA_RESPONSE_CAP_BYTES, json_string_bytes, json_string_bytes_at_most
from estat_aws_mcp.logs import configure_logging, log_level, log_startup
from estat_aws_mcp.protocol import (
    METHOD_NOT_FOUND,
    BodyRefusal,
    invalid_request_refusal,
    is_unknown_method,
    method_not_found_message,
    parse_body,
    protocol_version_refusal,
)
from estat_aws_mcp.settings import Settings, get_settings

# A request starts only while more than this is left of the invocation (time to run and answer it);
# later ones, e.g. the tail of a large batch, are answered at once with a JSON-RPC error.
START_RESERVE_S = 1.5
# The adapter's own loggers print whole events (Authorization header, bodies) at DEBUG.
_ADAPTER_LOGGERS = (
    "mcp_lambda.handlers.streamable_http_handler",
    "mcp_lambda.server_adapter.adapter",
    "mcp_lambda.server_adapter.stdio_server_adapter_request_handler",
)


# The SDK logs one INFO line per request (ours is structured) and, on a malformed request, a
# WARNING that quotes the request's parameters (tool arguments are payload).
_SDK_LOGGER_FLOORS = {"mcp.server.lowlevel.server": logging.WARNING, "mcp.server.session": logging.ERROR}


def quiet_payload_logs() -> None:
    """Raise the loggers that would print events, headers or payloads to a level where they do not."""
    floors = {**dict.fromkeys(_ADAPTER_LOGGERS, logging.INFO), **_SDK_LOGGER_FLOORS}
    for name, floor in floors.items():
        target = logging.getLogger(name)
        if target.getEffectiveLevel() < floor:
            target.setLevel(floor)


def seconds_left(context: Any) -> float | None:
    """Seconds until the runtime ends this invocation, or None when the context does not say."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    try:
        return max(0.0, float(remaining()) / 1000.0)
    except (TypeError, ValueError):
        return None


def _outcome(answer: types.JSONRPCResponse | types.JSONRPCError, fits: bool) -> str:
    if not fits:
        return "oversized"
    if isinstance(answer, types.JSONRPCError):
        return f"error {answer.error.code}"
    if isinstance(answer.result, Mapping) and answer.result.get("isError"):
        return "tool_error"
    return "ok"


class ObservedRequestHandler(RequestHandler):
    """Wraps a dispatcher: one log line per JSON-RPC request, every answer kept within the budget.

    Logged: JSON-RPC method, tool name, duration, outcome, answer size, caller. Never arguments,
    results or headers.
    """

    def __init__(self, inner: RequestHandler, budget: ResponseBudget, log: Any) -> None:
        self.inner = inner
        self.budget = budget
        self.log = log
        self.caller: str | None = None

    def begin_invocation(self, caller: str | None) -> None:
        self.caller = caller
        self.budget.reset()

    def handle_request(self, request: types.JSONRPCRequest, context: Any) -> types.JSONRPCResponse | types.JSONRPCError:
        started = time.perf_counter()
        left = time_left(START_RESERVE_S)
        try:
            if is_unknown_method(request.method):
                answer = error_for_request(request.id, METHOD_NOT_FOUND, method_not_found_message(request.method))
            elif left is not None and left <= 0:
                # Too late to start: answer now rather than let the runtime kill the whole batch.
                answer = not_started_error(request, START_RESERVE_S)
            else:
                answer = self.inner.handle_request(request, context)
        except Exception as error:  # a dispatcher bug must still answer this id
            self.log.exception(
                "dispatch failed", extra={"jsonrpc_method": request.method, "error": type(error).__name__}
            )
            answer = error_for_request(request.id, types.INTERNAL_ERROR, "Internal error (see the function's logs).")
        used_before = self.budget.used_bytes
        answer, fits = self.budget.admit(request, answer)
        self.log.info(
            "mcp request",
            extra={
                "jsonrpc_method": request.method,
                "tool": tool_name(request),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "outcome": _outcome(answer, fits),
                "response_bytes": self.budget.used_bytes - used_before,
                "caller": self.caller,
            },
        )
        return answer


def is_direct_jsonrpc(event: Any) -> bool:
    """A bare JSON-RPC message (Lambda Invoke API) rather than a Function URL event."""
    return isinstance(event, dict) and event.get("jsonrpc") == "2.0" and "requestContext" not in event


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", **(headers or {})},
        "body": json.dumps(payload),
    }


def _envelope_bytes(response: dict[str, Any]) -> int:
    """``len(json.dumps(response))`` without the encoded ``body`` string."""
    return len(json.dumps({**response, "body": ""})) - 2


def _invocation_payload_bytes(response: dict[str, Any]) -> int:
    """``len(json.dumps(response))`` without re-encoding a large body (the cap check on the whole result)."""
    body = response.get("body")
    if not isinstance(body, str):
        return len(json.dumps(response))
    return _envelope_bytes(response) + json_string_bytes(body)


def _fits_invocation_payload(response: dict[str, Any]) -> bool:
    """Whether the invocation result stays within Lambda's cap: a bound settles it for all but bodies near
    the cap, which are counted exactly (no second pass over every answer)."""
    body = response.get("body")
    if (
        isinstance(body, str)
        and _envelope_bytes(response) + json_string_bytes_at_most(body) <= LAMBDA_RESPONSE_CAP_BYTES
    ):
        return True
    return _invocation_payload_bytes(response) <= LAMBDA_RESPONSE_CAP_BYTES


def _batch_requests(items: list[Any]) -> list[tuple[str | int, str]]:
    """``(id, method)`` of each request in a batch (notifications and malformed items have no answer)."""
    return [
        (item["id"], item["method"])
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("method"), str)
        and isinstance(item.get("id"), str | int)
        and not isinstance(item.get("id"), bool)
    ]


def _jsonrpc_error_body(code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": None}


class FunctionUrlHandler(LambdaFunctionURLEventHandler):
    """``handle(event, context)`` for Function URL (payload 2.0) events."""

    def __init__(
        self,
        request_handler: RequestHandler,
        *,
        log: Any,
        gate: AuthGate | None = None,
        public_routes: PublicRoutes | None = None,
        budget: ResponseBudget | None = None,
        dispatch: str = "inprocess",
    ) -> None:
        self.observed = ObservedRequestHandler(request_handler, budget or ResponseBudget(), log)
        super().__init__(self.observed)
        self.log = log
        self.gate = gate or AuthGate("none")
        self.public_routes = public_routes or PublicRoutes([])
        self._caller_fields: dict[str, Any] = {}
        self.dispatch = dispatch
        quiet_payload_logs()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if is_direct_jsonrpc(event):
            return self.handle_direct(event, context)
        started = time.perf_counter()
        http = (event.get("requestContext") or {}).get("http") or {}
        method = str(http.get("method") or "GET").upper()
        path = event.get("rawPath") or http.get("path") or "/"
        caller = iam_caller(event)
        self.log.append_keys(request_id=getattr(context, "aws_request_id", None))
        self.observed.begin_invocation(caller)
        self._caller_fields = {"caller": caller}
        try:
            response = self._within_cap(self._respond(event, context, method, path, caller))
            self.log.info(
                "http request",
                extra={
                    "http_method": method,
                    "path": path,
                    "status": response["statusCode"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    **self._caller_fields,
                    "dispatch": self.dispatch,
                    "replaced_answers": self.observed.budget.replaced,
                },
            )
        finally:
            self.log.remove_keys(["request_id"])
        return response

    def handle_direct(self, message: dict[str, Any], context: Any) -> dict[str, Any]:
        """A JSON-RPC message sent with the Lambda Invoke API (``mcp_lambda.lambda_function_client``).

        Lambda already authorised the caller (``lambda:InvokeFunction``), so no token applies. The
        answer is the JSON-RPC response itself; a notification gets ``{}``, as that client expects.
        """
        self.log.append_keys(request_id=getattr(context, "aws_request_id", None))
        self.observed.begin_invocation(None)
        try:
            try:
                parsed = types.JSONRPCMessage.model_validate(message).root
            except ValueError:
                error = _jsonrpc_error_body(types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
                return error | {"id": message.get("id")}
            if not isinstance(parsed, types.JSONRPCRequest):
                return {}
            with invocation_deadline(seconds_left(context)):
                answer = self.observed.handle_request(parsed, context)
            return answer.model_dump(by_alias=True, mode="json", exclude_none=True)
        finally:
            self.log.remove_keys(["request_id"])

    def _respond(
        self, event: dict[str, Any], context: Any, method: str, path: str, caller: str | None
    ) -> dict[str, Any]:
        if is_probe(method, path):
            status, body, headers = probe_answer(path, self.gate, dispatch=self.dispatch)
            return _json_response(status, body, headers)
        if self.public_routes.owns(method, path):
            return self.public_routes.handle_function_url_event(event)
        if method != "OPTIONS":
            refused = self._admit(event, caller)
            if refused is not None:
                return refused
        if event.get("isBase64Encoded") and event.get("body"):
            try:
                body = base64.b64decode(event["body"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return _json_response(400, _jsonrpc_error_body(types.PARSE_ERROR, "Parse error: invalid base64 body"))
            event = {**event, "body": body, "isBase64Encoded": False}
        with invocation_deadline(seconds_left(context)):
            return self._adapter_handle(event, context)

    def _adapter_handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The adapter's ``handle`` (parse the event, process the request, format the response) without its
        debug dumps: it formats the whole event and response as indented JSON on every call, even with its
        debug log off (:func:`quiet_payload_logs` keeps it off: the event holds the Authorization header),
        which encodes a ~90 KB ``tools/list`` answer twice more. A failure becomes a 500 "Internal error"
        without the exception's text (which the adapter would add) and is logged with its traceback.
        """
        try:
            return self.format_response(self.process_http_request(self.parse_event(event), context))
        except Exception as error:
            self.log.exception("request processing failed", extra={"error": type(error).__name__})
            failure = self.create_error_http_response(500, types.INTERNAL_ERROR, "Internal error")
            return self.format_response(failure)

    def process_http_request(self, http_request: ParsedHttpRequest, context: Any) -> HttpResponse:
        """The adapter's rules, with the JSON-RPC edge rules (:mod:`estat_aws_mcp.protocol`) and a batch plan."""
        headers = http_request.headers
        if (
            http_request.method == "POST"
            and http_request.body
            and "application/json" in (self.get_header_value(headers, "accept") or "")
            and "application/json" in (self.get_header_value(headers, "content-type") or "")
        ):
            parsed = parse_body(http_request.body)
            if not isinstance(parsed, BodyRefusal):
                parsed = (
                    invalid_request_refusal(parsed)
                    or protocol_version_refusal(self.get_header_value(headers, "mcp-protocol-version"), parsed)
                    or parsed
                )
            if isinstance(parsed, BodyRefusal):
                return self.create_error_http_response(parsed.status, parsed.code, parsed.message)
            if isinstance(parsed, list):
                self.observed.budget.plan(_batch_requests(parsed))
        return super().process_http_request(http_request, context)

    def _admit(self, event: dict[str, Any], iam: str | None) -> dict[str, Any] | None:
        """None when the gate admits the request (its caller is then logged), else the refusal to send."""
        source_ip = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
        outcome = self.gate.check(GateRequest(event.get("headers") or {}, source_ip=source_ip, iam_caller=iam))
        if isinstance(outcome, Refusal):
            self._caller_fields = {"caller": iam, "auth": outcome.reason}
            return _json_response(outcome.status, _jsonrpc_error_body(REFUSAL_CODE, outcome.message), outcome.headers)
        self._caller_fields = outcome.log_fields()
        self.observed.caller = outcome.label
        return None

    def _within_cap(self, response: dict[str, Any]) -> dict[str, Any]:
        """Last line of defence: a result over the cap becomes per-id errors, never a 502."""
        if _fits_invocation_payload(response):
            return response
        self.log.error("response over the Lambda cap after budgeting", extra={"status": response.get("statusCode")})
        try:
            parsed = json.loads(response.get("body") or "null")
        except json.JSONDecodeError:
            parsed = None
        message = "The response is larger than an AWS Lambda Function URL can return (6 MB). Ask for less."
        items = parsed if isinstance(parsed, list) else [parsed]
        errors = [
            _jsonrpc_error_body(types.INTERNAL_ERROR, message)
            | {"id": item.get("id") if isinstance(item, dict) else None}
            for item in items
        ]
        return _json_response(200, errors if isinstance(parsed, list) else errors[0])


def _build_logger(settings: Settings) -> Any:
    from aws_lambda_powertools import Logger

    service = "estat-aws-mcp"
    level = log_level(settings.log_level)  # a ConfigurationError naming ESTAT_MCP_LOG_LEVEL, not a ValueError
    log = Logger(service=service, level=level)
    # Powertools writes JSON to stdout itself; propagating would print every line again through
    # the root handler (awslambdaric's in Lambda, FastMCP's console handler elsewhere).
    logging.getLogger(service).propagate = False
    # Every estat_aws_mcp logger through the same JSON handler at the same level (the runtime leaves
    # the root logger at WARNING, which would drop the INFO audit lines of run_aws_cli).
    configure_logging(settings.log_level, handler=log.registered_handler)
    log_startup(settings.storage_uri, f"AWS Lambda ({settings.dispatch} dispatch)")
    return log


def build_request_handler(settings: Settings, server: Any = None) -> RequestHandler:
    """The dispatcher ``ESTAT_MCP_DISPATCH`` selects: in-process (default) or the adapter's stdio mode."""
    if settings.dispatch == "stdio":
        from estat_aws_mcp.lambda_handler.stdio import StdioRequestHandler

        return StdioRequestHandler()
    from estat_aws_mcp.lambda_handler.inprocess import InProcessRequestHandler

    if server is None:
        from estat_aws_mcp.tools.server import build_server

        server = build_server()
    return InProcessRequestHandler(server)


def build_function_url_handler(
    settings: Settings | None = None,
    *,
    server: Any = None,
    request_handler: RequestHandler | None = None,
    log: Any = None,
) -> FunctionUrlHandler:
    """Everything from the environment (see :mod:`estat_aws_mcp.settings`); tests may pass parts."""
    settings = settings or get_settings()
    budget_bytes = settings.lambda_response_budget_bytes or DEFAULT_RESPONSE_BUDGET_BYTES
    gate = AuthGate.from_settings(settings)
    return FunctionUrlHandler(
        request_handler or build_request_handler(settings, server),
        log=log or _build_logger(settings),
        gate=gate,
        public_routes=PublicRoutes.from_settings(settings, gate),
        budget=ResponseBudget(min(budget_bytes, DEFAULT_RESPONSE_BUDGET_BYTES)),
        dispatch=settings.dispatch,
    )
