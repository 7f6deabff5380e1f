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

run "first_apply_fails_closed_until_the_public_url_is_known" {
  command = plan

  assert {
    condition     = module.estat_mcp.authorization_type == "NONE"
    error_message = "the oauth example is a public (NONE) Function URL"
  }
  assert {
    condition     = length(aws_cognito_user_pool_client.proxy) == 0
    error_message = "no app client without its callback URL"
  }
  assert {
    condition     = local.oauth_environment["ESTAT_MCP_AUTH_MODE"] == "oauth" && !contains(keys(local.oauth_environment), "ESTAT_MCP_PUBLIC_URL")
    error_message = "without the public URL the function must be in oauth mode and incomplete (it refuses every request)"
  }
}

run "second_apply_configures_cognito_and_the_proxy" {
  command = plan

  variables {
    public_url = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws"
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
  assert {
    condition = (
      !aws_cognito_user_pool_client.proxy[0].generate_secret
      && aws_cognito_user_pool_client.proxy[0].allowed_oauth_flows == toset(["code"])
      && aws_cognito_user_pool_client.proxy[0].callback_urls == toset(["https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/callback"])
      && contains(aws_cognito_user_pool_client.proxy[0].allowed_oauth_scopes, "mcp-server/tools")
    )
    error_message = "a public code-flow client whose one callback is the proxy's /callback"
  }
  assert {
    condition = (
      local.oauth_environment["ESTAT_MCP_PUBLIC_URL"] == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws"
      && local.oauth_environment["ESTAT_MCP_OAUTH_ISSUER"] == "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_TestPool1"
      && local.oauth_environment["ESTAT_MCP_OAUTH_UPSTREAM_ISSUER"] == local.oauth_environment["ESTAT_MCP_OAUTH_ISSUER"]
      && local.oauth_environment["ESTAT_MCP_OAUTH_CLIENT_IDS"] == "proxyclientid0123456789"
      && local.oauth_environment["ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID"] == "proxyclientid0123456789"
      && local.oauth_environment["ESTAT_MCP_OAUTH_REQUIRED_SCOPES"] == "mcp-server/tools"
      && local.oauth_environment["ESTAT_MCP_OAUTH_STATE_TABLE"] == "estat-aws-mcp-oauth"
      && local.oauth_environment["ESTAT_MCP_RATE_LIMIT_TABLE"] == "estat-aws-mcp-oauth"
    )
    error_message = "the function's oauth settings must name the pool, the client, the scope and the table"
  }
  assert {
    condition     = aws_dynamodb_table.oauth_state.hash_key == "pk" && aws_dynamodb_table.oauth_state.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.oauth_state.ttl[0].enabled
    error_message = "the state table: key pk, TTL attribute expires_at"
  }
  assert {
    condition     = output.mcp_endpoint == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/mcp"
    error_message = "the MCP endpoint is <public>/mcp"
  }
  assert {
    condition     = output.token_endpoint == "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-northeast-1.on.aws/token"
    error_message = "clients use the proxy's token endpoint"
  }
}

run "public_url_must_be_https" {
  command = plan

  variables {
    public_url = "http://example.com/"
  }

  expect_failures = [var.public_url]
}
