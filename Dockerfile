# estat-aws-mcp as an AWS Lambda container image: the Function URL handler
# (estat_aws_mcp.lambda_handler.handler, on the awslabs mcp_lambda adapter).
#
#   docker build -t estat-aws-mcp .                                         # x86_64
#   docker build --platform linux/arm64 --build-arg ARCH=arm64 -t estat-aws-mcp:arm64 .
#
# The same image also runs as a plain streamable-HTTP server (ECS Fargate, App Runner, Cloud Run):
#   docker run -p 8080:8080 -e PYTHONPATH=/var/task -e ESTAT_MCP_AUTH_TOKEN \
#     --entrypoint /var/task/bin/estat-aws-mcp \
#     estat-aws-mcp serve --http --host 0.0.0.0 --port 8080          # MCP at /mcp, GET /health
#   (a token or ESTAT_MCP_AUTH_MODE=oauth is required off loopback; see docs/auth.md)
#
# Base image: AWS's Lambda Python 3.12 image on Amazon Linux 2023 (glibc 2.34), pinned to release
# 3.12.2026.10.03.13 in its per-architecture variant (tag suffix -x86_64 / -arm64). Python 3.12 is the newest
# Lambda Python for which every pin has manylinux wheels on both architectures, and AL2023 is supported until 2029.
# To bump: pick a newer release tag from https://gallery.ecr.aws/lambda/python (same Python minor), change BOTH
# FROM lines, and run `make test`: tests/lambda_handler/test_image_wheels.py reads the Python version from this
# FROM line and resolves every runtime pin as wheels for manylinux_2_34 x86_64 and aarch64. To pin a digest
# instead, write `public.ecr.aws/lambda/python:<tag>@sha256:<digest>` (per architecture: see `docker buildx
# imagetools inspect public.ecr.aws/lambda/python:<tag>-<arch>`).
ARG ARCH=x86_64

FROM public.ecr.aws/lambda/python:3.12.2026.10.03.13-${ARCH} AS build
WORKDIR /build
COPY pyproject.toml constraints.txt README.md image/requirements.py ./
COPY src ./src
# Production dependencies only (no extras), at the pinned versions and as wheels only (never a source build in
# the image: the wheel-resolution test proves every pin has a wheel for this platform); then the project itself.
# requirements.py splits [project].dependencies of pyproject.toml: the packages named in
# [tool.estat-aws-mcp.image.no-deps] are installed without their dependencies (japanmap without opencv-python,
# ~290 MB it would pull in for a function we never call); the test checks what they still need is installed.
# Every module is compiled now, because Lambda's code filesystem is read-only and a missing .pyc makes each cold
# import slower; unchecked-hash .pyc stay valid whatever the layer timestamps become.
RUN python3.12 requirements.py \
    && python3.12 -m pip install --no-cache-dir --disable-pip-version-check --no-compile --only-binary=:all: \
        -c constraints.txt --target /opt/task -r runtime-requirements.txt \
    && python3.12 -m pip install --no-cache-dir --disable-pip-version-check --no-compile --only-binary=:all: \
        --no-deps -c constraints.txt --target /opt/task -r no-deps-requirements.txt \
    && python3.12 -m pip install --no-cache-dir --disable-pip-version-check --no-compile --no-deps --target /opt/task . \
    && python3.12 -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/task

FROM public.ecr.aws/lambda/python:3.12.2026.10.03.13-${ARCH}
# HOME: the AWS CLI and friends need a writable home; /tmp is the only writable place in Lambda.
ENV HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/task ${LAMBDA_TASK_ROOT}
# Lambda ignores USER (it runs the function as its own unprivileged user); the plain HTTP mode
# should not run as root either.
USER 65534:65534
# Lambda ignores HEALTHCHECK; container platforms probe GET /health on the HTTP mode themselves
# (a HEALTHCHECK here would fail in Lambda mode, where nothing listens on 8080 outside the emulator).
HEALTHCHECK NONE
CMD ["estat_aws_mcp.lambda_handler.handler"]
