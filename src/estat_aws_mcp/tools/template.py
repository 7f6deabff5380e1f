"""The one tool template every tool module follows, and the server class that enforces its input rules.

A tool module exposes ``register(mcp)`` (listed in ``tools/server.py`` ``TOOL_MODULES``) and registers
each tool the same way::

    SUMMARY_DESCRIPTION = "What the tool does, for the model that calls it."

    def register(mcp: FastMCP) -> None:
        @mcp.tool(
            name="summarise_dataset",
            title="Summarise a dataset",
            description=SUMMARY_DESCRIPTION,
            annotations=ToolAnnotations(
                readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
            ),
            structured_output=True,
        )
        async def summarise_dataset(
            dataset_id: Annotated[str, Field(max_length=DATASET_ID_CHARS, description="...")],
        ) -> SummaryResult:                      # a pydantic model that the core function returns as is
            return await in_worker_thread(summarise, dataset_id)

Rules (``tests/tools/test_tool_template.py`` checks them on ``tools/list`` for every registered tool):

- ``name``, ``title``, a module-level description constant, and all four annotation hints stated as
  they are true for the tool (read-only tools are not destructive; ``openWorldHint`` is true when the
  tool reaches e-Stat or AWS APIs beyond the server's own store).
- Every string argument has ``max_length`` in its ``Field`` (also inside lists, dict keys and nested
  models), every list and dict a ``max_length``; error messages quote at most a short prefix of what the
  caller sent (:func:`estat_aws_mcp.errors.quote_prefix`).
- Blocking work (files, Parquet, SQL, catalogs, the AWS CLI) runs through
  :func:`estat_aws_mcp.tools.errors.in_worker_thread`, which also maps the core's
  :class:`~estat_aws_mcp.errors.EstatMcpError` to a tool error. No direct ``anyio`` calls in tools.
- The core returns the pydantic output model itself; tool modules never copy a result field by field.
- Unknown arguments are refused centrally by :class:`EstatMCP` (``additionalProperties: false`` in
  every input schema), and tool error messages are cut to :data:`MAX_ERROR_CHARS`; tool modules do
  nothing for either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import ContentBlock
from mcp.types import Tool as MCPTool
from pydantic import Field

from estat_aws_mcp.errors import quote_prefix
from estat_aws_mcp.sdk import registered_tool

#: Bounds shared by the tools' string arguments (schemas and validation).
DATASET_ID_CHARS = 64
STATS_DATA_ID_CHARS = 32
URI_CHARS = 2048
SHORT_TEXT_CHARS = 64
NAME_CHARS = 200
#: Arguments several tools take, declared once.
StatsDataIdParam = Annotated[
    str,
    Field(
        min_length=1,
        max_length=STATS_DATA_ID_CHARS,
        description="e-Stat table id (statsDataId), 10 digits, e.g. '0003445078' (search_estat_data returns it)",
    ),
]
LangParam = Annotated[
    Literal["J", "E"],
    Field(description="J: Japanese (default); E: titles and names in English where e-Stat has them."),
]
#: Unknown argument names listed in a refusal (the accepted ones are always listed in full).
_UNKNOWN_LISTED = 5
#: Longest tool error message sent; longer ones (an engine quoting a huge input back) are cut here, once
#: for every tool.
MAX_ERROR_CHARS = 3000


def strict_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The input schema as clients see it: no property beyond the declared ones."""
    return {**schema, "additionalProperties": False}


def _automatic_title(name: str) -> set[str]:
    return {name.replace("_", " ").title(), name.title().replace("_", " ")}


def drop_automatic_titles(schema: Any, name: str | None = None) -> None:
    """Remove, in place, the titles pydantic makes up from names: a property's name re-cased ("Stats Data
    Id"), a model's class name, the arguments model's ``<tool>Arguments``. They repeat what the schema
    already says, in every client's context (a tenth of ``tools/list``); a title written by hand stays."""
    if isinstance(schema, list):
        for item in schema:
            drop_automatic_titles(item)
        return
    if not isinstance(schema, dict):
        return
    title = schema.get("title")
    if isinstance(title, str) and name is not None and title in _automatic_title(name) | {name}:
        del schema["title"]
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            for property_name, property_schema in value.items():
                drop_automatic_titles(property_schema, property_name)
        elif key == "$defs" and isinstance(value, dict):
            for model_name, model_schema in value.items():
                drop_automatic_titles(model_schema, model_name)
        else:
            drop_automatic_titles(value)


class EstatMCP(FastMCP):
    """FastMCP with strict tool inputs: every input schema says ``additionalProperties: false`` and a
    call with an argument the tool does not declare is refused, naming the accepted arguments.

    (FastMCP's own argument model ignores unknown keys, so a misplaced ``filters`` or ``limit`` would
    otherwise be dropped without a word.)
    """

    def add_tool(self, fn: Any, name: str | None = None, **options: Any) -> None:
        super().add_tool(fn, name=name, **options)
        tool = registered_tool(self, name or fn.__name__)
        if tool is not None:  # once, here: tools/list then serves the schemas as they are
            drop_automatic_titles(tool.parameters, f"{tool.name}Arguments")
            output = tool.output_schema
            if output is not None:
                drop_automatic_titles(output, str(output.get("title", "")))

    async def list_tools(self) -> list[MCPTool]:
        tools = await super().list_tools()
        for tool in tools:
            tool.inputSchema = strict_input_schema(tool.inputSchema)
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Sequence[ContentBlock] | dict[str, Any]:
        accepted = await self._accepted_arguments(name)
        if accepted is not None and arguments:
            unknown = [key for key in arguments if key not in accepted]
            if unknown:
                shown = ", ".join(quote_prefix(key) for key in unknown[:_UNKNOWN_LISTED])
                more = f" and {len(unknown) - _UNKNOWN_LISTED} more" if len(unknown) > _UNKNOWN_LISTED else ""
                plural = "s" if len(unknown) > 1 else ""
                raise ToolError(
                    f"{name} does not accept the argument{plural} {shown}{more}; "
                    f"accepted arguments: {', '.join(accepted) or '(none)'}"
                )
        try:
            return await super().call_tool(name, arguments)
        except ToolError as exc:
            message = str(exc)
            if len(message) <= MAX_ERROR_CHARS:
                raise
            raise ToolError(f"{message[:MAX_ERROR_CHARS]}… (message cut: {len(message):,} characters)") from None

    async def _accepted_arguments(self, name: str) -> list[str] | None:
        for tool in await super().list_tools():
            if tool.name == name:
                return list(tool.inputSchema.get("properties", {}))
        return None  # unknown tool: FastMCP answers that
