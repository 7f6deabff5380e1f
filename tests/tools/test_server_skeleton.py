"""The server object, the CLI and the HTTP app's health endpoint."""

from __future__ import annotations

import subprocess
import sys

from starlette.testclient import TestClient

from estat_aws_mcp.http_app import build_http_app
from estat_aws_mcp.tools.server import SERVER_NAME, build_server


def test_build_server_has_name_and_stateless_json_http() -> None:
    server = build_server()
    assert server.name == SERVER_NAME
    assert server.settings.stateless_http is True
    assert server.settings.json_response is True


def test_health_endpoint() -> None:
    with TestClient(build_http_app()) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_building_the_server_imports_no_heavy_library() -> None:
    code = (
        "import sys; from estat_aws_mcp.tools.server import build_server; build_server(); "
        "heavy = [m for m in ('pyarrow', 'duckdb', 'pyiceberg', 'awscli', 'boto3', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
