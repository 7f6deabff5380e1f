output "repository_url" {
  description = "ECR repository URL to push the image to (null when create_ecr_repository is false)."
  value       = module.common.repository_url
}

output "repository_arn" {
  description = "ECR repository ARN."
  value       = module.common.repository_arn
}

output "function_name" {
  description = "Lambda function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = aws_lambda_function.this.arn
}

output "image_uri" {
  description = "The image the function runs (by digest)."
  value       = aws_lambda_function.this.image_uri
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "CloudWatch Logs group of the function."
  value       = module.common.log_group_name
}

output "function_url" {
  description = "The MCP endpoint (Function URL)."
  value       = aws_lambda_function_url.this.function_url
}

output "mcp_endpoint" {
  description = "The URL to give MCP clients: the Function URL with the customary /mcp path (the function serves MCP on any path but the probes /health and /ready)."
  value       = local.mcp_endpoint
}

output "authorization_type" {
  description = "NONE or AWS_IAM."
  value       = aws_lambda_function_url.this.authorization_type
}

output "data_bucket_name" {
  description = "Data bucket (null when the AWS data backends are off)."
  value       = module.common.data_bucket_name
}

output "storage_uri" {
  description = "ESTAT_MCP_STORAGE_URI of the function."
  value       = module.common.storage_uri
}

output "athena_workgroup_name" {
  description = "Athena workgroup (null when the AWS data backends are off)."
  value       = module.common.athena_workgroup_name
}

output "glue_database_name" {
  description = "Glue database of the Iceberg tables (null when the AWS data backends are off)."
  value       = module.common.glue_database_name
}

output "app_id_ssm_parameter_name" {
  description = "SSM parameter to put the e-Stat appId in."
  value       = var.app_id_ssm_parameter_name
}

output "auth_token_ssm_parameter_name" {
  description = "SSM parameter to put the bearer token in (null: no token)."
  value       = var.auth_token_ssm_parameter_name
}

output "region" {
  description = "Region of the deployment."
  value       = local.region
}

output "cursor_config" {
  description = "Ready-to-paste ~/.cursor/mcp.json. NONE: the URL (with the bearer token read from the ESTAT_MCP_TOKEN environment variable when a token is configured). AWS_IAM: mcp-proxy-for-aws signing with your AWS credentials."
  value       = var.authorization_type == "NONE" ? local.cursor_config_public : local.cursor_config_iam
}

locals {
  mcp_endpoint = "${trimsuffix(aws_lambda_function_url.this.function_url, "/")}/mcp"
  cursor_config_public = jsonencode({
    mcpServers = {
      estat = merge(
        { url = local.mcp_endpoint },
        var.auth_token_ssm_parameter_name == null ? {} : { headers = { Authorization = "Bearer $${env:ESTAT_MCP_TOKEN}" } },
      )
    }
  })
  cursor_config_iam = jsonencode({
    mcpServers = {
      estat = {
        command = "uvx"
        args    = ["mcp-proxy-for-aws@latest", local.mcp_endpoint, "--service", "lambda", "--region", local.region]
        env     = { AWS_REGION = local.region }
      }
    }
  })
}
