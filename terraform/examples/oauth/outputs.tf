output "next_step" {
  description = "What to do now."
  value       = "Add users (README: adding users), then give MCP clients ${local.public_url}/mcp."
}

output "function_url" {
  description = "The Function URL (the public URL unless public_url names a domain in front of it)."
  value       = module.estat_mcp.function_url
}

output "mcp_endpoint" {
  description = "The URL to give MCP clients: they find everything else themselves."
  value       = "${local.public_url}/mcp"
}

output "protected_resource_metadata_url" {
  description = "RFC 9728 metadata (unauthenticated)."
  value       = "${local.public_url}/.well-known/oauth-protected-resource"
}

output "authorization_server_metadata_url" {
  description = "RFC 8414 metadata of the authorization proxy."
  value       = "${local.public_url}/.well-known/oauth-authorization-server"
}

output "authorize_endpoint" {
  description = "The proxy's authorization endpoint (clients start sign-in here)."
  value       = "${local.public_url}/authorize"
}

output "token_endpoint" {
  description = "The proxy's token endpoint."
  value       = "${local.public_url}/token"
}

output "registration_endpoint" {
  description = "The proxy's dynamic client registration endpoint (RFC 7591)."
  value       = "${local.public_url}/register"
}

output "user_pool_id" {
  description = "Cognito user pool (add users here)."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_client_id" {
  description = "The proxy's Cognito app client (public, code + PKCE)."
  value       = aws_cognito_user_pool_client.proxy.id
}

output "cognito_domain" {
  description = "Cognito's managed-login domain."
  value       = local.cognito_domain
}

output "hosted_ui_url" {
  description = "Cognito's sign-in page for the proxy's client (users normally arrive here through their MCP client)."
  value = join("", [
    "https://${local.cognito_domain}/login?response_type=code&client_id=",
    aws_cognito_user_pool_client.proxy.id,
    "&redirect_uri=${urlencode(local.callback_url)}",
  ])
}

output "cognito_authorize_endpoint" {
  description = "Cognito's own authorization endpoint (the proxy's upstream)."
  value       = "https://${local.cognito_domain}/oauth2/authorize"
}

output "cognito_token_endpoint" {
  description = "Cognito's own token endpoint (the proxy's upstream)."
  value       = "https://${local.cognito_domain}/oauth2/token"
}

output "issuer" {
  description = "The token issuer the server validates against."
  value       = local.issuer
}

output "public_url" {
  description = "The server's public base URL (the Function URL, or public_url), also in the SSM parameter public_url_ssm_parameter_name."
  value       = local.public_url
}

output "public_url_ssm_parameter_name" {
  description = "SSM parameter (String) the function reads its public URL from."
  value       = aws_ssm_parameter.public_url.name
}

output "client_id_ssm_parameter_name" {
  description = "SSM parameter (String) the function reads the proxy's Cognito app client id from."
  value       = aws_ssm_parameter.client_id.name
}

output "oauth_state_table_name" {
  description = "DynamoDB table of the proxy's short-lived state and the rate-limit counters."
  value       = aws_dynamodb_table.oauth_state.name
}

output "repository_url" {
  description = "ECR repository to push the image to."
  value       = module.estat_mcp.repository_url
}

output "function_name" {
  description = "Lambda function name."
  value       = module.estat_mcp.function_name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = module.estat_mcp.role_arn
}

output "log_group_name" {
  description = "CloudWatch Logs group."
  value       = module.estat_mcp.log_group_name
}

output "region" {
  description = "Region."
  value       = module.estat_mcp.region
}

output "image_uri" {
  description = "The image the function runs (by digest); make destroy passes it back."
  value       = module.estat_mcp.image_uri
}

output "authorization_type" {
  description = "NONE: the function checks OAuth access tokens itself."
  value       = module.estat_mcp.authorization_type
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = module.estat_mcp.function_arn
}
