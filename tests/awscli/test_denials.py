"""A table of commands run_aws_cli must refuse, each with the rule that must fire.

The environment points AWS at a closed loopback port: a command that wrongly got through
would come back ``allowed`` with a connection error, and the test would say so.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from estat_aws_mcp.awscli.service import run_aws_cli, to_call_tool_result

FLE = "aws logs filter-log-events --log-group-name /aws/lambda/x"
DLG = "aws logs describe-log-groups"
GMD = "aws cloudwatch get-metric-data --start-time 2025-01-01T00:00:00Z --end-time 2025-01-02T00:00:00Z"

DENIALS: list[tuple[object, str]] = [
    # shell syntax outside quotes, and expansions inside double quotes
    (f"{DLG}; cat /etc/passwd", "shell_syntax"),
    (f"{DLG} | jq .", "shell_syntax"),
    (f"{DLG} && rm -rf /", "shell_syntax"),
    (f"{DLG} || true", "shell_syntax"),
    (f"{DLG} > /tmp/out", "shell_syntax"),
    (f"{DLG} < /etc/passwd", "shell_syntax"),
    (f"{DLG} 2>&1", "shell_syntax"),
    (f"{DLG} &", "shell_syntax"),
    (f"({DLG})", "shell_syntax"),
    (f"{DLG} --log-group-name-prefix $(whoami)", "shell_syntax"),
    (f"{DLG} --log-group-name-prefix `id`", "shell_syntax"),
    (f"{DLG} --log-group-name-prefix $HOME", "shell_syntax"),
    (f"{DLG} --log-group-name-prefix ${{HOME}}", "shell_syntax"),
    (f'{DLG} --log-group-name-prefix "$HOME"', "shell_syntax"),
    (f'{DLG} --log-group-name-prefix "`id`"', "shell_syntax"),
    (f'{DLG} --log-group-name-prefix "a$(id)"', "shell_syntax"),
    (f"{DLG} --log-group-name-prefix a\\ b", "shell_syntax"),
    (f"{DLG} # a comment", "shell_syntax"),
    (f"{DLG} --log-group-name-prefix ~/x", "shell_syntax"),
    # quoting
    (f"{DLG} --log-group-name-prefix 'abc", "unbalanced_quotes"),
    (f'{DLG} --log-group-name-prefix "abc', "unbalanced_quotes"),
    # control and format characters
    (f"{DLG}\nrm -rf /", "control_character"),
    (f"{DLG}\trm", "control_character"),
    (f"{DLG}\x00", "control_character"),
    (f"{DLG} --log-group-name-prefix \x1b[31mred", "control_character"),
    (f"{DLG}\r", "control_character"),
    (f"{DLG} --log-group-name-prefix a\x7fb", "control_character"),
    ("aws logs describe\u200b-log-groups", "format_character"),
    (f"{DLG} --log-group-name-prefix \u202eabc", "format_character"),
    (f"{DLG}\u2028", "format_character"),
    (f"\ufeff{DLG}", "format_character"),
    (f"{DLG} --log-group-name-prefix \u2066x\u2069", "format_character"),
    # non-string, empty and overlong input
    (5, "invalid_input"),
    (None, "invalid_input"),
    (b"aws logs describe-log-groups", "invalid_input"),
    (["aws", "logs", "describe-log-groups"], "invalid_input"),
    ({"command": DLG}, "invalid_input"),
    (3.5, "invalid_input"),
    ("", "empty_command"),
    ("   ", "empty_command"),
    ("aws", "empty_command"),
    (f"{DLG} --log-group-name-prefix " + "a" * 9000, "input_too_long"),
    (f"{DLG} " + "x " * 300, "too_many_arguments"),
    # file and URL loading (paramfile), including shorthand @=
    ("aws logs filter-log-events --log-group-name file:///etc/passwd", "file_or_url_value"),
    ("aws logs filter-log-events --log-group-name fileb:///proc/self/environ", "file_or_url_value"),
    (
        "aws logs filter-log-events --log-group-name http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "file_or_url_value",
    ),
    ("aws logs filter-log-events --log-group-name https://example.com/x", "file_or_url_value"),
    ("aws logs filter-log-events --log-group-name=file:///proc/self/environ", "file_or_url_value"),
    ("aws logs filter-log-events --log-group-name FILE:///etc/passwd", "file_or_url_value"),
    (f"{FLE} --log-stream-names a file:///etc/passwd", "file_or_url_value"),
    (f"{FLE} --filter-pattern ' file:///etc/passwd'", "file_or_url_value"),
    (f"{GMD} --metric-data-queries file:///tmp/q.json", "file_or_url_value"),
    (f"{GMD} --metric-data-queries 'Id=a,Expression@=file:///etc/passwd'", "shorthand_file_reference"),
    ("aws cloudwatch list-metrics --dimensions 'Name=a,Value@=file:///proc/self/environ'", "shorthand_file_reference"),
    ("aws cloudwatch list-metrics --dimensions Name@=fileb:///etc/hostname", "shorthand_file_reference"),
    # endpoint, profile, debug, TLS and other global escapes, anywhere in the command
    (f"{DLG} --endpoint-url http://evil.example", "endpoint_override"),
    (f"{DLG} --endpoint-url=http://127.0.0.1:9001", "endpoint_override"),
    ("aws --endpoint-url http://evil.example logs describe-log-groups", "endpoint_override"),
    ("aws logs --endpoint-url http://evil.example describe-log-groups", "endpoint_override"),
    (f"{DLG} --profile admin", "profile_override"),
    (f"{DLG} --profile=admin", "profile_override"),
    ("aws --profile admin logs describe-log-groups", "profile_override"),
    (f"{DLG} --debug", "debug_output"),
    ("aws --debug logs describe-log-groups", "debug_output"),
    (f"{DLG} --v2-debug", "debug_output"),
    (f"{DLG} --no-verify-ssl", "tls_override"),
    (f"{DLG} --ca-bundle /etc/ssl/evil.pem", "tls_override"),
    (f"{DLG} --no-sign-request", "unsigned_request"),
    (f"{DLG} --cli-read-timeout 0", "timeout_override"),
    (f"{DLG} --cli-connect-timeout=0", "timeout_override"),
    (f"{DLG} --color on", "color_option"),
    ("aws --version", "version_option"),
    (f"{DLG} --cli-input-json file:///tmp/in.json", "cli_input_json"),
    (f"{DLG} --cli-input-json '{{\"limit\": 1}}'", "cli_input_json"),
    (f"{DLG} --generate-cli-skeleton", "generate_cli_skeleton"),
    (f"{DLG} --generate-cli-skeleton=output", "generate_cli_skeleton"),
    # abbreviations (argparse would expand them)
    (f"{DLG} --endp http://evil.example", "abbreviated_option"),
    (f"{DLG} --endpoint http://evil.example", "abbreviated_option"),
    (f"{DLG} --deb", "abbreviated_option"),
    (f"{DLG} --prof admin", "abbreviated_option"),
    (f"{DLG} --reg us-east-1", "abbreviated_option"),
    (f"{DLG} --out text", "abbreviated_option"),
    (f"{DLG} --que logGroups", "abbreviated_option"),
    ("aws logs filter-log-events --log-group /aws/lambda/x", "abbreviated_option"),
    (f"{FLE} --max-item 3", "abbreviated_option"),
    (f"{FLE} --start-t 1", "abbreviated_option"),
    (f"{DLG} --no-pag", "abbreviated_option"),
    # unknown options, stray words, malformed options
    (f"{DLG} --foo bar", "unknown_option"),
    (f"{DLG} -h", "unknown_option"),
    (f"{DLG} -d", "unknown_option"),
    ("aws logs --log-group-name x filter-log-events", "unknown_option"),
    (f"{DLG} extra", "unexpected_argument"),
    (f"{DLG} --", "unexpected_argument"),
    (f"{DLG} --region us-east-1 --region us-west-2", "repeated_option"),
    (f"{FLE} --log-group-name /other", "repeated_option"),
    ("aws logs filter-log-events --log-group-name", "missing_value"),
    (f"{DLG} --region --output json", "missing_value"),
    (f"{DLG} --no-paginate=true", "unexpected_value"),
    (f"{FLE} --filter-pattern -DEBUG", "option_like_value"),
    # global option values
    (f"{DLG} --region 'us-east-1; rm'", "invalid_region"),
    (f"{DLG} --region evil.example.com", "invalid_region"),
    (f"{DLG} --region=../../x", "invalid_region"),
    (f"{DLG} --output yaml", "invalid_output"),
    (f"{DLG} --query 'logGroups['", "invalid_query"),
    # model checks
    (f"{FLE} --limit 0", "invalid_value"),
    (f"{FLE} --limit abc", "invalid_value"),
    (f"{FLE} --limit 100000", "invalid_value"),
    ("aws cloudwatch describe-alarms --state-value BROKEN", "invalid_value"),
    ("aws cloudwatch describe-alarms --alarm-types MetricAlarm Bogus", "invalid_value"),
    (f"{FLE} --max-items 0", "invalid_value"),
    (f"{FLE} --page-size -1", "option_like_value"),
    (f"{FLE} --max-items ²", "invalid_value"),
    # commands that are not service operations
    ("aws notaservice list-things", "unknown_command"),
    ("aws !sh", "unknown_command"),
    ("aws ll", "unknown_command"),
    ("aws logs not-an-operation", "unknown_operation"),
    ("aws s3 ls", "custom_command"),
    ("aws s3 cp s3://bucket/key /tmp/x", "custom_command"),
    ("aws cloudwatch wait alarm-exists", "custom_command"),
    ("aws emr ssh --cluster-id j-1 --key-pair-file k.pem", "custom_command"),
    ("aws configure list", "builtin_command"),
    ("aws configure get aws_secret_access_key", "builtin_command"),
    ("aws history list", "builtin_command"),
    ("aws help", "help"),
    ("aws logs help", "help"),
    (f"{DLG} help", "help"),
    ("aws logs", "missing_operation"),
    ("aws --region us-east-1 logs", "missing_operation"),
    ("aws --region us-east-1", "missing_service"),
    # credential-returning "reads" (never allowed, whatever the policy)
    ("aws sts get-session-token", "credential_operation"),
    ("aws sts assume-role --role-arn arn:aws:iam::1:role/x --role-session-name s", "credential_operation"),
    ("aws sts get-federation-token --name x", "credential_operation"),
    ("aws secretsmanager get-secret-value --secret-id prod/db", "credential_operation"),
    ("aws secretsmanager batch-get-secret-value --secret-id-list a", "credential_operation"),
    ("aws ecr get-login-password", "credential_operation"),
    ("aws ecr get-authorization-token", "credential_operation"),
    ("aws ecr-public get-login-password", "credential_operation"),
    ("aws ec2 get-password-data --instance-id i-0123456789abcdef0", "credential_operation"),
    ("aws codeartifact get-authorization-token --domain d", "credential_operation"),
    ("aws kms decrypt --ciphertext-blob abc", "credential_operation"),
    ("aws kms generate-data-key --key-id k", "credential_operation"),
    ("aws sso get-role-credentials --role-name r --account-id 1 --access-token t", "credential_operation"),
    ("aws redshift get-cluster-credentials --db-user u --cluster-identifier c", "credential_operation"),
    ("aws lambda get-function-configuration --function-name f", "credential_operation"),
    ("aws cognito-identity get-credentials-for-identity --identity-id x", "credential_operation"),
    ("aws lightsail get-instance-access-details --instance-name i", "credential_operation"),
    ("aws rds generate-db-auth-token --hostname h --port 5432 --username u", "credential_operation"),
    ("aws eks get-token --cluster-name c", "credential_operation"),
    ("aws iam create-access-key", "credential_operation"),
    ("aws glue get-connection --name c", "credential_operation"),
    # mutating operations in every allowed service, and services outside the allowlist
    ("aws logs delete-log-group --log-group-name x", "operation_not_allowed"),
    ("aws logs create-log-group --log-group-name x", "operation_not_allowed"),
    (
        "aws logs put-log-events --log-group-name x --log-stream-name s --log-events timestamp=1,message=m",
        "operation_not_allowed",
    ),
    ("aws logs put-retention-policy --log-group-name x --retention-in-days 1", "operation_not_allowed"),
    ("aws logs delete-retention-policy --log-group-name x", "operation_not_allowed"),
    (
        "aws logs put-subscription-filter --log-group-name x --filter-name f --filter-pattern '' --destination-arn a",
        "operation_not_allowed",
    ),
    ("aws logs put-resource-policy --policy-name p --policy-document '{}'", "operation_not_allowed"),
    ("aws logs create-export-task --log-group-name x --from 1 --to 2 --destination b", "operation_not_allowed"),
    ("aws logs put-data-protection-policy --log-group-identifier x --policy-document '{}'", "operation_not_allowed"),
    ("aws logs delete-data-protection-policy --log-group-identifier x", "operation_not_allowed"),
    (
        "aws logs put-metric-filter --log-group-name x --filter-name f --filter-pattern '' --metric-transformations a=b",
        "operation_not_allowed",
    ),
    ("aws logs tag-log-group --log-group-name x --tags a=b", "operation_not_allowed"),
    (
        "aws logs start-query --log-group-name x --start-time 1 --end-time 2 --query-string 'fields @message'",
        "operation_not_allowed",
    ),
    ("aws logs associate-kms-key --log-group-name x --kms-key-id k", "operation_not_allowed"),
    ("aws cloudwatch put-metric-data --namespace N --metric-name M --value 1", "operation_not_allowed"),
    (
        "aws cloudwatch put-metric-alarm --alarm-name a --evaluation-periods 1 --comparison-operator GreaterThanThreshold",
        "operation_not_allowed",
    ),
    ("aws cloudwatch delete-alarms --alarm-names a", "operation_not_allowed"),
    ("aws cloudwatch set-alarm-state --alarm-name a --state-value OK --state-reason r", "operation_not_allowed"),
    ("aws cloudwatch disable-alarm-actions --alarm-names a", "operation_not_allowed"),
    ("aws cloudwatch enable-alarm-actions --alarm-names a", "operation_not_allowed"),
    ("aws cloudwatch put-dashboard --dashboard-name d --dashboard-body '{}'", "operation_not_allowed"),
    ("aws cloudwatch delete-dashboards --dashboard-names d", "operation_not_allowed"),
    ("aws cloudwatch tag-resource --resource-arn a --tags Key=k,Value=v", "operation_not_allowed"),
    ("aws cloudwatch put-composite-alarm --alarm-name a --alarm-rule 'ALARM(x)'", "operation_not_allowed"),
    ("aws cloudwatch get-metric-widget-image --metric-widget '{}'", "operation_not_allowed"),
    ("aws s3api list-buckets", "operation_not_allowed"),
    ("aws iam list-users", "operation_not_allowed"),
    ("aws dynamodb scan --table-name t", "operation_not_allowed"),
    ("aws ssm get-parameter --name /prod/db --with-decryption", "operation_not_allowed"),
    ("aws lambda invoke --function-name f /tmp/out", "operation_not_allowed"),
    # per-operation parameter denies from the policy
    (f"{FLE} --unmask", "parameter_denied"),
    ("aws logs filter-log-events --unmask --log-group-name x", "parameter_denied"),
    ("aws logs get-log-events --log-group-name x --log-stream-name s --unmask", "parameter_denied"),
    ("aws logs get-log-record --log-record-pointer p --unmask", "parameter_denied"),
]


@pytest.fixture(autouse=True)
def unreachable_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials and a closed loopback endpoint: nothing here may reach AWS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEDENIALTESTS01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-denial-tests-0000000000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("ESTAT_MCP_AWSCLI_POLICY_FILE", raising=False)
    monkeypatch.delenv("ESTAT_MCP_AWSCLI_EXTRA_OPERATIONS", raising=False)
    yield


def test_table_is_large_and_covers_every_class() -> None:
    assert len(DENIALS) >= 100
    rules = {rule for _, rule in DENIALS}
    for required in (
        "shell_syntax",
        "file_or_url_value",
        "shorthand_file_reference",
        "endpoint_override",
        "profile_override",
        "debug_output",
        "abbreviated_option",
        "credential_operation",
        "operation_not_allowed",
        "input_too_long",
        "invalid_input",
        "control_character",
        "format_character",
    ):
        assert required in rules


@pytest.mark.parametrize(("command", "rule"), DENIALS, ids=[f"{i:03d}-{r}" for i, (_, r) in enumerate(DENIALS)])
def test_denied_with_rule(command: object, rule: str) -> None:
    result = run_aws_cli(command)
    assert (result.decision, result.rule) == ("denied", rule), result.to_dict()
    assert result.hint
    assert result.output == "" and result.stderr == "" and result.exit_status is None
    answer = to_call_tool_result(result)
    assert answer.isError is True
    assert answer.structuredContent["decision"] == "denied"
    assert answer.structuredContent["rule"] == rule


def test_denial_never_says_whether_a_path_exists() -> None:
    existing = run_aws_cli("aws logs filter-log-events --log-group-name file:///etc/passwd")
    missing = run_aws_cli("aws logs filter-log-events --log-group-name file:///no/such/file")
    assert existing.hint == missing.hint
    assert "root:" not in existing.hint
