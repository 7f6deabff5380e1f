"""The allowlist (data, versioned) and the fixed denials that configuration cannot override.

The packaged ``policy.json`` allows read-only CloudWatch Logs and CloudWatch operations.
Operators extend it with ``ESTAT_MCP_AWSCLI_POLICY_FILE`` (a JSON file with the same schema,
merged in) and ``ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS`` (``service:operation`` items separated by
commas or spaces). Loading is fail-closed: if any part cannot be read or validated,
:func:`load_policy` raises and every call is denied with rule ``policy_unavailable``.

Credential-returning operations and parameters live in code (:data:`CREDENTIAL_OPERATIONS`,
:data:`CREDENTIAL_PARAMETERS`): names do not classify safety (``get-*`` reads that return
secrets), so they are listed one by one and checked before the allowlist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from estat_aws_mcp.errors import ConfigurationError

SUPPORTED_POLICY_VERSIONS = frozenset({1})
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_OPTION = re.compile(r"^--[a-z0-9][a-z0-9-]{0,99}$")

# Operations whose successful answer is a credential, a password, a token or decrypted secret
# material. Denied whatever the allowlist says (rule ``credential_operation``).
CREDENTIAL_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("sts", "get-session-token"),
        ("sts", "get-federation-token"),
        ("sts", "assume-role"),
        ("sts", "assume-role-with-saml"),
        ("sts", "assume-role-with-web-identity"),
        ("sts", "assume-root"),
        ("sts", "get-web-identity-token"),
        ("secretsmanager", "get-secret-value"),
        ("secretsmanager", "batch-get-secret-value"),
        ("secretsmanager", "get-random-password"),
        ("ecr", "get-login-password"),
        ("ecr", "get-login"),
        ("ecr", "get-authorization-token"),
        ("ecr-public", "get-login-password"),
        ("ecr-public", "get-authorization-token"),
        ("codeartifact", "get-authorization-token"),
        ("codeartifact", "login"),
        ("ec2", "get-password-data"),
        ("lightsail", "get-instance-access-details"),
        ("lightsail", "download-default-key-pair"),
        ("lightsail", "get-relational-database-master-user-password"),
        ("iam", "create-access-key"),
        ("iam", "create-service-specific-credential"),
        ("iam", "reset-service-specific-credential"),
        ("cognito-identity", "get-credentials-for-identity"),
        ("cognito-identity", "get-open-id-token"),
        ("cognito-identity", "get-open-id-token-for-developer-identity"),
        ("cognito-idp", "initiate-auth"),
        ("cognito-idp", "admin-initiate-auth"),
        ("cognito-idp", "respond-to-auth-challenge"),
        ("cognito-idp", "admin-respond-to-auth-challenge"),
        ("sso", "get-role-credentials"),
        ("sso-oidc", "create-token"),
        ("sso-oidc", "create-token-with-iam"),
        ("redshift", "get-cluster-credentials"),
        ("redshift", "get-cluster-credentials-with-iam"),
        ("redshift-serverless", "get-credentials"),
        ("rds", "generate-db-auth-token"),
        ("dsql", "generate-db-connect-auth-token"),
        ("dsql", "generate-db-connect-admin-auth-token"),
        ("eks", "get-token"),
        ("kms", "decrypt"),
        ("kms", "generate-data-key"),
        ("kms", "generate-data-key-pair"),
        ("kms", "generate-mac"),
        ("emr", "get-cluster-session-credentials"),
        ("mwaa", "create-cli-token"),
        ("mwaa", "create-web-login-token"),
        ("connect", "get-federation-token"),
        ("gamelift", "get-instance-access"),
        ("gamelift", "get-compute-access"),
        ("gamelift", "get-compute-auth-token"),
        ("glue", "get-connection"),
        ("glue", "get-connections"),
        ("lambda", "get-function"),
        ("lambda", "get-function-configuration"),
        ("iot", "create-keys-and-certificate"),
        ("ec2-instance-connect", "send-ssh-public-key"),
        ("ssm", "get-parameter-history"),
        ("s3", "presign"),
        ("cloudfront", "sign"),
    }
)

# Parameters that turn an otherwise harmless read into a credential read (rule
# ``credential_parameter``); only the option itself is denied.
CREDENTIAL_PARAMETERS: dict[tuple[str, str], dict[str, str]] = {
    ("ssm", "get-parameter"): {"--with-decryption": "returns SecureString parameters in plain text"},
    ("ssm", "get-parameters"): {"--with-decryption": "returns SecureString parameters in plain text"},
    ("ssm", "get-parameters-by-path"): {"--with-decryption": "returns SecureString parameters in plain text"},
    ("apigateway", "get-api-key"): {"--include-value": "returns the API key value"},
    ("apigateway", "get-api-keys"): {"--include-values": "returns API key values"},
}


@dataclass(frozen=True)
class OperationRule:
    """What the policy says about one allowed operation."""

    denied_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The effective allowlist: packaged policy plus operator extensions."""

    version: int
    operations: dict[tuple[str, str], OperationRule]
    sources: tuple[str, ...]

    def rule_for(self, service: str, operation: str) -> OperationRule | None:
        return self.operations.get((service, operation))

    def allows_service(self, service: str) -> bool:
        return any(svc == service for svc, _ in self.operations)


