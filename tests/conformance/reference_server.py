"""SYNTHETIC: a small MCP server with the reference tools, resources and prompts the conformance suite's
scenarios call (each scenario's description in the suite states what it expects: ``test_simple_text``,
``test://static-text``, ``test_prompt_with_arguments``…), written here from those descriptions.

Served through this project's own transports (``serve --http``'s app with its HTTP edge and auth gate,
the Lambda Function URL handler with its in-process dispatcher), it lets the suite check the transports
themselves: content types, errors, progress and log notifications, resources, templates, prompts,
logging/setLevel, completions and resource subscriptions.
"""

from __future__ import annotations

import base64
import json

import anyio
from mcp import types
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.prompts.base import UserMessage
from mcp.server.fastmcp.resources import TextResource

from estat_aws_mcp.sdk import low_level_server

# A 1×1 PNG and a 44-byte silent WAV, built here (no files).
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAV_SILENT = (
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00"
    b"data\x00\x00\x00\x00"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_reference_server() -> FastMCP:
    mcp = FastMCP("conformance-reference", stateless_http=True, json_response=True)

    @mcp.tool()
    def test_simple_text() -> str:
        """Return a simple text."""
        return "This is a simple text response for testing."

    @mcp.tool()
    def test_image_content() -> list[types.ContentBlock]:
        """Return a PNG image."""
        return [types.ImageContent(type="image", data=_b64(PNG_1X1), mimeType="image/png")]

    @mcp.tool()
    def test_audio_content() -> list[types.ContentBlock]:
        """Return a WAV sound."""
        return [types.AudioContent(type="audio", data=_b64(WAV_SILENT), mimeType="audio/wav")]

    @mcp.tool()
    def test_embedded_resource() -> list[types.ContentBlock]:
        """Return an embedded text resource."""
        resource = types.TextResourceContents(
            uri="test://embedded-resource", mimeType="text/plain", text="This is an embedded resource content."
        )
        return [types.EmbeddedResource(type="resource", resource=resource)]

    @mcp.tool()
    def test_multiple_content_types() -> list[types.ContentBlock]:
        """Return text, an image and a resource."""
        resource = types.TextResourceContents(
            uri="test://mixed-content-resource",
            mimeType="application/json",
            text=json.dumps({"test": "data", "value": 123}),
        )
        return [
            types.TextContent(type="text", text="Multiple content types test:"),
            types.ImageContent(type="image", data=_b64(PNG_1X1), mimeType="image/png"),
            types.EmbeddedResource(type="resource", resource=resource),
        ]

    @mcp.tool()
    async def test_tool_with_logging(ctx: Context) -> str:
        """Send three log messages."""
        await ctx.info("Tool execution started")
        await anyio.sleep(0.05)
        await ctx.info("Tool processing data")
        await anyio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return "Tool with logging executed"

    @mcp.tool()
    def test_error_handling() -> str:
        """Always fail."""
        raise RuntimeError("This tool intentionally returns an error for testing")

    @mcp.tool()
    async def test_tool_with_progress(ctx: Context) -> str:
        """Report progress 0, 50 and 100 of 100."""
        for step in (0, 50, 100):
            await ctx.report_progress(step, 100)
            if step < 100:
                await anyio.sleep(0.05)
        return "Tool with progress executed"

    mcp.add_resource(
        TextResource(
            uri="test://static-text",
            name="static-text",
            mime_type="text/plain",
            text="This is the content of the static text resource.",
        )
    )

    @mcp.resource("test://static-binary", mime_type="image/png")
    def static_binary() -> bytes:
        return PNG_1X1

    @mcp.resource("test://template/{id}/data", mime_type="application/json")
    def template_data(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @mcp.prompt()
    def test_simple_prompt() -> str:
        """A prompt without arguments."""
        return "This is a simple prompt for testing."

    @mcp.prompt()
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        """A prompt with two arguments."""
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @mcp.prompt()
    def test_prompt_with_embedded_resource(resourceUri: str) -> list:
        """A prompt embedding a resource."""
        resource = types.TextResourceContents(
            uri=resourceUri, mimeType="text/plain", text="Embedded resource content for testing."
        )
        return [
            UserMessage(content=types.EmbeddedResource(type="resource", resource=resource)),
            UserMessage(content=types.TextContent(type="text", text="Please process the embedded resource above.")),
        ]

    @mcp.prompt()
    def test_prompt_with_image() -> list:
        """A prompt with an image."""
        return [
            UserMessage(content=types.ImageContent(type="image", data=_b64(PNG_1X1), mimeType="image/png")),
            UserMessage(content=types.TextContent(type="text", text="Please analyze the image above.")),
        ]

    @mcp.completion()
    async def complete(ref, argument, context) -> types.Completion:
        return types.Completion(values=[], total=0, hasMore=False)

    server = low_level_server(mcp)

    @server.set_logging_level()
    async def set_level(level: types.LoggingLevel) -> None:
        return None

    @server.subscribe_resource()
    async def subscribe(uri) -> None:
        return None

    @server.unsubscribe_resource()
    async def unsubscribe(uri) -> None:
        return None

    return mcp
