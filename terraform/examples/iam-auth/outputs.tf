output "function_url" {
  description = "The Function URL."
  value       = module.estat_mcp.function_url
}

output "mcp_endpoint" {
  description = "The URL to give MCP clients (the Function URL + /mcp)."
  value       = module.estat_mcp.mcp_endpoint
}

output "authorization_type" {
  description = "NONE or AWS_IAM."
  value       = module.estat_mcp.authorization_type
}

output "repository_url" {
  description = "ECR repository to push the image to."
  value       = module.estat_mcp.repository_url
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = module.estat_mcp.function_arn
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

output "data_bucket_name" {
  description = "Data bucket."
  value       = module.estat_mcp.data_bucket_name
}

output "athena_workgroup_name" {
  description = "Athena workgroup."
  value       = module.estat_mcp.athena_workgroup_name
}

output "glue_database_name" {
  description = "Glue database."
  value       = module.estat_mcp.glue_database_name
}

output "app_id_ssm_parameter_name" {
  description = "SSM parameter holding the e-Stat appId."
  value       = module.estat_mcp.app_id_ssm_parameter_name
}

output "invoke_policy_arn" {
  description = "Managed policy with both invoke actions: attach it to the callers' roles or users."
  value       = aws_iam_policy.invoke.arn
}

output "region" {
  description = "Region."
  value       = module.estat_mcp.region
}

output "cursor_config" {
  description = "Ready-to-paste ~/.cursor/mcp.json (mcp-proxy-for-aws signs with your AWS credentials)."
  value       = module.estat_mcp.cursor_config
}

output "image_uri" {
  description = "The image the function runs (by digest); make destroy passes it back."
  value       = module.estat_mcp.image_uri
}
