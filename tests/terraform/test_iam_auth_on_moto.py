"""examples/iam-auth, really applied to moto's server (AWS data backends off, run_aws_cli's wider log
reads on): AWS_IAM URL, the caller policy, no drift, AWS_IAM -> NONE in place, destroy with plain
terraform and no variables.

Shares the session deployment of ``moto_stacks``; the tests run in order and the last destroys it.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from estat_aws_mcp.deploy import flow
from tests.terraform import moto_stack
from tests.terraform.moto_stack import Stack

pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def stack(moto_stacks: dict[str, Stack]) -> Stack:
    return moto_stacks["iam-auth"]


def test_url_requires_iam_and_nothing_public_can_invoke(stack: Stack) -> None:
    url = stack.client("lambda").get_function_url_config(FunctionName=stack.outputs["function_name"])
    assert url["AuthType"] == "AWS_IAM"
    assert url["InvokeMode"] == "BUFFERED"
    moto_stack.assert_iam_only_permissions(moto_stack.function_policy(stack))
    config = json.loads(stack.outputs["cursor_config"])["mcpServers"]["estat"]
    assert config["args"] == [
        "mcp-proxy-for-aws@latest",
        stack.outputs["mcp_endpoint"],
        "--service",
        "lambda",
        "--region",
        "ap-northeast-1",
    ]


def test_caller_policy_grants_both_invoke_actions_on_this_function_only(stack: Stack) -> None:
    iam = stack.client("iam")
    arn = stack.outputs["invoke_policy_arn"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    by_action = {s["Action"]: s for s in moto_stack.statements_of(document)}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    for statement in by_action.values():
        assert statement["Resource"] == stack.outputs["function_arn"]
    assert by_action["lambda:InvokeFunctionUrl"]["Condition"] == {
        "StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}
    }
    assert by_action["lambda:InvokeFunction"]["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}


def test_data_backends_off_means_embedded_engines_and_no_data_permissions(stack: Stack) -> None:
    env = stack.client("lambda").get_function_configuration(FunctionName=stack.outputs["function_name"])["Environment"][
        "Variables"
    ]
    assert env == {
        "ESTAT_MCP_DISPATCH": "inprocess",
        "ESTAT_MCP_LOG_LEVEL": "INFO",
        "ESTAT_APP_ID_SSM_PARAMETER": moto_stack.APP_ID_PARAMETER,
        "ESTAT_MCP_STORAGE_URI": "/tmp/estat-data",
        "ESTAT_MCP_SQL_ENGINE": "duckdb",
    }
    assert set(moto_stack.role_policies(stack)) == {"logs", "aws-cli-read", "ssm-parameters"}
    assert stack.outputs.get("data_bucket_name") is None  # null outputs are omitted
    assert stack.client("s3").list_buckets()["Buckets"] == []
    assert stack.client("glue").get_databases()["DatabaseList"] == []
    code = stack.client("lambda").get_function(FunctionName=stack.outputs["function_name"])["Code"]
    assert code["ImageUri"] == stack.image_uri
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=stack.outputs["log_group_name"])["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(stack.outputs["log_group_name"], 30)]


def test_listed_log_groups_and_account_wide_reads_widen_run_aws_cli_on_request(stack: Stack) -> None:
    document = moto_stack.role_policies(stack)["aws-cli-read"]
    granted = {a for s in moto_stack.statements_of(document) for a in moto_stack.as_list(s["Action"])}
    assert granted == moto_stack.aws_cli_allowlist_actions()
    (log_groups,) = [s for s in moto_stack.statements_of(document) if s["Sid"] == "ReadLogGroups"]
    own = f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{stack.outputs['log_group_name']}"
    assert sorted(moto_stack.as_list(log_groups["Resource"])) == sorted([own, f"{own}:*", moto_stack.OTHER_LOG_GROUP])


def test_replan_shows_no_drift_and_the_app_id_stays_out_of_state(stack: Stack) -> None:
    assert stack.tf.plan(stack.variables()).changes is False
    assert moto_stack.APP_ID_VALUE not in stack.state_text()


def test_switch_to_none_and_a_new_image_are_in_place_updates(stack: Stack) -> None:
    """One apply, as `make deploy` does after a new push: the new digest and the auth switch both
    update the existing function and URL (same ARN, same URL) instead of replacing them."""
    lam = stack.client("lambda")
    before_url = stack.outputs["function_url"]
    before_arn = lam.get_function(FunctionName=stack.outputs["function_name"])["Configuration"]["FunctionArn"]
    new_digest = "sha256:" + hashlib.sha256(b"the next image").hexdigest()
    stack.image_uri = f"{stack.outputs['repository_url']}@{new_digest}"
    stack.options.extra_variables["authorization_type"] = "NONE"
    flow.stage_service(stack.tf, stack.options, stack.image_uri)  # stage 3, as make deploy runs it

    function = lam.get_function(FunctionName=stack.outputs["function_name"])
    assert function["Code"]["ImageUri"] == stack.image_uri
    assert function["Configuration"]["FunctionArn"] == before_arn
    url = lam.get_function_url_config(FunctionName=stack.outputs["function_name"])
    assert url["AuthType"] == "NONE"
    assert url["FunctionUrl"] == before_url
    moto_stack.assert_public_url_permissions(moto_stack.function_policy(stack))
    outputs = stack.tf.outputs()
    assert outputs["image_uri"] == stack.image_uri
    assert json.loads(outputs["cursor_config"]) == {"mcpServers": {"estat": {"url": outputs["mcp_endpoint"]}}}


def test_plain_terraform_plans_and_destroys_with_no_variables(stack: Stack) -> None:
    """What a user types after make deploy. Even without the recorded variables, `plan -destroy`
    passes the provider's validation (the module's destroy-only image placeholder)."""
    recorded = stack.root / flow.RECORDED_VARIABLES_FILE
    assert moto_stack.plain_terraform(stack, "plan", "-detailed-exitcode").returncode == 0
    hidden = recorded.rename(recorded.with_suffix(".hidden"))
    try:
        result = moto_stack.plain_terraform(stack, "plan", "-destroy")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "module.estat_mcp.aws_lambda_function.this will be destroyed" in result.stdout
    finally:
        hidden.rename(recorded)
    result = moto_stack.plain_terraform(stack, "destroy", "-auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    stack.destroyed = True


def test_destroy_removed_everything(stack: Stack) -> None:
    assert stack.client("lambda").list_functions()["Functions"] == []
    iam = stack.client("iam")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=stack.outputs["invoke_policy_arn"])
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=stack.outputs["role_arn"].rsplit("/", 1)[1])
    assert stack.client("ecr").describe_repositories()["repositories"] == []
    assert stack.client("logs").describe_log_groups()["logGroups"] == []
    assert '"resources": []' in stack.state_text()
