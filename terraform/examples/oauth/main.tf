# A public Function URL (authorization_type NONE) in oauth mode: users sign in with Amazon Cognito
# through the server's own authorization proxy (docs/auth.md). MCP clients (Cursor, Claude Code,
# the MCP Inspector, the MCP SDK) need nothing but the MCP endpoint URL.
#
#   client ──▶ <public>/mcp (401 + resource metadata) ──▶ <public>/authorize (proxy, consent)
#          ──▶ Cognito managed login ──▶ <public>/callback ──▶ client ──▶ <public>/token
#
# Cognito has neither dynamic client registration nor Client ID Metadata Documents: the proxy
# registers MCP clients itself and is one public Cognito app client (code + PKCE). Its short-lived
# state (consent transactions, state values, codes, refresh-token bindings) and the per-caller
# rate-limit counters live in one DynamoDB table with a TTL.

# One apply: the function cannot name its own Function URL, nor the app client whose callback is
# that URL's /callback, in its environment (both exist only after the function). Its environment
# names two SSM parameters instead (static names), which Terraform writes in the same apply once
# the URL and the client exist; the server reads them at start-up or first use and refuses every
# request with 503 until it can (src/estat_aws_mcp/auth/deferred.py). The public URL is the
# Function URL unless var.public_url names a domain in front of it; never a request's Host header.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  public_url     = trimsuffix(coalesce(var.public_url, module.estat_mcp.function_url), "/")
  issuer         = "https://cognito-idp.${var.region}.amazonaws.com/${aws_cognito_user_pool.this.id}"
  domain_prefix  = coalesce(var.cognito_domain_prefix, "estat-mcp-${data.aws_caller_identity.current.account_id}")
  cognito_domain = "${aws_cognito_user_pool_domain.this.domain}.auth.${var.region}.amazoncognito.com"
  tools_scope    = "${aws_cognito_resource_server.mcp.identifier}/tools"
  callback_url   = "${local.public_url}/callback"

  # The SSM parameters the function reads its URL-dependent settings from (names known in advance).
  public_url_parameter = "/${var.name}/oauth/public-url"
  client_id_parameter  = "/${var.name}/oauth/client-id"

  # The server's oauth settings (src/estat_aws_mcp/settings.py): none depends on the Function URL.
  oauth_environment = merge(
    {
      ESTAT_MCP_AUTH_MODE                              = "oauth"
      ESTAT_MCP_PUBLIC_URL_SSM_PARAMETER               = local.public_url_parameter
      ESTAT_MCP_OAUTH_CLIENT_IDS_SSM_PARAMETER         = local.client_id_parameter
      ESTAT_MCP_OAUTH_UPSTREAM_CLIENT_ID_SSM_PARAMETER = local.client_id_parameter
      ESTAT_MCP_OAUTH_ISSUER                           = local.issuer
      ESTAT_MCP_OAUTH_REQUIRED_SCOPES                  = local.tools_scope
      ESTAT_MCP_OAUTH_UPSTREAM_ISSUER                  = local.issuer
      ESTAT_MCP_OAUTH_UPSTREAM_SCOPES                  = "openid email ${local.tools_scope}"
      ESTAT_MCP_OAUTH_STATE_TABLE                      = aws_dynamodb_table.oauth_state.name
    },
    var.rate_limit_per_minute == 0 ? {} : {
      ESTAT_MCP_RATE_LIMIT_PER_MINUTE = tostring(var.rate_limit_per_minute)
      ESTAT_MCP_RATE_LIMIT_TABLE      = aws_dynamodb_table.oauth_state.name
    },
  )
}

module "estat_mcp" {
  source = "../../modules/estat-mcp-lambda"

  name         = var.name
  image_uri    = var.image_uri
  architecture = var.architecture

  reserved_concurrent_executions = var.reserved_concurrent_executions

  authorization_type        = "NONE"
  app_id_ssm_parameter_name = var.app_id_ssm_parameter_name
  environment_variables     = local.oauth_environment

  enable_aws_data_backends = var.enable_aws_data_backends

  aws_cli_extra_log_group_arns   = var.aws_cli_extra_log_group_arns
  aws_cli_account_wide_log_reads = var.aws_cli_account_wide_log_reads

  ecr_force_delete          = var.force_destroy
  data_bucket_force_destroy = var.force_destroy
  athena_force_destroy      = var.force_destroy
}

# -- the proxy's state and the rate-limit counters ------------------------------------------------

resource "aws_dynamodb_table" "oauth_state" {
  #checkov:skip=CKV_AWS_28:Point-in-time recovery is pointless for records that live minutes (codes, state) and are recreated by signing in again.
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key; nothing in the table outlives a sign-in and keys are SHA-256 digests, so a customer managed key adds cost without protecting more.
  name         = "${var.name}-oauth"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  # Justification: records live minutes and keys are SHA-256 digests; a customer managed key adds cost, not protection.
  # trivy:ignore:AVD-AWS-0025
  server_side_encryption {
    enabled = true
  }

  # Justification: records live minutes (codes, state, counters) and are recreated by signing in again.
  # trivy:ignore:AVD-AWS-0024
  point_in_time_recovery {
    enabled = false
  }
}

data "aws_iam_policy_document" "oauth_state" {
  statement {
    sid       = "OAuthProxyStateAndRateLimits"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.oauth_state.arn]
  }
}

resource "aws_iam_role_policy" "oauth_state" {
  name   = "oauth-state"
  role   = module.estat_mcp.role_name
  policy = data.aws_iam_policy_document.oauth_state.json
}

# -- the settings that depend on the Function URL --------------------------------------------------

# Not secrets (the URL is public, the client id is in every sign-in redirect): plain String
# parameters, readable without a KMS key.
resource "aws_ssm_parameter" "public_url" {
  #checkov:skip=CKV2_AWS_34:The server's public URL is published to every client; encrypting it protects nothing.
  name        = local.public_url_parameter
  description = "Public base URL of ${var.name} (read by the function; written by Terraform)"
  type        = "String"
  value       = local.public_url
}

resource "aws_ssm_parameter" "client_id" {
  #checkov:skip=CKV2_AWS_34:A public app client's id is sent in every sign-in redirect; encrypting it protects nothing.
  name        = local.client_id_parameter
  description = "Cognito app client id of the ${var.name} OAuth proxy (read by the function; written by Terraform)"
  type        = "String"
  value       = aws_cognito_user_pool_client.proxy.id
}

# Built from the names (not the resources' ARNs) so that the role can read them as soon as they exist.
data "aws_iam_policy_document" "oauth_settings" {
  statement {
    sid     = "OAuthSettingsParameters"
    actions = ["ssm:GetParameter"]
    resources = [
      for name in [local.public_url_parameter, local.client_id_parameter] :
      "arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${name}"
    ]
  }
}

resource "aws_iam_role_policy" "oauth_settings" {
  name   = "oauth-settings"
  role   = module.estat_mcp.role_name
  policy = data.aws_iam_policy_document.oauth_settings.json
}
