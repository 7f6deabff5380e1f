# Amazon Cognito: the users, their sign-in page and the one app client the proxy is.

resource "aws_cognito_user_pool" "this" {
  name                = var.name
  username_attributes = ["email"]
  # Users confirm their address with a code before they can sign in.
  auto_verified_attributes = ["email"]
  deletion_protection      = var.user_pool_deletion_protection

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 7
  }

  admin_create_user_config {
    allow_admin_create_user_only = !var.allow_self_sign_up
  }

  verification_message_template {
    default_email_option = "CONFIRM_WITH_CODE"
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  schema {
    name                = "email"
    attribute_data_type = "String"
    required            = true
    mutable             = true

    string_attribute_constraints {
      min_length = 3
      max_length = 254
    }
  }
}

resource "aws_cognito_user_pool_domain" "this" {
  domain       = local.domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}

# The MCP server as a Cognito resource server: access tokens carry the scope mcp-server/tools.
resource "aws_cognito_resource_server" "mcp" {
  identifier   = "mcp-server"
  name         = "${var.name} MCP server"
  user_pool_id = aws_cognito_user_pool.this.id

  scope {
    scope_name        = "tools"
    scope_description = "Use the e-Stat MCP server's tools"
  }
}

# The authorization proxy's client: public (no secret), authorization code + PKCE only, its one
# callback the proxy's /callback (the Function URL's, or var.public_url's). The function reads its
# id from SSM (main.tf), so it can be created after the function in the same apply.
resource "aws_cognito_user_pool_client" "proxy" {
  name         = "${var.name}-oauth-proxy"
  user_pool_id = aws_cognito_user_pool.this.id

  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = concat(["openid", "email"], tolist(aws_cognito_resource_server.mcp.scope_identifiers))
  callback_urls                        = [local.callback_url]
  supported_identity_providers         = ["COGNITO"]
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true

  access_token_validity  = var.access_token_validity_minutes
  id_token_validity      = var.access_token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}
