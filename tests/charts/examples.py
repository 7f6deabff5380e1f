"""``make charts``: the example images of docs/charts.md, drawn through the real tools from the fake e-Stat.

    python -m tests.charts.examples [docs/images]

Starts the fake e-Stat with the SYNTHETIC prefecture table (tests/charts/synthetic.py), then in one MCP
client session (in memory, the production server): fetch_dataset_auto → load_to_iceberg →
chart_dataset once per chart kind, writing ``chart-<kind>.png``. The numbers are made up; the images show
what the tool draws, not statistics.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from pathlib import Path

import anyio

REPO_ROOT = Path(__file__).resolve().parents[2]

PREFECTURES = "area_level = '2'"  # the prefecture level (全国 is '1', municipalities '3')
EXAMPLES: dict[str, dict] = {
    "line": {
        "sql": "SELECT time_name, area_name, value FROM population WHERE cat01_code = '000' "
        "AND area_code IN ('01000', '13000', '23000', '27000', '40000') ORDER BY time_code, area_code",
        "x": "time_name",
        "y": "value",
        "series": "area_name",
        "title": "人口の推移（合成データ）",
        "x_label": "年",
        "y_label": "人口",
        "unit": "人",
    },
    "bar": {
        "sql": f"SELECT area_name, value FROM population WHERE cat01_code = '000' AND time_code = '2024000000' "
        f"AND {PREFECTURES} ORDER BY value DESC LIMIT 15",
        "x": "area_name",
        "y": "value",
        "title": "人口の多い15都道府県（2024年、合成データ）",
        "x_label": "都道府県",
        "y_label": "人口",
        "unit": "人",
    },
    "stacked_bar": {
        "sql": "SELECT time_name, cat01_name, value FROM population WHERE area_code = '13000' "
        "AND cat01_code <> '000' ORDER BY time_code, cat01_code",
        "x": "time_name",
        "y": "value",
        "series": "cat01_name",
        "title": "東京都の男女別人口（合成データ）",
        "x_label": "年",
        "y_label": "人口",
        "unit": "人",
    },
    "scatter": {
        "sql": "SELECT m.value AS male, f.value AS female FROM population m JOIN population f "
        "USING (area_code, time_code) WHERE m.cat01_code = '001' AND f.cat01_code = '002' "
        f"AND m.{PREFECTURES}",
        "x": "male",
        "y": "female",
        "title": "男性人口と女性人口（都道府県×年、合成データ）",
        "x_label": "男性人口（人）",
        "y_label": "女性人口",
        "unit": "人",
    },
    "prefecture_map": {
        "sql": f"SELECT area_code, value FROM population WHERE cat01_code = '000' AND time_code = '2024000000' "
        f"AND {PREFECTURES}",
        "x": "area_code",
        "y": "value",
        "title": "都道府県別人口（2024年、合成データ）",
        "y_label": "人口",
        "unit": "人",
    },
}


async def _draw(out_dir: Path) -> list[Path]:
    from mcp.shared.memory import create_connected_server_and_client_session

    from estat_aws_mcp.tools.server import build_server

    written = []
    async with create_connected_server_and_client_session(build_server()) as session:
        from tests.charts.synthetic import TABLE_ID

        fetched = await session.call_tool("fetch_dataset_auto", {"stats_data_id": TABLE_ID})
        assert not fetched.isError, fetched.content
        loaded = await session.call_tool(
            "load_to_iceberg",
            {"dataset_id": fetched.structuredContent["dataset_id"], "table": "population", "mode": "overwrite"},
        )
        assert not loaded.isError, loaded.content
        for kind, arguments in EXAMPLES.items():
            drawn = await session.call_tool("chart_dataset", {"kind": kind, "width": 800, "height": 480, **arguments})
            if drawn.isError:
                raise SystemExit(f"{kind}: {drawn.content[0].text}")
            image = next(c for c in drawn.content if c.type == "image")
            path = out_dir / f"chart-{kind.replace('_', '-')}.png"
            path.write_bytes(base64.b64decode(image.data))
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else REPO_ROOT / "docs" / "images"
    out_dir.mkdir(parents=True, exist_ok=True)
    from tests.charts.synthetic import add_prefecture_table
    from tests.fakes.fake_estat import FakeEstat

    app_id = "examples-app-id"
    with (
        tempfile.TemporaryDirectory(prefix="chart-examples-") as store,
        FakeEstat(app_id=app_id, fixtures_dir=REPO_ROOT / "tests" / "fixtures" / "estat") as fake,
    ):
        add_prefecture_table(fake)
        os.environ.update(
            ESTAT_API_BASE_URL=fake.base_url,
            ESTAT_APP_ID=app_id,
            ESTAT_MCP_STORAGE_URI=store,
            ESTAT_MCP_SQL_ENGINE="duckdb",
            ESTAT_MCP_LOG_LEVEL="WARNING",
        )
        for path in anyio.run(_draw, out_dir):
            print(
                f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}: {path.stat().st_size:,} bytes"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
