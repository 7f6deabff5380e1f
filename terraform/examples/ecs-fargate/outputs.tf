output "mcp_endpoint" {
  description = "The URL to give MCP clients (the load balancer's name; with your certificate's domain pointed at it, use https://<domain>/mcp)."
  value       = module.estat_mcp.mcp_endpoint
}

output "service_url" {
  description = "The load balancer's HTTPS URL."
  value       = module.estat_mcp.service_url
}

output "alb_dns_name" {
  description = "Point your domain's CNAME (or Route 53 alias, with alb_zone_id) here."
  value       = module.estat_mcp.alb_dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer (Route 53 alias records)."
  value       = module.estat_mcp.alb_zone_id
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.estat_mcp.cluster_name
}

output "service_name" {
  description = "ECS service."
  value       = module.estat_mcp.service_name
}

output "task_definition_arn" {
  description = "Task definition the service runs."
  value       = module.estat_mcp.task_definition_arn
}

output "task_role_arn" {
  description = "Task role (what the server may call)."
  value       = module.estat_mcp.task_role_arn
}

output "execution_role_arn" {
  description = "Task execution role (image pull, logs)."
  value       = module.estat_mcp.execution_role_arn
}

output "log_group_name" {
  description = "CloudWatch Logs group."
  value       = module.estat_mcp.log_group_name
}

output "repository_url" {
  description = "ECR repository to push the image to."
  value       = module.estat_mcp.repository_url
}

output "image_uri" {
  description = "The image the tasks run (by digest)."
  value       = module.estat_mcp.image_uri
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

output "auth_token_ssm_parameter_name" {
  description = "SSM parameter holding the bearer token."
  value       = module.estat_mcp.auth_token_ssm_parameter_name
}

output "region" {
  description = "Region."
  value       = module.estat_mcp.region
}

output "cursor_config" {
  description = "Ready-to-paste ~/.cursor/mcp.json (export ESTAT_MCP_TOKEN first)."
  value       = module.estat_mcp.cursor_config
}
