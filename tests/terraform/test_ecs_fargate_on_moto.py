"""examples/ecs-fargate, really applied to moto's server: the HTTP mode on Fargate behind an ALB in an
existing VPC, the task role with the Lambda's policies, no drift, a new image in place, plain
terraform afterwards, destroy.

The user's VPC, subnets and ACM certificate are created first on the same moto server (what the
example takes as inputs, :func:`moto_stack.users_network_and_certificate`). The tests of this file
share one deployment (deployed beside the Lambda examples' by the session fixture ``moto_stacks``)
and run in order; the last one destroys it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from estat_aws_mcp.deploy import flow
from estat_aws_mcp.settings import Settings
from tests.terraform import moto_stack
from tests.terraform.moto_stack import Stack

pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(900)]

NAME = moto_stack.ECS_NAME


@pytest.fixture(scope="module")
def stack(moto_stacks: dict[str, Stack]) -> Stack:
    return moto_stacks["ecs-fargate"]


def _container(stack: Stack) -> dict[str, Any]:
    definition = stack.client("ecs").describe_task_definition(taskDefinition=stack.outputs["task_definition_arn"])
    (container,) = definition["taskDefinition"]["containerDefinitions"]
    return container


def test_deploy_ran_its_stages_and_printed_the_endpoint(stack: Stack) -> None:
    (call,) = stack.builder_calls
    assert call["repository_url"] == stack.outputs["repository_url"]
    assert [m.split(":")[0] for m in stack.messages[:3]] == ["Stage 1/3", "Stage 2/3", "Stage 3/3"]
    summary = stack.messages[3]
    assert stack.outputs["mcp_endpoint"] == f"https://{stack.outputs['alb_dns_name']}/mcp"
    assert f"MCP endpoint: {stack.outputs['mcp_endpoint']}" in summary
    assert f"ECS service: {NAME} in cluster {NAME}" in summary
    assert '"Authorization": "Bearer ${env:ESTAT_MCP_TOKEN}"' in summary
    assert moto_stack.AUTH_TOKEN_VALUE not in summary


def test_task_runs_the_http_mode_non_root_on_a_read_only_root(stack: Stack) -> None:
    ecs = stack.client("ecs")
    task = ecs.describe_task_definition(taskDefinition=stack.outputs["task_definition_arn"])["taskDefinition"]
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    assert task["taskRoleArn"] == stack.outputs["task_role_arn"]
    assert task["executionRoleArn"] == stack.outputs["execution_role_arn"]
    assert [v["name"] for v in task["volumes"]] == ["tmp"]

    container = _container(stack)
    assert container["image"] == stack.image_uri and "@sha256:" in stack.image_uri
    # The command of the Dockerfile's comment: the console script in HTTP mode on 0.0.0.0:8080.
    assert container["entryPoint"] == ["/var/task/bin/estat-aws-mcp"]
    assert container["command"] == ["serve", "--http", "--host", "0.0.0.0", "--port", "8080"]
    assert container["user"] == "65534:65534"
    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert [(p["containerPort"], p["protocol"]) for p in container["portMappings"]] == [(8080, "tcp")]
    assert "http://127.0.0.1:8080/health" in " ".join(container["healthCheck"]["command"])
    options = container["logConfiguration"]["options"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert options["awslogs-group"] == stack.outputs["log_group_name"] == f"/ecs/{NAME}"


def test_environment_names_the_settings_the_server_reads(stack: Stack) -> None:
    env = {e["name"]: e["value"] for e in _container(stack)["environment"]}
    bucket = stack.outputs["data_bucket_name"]
    assert env == {
        "PYTHONPATH": "/var/task",
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
    known = {field.alias for field in Settings.model_fields.values()}
    assert set(env) - {"PYTHONPATH"} <= known


def test_load_balancer_serves_https_redirects_http_and_probes_health(stack: Stack) -> None:
    elb = stack.client("elbv2")
    (alb,) = elb.describe_load_balancers(Names=[NAME])["LoadBalancers"]
    assert alb["Type"] == "application"  # internet-facing: checked at plan level (moto omits Scheme)
    assert alb["DNSName"] == stack.outputs["alb_dns_name"]
    listeners = {
        lst["Port"]: lst for lst in elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [stack.options.extra_variables["certificate_arn"]]
    (forward,) = https["DefaultActions"]
    assert forward["Type"] == "forward"
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS" and redirect["RedirectConfig"]["Port"] == "443"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"

    (group,) = elb.describe_target_groups(TargetGroupArns=[forward["TargetGroupArn"]])["TargetGroups"]
    assert (group["Port"], group["Protocol"], group["TargetType"]) == (8080, "HTTP", "ip")
    assert group["HealthCheckPath"] == "/health" and group["Matcher"] == {"HttpCode": "200"}


def test_only_the_load_balancer_reaches_the_tasks(stack: Stack) -> None:
    ecs, ec2 = stack.client("ecs"), stack.client("ec2")
    (service,) = ecs.describe_services(cluster=NAME, services=[NAME])["services"]
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    (tasks_group,) = network["securityGroups"]
    assert sorted(network["subnets"]) == sorted(stack.options.extra_variables["alb_subnet_ids"])
    (lb,) = service["loadBalancers"]
    assert (lb["containerName"], lb["containerPort"]) == ("estat-mcp", 8080)
    assert service["launchType"] == "FARGATE" and service["desiredCount"] == 1

    elb = stack.client("elbv2")
    (alb,) = elb.describe_load_balancers(Names=[NAME])["LoadBalancers"]
    (alb_group,) = alb["SecurityGroups"]

    def rules(group: str, egress: bool) -> list[dict[str, Any]]:
        found = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
        return [r for r in found["SecurityGroupRules"] if r["IsEgress"] is egress]

    (from_alb,) = rules(tasks_group, egress=False)
    assert from_alb["ReferencedGroupInfo"]["GroupId"] == alb_group
    assert (from_alb["FromPort"], from_alb["ToPort"]) == (8080, 8080)
    (https_out,) = rules(tasks_group, egress=True)
    assert (https_out["FromPort"], https_out["ToPort"], https_out["CidrIpv4"]) == (443, 443, "0.0.0.0/0")
    assert sorted((r["FromPort"], r["CidrIpv4"]) for r in rules(alb_group, egress=False)) == [
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
    ]
    (to_tasks,) = rules(alb_group, egress=True)
    assert to_tasks["ReferencedGroupInfo"]["GroupId"] == tasks_group


def test_service_scales_on_cpu_from_one_to_ten(stack: Stack) -> None:
    autoscaling = stack.client("application-autoscaling")
    resource = f"service/{NAME}/{NAME}"
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 10)
    (policy,) = autoscaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
    configuration = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert configuration["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert configuration["TargetValue"] == 60


def _role_documents(stack: Stack, role_arn: str) -> dict[str, dict[str, Any]]:
    iam = stack.client("iam")
    role = role_arn.rsplit("/", 1)[1]
    documents = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        documents[name] = json.loads(document) if isinstance(document, str) else document
    return documents


def test_task_role_has_the_lambda_roles_policies_scoped_to_this_service(stack: Stack) -> None:
    documents = _role_documents(stack, stack.outputs["task_role_arn"])
    # The Lambda role's documents minus the log writer (the execution role writes the logs here).
    assert set(documents) == {"aws-cli-read", "data-bucket", "athena", "glue", "ssm-parameters"}
    own = f"arn:aws:logs:ap-northeast-1:123456789012:log-group:/ecs/{NAME}"
    by_sid = {s["Sid"]: s for d in documents.values() for s in moto_stack.statements_of(d)}
    assert sorted(moto_stack.as_list(by_sid["ReadLogGroups"]["Resource"])) == [own, f"{own}:*"]
    granted = {a for s in moto_stack.statements_of(documents["aws-cli-read"]) for a in moto_stack.as_list(s["Action"])}
    assert granted == moto_stack.aws_cli_allowlist_actions() - moto_stack.ACCOUNT_WIDE_LOG_READS
    assert sorted(moto_stack.as_list(by_sid["ReadOwnParameters"]["Resource"])) == sorted(
        f"arn:aws:ssm:ap-northeast-1:123456789012:parameter{p}"
        for p in (moto_stack.APP_ID_PARAMETER, moto_stack.AUTH_TOKEN_PARAMETER)
    )
    for document in documents.values():
        for statement in moto_stack.statements_of(document):
            assert all("*" not in action for action in moto_stack.as_list(statement["Action"]))

    iam = stack.client("iam")
    trust = iam.get_role(RoleName=stack.outputs["task_role_arn"].rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = moto_stack.statements_of(trust)
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_execution_role_pulls_its_image_and_writes_its_logs(stack: Stack) -> None:
    (document,) = _role_documents(stack, stack.outputs["execution_role_arn"]).values()
    by_sid = {s["Sid"]: s for s in moto_stack.statements_of(document)}
    assert set(by_sid) == {"WriteOwnLogGroup", "EcrLogin", "PullOwnImage"}
    assert by_sid["WriteOwnLogGroup"]["Resource"] == f"arn:aws:logs:ap-northeast-1:123456789012:log-group:/ecs/{NAME}:*"
    repository = stack.client("ecr").describe_repositories(repositoryNames=[NAME])["repositories"][0]
    assert by_sid["PullOwnImage"]["Resource"] == repository["repositoryArn"]


def test_replan_shows_no_changes_and_secrets_stay_out_of_state(stack: Stack) -> None:
    # The plain `terraform plan` (recorded variables, no -var) runs after the next test's update.
    assert stack.tf.plan(stack.variables()).changes is False
    state = stack.state_text()
    assert moto_stack.APP_ID_VALUE not in state and moto_stack.AUTH_TOKEN_VALUE not in state


def test_a_new_image_is_a_new_task_definition_revision_for_the_same_service(stack: Stack) -> None:
    ecs = stack.client("ecs")
    (before,) = ecs.describe_services(cluster=NAME, services=[NAME])["services"]
    stack.image_uri = f"{stack.outputs['repository_url']}@sha256:{hashlib.sha256(b'the next image').hexdigest()}"
    stack.outputs = flow.stage_service(stack.tf, stack.options, stack.image_uri)
    (after,) = ecs.describe_services(cluster=NAME, services=[NAME])["services"]
    assert after["serviceArn"] == before["serviceArn"]
    assert after["taskDefinition"] == stack.outputs["task_definition_arn"] != before["taskDefinition"]
    assert _container(stack)["image"] == stack.image_uri
    # What a user types after make deploy: the recorded variables alone plan no changes.
    result = moto_stack.plain_terraform(stack, "plan", "-detailed-exitcode")
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_destroy_removes_everything_but_the_users_network(stack: Stack) -> None:
    moto_stack.destroy_stack(stack)
    outputs = stack.outputs
    elb, ecs, iam = stack.client("elbv2"), stack.client("ecs"), stack.client("iam")
    assert elb.describe_load_balancers()["LoadBalancers"] == []
    assert elb.describe_target_groups()["TargetGroups"] == []
    assert [c["status"] for c in ecs.describe_clusters(clusters=[NAME])["clusters"]] in ([], ["INACTIVE"])
    for role in (outputs["task_role_arn"], outputs["execution_role_arn"]):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=role.rsplit("/", 1)[1])
    autoscaling = stack.client("application-autoscaling")
    assert autoscaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert stack.client("logs").describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"] == []
    assert stack.client("ecr").describe_repositories()["repositories"] == []
    groups = stack.client("ec2").describe_security_groups()["SecurityGroups"]
    assert not [g for g in groups if g["GroupName"].startswith(NAME)]
    assert stack.client("ec2").describe_vpcs(VpcIds=[stack.options.extra_variables["vpc_id"]])["Vpcs"]  # the user's
    assert '"resources": []' in stack.state_text()
