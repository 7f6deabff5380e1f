# Plan-time tests with a mocked provider: `terraform test` in this folder (tests/terraform runs it).

mock_provider "aws" {
  # The mocked ids below are known at plan time, so the plan shows the settings they feed.
  override_during = plan

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "ap-northeast-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_cognito_user_pool" {
    defaults = { id = "ap-northeast-1_TestPool1" }
  }
  mock_resource "aws_cognito_resource_server" {
    defaults = { scope_identifiers = ["mcp-server/tools"] }
  }
  mock_resource "aws_cognito_user_pool_client" {
    defaults = { id = "proxyclientid0123456789" }
  }
  mock_resource "aws_lambda_function_url" {
    defaults = { function_url = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/" }
  }
}

variables {
  image_uri = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/estat-aws-mcp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}

run "one_apply_configures_cognito_the_parameters_and_the_function" {
  command = plan

  assert {
    condition     = module.estat_mcp.authorization_type == "NONE"
    error_message = "the oauth example is a public (NONE) Function URL"
  }
  assert {
    condition     = aws_cognito_user_pool.this.username_attributes == toset(["email"]) && aws_cognito_user_pool.this.auto_verified_attributes == toset(["email"])
    error_message = "users sign in with a verified email address"
  }
  assert {
    condition     = aws_cognito_user_pool.this.password_policy[0].minimum_length >= 12 && aws_cognito_user_pool.this.password_policy[0].require_symbols
    error_message = "the password policy must stay strict"
  }
  assert {
    condition     = aws_cognito_user_pool.this.admin_create_user_config[0].allow_admin_create_user_only
    error_message = "by default only administrators add users"
  }
  assert {
    condition     = aws_cognito_user_pool_domain.this.domain == "estat-mcp-123456789012"
    error_message = "the default domain prefix avoids the word aws (Cognito refuses it)"
  }
  assert {
    condition     = aws_cognito_resource_server.mcp.identifier == "mcp-server" && one(aws_cognito_resource_server.mcp.scope).scope_name == "tools"
    error_message = "resource server mcp-server with the scope tools"
  }
  # Without public_url the Function URL (the mocked one, trailing slash dropped) is the public URL.
  assert {
    condition = (
      !aws_cognito_user_pool_client.proxy.generate_secret &&
      aws_cognito_user_pool_client.proxy.allowed_oauth_flows == toset(["code"]) &&
      aws_cognito_user_pool_client.proxy.callback_urls == toset(["https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/callback"]) &&
      contains(aws_cognito_user_pool_client.proxy.allowed_oauth_scopes, "mcp-server/tools")
    )
    error_message = "in the first and only apply: a public code-flow client whose one callback is the Function URL's /callback"
  }
  assert {
    condition = (
      aws_ssm_parameter.public_url.name == "/estat-aws-mcp/oauth/public-url" &&
      aws_ssm_parameter.public_url.type == "String" &&
      aws_ssm_parameter.public_url.value == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws" &&
      aws_ssm_parameter.client_id.name == "/estat-aws-mcp/oauth/client-id" &&
      aws_ssm_parameter.client_id.value == "proxyclientid0123456789"
    )
    error_message = "the parameters hold the Function URL (no trailing slash) and the app client's id"
  }
  # The function's environment names the parameters and holds nothing that depends on the Function URL.
  assert {
    condition = (
      local.oauth_environment["ESTAT_MCP_AUTH_MODE"] == "oauth" &&
      local.oauth_environment["ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER"] == aws_ssm_parameter.public_url.name &&
      local.oauth_environment["ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER"] == aws_ssm_parameter.client_id.name &&
      local.oauth_environment["ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER"] == aws_ssm_parameter.client_id.name &&
      length(setintersection(keys(local.oauth_environment), ["ESTAT_MCP_PUBLIC_URL", "ESTAT_MCP_OAUTH_CLIENT_IDS", "ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID"])) == 0 &&
      local.oauth_environment["ESTAT_MCP_OAUTH_ISSUER"] == "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_TestPool1" &&
      local.oauth_environment["ESTAT_MCP_OAUTH_UPSTREAM_ISSUER"] == local.oauth_environment["ESTAT_MCP_OAUTH_ISSUER"] &&
      local.oauth_environment["ESTAT_MCP_OAUTH_REQUIRED_SCOPES"] == "mcp-server/tools" &&
      local.oauth_environment["ESTAT_MCP_OAUTH_STATE_TABLE"] == "estat-aws-mcp-oauth" &&
      local.oauth_environment["ESTAT_MCP_RATE_LIMIT_TABLE"] == "estat-aws-mcp-oauth"
    )
    error_message = "the function's oauth settings must name the parameters, the pool, the scope and the table"
  }
  assert {
    condition = (
      data.aws_iam_policy_document.oauth_settings.statement[0].actions == toset(["ssm:GetParameter"]) &&
      data.aws_iam_policy_document.oauth_settings.statement[0].resources == toset([
        "arn:aws:ssm:ap-northeast-1:123456789012:parameter/estat-aws-mcp/oauth/public-url",
        "arn:aws:ssm:ap-northeast-1:123456789012:parameter/estat-aws-mcp/oauth/client-id",
      ])
    )
    error_message = "the role reads exactly the two parameters"
  }
  assert {
    condition     = aws_dynamodb_table.oauth_state.hash_key == "pk" && aws_dynamodb_table.oauth_state.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.oauth_state.ttl[0].enabled
    error_message = "the state table: key pk, TTL attribute expires_at"
  }
  assert {
    condition     = output.mcp_endpoint == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/mcp" && output.token_endpoint == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/token"
    error_message = "the MCP endpoint is <Function URL>/mcp and clients use the proxy's token endpoint"
  }
}

run "a_custom_domain_changes_the_parameter_and_the_callback_not_the_function" {
  command = plan

  variables {
    public_url = "https://mcp.example.com/estat"
  }

  assert {
    condition     = aws_cognito_user_pool_client.proxy.callback_urls == toset(["https://mcp.example.com/estat/callback"])
    error_message = "the callback follows public_url"
  }
  assert {
    condition     = aws_ssm_parameter.public_url.value == "https://mcp.example.com/estat"
    error_message = "the parameter holds public_url"
  }
  assert {
    condition     = local.oauth_environment["ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER"] == "/estat-aws-mcp/oauth/public-url" && !contains(keys(local.oauth_environment), "ESTAT_MCP_PUBLIC_URL")
    error_message = "the function's environment is the same with or without public_url"
  }
  assert {
    condition     = output.mcp_endpoint == "https://mcp.example.com/estat/mcp"
    error_message = "the MCP endpoint is <public_url>/mcp"
  }
}

run "public_url_must_be_https" {
  command = plan

  variables {
    public_url = "http://example.com/"
  }

  expect_failures = [var.public_url]
}
