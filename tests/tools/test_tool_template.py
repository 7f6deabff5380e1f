"""Every tool the server lists follows the one tool template (``estat_aws_mcp.tools.template``).

Generic on purpose: it walks ``tools/list`` of the production server through a real MCP client
session, so a tool added later is checked the moment it is registered in ``TOOL_MODULES``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from typing import Any

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import Tool

from estat_aws_mcp.tools import server as server_module
from estat_aws_mcp.tools.server import TOOL_MODULES, build_server

HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


async def _listed_tools() -> list[Tool]:
    async with create_connected_server_and_client_session(build_server()) as session:
        return (await session.list_tools()).tools


@pytest.fixture(scope="module")
def tools() -> list[Tool]:
    import anyio

    listed = anyio.run(_listed_tools)
    assert len(listed) >= 10
    return listed


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        assert ref.startswith("#/$defs/"), ref
        return root["$defs"][ref.removeprefix("#/$defs/")]
    return schema


def unbounded_parts(schema: dict[str, Any], root: dict[str, Any], path: str, seen: set[str]) -> list[str]:
    """Paths of string schemas without maxLength, arrays without maxItems, maps without maxProperties."""
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return []
        seen = seen | {ref}
    schema = _resolve(schema, root)
    problems: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(schema.get(key, [])):
            problems += unbounded_parts(option, root, f"{path}|{i}", seen)
    kind = schema.get("type")
    if kind == "string" and "maxLength" not in schema and "enum" not in schema and "const" not in schema:
        problems.append(f"{path}: string without maxLength")
    if kind == "array":
        if "maxItems" not in schema:
            problems.append(f"{path}: array without maxItems")
        if isinstance(schema.get("items"), dict):
            problems += unbounded_parts(schema["items"], root, f"{path}[]", seen)
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            problems += unbounded_parts(sub, root, f"{path}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                problems.append(f"{path}: map without maxProperties")
            names = schema.get("propertyNames", {})
            if "maxLength" not in names and "enum" not in names:
                problems.append(f"{path}: map keys without maxLength")
            problems += unbounded_parts(extra, root, f"{path}{{}}", seen)
    return problems


def test_every_tool_has_title_annotations_and_output_schema(tools: list[Tool]) -> None:
    problems = []
    for tool in tools:
        if not tool.title:
            problems.append(f"{tool.name}: no title")
        if not tool.description or len(tool.description) < 40:
            problems.append(f"{tool.name}: no real description")
        if tool.annotations is None:
            problems.append(f"{tool.name}: no annotations")
        else:
            missing = [hint for hint in HINTS if getattr(tool.annotations, hint) is None]
            if missing:
                problems.append(f"{tool.name}: annotations lack {missing}")
            if tool.annotations.readOnlyHint and tool.annotations.destructiveHint:
                problems.append(f"{tool.name}: read-only and destructive")
        if not tool.outputSchema or tool.outputSchema.get("type") != "object":
            problems.append(f"{tool.name}: no output schema")
    assert not problems, "\n".join(problems)


def test_every_input_schema_is_closed_and_bounded(tools: list[Tool]) -> None:
    problems = []
    for tool in tools:
        schema = tool.inputSchema
        if schema.get("additionalProperties") is not False:
            problems.append(f"{tool.name}: inputSchema lacks additionalProperties: false")
        problems += [f"{tool.name}: {p}" for p in unbounded_parts(schema, schema, "", set())]
    assert not problems, "\n".join(problems)


def test_the_schema_walk_finds_unbounded_parts() -> None:
    """The checker itself fails on what it must fail on (a test that cannot fail proves nothing)."""
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "c": {"anyOf": [{"$ref": "#/$defs/M"}, {"type": "null"}]},
            "d": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "$defs": {"M": {"type": "object", "properties": {"x": {"type": "string"}}}},
    }
    found = unbounded_parts(schema, schema, "", set())
    assert found == [
        ".a: string without maxLength",
        ".b: array without maxItems",
        ".c|0.x: string without maxLength",
        ".d: map without maxProperties",
        ".d: map keys without maxLength",
    ]


def test_tool_modules_follow_the_template_in_source() -> None:
    """name= and title= at registration, a description constant, no direct anyio calls, no hand copies."""
    problems = []
    for name in TOOL_MODULES:
        module = importlib.import_module(f"estat_aws_mcp.tools.{name}")
        source = inspect.getsource(module)
        tree = ast.parse(source)
        if "import anyio" in source or "anyio." in source:
            problems.append(f"{name}: calls anyio directly (use in_worker_thread)")
        if "asdict(" in source or "model_validate(vars(" in source:
            problems.append(f"{name}: copies a core result into another model")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "tool"):
                continue
            keywords = {kw.arg: kw.value for kw in node.keywords}
            for required in ("name", "title", "description", "annotations", "structured_output"):
                if required not in keywords:
                    problems.append(f"{name}: a tool registered without {required}=")
            description = keywords.get("description")
            if description is not None and not isinstance(description, ast.Name):
                problems.append(f"{name}: description must be a module constant (line {node.lineno})")
    assert not problems, "\n".join(problems)
    assert server_module.build_server.__module__ == "estat_aws_mcp.tools.server"


def automatic_titles(schema: Any, name: str | None = None, path: str = "") -> list[str]:
    """Paths of titles pydantic made up from a name (see ``template.drop_automatic_titles``)."""
    if isinstance(schema, list):
        return [p for i, item in enumerate(schema) for p in automatic_titles(item, None, f"{path}[{i}]")]
    if not isinstance(schema, dict):
        return []
    found = []
    if name is not None and schema.get("title") in {name, name.replace("_", " ").title()}:
        found.append(f"{path}.title")
    for key, value in schema.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            for child, child_schema in value.items():
                found += automatic_titles(child_schema, child, f"{path}.{key}.{child}")
        else:
            found += automatic_titles(value, None, f"{path}.{key}")
    return found


def test_schemas_carry_no_made_up_titles(tools: list[Tool]) -> None:
    """Titles that repeat a property's or a model's name cost every client ~12 KB of tools/list: gone."""
    for tool in tools:
        assert automatic_titles(tool.inputSchema, f"{tool.name}Arguments", tool.name) == []
        output = tool.outputSchema or {}
        assert automatic_titles(output, output.get("title"), tool.name) == [], tool.name
        assert tool.title and tool.inputSchema["properties"] is not None


def test_a_title_written_by_hand_stays() -> None:
    from estat_aws_mcp.tools.template import drop_automatic_titles

    schema = {
        "title": "lookupArguments",
        "properties": {
            "stats_data_id": {"title": "Stats Data Id", "type": "string"},
            "area": {"title": "Area (code or name)", "type": "string"},
        },
        "$defs": {"Range": {"title": "Range", "properties": {"from_": {"title": "From ", "type": "string"}}}},
    }
    drop_automatic_titles(schema, "lookupArguments")
    assert schema == {
        "properties": {"stats_data_id": {"type": "string"}, "area": {"title": "Area (code or name)", "type": "string"}},
        "$defs": {"Range": {"properties": {"from_": {"type": "string"}}}},
    }
