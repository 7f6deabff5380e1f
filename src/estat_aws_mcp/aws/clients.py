"""boto3 clients with explicit timeouts and retry configuration.

botocore honours the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables, so
operators (and tests, LocalStack users) point every client at an emulator without code changes.
boto3 is imported lazily: building the MCP server must not pay for it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 30.0
DEFAULT_MAX_ATTEMPTS = 3


def client_config(
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    read_timeout: float = DEFAULT_READ_TIMEOUT_S,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    **extra: Any,
):
    """A botocore ``Config`` with explicit timeouts and the standard retry mode."""
    from botocore.config import Config

    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        **extra,
    )


@lru_cache(maxsize=1)
def _session():
    import boto3

    return boto3.session.Session()


def aws_client(service: str, *, region: str | None = None, **config: Any):
    """A boto3 client for ``service`` (one shared session; clients are thread-safe)."""
    return _session().client(service, region_name=region, config=client_config(**config))


def aws_region() -> str | None:
    """The region AWS clients will use: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else the profile's (``None``: unset)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import boto3

    return boto3.session.Session().region_name


def reset_session_cache() -> None:
    """Forget the shared session (tests that change credentials or endpoints call this)."""
    _session.cache_clear()
