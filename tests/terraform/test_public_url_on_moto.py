"""examples/public-url, really applied to moto's server: resources, no drift, NONE -> AWS_IAM in place, destroy.

Runs through the python-terraform adapter and the deployment's own stage functions. The tests of
this file share one deployment (deployed beside iam-auth's by the session fixture ``moto_stacks``)
and run in order; the last one destroys it.
"""

from __future__ import annotations

import json

import pytest

from estat_aws_mcp.settings import Settings
from tests.terraform import moto_stack
from tests.terraform.moto_stack import Stack

pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def stack(moto_stacks: dict[str, Stack]) -> Stack:
    return moto_stacks["public-url"]


def test_deploy_ran_its_stages_in_order_and_printed_the_client_configs(stack: Stack) -> None:
    (call,) = stack.builder_calls  # stage 2 got the repository that stage 1 created
    assert call["repository_url"] == stack.outputs["repository_url"]
    assert call["architecture"] == "arm64" and call["region"] == "ap-northeast-1"
    assert [m.split(":")[0] for m in stack.messages[:3]] == ["Stage 1/3", "Stage 2/3", "Stage 3/3"]
    summary = stack.messages[3]
    assert stack.outputs["mcp_endpoint"] == stack.outputs["function_url"].rstrip("/") + "/mcp"
    assert f"MCP endpoint (NONE): {stack.outputs['mcp_endpoint']}" in summary
    assert '"Authorization": "Bearer ${env:ESTAT_MCP_TOKEN}"' in summary
    assert f"claude mcp add --transport http estat {stack.outputs['mcp_endpoint']}" in summary
    assert moto_stack.AUTH_TOKEN_VALUE not in summary and moto_stack.APP_ID_VALUE not in summary


def test_function_runs_the_image_by_digest_with_its_configuration(stack: Stack) -> None:
    config = stack.client("lambda").get_function(FunctionName=stack.outputs["function_name"])
    function = config["Configuration"]
    assert config["Code"]["ImageUri"] == stack.image_uri
    assert "@sha256:" in stack.image_uri and stack.image_uri.startswith(stack.outputs["repository_url"] + "@")
    assert function["PackageType"] == "Image"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 1024
    assert function["Timeout"] == 120
    assert function["ImageConfigResponse"]["ImageConfig"]["Command"] == ["estat_aws_mcp.lambda_handler.handler"]
    assert function["Role"] == stack.outputs["role_arn"]
    concurrency = stack.client("lambda").get_function_concurrency(FunctionName=stack.outputs["function_name"])
    assert concurrency["ReservedConcurrentExecutions"] == 10


def test_environment_names_the_settings_the_server_reads(stack: Stack) -> None:
    env = stack.client("lambda").get_function_configuration(FunctionName=stack.outputs["function_name"])["Environment"][
        "Variables"
    ]
    bucket = stack.outputs["data_bucket_name"]
    assert env == {
        "ESTAT_MCP_DISPATCH": "inprocess",
        "ESTAT_MCP_LOG_LEVEL": "INFO",
        "ESTAT_APP_ID_SSM_PARAMETER": moto_stack.APP_ID_PARAMETER,
        "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER": moto_stack.AUTH_TOKEN_PARAMETER,
        "ESTAT_MCP_STORAGE_URI": f"s3://{bucket}/estat",
        "ESTAT_MCP_SQL_ENGINE": "athena",
        "ESTAT_MCP_ATHENA_WORKGROUP": stack.outputs["athena_workgroup_name"],
        "ESTAT_MCP_ATHENA_DATABASE": stack.outputs["glue_database_name"],
        "ESTAT_MCP_ATHENA_OUTPUT_LOCATION": f"s3://{bucket}/estat-athena-results/",
        "ESTAT_MCP_GLUE_DATABASE": stack.outputs["glue_database_name"],
    }
    # Every name is one the server's settings actually read (no typo can slip between the two).
    known = {field.alias for field in Settings.model_fields.values()}
    assert set(env) <= known
    settings = Settings(**env)
    assert settings.sql_engine == "athena"
    assert settings.storage_uri == f"s3://{bucket}/estat"


def test_url_is_public_buffered_and_both_invoke_permissions_exist(stack: Stack) -> None:
    url = stack.client("lambda").get_function_url_config(FunctionName=stack.outputs["function_name"])
    assert url["AuthType"] == "NONE"
    assert url["InvokeMode"] == "BUFFERED"
    assert url["FunctionUrl"] == stack.outputs["function_url"]
    moto_stack.assert_public_url_permissions(moto_stack.function_policy(stack))


