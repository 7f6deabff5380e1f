"""examples/oauth: `terraform test` with the mock provider, then ONE real apply to moto, no drift, destroy.

A single apply creates everything: the function (its environment names two SSM parameters, nothing
that depends on its Function URL), then the Function URL, Cognito's app client with the callback
``<function url>/callback``, and the parameters holding that URL and the client's id, which the
function reads at run time (estat_aws_mcp.auth.deferred). Cognito (user pool, domain, resource
server, client), the DynamoDB state table with its TTL, the parameters and the role's policies are
read back from moto, and the server, given the function's environment, reads the URL and the client
id Terraform wrote; a re-plan changes nothing; destroy removes it all. The AWS data backends are
off (the public-url example's test covers them): this test is about Cognito, DynamoDB, SSM and the
oauth settings.

moto 5.2.5 has no ``DeleteResourceServer`` (the provider would wait for it forever), so before
destroying, the resource server is dropped from the state; deleting the user pool deletes it,
in AWS as in moto.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from estat_aws_mcp.auth.deferred import SsmResolvedAuth
from estat_aws_mcp.aws.clients import reset_session_cache
from estat_aws_mcp.settings import Settings
from tests.fakes.moto_server import MotoServer
from tests.terraform import harness

pytestmark = [pytest.mark.terraform]

REGION = "ap-northeast-1"
APP_ID_PARAMETER = "/estat-aws-mcp/estat-app-id"
IMAGE_URI = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/estat-aws-mcp@sha256:" + "ab" * 32
SERVICES = (*harness.MOTO_SERVICES, "cognitoidp", "dynamodb")


def terraform(args: list[str], cwd: Path, cli_config: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [harness.terraform_bin() or "terraform", *args, "-no-color"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def variables_args(**variables: str) -> list[str]:
    values = {"image_uri": IMAGE_URI, "enable_aws_data_backends": "false", **variables}
    return [f"-var={name}={value}" for name, value in values.items()]


def oauth_tree(destination: Path) -> Path:
    """The compatible copy of terraform/ (see tests/terraform/harness.py), the oauth example included."""
    tree = harness.compat_copy(destination)
    example = tree / "examples" / "oauth"
    (example / "provider_version_override.tf").write_text(harness.VERSION_OVERRIDE, encoding="utf-8")
    return example


def test_plan_with_the_mock_provider(tmp_path: Path, terraform_ready: Path, terraform_cli_config: Path) -> None:
    example = oauth_tree(tmp_path / "terraform")
    init = terraform(
        ["init", f"-plugin-dir={terraform_ready}", "-input=false", "-backend=false"], example, terraform_cli_config
    )
    assert init.returncode == 0, init.stderr
    result = terraform(["test"], example, terraform_cli_config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 0 failed" in result.stdout


@dataclass
class Deployment:
    root: Path
    server: MotoServer
    cli_config: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.server.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
        )

    def apply(self, **variables: str) -> dict[str, Any]:
        result = terraform(
            ["apply", "-auto-approve", "-input=false", *variables_args(**variables)], self.root, self.cli_config
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        return self.outputs()

    def destroy(self, **variables: str) -> subprocess.CompletedProcess[str]:
        listed = terraform(["state", "list"], self.root, self.cli_config).stdout.split()
        if "aws_cognito_resource_server.mcp" in listed:  # see the module docstring
            terraform(["state", "rm", "aws_cognito_resource_server.mcp"], self.root, self.cli_config)
        return terraform(["destroy", "-auto-approve", *variables_args(**variables)], self.root, self.cli_config)

    def outputs(self) -> dict[str, Any]:
        result = terraform(["output", "-json"], self.root, self.cli_config)
        assert result.returncode == 0, result.stderr
        return {name: entry["value"] for name, entry in json.loads(result.stdout).items()}

    def environment(self, function_name: str) -> dict[str, str]:
        config = self.client("lambda").get_function_configuration(FunctionName=function_name)
        return config["Environment"]["Variables"]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, terraform_ready: Path, terraform_cli_config: Path) -> Iterator[Deployment]:
    server = MotoServer().start()
    root = oauth_tree(tmp_path_factory.mktemp("oauth-tf") / "terraform")
    harness.write_moto_provider_override(root, server.url, SERVICES)
    deployment = Deployment(root, server, terraform_cli_config)
    try:
        deployment.client("ssm").put_parameter(Name=APP_ID_PARAMETER, Type="SecureString", Value="test-app-id-oauth")
        init = terraform(["init", f"-plugin-dir={terraform_ready}", "-input=false"], root, terraform_cli_config)
        assert init.returncode == 0, init.stderr
        yield deployment
    finally:
        if (root / "terraform.tfstate").exists() and json.loads((root / "terraform.tfstate").read_text())["resources"]:
            deployment.destroy()
        server.stop()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_one_apply_then_no_drift_then_destroy(deployment: Deployment) -> None:
    outputs = deployment.apply()
    public_url = outputs["function_url"].rstrip("/")
    assert outputs["public_url"] == public_url
    pool_id, client_id, table = (
        outputs["user_pool_id"],
        outputs["user_pool_client_id"],
        outputs["oauth_state_table_name"],
    )
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    assert outputs["mcp_endpoint"] == f"{public_url}/mcp"
    assert outputs["authorization_server_metadata_url"] == f"{public_url}/.well-known/oauth-authorization-server"
    assert outputs["protected_resource_metadata_url"] == f"{public_url}/.well-known/oauth-protected-resource"
    assert outputs["authorize_endpoint"] == f"{public_url}/authorize"
    assert outputs["token_endpoint"] == f"{public_url}/token"
    assert outputs["next_step"].endswith(f"give MCP clients {public_url}/mcp.")
    assert outputs["issuer"] == issuer
    domain = outputs["cognito_domain"]
    assert domain.startswith("estat-mcp-") and domain.endswith(f".auth.{REGION}.amazoncognito.com")
    assert outputs["hosted_ui_url"].startswith(f"https://{domain}/login?response_type=code&client_id={client_id}")
    assert outputs["cognito_token_endpoint"] == f"https://{domain}/oauth2/token"

    cognito = deployment.client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 12
    assert all(policy[k] for k in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"))
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert cognito.describe_user_pool_domain(Domain=domain.split(".")[0])["DomainDescription"]["UserPoolId"] == pool_id
    server = cognito.describe_resource_server(UserPoolId=pool_id, Identifier="mcp-server")["ResourceServer"]
    assert [s["ScopeName"] for s in server["Scopes"]] == ["tools"]
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    assert "ClientSecret" not in client
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == [f"{public_url}/callback"]
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email", "mcp-server/tools"}

    dynamodb = deployment.client("dynamodb")
    description = dynamodb.describe_table(TableName=table)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")

    iam = deployment.client("iam")
    role = outputs["role_arn"].split("/")[-1]
    document = iam.get_role_policy(RoleName=role, PolicyName="oauth-state")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    (statement,) = document["Statement"]
    assert statement["Resource"] == description["TableArn"]
    assert sorted(statement["Action"]) == sorted(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"]
    )

    # The parameters hold what the function could not be told: its URL and the app client's id.
    ssm = deployment.client("ssm")
    url_parameter, client_parameter = outputs["public_url_ssm_parameter_name"], outputs["client_id_ssm_parameter_name"]
    assert ssm.get_parameter(Name=url_parameter)["Parameter"]["Value"] == public_url
    assert ssm.get_parameter(Name=client_parameter)["Parameter"]["Value"] == client_id
    document = iam.get_role_policy(RoleName=role, PolicyName="oauth-settings")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    (statement,) = document["Statement"]
    arns = {ssm.get_parameter(Name=name)["Parameter"]["ARN"] for name in (url_parameter, client_parameter)}
    assert statement["Action"] in ("ssm:GetParameter", ["ssm:GetParameter"])
    assert set(statement["Resource"]) == arns

    # The function's environment names the parameters; no value in it depends on the Function URL.
    env = deployment.environment(outputs["function_name"])
    assert env["ESTAT_MCP_AUTH_MODE"] == "oauth"
    assert env["ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER"] == url_parameter
    assert env["ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER"] == client_parameter
    assert env["ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER"] == client_parameter
    assert not {"ESTAT_MCP_PUBLIC_URL", "ESTAT_MCP_OAUTH_CLIENT_IDS", "ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID"} & set(env)
    assert not any(public_url in value or client_id in value for value in env.values())
    assert env["ESTAT_MCP_OAUTH_ISSUER"] == env["ESTAT_MCP_OAUTH_UPSTREAM_ISSUER"] == issuer
    assert env["ESTAT_MCP_OAUTH_REQUIRED_SCOPES"] == "mcp-server/tools"
    assert env["ESTAT_MCP_OAUTH_STATE_TABLE"] == env["ESTAT_MCP_RATE_LIMIT_TABLE"] == table
    assert "ESTAT_MCP_AUTH_TOKEN_SSM_PARAMETER" not in env
    assert set(env) <= {field.alias for field in Settings.model_fields.values()}
    assert (
        deployment.client("lambda").get_function_url_config(FunctionName=outputs["function_name"])["AuthType"] == "NONE"
    )

    # The server, configured by exactly this environment, finds the values Terraform wrote.
    with pytest.MonkeyPatch.context() as patch:
        for key, value in deployment.server.env().items():
            patch.setenv(key, value)
        reset_session_cache()
        try:
            resolved = SsmResolvedAuth(Settings(**env)).current_settings()
        finally:
            reset_session_cache()
    assert resolved.public_url == public_url
    assert resolved.oauth_client_ids == resolved.oauth_upstream_client_id == client_id

    # No drift: a second plan with the same variables changes nothing.
    plan = terraform(
        ["plan", "-detailed-exitcode", "-input=false", *variables_args()],
        deployment.root,
        deployment.cli_config,
    )
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr

    destroy = deployment.destroy()
    assert destroy.returncode == 0, destroy.stdout[-3000:] + destroy.stderr
    assert cognito.list_user_pools(MaxResults=10)["UserPools"] == []
    assert table not in dynamodb.list_tables()["TableNames"]
    gone = ssm.get_parameters(Names=[url_parameter, client_parameter])["InvalidParameters"]
    assert sorted(gone) == sorted([url_parameter, client_parameter])
