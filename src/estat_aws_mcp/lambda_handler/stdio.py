"""stdio dispatch: the adapter's own ``StdioServerAdapterRequestHandler`` running ``python -m estat_aws_mcp``.

The adapter starts a new child and runs ``initialize`` for every request (about a second each),
so this mode is the compatibility path, not the fast one. Two gaps are filled here:

- the child's environment is built explicitly: without ``env=`` the MCP SDK passes only HOME,
  LOGNAME, PATH, SHELL, TERM and USER, so the child would have no AWS credentials, region,
  endpoint or settings. The bearer-token settings stay with the parent (the child never needs
  them), and HOME falls back to ``/tmp``, the only writable place in Lambda;
- the adapter answers some failures with ``id: 0``; the caller's id is put back;
- the invocation's deadline (:mod:`estat_aws_mcp.deadline`) goes to each child in its
  environment, so the child's SQL, ``run_aws_cli`` and e-Stat calls stop in time as in-process;
  a child that has not answered :data:`ANSWER_RESERVE_S` before the deadline is abandoned and the
  caller gets the same timed-out answer as in-process.

- the child's JSON-RPC errors (unknown tool or prompt ``-32602``, resource not found ``-32002``…) are
  passed on as the child sent them; the adapter turns every one into code 500 "Internal failure",
  which JSON-RPC does not define. Failures of the child itself are ``-32603``.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import McpError
from mcp_lambda import StdioServerAdapterRequestHandler

from estat_aws_mcp.deadline import CHILD_DEADLINE_ENV, child_environment_entry, time_left
from estat_aws_mcp.lambda_handler.results import timed_out_error

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Time kept before the invocation's deadline to answer when the child has not (as in-process).
ANSWER_RESERVE_S = 1.0

# Prefixes and names the server process needs; everything else stays with the parent.
_PASSED_PREFIXES = ("AWS_", "ESTAT_", "LC_", "LAMBDA_")
_PASSED_NAMES = frozenset(
    {
        "PATH",
        "LANG",
        "TZ",
        "PYTHONPATH",
        "PYTHONHOME",
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NO_PROXY",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "no_proxy",
        "https_proxy",
        "http_proxy",
        "TMPDIR",
    }
)
# The parent's concerns: the child serves stdio and never authenticates HTTP callers.
_WITHHELD = frozenset(
    {"ESTAT_MCP_AUTH_TOKEN", "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER", "ESTAT_MCP_DISPATCH", CHILD_DEADLINE_ENV}
)


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for the stdio server child: AWS, settings, locale, paths; HOME writable."""
    environ = os.environ if environ is None else environ
    env = {
        name: value
        for name, value in environ.items()
        if (name in _PASSED_NAMES or name.startswith(_PASSED_PREFIXES)) and name not in _WITHHELD
    }
    env["HOME"] = environ.get("HOME") or "/tmp"  # noqa: S108 - Lambda's only writable directory
    task_root = environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        # The image installs the package into the task root; make sure the child imports from it.
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if task_root not in paths:
            env["PYTHONPATH"] = os.pathsep.join([task_root, *paths])
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # the code filesystem is read-only
    return env


def child_command() -> tuple[str, list[str]]:
    """``python -m estat_aws_mcp`` with the interpreter (and site mode) of this process."""
    flags = ["-S"] if sys.flags.no_site else []
    return sys.executable, [*flags, "-m", "estat_aws_mcp"]


def server_parameters(environ: Mapping[str, str] | None = None) -> StdioServerParameters:
    command, args = child_command()
    environ = os.environ if environ is None else environ
    return StdioServerParameters(
        command=command, args=args, env=child_environment(environ), cwd=environ.get("LAMBDA_TASK_ROOT") or None
    )


class StdioRequestHandler(StdioServerAdapterRequestHandler):
    """The adapter's handler with an explicit child environment and the caller's id on every answer."""

    def __init__(self, server_params: StdioServerParameters | None = None) -> None:
        super().__init__(server_params or server_parameters())
        self._app_id_resolved = False

    def _pass_app_id_once(self) -> None:
        """Read the appId's SSM parameter once per container and hand the value to every child.

        Otherwise each child (one per request) would read SSM again. On failure the children keep
        the parameter name and report the problem themselves, in the tool's answer.
        """
        env = dict(self.server_params.env or {})
        if self._app_id_resolved or env.get("ESTAT_APP_ID") or not env.get("ESTAT_APP_ID_SSM_PARAMETER"):
            return
        from estat_aws_mcp.errors import ConfigurationError, UpstreamError
        from estat_aws_mcp.estat.app_id import resolve_app_id

        try:
            env["ESTAT_APP_ID"] = resolve_app_id()
        except (ConfigurationError, UpstreamError) as error:
            logger.warning("e-Stat appId not resolved in the parent: %s", error)
            return
        self.server_params = self.server_params.model_copy(update={"env": env})
        self._app_id_resolved = True

    def handle_request(self, request: types.JSONRPCRequest, context: Any) -> types.JSONRPCResponse | types.JSONRPCError:
        if request.method == "tools/call":
            self._pass_app_id_once()
        call = copy.copy(self)  # this request's parameters, without touching the shared handler
        deadline = child_environment_entry()  # this invocation's deadline, for the child
        if deadline:
            call.server_params = self.server_params.model_copy(
                update={"env": {**(self.server_params.env or {}), **deadline}}
            )
        left = time_left(ANSWER_RESERVE_S)
        if left is None:
            answer = anyio.run(call._forward, request)
        else:
            answer = _within(left, anyio.run, call._forward, request)
            if answer is None:  # the child did not answer in time: the caller still gets an answer
                logger.warning("stdio child did not answer before the invocation's deadline; abandoned")
                return timed_out_error(request, left)
        if answer.id != request.id:
            answer = answer.model_copy(update={"id": request.id})
        return answer

    async def _forward(self, request: types.JSONRPCRequest) -> types.JSONRPCResponse | types.JSONRPCError:
        """One child, ``initialize``, then ``request`` (as the adapter does); the child's JSON-RPC error is the
        answer as it is."""
        message = request.model_dump(by_alias=True, mode="json", exclude_none=True)
        outgoing = types.ClientRequest.model_validate(
            {key: message[key] for key in ("method", "params") if key in message}
        )
        try:
            async with stdio_client(self.server_params) as streams, ClientSession(*streams) as session:
                await session.initialize()
                try:
                    result = await session.send_request(outgoing, types.Result)
                except McpError as error:
                    return types.JSONRPCError(jsonrpc="2.0", id=request.id, error=error.error)
        except Exception:  # the child failed (or could not start): logged here, never its details to the caller
            logger.exception("stdio dispatch: the server child failed on %s", request.method)
            error = types.ErrorData(code=types.INTERNAL_ERROR, message="Internal error: see the function's logs")
            return types.JSONRPCError(jsonrpc="2.0", id=request.id, error=error)
        return types.JSONRPCResponse(
            jsonrpc="2.0", id=request.id, result=result.model_dump(by_alias=True, mode="json", exclude_none=True)
        )


def _within(seconds: float, fn: Callable[..., T], *args: Any) -> T | None:
    """``fn(*args)`` in a worker thread, or None if it has not returned after ``seconds`` (it is abandoned)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, fn(*args)))
        except BaseException as error:
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="stdio-dispatch", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    if not outcome:
        return None
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