def test_logs_repository_and_data_stores(stack: Stack) -> None:
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=stack.outputs["log_group_name"])["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(stack.outputs["log_group_name"], 30)]

    ecr = stack.client("ecr")
    (repository,) = ecr.describe_repositories(repositoryNames=[stack.outputs["function_name"]])["repositories"]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"]["scanOnPush"] is True
    assert (
        "imageCountMoreThan"
        in ecr.get_lifecycle_policy(repositoryName=repository["repositoryName"])["lifecyclePolicyText"]
    )

    s3 = stack.client("s3")
    bucket = stack.outputs["data_bucket_name"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    (deny,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    workgroup = stack.client("athena").get_work_group(WorkGroup=stack.outputs["athena_workgroup_name"])["WorkGroup"]
    configuration = workgroup["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["OutputLocation"] == f"s3://{bucket}/estat-athena-results/"
    assert (
        stack.client("glue").get_database(Name=stack.outputs["glue_database_name"])["Database"]["Name"] == "estat_mcp"
    )


def test_role_has_one_least_privilege_policy_per_concern(stack: Stack) -> None:
    documents = moto_stack.role_policies(stack)
    assert set(documents) == {"logs", "aws-cli-read", "data-bucket", "athena", "glue", "ssm-parameters"}
    for name, document in documents.items():
        for statement in moto_stack.statements_of(document):
            for action in moto_stack.as_list(statement["Action"]):
                assert "*" not in action, f"{name}: wildcard action {action}"

    def resources(policy: str, sid: str) -> list[str]:
        (statement,) = [s for s in moto_stack.statements_of(documents[policy]) if s["Sid"] == sid]
        return moto_stack.as_list(statement["Resource"])

    bucket = stack.outputs["data_bucket_name"]
    own_log_group = f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{stack.outputs['log_group_name']}"
    assert resources("logs", "WriteOwnLogGroup") == [f"{own_log_group}:*"]
    # run_aws_cli reads its own log group, no other (none listed in aws_cli_extra_log_group_arns).
    assert sorted(resources("aws-cli-read", "ReadLogGroups")) == [own_log_group, f"{own_log_group}:*"]
    assert sorted(resources("data-bucket", "ReadWriteOwnObjects")) == [
        f"arn:aws:s3:::{bucket}/estat-athena-results/*",
        f"arn:aws:s3:::{bucket}/estat/*",
    ]
    assert resources("athena", "QueryInOwnWorkgroup") == [
        f"arn:aws:athena:ap-northeast-1:123456789012:workgroup/{stack.outputs['athena_workgroup_name']}"
    ]
    assert "arn:aws:glue:ap-northeast-1:123456789012:table/estat_mcp/*" in resources(
        "glue", "ReadWriteOwnDatabaseTables"
    )
    assert sorted(resources("ssm-parameters", "ReadOwnParameters")) == sorted(
        [
            f"arn:aws:ssm:ap-northeast-1:123456789012:parameter{moto_stack.APP_ID_PARAMETER}",
            f"arn:aws:ssm:ap-northeast-1:123456789012:parameter{moto_stack.AUTH_TOKEN_PARAMETER}",
        ]
    )
    # Only the actions IAM cannot scope use "*", and all of them are reads.
    for name, document in documents.items():
        for statement in moto_stack.statements_of(document):
            if "*" in moto_stack.as_list(statement["Resource"]):
                assert (name, statement["Sid"]) == ("aws-cli-read", "ReadWithoutResourceLevelPermissions")


def test_aws_cli_read_permissions_match_the_run_aws_cli_allowlist(stack: Stack) -> None:
    """By default: the allowlist's actions minus the log reads IAM cannot scope to log groups."""
    document = moto_stack.role_policies(stack)["aws-cli-read"]
    granted = {a for s in moto_stack.statements_of(document) for a in moto_stack.as_list(s["Action"])}
    assert moto_stack.aws_cli_allowlist_actions() >= moto_stack.ACCOUNT_WIDE_LOG_READS
    assert granted == moto_stack.aws_cli_allowlist_actions() - moto_stack.ACCOUNT_WIDE_LOG_READS


def test_replan_shows_no_drift_and_secrets_stay_out_of_state(stack: Stack) -> None:
    assert stack.tf.plan(stack.variables()).changes is False
    state = stack.state_text()
    assert moto_stack.APP_ID_VALUE not in state
    assert moto_stack.AUTH_TOKEN_VALUE not in state


def test_plain_terraform_plan_after_make_deploy_shows_no_changes(stack: Stack) -> None:
    """make deploy recorded its variables (deploy.auto.tfvars.json): no -var needed afterwards."""
    recorded = json.loads((stack.root / "deploy.auto.tfvars.json").read_text(encoding="utf-8"))
    assert recorded["image_uri"] == stack.image_uri
    assert recorded["auth_token_ssm_parameter_name"] == moto_stack.AUTH_TOKEN_PARAMETER
    assert moto_stack.AUTH_TOKEN_VALUE not in json.dumps(recorded)
    result = moto_stack.plain_terraform(stack, "plan", "-detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr


def test_switch_to_aws_iam_in_place(stack: Stack) -> None:
    before = stack.outputs["function_url"]
    stack.options.extra_variables["authorization_type"] = "AWS_IAM"
    stack.tf.apply(stack.variables())
    url = stack.client("lambda").get_function_url_config(FunctionName=stack.outputs["function_name"])
    assert url["AuthType"] == "AWS_IAM"
    assert url["FunctionUrl"] == before  # updated in place: clients keep their URL
    moto_stack.assert_iam_only_permissions(moto_stack.function_policy(stack))


def test_destroy_removes_everything(stack: Stack) -> None:
    moto_stack.destroy_stack(stack)
    outputs = stack.outputs
    lam, iam, logs = stack.client("lambda"), stack.client("iam"), stack.client("logs")
    assert lam.list_functions()["Functions"] == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=outputs["role_arn"].rsplit("/", 1)[1])
    assert logs.describe_log_groups(logGroupNamePrefix=outputs["log_group_name"])["logGroups"] == []
    assert stack.client("ecr").describe_repositories()["repositories"] == []
    assert stack.client("s3").list_buckets()["Buckets"] == []
    assert stack.client("glue").get_databases()["DatabaseList"] == []
    workgroups = {w["Name"] for w in stack.client("athena").list_work_groups()["WorkGroups"]}
    assert outputs["athena_workgroup_name"] not in workgroups
    # The SSM parameters belong to the user (created with put-parameter), so they remain.
    names = {p["Name"] for p in stack.client("ssm").describe_parameters()["Parameters"]}
    assert names == {moto_stack.APP_ID_PARAMETER, moto_stack.AUTH_TOKEN_PARAMETER}
    assert '"resources": []' in stack.state_text()
    assert not (stack.root / "deploy.auto.tfvars.json").exists()  # make destroy leaves nothing behind