def _parse_policy_document(document: Any, source: str) -> tuple[int, dict[tuple[str, str], OperationRule]]:
    """Validate one policy document strictly; any surprise is a ConfigurationError."""
    if not isinstance(document, dict):
        raise ConfigurationError(f"awscli policy {source}: top level must be an object")
    version = document.get("version")
    if version not in SUPPORTED_POLICY_VERSIONS:
        raise ConfigurationError(f"awscli policy {source}: unsupported version {version!r}")
    unknown = set(document) - {"version", "description", "services"}
    if unknown:
        raise ConfigurationError(f"awscli policy {source}: unknown keys {sorted(unknown)}")
    services = document.get("services")
    if not isinstance(services, dict):
        raise ConfigurationError(f"awscli policy {source}: 'services' must be an object")
    operations: dict[tuple[str, str], OperationRule] = {}
    for service, service_doc in services.items():
        if not isinstance(service, str) or not _NAME.match(service):
            raise ConfigurationError(f"awscli policy {source}: bad service name {service!r}")
        if not isinstance(service_doc, dict) or set(service_doc) - {"operations"}:
            raise ConfigurationError(f"awscli policy {source}: service {service} must hold only 'operations'")
        ops = service_doc.get("operations")
        if not isinstance(ops, dict):
            raise ConfigurationError(f"awscli policy {source}: {service}.operations must be an object")
        for operation, op_doc in ops.items():
            if not isinstance(operation, str) or not _NAME.match(operation):
                raise ConfigurationError(f"awscli policy {source}: bad operation name {service}:{operation!r}")
            if not isinstance(op_doc, dict) or set(op_doc) - {"deny_parameters"}:
                raise ConfigurationError(
                    f"awscli policy {source}: {service}:{operation} may hold only 'deny_parameters'"
                )
            denied = op_doc.get("deny_parameters", {})
            if not isinstance(denied, dict) or not all(
                isinstance(k, str) and _OPTION.match(k) and isinstance(v, str) for k, v in denied.items()
            ):
                raise ConfigurationError(
                    f"awscli policy {source}: {service}:{operation}.deny_parameters must map --option to a reason"
                )
            operations[(service, operation)] = OperationRule(denied_parameters=dict(denied))
    return version, operations


def _merge(
    base: dict[tuple[str, str], OperationRule], extra: dict[tuple[str, str], OperationRule]
) -> dict[tuple[str, str], OperationRule]:
    merged = dict(base)
    for key, rule in extra.items():
        # Extensions add operations and add denies; they never remove a packaged deny.
        previous = merged.get(key)
        denied = {**(previous.denied_parameters if previous else {}), **rule.denied_parameters}
        merged[key] = OperationRule(denied_parameters=denied)
    return merged


def parse_extra_operations(spec: str) -> dict[tuple[str, str], OperationRule]:
    """``"logs:start-query, cloudwatch:get-metric-widget-image"`` -> operations (strict)."""
    operations: dict[tuple[str, str], OperationRule] = {}
    for item in re.split(r"[,\s]+", spec.strip()):
        if not item:
            continue
        service, sep, operation = item.partition(":")
        if not sep or not _NAME.match(service) or not _NAME.match(operation):
            raise ConfigurationError(
                f"ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS: {item!r} is not service:operation (e.g. logs:start-query)"
            )
        operations[(service, operation)] = OperationRule()
    return operations


def load_packaged_document() -> Any:
    text = resources.files("estat_aws_mcp.awscli").joinpath("policy.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_policy(*, policy_file: str | None = None, extra_operations: str | None = None) -> Policy:
    """Build the effective policy; raises ConfigurationError (callers deny everything) on any failure."""
    try:
        version, operations = _parse_policy_document(load_packaged_document(), "policy.json")
    except ConfigurationError:
        raise
    except Exception as exc:  # unreadable or not JSON: fail closed
        raise ConfigurationError(f"awscli policy policy.json cannot be loaded: {type(exc).__name__}") from exc
    sources = ["policy.json"]
    if policy_file:
        try:
            document = json.loads(Path(policy_file).read_text(encoding="utf-8"))
        except Exception as exc:
            raise ConfigurationError(f"ESTAT_MCP_AWSCLI_POLICY_FILE cannot be loaded ({type(exc).__name__})") from exc
        _, extra = _parse_policy_document(document, "ESTAT_MCP_AWSCLI_POLICY_FILE")
        operations = _merge(operations, extra)
        sources.append("ESTAT_MCP_AWSCLI_POLICY_FILE")
    if extra_operations:
        operations = _merge(operations, parse_extra_operations(extra_operations))
        sources.append("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS")
    return Policy(version=version, operations=operations, sources=tuple(sources))


_POLICY_ENV = frozenset({"ESTAT_MCP_AWSCLI_POLICY_FILE", "ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS"})
_policy_cache: tuple[object, Policy] | None = None


def _policy_inputs() -> object:
    """What the effective policy depends on: the two settings (any case) and the file's identity."""
    import os

    values = tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper() in _POLICY_ENV))
    file_state: object = None
    for name, value in values:
        if name == "ESTAT_MCP_AWSCLI_POLICY_FILE" and value:
            try:
                stat = os.stat(value)
                file_state = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            except OSError:
                file_state = "unreadable"
    return values, file_state


def load_policy_from_settings() -> Policy:
    """The effective policy for the current settings; re-read whenever the settings or the file change."""
    global _policy_cache
    inputs = _policy_inputs()
    cached = _policy_cache
    if cached is not None and cached[0] == inputs:
        return cached[1]
    from estat_aws_mcp.settings import get_settings

    settings = get_settings()
    policy = load_policy(policy_file=settings.awscli_policy_file, extra_operations=settings.awscli_extra_operations)
    _policy_cache = (inputs, policy)
    return policy
