"""One settings object, read from the environment.

Public environment names (documented in the README configuration table; tests and deployments rely on them):

- ``ESTAT_APP_ID``: the e-Stat application id. Secret: never logged, echoed or returned.
- ``ESTAT_APP_ID_SSM_PARAMETER``: name of an SSM SecureString holding the appId (used when
  ``ESTAT_APP_ID`` is unset).
- ``ESTAT_API_BASE_URL``: e-Stat API root, default ``https://api.e-stat.go.jp/rest/3.0/app``.
- ``ESTAT_MCP_STORAGE_URI``: dataset store, a local folder (default ``./data``) or ``s3://bucket/prefix``.
- ``ESTAT_MCP_PRESIGNED_URLS`` (default true) / ``ESTAT_MCP_PRESIGNED_URL_EXPIRES_S`` (default 900): presigned
  download links for large CSVs in S3.
- ``ESTAT_MCP_SQL_ENGINE``: ``duckdb`` (default, embedded) or ``athena``.
- ``ESTAT_MCP_ATHENA_WORKGROUP`` / ``ESTAT_MCP_ATHENA_DATABASE`` / ``ESTAT_MCP_ATHENA_OUTPUT_LOCATION``.
- ``ESTAT_MCP_SQL_TIMEOUT_S``: seconds a SQL query may run (240), capped by the Lambda's remaining time.
- ``ESTAT_MCP_SQL_MEMORY_LIMIT_MB`` / ``ESTAT_MCP_SQL_THREADS`` / ``ESTAT_MCP_SQL_MAX_CONCURRENT`` /
  ``ESTAT_MCP_SQL_SPILL_MB``: DuckDB's memory budget shared by the process's concurrent queries (default: half of
  the memory the process may use — cgroup limit, machine total, or ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` on Lambda),
  worker threads per query (default: the CPUs the process may use), queries run at once (2; each gets an equal
  share of the budget), and MB a query may spill to ``<store>/.tmp/duckdb`` (local stores only; default: the
  budget; 0 disables spilling). See :mod:`estat_aws_mcp.sql.resources`.
- ``ESTAT_MCP_GLUE_DATABASE``: Glue database used as the Iceberg namespace on AWS.
- ``ESTAT_MCP_ESTAT_CONCURRENCY``: in-flight e-Stat requests per process (default 4).
- ``ESTAT_MCP_ESTAT_TIMEOUT_S`` / ``ESTAT_MCP_ESTAT_MAX_ATTEMPTS`` / ``ESTAT_MCP_ESTAT_RETRY_BUDGET_S``: e-Stat
  per-request timeout (60), attempts per call (4) and total seconds per call including retries (120).
- ``ESTAT_MCP_DISPATCH``: Lambda dispatch mode, ``inprocess`` (default) or ``stdio``.
- ``ESTAT_MCP_AUTH_TOKEN`` / ``ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER``: optional bearer token for NONE-auth URLs.

Authentication (one gate for the Function URL and ``serve --http``, see :mod:`estat_aws_mcp.auth` and docs/auth.md):

- ``ESTAT_MCP_AUTH_MODE``: ``none``, ``token`` or ``oauth``. Unset: ``token`` when a token is configured
  (``ESTAT_MCP_AUTH_TOKEN`` / ``ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER``), else ``none``.
- ``ESTAT_MCP_AUTH_TOKEN_CACHE_S``: seconds an SSM-sourced token is trusted before SSM is read again (default
  60); a presented token that does not match triggers one early re-read at most every
  ``ESTAT_MCP_AUTH_TOKEN_MIN_REFRESH_S`` seconds (default 5).
- ``ESTAT_MCP_PUBLIC_URL``: the public base URL (MCP endpoint ``<public>/mcp``); required in oauth mode.
- ``ESTAT_MCP_OAUTH_ISSUER``: the exact ``iss`` of accepted access tokens (Cognito:
  ``https://cognito-idp.<region>.amazonaws.com/<pool id>``).
- ``ESTAT_MCP_OAUTH_JWKS_URL``: the issuer's JWKS (default: ``jwks_uri`` of the issuer's discovery document).
- ``ESTAT_MCP_OAUTH_AUDIENCE`` / ``ESTAT_MCP_OAUTH_CLIENT_IDS`` (comma-separated): a token's ``aud`` must
  contain the audience, or its ``client_id`` be one of the ids; at least one of the two is required.
- ``ESTAT_MCP_OAUTH_REQUIRED_SCOPES``: space-separated scopes every token must carry (403 otherwise).
- ``ESTAT_MCP_RATE_LIMIT_PER_MINUTE`` (0 = off, the default) / ``ESTAT_MCP_RATE_LIMIT_BURST``: requests per
  caller (OAuth ``sub``, token or source IP) to the MCP endpoint; 429 with ``Retry-After`` beyond.
- ``ESTAT_MCP_RATE_LIMIT_TABLE``: a DynamoDB table (partition key ``pk``, TTL attribute ``expires_at``) holding
  one atomic counter per caller and minute, shared by all Lambda containers; unset: ``ESTAT_MCP_OAUTH_STATE_TABLE``
  when that is set (one table for both), else in-process buckets.
- ``ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES``: Lambda response allowance (default and maximum: the 6 MB cap
  less an envelope reserve); a larger answer becomes a tool error saying how to page.
- ``ESTAT_MCP_DATASET_MAX_AGE_DAYS``: optional age limit of stored datasets in days (unset: keep them); older
  datasets and their exports are deleted before fetches and when datasets are listed.
- ``ESTAT_MCP_AWSCLI_POLICY_FILE`` / ``ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS``: extend the run_aws_cli allowlist.

OAuth authorization proxy (oauth mode with an upstream; see :mod:`estat_aws_mcp.oauth_proxy` and docs/auth.md):

- ``ESTAT_MCP_OAUTH_UPSTREAM_ISSUER``: the OpenID Provider users sign in at (found by discovery; Cognito:
  ``https://cognito-idp.<region>.amazonaws.com/<pool id>``). Set, in oauth mode, it enables the proxy.
- ``ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID``: the proxy's client at that provider (its redirect URI is
  ``<public>/callback``); ``ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_SECRET`` (local runs) or the SSM SecureString named
  by ``ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_SECRET_SSM_PARAMETER`` only for a confidential client.
- ``ESTAT_MCP_OAUTH_UPSTREAM_SCOPES``: scopes asked of the provider (default ``openid`` plus the required scopes).
- ``ESTAT_MCP_OAUTH_STATE_TABLE``: DynamoDB table (partition key ``pk``, TTL attribute ``expires_at``) for the
  proxy's short-lived state; unset: the SQLite file ``ESTAT_MCP_OAUTH_STATE_PATH`` (default
  ``<local storage>/oauth-proxy.sqlite3``).
- ``ESTAT_MCP_OAUTH_CONSENT_REMEMBER_DAYS``: how long a browser's consent to one client, redirect URI and scope
  is remembered, so that the consent page is skipped for them (default 30; 0: the page at every sign-in).

OAuth settings held in SSM parameters (see :mod:`estat_aws_mcp.auth.deferred`; the oauth Terraform example writes
them in the same apply that creates the Function URL and the Cognito app client, which the function's environment
cannot name without a dependency cycle):

- ``ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER`` / ``ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER`` /
  ``ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER``: names of SSM parameters (String or SecureString) holding
  ``ESTAT_MCP_PUBLIC_URL`` / ``ESTAT_MCP_OAUTH_CLIENT_IDS`` / ``ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID`` (a named
  parameter wins over the variable). Only in oauth mode. Read at start-up, or on first use while they do not exist
  yet (until then every request but the probes ``/health`` and ``/ready`` is refused with 503).
- ``ESTAT_MCP_SSM_SETTINGS_CACHE_S``: seconds those values are trusted before SSM is read again (default 300); a
  changed value takes effect within that bound on every warm container.

Logging and the invocation deadline:

- ``ESTAT_MCP_LOG_LEVEL``: DEBUG | INFO (default) | WARNING | ERROR | CRITICAL for every ``estat_aws_mcp``
  logger, on every transport (:mod:`estat_aws_mcp.logs`); another value is a configuration error.
- ``ESTAT_MCP_INVOCATION_DEADLINE_EPOCH``: internal, never set by hand: the Lambda parent hands its
  invocation deadline to a stdio-dispatch child (:mod:`estat_aws_mcp.deadline`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ESTAT_API_BASE_URL = "https://api.e-stat.go.jp/rest/3.0/app"
# Settings whose value may live in an SSM parameter: setting field -> the field naming that parameter.
SSM_SOURCED_SETTINGS = {
    "public_url": "public_url_ssm_parameter",
    "oauth_client_ids": "oauth_client_ids_ssm_parameter",
    "oauth_upstream_client_id": "oauth_upstream_client_id_ssm_parameter",
}


class Settings(BaseSettings):
    """Process configuration. Build with :func:`get_settings` so that tests see the current environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    estat_app_id: SecretStr | None = Field(default=None, alias="ESTAT_APP_ID")
    estat_app_id_ssm_parameter: str | None = Field(default=None, alias="ESTAT_APP_ID_SSM_PARAMETER")
    estat_api_base_url: str = Field(default=DEFAULT_ESTAT_API_BASE_URL, alias="ESTAT_API_BASE_URL")
    estat_concurrency: int = Field(default=4, ge=1, le=32, alias="ESTAT_MCP_ESTAT_CONCURRENCY")
    # e-Stat client: per-request timeout, attempts per call, and total time per call including retries.
    estat_timeout_s: float = Field(default=60.0, gt=0, alias="ESTAT_MCP_ESTAT_TIMEOUT_S")
    estat_max_attempts: int = Field(default=4, ge=1, le=10, alias="ESTAT_MCP_ESTAT_MAX_ATTEMPTS")
    estat_retry_budget_s: float = Field(default=120.0, gt=0, alias="ESTAT_MCP_ESTAT_RETRY_BUDGET_S")

    storage_uri: str = Field(default="./data", alias="ESTAT_MCP_STORAGE_URI")
    # download_csv_from_s3 on S3: a presigned GET (a bearer link) for files larger than one response.
    presigned_urls: bool = Field(default=True, alias="ESTAT_MCP_PRESIGNED_URLS")
    presigned_url_expires_s: int = Field(default=900, ge=60, le=43_200, alias="ESTAT_MCP_PRESIGNED_URL_EXPIRES_S")
    sql_engine: Literal["duckdb", "athena"] = Field(default="duckdb", alias="ESTAT_MCP_SQL_ENGINE")
    athena_workgroup: str = Field(default="primary", alias="ESTAT_MCP_ATHENA_WORKGROUP")
    athena_database: str = Field(default="estat", alias="ESTAT_MCP_ATHENA_DATABASE")
    athena_output_location: str | None = Field(default=None, alias="ESTAT_MCP_ATHENA_OUTPUT_LOCATION")
    # SQL (DuckDB or Athena): seconds a query may run, further capped by a Lambda invocation's remaining time.
    sql_timeout_s: float = Field(default=240.0, gt=0, le=3600, alias="ESTAT_MCP_SQL_TIMEOUT_S")
    glue_database: str = Field(default="estat", alias="ESTAT_MCP_GLUE_DATABASE")

    # --- SQL resources (see estat_aws_mcp.sql.resources) ---
    sql_memory_limit_mb: int | None = Field(default=None, ge=64, le=1_048_576, alias="ESTAT_MCP_SQL_MEMORY_LIMIT_MB")
    sql_threads: int | None = Field(default=None, ge=1, le=256, alias="ESTAT_MCP_SQL_THREADS")
    sql_max_concurrent: int = Field(default=2, ge=1, le=64, alias="ESTAT_MCP_SQL_MAX_CONCURRENT")
    sql_spill_mb: int | None = Field(default=None, ge=0, le=1_048_576, alias="ESTAT_MCP_SQL_SPILL_MB")
    # --- end SQL resources ---

    dispatch: Literal["inprocess", "stdio"] = Field(default="inprocess", alias="ESTAT_MCP_DISPATCH")
    auth_token: SecretStr | None = Field(default=None, alias="ESTAT_MCP_AUTH_TOKEN")
    auth_token_ssm_parameter: str | None = Field(default=None, alias="ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER")
    # --- authentication and rate limits (see estat_aws_mcp.auth) ---
    auth_mode: Literal["none", "token", "oauth"] | None = Field(default=None, alias="ESTAT_MCP_AUTH_MODE")
    auth_token_cache_s: float = Field(default=60.0, ge=0, le=3600, alias="ESTAT_MCP_AUTH_TOKEN_CACHE_S")
    auth_token_min_refresh_s: float = Field(default=5.0, ge=0, le=300, alias="ESTAT_MCP_AUTH_TOKEN_MIN_REFRESH_S")
    public_url: str | None = Field(default=None, alias="ESTAT_MCP_PUBLIC_URL")
    oauth_issuer: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_ISSUER")
    oauth_jwks_url: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_JWKS_URL")
    oauth_audience: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_AUDIENCE")
    oauth_client_ids: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_CLIENT_IDS")
    oauth_required_scopes: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_REQUIRED_SCOPES")
    rate_limit_per_minute: int = Field(default=0, ge=0, le=1_000_000, alias="ESTAT_MCP_RATE_LIMIT_PER_MINUTE")
    rate_limit_burst: int | None = Field(default=None, ge=1, le=1_000_000, alias="ESTAT_MCP_RATE_LIMIT_BURST")
    rate_limit_table: str | None = Field(default=None, alias="ESTAT_MCP_RATE_LIMIT_TABLE")
    # --- end of authentication ---
    lambda_response_budget_bytes: int | None = Field(
        default=None, ge=1024, alias="ESTAT_MCP_LAMBDA_RESPONSE_BUDGET_BYTES"
    )

    awscli_policy_file: str | None = Field(default=None, alias="ESTAT_MCP_AWSCLI_POLICY_FILE")
    awscli_extra_operations: str | None = Field(default=None, alias="ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS")

    # --- OAuth authorization proxy (see estat_aws_mcp.oauth_proxy) ---
    oauth_upstream_issuer: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_UPSTREAM_ISSUER")
    oauth_upstream_client_id: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID")
    oauth_upstream_client_secret: SecretStr | None = Field(default=None, alias="ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_SECRET")
    oauth_upstream_client_secret_ssm_parameter: str | None = Field(
        default=None, alias="ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_SECRET_SSM_PARAMETER"
    )
    oauth_upstream_scopes: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_UPSTREAM_SCOPES")
    oauth_state_table: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_STATE_TABLE")
    oauth_state_path: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_STATE_PATH")
    oauth_consent_remember_days: float = Field(default=30, ge=0, le=365, alias="ESTAT_MCP_OAUTH_CONSENT_REMEMBER_DAYS")
    # --- end of OAuth authorization proxy ---

    # --- OAuth settings held in SSM parameters (see estat_aws_mcp.auth.deferred and SSM_SOURCED_SETTINGS) ---
    public_url_ssm_parameter: str | None = Field(default=None, alias="ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER")
    oauth_client_ids_ssm_parameter: str | None = Field(default=None, alias="ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER")
    oauth_upstream_client_id_ssm_parameter: str | None = Field(
        default=None, alias="ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER"
    )
    ssm_settings_cache_s: float = Field(default=300.0, ge=0, le=3600, alias="ESTAT_MCP_SSM_SETTINGS_CACHE_S")
    # --- end of OAuth settings held in SSM parameters ---

    log_level: str = Field(default="INFO", alias="ESTAT_MCP_LOG_LEVEL")

    # --- dataset store management: optional age limit for automatic cleanup (see estat_aws_mcp.datasets.inventory)
    dataset_max_age_days: float | None = Field(default=None, gt=0, alias="ESTAT_MCP_DATASET_MAX_AGE_DAYS")

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _auth_mode_words(cls, value: object) -> object:
        # Terraform passes "" for an unset variable; mode names are case-insensitive.
        if isinstance(value, str):
            value = value.strip().lower()
            return value or None
        return value


def get_settings() -> Settings:
    """Read the settings from the current environment (cheap; no caching so tests can change env)."""
    return Settings()
