"""Words -> a command the policy allows, resolved through awscli's own command and argument tables.

Every option must be an exact name from the global table (only ``--region``, ``--output``,
``--query`` and ``--no-paginate`` pass) or from the operation's argument table; abbreviations,
unknown options, repeated options and stray words are denied. Values are checked against the
service model where it says something (enums, integer ranges, string lengths) and never may
name a file or URL. The driver passed in is a fresh awscli ``CLIDriver`` (see :mod:`.runner`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from estat_aws_mcp.awscli.denial import Denied
from estat_aws_mcp.awscli.internals import global_options, operation_table, parser_actions, service_table
from estat_aws_mcp.awscli.lexer import split_command
from estat_aws_mcp.awscli.policy import CREDENTIAL_OPERATIONS, CREDENTIAL_PARAMETERS, Policy

# Global options a caller may use, and how many values each takes.
ALLOWED_GLOBALS: dict[str, int] = {"--region": 1, "--output": 1, "--query": 1, "--no-paginate": 0}
OUTPUT_FORMATS = ("json", "text", "table")

# Global options that escape the wall: (rule, hint). Anything else global and unlisted is denied too.
DENIED_GLOBALS: dict[str, tuple[str, str]] = {
    "--endpoint-url": ("endpoint_override", "the endpoint is set by the operator (AWS_ENDPOINT_URL), never per call"),
    "--profile": ("profile_override", "the credentials are the server's own; profiles cannot be chosen"),
    "--debug": ("debug_output", "debug logging prints request signatures and tokens"),
    "--v2-debug": ("debug_output", "migration debugging is not available"),
    "--ca-bundle": ("tls_override", "TLS settings are fixed by the operator"),
    "--no-verify-ssl": ("tls_override", "TLS verification cannot be turned off"),
    "--no-sign-request": ("unsigned_request", "requests are always signed by the server"),
    "--color": ("color_option", "output is plain text; --color is not needed"),
    "--cli-read-timeout": ("timeout_override", "timeouts are fixed by the server"),
    "--cli-connect-timeout": ("timeout_override", "timeouts are fixed by the server"),
    "--version": ("version_option", "--version prints the CLI version only; ask for an operation"),
}
DENIED_OPERATION_OPTIONS: dict[str, tuple[str, str]] = {
    "--cli-input-json": ("cli_input_json", "pass parameters as options; --cli-input-json can read files"),
    "--cli-input-yaml": ("cli_input_json", "pass parameters as options; --cli-input-yaml can read files"),
    "--generate-cli-skeleton": ("generate_cli_skeleton", "skeleton generation is not available"),
}
BUILTIN_COMMANDS = frozenset({"configure", "history", "help"})
_FILE_OR_URL = re.compile(r"^\s*(file|fileb|https?)://", re.IGNORECASE)
_COMMAND_WORD = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# Option values kept verbatim in the audit line; everything else is masked.
_AUDIT_VISIBLE_VALUES = frozenset({"--region", "--output", "--max-items", "--page-size", "--limit"})


@dataclass
class _OptionSpec:
    nargs: Any  # None (one value), 0 (flag), "*" / "+" (list)
    argument: Any = None  # awscli CLIArgument for operation options


@dataclass
class ValidatedCommand:
    """A command that passed every check; ``argv`` is what the awscli driver receives."""

    service: str
    operation: str
    argv: list[str]
    region: str | None = None
    output: str | None = None
    audit_command: str = ""
    options: dict[str, list[str]] = field(default_factory=dict)


def audit_text(words: list[str], option_names: set[str] | None = None, cap: int = 512) -> str:
    """The command for the audit log: option names kept, values masked unless harmless."""
    shown: list[str] = []
    previous: str | None = None
    for word in words:
        if word.startswith("--"):
            name, sep, value = word.partition("=")
            if sep:
                shown.append(f"{name}={value if name in _AUDIT_VISIBLE_VALUES else '***'}")
            else:
                shown.append(name)
            previous = name
            continue
        if previous is None or (option_names is not None and previous not in option_names):
            shown.append(word if re.fullmatch(r"[a-z0-9-]{1,64}", word) else "***")
        else:
            shown.append(word if previous in _AUDIT_VISIBLE_VALUES else "***")
    text = " ".join(shown)
    return text if len(text) <= cap else text[: cap - 3] + "..."


def _check_value(option: str, value: str) -> None:
    if _FILE_OR_URL.match(value):
        raise Denied(
            "file_or_url_value",
            f"{option}: values starting with file://, fileb://, http:// or https:// are not loaded; give the value itself",
        )
    if "@=" in value:
        raise Denied(
            "shorthand_file_reference", f"{option}: shorthand '@=' (load a value from a file) is not available"
        )


def _check_model_value(option: str, value: str, argument: Any) -> None:
    model = getattr(argument, "argument_model", None)
    if model is None:
        return
    shape = model.member if model.type_name == "list" and hasattr(model, "member") else model
    if model.type_name == "list" and shape.type_name not in ("string", "integer", "long"):
        return
    type_name = shape.type_name
    metadata = shape.metadata or {}
    if type_name in ("integer", "long"):
        try:
            number = int(value)
        except ValueError:
            raise Denied("invalid_value", f"{option} takes an integer") from None
        low, high = metadata.get("min"), metadata.get("max")
        if (low is not None and number < low) or (high is not None and number > high):
            raise Denied("invalid_value", f"{option} must be between {low} and {high}")
    elif type_name == "string":
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            raise Denied("invalid_value", f"{option} must be one of: {', '.join(enum[:30])}")
        high = metadata.get("max")
        if isinstance(high, int) and len(value) > high:
            raise Denied("invalid_value", f"{option} is limited to {high} characters")


def _check_global_value(option: str, value: str) -> None:
    if option == "--region" and not _REGION.match(value):
        raise Denied("invalid_region", "--region must be a region name such as ap-northeast-1")
    if option == "--output" and value not in OUTPUT_FORMATS:
        raise Denied("invalid_output", "--output must be json, text or table")
    if option == "--query":
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            jmespath.compile(value)
        except JMESPathError:
            raise Denied("invalid_query", "--query is not a valid JMESPath expression") from None


def _operation_options(operation_command: Any) -> dict[str, _OptionSpec]:
    """Option name -> spec, from the parser awscli itself builds for this operation."""
    from awscli.argparser import ArgTableArgParser

    arg_table = operation_command.arg_table
    parser = ArgTableArgParser(arg_table)
    specs: dict[str, _OptionSpec] = {}
    for action in parser_actions(parser):
        if not action.option_strings:
            specs[f"<{action.dest}>"] = _OptionSpec(nargs="positional")
        for option_string in action.option_strings:
            argument = arg_table.get(option_string[2:]) if option_string.startswith("--") else None
            specs[option_string] = _OptionSpec(nargs=action.nargs, argument=argument)
    return specs


def _service_model_operation(service_command: Any, cli_name: str) -> Any:
    from botocore import xform_name

    model = service_command.service_model
    for name in model.operation_names:
        if xform_name(name, "-") == cli_name:
            return model.operation_model(name)
    return None


def _resolve_service(driver: Any, name: str, policy: Policy) -> Any:
    from awscli.clidriver import ServiceCommand

    if name == "help":
        raise Denied("help", "help pages are not available; ask for an operation directly")
    if name in BUILTIN_COMMANDS:
        raise Denied("builtin_command", f"'{name}' is not an AWS operation")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", name):
        raise Denied("unknown_command", "expected an AWS service name such as logs or cloudwatch")
    command = service_table(driver).get(name)
    if command is None:
        raise Denied("unknown_command", f"'{name}' is not an AWS CLI service (aliases are not available)")
    if not isinstance(command, ServiceCommand):
        raise Denied(
            "custom_command", f"'{name}' is a CLI customization, not an API operation; only API operations run"
        )
    return command


def _resolve_operation(
    service: str, service_command: Any, name: str, policy: Policy
) -> tuple[Any, dict[str, _OptionSpec]]:
    from awscli.clidriver import ServiceOperation

    if (service, name) in CREDENTIAL_OPERATIONS:
        raise Denied("credential_operation", f"'{service} {name}' returns credentials or secrets and is always denied")
    if name == "help":
        raise Denied("help", "help pages are not available")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,99}", name):
        raise Denied("unknown_operation", f"expected an operation name of '{service}'")
    command = operation_table(service_command).get(name)
    if command is None:
        raise Denied("unknown_operation", f"'{name}' is not an operation of '{service}'")
    if not isinstance(command, ServiceOperation):
        raise Denied("custom_command", f"'{service} {name}' is a CLI customization, not an API operation")
    if policy.rule_for(service, name) is None:
        allowed = sorted(op for svc, op in policy.operations if svc == service)
        hint = f"'{service} {name}' is not in the allowlist"
        if allowed:
            hint += f"; allowed for {service}: {', '.join(allowed[:40])}"
        raise Denied("operation_not_allowed", hint)
    specs = _operation_options(command)
    if any(spec.nargs == "positional" for spec in specs.values()):
        # A positional argument of a model operation is an output file (s3api get-object, lambda invoke).
        raise Denied("local_file_output", f"'{service} {name}' writes its answer to a local file and is not available")
    operation_model = _service_model_operation(service_command, name)
    if operation_model is not None and (
        operation_model.has_event_stream_output or operation_model.has_streaming_output
    ):
        raise Denied("streaming_operation", f"'{service} {name}' streams its answer and is not available")
    return command, specs


def _global_names(driver: Any) -> set[str]:
    return {f"--{name}" for name in global_options(driver)}


def validate(command: object, driver: Any, policy: Policy) -> ValidatedCommand:
    """Check ``command`` completely; raise :class:`Denied` naming the first rule that fired."""
    context: dict[str, str | None] = {}
    try:
        return _validate(command, driver, policy, context)
    except Denied as denial:
        denial.service, denial.operation = context.get("service"), context.get("operation")
        raise


def _validate(command: object, driver: Any, policy: Policy, context: dict[str, str | None]) -> ValidatedCommand:
    words = split_command(command)
    if words and words[0] == "aws":
        words = words[1:]
    if not words:
        raise Denied("empty_command", "give a command such as 'aws logs describe-log-groups'")
    global_names = _global_names(driver)
    service: str | None = None
    operation: str | None = None
    service_command: Any = None
    op_specs: dict[str, _OptionSpec] = {}
    seen: dict[str, list[str]] = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word.startswith("-") and word != "-":
            if word == "--":
                raise Denied("unexpected_argument", "'--' (end of options) is not accepted")
            if not word.startswith("--"):
                raise Denied("unknown_option", "options are written in full with two dashes, e.g. --log-group-name")
            name, has_inline, inline = word.partition("=")
            if name in DENIED_GLOBALS:
                raise Denied(*DENIED_GLOBALS[name])
            if name in DENIED_OPERATION_OPTIONS:
                raise Denied(*DENIED_OPERATION_OPTIONS[name])
            spec: _OptionSpec
            if name in ALLOWED_GLOBALS:
                spec = _OptionSpec(nargs=None if ALLOWED_GLOBALS[name] else 0)
            elif name in op_specs:
                assert service is not None and operation is not None
                fixed = CREDENTIAL_PARAMETERS.get((service, operation), {})
                if name in fixed:
                    raise Denied("credential_parameter", f"{name} {fixed[name]} and is always denied")
                rule = policy.rule_for(service, operation)
                if rule is not None and name in rule.denied_parameters:
                    raise Denied(
                        "parameter_denied",
                        f"{name} is denied for {service} {operation}: {rule.denied_parameters[name]}",
                    )
                spec = op_specs[name]
            else:
                known = global_names | set(op_specs)
                if any(candidate.startswith(name) for candidate in known if candidate != name):
                    raise Denied("abbreviated_option", f"'{name}' abbreviates an option; write option names in full")
                if name in global_names:
                    raise Denied(
                        "global_option_not_allowed",
                        f"{name} is not available; global options allowed: --region, --output, --query, --no-paginate",
                    )
                if operation is None:
                    raise Denied(
                        "unknown_option", f"'{name}' is not a global option; put operation options after the operation"
                    )
                raise Denied("unknown_option", f"'{name}' is not an option of {service} {operation}")
            if name in seen:
                raise Denied("repeated_option", f"{name} is given more than once")
            values: list[str] = []
            if has_inline:
                if spec.nargs == 0:
                    raise Denied("unexpected_value", f"{name} is a flag and takes no value")
                values.append(inline)
            elif spec.nargs == 0:
                pass
            elif spec.nargs in ("*", "+"):
                while i < len(words) and not words[i].startswith("--"):
                    values.append(words[i])
                    i += 1
                if spec.nargs == "+" and not values:
                    raise Denied("missing_value", f"{name} needs at least one value")
            else:
                if i >= len(words) or words[i].startswith("--"):
                    raise Denied("missing_value", f"{name} needs a value")
                if words[i].startswith("-") and words[i] != "-":
                    raise Denied("option_like_value", f"a value starting with '-' must be written as {name}=VALUE")
                values.append(words[i])
                i += 1
            for value in values:
                _check_value(name, value)
                if name in ("--max-items", "--page-size") and not (
                    re.fullmatch(r"[0-9]{1,7}", value) and int(value) > 0
                ):
                    raise Denied("invalid_value", f"{name} takes a positive integer")
                if name in ALLOWED_GLOBALS:
                    _check_global_value(name, value)
                elif spec.argument is not None:
                    _check_model_value(name, value, spec.argument)
            seen[name] = values
            continue
        if service is None:
            context["service"] = word if _COMMAND_WORD.fullmatch(word) else None
            service_command = _resolve_service(driver, word, policy)
            service = word
        elif operation is None:
            context["operation"] = word if _COMMAND_WORD.fullmatch(word) else None
            _, op_specs = _resolve_operation(service, service_command, word, policy)
            operation = word
        elif word == "help":
            raise Denied("help", "help pages are not available")
        else:
            raise Denied(
                "unexpected_argument", "an extra word that is not an option value; quote values that contain spaces"
            )
    if service is None:
        raise Denied("missing_service", "name a service and an operation, e.g. 'logs describe-log-groups'")
    if operation is None:
        raise Denied("missing_operation", f"name an operation of '{service}'")
    region = seen.get("--region", [None])[0]
    output = seen.get("--output", [None])[0]
    return ValidatedCommand(
        service=service,
        operation=operation,
        argv=words,
        region=region,
        output=output,
        audit_command=audit_text(["aws", *words], set(seen)),
        options=seen,
    )
