"""A stand-in ``docker`` for stage 2 tests (no Docker engine here): records each call as a JSON
line in $FAKE_DOCKER_LOG (argv and stdin); ``info`` fails when $FAKE_DOCKER_NO_ENGINE is set;
``buildx build`` writes $FAKE_DOCKER_DIGEST into the --metadata-file, as buildx does."""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    argv = sys.argv[1:]
    stdin = sys.stdin.read() if argv[:1] == ["login"] else ""
    with open(os.environ["FAKE_DOCKER_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
    if argv[:1] == ["info"] and os.environ.get("FAKE_DOCKER_NO_ENGINE"):
        sys.stderr.write("Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n")
        return 1
    if argv[:2] == ["buildx", "build"]:
        metadata = argv[argv.index("--metadata-file") + 1]
        with open(metadata, "w", encoding="utf-8") as out:
            json.dump({"containerimage.digest": os.environ["FAKE_DOCKER_DIGEST"]}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
