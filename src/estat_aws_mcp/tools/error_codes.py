"""JSON-RPC error codes the MCP SDK (1.x) gets wrong in its request handlers, corrected on the one server
object every transport serves (the HTTP edge rules, e.g. unknown methods, are :mod:`estat_aws_mcp.protocol`'s).

Found with the official MCP conformance suite and protocol probes (docs/operations.md, "Conformance"):

- ``tools/call`` naming a tool that does not exist: ``-32602`` (the specification lists unknown tools under
  protocol errors; the SDK answers an ``isError`` result, which reads like the tool ran and failed);
- ``prompts/get`` of an unknown prompt or without a required argument: ``-32602`` (the SDK answers code
  ``0``, which JSON-RPC does not define);
- ``resources/read`` of a URI that matches nothing, or a dataset id that names no dataset: ``-32002``
  Resource not found, with the URI in ``data``; any other failure to read a resource: ``-32603``
  (the SDK answers code ``0``).

Installed by :func:`estat_aws_mcp.tools.server.build_server` (stdio, ``serve --http`` and the Lambda
handler's in-process dispatch all run the same low-level ``Server``).
"""

from __future__ import annotations

from typing import Any

from mcp import types
from mcp.server.fastmcp import FastMCP
from mcp.shared.exceptions import McpError

from estat_aws_mcp.errors import InputError, quote_prefix
from estat_aws_mcp.sdk import low_level_server, registered_prompt, registered_tool

RESOURCE_NOT_FOUND = -32002
#: longest error message passed on from a failing resource or prompt
MESSAGE_CHARS = 1000
_TEMPLATE_PREFIX = "Error creating resource from template: "


def _short(text: str) -> str:
    while text.startswith(_TEMPLATE_PREFIX):
        text = text[len(_TEMPLATE_PREFIX) :]
    return text if len(text) <= MESSAGE_CHARS else f"{text[:MESSAGE_CHARS]}…"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _not_found(error: BaseException) -> bool:
    return any(isinstance(link, InputError) or str(link).startswith("Unknown resource:") for link in _chain(error))


def correct_error_codes(mcp: FastMCP) -> None:
    """Wrap the low-level handlers of tools/call, prompts/get and resources/read (see the module doc)."""
    handlers = low_level_server(mcp).request_handlers
    call_tool = handlers[types.CallToolRequest]
    get_prompt = handlers[types.GetPromptRequest]
    read_resource = handlers[types.ReadResourceRequest]

    async def call_known_tool(request: types.CallToolRequest) -> Any:
        if registered_tool(mcp, request.params.name) is None:
            raise McpError(
                types.ErrorData(code=types.INVALID_PARAMS, message=f"Unknown tool: {quote_prefix(request.params.name)}")
            )
        return await call_tool(request)

    async def get_known_prompt(request: types.GetPromptRequest) -> Any:
        name = request.params.name
        prompt = registered_prompt(mcp, name)
        if prompt is None:
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message=f"Unknown prompt: {quote_prefix(name)}"))
        given = request.params.arguments or {}
        missing = [
            argument.name for argument in prompt.arguments or [] if argument.required and argument.name not in given
        ]
        if missing:
            raise McpError(
                types.ErrorData(
                    code=types.INVALID_PARAMS,
                    message=f"Prompt {name} needs the argument(s) {', '.join(missing)}",
                )
            )
        try:
            return await get_prompt(request)
        except McpError:
            raise
        except Exception as error:
            raise McpError(types.ErrorData(code=types.INTERNAL_ERROR, message=_short(str(error)))) from error

    async def read_found_resource(request: types.ReadResourceRequest) -> Any:
        try:
            return await read_resource(request)
        except McpError:
            raise
        except Exception as error:
            if _not_found(error):
                raise McpError(
                    types.ErrorData(
                        code=RESOURCE_NOT_FOUND,
                        message=_short(str(error)),
                        data={"uri": str(request.params.uri)[:MESSAGE_CHARS]},
                    )
                ) from error
            raise McpError(types.ErrorData(code=types.INTERNAL_ERROR, message=_short(str(error)))) from error

    handlers[types.CallToolRequest] = call_known_tool
    handlers[types.GetPromptRequest] = get_known_prompt
    handlers[types.ReadResourceRequest] = read_found_resource
