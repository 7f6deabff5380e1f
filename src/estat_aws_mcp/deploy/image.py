"""Stage 2: build the Lambda image with docker buildx, push it to ECR and return it by digest."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from estat_aws_mcp.deploy.errors import DeployError

PLATFORMS = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}
DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
BUILD_TIMEOUT_S = 3600

Runner = Callable[..., subprocess.CompletedProcess]


def platform_for(architecture: str) -> str:
    try:
        return PLATFORMS[architecture]
    except KeyError:
        raise DeployError(f"architecture must be one of {sorted(PLATFORMS)}, not {architecture!r}") from None


def split_repository_url(repository_url: str) -> tuple[str, str]:
    """``<registry>/<repository>`` -> (registry, repository)."""
    registry, _, repository = repository_url.partition("/")
    if not registry or not repository:
        raise DeployError(f"not an ECR repository URL: {repository_url!r}")
    return registry, repository


def image_uri_by_digest(repository_url: str, digest: str) -> str:
    if not DIGEST_PATTERN.match(digest):
        raise DeployError(f"not an image digest: {digest!r}")
    return f"{repository_url}@{digest}"


@dataclass
class DockerImageBuilder:
    """Runs ``docker login`` / ``docker buildx build --push`` and checks the digest against ECR."""

    context: Path
    dockerfile: Path
    docker_bin: str = "docker"
    build_args: dict[str, str] = field(default_factory=dict)
    run: Runner = subprocess.run

    def build_command(self, image_ref: str, architecture: str, metadata_file: Path) -> list[str]:
        """The buildx command; the Dockerfile's ARCH build argument picks the base image variant."""
        command = [
            self.docker_bin,
            "buildx",
            "build",
            "--platform",
            platform_for(architecture),
            # Lambda accepts only a single-platform image manifest: no attestation manifests.
            "--provenance=false",
            "--sbom=false",
            "--file",
            str(self.dockerfile),
            "--tag",
            image_ref,
            "--metadata-file",
            str(metadata_file),
            "--push",
        ]
        for key, value in sorted({"ARCH": architecture, **self.build_args}.items()):
            command += ["--build-arg", f"{key}={value}"]
        return [*command, str(self.context)]

    def login(self, registry: str, region: str) -> None:
        """``docker login`` with an ECR token passed on stdin (never on the command line)."""
        from estat_aws_mcp.aws.clients import aws_client

        token = aws_client("ecr", region=region).get_authorization_token()["authorizationData"][0]["authorizationToken"]
        username, _, password = base64.b64decode(token).decode("utf-8").partition(":")
        self._check(
            [self.docker_bin, "login", "--username", username, "--password-stdin", registry],
            "docker login",
            input=password,
        )

    def build_and_push(self, repository_url: str, *, tag: str, architecture: str, region: str) -> str:
        registry, repository = split_repository_url(repository_url)
        self.login(registry, region)
        with tempfile.TemporaryDirectory(prefix="estat-aws-mcp-build-") as scratch:
            metadata_file = Path(scratch) / "metadata.json"
            command = self.build_command(f"{repository_url}:{tag}", architecture, metadata_file)
            self._check(command, "docker buildx build", capture=False)
            digest = read_pushed_digest(metadata_file)
        verify_pushed_digest(repository, tag, digest, region)
        return image_uri_by_digest(repository_url, digest)

    def _check(self, command: Sequence[str], what: str, *, input: str | None = None, capture: bool = True) -> None:
        try:
            completed = self.run(
                list(command),
                input=input,
                text=True,
                capture_output=capture,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            raise DeployError(f"{what}: {self.docker_bin!r} not found on PATH (install Docker)") from None
        if completed.returncode != 0:
            detail = (completed.stderr or "").strip()
            raise DeployError(
                f"{what} failed with exit code {completed.returncode}" + (f": {detail}" if detail else "")
            )


def read_pushed_digest(metadata_file: Path) -> str:
    """The manifest digest buildx wrote with ``--metadata-file`` (``containerimage.digest``)."""
    try:
        digest = json.loads(metadata_file.read_text(encoding="utf-8"))["containerimage.digest"]
    except (OSError, ValueError, KeyError) as exc:
        raise DeployError(f"docker buildx did not report the pushed image digest ({type(exc).__name__})") from None
    if not isinstance(digest, str) or not DIGEST_PATTERN.match(digest):
        raise DeployError(f"docker buildx reported an unexpected digest: {digest!r}")
    return digest


def verify_pushed_digest(repository: str, tag: str, digest: str, region: str) -> None:
    """ECR is the authority: the tag just pushed must resolve to the digest buildx reported."""
    from estat_aws_mcp.aws.clients import aws_client

    images = aws_client("ecr", region=region).describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])[
        "imageDetails"
    ]
    found = images[0]["imageDigest"] if images else None
    if found != digest:
        raise DeployError(f"ECR reports digest {found} for {repository}:{tag}, buildx reported {digest}")
