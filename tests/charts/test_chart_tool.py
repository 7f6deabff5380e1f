"""chart_dataset through real MCP client sessions: fetch (fake e-Stat) → load_to_iceberg → chart_dataset.

In memory for every kind and every refusal; then the same flow with the server as a subprocess over
stdio and over streamable HTTP (the SDK's clients), checking the image content itself: a PNG that
decodes, of the requested size, with more than one colour, and 47 distinct prefecture colours on a map.
The table is SYNTHETIC (tests/charts/synthetic.py).
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult
from PIL import Image

import estat_aws_mcp
from estat_aws_mcp.estat.credit import CREDIT_NOTICE
from tests.charts.synthetic import TABLE_ID, add_prefecture_table
from tests.estat.conftest import TEST_APP_ID, _fake_estat_server, fake_estat  # noqa: F401
from tests.fakes.fake_estat import FakeEstat
from tests.tools.test_e2e_server import STARTUP_TIMEOUT_S, http_server, http_session, server_env, stdio_session

pytestmark = pytest.mark.anyio

SRC = Path(estat_aws_mcp.__file__).resolve().parents[1]
PREFECTURES_2024 = (
    "SELECT area_code, area_name, value FROM pop WHERE cat01_code = '000' AND time_code = '2024000000' "
    "AND area_level = '2'"
)
TREND = (
    "SELECT time_name, area_name, value FROM pop WHERE cat01_code = '000' "
    "AND area_code IN ('01000', '13000', '27000', '47000') ORDER BY time_code, area_code"
)


def image_of(result: CallToolResult) -> Image.Image:
    images = [c for c in result.content if c.type == "image"]
    assert len(images) == 1 and images[0].mimeType == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(images[0].data)))


def assert_no_image(result: CallToolResult) -> str:
    assert result.isError, result
    assert not [c for c in result.content if c.type == "image"]
    return result.content[0].text


async def fetch_and_load(session: ClientSession) -> None:
    fetched = await session.call_tool("fetch_dataset_auto", {"stats_data_id": TABLE_ID})
    assert not fetched.isError, fetched.content[0].text
    dataset_id = fetched.structuredContent["dataset_id"]
    loaded = await session.call_tool("load_to_iceberg", {"dataset_id": dataset_id, "table": "pop", "mode": "overwrite"})
    assert not loaded.isError, loaded.content[0].text


async def check_charts(session: ClientSession) -> None:
    """The happy paths every transport must show."""
    line = await session.call_tool(
        "chart_dataset",
        {"sql": TREND, "kind": "line", "x": "time_name", "y": "value", "series": "area_name", "title": "人口の推移",
         "unit": "人", "width": 800, "height": 500},
    )  # fmt: skip
    assert not line.isError, line.content
    image = image_of(line)
    assert image.size == (800, 500)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 10
    summary = line.structuredContent
    assert summary["rows_plotted"] == 40 and [s["name"] for s in summary["series"]] == [
        "北海道", "東京都", "大阪府", "沖縄県",
    ]  # fmt: skip
    assert summary["series"][0]["points"] == 10 and summary["y_min"] <= summary["y_max"]
    assert summary["credit"] == CREDIT_NOTICE and "FROM" in summary["sql"]
    text = next(c.text for c in line.content if c.type == "text")
    assert CREDIT_NOTICE in text and "40 point(s)" in text

    mapped = await session.call_tool(
        "chart_dataset",
        {"sql": PREFECTURES_2024, "kind": "prefecture_map", "x": "area_code", "y": "value", "include_spec": True},
    )
    assert not mapped.isError, mapped.content
    image = image_of(mapped).convert("RGB")
    assert image.size == (1000, 600)
    assert mapped.structuredContent["rows_plotted"] == 47
    assert len(mapped.structuredContent["vega_lite"]["data"]["values"]) == 47
    assert 20_000 < mapped.structuredContent["png_bytes"] < 300_000
    from estat_aws_mcp.limits import TOOL_RESULT_BUDGET_BYTES

    assert len(mapped.model_dump_json().encode()) < TOOL_RESULT_BUDGET_BYTES  # image + text + structured + spec
    # the map's 47 prefectures: sampled at the same pixels as a local rendering of the same request
    from estat_aws_mcp.charts.data import prepare
    from estat_aws_mcp.charts.models import ChartRequest
    from estat_aws_mcp.charts.prefectures import prefecture_outlines
    from estat_aws_mcp.charts.render import build_figure
    from estat_aws_mcp.sql.result import QueryResult, ResultColumn
    from tests.charts.test_render import _interior_pixel

    spec_rows = [
        [f["properties"]["code"], f["properties"]["value"]]
        for f in mapped.structuredContent["vega_lite"]["data"]["values"]
    ]
    local = QueryResult(
        engine="duckdb", sql="", columns=[ResultColumn(name="area_code", type="varchar"), ResultColumn(name="value", type="double")],
        rows=spec_rows, row_count=47,
    )  # fmt: skip
    request = ChartRequest(sql="", kind="prefecture_map", x="area_code", y="value")
    ax = build_figure(request, prepare(request, local)).axes[0]
    colours = set()
    for outline in prefecture_outlines():
        x, y = _interior_pixel(ax, outline)
        colours.add(image.getpixel((x, 600 - y)))
    distinct_values = len({row[1] for row in spec_rows})
    assert len(colours) >= min(distinct_values, 40), len(colours)


async def check_refusals(session: ClientSession) -> None:
    """Bad input: a clear error and no image."""
    ddl = await session.call_tool("chart_dataset", {"sql": "DROP TABLE pop", "kind": "bar", "x": "a", "y": "b"})
    assert "SQL rejected [ddl]" in assert_no_image(ddl)
    unknown = await session.call_tool(
        "chart_dataset", {"sql": TREND, "kind": "line", "x": "time_name", "y": "population"}
    )
    assert "'population' is not in the query's result" in assert_no_image(unknown)
    many = await session.call_tool(
        "chart_dataset",
        {"sql": "SELECT i AS s, 1 AS x, i AS y FROM range(10000) t(i)", "kind": "line", "x": "x", "y": "y",
         "series": "s"},
    )  # fmt: skip
    assert "10,000 series" in assert_no_image(many)
    municipalities = await session.call_tool(
        "chart_dataset",
        {"sql": "SELECT area_code, value FROM pop WHERE cat01_code = '000' AND time_code = '2024000000'",
         "kind": "prefecture_map", "x": "area_code", "y": "value"},
    )  # fmt: skip
    message = assert_no_image(municipalities)
    assert "'13101' (a municipality code)" in message and "全国" in message and "area_level" in message


async def test_chart_kinds_and_refusals_in_memory(fake_estat: FakeEstat, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    monkeypatch.setenv("ESTAT_MCP_SQL_ENGINE", "duckdb")
    add_prefecture_table(fake_estat)
    from estat_aws_mcp.tools.server import build_server

    async with create_connected_server_and_client_session(build_server()) as session:
        await fetch_and_load(session)
        await check_charts(session)
        await check_refusals(session)
        for kind, args in {
            "bar": {"sql": PREFECTURES_2024, "x": "area_name", "y": "value"},
            "stacked_bar": {
                "sql": "SELECT time_name, cat01_name, value FROM pop WHERE area_code = '13000' "
                "AND cat01_code <> '000' ORDER BY time_code",
                "x": "time_name",
                "y": "value",
                "series": "cat01_name",
            },
            "scatter": {"sql": PREFECTURES_2024.replace("area_name, value", "value AS a, value * 2 AS b"),
                        "x": "a", "y": "b"},
        }.items():  # fmt: skip
            drawn = await session.call_tool("chart_dataset", {"kind": kind, **args, "width": 640, "height": 400})
            assert not drawn.isError, (kind, drawn.content)
            assert image_of(drawn).size == (640, 400)
        stray = await session.call_tool("chart_dataset", {"sql": TREND, "kind": "line", "x": "a", "y": "b", "z": 1})
        assert "does not accept the argument 'z'" in assert_no_image(stray)


# ------------------------------------------------------------------ subprocess servers (SDK over stdio and HTTP)


@pytest.fixture(scope="module")
def chart_fake(estat_fixtures_dir: Path) -> Iterator[FakeEstat]:
    with FakeEstat(app_id=TEST_APP_ID, fixtures_dir=estat_fixtures_dir) as fake:
        add_prefecture_table(fake)
        yield fake


def _env(fake: FakeEstat, tmp_path: Path) -> dict[str, str]:
    env = server_env(fake, tmp_path, app_id=TEST_APP_ID)
    env["ESTAT_MCP_LOG_LEVEL"] = "WARNING"
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


@pytest.mark.slow
async def test_chart_over_stdio(chart_fake: FakeEstat, tmp_path: Path) -> None:
    with anyio.fail_after(STARTUP_TIMEOUT_S + 120):
        async with stdio_session(_env(chart_fake, tmp_path), tmp_path / "stderr.log") as session:
            await fetch_and_load(session)
            await check_charts(session)
            await check_refusals(session)


@pytest.mark.slow
async def test_chart_over_http(chart_fake: FakeEstat, tmp_path: Path) -> None:
    with anyio.fail_after(STARTUP_TIMEOUT_S + 120):
        async with (
            http_server(_env(chart_fake, tmp_path), tmp_path / "stderr.log") as base_url,
            http_session(base_url) as session,
        ):
            await fetch_and_load(session)
            await check_charts(session)
            await check_refusals(session)


async def test_drawing_runs_off_the_event_loop(
    fake_estat: FakeEstat,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a chart is being drawn, the same server answers other requests: the drawing is held until a
    tools/list has been answered, which could never happen if it ran on the event loop (it would deadlock
    and fail_after would fail the test)."""
    import threading

    import estat_aws_mcp.charts.render as render

    monkeypatch.setenv("ESTAT_MCP_STORAGE_URI", str(tmp_path / "store"))
    listed = threading.Event()
    drawing = threading.Event()
    real = render.render_png

    def held(request, data):
        drawing.set()
        assert listed.wait(timeout=20), "tools/list was not answered while the chart was being drawn"
        return real(request, data)

    monkeypatch.setattr(render, "render_png", held)
    from estat_aws_mcp.tools.server import build_server

    async with create_connected_server_and_client_session(build_server()) as session:
        results: list[CallToolResult] = []

        async def draw() -> None:
            results.append(
                await session.call_tool(
                    "chart_dataset", {"sql": "SELECT 1 AS x, 2 AS y", "kind": "bar", "x": "x", "y": "y"}
                )
            )

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(draw)
                # tools/list is asked only once the drawing has begun (and is held), however slow the machine
                assert await anyio.to_thread.run_sync(drawing.wait, 20), "the chart was never drawn"
                assert (await session.list_tools()).tools
                listed.set()
        assert not results[0].isError, results[0].content
        assert image_of(results[0]).size == (1000, 600)
