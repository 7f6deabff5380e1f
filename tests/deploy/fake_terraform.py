"""A stand-in ``terraform`` executable for command-line tests of the adapter.

It records each invocation (argv, working folder, the contents of any -var-file, and the
environment variables the adapter promises to set) as one JSON line in $FAKE_TF_LOG, then exits
with the code in $FAKE_TF_EXIT_<SUBCOMMAND> (default 0). ``output -json`` prints $FAKE_TF_OUTPUTS.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    argv = sys.argv[1:]
    subcommand = argv[0] if argv else ""
    var_files = {}
    for arg in argv:
        if arg.startswith("-var-file="):
            path = arg.split("=", 1)[1]
            var_files[path] = json.loads(Path(path).read_text(encoding="utf-8"))
    record = {
        "argv": argv,
        "cwd": os.getcwd(),
        "var_files": list(var_files.values()),
        "env": {key: os.environ.get(key) for key in ("CHECKPOINT_DISABLE", "TF_IN_AUTOMATION", "TF_CLI_CONFIG_FILE")},
    }
    with open(os.environ["FAKE_TF_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    if subcommand == "output":
        sys.stdout.write(os.environ.get("FAKE_TF_OUTPUTS", "{}"))
    code = int(os.environ.get(f"FAKE_TF_EXIT_{subcommand.upper()}", "0"))
    if code not in (0, 2):
        sys.stderr.write(f"Error: fake {subcommand} failure\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
