"""Cold start: importing the handler (and building it, as the Lambda init phase does) stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# matplotlib and friends: chart_dataset imports them only when it draws (issue 13); PyJWT and
# cryptography: only the oauth auth mode (and the OAuth proxy) use them.
HEAVY = (
    "pyarrow",
    "duckdb",
    "pyiceberg",
    "awscli",
    "pandas",
    "matplotlib",
    "japanmap",
    "PIL",
    "cv2",
    "numpy",
    "jwt",
    "cryptography",
)


def test_init_phase_imports_no_heavy_library() -> None:
    code = (
        "import json, sys; import estat_aws_mcp.lambda_handler as h; h.get_function_url_handler(); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESTAT_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_under_the_lambda_runtime_the_handler_is_built_at_import() -> None:
    code = "import estat_aws_mcp.lambda_handler as h; print(h._handler is not None)"
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "True"
