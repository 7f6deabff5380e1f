"""chart_dataset with the Athena engine (moto server): the same guard, the transpiled Trino SQL sent to
Athena, and the image drawn from Athena's typed result.

moto's Athena executes nothing: the result is queued through moto's documented endpoint (as in
tests/sql/test_athena_engine.py), so this proves the path (guard → Athena API → result mapping →
drawing), not query semantics, which DuckDB tests cover. Values are SYNTHETIC.
"""

from __future__ import annotations

import base64
import io

import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from PIL import Image

from estat_aws_mcp.aws.clients import aws_client
from tests.sql.test_athena_engine import athena_settings, queue_athena_result  # noqa: F401

pytestmark = pytest.mark.anyio


async def test_a_prefecture_map_from_athena(athena_settings, aws_env) -> None:  # noqa: F811
    from estat_aws_mcp.tools.server import build_server

    queue_athena_result(
        aws_env.url,
        [("area_code", "varchar"), ("value", "double")],
        [[f"{p:02d}000", str(1000 + 37 * p)] for p in range(1, 48)],
    )
    async with create_connected_server_and_client_session(build_server()) as session:
        drawn = await session.call_tool(
            "chart_dataset",
            {
                "sql": "SELECT area_code, value::DOUBLE AS value FROM population WHERE area_level = '2'",
                "kind": "prefecture_map",
                "x": "area_code",
                "y": "value",
                "width": 600,
                "height": 400,
            },
        )
        assert not drawn.isError, drawn.content
        image = next(c for c in drawn.content if c.type == "image")
        assert Image.open(io.BytesIO(base64.b64decode(image.data))).size == (600, 400)
        summary = drawn.structuredContent
        assert summary["engine"] == "athena" and summary["rows_plotted"] == 47
        assert summary["y_min"] == 1037 and summary["y_max"] == 1000 + 37 * 47
        # Athena was sent the guarded query, transpiled to Trino (no DuckDB '::' cast)
        assert "CAST(value AS DOUBLE)" in summary["sql"] and "::" not in summary["sql"]
        executions = aws_client("athena").list_query_executions()["QueryExecutionIds"]
        assert len(executions) == 1

        refused = await session.call_tool(
            "chart_dataset", {"sql": "DROP TABLE population", "kind": "bar", "x": "a", "y": "b"}
        )
        assert refused.isError and "SQL rejected [ddl]" in refused.content[0].text
        assert not [c for c in refused.content if c.type == "image"]
        assert len(aws_client("athena").list_query_executions()["QueryExecutionIds"]) == 1  # nothing reached Athena
