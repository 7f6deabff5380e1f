"""Prefecture maps need no OpenCV: the Lambda image installs japanmap without its opencv-python dependency.

japanmap declares opencv-python but imports ``cv2`` only inside ``picture()``, which the chart code never
calls (the image leaves it out: ``[tool.estat-aws-mcp.image.no-deps]`` in pyproject.toml,
tests/lambda_handler/test_image_wheels.py). This venv has opencv-python (the dev install pulls what japanmap
declares), so the drawing runs in a subprocess where ``import cv2`` fails: ``sys.modules['cv2'] = None``
before anything else is imported. The same subprocess shows the block bites (``japanmap.picture`` fails
there). Values are SYNTHETIC.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

BLOCK_CV2 = "import sys; sys.modules['cv2'] = None\n"

DRAW_A_MAP = """
import io, json

from PIL import Image

from estat_aws_mcp.charts.data import prepare
from estat_aws_mcp.charts.models import ChartRequest
from estat_aws_mcp.charts.render import render_png, title_of
from estat_aws_mcp.charts.vega import vega_lite_spec
from estat_aws_mcp.sql.result import QueryResult, ResultColumn

rows = [[f"{p:02d}000", 1000.0 + 100 * ((p * 13) % 47)] for p in range(1, 48)]  # SYNTHETIC values
result = QueryResult(
    engine="duckdb", sql="SELECT area_code, value FROM t",
    columns=[ResultColumn(name="area_code", type="varchar"), ResultColumn(name="value", type="double")],
    rows=rows, row_count=47, total_rows=47,
)
request = ChartRequest(sql="", kind="prefecture_map", x="area_code", y="value", unit="人")
data = prepare(request, result)
png = render_png(request, data)
image = Image.open(io.BytesIO(png))
colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
spec = vega_lite_spec(request, data, title_of(request, data))
features = [value for value in spec["data"]["values"] if value.get("type") == "Feature"]

import japanmap
try:
    japanmap.picture({"北海道": "blue"})
    picture = "drawn"
except ImportError as error:
    picture = f"ImportError: {error}"

try:
    import cv2  # noqa: F401
    cv2_state = "importable"
except ImportError:
    cv2_state = "blocked"

print(json.dumps({
    "format": image.format, "size": list(image.size), "requested": [request.width, request.height],
    "colours": len(colours or []),
    "features": len(features), "picture": picture, "cv2": cv2_state,
    "opencv_loaded": any(name == "cv2" or name.startswith("cv2.") for name, module in sys.modules.items()
                         if module is not None),
}))
"""


def _run(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)])}
    env.pop("MPLBACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_prefecture_map_renders_when_cv2_cannot_be_imported() -> None:
    out = _run(BLOCK_CV2 + DRAW_A_MAP)
    assert out["cv2"] == "blocked" and not out["opencv_loaded"]
    assert out["picture"].startswith("ImportError"), out  # the block bites where japanmap does use cv2
    assert out["format"] == "PNG" and out["size"] == out["requested"], out
    assert out["colours"] > 47, out  # 47 prefecture fills plus the outlines, legend and text
    assert out["features"] == 47, out
